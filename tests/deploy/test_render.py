"""The generated deployment files: no drift from the sources, and faithful to them.

Sources: schemas/topics.yaml (topics), confianza/provision/acls.py (principals and ACLs),
deploy/partners.yaml (roster), deploy/prometheus/rules (rules).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confianza import provision
from confianza.provision import render
from confianza.provision.acls import (
    SERVICES,
    partner_acls,
    partner_principal,
    service_acls,
    service_principal,
)
from confianza.provision.registry import PartnerRecord
from confianza.provision.roster import load_roster
from confianza.provision.topics import wanted_config
from confianza.schemas.topics import load_topic_file
from tests.deploy.conftest import DEPLOY, ROOT, load_docs, parse_cli

ROSTER = load_roster(DEPLOY / "partners.yaml")


def test_generated_files_match_their_sources() -> None:
    assert render.stale(ROOT) == [], "run: python -m confianza.provision.render"
    assert render.main(["--root", str(ROOT), "--check"]) == 0


def _copy_sources(target: Path) -> None:
    for source in (render.ROSTER, render.SUBSCRIPTIONS):
        (target / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, target / source)
    shutil.copytree(ROOT / render.RULES, target / render.RULES)


def test_a_changed_source_makes_the_outputs_stale_until_rendered(tmp_path: Path) -> None:
    _copy_sources(tmp_path)
    assert render.main(["--root", str(tmp_path)]) == 0
    assert render.stale(tmp_path) == []
    assert os.access(tmp_path / render.INIT_OUT, os.X_OK)
    roster = tmp_path / render.ROSTER
    roster.write_text(
        roster.read_text(encoding="utf-8")
        + "  - id: caja-arequipa\n    sector: banking\n    name: Caja Arequipa\n",
        encoding="utf-8",
    )
    affected = sorted([render.TOPICS_OUT, render.USERS_OUT, render.ROSTER_COPY, render.INIT_OUT])
    assert render.stale(tmp_path) == affected
    assert render.main(["--root", str(tmp_path), "--check"]) == 1
    assert render.write(tmp_path) == affected
    assert render.stale(tmp_path) == []
    users = load_docs(tmp_path / render.USERS_OUT)
    assert "partner-caja-arequipa" in {u["metadata"]["name"] for u in users}


def test_every_principal_has_a_kafka_user_with_exactly_its_acls() -> None:
    users = {u["metadata"]["name"]: u for u in load_docs(ROOT / render.USERS_OUT)}
    expected = {service_principal(s): service_acls(s) for s in SERVICES}
    expected |= {partner_principal(e.id): partner_acls(e.id) for e in ROSTER}
    assert set(users) == set(expected)
    for name, user in users.items():
        assert user["kind"] == "KafkaUser"
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == render.CLUSTER
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert render.acls_of(user) == set(expected[name]), name


def test_partner_acls_never_reach_another_partners_topics() -> None:
    users = {u["metadata"]["name"]: u for u in load_docs(ROOT / render.USERS_OUT)}
    for entry in ROSTER:
        granted = render.acls_of(users[partner_principal(entry.id)])
        topics = {a.name for a in granted if a.resource == "topic"}
        assert topics == {f"ingest.{entry.id}.", f"receipts.{entry.id}."}
        others = [e.id for e in ROSTER if e.id != entry.id]
        assert not any(f"ingest.{other}.v1".startswith(t) for t in topics for other in others)


def test_topics_are_the_topic_file_configured_as_topics_apply_does() -> None:
    topic_file = load_topic_file()
    specs = list(topic_file.shared)
    for entry in ROSTER:
        specs.extend(topic_file.for_partner(entry.id))
    resources = {t["metadata"]["name"]: t for t in load_docs(ROOT / render.TOPICS_OUT)}
    assert list(resources) == [s.name for s in specs]
    for spec in specs:
        topic = resources[spec.name]["spec"]
        assert topic["topicName"] == spec.name
        assert topic["partitions"] == spec.partitions
        assert topic["replicas"] == render.REPLICAS == 3
        assert topic["config"] == wanted_config(spec, 3)
        assert topic["config"]["min.insync.replicas"] == "2"


def test_the_prometheus_rule_carries_every_rule_group() -> None:
    (rule,) = load_docs(ROOT / render.RULES_OUT)
    names = [g["name"] for g in rule["spec"]["groups"]]
    expected = []
    for path in sorted((ROOT / render.RULES).glob("*.yml")):
        expected.extend(g["name"] for g in load_docs(path)[0]["groups"])
    assert names == expected


# --- the compose init job ------------------------------------------------------------------

FAKE_CLI = """#!/bin/sh
# Records each call (arguments separated by US); `partners list` prints $LISTED.
printf '%s\\037' "$@" >> "$CALLS"
echo >> "$CALLS"
case "$1 $2" in
    "partners list") cat "$LISTED" ;;
    "services add") printf 'CONFIANZA_KAFKA__USERNAME=svc-%s\\n' "$3" > "$5/svc-$3.env" ;;
esac
"""


def _partners_list_output(monkeypatch: pytest.MonkeyPatch, active: list[str]) -> str:
    """What the real `confianza partners list` prints when these partners are active."""
    from confianza.cli.main import app

    records = [
        PartnerRecord(e.id, e.sector, e.name, "active", "t") for e in ROSTER if e.id in active
    ]
    records.append(PartnerRecord("bbva", "banking", "BBVA Perú", "removed", "t"))
    monkeypatch.setattr(provision, "list_partners", lambda settings: records)
    result = CliRunner().invoke(app, ["partners", "list"])
    assert result.exit_code == 0, result.output
    return result.output


def _run_init(tmp_path: Path, listed: str) -> list[list[str]]:
    script = (ROOT / render.INIT_OUT).read_text(encoding="utf-8")
    script = script.replace(render.CREDENTIALS_DIR, str(tmp_path / "services"))
    script = script.replace(render.PARTNER_CREDENTIALS_DIR, str(tmp_path / "partners"))
    (tmp_path / "provision.sh").write_text(script, encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "confianza"
    fake.write_text(FAKE_CLI, encoding="utf-8")
    fake.chmod(0o755)
    (tmp_path / "listed.txt").write_text(listed, encoding="utf-8")
    calls = tmp_path / "calls.txt"
    calls.write_text("", encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "LISTED": str(tmp_path / "listed.txt"),
    }
    subprocess.run(["sh", str(tmp_path / "provision.sh")], env=env, check=True, capture_output=True)
    lines = calls.read_text(encoding="utf-8").splitlines()
    return [line.rstrip("\x1f").split("\x1f") for line in lines]


def test_the_init_job_provisions_everything_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["sh", "-n", str(ROOT / render.INIT_OUT)], check=True)
    first = _run_init(tmp_path, _partners_list_output(monkeypatch, active=[]))
    assert first[0] == ["topics", "apply"]
    assert [c[2] for c in first if c[:2] == ["services", "add"]] == list(SERVICES)
    added = [c for c in first if c[:2] == ["partners", "add"]]
    assert [(c[2], c[4], c[6]) for c in added] == [(e.id, e.sector, e.name) for e in ROSTER]
    for call in first:
        parse_cli(call)  # every call is a valid invocation of the real CLI

    active = [e.id for e in ROSTER if e.id != "bbva"]
    again = _run_init(tmp_path, _partners_list_output(monkeypatch, active=active))
    assert [c for c in again if c[:2] == ["services", "add"]] == []
    assert [c[2] for c in again if c[:2] == ["partners", "add"]] == ["bbva"]
