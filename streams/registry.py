"""The partner registry as the streams worker sees it: partner id -> sector, kept current.

Started once per worker (``run`` as a background task). It reads the compacted ``partners.v1``
topic from the beginning and follows it, so a partner onboarded while the worker runs is known
within moments. ``sector_of`` answers from memory; before calling a partner unknown the ingest
loop awaits ``catch_up``, which returns once everything written to the registry *before the
call* has been read — so an event is never rejected as ``unknown-partner`` because the worker
was merely behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from confianza.kafka import aiokafka_kwargs
from confianza.logging import get_logger
from confianza.schemas.topics import PARTNERS
from confianza.settings import KafkaSettings

log = get_logger(__name__)


class PartnerRegistry:
    """Follows ``partners.v1``; ``sector_of`` is the ingest loop's lookup."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._sectors: dict[str, str] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}
        self._progress = asyncio.Condition()
        self.ready = asyncio.Event()

    def sector_of(self, partner: str) -> str | None:
        """The sector of an active partner, or None (unknown or removed)."""
        return self._sectors.get(partner)

    def apply(self, value: bytes | None, key: bytes | None) -> None:
        """Fold one registry record into memory (tombstones and removals forget the partner)."""
        if value is None:
            if key is not None:
                self._sectors.pop(key.decode(errors="replace"), None)
            return
        try:
            record: dict[str, Any] = orjson.loads(value)
            partner, sector, status = record["partner"], record["sector"], record["status"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.error("unreadable partner registry record skipped", key=key)
            return
        if status == "active":
            self._sectors[partner] = sector
        else:
            self._sectors.pop(partner, None)

    async def run(self) -> None:
        """Read the registry from the beginning and follow it until cancelled."""
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, metadata_max_age_ms=5000, **aiokafka_kwargs(self._kafka)
        )
        self._consumer = consumer
        await consumer.start()
        try:
            parts = consumer.partitions_for_topic(PARTNERS)
            while not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(PARTNERS)
                if not parts:
                    log.warning("partner registry topic not found yet", topic=PARTNERS)
                    await asyncio.sleep(1.0)
            self._partitions = [TopicPartition(PARTNERS, p) for p in sorted(parts)]
            consumer.assign(self._partitions)
            await consumer.seek_to_beginning(*self._partitions)
            await self.catch_up()
            self.ready.set()
            log.info("partner registry loaded", partners=len(self._sectors))
            while True:
                await self._read_once(1000)
        finally:
            await consumer.stop()

    async def _read_once(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=1000)
        for records in batches.values():
            for record in records:
                self.apply(record.value, record.key)
        for tp in self._partitions:
            self._positions[tp] = await self._consumer.position(tp)
        async with self._progress:
            self._progress.notify_all()

    async def catch_up(self, timeout_s: float = 10.0) -> None:
        """Return once every registry record written before this call has been applied."""
        consumer = self._consumer
        if consumer is None or not self._partitions:
            await asyncio.wait_for(self.ready.wait(), timeout_s)
            return
        ends = await consumer.end_offsets(self._partitions)

        def caught_up() -> bool:
            return all(self._positions.get(tp, 0) >= end for tp, end in ends.items())

        if not self.ready.is_set():  # still loading: read here
            while not caught_up():
                await self._read_once(200)
            return
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(caught_up), timeout_s)
