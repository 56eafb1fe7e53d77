"""What the demo shows: alerts as they are delivered, and the closing summary.

``Watcher`` reads ``alerts.v1``, ``deliveries.v1`` and every ``receipts.*.v1`` as the ops
principal (read-only, no consumer group) in a background thread; the demo prints each delivery
as it lands and asks for a ``Summary`` at the end.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from kafka import TopicPartition

from confianza.kafka import consumer
from confianza.schemas import topics
from confianza.settings import KafkaSettings

RECEIPTS = re.compile(r"^receipts\.[a-z0-9-]+\.v1$")


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Summary:
    """Counts gathered from the topics, for the end-of-demo report."""

    receipts: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[tuple[str, str]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def latency_percentiles(self) -> tuple[float, float] | None:
        """(p50, p99) seconds from the newest evidence's reported_at to delivery."""
        if len(self.latencies) < 2:
            return None
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[49], cuts[98]


class Watcher:
    """Follows the output topics; calls ``on_delivery(record, alert)`` for each delivery."""

    def __init__(
        self,
        settings: KafkaSettings,
        on_delivery: Callable[[dict[str, Any], dict[str, Any] | None], None],
    ) -> None:
        self._settings = settings
        self._on_delivery = on_delivery
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._alerts: dict[tuple[str, int], dict[str, Any]] = {}
        self.summary = Summary()
        self._thread = threading.Thread(target=self._run, name="demo-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _assign(self, client: Any, assigned: set[str]) -> None:
        names = {t for t in client.topics() if RECEIPTS.match(t)} | {
            topics.ALERTS,
            topics.DELIVERIES,
        }
        if names <= assigned:
            return
        partitions = [
            TopicPartition(name, p)
            for name in sorted(names)
            for p in sorted(client.partitions_for_topic(name) or ())
        ]
        client.assign(partitions)
        fresh = [tp for tp in partitions if tp.topic not in assigned]
        client.seek_to_beginning(*fresh)
        assigned |= names

    def _run(self) -> None:
        client = consumer(self._settings, client_id="confianza-demo-watch")
        assigned: set[str] = set()
        polls = 0
        try:
            while not self._stop.is_set():
                if polls % 20 == 0:
                    self._assign(client, assigned)
                polls += 1
                for batch in client.poll(timeout_ms=250).values():
                    for message in batch:
                        self._take(message.topic, message.value)
        finally:
            client.close()

    def _take(self, topic: str, value: bytes | None) -> None:
        if value is None:
            return
        record = orjson.loads(value)
        with self._lock:
            if topic == topics.ALERTS:
                self._alerts[(record["alert_id"], record["version"])] = record
                self.summary.alerts[record["transition"]] += 1
            elif topic == topics.DELIVERIES:
                self._delivery(record)
            else:
                self.summary.receipts[record["status"]] += 1

    def _delivery(self, record: dict[str, Any]) -> None:
        self.summary.deliveries[(record["channel"], record["outcome"])] += 1
        alert = self._alerts.get((record["alert_id"], record["version"]))
        if record["outcome"] == "delivered" and alert and alert.get("evidence"):
            newest = max(_instant(e["reported_at"]) for e in alert["evidence"])
            self.summary.latencies.append(_instant(record["at"]) - newest)
        self._on_delivery(record, alert)
