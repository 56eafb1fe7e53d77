"""Partners and services against the real broker: SCRAM authentication and ACL enforcement."""

from __future__ import annotations

import time

import pytest
from kafka import TopicPartition
from kafka.errors import (
    SaslAuthenticationFailedError,
    TopicAuthorizationFailedError,
)

from confianza import provision
from confianza.kafka import consumer, producer
from confianza.provision import kafka_admin
from confianza.provision.acls import partner_acls, partner_principal
from confianza.schemas.topics import ingest_topic, receipts_topic
from confianza.settings import KafkaSettings
from tests.eventually import eventually


def produce_one(settings: KafkaSettings, topic: str) -> None:
    client = producer(
        settings, max_block_ms=5000, request_timeout_ms=5000, bootstrap_timeout_ms=5000
    )
    try:
        client.send(topic, key=b"k", value=b"{}").get(timeout=10)
    finally:
        client.close()


def read_from(settings: KafkaSettings, topic: str) -> int:
    client = consumer(settings, consumer_timeout_ms=3000, request_timeout_ms=6000)
    try:
        partitions = [TopicPartition(topic, 0)]
        client.assign(partitions)
        client.beginning_offsets(partitions)  # raises when the topic is not readable
        client.seek_to_beginning()
        polled = client.poll(timeout_ms=3000)
        return sum(len(v) for v in polled.values())
    finally:
        client.close()


def test_partner_writes_own_ingest_and_reads_own_receipts(new_partner, admin_settings):
    partner, settings, _ = new_partner()
    eventually(lambda: produce_one(settings, ingest_topic(partner)))
    produce_one(admin_settings, receipts_topic(partner))
    assert eventually(lambda: read_from(settings, receipts_topic(partner))) >= 0


def test_partner_cannot_touch_another_partners_topics(new_partner):
    bank, bank_settings, _ = new_partner("banking")
    telco, _, _ = new_partner("telecom")
    eventually(lambda: produce_one(bank_settings, ingest_topic(bank)))
    with pytest.raises(TopicAuthorizationFailedError):
        produce_one(bank_settings, ingest_topic(telco))
    with pytest.raises(TopicAuthorizationFailedError):
        read_from(bank_settings, receipts_topic(telco))
    with pytest.raises(TopicAuthorizationFailedError):
        read_from(bank_settings, ingest_topic(bank))


def test_wrong_password_is_refused(new_partner):
    partner, settings, _ = new_partner()
    wrong = settings.with_credentials(settings.username or "", "not-the-password")
    eventually(lambda: produce_one(settings, ingest_topic(partner)))
    with pytest.raises(SaslAuthenticationFailedError):
        produce_one(wrong, ingest_topic(partner))


def test_unknown_principal_is_refused(admin_settings):
    stranger = admin_settings.with_credentials("partner-nobody", "whatever")
    with pytest.raises(SaslAuthenticationFailedError):
        produce_one(stranger, ingest_topic("nobody"))


def test_rotation_locks_out_the_old_password(new_partner, admin_settings):
    partner, old_settings, _ = new_partner()
    eventually(lambda: produce_one(old_settings, ingest_topic(partner)))
    fresh = provision.rotate_credentials(admin_settings, partner)
    new_settings = admin_settings.with_credentials(fresh.username, fresh.password)
    eventually(lambda: produce_one(new_settings, ingest_topic(partner)))
    assert_refused(old_settings, partner)


def test_reapplying_changes_nothing(new_partner, admin_settings):
    partner, settings, _ = new_partner()
    first = provision.apply_topics(admin_settings)
    assert not first.changed
    with pytest.raises(provision.ProvisioningError, match="already exists"):
        provision.add_partner(admin_settings, partner, "banking")
    with kafka_admin.connect(admin_settings) as client:
        assert (
            kafka_admin.apply_acls(client, partner_principal(partner), partner_acls(partner)) == 0
        )
    eventually(lambda: produce_one(settings, ingest_topic(partner)))


def test_removed_partner_loses_access_and_is_marked_removed(new_partner, admin_settings):
    partner, settings, _ = new_partner("justice")
    eventually(lambda: produce_one(settings, ingest_topic(partner)))
    provision.remove_partner(admin_settings, partner)
    assert_refused(settings, partner)
    statuses = {r.partner: r.status for r in provision.list_partners(admin_settings)}
    assert statuses[partner] == "removed"


def assert_refused(settings: KafkaSettings, partner: str, timeout: float = 20.0) -> None:
    """Wait until the broker refuses the principal (removal propagates with a delay)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            produce_one(settings, ingest_topic(partner))
        except (SaslAuthenticationFailedError, TopicAuthorizationFailedError):
            return
        time.sleep(0.5)
    raise AssertionError(f"{settings.username} is still accepted {timeout}s after removal")
