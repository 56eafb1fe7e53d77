"""``confianza eval`` reads the ground truth the simulator writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from confianza.dev.kafka import free_port
from confianza.kafka import producer
from confianza.producers.simulate import SimulationConfig, generate
from confianza.schemas.topics import ALERTS
from confianza.settings import KafkaSettings
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


def test_foreign_records_on_the_alerts_topic_are_skipped(
    admin_settings: KafkaSettings, tmp_path: Path
) -> None:
    client = producer(admin_settings)
    try:
        for raw in (b'{"alert_id": "not-really"}', b"[1, 2]", b"not json"):
            client.send(ALERTS, raw).get(timeout=30)
    finally:
        client.close()
    truth = tmp_path / "truth.json"
    truth.write_text('{"campaigns": [], "partners": [{"partner": "nobody-here"}]}')
    assert admin_settings.password is not None
    env = {
        **os.environ,
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": admin_settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": str(admin_settings.username),
        "CONFIANZA_KAFKA__PASSWORD": admin_settings.password.get_secret_value(),
    }
    cli = [sys.executable, "-m", "confianza.cli.main"]
    for args in (
        ["eval", "--truth", str(truth), "--json"],
        ["alerts", "tail", "--json", "--from-beginning", "--idle-exit", "2"],
    ):
        done = subprocess.run(
            [*cli, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "not an alert skipped" in done.stderr
        assert "not-really" not in done.stdout
