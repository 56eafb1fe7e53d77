"""kill -9 of a delivery worker process under load, then a restart: each key seen once."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import orjson

from confianza.consumers.ledger import read_records
from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.worker import Topics
from confianza.dev.subscriptions import webhook_subscriptions
from confianza.settings import KafkaSettings

from .conftest import produce
from .factory import make_alert
from .process import start_worker

ALERTS = 300
SUBSCRIBERS = ("soc-a", "soc-b")


async def test_kill_9_under_load_then_restart_delivers_each_key_once(
    admin_settings: KafkaSettings, topics: Topics, whsec: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with WebhookReceiver(whsec) as receiver:
        subs = tmp_path / "subscriptions.yaml"
        targets = {s: receiver.url(f"/{s}") for s in SUBSCRIBERS}
        subs.write_text(webhook_subscriptions(targets, "TEST_WHSEC"))
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
