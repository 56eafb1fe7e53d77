"""Subscribers that fail in every way, for minutes, while alerts keep coming.

A real ``confianza worker deliver --channel webhook`` process serves eight subscribers while
alerts arrive at a steady rate for a baseline phase, an outage phase of ``OUTAGE_S`` seconds
and a recovery phase. During the outage one subscriber is down (nothing listens on its port),
one answers 500 every other time, one 429 with ``Retry-After``, one 410 (the worker disables
it), one never answers (the request times out), one answers after 1.5 s; two stay healthy.
Afterwards the failing subscribers are repaired, the worker settles everything and
``confianza replay --from-dlq`` re-sends what was dead-lettered, twice.

What must hold: circuit breakers opened during the outage and are all closed at the end; every
(alert, version, subscriber) is delivered exactly once in the ledger and reaches its receiver
once (a re-send after a timeout carries the same ``webhook-id`` and is deduplicated); the
second replay sends nothing; and the healthy subscribers' latency during the outage stays
within their baseline (p99 at most 3x the baseline p99, or baseline + 1 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from kafka.admin import NewTopic

from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.webhook.signing import generate_secret
from confianza.consumers.worker import Topics
from confianza.dev.kafka import free_port
from confianza.kafka import admin, producer
from confianza.settings import KafkaSettings
from tests.consumers.factory import make_alert
from tests.eventually import eventually
from tests.reliability.chain import read_topics
from tests.reliability.results import record

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1800)]

OUTAGE_S = 120.0
BASELINE_S = 25.0
RECOVERY_S = 20.0
RATE = 2.0  # alerts per second
HEALTHY = ("healthy-a", "healthy-b")
FAILING = ("down", "flaky", "limited", "gone", "hang", "slow")
SLOW_S = 1.5
POLICY = {
    "CONFIANZA_DELIVERY_MAX_ATTEMPTS": "6",
    "CONFIANZA_DELIVERY_INITIAL_BACKOFF": "0.5",
    "CONFIANZA_DELIVERY_MAX_BACKOFF": "5",
    "CONFIANZA_DELIVERY_MAX_ELAPSED": "45",
    "CONFIANZA_DELIVERY_BREAKER_THRESHOLD": "3",
    "CONFIANZA_DELIVERY_BREAKER_RESET": "5",
    "CONFIANZA_DELIVERY_SHUTDOWN_GRACE": "5",
}


class SlowReceiver(WebhookReceiver):
    """The reference receiver, with paths that answer only after a delay."""

    def __init__(self, secret: str, slow: dict[str, float]) -> None:
        super().__init__(secret)
        self.slow = slow

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        delay = self.slow.get(request.path)
        if delay:
            await asyncio.sleep(delay)
        return await super()._handle(request)


@pytest.fixture
def topics(admin_settings: KafkaSettings) -> Iterator[Topics]:
    suffix = uuid.uuid4().hex[:8]
    names = Topics(f"rel.alerts.{suffix}", f"rel.deliveries.{suffix}", f"rel.dlq.{suffix}")
    client = admin(admin_settings)
    try:
        client.create_topics(
            [NewTopic(n, 3, 1) for n in (names.alerts, names.deliveries, names.dlq)]
        )
        yield names
        client.delete_topics([names.alerts, names.deliveries, names.dlq])
    finally:
        client.close()


def subscriptions(path: Path, urls: dict[str, str]) -> None:
    lines = ["version: 1", "subscribers:"]
    for sid, url in urls.items():
        lines += [
            f"  - id: {sid}",
            "    audience: banking",
            "    sector: banking",
            "    channel: webhook",
            f"    target: {url}",
            "    min_severity: low",
            "    tlp_clearance: amber",
            "    grouping: {group_wait: 0s, group_interval: 0s, repeat_interval: 1h}",
            "    rate_limit: {max: 1000, per: 1s}",
            "    timeout: 2s",
            "    secrets: {webhook_secret_env: REL_WHSEC}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def confianza_env(settings: KafkaSettings) -> dict[str, str]:
    """The worker and replay run as the admin: the test's private topics have no ACLs."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    assert settings.password is not None
    return base | {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": str(settings.username),
        "CONFIANZA_KAFKA__PASSWORD": settings.password.get_secret_value(),
        **POLICY,
    }


def topic_args(topics: Topics) -> list[str]:
    return ["--deliveries-topic", topics.deliveries, "--dlq-topic", topics.dlq]


def values(settings: KafkaSettings, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(v) for *_, v in read_topics(settings, [topic])[topic]]


def epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def ready(port: int) -> None:
    answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    assert answer.status_code == 200


def open_breakers(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("confianza_circuit_state") and 'state="closed"' not in line
    )


def test_failing_subscribers_dlq_and_replay_deliver_everything_exactly_once(
    admin_settings: KafkaSettings, topics: Topics, tmp_path: Path
) -> None:
    secret = generate_secret()
    down_port = free_port()
    receiver = SlowReceiver(secret, {"/slow": SLOW_S})
    revived = WebhookReceiver(secret, port=down_port)
    with receiver:
        urls = {sid: receiver.url(f"/{sid}") for sid in (*HEALTHY, *FAILING) if sid != "down"}
        urls["down"] = f"http://127.0.0.1:{down_port}/down"
        subs = tmp_path / "subscriptions.yaml"
        subscriptions(subs, urls)
        receiver.script("/flaky", [500, 200] * 5000)
        receiver.script("/limited", [(429, {"Retry-After": "1"}), 200, 200] * 3000)
        env = confianza_env(admin_settings) | {"REL_WHSEC": secret}
        metrics_port = free_port()
        log = tmp_path / "worker.log"
        with log.open("ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "confianza.cli.main", "worker", "deliver", "--channel",
                 "webhook", "--subscriptions", str(subs), "--alerts-topic", topics.alerts,
                 *topic_args(topics)],
                env=env | {"CONFIANZA_METRICS__PORT": str(metrics_port)},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        breaker_samples: list[tuple[float, float]] = []
        alerts: list[dict[str, Any]] = []
        phases: dict[str, tuple[float, float]] = {}
        try:
            out_client = producer(admin_settings)
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    with contextlib.suppress(httpx.HTTPError):
                        breaker_samples.append((time.time(), open_breakers(metrics_port)))
                    stop.wait(1.0)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()

            def send_for(seconds: float, phase: str) -> None:
                begin = time.time()
                count = int(seconds * RATE)
                for n in range(count):
                    alert = make_alert(f"sf-{len(alerts)}")
                    alerts.append(alert)
                    out_client.send(
                        topics.alerts, orjson.dumps(alert), key=alert["alert_id"].encode()
                    )
                    out_client.flush()
                    time.sleep(max(0.0, begin + (n + 1) / RATE - time.time()))
                phases[phase] = (begin, time.time())

            eventually(lambda: ready(metrics_port), timeout=60)  # the baseline is steady state
            send_for(BASELINE_S, "baseline")
            receiver.script("/gone", [410])
            receiver.script("/hang", ["hang"])
            send_for(OUTAGE_S, "outage")
            revived.start()
            receiver.script("/gone", [200])
            receiver.script("/hang", [200])
            send_for(RECOVERY_S, "recovery")
            out_client.close()
            wanted = {f"{a['alert_id']}:1:{s}" for a in alerts for s in urls}
            deadline = time.monotonic() + 600
            while True:
                ledger = [
                    orjson.loads(v)
                    for *_, v in read_topics(admin_settings, [topics.deliveries])[topics.deliveries]
                ]
                settled = {
                    r["idempotency_key"]
                    for r in ledger
                    if r["outcome"] in ("delivered", "dead-lettered")
                }
                if wanted <= settled:
                    break
                assert worker.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"{len(wanted - settled)} never settled"
                time.sleep(2.0)
            time.sleep(3.0)
            stop.set()
            watcher.join(timeout=10)
            at_end = open_breakers(metrics_port)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, 15)
                worker.wait(timeout=60)
        replays = []
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-m", "confianza.cli.main", "replay", "--from-dlq",
                 "--subscriptions", str(subs), *topic_args(topics)],
                env=env, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            replays.append(done.stdout + done.stderr)
            assert done.returncode == 0, replays[-1]
        revived.stop()

    ledger = [
        orjson.loads(v)
        for *_, v in read_topics(admin_settings, [topics.deliveries])[topics.deliveries]
    ]
    dlq = [orjson.loads(v) for *_, v in read_topics(admin_settings, [topics.dlq])[topics.dlq]]
    delivered = Counter(r["idempotency_key"] for r in ledger if r["outcome"] == "delivered")
    received = Counter(str(d.webhook_id) for d in [*receiver.deliveries, *revived.deliveries])
    by_outcome = {s: Counter(r["outcome"] for r in ledger if r["subscriber"] == s) for s in urls}
    emitted = {
        a["alert_id"]: dt.datetime.fromisoformat(a["emitted_at"]).timestamp() for a in alerts
    }
    latency: dict[str, list[float]] = {"baseline": [], "outage": []}
    for d in receiver.deliveries:
        if d.path.strip("/") in HEALTHY:
            alert_id = str(d.webhook_id).split(":")[0]
            for phase in latency:
                begin, end = phases[phase]
                if begin <= emitted[alert_id] <= end:
                    latency[phase].append(d.at - emitted[alert_id])
    p99 = {phase: percentile(values, 0.99) for phase, values in latency.items()}
    breaker_peak = max((n for _, n in breaker_samples), default=0.0)
    lost = len(wanted - set(delivered))
    twice = sum(1 for n in delivered.values() if n > 1)
    record(
        "subscriber-failures",
        "full",
        {
            "load": (
                f"{len(alerts)} alerts x {len(urls)} webhook subscribers; {OUTAGE_S:g} s outage: "
                "down, 500, 429, 410, hang, slow"
            ),
            "sent": len(wanted),
            "lost": lost,
            "duplicated": twice,
            "max_pause_s": None,
            "result": "pass" if not lost and not twice else "FAIL",
            "dead_letters": len(dlq),
            "receiver_resends_deduped": receiver.duplicates + revived.duplicates,
            "breakers_open_peak": breaker_peak,
            "breakers_open_at_end": at_end,
            "healthy_p99_s": {k: round(v, 3) for k, v in p99.items()},
            "outcomes": {s: dict(c) for s, c in by_outcome.items()},
            "replays": replays,
        },
        tmp_path,
    )
    assert lost == 0, sorted(wanted - set(delivered))[:5]
    assert twice == 0
    assert set(received) == wanted
    assert set(received.values()) == {1}
    assert dlq, "the outage dead-lettered nothing: it was not an outage"
    assert breaker_peak >= 1
    assert at_end == 0
    assert "already-delivered" in replays[1]
    assert "  delivered:" not in replays[1]
    assert by_outcome["gone"]["disabled"] > 0
    assert p99["outage"] <= max(3 * p99["baseline"], p99["baseline"] + 1.0), p99
