"""How far a consumer group is behind, read from the broker (tests that wait for a drain)."""

from __future__ import annotations

from kafka import TopicPartition

from confianza.kafka import admin, consumer
from confianza.settings import KafkaSettings


def end_offsets(settings: KafkaSettings, names: list[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of these topics."""
    client = consumer(settings)
    try:
        tps = [TopicPartition(t, p) for t in names for p in client.partitions_for_topic(t) or ()]
        return dict(client.end_offsets(tps)) if tps else {}
    finally:
        client.close()


def group_lag(settings: KafkaSettings, group: str, topics: tuple[str, ...] = ()) -> int:
    """Records of the topics ``group`` committed offsets for, and of ``topics`` whether it
    committed for them yet or not (from their start), that it has not committed yet (1 when it
    has committed nothing at all).

    Name the group's own topics in ``topics``: a stage that has not committed yet is not
    among the committed topics, and a group can look drained while it has not begun one.
    """
    client = admin(settings)
    try:
        committed = client.list_group_offsets([group]).get(group, {})
    finally:
        client.close()
    if not committed:
        return 1
    ends = end_offsets(settings, sorted({tp.topic for tp in committed} | set(topics)))
    return sum(
        max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items()
    )
