"""Fixtures of the delivery tests: private topics on the real broker, a webhook secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka.admin import NewTopic

from confianza.consumers.webhook.signing import generate_secret
from confianza.consumers.worker import Topics
from confianza.kafka import admin, producer
from confianza.settings import KafkaSettings


@pytest.fixture
def whsec(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh webhook secret, also in $TEST_WHSEC (the factory's secret variable)."""
    secret = generate_secret()
    monkeypatch.setenv("TEST_WHSEC", secret)
    return secret


@pytest.fixture
def topics(admin_settings: KafkaSettings) -> Iterator[Topics]:
    """Private alerts/deliveries/DLQ topics (3 partitions each) for one test."""
    suffix = uuid.uuid4().hex[:10]
    names = Topics(
        alerts=f"test.alerts.{suffix}.v1",
        deliveries=f"test.deliveries.{suffix}.v1",
        dlq=f"test.dlq.{suffix}.v1",
    )
    client = admin(admin_settings)
    try:
        client.create_topics(
            [NewTopic(n, 3, 1) for n in (names.alerts, names.deliveries, names.dlq)]
        )
        yield names
        client.delete_topics([names.alerts, names.deliveries, names.dlq])
    finally:
        client.close()


def produce(settings: KafkaSettings, topic: str, alerts: list[dict[str, Any]]) -> None:
    """Write alerts keyed by alert_id (as the streams app does) and wait for the acks."""
    client = producer(settings)
    try:
        for alert in alerts:
            client.send(topic, orjson.dumps(alert), key=alert["alert_id"].encode())
        client.flush()
    finally:
        client.close()
