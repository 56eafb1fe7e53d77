"""Stopping a delivery worker whose broker is gone: it exits within its stop timeout (exit 1,
nothing committed) instead of waiting for the broker forever.

aiokafka's offset commit waits for a group coordinator for as long as there is none, so the
stop's final commit never ended. The worker runs on a broker of its own, which the test kills
while deliveries flow (so there are settled offsets the stop must commit).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.worker import Topics
from confianza.dev.kafka import Cluster, running
from confianza.dev.subscriptions import webhook_subscriptions
from confianza.provision import apply_topics
from confianza.schemas import topics as topic_names

from .conftest import produce
from .factory import make_alert
from .process import start_worker

pytestmark = pytest.mark.slow

ALERTS = 6000
STOP_TIMEOUT_S = 4


@pytest.fixture
def lone_broker() -> Iterator[Cluster]:
    with running(1) as cluster:
        yield cluster


@pytest.fixture
def topics(lone_broker: Cluster) -> Topics:
    """The delivery topics on the lone broker (the killed broker takes them with it)."""
    names = Topics(topic_names.ALERTS, topic_names.DELIVERIES, topic_names.DLQ_DELIVERY)
    apply_topics(lone_broker.admin_settings())
    return names


def test_a_worker_whose_broker_is_gone_exits_within_its_stop_timeout(
    lone_broker: Cluster, topics: Topics, whsec: str, tmp_path: Path
) -> None:
    admin_settings = lone_broker.admin_settings()
    log = tmp_path / "worker.log"
    with WebhookReceiver(whsec) as receiver:
        subs = tmp_path / "subscriptions.yaml"
        subs.write_text(webhook_subscriptions({"soc-a": receiver.url("/soc-a")}, "TEST_WHSEC"))
        produce(admin_settings, topics.alerts, [make_alert(f"k-{n}") for n in range(ALERTS)])
        worker = start_worker(
            admin_settings,
            subs,
            topics,
            log,
            CONFIANZA_DELIVERY_SHUTDOWN_GRACE="1",
            CONFIANZA_DELIVERY_STOP_TIMEOUT=str(STOP_TIMEOUT_S),
        )
        try:
            assert receiver.wait_for(ALERTS // 10, timeout=90), log.read_text()[-3000:]
            lone_broker.brokers[0].kill()
            worker.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            code = worker.wait(timeout=STOP_TIMEOUT_S + 20)  # before: still waiting at 120 s
            took = time.monotonic() - stopping
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
    output = log.read_text()
    assert code == 1, output[-3000:]
    assert "the worker did not stop in time" in output
    assert "Traceback" not in output
    assert took >= STOP_TIMEOUT_S - 0.5  # the deadline ended it, not a crash
