"""The ingest loop's offset commits: acknowledged offsets, committed at most every interval."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from confianza.streams.source import AcknowledgedOffsets

A, B = TopicPartition("ingest.bcp.v1", 0), TopicPartition("ingest.claro.v1", 0)


class _Consumer:
    """Records commits; owns ``owned``; refuses a commit when told to."""

    def __init__(self, *owned: TopicPartition) -> None:
        self.owned = set(owned)
        self.commits: list[dict[TopicPartition, int]] = []
        self.refuse = False

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.refuse:
            raise CommitFailedError("rebalanced")
        self.commits.append(offsets)


def _batch(tp: TopicPartition, *offsets: int) -> dict[TopicPartition, list[Any]]:
    return {tp: [SimpleNamespace(offset=o) for o in offsets]}


def test_acknowledged_offsets_wait_for_the_interval_then_commit_the_latest() -> None:
    consumer = _Consumer(A, B)
    offsets = AcknowledgedOffsets(consumer)  # type: ignore[arg-type]
    offsets.acknowledged(_batch(A, 0, 1, 2))
    asyncio.run(offsets.commit(due_after=3600))
    offsets.acknowledged(_batch(A, 3) | _batch(B, 7))
    asyncio.run(offsets.commit(due_after=3600))
    assert consumer.commits == []  # not due yet: one commit covers many batches
    asyncio.run(offsets.commit(due_after=0.0))
    assert consumer.commits == [{A: 4, B: 8}]  # the next record to read, per partition
    asyncio.run(offsets.commit(due_after=0.0))
    assert len(consumer.commits) == 1  # nothing pending, nothing sent


def test_revoked_partitions_are_committed_at_once() -> None:
    consumer = _Consumer(A)
    offsets = AcknowledgedOffsets(consumer)  # type: ignore[arg-type]
    offsets.acknowledged(_batch(A, 5))
    asyncio.run(offsets.on_partitions_revoked({A}))
    assert consumer.commits == [{A: 6}]


def test_partitions_no_longer_owned_and_refused_commits_are_left_to_replay() -> None:
    consumer = _Consumer(A)
    offsets = AcknowledgedOffsets(consumer)  # type: ignore[arg-type]
    offsets.acknowledged(_batch(A, 1) | _batch(B, 9))  # B moved to another worker meanwhile
    asyncio.run(offsets.commit(due_after=0.0))
    assert consumer.commits == [{A: 2}]
    consumer.refuse = True
    offsets.acknowledged(_batch(A, 2))
    asyncio.run(offsets.commit(due_after=0.0))  # logged, not raised: the records are replayed
    assert offsets.pending == {}
