"""Webhook delivery benchmark: deliveries per second and the delivery stage's added latency.

One delivery worker process (``confianza worker deliver --channel webhook``, as deployed) reads
``alerts.v1`` from a real local broker and delivers signed webhooks to a local verifying
receiver (``WebhookReceiver``) in this process. Two phases:

1. throughput: a backlog of alerts is produced first, then the worker starts; deliveries/s is
   measured between the first and the last arrival at the receiver;
2. latency: alerts are produced at a steady rate below capacity; the added latency of the
   delivery stage is receiver arrival minus the alert's ``emitted_at`` (stamped just before it
   is produced), recorded in an HDR histogram (p50, p99).

Targets: >= 2,000 deliveries/s and p99 <= 50 ms. Results go to bench/results/delivery.json
(``--smoke``: a seconds-long run, delivery-smoke.json). Usage::

    .venv/bin/python bench/bench_delivery.py [--smoke]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from hdrh.histogram import HdrHistogram
from kafka.admin import NewTopic

from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.webhook.signing import generate_secret
from confianza.dev.kafka import Cluster, free_port
from confianza.kafka import admin, producer
from confianza.settings import KafkaSettings

RESULTS = Path(__file__).resolve().parent / "results"
SUBSCRIPTION = """\
version: 1
subscribers:
  - id: bench
    audience: banking
    sector: banking
    channel: webhook
    target: {url}
    min_severity: low
    tlp_clearance: amber
    grouping: {{group_wait: 0s, group_interval: 0s, repeat_interval: 1h}}
    rate_limit: {{max: 100000, per: 1s}}
    secrets: {{webhook_secret_env: BENCH_WHSEC}}
"""


def stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def alert(n: int, run: str) -> dict[str, object]:
    uid = str(uuid.uuid4())
    now = stamp()
    url = f"https://bcp-seguro-{run}-{n}.example/login"
    return {
        "alert_id": f"{run}-{n}", "version": 1, "transition": "opened", "severity": "high",
        "score": 70.0, "reasons": [{"rule": "corroboration", "points": 20, "detail": "2 socios"}],
        "classification": {"class": "fraud", "type": "phishing"}, "sectors": ["banking"],
        "reporters": ["bcp"],
        "indicators": [{"kind": "url", "value": url, "key": url, "event_uids": [uid]}],
        "evidence": [{"event_uid": uid, "reporter": "bcp", "sector": "banking", "tlp": "clear",
                      "reported_at": now}],
        "title": "Campaña de phishing", "first_seen": now, "last_seen": now, "emitted_at": now,
    }


def start_worker(settings: KafkaSettings, subs: Path, alerts_topic: str, run: str,
                 log: Path) -> subprocess.Popen[bytes]:
    assert settings.password is not None
    env = os.environ | {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": str(settings.username),
        "CONFIANZA_KAFKA__PASSWORD": settings.password.get_secret_value(),
        "CONFIANZA_METRICS__PORT": str(free_port()),
        "CONFIANZA_LOG__LEVEL": "WARNING",
        "CONFIANZA_DELIVERY_MAX_IN_FLIGHT": "128",
    }
    command = [
        sys.executable, "-c", "from confianza.cli.main import app; app()",
        "worker", "deliver", "--channel", "webhook", "--subscriptions", str(subs),
        "--alerts-topic", alerts_topic, "--deliveries-topic", f"bench.deliveries.{run}.v1",
        "--dlq-topic", f"bench.dlq.{run}.v1",
    ]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run")
    args = parser.parse_args()
    backlog, rate, seconds = (1000, 200, 3) if args.smoke else (20000, 500, 20)
    run = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    secret = generate_secret()
    os.environ["BENCH_WHSEC"] = secret
    cluster = Cluster(size=1)
    cluster.start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        settings = cluster.admin_settings()
        topics = [f"bench.alerts.{run}.v1", f"bench.deliveries.{run}.v1", f"bench.dlq.{run}.v1"]
        client = admin(settings)
        client.create_topics([NewTopic(t, 6, 1) for t in topics])
        client.close()
        with WebhookReceiver(secret) as receiver:
            subs = work / "subscriptions.yaml"
            subs.write_text(SUBSCRIPTION.format(url=receiver.url("/bench")), encoding="utf-8")
            out = producer(settings)
            for n in range(backlog):
                out.send(topics[0], orjson.dumps(alert(n, run)), key=f"{run}-{n}".encode())
            out.flush()
            worker = start_worker(settings, subs, topics[0], run, work / "worker.log")
            if not receiver.wait_for(backlog, timeout=300):
                raise SystemExit(f"only {len(receiver.ids())}/{backlog} delivered; see {work}")
            arrivals = sorted(d.at for d in receiver.deliveries)
            throughput = (backlog - 1) / (arrivals[-1] - arrivals[0])

            histogram = HdrHistogram(1, 60_000_000, 3)  # microseconds
            total = int(rate * seconds)
            start = time.monotonic()
            for n in range(total):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                out.send(topics[0], orjson.dumps(alert(backlog + n, run)),
                         key=f"{run}-{backlog + n}".encode())
            out.flush()
            out.close()
            if not receiver.wait_for(backlog + total, timeout=300):
                raise SystemExit(f"latency phase incomplete; see {work}")
            for d in receiver.deliveries[backlog:]:
                emitted = dt.datetime.fromisoformat(d.body["data"]["emitted_at"]).timestamp()
                histogram.record_value(max(1, int((d.at - emitted) * 1_000_000)))
            duplicates, rejected = receiver.duplicates, receiver.rejected
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        cluster.stop()
    result = {
        "benchmark": "delivery",
        "smoke": args.smoke,
        "at": stamp(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "throughput": {"alerts": backlog, "deliveries_per_s": round(throughput, 1)},
        "latency": {
            "rate_per_s": rate, "alerts": total,
            "p50_ms": histogram.get_value_at_percentile(50) / 1000,
            "p99_ms": histogram.get_value_at_percentile(99) / 1000,
            "max_ms": histogram.get_max_value() / 1000,
        },
        "receiver": {"duplicates": duplicates, "rejected_signatures": rejected},
        "targets": {"deliveries_per_s": 2000, "p99_ms": 50},
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("delivery-smoke.json" if args.smoke else "delivery.json")
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
