"""Webhook delivery benchmark: deliveries per second and the delivery stage's added latency.

One delivery worker process (``confianza worker deliver --channel webhook``, as deployed) reads
``alerts.v1`` from a real local broker and delivers signed webhooks to the local verifying
receiver (``python -m confianza.consumers.webhook.receiver``, its own process, appending each
delivery with its arrival time to a JSON-lines file). Two phases:

1. throughput: a backlog of alerts is produced first, then the worker starts; deliveries/s is
   measured between the first and the last arrival at the receiver;
2. latency: once the backlog is settled (its offsets committed), alerts are produced at a
   steady rate below capacity; the added latency of the
   delivery stage is receiver arrival minus the alert's ``emitted_at`` (stamped just before it
   is produced), recorded in an HDR histogram (p50, p99).

Targets: >= 5,000 deliveries/s and p99 <= 50 ms (``bench.lib.targets``). Results go to
bench/results/delivery[-smoke]-<run id>.json (``bench.lib.results``). Usage::

    .venv/bin/python -m bench.bench_delivery [--smoke]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from kafka.admin import NewTopic

from bench.lib.latency import Latency
from bench.lib.results import Run
from bench.lib.targets import TARGET_DELIVERIES_PER_S, TARGET_DELIVERY_P99_MS
from confianza.consumers.webhook.signing import generate_secret
from confianza.consumers.worker import Topics, group_id
from confianza.demo.processes import confianza
from confianza.dev.kafka import Cluster, free_port
from confianza.dev.subscriptions import webhook_subscriptions
from confianza.kafka import admin, producer
from confianza.settings import KafkaSettings


def stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def alert(n: int, run: str) -> dict[str, object]:
    uid = str(uuid.uuid4())
    now = stamp()
    url = f"https://bcp-seguro-{run}-{n}.example/login"
    return {
        "alert_id": f"{run}-{n}",
        "version": 1,
        "transition": "opened",
        "severity": "high",
        "score": 70.0,
        "reasons": [{"rule": "corroboration", "points": 20, "detail": "2 socios"}],
        "classification": {"class": "fraud", "type": "phishing"},
        "sectors": ["banking"],
        "reporters": ["bcp"],
        "indicators": [{"kind": "url", "value": url, "key": url, "event_uids": [uid]}],
        "evidence": [
            {
                "event_uid": uid,
                "reporter": "bcp",
                "sector": "banking",
                "tlp": "clear",
                "reported_at": now,
            }
        ],
        "title": "Campaña de phishing",
        "first_seen": now,
        "last_seen": now,
        "emitted_at": now,
    }


def start_receiver(port: int, out: Path, log: Path) -> subprocess.Popen[bytes]:
    """The verifying receiver as its own process, appending each delivery to ``out``."""
    command = [
        sys.executable,
        "-m",
        "confianza.consumers.webhook.receiver",
        "--port",
        str(port),
        "--secret-env",
        "BENCH_WHSEC",
        "--out",
        str(out),
    ]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the receiver did not start; see {log}")


def start_worker(
    settings: KafkaSettings, subs: Path, alerts_topic: str, run: str, log: Path
) -> subprocess.Popen[bytes]:
    env = (
        os.environ
        | settings.as_env()
        | {
            "CONFIANZA_METRICS__PORT": str(free_port()),
            "CONFIANZA_LOG__LEVEL": "WARNING",
            "CONFIANZA_DELIVERY_MAX_IN_FLIGHT": "128",
        }
    )
    topics = Topics(alerts_topic, f"bench.deliveries.{run}.v1", f"bench.dlq.{run}.v1")
    args = ("worker", "deliver", "--channel", "webhook", "--subscriptions", str(subs))
    command = confianza(*args, *topics.options())
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until_committed(settings: KafkaSettings, topic: str, count: int) -> None:
    """Block until the delivery group committed ``count`` records of ``topic``."""
    client = admin(settings)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            offsets = client.list_group_offsets([group_id("webhook")]).get(group_id("webhook"), {})
            if sum(m.offset for tp, m in offsets.items() if tp.topic == topic) >= count:
                return
            time.sleep(0.5)
        raise SystemExit("the backlog was not committed within 300 s")
    finally:
        client.close()


class Arrivals:
    """What the receiver process wrote to its JSON-lines file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self.rows: list[tuple[float, float]] = []  # (emitted_at, received_at), Unix seconds
        self.ids: set[str] = set()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.rows) < count and time.monotonic() < deadline:
            time.sleep(0.2)
            if not self._path.exists():
                continue
            with self._path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.splitlines():
                row = orjson.loads(line)
                emitted = dt.datetime.fromisoformat(row["body"]["data"]["emitted_at"])
                self.rows.append((emitted.timestamp(), row["received_at"]))
                self.ids.add(row["webhook_id"])
        return len(self.rows) >= count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run")
    args = parser.parse_args()
    backlog, rate, seconds = (1000, 200, 3) if args.smoke else (20000, 500, 20)
    report = Run(
        "delivery",
        smoke=args.smoke,
        settings={"backlog": backlog, "rate_per_s": rate, "seconds": seconds, "max_in_flight": 128},
        targets={"deliveries_per_s": TARGET_DELIVERIES_PER_S, "p99_ms": TARGET_DELIVERY_P99_MS},
    )
    run = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    os.environ["BENCH_WHSEC"] = generate_secret()
    cluster = Cluster(size=1)
    cluster.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        settings = cluster.admin_settings()
        topics = [f"bench.alerts.{run}.v1", f"bench.deliveries.{run}.v1", f"bench.dlq.{run}.v1"]
        client = admin(settings)
        client.create_topics([NewTopic(t, 6, 1) for t in topics])
        client.close()
        port = free_port()
        processes.append(start_receiver(port, work / "received.jsonl", work / "receiver.log"))
        arrivals = Arrivals(work / "received.jsonl")
        subs = work / "subscriptions.yaml"
        url = f"http://127.0.0.1:{port}/bench"
        subs.write_text(webhook_subscriptions({"bench": url}, "BENCH_WHSEC", per_second=100_000))
        out = producer(settings)
        for n in range(backlog):
            out.send(topics[0], orjson.dumps(alert(n, run)), key=f"{run}-{n}".encode())
        out.flush()
        processes.append(start_worker(settings, subs, topics[0], run, work / "worker.log"))
        if not arrivals.wait_for(backlog, timeout=300):
            raise SystemExit(f"only {len(arrivals.rows)}/{backlog} delivered; see {work}")
        received = sorted(at for _, at in arrivals.rows)
        throughput = (backlog - 1) / (received[-1] - received[0])
        wait_until_committed(settings, topics[0], backlog)  # the backlog fully settled

        total = int(rate * seconds)
        start = time.monotonic()
        for n in range(total):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key = f"{run}-{backlog + n}"
            out.send(topics[0], orjson.dumps(alert(backlog + n, run)), key=key.encode())
        out.flush()
        out.close()
        if not arrivals.wait_for(backlog + total, timeout=300):
            raise SystemExit(f"latency phase incomplete; see {work}")
        latency = Latency()
        for emitted, at in arrivals.rows[backlog:]:
            latency.record(at - emitted)
        distinct = len(arrivals.ids)
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        cluster.stop()
    report.figures = {
        "throughput": {"alerts": backlog, "deliveries_per_s": round(throughput, 1)},
        "latency": {"rate_per_s": rate, "alerts": total, **latency.report()},
        "distinct_deliveries": distinct,
    }
    path = report.write()
    print(orjson.dumps(report.figures["throughput"]).decode())
    print(orjson.dumps(latency.summary()).decode())
    print(f"written to {path}")


if __name__ == "__main__":
    main()
