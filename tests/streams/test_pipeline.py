"""The streams worker against the real broker: detection quality, receipts, dead letters,
scale-out and crash recovery. Each test uses its own partner roster and app id."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from confianza.producers.simulate import SimulationConfig, generate
from confianza.schemas.validate import MAX_EVENT_BYTES, validate_document
from confianza.streams.evaluate import evaluate, latest_versions
from confianza.streams.ingest import event_uid
from tests.streams.conftest import Broker
from tests.streams.helpers import event
from tests.streams.traffic import campaign_traffic, roster

pytestmark = pytest.mark.slow


def _coords(receipt: dict[str, Any]) -> tuple[str, int, int]:
    return receipt["topic"], receipt["partition"], receipt["offset"]


def _one_receipt_per_record(receipts: list[dict[str, Any]], expected: int) -> None:
    by_record: dict[tuple[str, int, int], set[bytes]] = {}
    for r in receipts:
        by_record.setdefault(_coords(r), set()).add(orjson.dumps(r))
    assert len(by_record) == expected
    assert all(len(distinct) == 1 for distinct in by_record.values()), "receipts disagree"


def _final_alerts(alerts: list[dict[str, Any]]) -> set[tuple[frozenset[str], str]]:
    out = set()
    for entry in latest_versions(alerts).values():
        latest = entry["latest"]
        if latest["transition"] != "resolved":
            out.add((frozenset(e["event_uid"] for e in latest["evidence"]), latest["severity"]))
    return out


def test_campaign_traffic_is_detected_with_one_receipt_per_record(broker: Broker) -> None:
    prefix = "sa"
    partners = roster(prefix)
    broker.add_partners(partners)
    names = [p for p, _ in partners]
    worker = broker.worker("confianza-streams-ta")
    sent, truth = campaign_traffic(prefix)
    resend = [sent[0]]  # the same event again: a duplicate
    spoofed = event(f"{prefix}-spoof", reporter=f"{prefix}-interbank")
    hostile: list[tuple[str, Any]] = [
        (names[0], b'{"event_id": "broken"'),
        (names[0], b"x" * (MAX_EVENT_BYTES + 10)),
        (names[3], b"\xff\xfe not utf-8 \xc3\x28"),
        (names[0], spoofed),
    ]
    count = broker.send(sent[: len(sent) // 2] + hostile)
    # A partner onboarded while the worker runs is picked up without a restart.
    late = f"{prefix}-entel"
    broker.add_partners([(late, "telecom")])
    campaign0 = truth["campaigns"][0]
    late_event = event(f"{prefix}-late", [("domain", f"yape-premios-{prefix}0.com", "phishing")])
    campaign0["event_ids"].append([late, late_event["event_id"]])
    count += broker.send([*sent[len(sent) // 2 :], *resend, (late, late_event)])

    receipts = broker.wait_receipts([*names, late], count)
    _one_receipt_per_record(receipts, count)
    status = Counter(r["status"] for r in receipts)
    assert status == {"accepted": len(sent) + 1, "duplicate": 1, "rejected": len(hostile)}
    assert all(validate_document("receipt", r) == () for r in receipts)
    rejected = [r for r in receipts if r["status"] == "rejected"]
    spoof_receipt = next(r for r in rejected if r["event_id"] == f"{prefix}-spoof")
    assert spoof_receipt["partner"] == names[0]  # answered to the real writer
    assert spoof_receipt["topic"] == f"ingest.{names[0]}.v1"

    letters = broker.dead_letters([*names, late])
    assert sorted(d["reason"] for d in letters) == ["not-json", "not-utf8", "oversize", "schema"]
    assert (
        base64.b64decode(next(d for d in letters if d["reason"] == "not-utf8")["raw_b64"])
        == hostile[2][1]
    )

    # The late partner's event joins campaign 0's alert; a receipt comes before the alert
    # stages have run, so wait for it (bounded) before waiting for the alerts to settle.
    late_uid = next(r["event_uid"] for r in receipts if r["event_id"] == f"{prefix}-late")
    deadline = time.monotonic() + 120
    while not any(
        late_uid in {e["event_uid"] for e in a["evidence"]} for a in broker.alerts(prefix)
    ):
        assert time.monotonic() < deadline, "the late partner's event never reached an alert"
        broker.check_workers()
        time.sleep(1.0)
    alerts = broker.wait_alerts_quiet(prefix)
    assert all(validate_document("alert", a) == () for a in alerts)
    result = evaluate(alerts, truth)
    assert result.precision >= 0.95, result
    assert result.recall >= 0.95, result
    assert worker.alive()


def test_kill9_mid_stream_loses_no_receipt_and_duplicates_no_alert(broker: Broker) -> None:
    prefix = "sk"
    partners = roster(prefix)
    broker.add_partners(partners)
    names = [p for p, _ in partners]
    sent, truth = campaign_traffic(prefix, campaigns=10, noise=20, seed=11)
    worker = broker.worker("confianza-streams-tk")
    half = len(sent) // 2
    broker.send(sent[:half])
    deadline = time.monotonic() + 60
    while not broker.alerts(prefix) and time.monotonic() < deadline:
        time.sleep(0.5)
    broker.send(sent[half:])
    worker.kill()
    broker.worker("confianza-streams-tk")

    receipts = broker.wait_receipts(names, len(sent))
    _one_receipt_per_record(receipts, len(sent))
    alerts = broker.wait_alerts_quiet(prefix)
    versions = Counter((a["alert_id"], a["version"]) for a in alerts)
    assert [k for k, n in versions.items() if n > 1] == []
    for alert_id in {a["alert_id"] for a in alerts}:
        numbers = sorted(a["version"] for a in alerts if a["alert_id"] == alert_id)
        assert numbers == list(range(1, len(numbers) + 1))
    result = evaluate(alerts, truth)
    assert result.recall >= 0.95, result
    assert result.precision >= 0.95, result


def _run(broker: Broker, prefix: str, app_id: str, workers: int) -> set[Any]:
    """Final alerts of one run over the standard traffic, with uids mapped back to roster-
    independent (partner, event) names so two runs over two rosters can be compared."""
    partners = roster(prefix)
    broker.add_partners(partners)
    broker.skip_earlier_records(app_id)
    running = [broker.worker(app_id, tick=3600.0) for _ in range(workers)]  # no ticks
    sent, _ = campaign_traffic(prefix, campaigns=12, noise=20, seed=23)
    names = {
        event_uid(p, e["event_id"]): (p.removeprefix(prefix), e["event_id"].removeprefix(prefix))
        for p, e in sent
    }
    broker.send(sent)
    broker.wait_receipts([p for p, _ in partners], len(sent))
    broker.wait_drained(app_id)  # every stage has committed its input: all alerts are out
    final = _final_alerts(broker.alerts(prefix))
    assert all(w.alive() for w in running)
    for w in running:
        w.stop()
    return {(frozenset(names[u] for u in uids), severity) for uids, severity in final}


def test_two_workers_produce_the_same_alerts_as_one(broker: Broker) -> None:
    one = _run(broker, "so", "confianza-streams-tw1", workers=1)
    two = _run(broker, "st", "confianza-streams-tw2", workers=2)
    assert len(one) == 12
    assert one == two, (len(one), len(two), sorted(map(str, two - one)))


def test_simulator_traffic_meets_precision_and_recall(broker: Broker, tmp_path: Path) -> None:
    """The producers' simulator: 20 campaigns in realistic noise, with malformed, oversize
    and duplicate records; every record gets exactly one receipt."""
    config = SimulationConfig(
        partners=14, rate=320.0, duration=1.0, campaigns=20, noise=0.6, seed=3, partner_prefix="sm-"
    )
    traffic = generate(config)
    partners = [(p.id, p.sector) for p in config.roster()]
    broker.add_partners(partners)
    broker.worker("confianza-streams-tm")
    records = list(traffic)
    broker.send([(r.partner, r.payload) for r in records])
    receipts = broker.wait_receipts([p for p, _ in partners], len(records))
    _one_receipt_per_record(receipts, len(records))
    status = Counter(r["status"] for r in receipts)
    kinds = Counter(r.kind for r in records)
    assert status["rejected"] == kinds["malformed"] + kinds["oversize"]
    assert status["duplicate"] == kinds["duplicate"]
    alerts = broker.wait_alerts_quiet("sm")
    result = evaluate(alerts, traffic.truth.as_dict())
    assert result.precision >= 0.95, result
    assert result.recall >= 0.95, result

    # The same judgement from the command line, on the shared alerts topic.
    truth = tmp_path / "truth.json"
    traffic.truth.write(truth)
    admin_env = {
        **broker.env,
        "CONFIANZA_KAFKA__USERNAME": broker.admin.username or "",
        "CONFIANZA_KAFKA__PASSWORD": broker.admin.password.get_secret_value()
        if broker.admin.password
        else "",
    }
    cli = [sys.executable, "-m", "confianza.cli.main"]
    done = subprocess.run(
        [
            *cli,
            "eval",
            "--truth",
            str(truth),
            "--json",
            "--min-recall",
            "0.95",
            "--min-precision",
            "0.95",
        ],
        env=admin_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["recall"] == result.recall
    tail = subprocess.run(
        [*cli, "alerts", "tail", "--json", "--from-beginning", "--idle-exit", "3"],
        env=admin_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    tailed = [json.loads(line) for line in tail.stdout.splitlines()]
    assert {a["alert_id"] for a in alerts} <= {a["alert_id"] for a in tailed}
