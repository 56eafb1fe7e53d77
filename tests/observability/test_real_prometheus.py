"""A real Prometheus scraping stand-in workers: the rules load and evaluate, and every panel
query of every committed dashboard returns data (and the check does notice when one does not).

The same machinery runs against the real pipeline in the end-to-end suite; see
confianza.observability.panels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from confianza.observability.panels import (
    missing_data,
    panel_queries,
    report,
    wait_for_panel_data,
)
from confianza.observability.prometheus import Prometheus, poll, rule_files

StartPrometheus = Callable[[Mapping[str, Sequence[str]]], Prometheus]


def test_every_dashboard_panel_returns_data(
    sample_worker: Callable[..., str], prometheus: StartPrometheus
) -> None:
    streams, deliver = sample_worker(), sample_worker()
    server = prometheus({"confianza-streams": [streams], "confianza-deliver": [deliver]})
    assert len(panel_queries()) >= 30
    missing = wait_for_panel_data(server, timeout=60)
    assert not missing, "panels without data:\n" + report(missing)


def test_the_project_rules_load_and_evaluate(
    sample_worker: Callable[..., str], prometheus: StartPrometheus
) -> None:
    server = prometheus({"confianza-streams": [sample_worker()]})
    health = server.rule_health()
    assert len(health) >= sum(p.read_text().count("- record:") for p in rule_files())
    broken = {name: state for name, state in health.items() if state.startswith("err")}
    assert not broken
    assert server.query('up{job="confianza-streams"} == 1')


def test_the_check_names_the_panels_without_data(
    sample_worker: Callable[..., str], prometheus: StartPrometheus
) -> None:
    server = prometheus({"confianza-streams": [sample_worker("--idle")]})
    overview = "Confianza — operations overview"
    nan = "only NaN (nothing observed in the window)"
    # an unlabelled histogram nobody observed: NaN quantiles once two scrapes give a rate
    unobserved = (overview, "End-to-end latency against the SLO", "A")

    def missing_once_rates_exist() -> dict[tuple[str, str, str], str] | None:
        missing = {
            (q.dashboard, q.panel, q.ref_id): reason for q, reason in missing_data(server).items()
        }
        return missing if missing.get(unobserved) == nan else None

    missing = poll(missing_once_rates_exist, 30, "two scrapes of the idle worker")
    assert missing[overview, "Deliveries by channel and outcome", "A"] == "no series"
    assert (overview, "Workers up", "A") not in missing
    assert (overview, "Correlation state", "A") not in missing
