"""Fixtures for the observability tests: the ops principal, a topic with records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka.admin import NewTopic
from tenacity import retry, stop_after_delay, wait_fixed

from confianza import kafka
from confianza.provision import add_service
from confianza.settings import KafkaSettings

from .helpers import PARTITIONS, RECORDS


@pytest.fixture(scope="session")
def ops_settings(admin_settings: KafkaSettings) -> KafkaSettings:
    """Client settings of the ``svc-ops`` principal, once its credential and ACLs work."""
    credentials = add_service(admin_settings, "ops")
    settings = admin_settings.with_credentials(credentials.username, credentials.password)

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), reraise=True)
    def can_describe_groups() -> None:
        client = kafka.admin(settings)
        try:
            client.list_groups()
        finally:
            client.close()

    can_describe_groups()
    return settings


@pytest.fixture
def topic(admin_settings: KafkaSettings) -> Iterator[str]:
    """A fresh topic holding RECORDS records spread over PARTITIONS partitions."""
    name = f"lagtest.{uuid.uuid4().hex[:8]}.v1"
    client = kafka.admin(admin_settings)
    client.create_topics([NewTopic(name, PARTITIONS, 1)])
    producer = kafka.producer(admin_settings)
    for i in range(RECORDS):
        producer.send(name, key=f"k{i}".encode(), value=b"{}", partition=i % PARTITIONS)
    producer.flush()
    producer.close()
    yield name
    client.delete_topics([name])
    client.close()
