"""A stand-in worker for the real-Prometheus test: serves the metric catalog with live samples.

Run as ``python sample_worker.py <port> [--idle]``. It serves /metrics like a Confianza worker
and, unless ``--idle``, keeps updating every metric of the catalog with plausible label values
(several partners, stages, channels, outcomes, topics) until SIGTERM, as a pipeline under
simulator traffic would. ``--idle`` serves the catalog without touching it.
"""

from __future__ import annotations

import random
import signal
import sys
import threading

from confianza import metrics
from confianza.observability.server import start_metrics_server
from confianza.settings import MetricsSettings

PARTNERS = ("bcp", "claro", "pnp-divindat")
REASONS = ("schema", "not-json", "oversize")
STAGES = ("ingest", "dedupe", "score")  # the stages the streams worker times
CHANNELS = ("webhook", "email", "chat", "syslog")
OUTCOMES = ("delivered", "retryable", "permanent", "dead-lettered", "filtered")


def tick(rng: random.Random) -> None:
    """One round of traffic across the whole catalog."""
    for partner in PARTNERS:
        metrics.EVENTS_RECEIVED.labels(partner=partner).inc(10)
        metrics.EVENTS_ACCEPTED.labels(partner=partner).inc(7)
        metrics.EVENTS_DUPLICATE.labels(partner=partner).inc(1)
        metrics.EVENTS_REJECTED.labels(partner=partner, reason=rng.choice(REASONS)).inc(2)
        metrics.INDICATORS_INVALID.labels(partner=partner, kind="phone").inc()
    for stage in STAGES:
        metrics.STAGE_SECONDS.labels(stage=stage).observe(rng.uniform(0.0002, 0.02))
    metrics.TRACKED_INDICATORS.set(rng.randint(1000, 2000))
    metrics.OPEN_CAMPAIGNS.set(rng.randint(10, 50))
    metrics.GC_FULL_PAUSE_SECONDS.observe(rng.uniform(0.005, 0.1))
    for kind in ("memtables", "block_cache", "table_readers"):
        metrics.ROCKSDB_MEMORY.labels(kind=kind).set(rng.randint(2**20, 2**25))
    metrics.STATE_EVICTIONS.labels(kind="indicator").inc()
    metrics.ALERTS_EMITTED.labels(
        severity=rng.choice(("high", "critical")), transition="opened"
    ).inc()
    metrics.E2E_ALERT_SECONDS.observe(rng.uniform(0.05, 2.0))
    for channel in CHANNELS:
        for outcome in OUTCOMES:
            metrics.DELIVERIES.labels(channel=channel, outcome=outcome).inc()
        metrics.DELIVERY_RETRIES.labels(channel=channel).inc()
        metrics.SUBSCRIBERS_DISABLED.labels(channel=channel).inc()
        metrics.DELIVERY_SECONDS.labels(channel=channel).observe(rng.uniform(0.001, 0.2))
        metrics.E2E_DELIVERED_SECONDS.labels(channel=channel).observe(rng.uniform(0.1, 20.0))
        for state in ("closed", "open", "half_open"):
            metrics.CIRCUIT_STATE.labels(channel=channel, state=state).set(rng.randint(0, 3))
    for topic in ("dlq.ingest.v1", "dlq.delivery.v1"):
        metrics.DLQ_RECORDS.labels(topic=topic).inc()
    for partner in PARTNERS:
        metrics.CONSUMER_LAG.labels(
            group="confianza-streams-ingest", topic=f"ingest.{partner}.v1"
        ).set(rng.randint(0, 100))
    metrics.CONSUMER_LAG.labels(group="confianza-deliver-webhook", topic="alerts.v1").set(5)


def main() -> None:
    port = int(sys.argv[1])
    idle = "--idle" in sys.argv[2:]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rng = random.Random(7)
    with start_metrics_server(MetricsSettings(port=port)):
        while not stop.wait(0.1):
            if not idle:
                tick(rng)


if __name__ == "__main__":
    main()
