"""The open-loop load generator: every record is sent when its schedule says, whatever happens.

It runs in its own process (``OpenLoop.start``), so its CPU is not taken from the collector.
Record ``i`` is due at ``start + offset_i``; the generator sleeps only when it is ahead of the
schedule and never waits for an answer before sending the next record, so a slow pipeline
cannot slow the offered load down (no coordinated omission). Latencies are measured by the
collector from the *due* time, not from the moment the record actually left; how late the
generator itself was (``send_lag``) is reported so a run where the generator could not keep up
is visible. The child connects its producer and fetches the topics' metadata first; the clock
starts only then (``start`` returns the start time used), so process start-up and the first
connection are not counted as latency. The producer is the streams producer
(``new_producer``), the same client settings the pipeline and the pass-through relay use.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.lib.latency import Latency
from confianza.settings import KafkaSettings
from confianza.streams.source import new_producer

YIELD_EVERY = 256
READY_LEAD_S = 0.05


async def _send_all(
    kafka: KafkaSettings, items: list[tuple[float, str, bytes, bytes]], parent: Connection
) -> dict[str, Any]:
    producer = new_producer(kafka)
    await producer.start()
    for topic in {topic for _, topic, _, _ in items}:
        await producer.partitions_for(topic)  # metadata now, not on the first send
    parent.send("ready")
    start = await asyncio.to_thread(parent.recv)
    lag = Latency()
    pending = []
    try:
        began = time.time()
        for n, (offset, topic, key, value) in enumerate(items):
            due = start + offset
            ahead = due - time.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
            elif n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            lag.record(time.time() - due)
            pending.append(await producer.send(topic, value, key=key))
        sent_by = time.time()
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        acked_by = time.time()
    finally:
        await producer.stop()
    errors = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    return {
        "records": len(items),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "began_at": began,
        "sent_by": sent_by,
        "acked_by": acked_by,
        "send_rate": round(len(items) / max(1e-9, sent_by - max(began, start)), 1),
        "send_lag_ms": lag.summary(),
    }


def _child(
    kafka: KafkaSettings, items: list[tuple[float, str, bytes, bytes]], parent: Connection
) -> None:
    parent.send(asyncio.run(_send_all(kafka, items, parent)))
    parent.close()


class OpenLoop:
    """One schedule sent by a child process: ``start()``, then ``result()`` when it is done."""

    def __init__(self, kafka: KafkaSettings, items: list[tuple[float, str, bytes, bytes]]) -> None:
        self.kafka = kafka
        self.items = items
        self._process: multiprocessing.process.BaseProcess | None = None
        self._answer: Connection | None = None

    def start(self, start: float, timeout: float = 120.0) -> float:
        """Begin sending once the child's producer is connected; record ``i`` is due at
        ``start + offset_i`` (Unix time), or later if the child was not ready by ``start``.
        Returns the start actually used: the schedule's due times count from it."""
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        self._answer = mine
        self._process = context.Process(
            target=_child, args=(self.kafka, self.items, theirs), daemon=True
        )
        self._process.start()
        theirs.close()
        if not mine.poll(timeout):
            self.stop()
            raise TimeoutError(f"the load generator was not ready within {timeout:.0f}s")
        mine.recv()
        start = max(start, time.time() + READY_LEAD_S)
        mine.send(start)
        return start

    def result(self, timeout: float) -> dict[str, Any]:
        """Wait for the generator to finish (every record acknowledged) and return its report."""
        assert self._process is not None
        assert self._answer is not None
        if not self._answer.poll(timeout):
            self._process.kill()
            raise TimeoutError(f"the load generator did not finish within {timeout:.0f}s")
        report = self._answer.recv()
        self._process.join(10)
        return report

    def stop(self) -> None:
        """Kill the generator if it is still running."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(10)
