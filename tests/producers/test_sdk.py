"""The Reporter SDK against the real broker: local validation, keys, receipts, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from confianza.producers import EventRejected, Reporter, ReporterError
from confianza.schemas.validate import encode, validate_event
from confianza.settings import KafkaSettings
from tests.producers.kafka_helpers import (
    Partner,
    read_topic,
    receipt,
    reporter,
    retry,
    write_receipts,
)


def test_send_writes_the_validated_event_keyed_by_event_id(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings, example: dict[str, Any]
) -> None:
    partner = new_partner()
    second = example | {"event_id": "bcp-2024-000124"}
    with reporter(partner) as sdk:
        metadata = sdk.send(example).get(timeout=15)
        sdk.send(second)  # not waited for: leaving the block flushes it
    assert metadata.topic == f"ingest.{partner.id}.v1"
    records = read_topic(admin_settings, metadata.topic, 2)
    assert sorted(r.key for r in records) == [b"bcp-2024-000123", b"bcp-2024-000124"]
    for record in records:
        assert record.value == encode(example | {"event_id": record.key.decode()})
        assert validate_event(record.value) == example | {"event_id": record.key.decode()}


def test_invalid_event_is_refused_before_sending(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings, example: dict[str, Any]
) -> None:
    partner = new_partner()
    bad = example | {"tlp": "orange", "reporter": "interbank"}
    with reporter(partner) as sdk:
        with pytest.raises(EventRejected) as caught:
            sdk.send(bad)
        with pytest.raises(EventRejected, match="not JSON-serializable"):
            sdk.send(example | {"indicators": {("url", "x")}})
        sdk.send(example).get(timeout=15)
    rejected = caught.value
    assert rejected.event_id == "bcp-2024-000123"
    assert rejected.reason == "schema"
    assert {e.pointer for e in rejected.errors} == {"/tlp", "/reporter"}
    assert "/tlp: 'orange' is not one of" in str(rejected)
    # Only the valid event reached the topic.
    assert [r.key for r in read_topic(admin_settings, f"ingest.{partner.id}.v1", 1)] == [
        b"bcp-2024-000123"
    ]


def test_receipts_are_those_written_after_the_first_send(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings, example: dict[str, Any]
) -> None:
    partner = new_partner()
    old = receipt(partner.id, "older-event", "accepted")
    write_receipts(admin_settings, partner.id, [old])
    with reporter(partner) as sdk:
        sdk.send(example).get(timeout=15)
        rejected = receipt(
            partner.id,
            "bcp-2024-000123",
            "rejected",
            errors=[{"pointer": "/indicators/0/value", "message": "not a URL"}],
        )
        write_receipts(admin_settings, partner.id, [rejected])
        assert list(sdk.receipts(timeout=1.5)) == [rejected]
        replay = list(sdk.receipts(timeout=1.5, from_beginning=True))
    assert sorted(r["event_id"] for r in replay) == ["bcp-2024-000123", "older-event"]


def test_wrong_partner_or_password_fails_clearly(
    new_partner: Callable[..., Partner], example: dict[str, Any]
) -> None:
    partner, other = new_partner(), new_partner("telecom")
    retry(lambda: Reporter(partner.settings, partner.id)).close()
    with pytest.raises(ReporterError, match="may not write the partner's ingest topic"):
        Reporter(partner.settings, other.id)
    wrong = partner.settings.with_credentials(partner.credentials.username, "not-the-password")
    # The broker's refusal is usually read back; when it closes the socket first, the client
    # only sees a timeout, whose hint names the credentials too.
    with pytest.raises(ReporterError, match=r"login was refused|username and password") as caught:
        Reporter(wrong, partner.id)
    assert partner.credentials.password not in str(caught.value)
    with pytest.raises(ValueError, match="invalid partner id"):
        Reporter(partner.settings, "BCP.evil")
