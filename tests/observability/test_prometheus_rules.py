"""deploy/prometheus: config and rules pass promtool, every alert is unit-tested both ways,
every alert has a runbook section, and the scrape config matches the workers' ports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from confianza.observability.prometheus import PROMETHEUS_DIR, binary, rule_files
from confianza.observability.server import WORKER_PORTS

RUNBOOK = PROMETHEUS_DIR / "RUNBOOK.md"
UNIT_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml"))
RECORD_NAME = re.compile(r"^confianza:[a-z0-9_]+:[a-z0-9_]+$")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *map(str, args)],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rules(kind: str) -> list[dict[str, Any]]:
    return [
        rule
        for path in rule_files()
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


ALERTS = sorted({rule["alert"] for rule in rules("alert")})


def anchors(markdown: str) -> set[str]:
    """GitHub-style anchors of the markdown headings."""
    return {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in markdown.splitlines()
        if line.startswith("#")
    }


def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", *rule_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_checks_the_config() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    assert UNIT_TESTS
    result = promtool("test", "rules", *UNIT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_load_every_rule_file() -> None:
    names = {path.name for path in rule_files()}
    for test in UNIT_TESTS:
        loaded = yaml.safe_load(test.read_text(encoding="utf-8"))["rule_files"]
        assert {Path(f).name for f in loaded} == names, test.name


def test_the_required_alerts_exist() -> None:
    assert {
        "ConfianzaWorkerDown",
        "ConfianzaConsumerLagGrowing",
        "ConfianzaPartnerRejectRatioHigh",
        "ConfianzaDeliveryFailures",
        "ConfianzaDLQNotEmpty",
        "ConfianzaEventToAlertSLOBurn",
        "ConfianzaEventToDeliverySLOBurn",
    } <= set(ALERTS)


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_firing_and_a_quiet_case(alert: str) -> None:
    cases = [
        case
        for path in UNIT_TESTS
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]
    assert any(case.get("exp_alerts") for case in cases), f"{alert}: no case where it fires"
    assert any(not case.get("exp_alerts") for case in cases), f"{alert}: no quiet case"


@pytest.mark.parametrize("rule", rules("alert"), ids=lambda rule: rule["alert"])
def test_every_alert_is_documented(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"]
    assert annotations["description"]
    path, _, anchor = annotations["runbook"].partition("#")
    assert path == "deploy/prometheus/RUNBOOK.md"
    assert anchor == rule["alert"].lower()
    assert anchor in anchors(RUNBOOK.read_text(encoding="utf-8"))


def test_recording_rules_follow_the_naming_convention() -> None:
    for rule in rules("record"):
        assert RECORD_NAME.match(rule["record"]), rule["record"]


def test_scrape_config_targets_the_worker_ports() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    ports = {
        job["job_name"]: {
            int(target.rsplit(":", 1)[1])
            for static in job["static_configs"]
            for target in static["targets"]
        }
        for job in config["scrape_configs"]
    }
    assert ports == {f"confianza-{worker}": {port} for worker, port in WORKER_PORTS.items()}
    assert sorted(config["rule_files"]) == sorted(f"rules/{p.name}" for p in rule_files())
