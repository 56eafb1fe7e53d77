"""Consumer lag against the real broker: committed vs end offsets, exported as the gauge."""

from __future__ import annotations

import uuid

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY

from confianza import kafka
from confianza.dev.kafka import free_port
from confianza.observability import lag
from confianza.observability.lag import LagExporter, confianza_groups, measure_lag
from confianza.settings import KafkaSettings

from .helpers import RECORDS, consume_and_commit


def lag_sample(group: str, topic: str) -> float | None:
    return REGISTRY.get_sample_value(
        "confianza_consumer_lag_messages", {"group": group, "topic": topic}
    )


def test_lag_is_end_minus_committed(admin_settings: KafkaSettings, topic: str) -> None:
    group = f"confianza-deliver-{uuid.uuid4().hex[:8]}"
    consume_and_commit(admin_settings, topic, group, 7)
    exporter = LagExporter(admin_settings)
    try:
        lag = exporter.refresh()
        assert lag[group, topic] == RECORDS - 7
        assert lag_sample(group, topic) == RECORDS - 7
        assert exporter.ready
        consume_and_commit(admin_settings, topic, group, 5)
        exporter.refresh()
        assert lag_sample(group, topic) == RECORDS - 12
    finally:
        exporter.stop()
    assert lag_sample(group, topic) is None


def test_partitions_without_a_commit_count_from_the_start(
    admin_settings: KafkaSettings, topic: str
) -> None:
    group = f"confianza-streams-{uuid.uuid4().hex[:8]}"
    committer = kafka.consumer(admin_settings, group_id=group)
    committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(4, "", -1)})
    committer.close()
    admin = kafka.admin(admin_settings)
    try:
        assert measure_lag(admin, [group]) == {(group, topic): RECORDS - 4}
    finally:
        admin.close()


def test_only_confianza_groups_are_watched(admin_settings: KafkaSettings, topic: str) -> None:
    ours = f"confianza-streams-{uuid.uuid4().hex[:8]}"
    partner = f"partner-bcp-{uuid.uuid4().hex[:8]}"
    consume_and_commit(admin_settings, topic, ours, 1)
    consume_and_commit(admin_settings, topic, partner, 1)
    admin = kafka.admin(admin_settings)
    try:
        groups = confianza_groups(admin)
    finally:
        admin.close()
    assert ours in groups
    assert partner not in groups


def test_a_vanished_group_leaves_no_series(admin_settings: KafkaSettings, topic: str) -> None:
    group = f"confianza-deliver-{uuid.uuid4().hex[:8]}"
    consume_and_commit(admin_settings, topic, group, 2)
    exporter = LagExporter(admin_settings)
    admin = kafka.admin(admin_settings)
    try:
        exporter.refresh()
        assert lag_sample(group, topic) == RECORDS - 2
        admin.delete_groups([group])
        exporter.refresh()
        assert lag_sample(group, topic) is None
    finally:
        admin.close()
        exporter.stop()


def test_a_failed_refresh_clears_the_series_and_is_not_ready(
    admin_settings: KafkaSettings, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = f"confianza-deliver-{uuid.uuid4().hex[:8]}"
    consume_and_commit(admin_settings, topic, group, 3)
    exporter = LagExporter(admin_settings)
    try:
        exporter.refresh()
        assert lag_sample(group, topic) == RECORDS - 3

        def broker_gone(*_: object) -> None:
            raise ConnectionError("broker gone")

        monkeypatch.setattr(lag, "measure_lag", broker_gone)
        assert exporter.refresh() == {}
        assert not exporter.ready
        assert lag_sample(group, topic) is None
    finally:
        exporter.stop()


def test_an_unreachable_broker_is_not_ready() -> None:
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    exporter = LagExporter(nowhere, timeout=1)
    assert exporter.refresh() == {}
    assert not exporter.ready
    exporter.stop()
