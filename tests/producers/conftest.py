"""Fixtures of the partner-side tests: the sample documents and fixed conversion defaults."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from confianza.producers.converters import EventDefaults
from confianza.provision import add_partner
from confianza.schemas.catalog import example_events
from confianza.settings import KafkaSettings
from tests.producers.kafka_helpers import Partner

DATA = Path(__file__).parent / "data"
REPORTED_AT = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)


def load(name: str) -> Any:
    """A sample document from tests/producers/data, parsed."""
    return orjson.loads((DATA / name).read_bytes())


@pytest.fixture
def defaults() -> EventDefaults:
    """Conversion defaults with a pinned reporting time, for reproducible events."""
    return EventDefaults(sector="banking", reported_at=REPORTED_AT)


_serial = itertools.count()


@pytest.fixture
def new_partner(admin_settings: KafkaSettings) -> Callable[..., Partner]:
    """Onboard a fresh partner on the session broker (a unique id per call)."""

    def make(sector: str = "banking") -> Partner:
        partner = f"prod-{next(_serial)}-{sector[:4]}"
        credentials = add_partner(admin_settings, partner, sector)
        settings = admin_settings.with_credentials(credentials.username, credentials.password)
        return Partner(partner, settings, credentials)

    return make


@pytest.fixture
def example() -> dict[str, Any]:
    """A valid incident event (the contract's fraud example), as a fresh dict."""
    return orjson.loads(example_events()["fraud"])
