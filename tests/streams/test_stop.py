"""Stopping a streams worker: cleanly (exit 0) while its broker is up; within its stop timeout
(exit 1, nothing committed) when the broker is gone.

Faust's own stop waited a minute on the unreachable broker; a supervisor would have killed the
worker first. The workers run on a broker of their own, which the test kills.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from confianza.dev.kafka import Cluster, running
from confianza.provision import apply_topics
from tests.eventually import eventually
from tests.streams.conftest import Broker
from tests.streams.helpers import event

pytestmark = pytest.mark.slow


@pytest.fixture
def lone_broker() -> Iterator[Cluster]:
    with running(1) as cluster:
        apply_topics(cluster.admin_settings())
        yield cluster


def test_a_worker_stops_cleanly_and_within_its_stop_timeout_when_the_broker_is_gone(
    lone_broker: Cluster, tmp_path: Path
) -> None:
    broker = Broker(lone_broker.admin_settings(), tmp_path)
    try:
        broker.add_partners([("stop-bank", "banking")])
        first = broker.worker("confianza-streams-stop", CONFIANZA_STREAMS_STOP_TIMEOUT="3")
        sent = broker.send([("stop-bank", event("9f1c2b54-1a0e-4c53-9c1e-5b2f0d3c7a11"))])
        broker.wait_receipts(["stop-bank"], sent)
        assert first.stop() == 0
        assert "did not stop in time" not in first.log.read_text()

        second = broker.worker("confianza-streams-stop", CONFIANZA_STREAMS_STOP_TIMEOUT="3")
        sent += broker.send([("stop-bank", event("4d7e9a20-6b3f-4e8a-a2c5-0f1b8d9e3c22"))])
        broker.wait_receipts(["stop-bank"], sent)
        # The campaign stage reads alerts.v1 on its first batch; with the broker already gone
        # that read fails and the worker exits as a failed stage instead (also exit 1).
        eventually(lambda: _assert_logged(second.log, "alert state reconciled"), timeout=30)
        lone_broker.brokers[0].kill()
        assert second.stop() == 1  # Faust alone: about 60 s, so SIGKILL at 30 s
        assert "did not stop in time" in second.log.read_text()
    finally:
        broker.close()


def _assert_logged(log: Path, text: str) -> None:
    assert text in log.read_text()
