"""Shared fixtures: one real Kafka broker for the whole session, a 3-node cluster on request.

The broker is the real Apache Kafka from the local harness (SASL/SCRAM, ACLs). If it cannot
start, every test that needs it errors loudly with the reason: nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from confianza.dev.kafka import Cluster, running
from confianza.provision import apply_topics
from confianza.settings import KafkaSettings


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[Cluster]:
    """The session-wide single-node broker, with the shared topics provisioned."""
    with running(1) as cluster:
        apply_topics(cluster.admin_settings())
        yield cluster


@pytest.fixture(scope="session")
def admin_settings(kafka_cluster: Cluster) -> KafkaSettings:
    """Client settings for the broker's super-user."""
    return kafka_cluster.admin_settings()


@pytest.fixture
def three_node_cluster() -> Iterator[Cluster]:
    """A fresh 3-node KRaft cluster (replication 3, min ISR 2); stopped after the test."""
    with running(3) as cluster:
        yield cluster
