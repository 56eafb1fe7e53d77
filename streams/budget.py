"""The admission budget: how many records a partner may write per hour before they are refused.

Called by the ingest loop (``source``) once per batch, before admission. A partner flooding
its ingest topic with distinct events would otherwise grow the streams state (dedupe entries,
indicator windows, campaigns) at its own pace until the TTLs expire it; with a budget the state
one partner can cause is bounded by ``per_hour`` x the TTLs (docs/DESIGN.md, "Admission
budget").

The count is Kafka's own, so the decision is deterministic: ingest topics are stamped by the
broker (``LogAppendTime``), so within a partition timestamps never decrease, and a record's
rank in its hour is its offset minus the first offset of that hour on its partition
(``offsets_for_times``). The same record always gets the same answer, on any worker, after any
crash or replay; the partner cannot reset it with timestamps of its own. Each of a topic's
partitions allows ``ceil(per_hour / partitions)`` records an hour (records are spread by
``event_id``). Every record counts, refused ones included: the budget bounds what a partner
writes, not what it gets accepted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition

from confianza.streams.clock import iso
from confianza.streams.ingest import Record

HOUR_MS = 3_600_000
DEFAULT_PER_HOUR = 20_000
"""The budget when none is configured (``confianza worker streams --admission-budget``)."""


class AdmissionBudget:
    """Records per partner per hour (``per_hour``; 0 means no budget)."""

    def __init__(self, per_hour: int) -> None:
        if per_hour < 0:
            raise ValueError("the admission budget cannot be negative")
        self.per_hour = per_hour
        self._first: dict[TopicPartition, tuple[int, int]] = {}
        """Per partition: (hour window start ms, first offset in it)."""

    async def refusals(self, consumer: Any, records: Sequence[Record]) -> list[str | None]:
        """For each record of a batch, in order: the message for its receipt if it is over
        budget, else None.

        ``consumer`` is the ingest loop's aiokafka consumer (partition counts and
        ``offsets_for_times``).
        """
        if not self.per_hour:
            return [None] * len(records)
        refused: list[str | None] = []
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            window = record.timestamp_ms - record.timestamp_ms % HOUR_MS
            first = await self._first_offset(consumer, tp, window, record.offset)
            partitions = len(consumer.partitions_for_topic(record.topic) or ()) or 1
            limit = math.ceil(self.per_hour / partitions)
            refused.append(
                f"over the admission budget of {self.per_hour} records per hour "
                f"({limit} on each of the {partitions} partitions of {record.topic}); "
                f"records are admitted again from {iso((window + HOUR_MS) / 1000)}"
                if record.offset - first >= limit
                else None
            )
        return refused

    async def _first_offset(
        self, consumer: Any, tp: TopicPartition, window: int, offset: int
    ) -> int:
        known = self._first.get(tp)
        if known is not None and known[0] == window:
            return known[1]
        found = (await consumer.offsets_for_times({tp: window})).get(tp)
        # The record itself is in the window, so the broker finds an offset at or before it;
        # None only if the partition was truncated under us: count from the record.
        first = offset if found is None else min(found.offset, offset)
        self._first[tp] = (window, first)
        return first
