"""Fixtures of the contract tests: example events as bytes and as dicts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from confianza.schemas.catalog import example_events


@pytest.fixture(scope="session")
def examples() -> dict[str, bytes]:
    return example_events()


@pytest.fixture
def phishing_event(examples: dict[str, bytes]) -> dict[str, Any]:
    """A fresh copy of the BCP phishing example, free to mutate."""
    return orjson.loads(examples["fraud"])
