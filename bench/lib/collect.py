"""The collector: reads output topics in a background thread and hands every record over.

``Collector(kafka, topics, handle)`` assigns every partition of ``topics`` from their current
end (only records written after it started count), and calls ``handle(topic, key, value,
arrived)`` for each record, ``arrived`` being the Unix time the batch reached this process --
when a partner, a bank or an analyst would have it. Handlers run in the collector's thread and
must be quick; they keep their own tallies.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from confianza.kafka import aiokafka_kwargs
from confianza.kafka import consumer as sync_consumer
from confianza.settings import KafkaSettings

Handler = Callable[[str, bytes | None, bytes | None, float], None]


class Collector:
    """Background reader of output topics (see the module docstring)."""

    def __init__(self, kafka: KafkaSettings, topics: Iterable[str], handle: Handler) -> None:
        self.kafka = kafka
        self.topics = list(topics)
        self.handle = handle
        self.records = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="collector", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> Collector:
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("the collector did not connect within 60s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._consume())
        except BaseException as exc:  # reported to the caller of __enter__
            self._error = exc
            self._ready.set()

    def _partitions(self) -> list[TopicPartition]:
        reader = sync_consumer(self.kafka)
        try:
            found = []
            for topic in self.topics:
                deadline = time.monotonic() + 30
                parts = reader.partitions_for_topic(topic)
                while not parts and time.monotonic() < deadline:
                    time.sleep(0.2)
                    parts = reader.partitions_for_topic(topic)
                if not parts:
                    raise LookupError(f"topic {topic} does not exist")
                found += [TopicPartition(topic, p) for p in sorted(parts)]
            return found
        finally:
            reader.close()

    async def _consume(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, fetch_max_wait_ms=100, **aiokafka_kwargs(self.kafka)
        )
        await consumer.start()
        try:
            partitions = await asyncio.to_thread(self._partitions)
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)
            self._ready.set()
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=5000)
                arrived = time.time()
                for tp, messages in batches.items():
                    for m in messages:
                        self.handle(tp.topic, m.key, m.value, arrived)
                    self.records += len(messages)
        finally:
            await consumer.stop()
