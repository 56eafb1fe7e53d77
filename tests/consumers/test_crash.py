"""kill -9 of a delivery worker process under load, then a restart: each key seen once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson

from confianza.consumers.ledger import read_records
from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.worker import Topics
from confianza.dev.kafka import free_port
from confianza.settings import KafkaSettings

from .conftest import produce
from .factory import make_alert

ALERTS = 300
SUBSCRIBERS = ("soc-a", "soc-b")
SUBSCRIPTIONS = """\
version: 1
subscribers:
"""
ENTRY = """\
  - id: {sid}
    audience: banking
    sector: banking
    channel: webhook
    target: {url}
    min_severity: low
    tlp_clearance: amber
    grouping: {{group_wait: 0s, group_interval: 0s, repeat_interval: 1h}}
    rate_limit: {{max: 10000, per: 1s}}
    timeout: 5s
    secrets: {{webhook_secret_env: TEST_WHSEC}}
"""


def start_worker(
    settings: KafkaSettings, subs: Path, topics: Topics, log: Path
) -> subprocess.Popen[bytes]:
    """``confianza worker deliver --channel webhook`` as its own process."""
    assert settings.password is not None
    env = os.environ | {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": str(settings.username),
        "CONFIANZA_KAFKA__PASSWORD": settings.password.get_secret_value(),
        "CONFIANZA_METRICS__PORT": str(free_port()),
        "CONFIANZA_DELIVERY_INITIAL_BACKOFF": "0.05",
        "CONFIANZA_DELIVERY_MAX_BACKOFF": "0.2",
    }
    command = [
        sys.executable,
        "-c",
        "from confianza.cli.main import app; app()",
        "worker",
        "deliver",
        "--channel",
        "webhook",
        "--subscriptions",
        str(subs),
        "--alerts-topic",
        topics.alerts,
        "--deliveries-topic",
        topics.deliveries,
        "--dlq-topic",
        topics.dlq,
    ]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_kill_9_under_load_then_restart_delivers_each_key_once(
    admin_settings: KafkaSettings, topics: Topics, whsec: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with WebhookReceiver(whsec) as receiver:
        subs = tmp_path / "subscriptions.yaml"
        subs.write_text(
            SUBSCRIPTIONS
            + "".join(ENTRY.format(sid=s, url=receiver.url(f"/{s}")) for s in SUBSCRIBERS),
            encoding="utf-8",
        )
        produce(admin_settings, topics.alerts, [make_alert(f"k-{n}") for n in range(ALERTS)])
        expected = {f"k-{n}:1:{s}" for n in range(ALERTS) for s in SUBSCRIBERS}

        first = start_worker(admin_settings, subs, topics, log)
        try:
            assert receiver.wait_for(len(expected) // 4, timeout=90), log.read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        at_kill = len(receiver.ids())
        assert at_kill < len(expected), "the worker finished before it could be killed"

        second = start_worker(admin_settings, subs, topics, log)
        try:
            assert receiver.wait_for(len(expected), timeout=120), log.read_text()[-3000:]
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0, log.read_text()[-3000:]

        seen = receiver.ids()
        assert len(seen) == len(set(seen)) == len(expected)
        assert set(seen) == expected
        # only deliveries in flight at the crash (sent, outcome not yet in the ledger) were sent
        # again, with the same webhook-id, and the receiver dropped them
        assert receiver.duplicates <= at_kill

    delivered: Counter[str] = Counter()
    async for _, _, value in read_records(admin_settings, topics.deliveries):
        record = orjson.loads(value)
        if record["outcome"] == "delivered":
            delivered[record["idempotency_key"]] += 1
    assert set(delivered) == expected
    assert set(delivered.values()) == {1}
