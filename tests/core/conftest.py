"""Fixtures for the core tests: partners onboarded on the session broker."""

from __future__ import annotations

import itertools

import pytest

from confianza.provision import Credentials, add_partner
from confianza.settings import KafkaSettings

_serial = itertools.count()


@pytest.fixture
def new_partner(admin_settings: KafkaSettings):
    """Onboard a fresh partner (unique id per call) and return (id, its KafkaSettings)."""

    def make(sector: str = "banking") -> tuple[str, KafkaSettings, Credentials]:
        partner = f"core-{next(_serial)}-{sector[:4]}"
        credentials = add_partner(admin_settings, partner, sector)
        return (
            partner,
            admin_settings.with_credentials(credentials.username, credentials.password),
            credentials,
        )

    return make
