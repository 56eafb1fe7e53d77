"""``confianza eval`` reads the ground truth the simulator writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from confianza.dev.kafka import free_port
from confianza.producers.simulate import SimulationConfig, generate
from confianza.streams.evaluate import evaluate
from confianza.streams.ingest import event_uid


def test_the_simulators_ground_truth_is_read() -> None:
    truth = generate(SimulationConfig(rate=5, duration=20, campaigns=2, seed=3)).truth.as_dict()
    first = truth["campaigns"][0]
    evidence = [
        {"event_uid": event_uid(ref["partner"], ref["event_id"])} for ref in first["events"]
    ]
    alert = {
        "alert_id": "a-1",
        "version": 1,
        "transition": "opened",
        "reasons": [],
        "evidence": evidence,
        "emitted_at": first["first_event_at"],
    }
    result = evaluate([alert], truth)
    assert [c.detected for c in result.per_campaign] == [True, False]
    assert result.precision == 1.0


def test_eval_against_an_unreachable_broker_exits_2_with_the_address(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    truth.write_text('{"campaigns": []}')
    port = free_port()  # nothing listens here
    done = subprocess.run(
        [sys.executable, "-m", "confianza.cli.main", "eval", "--truth", str(truth)],
        env={**os.environ, "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert f"error: cannot read alerts at 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
