"""The delivery ledger: ``deliveries.v1``, one record per attempt outcome, and what it proves.

Every attempt (and every decision not to send: ``filtered``) is written here before the alert's
offset is committed, and a worker rebuilds its "already settled" set from this topic when it
starts, so a crash and restart never sends a key twice. ``read_records`` reads a topic from the
beginning to the end offsets of the moment it is called (used for the ledger and the DLQ).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError, UnknownTopicOrPartitionError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from confianza.consumers.channel import Outcome
from confianza.consumers.gate import GatedAlert
from confianza.kafka import aiokafka_kwargs
from confianza.logging import get_logger
from confianza.settings import KafkaSettings

log = get_logger(__name__)
METADATA_TRIES = 60
WRITE_TRIES = 5

SETTLED = frozenset({"delivered", "permanent", "disabled", "dead-lettered", "filtered"})
"""Outcomes after which a worker never sends that key again (replay may, for dead-lettered)."""


def utc_now() -> str:
    """An RFC 3339 UTC timestamp with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivery_record(
    *,
    alert: dict[str, Any],
    subscriber: str,
    channel: str,
    outcome: str,
    attempt: int,
    gated: GatedAlert | None = None,
    result: Outcome | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A ``delivery.v1`` record (docs/DESIGN.md, "Payloads")."""
    alert_id, version = str(alert["alert_id"]), int(alert["version"])
    return {
        "alert_id": alert_id,
        "version": version,
        "subscriber": subscriber,
        "channel": channel,
        "outcome": outcome,
        "attempt": attempt,
        "idempotency_key": f"{alert_id}:{version}:{subscriber}",
        "disclosed_event_uids": list(gated.disclosed_event_uids) if gated else [],
        "disclosed_indicator_keys": list(gated.disclosed_indicator_keys) if gated else [],
        "status_code": result.status_code if result else None,
        "error": error or (result.error if result else None) or None,
        "at": utc_now(),
    }


@dataclass
class LedgerState:
    """Keys the ledger has settled, and those it has delivered."""

    settled: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)

    def observe(self, record: dict[str, Any]) -> None:
        key = record.get("idempotency_key")
        outcome = record.get("outcome")
        if not isinstance(key, str):
            return
        if outcome in SETTLED:
            self.settled.add(key)
        if outcome == "delivered":
            self.delivered.add(key)


async def read_records(
    kafka: KafkaSettings, topic: str, positions: dict[TopicPartition, int] | None = None
) -> AsyncIterator[tuple[TopicPartition, int, bytes | None]]:
    """Yield (partition, offset, value) of every record up to the current end of ``topic``.

    ``positions`` (partition → next offset) lets a caller continue where it stopped; it is
    updated as records are read. Uses no consumer group and commits nothing.
    """
    positions = {} if positions is None else positions
    consumer = AIOKafkaConsumer(
        **aiokafka_kwargs(kafka),
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    try:
        await consumer.start()
        consumer.subscribe([topic])  # no group: every partition is assigned to this consumer
        tps: list[TopicPartition] = []
        for _ in range(METADATA_TRIES):  # a topic created a moment ago may not be known yet
            tps = sorted(consumer.assignment())
            if tps:
                break
            await asyncio.sleep(0.25)
        if not tps:
            raise UnknownTopicOrPartitionError(f"topic {topic} does not exist or is not readable")
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            start = positions.get(tp)
            if start is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, start)
        remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset < ends[tp]:
                        yield tp, message.offset, message.value
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        positions.update(ends)
    finally:
        await consumer.stop()


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, KafkaTimeoutError) or (isinstance(exc, KafkaError) and exc.retriable)


async def send_acked(producer: AIOKafkaProducer, topic: str, value: bytes, key: bytes) -> None:
    """Append one record and wait for its acknowledgement; a retriable broker error (such as a
    request timeout under load) is retried a few times before it is raised. A retried record
    may be stored twice: readers of the ledger and the DLQ treat records as idempotent."""
    try:
        await producer.send_and_wait(topic, value, key=key)
        return
    except KafkaError as exc:  # the retry loop is entered only when needed: it costs ~0.1 ms
        if not _transient(exc):
            raise
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(WRITE_TRIES - 1),
        wait=wait_exponential(multiplier=0.5, max=5),
        reraise=True,
    ):
        with attempt:
            await producer.send_and_wait(topic, value, key=key)


class Ledger:
    """Writes delivery records (each awaited until the broker acknowledged it) and keeps the
    settled set current; ``catch_up`` reads what other workers wrote since the last call."""

    def __init__(self, kafka: KafkaSettings, producer: AIOKafkaProducer, topic: str) -> None:
        self._kafka = kafka
        self._producer = producer
        self.topic = topic
        self.state = LedgerState()
        self._positions: dict[TopicPartition, int] = {}

    async def catch_up(self) -> int:
        """Read the ledger up to its current end; returns how many records were read."""
        count = 0
        async for _, offset, value in read_records(self._kafka, self.topic, self._positions):
            try:
                record = orjson.loads(value) if value is not None else None
            except orjson.JSONDecodeError:
                log.error("unreadable ledger record", topic=self.topic, offset=offset)
                continue
            if isinstance(record, dict):
                self.state.observe(record)
                count += 1
        return count

    async def write(self, record: dict[str, Any]) -> None:
        """Append one record and wait for the acknowledgement (acks=all)."""
        await send_acked(
            self._producer, self.topic, orjson.dumps(record), record["alert_id"].encode()
        )
        self.state.observe(record)
