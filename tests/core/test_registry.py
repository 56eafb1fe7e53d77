"""The partner registry's reader against the real broker: a topic that is not (yet) known."""

from __future__ import annotations

import pytest
from kafka import TopicPartition

from confianza.kafka import consumer
from confianza.provision import registry
from confianza.provision.errors import ProvisioningError
from confianza.schemas.topics import PARTNERS
from confianza.settings import KafkaSettings


def test_the_registry_topic_partitions_are_found(admin_settings: KafkaSettings) -> None:
    client = consumer(admin_settings)
    try:
        assert registry.topic_partitions(client, PARTNERS, 10.0) == [TopicPartition(PARTNERS, 0)]
    finally:
        client.close()


def test_a_topic_the_cluster_does_not_know_is_a_clear_error(
    admin_settings: KafkaSettings,
) -> None:
    client = consumer(admin_settings)
    try:
        with pytest.raises(ProvisioningError, match=r"topic no-such-topic\.v1 is not known"):
            registry.topic_partitions(client, "no-such-topic.v1", 0.5)
    finally:
        client.close()
