"""The ingest loop's offset commits (acknowledged offsets, committed at most every interval)
and its pace (a batch at most every ``CYCLE_S`` unless one was full)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from confianza.streams.source import CYCLE_S, AcknowledgedOffsets, pause_before_next

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


def test_a_small_quick_batch_waits_for_the_rest_of_the_cycle() -> None:
    waited = pause_before_next(100.0, 100.005, taken=3, batch_size=1000)
    assert waited == pytest.approx(CYCLE_S - 0.005)


def test_a_slow_batch_is_followed_at_once() -> None:
    assert pause_before_next(100.0, 100.0 + 2 * CYCLE_S, taken=3, batch_size=1000) == 0.0


def test_a_full_batch_means_a_backlog_and_an_empty_one_a_quiet_spell_neither_waits() -> None:
    assert pause_before_next(100.0, 100.001, taken=1000, batch_size=1000) == 0.0
    assert pause_before_next(100.0, 100.001, taken=0, batch_size=1000) == 0.0
