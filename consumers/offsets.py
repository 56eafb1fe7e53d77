"""Which ``alerts.v1`` offsets may be committed: only those whose every delivery is settled.

The worker registers each record it reads with the number of deliveries it started for it;
each delivery reports back once its outcome is in the ledger. The committable offset of a
partition is the lowest record still unsettled (or one past the last record read), so a crash
re-reads exactly the records whose outcomes may be missing from the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import TopicPartition


@dataclass(frozen=True)
class Token:
    """One record's place: handed to each of its deliveries, given back when settled."""

    tp: TopicPartition
    offset: int


class OffsetTracker:
    """Unsettled records per partition and the offsets already committed."""

    def __init__(self) -> None:
        self._pending: dict[TopicPartition, dict[int, int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    @property
    def outstanding(self) -> int:
        """Records read but not yet fully settled (used for back-pressure)."""
        return sum(len(p) for p in self._pending.values())

    def add(self, tp: TopicPartition, offset: int, deliveries: int) -> Token:
        """Register a record that started ``deliveries`` deliveries (0: settled already)."""
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)
        pending = self._pending.setdefault(tp, {})
        if deliveries > 0:
            pending[offset] = deliveries
        return Token(tp, offset)

    def settled(self, token: Token) -> None:
        """One delivery of the record is in the ledger."""
        pending = self._pending.get(token.tp)
        if pending is None or token.offset not in pending:
            return  # the partition was revoked meanwhile
        pending[token.offset] -= 1
        if pending[token.offset] <= 0:
            del pending[token.offset]

    def committable(self) -> dict[TopicPartition, int]:
        """Partition → offset to commit, for partitions whose position moved."""
        result: dict[TopicPartition, int] = {}
        for tp, nxt in self._next.items():
            pending = self._pending.get(tp)
            position = min(pending) if pending else nxt
            if self._committed.get(tp) != position:
                result[tp] = position
        return result

    def mark_committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Drop partitions this worker no longer owns."""
        for tp in tps:
            self._pending.pop(tp, None)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)
