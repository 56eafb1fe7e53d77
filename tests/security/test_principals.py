"""Least privilege on the real broker: every principal against every kind of topic and admin act.

The ACL table of docs/DESIGN.md ("Principals and ACLs"), probed the way an attacker holding one
principal's password would: write and read each topic family (the partners' own and another
partner's ingest and receipts, the shared topics, the streams worker's internal topics), join
another principal's consumer group, create topics and users. Each principal may do exactly
what the table allows; everything else is refused with an authorization error. Unknown users
and wrong passwords are refused before any of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import (
    AuthorizationError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
)

from confianza import provision
from confianza.kafka import admin, consumer, producer
from confianza.provision.kafka_admin import new_password
from confianza.schemas import topics
from confianza.settings import KafkaSettings
from tests.eventually import eventually

INTERNAL = "confianza-streams-events"


@dataclass(frozen=True)
class Roster:
    """Two fresh partners and the three services, each with its own settings."""

    a: str
    b: str
    principals: dict[str, KafkaSettings]


@pytest.fixture(scope="module")
def roster(admin_settings: KafkaSettings) -> Roster:
    suffix = uuid.uuid4().hex[:6]
    a, b = f"sec-a-{suffix}", f"sec-b-{suffix}"
    principals = {}
    for partner, sector in ((a, "banking"), (b, "telecom")):
        creds = provision.add_partner(admin_settings, partner, sector)
        principals[partner] = admin_settings.with_credentials(creds.username, creds.password)
    for service in ("streams", "deliver", "ops"):
        creds = provision.add_service(admin_settings, service)
        principals[service] = admin_settings.with_credentials(creds.username, creds.password)
    client = admin(admin_settings)
    try:
        if INTERNAL not in client.list_topics():
            client.create_topics([NewTopic(INTERNAL, 1, 1)])
    finally:
        client.close()
    return Roster(a, b, principals)


def _producer(settings: KafkaSettings) -> KafkaProducer:
    return eventually(lambda: producer(settings, max_block_ms=8000, request_timeout_ms=8000))


def _consumer(settings: KafkaSettings, **extra: object) -> KafkaConsumer:
    return eventually(lambda: consumer(settings, request_timeout_ms=8000, **extra))


def may_write(settings: KafkaSettings, topic: str) -> bool:
    """One fresh producer per probe: an idempotent kafka-python producer refused once keeps
    failing every later send with that first error."""
    client = _producer(settings)
    try:
        client.send(topic, key=b"probe", value=b"{}").get(timeout=15)
    except AuthorizationError:
        return False
    finally:
        client.close(timeout=5)
    return True


def may_read(client: KafkaConsumer, topic: str) -> bool:
    try:
        tp = TopicPartition(topic, 0)
        client.assign([tp])
        client.beginning_offsets([tp])
        client.seek_to_beginning(tp)
        client.poll(timeout_ms=1000)
    except AuthorizationError:
        return False
    return True


def may_join(settings: KafkaSettings, topic: str, group: str) -> bool:
    try:
        client = consumer(settings, topic, group_id=group, consumer_timeout_ms=3000)
    except AuthorizationError:
        return False
    try:
        client.poll(timeout_ms=3000)
        client.poll(timeout_ms=1000)
    except AuthorizationError:
        return False
    finally:
        client.close()
    return True


def matrix(r: Roster) -> Iterator[tuple[str, str, str, bool]]:
    """(principal, act, topic or group, allowed) for every probe."""
    a, b = r.a, r.b
    ingest_a, ingest_b = topics.ingest_topic(a), topics.ingest_topic(b)
    rec_a, rec_b = topics.receipts_topic(a), topics.receipts_topic(b)
    shared = (
        topics.ALERTS,
        topics.INCIDENTS,
        topics.DLQ_INGEST,
        topics.DELIVERIES,
        topics.DLQ_DELIVERY,
        topics.PARTNERS,
    )
    writes = {
        a: {ingest_a},
        "streams": {rec_a, rec_b, topics.ALERTS, topics.INCIDENTS, topics.DLQ_INGEST, INTERNAL},
        "deliver": {topics.DELIVERIES, topics.DLQ_DELIVERY},
        "ops": {topics.PARTNERS, topics.DELIVERIES, topics.DLQ_DELIVERY},
    }
    reads = {
        a: {rec_a},
        "streams": {ingest_a, ingest_b, topics.ALERTS, topics.INCIDENTS, topics.DLQ_INGEST,
                    topics.PARTNERS, INTERNAL},
        "deliver": {topics.ALERTS, topics.DELIVERIES, topics.DLQ_DELIVERY},
        "ops": {ingest_a, ingest_b, rec_a, rec_b, *shared, INTERNAL},
    }  # fmt: skip
    every = (ingest_a, ingest_b, rec_a, rec_b, *shared, INTERNAL)
    for principal in (a, "streams", "deliver", "ops"):
        for topic in every:
            yield principal, "write", topic, topic in writes[principal]
            yield principal, "read", topic, topic in reads[principal]


def test_each_principal_may_do_exactly_what_the_acl_table_allows(roster: Roster) -> None:
    probes = list(matrix(roster))
    readers: dict[str, KafkaConsumer] = {}

    def probe(principal: str, act: str, topic: str) -> bool:
        settings = roster.principals[principal]
        if act == "write":
            return may_write(settings, topic)
        return may_read(readers[principal], topic)

    try:
        for principal in {p for p, *_ in probes}:
            readers[principal] = _consumer(roster.principals[principal])
        with ThreadPoolExecutor(max_workers=8) as pool:  # writes in parallel: I/O bound
            writes = {(p, t): pool.submit(probe, p, a, t) for p, a, t, _ in probes if a == "write"}
            done = {(p, "write", t): f.result() for (p, t), f in writes.items()}
        done |= {(p, a, t): probe(p, a, t) for p, a, t, _ in probes if a == "read"}
    finally:
        for reader in readers.values():
            reader.close()
    wrong = [
        f"{p} {a} {t}: {'allowed' if done[(p, a, t)] else 'refused'}"
        for p, a, t, allowed in probes
        if done[(p, a, t)] != allowed
    ]
    assert wrong == [], "\n".join(wrong)


def test_a_partner_cannot_join_another_partners_consumer_group(roster: Roster) -> None:
    a = roster.principals[roster.a]
    receipts = topics.receipts_topic(roster.a)
    assert may_join(a, receipts, f"partner-{roster.a}-reader")
    assert not may_join(a, receipts, f"partner-{roster.b}-reader")
    assert not may_join(a, receipts, "confianza-streams-ingest")


def test_no_partner_or_service_may_administer_the_cluster(roster: Roster) -> None:
    for name in (roster.a, "streams", "deliver", "ops"):
        settings = roster.principals[name]
        client = eventually(lambda s=settings: admin(s))
        try:
            with pytest.raises(AuthorizationError):
                client.create_topics([NewTopic(f"ingest.{roster.a}.v9", 1, 1)])
            with pytest.raises(KafkaError):
                client.describe_acls(_any_acl_filter())
        finally:
            client.close()
        with (
            pytest.raises((KafkaError, provision.ProvisioningError)),
            provision.kafka_admin.connect(settings) as conn,
        ):
            provision.kafka_admin.set_scram_password(conn, f"partner-{roster.b}", new_password())


def _any_acl_filter() -> object:
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    return ACLFilter(
        principal=None,
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


@pytest.mark.parametrize("who", ["unknown", "wrong-password", "another-partners-password"])
def test_unknown_principals_and_wrong_passwords_are_refused(
    roster: Roster, admin_settings: KafkaSettings, who: str
) -> None:
    real = roster.principals[roster.a]
    other = roster.principals[roster.b]
    settings = {
        "unknown": admin_settings.with_credentials("partner-nobody-" + uuid.uuid4().hex[:6], "x"),
        "wrong-password": real.with_credentials(str(real.username), new_password()),
        "another-partners-password": real.with_credentials(
            str(real.username), other.password.get_secret_value() if other.password else ""
        ),
    }[who]
    for connect in (
        lambda: producer(settings, max_block_ms=3000, bootstrap_timeout_ms=3000),
        lambda: consumer(settings, bootstrap_timeout_ms=3000),
    ):
        try:
            client = connect()
        except SaslAuthenticationFailedError:
            continue
        except KafkaTimeoutError:
            # under load the broker may drop the connection before its refusal is read;
            # the real password must then still get in, or the broker was simply down
            producer(real, max_block_ms=5000).close()
            continue
        client.close()
        raise AssertionError(f"{who}: the broker let {settings.username} in")
