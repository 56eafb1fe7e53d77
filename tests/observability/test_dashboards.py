"""deploy/grafana: generated dashboards are committed and current, cover the metric catalog,
and use the provisioned datasource."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from confianza import metrics
from confianza.observability.panels import DASHBOARDS_DIR, panel_queries
from confianza.observability.prometheus import DEPLOY_DIR

GRAFANA = DEPLOY_DIR / "grafana"
GENERATE = GRAFANA / "generate.py"
PROVISIONING = GRAFANA / "provisioning"


def generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE), *args], capture_output=True, text=True, timeout=120
    )


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in board["panels"] if panel["type"] != "row"]


def test_committed_json_is_what_the_generator_writes() -> None:
    result = generate("--check")
    assert result.returncode == 0, result.stderr


def test_the_check_catches_a_hand_edit(tmp_path: Path) -> None:
    copy = tmp_path / "dashboards"
    shutil.copytree(DASHBOARDS_DIR, copy)
    edited = copy / "confianza-overview.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Ingest", "Ingress"))
    result = generate("--check", "--out", str(copy))
    assert result.returncode == 1
    assert "confianza-overview.json" in result.stderr


def test_both_dashboards_exist_with_unique_uids() -> None:
    boards = dashboards()
    assert set(boards) == {"confianza-overview.json", "confianza-partner.json"}
    assert len({board["uid"] for board in boards.values()}) == len(boards)


def test_the_overview_shows_what_operations_watch() -> None:
    titles = {panel["title"] for panel in panels(dashboards()["confianza-overview.json"])}
    assert {
        "Ingest rate by partner",
        "Reject ratio by partner",
        "Stage latency p50 / p99",
        "End-to-end latency against the SLO",
        "Alerts by severity",
        "Deliveries by channel and outcome",
        "Circuit breakers by channel and state",
        "Consumer lag by group and topic",
        "Dead letters by topic",
    } <= titles


def test_the_partner_view_filters_by_partner() -> None:
    board = dashboards()["confianza-partner.json"]
    (variable,) = board["templating"]["list"]
    assert variable["name"] == "partner"
    assert {"Rejects by reason", "Received per partner"} <= {p["title"] for p in panels(board)}
    for panel in panels(board):
        for target in panel["targets"]:
            assert "$partner" in target["expr"], panel["title"]


@pytest.mark.parametrize(
    "metric",
    sorted(
        value.describe()[0].name
        for value in vars(metrics).values()
        if isinstance(value, MetricWrapperBase)
    ),
)
def test_every_catalog_metric_is_on_a_dashboard(metric: str) -> None:
    assert any(metric in query.expr for query in panel_queries()), metric


def test_every_panel_uses_the_provisioned_datasource_and_says_what_it_shows() -> None:
    datasources = yaml.safe_load(
        (PROVISIONING / "datasources" / "confianza.yaml").read_text(encoding="utf-8")
    )["datasources"]
    uid = datasources[0]["uid"]
    for board in dashboards().values():
        for panel in panels(board):
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
            assert panel["description"], panel["title"]
            assert panel["targets"], panel["title"]
            ref_ids = [target["refId"] for target in panel["targets"]]
            assert len(set(ref_ids)) == len(ref_ids), panel["title"]


def test_dashboard_provisioning_points_at_the_generated_folder() -> None:
    provider = yaml.safe_load(
        (PROVISIONING / "dashboards" / "confianza.yaml").read_text(encoding="utf-8")
    )["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "${CONFIANZA_DASHBOARDS_DIR}"
    assert "CONFIANZA_DASHBOARDS_DIR" in (GRAFANA / "README.md").read_text(encoding="utf-8")
