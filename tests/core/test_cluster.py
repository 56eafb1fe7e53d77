"""The 3-node KRaft cluster: election after SIGKILL of a leader, no acknowledged record lost."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import TopicPartition

from confianza.dev.kafka import Cluster
from confianza.kafka import admin, consumer, producer
from tests.eventually import eventually

TOPIC = "fault.test.v1"
RECORDS = 3000


def leader_of(cluster: Cluster, topic: str, partition: int) -> int:
    client = admin(cluster.admin_settings())
    try:
        (described,) = client.describe_topics([topic])
        for p in described["partitions"]:
            if p["partition_index"] == partition:
                return int(p["leader_id"])
    finally:
        client.close()
    raise AssertionError(f"no partition {partition}")


def isr_of(cluster: Cluster, topic: str) -> list[list[int]]:
    client = admin(cluster.admin_settings())
    try:
        (described,) = client.describe_topics([topic])
        return [sorted(p["isr_nodes"]) for p in described["partitions"]]
    finally:
        client.close()


@pytest.mark.cluster
def test_leader_crash_loses_no_acknowledged_record(three_node_cluster: Cluster) -> None:
    settings = three_node_cluster.admin_settings()
    client = admin(settings)
    client.create_topics(
        {
            TOPIC: {
                "num_partitions": 3,
                "replication_factor": 3,
                "configs": {"min.insync.replicas": "2"},
            }
        },
        wait_for_metadata=True,
    )
    client.close()
    victim_id = eventually(lambda: leader_of(three_node_cluster, TOPIC, 0))
    victim = next(b for b in three_node_cluster.brokers if b.node_id == victim_id)

    acknowledged: list[int] = []
    out = producer(settings, linger_ms=2, request_timeout_ms=10000, delivery_timeout_ms=120000)
    killed = threading.Event()

    def kill_midway() -> None:
        while len(acknowledged) < RECORDS // 3:
            time.sleep(0.01)
        victim.kill()
        killed.set()

    killer = threading.Thread(target=kill_midway)
    killer.start()
    for i in range(RECORDS):
        future = out.send(TOPIC, key=str(i).encode(), value=str(i).encode())
        future.add_callback(lambda _, i=i: acknowledged.append(i))
        if i % 100 == 0:
            out.flush()
            time.sleep(0.02)
    out.flush(timeout=120)
    out.close()
    killer.join(timeout=60)
    assert killed.is_set()
    assert sorted(acknowledged) == list(range(RECORDS))
    assert leader_of(three_node_cluster, TOPIC, 0) != victim_id

    reader = consumer(settings, consumer_timeout_ms=10000)
    partitions = [TopicPartition(TOPIC, p) for p in range(3)]
    reader.assign(partitions)
    reader.seek_to_beginning()
    seen = [int(m.value) for m in reader]
    reader.close()
    assert sorted(seen) == list(range(RECORDS)), "lost or duplicated records"

    victim.start()
    three_node_cluster.wait_ready()
    eventually(lambda: _assert_full_isr(three_node_cluster), timeout=60)


def _assert_full_isr(cluster: Cluster) -> None:
    assert all(len(isr) == 3 for isr in isr_of(cluster, TOPIC)), isr_of(cluster, TOPIC)
