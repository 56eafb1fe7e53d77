"""The whole chain as separate processes, as `make demo` runs it: partners → streams → delivery
→ real receivers, scraped by a real Prometheus. One pipeline run serves every test here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from confianza.demo.pipeline import LocalPipeline
from confianza.observability.panels import report, wait_for_panel_data

SIM_SECONDS = 30
RATE = 15
CAMPAIGNS = 4


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    workdir = tmp_path_factory.mktemp("chain")
    chain = LocalPipeline(workdir, with_prometheus=True)
    chain.start()
    try:
        chain.simulate(RATE, SIM_SECONDS, CAMPAIGNS, 11, workdir / "truth.json")
        yield chain
    finally:
        chain.stop()


def wait_until_delivered(chain: LocalPipeline, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crashed = [c for c in chain.supervisor.dead() if c.name != "simulator"]
        assert not crashed, "\n".join(f"{c.name}: {c.log_tail()}" for c in crashed)
        if (
            read_lines(chain.webhook_log)
            and read_lines(chain.mail_log)
            and read_lines(chain.center_file)
        ):
            return
        time.sleep(1)
    raise AssertionError("no delivery reached every receiver in time")


def test_alerts_reach_every_receiver_signed_and_gated(pipeline: LocalPipeline) -> None:
    wait_until_delivered(pipeline)
    webhooks = read_lines(pipeline.webhook_log)
    assert all(w["body"]["type"].startswith("alert") for w in webhooks)
    assert {w["path"] for w in webhooks} <= {"/bcp", "/interbank", "/telecom"}
    # every webhook the receiver recorded passed signature verification with the demo secret
    assert "rejected" not in (pipeline.workdir / "logs" / "webhook-receiver.log").read_text()
    mails = read_lines(pipeline.mail_log)
    assert mails
    center = read_lines(pipeline.center_file)
    assert center


def test_every_dashboard_panel_has_data(pipeline: LocalPipeline) -> None:
    wait_until_delivered(pipeline)
    assert pipeline.prometheus is not None
    pipeline.prometheus.wait_for_targets_up(timeout=60)
    missing = wait_for_panel_data(pipeline.prometheus, timeout=90, window="2m")
    assert not missing, "panels without data:\n" + report(missing)
