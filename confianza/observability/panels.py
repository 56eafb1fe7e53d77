"""Every panel query of the committed Grafana dashboards, run against a live Prometheus.

This is the check behind "each dashboard panel returns data": ``panel_queries()`` reads
``deploy/grafana/dashboards/*.json``; ``instant_expr()`` replaces Grafana's variables the way a
viewer with default selections would see them (interval variables by a window, dashboard
variables by their "All" value); ``missing_data()`` runs each expression once through the HTTP
API; ``wait_for_panel_data()`` repeats that until every panel has data or the time is up, and
returns what still has none (an empty dict means every panel shows data).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confianza.observability.prometheus import DEPLOY_DIR, Prometheus, PrometheusError

DASHBOARDS_DIR = DEPLOY_DIR / "grafana" / "dashboards"
INTERVAL_VARIABLES = ("$__rate_interval", "$__interval", "$__range")
MATCH_ALL = ".+"


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel: where it is and the PromQL as written in the dashboard."""

    dashboard: str
    panel: str
    ref_id: str
    expr: str
    variables: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} [{self.ref_id}]: {self.expr}"


def _panels(panels: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def _variable_values(dashboard: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Each dashboard variable's value when "All" (or its current value) is selected."""
    values = []
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") == "query":
            value = variable.get("allValue") or MATCH_ALL
        else:
            value = str((variable.get("current") or {}).get("value") or MATCH_ALL)
        values.append((variable["name"], value))
    return tuple(values)


def panel_queries(directory: Path = DASHBOARDS_DIR) -> list[PanelQuery]:
    """Every Prometheus target of every panel of every dashboard in ``directory``."""
    queries = []
    for path in sorted(directory.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        variables = _variable_values(dashboard)
        for panel in _panels(dashboard.get("panels") or []):
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    queries.append(
                        PanelQuery(
                            dashboard["title"],
                            panel.get("title", ""),
                            target.get("refId", ""),
                            target["expr"],
                            variables,
                        )
                    )
    return queries


def instant_expr(query: PanelQuery, window: str = "1m") -> str:
    """The query with ``$__rate_interval``/``$__interval``/``$__range`` set to ``window`` and
    each dashboard variable (``$name`` or ``${name}``) set to its "All" value."""
    expr = query.expr
    for name in INTERVAL_VARIABLES:
        expr = expr.replace(name, window)
    for name, value in query.variables:
        expr = re.sub(rf"\$\{{{re.escape(name)}\}}|\${re.escape(name)}\b", value, expr)
    return expr


def _why_no_data(prometheus: Prometheus, expr: str) -> str | None:
    if "$" in expr:
        return f"unresolved Grafana variable in {expr!r}"
    try:
        result = prometheus.query(expr)
    except PrometheusError as exc:
        return f"query error: {exc}"
    if not result:
        return "no series"
    if all(math.isnan(float(series["value"][1])) for series in result):
        return "only NaN (nothing observed in the window)"
    return None


def missing_data(
    prometheus: Prometheus, queries: Iterable[PanelQuery] | None = None, window: str = "1m"
) -> dict[PanelQuery, str]:
    """Run each query once; the ones without data, each with the reason."""
    missing = {}
    for query in panel_queries() if queries is None else queries:
        reason = _why_no_data(prometheus, instant_expr(query, window))
        if reason is not None:
            missing[query] = reason
    return missing


def wait_for_panel_data(
    prometheus: Prometheus,
    timeout: float = 60.0,
    queries: Iterable[PanelQuery] | None = None,
    window: str = "1m",
) -> dict[PanelQuery, str]:
    """Re-check the panels that lack data until none does or ``timeout`` seconds pass.

    Returns the panels still without data, each with the reason (empty: all panels have data).
    """
    pending: Mapping[PanelQuery, str] = missing_data(prometheus, queries, window)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        time.sleep(max(prometheus.interval, 0.5))
        pending = missing_data(prometheus, list(pending), window)
    return dict(pending)


def report(missing: Mapping[PanelQuery, str]) -> str:
    """One line per panel query without data, for an assertion message."""
    return "\n".join(f"{query}  ->  {reason}" for query, reason in missing.items())
