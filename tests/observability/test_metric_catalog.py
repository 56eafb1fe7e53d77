"""Lint of the metric catalog: Prometheus naming conventions and bounded labels only."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from prometheus_client import Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from confianza import metrics

CATALOG = {
    name: value for name, value in vars(metrics).items() if isinstance(value, MetricWrapperBase)
}
NAME = re.compile(r"^confianza(_[a-z0-9]+)+$")
NON_BASE_UNITS = {
    "ms", "milliseconds", "microseconds", "us", "nanoseconds", "ns", "minutes", "hours", "days",
    "kb", "kilobytes", "mb", "megabytes", "gb", "gigabytes", "kib", "mib", "percent", "pct",
}  # fmt: skip
BASE_UNITS = ("seconds", "bytes", "messages", "ratio")
UNBOUNDED_LABELS = {"event_uid", "event_id", "alert_id", "uid", "id", "value", "url", "key"}


def family(metric: MetricWrapperBase) -> tuple[str, str]:
    described = metric.describe()[0]
    return described.name, described.type


def test_the_catalog_is_not_empty() -> None:
    assert len(CATALOG) >= 15


@pytest.mark.parametrize("attr", sorted(CATALOG))
def test_name_prefix_and_charset(attr: str) -> None:
    name, _ = family(CATALOG[attr])
    assert NAME.match(name), f"{attr}: {name!r} must be confianza_<snake_case>"


@pytest.mark.parametrize("attr", sorted(CATALOG))
def test_base_units_only(attr: str) -> None:
    name, kind = family(CATALOG[attr])
    words = set(name.split("_"))
    assert not words & NON_BASE_UNITS, f"{name}: use base units (seconds, bytes)"
    if isinstance(CATALOG[attr], Histogram):
        assert name.endswith(("_seconds", "_bytes")), f"{name}: a histogram measures a unit"
    assert kind in {"counter", "gauge", "histogram"}


def declared_names() -> dict[str, str]:
    """Metric class and the name string as written in confianza/metrics.py, by variable."""
    tree = ast.parse(inspect.getsource(metrics))
    return {
        node.targets[0].id: (node.value.func.id, node.value.args[0].value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id in {"Counter", "Gauge", "Histogram"}
    }


def test_every_declaration_is_in_the_catalog() -> None:
    assert set(declared_names()) == set(CATALOG)


@pytest.mark.parametrize("attr", sorted(CATALOG))
def test_total_suffix_on_counters_only(attr: str) -> None:
    kind, written = declared_names()[attr]
    if kind == "Counter":
        assert written.endswith("_total"), f"{written}: write counters with _total"
    else:
        assert not written.endswith(("_total", "_count", "_sum", "_bucket")), written


@pytest.mark.parametrize("attr", sorted(CATALOG))
def test_labels_are_bounded(attr: str) -> None:
    labels = set(CATALOG[attr]._labelnames)
    assert labels <= metrics.ALLOWED_LABELS, f"{attr}: labels outside ALLOWED_LABELS: {labels}"
    assert not labels & UNBOUNDED_LABELS


def test_allowed_labels_hold_no_identifier() -> None:
    assert not metrics.ALLOWED_LABELS & UNBOUNDED_LABELS


@pytest.mark.parametrize("attr", sorted(CATALOG))
def test_every_metric_says_what_it_counts(attr: str) -> None:
    described = CATALOG[attr].describe()[0]
    assert len(described.documentation) >= 20


def test_gauges_name_their_unit_or_a_count() -> None:
    gauges = {family(m)[0] for m in CATALOG.values() if isinstance(m, Gauge)}
    unitless = {
        "confianza_tracked_indicators",
        "confianza_open_campaigns",
        "confianza_circuit_state",
    }
    assert {g for g in gauges if not g.endswith(BASE_UNITS)} <= unitless


def test_millisecond_buckets_for_stages() -> None:
    assert metrics.STAGE_BUCKETS[0] <= 0.001
    assert list(metrics.STAGE_BUCKETS) == sorted(metrics.STAGE_BUCKETS)
    assert list(metrics.E2E_BUCKETS) == sorted(metrics.E2E_BUCKETS)
