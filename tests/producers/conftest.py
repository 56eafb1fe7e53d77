"""Fixtures of the partner-side tests: the sample documents and fixed conversion defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from confianza.producers.converters import EventDefaults

DATA = Path(__file__).parent / "data"
REPORTED_AT = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)


def load(name: str) -> Any:
    """A sample document from tests/producers/data, parsed."""
    return orjson.loads((DATA / name).read_bytes())


@pytest.fixture
def defaults() -> EventDefaults:
    """Conversion defaults with a pinned reporting time, for reproducible events."""
    return EventDefaults(sector="banking", reported_at=REPORTED_AT)
