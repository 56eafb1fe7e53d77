"""The ingest loop: every partner topic by pattern, in batches, one receipt per record.

Runs inside the streams worker (started with the Faust app). Faust's own pattern subscription
does not work with the aiokafka driver, and changing a Faust app's subscription rebalances the
whole app, so ingest uses aiokafka directly: its consumer subscribes to ``INGEST_PATTERN``
with a short metadata age, so a partner topic created while the worker runs is consumed within
seconds, without a restart. Consumer group ``<app id>-ingest`` (within the
``confianza-streams`` ACL prefix); several workers share the partner partitions.

Per batch: ask the admission budget (``budget``) which records are over it, admit every
record (``ingest.admit``), send rejected receipts and dead letters, forward candidates to the
events stage (to the partition of their uid, a few records of many candidates each:
``streams.hops``) and wait until the broker acknowledged all of it; only then are the batch's
offsets due for commit. Acknowledged offsets are committed at most every
``COMMIT_INTERVAL_S``, when partitions are revoked and when the loop stops: a commit per batch
cost a round trip to the group coordinator for every few records under steady load. A crash
replays what was not committed yet (at most about a second of records), which produces the
same receipts, dead letters and candidates again (admission is deterministic; the candidates
may be grouped into other hop records), and every later stage treats them as the same:
at-least-once, no loss.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from confianza.kafka import aiokafka_kwargs
from confianza.logging import get_logger
from confianza.metrics import (
    DLQ_RECORDS,
    EVENTS_RECEIVED,
    EVENTS_REJECTED,
    INDICATORS_INVALID,
    STAGE_SECONDS,
)
from confianza.schemas.taxonomy import INDICATOR_KINDS
from confianza.schemas.topics import DLQ_INGEST, INGEST_PATTERN, partner_of, receipts_topic
from confianza.settings import KafkaSettings
from confianza.streams import hops
from confianza.streams.budget import AdmissionBudget
from confianza.streams.ingest import Candidate, Record, Rejected, admit
from confianza.streams.registry import PartnerRegistry

log = get_logger(__name__)

COMMIT_INTERVAL_S = 1.0
"""Most time acknowledged ingest offsets wait before they are committed."""
COMPRESSION: str | None = None
"""Compression of everything the streams worker produces: none. At the rates a national
centre sees, the worker's produce batches hold a record or two each, and aiokafka's codecs pay
a fixed cost per batch (zstd about 20 µs, for its context; lz4 at level 9 about 7 µs) that
outweighs what fewer bytes save on the broker's sockets and disk. Without compression the
worker spent 5 to 7 % fewer CPU-seconds than with zstd at 300 events/s and 6 to 14 % fewer in a
burst; lz4 and snappy did no better than zstd (bench/README.md, "What changed"). Records
written compressed, by partners or by earlier versions, are read as before."""


def new_producer(kafka: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent ``acks=all`` aiokafka producer (the loop's, and the benchmark's)."""
    return AIOKafkaProducer(
        **(
            aiokafka_kwargs(kafka)
            | {
                "acks": "all",
                "enable_idempotence": True,
                "linger_ms": 5,
                "max_batch_size": 256 * 1024,
                "compression_type": COMPRESSION,
            }
            | overrides
        )
    )


class IngestLoop:
    """Consumes partner topics by pattern; forwards candidates to ``events_topic``."""

    def __init__(
        self,
        kafka: KafkaSettings,
        registry: PartnerRegistry,
        events_topic: str,
        *,
        group_id: str,
        budget: AdmissionBudget,
        batch_size: int = 1000,
        metadata_max_age_ms: int = 3000,
    ) -> None:
        self.kafka = kafka
        self.registry = registry
        self.events_topic = events_topic
        self.group_id = group_id
        self.budget = budget
        self.batch_size = batch_size
        self.metadata_max_age_ms = metadata_max_age_ms
        self.assigned = asyncio.Event()
        self._partners_seen: set[str] = set()
        self._event_partitions = 1  # the events topic's partitions, read when the loop starts

    async def run(self) -> None:
        """Consume until cancelled; the registry must be running."""
        await self.registry.ready.wait()
        consumer = AIOKafkaConsumer(
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=self.metadata_max_age_ms,
            max_poll_records=self.batch_size,
            **aiokafka_kwargs(self.kafka),
        )
        producer = new_producer(self.kafka)
        await producer.start()
        self._event_partitions = len(await producer.partitions_for(self.events_topic))
        await consumer.start()
        offsets = AcknowledgedOffsets(consumer)
        consumer.subscribe(pattern=INGEST_PATTERN, listener=offsets)
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                if consumer.assignment():
                    self.assigned.set()
                if batches:
                    await self._process(consumer, producer, batches)
                    offsets.acknowledged(batches)
                await offsets.commit(due_after=COMMIT_INTERVAL_S)
        finally:
            try:
                await offsets.commit(due_after=0.0)
            finally:  # a commit that fails at shutdown must not leave the clients running
                await consumer.stop()
                await producer.stop()

    async def _process(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batches: dict[TopicPartition, list[Any]],
    ) -> None:
        """Admit a batch and wait until the broker acknowledged everything it produced."""
        started = time.perf_counter()
        records = [
            Record(m.topic, m.partition, m.offset, m.timestamp, m.value)
            for messages in batches.values()
            for m in messages
        ]
        partners = {partner_of(r.topic) for r in records}
        if any(p is not None and self.registry.sector_of(p) is None for p in partners):
            await self.registry.catch_up()
        refused = await self.budget.refusals(consumer, records)
        sends: list[Awaitable[Any]] = []
        candidates: dict[int, list[bytes]] = defaultdict(list)
        for record, over_budget in zip(records, refused, strict=True):
            outcome = admit(record, self.registry.sector_of, over_budget)
            self._count(outcome)
            if isinstance(outcome, Rejected):
                sends.extend(await self._reject(producer, record, outcome))
            else:
                partition = hops.partition_of(outcome.uid.encode(), self._event_partitions)
                candidates[partition].append(orjson.dumps(outcome.doc))
        for partition, items in candidates.items():
            for value in hops.pack(items):
                sends.append(await producer.send(self.events_topic, value, partition=partition))
        await asyncio.gather(*sends)
        STAGE_SECONDS.labels(stage="ingest").observe(
            (time.perf_counter() - started) / max(1, len(records))
        )

    def _count(self, outcome: Candidate | Rejected) -> None:
        partner = outcome.partner
        if partner not in self._partners_seen:
            self._partners_seen.add(partner)
            for kind in INDICATOR_KINDS:  # a series at 0 per kind, so dashboards show 0
                INDICATORS_INVALID.labels(partner=partner, kind=kind)
        EVENTS_RECEIVED.labels(partner=partner).inc()
        if isinstance(outcome, Candidate):
            for kind in outcome.doc["invalid_kinds"]:
                INDICATORS_INVALID.labels(partner=partner, kind=kind).inc()

    async def _reject(
        self, producer: AIOKafkaProducer, record: Record, outcome: Rejected
    ) -> list[Awaitable[Any]]:
        partner = outcome.partner
        EVENTS_REJECTED.labels(partner=partner, reason=outcome.reason).inc()
        DLQ_RECORDS.labels(topic=DLQ_INGEST).inc()
        log.info(
            "record rejected",
            partner=partner,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=outcome.reason,
        )
        return [
            await producer.send(
                receipts_topic(partner), orjson.dumps(outcome.receipt), key=outcome.receipt_key
            ),
            await producer.send(DLQ_INGEST, orjson.dumps(outcome.dlq), key=partner.encode()),
        ]


class AcknowledgedOffsets(ConsumerRebalanceListener):
    """The ingest offsets whose outputs the broker acknowledged, until they are committed.

    ``acknowledged`` is called after a batch's sends were acknowledged; ``commit`` commits what
    is pending once ``due_after`` seconds passed since the last commit. Partitions about to be
    revoked are committed first, so the worker that takes them over starts after them.
    """

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.pending: dict[TopicPartition, int] = {}
        self.last_commit = time.monotonic()

    def acknowledged(self, batches: dict[TopicPartition, list[Any]]) -> None:
        for tp, messages in batches.items():
            self.pending[tp] = messages[-1].offset + 1

    async def commit(self, due_after: float) -> None:
        if not self.pending or time.monotonic() - self.last_commit < due_after:
            return
        owned = self.consumer.assignment()
        offsets = {tp: offset for tp, offset in self.pending.items() if tp in owned}
        self.pending = {}
        self.last_commit = time.monotonic()
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # Partitions moved to another worker: it replays them and produces the same
            # records again, which every stage treats as the same records.
            log.warning(
                "ingest commit refused after a rebalance; records will be replayed", error=str(exc)
            )

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.commit(due_after=0.0)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Nothing to do: a new assignment starts from the committed offsets."""
