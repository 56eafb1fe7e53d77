"""Generate the Confianza Grafana dashboards (grafana-foundation-sdk) into ./dashboards/.

Run after changing a panel:  .venv/bin/python deploy/grafana/generate.py
Check that the committed JSON is current (tests):  ... generate.py --check

Dashboards: "operations overview" (ingest, latency against the SLO, alerts, delivery, Kafka lag
and dead letters, worker health) and "partner view" (one or more partners: volumes, rejects and
their reasons, invalid indicators, ingest lag). Every query reads the metric catalog in
confianza/metrics.py or the recording rules in deploy/prometheus/rules; the real-Prometheus
test runs each of them (confianza.observability.panels).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
    VariableSort,
)

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="confianza-prometheus")
RATE = "$__rate_interval"
SLO_ALERT_SECONDS = 5
SLO_DELIVERY_SECONDS = 60
SLO_ERROR_BUDGET = 0.01
REJECT_RATIO_ALERT = 0.2

Query = tuple[str, str]  # (PromQL, legend)


def _ids() -> Callable[[], int]:
    counter = itertools.count(1)
    return lambda: next(counter)


def _thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def _targets(queries: Iterable[Query]) -> list[prometheus.Dataquery]:
    return [
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i))
        for i, (expr, legend) in enumerate(queries)
    ]


def graph(
    next_id: Callable[[], int],
    title: str,
    description: str,
    queries: Iterable[Query],
    unit: str,
    width: int = 12,
    limit: float | None = None,
    stacked: bool = False,
) -> timeseries.Panel:
    """A time series panel; ``limit`` draws a red dashed line (an SLO or alert threshold)."""
    panel = (
        timeseries.Panel()
        .id(next_id())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries))
        .unit(unit)
        .min(0)
        .span(width)
        .height(8)
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    if limit is not None:
        panel = panel.thresholds(
            _thresholds((None, "transparent"), (limit, "red"))
        ).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    return panel


def single(
    next_id: Callable[[], int],
    title: str,
    description: str,
    queries: Iterable[Query],
    unit: str = "short",
    width: int = 4,
    warn_at: float | None = None,
) -> stat.Panel:
    """A stat panel showing the last value of each series; red from ``warn_at`` on."""
    steps: list[tuple[float | None, str]] = [(None, "green")]
    if warn_at is not None:
        steps.append((warn_at, "red"))
    return (
        stat.Panel()
        .id(next_id())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries))
        .unit(unit)
        .span(width)
        .height(4)
        .thresholds(_thresholds(*steps))
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def _rate(metric: str, by: str, selector: str = "") -> str:
    return f"sum by ({by}) (rate({metric}{selector}[{RATE}]))"


def _quantile(q: float, metric: str, by: str = "") -> str:
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{RATE}])))"


def overview() -> dashboard.Dashboard:
    """The operations overview: is the pipeline healthy, fast and delivering?"""
    i = _ids()
    return (
        dashboard.Dashboard("Confianza — operations overview")
        .uid("confianza-overview")
        .description("Ingest, latency against the SLO, alerts, delivery, Kafka lag, dead letters.")
        .tags(["confianza"])
        .editable()
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_row(dashboard.Row("Health").id(i()))
        .with_panel(
            single(
                i,
                "Workers up",
                "Scrape targets of each Confianza job that answer (job up = 1 per target).",
                [('sum by (job) (up{job=~"confianza-.+"})', "{{job}}")],
                width=8,
            )
        )
        .with_panel(
            single(
                i,
                "Event → alert p99",
                f"p99 over 5 minutes; SLO under {SLO_ALERT_SECONDS} s.",
                [("confianza:event_to_alert_seconds:p99_5m", "p99")],
                unit="s",
                width=8,
                warn_at=SLO_ALERT_SECONDS,
            )
        )
        .with_panel(
            single(
                i,
                "Event → delivery p99",
                f"p99 over 5 minutes; SLO under {SLO_DELIVERY_SECONDS} s.",
                [("confianza:event_to_delivery_seconds:p99_5m", "p99")],
                unit="s",
                width=8,
                warn_at=SLO_DELIVERY_SECONDS,
            )
        )
        .with_row(dashboard.Row("Ingest").id(i()))
        .with_panel(
            graph(
                i,
                "Ingest rate by partner",
                "Records read from each partner's ingest topic per second.",
                [(_rate("confianza_events_received_total", "partner"), "{{partner}}")],
                unit="cps",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                i,
                "Receipts by status",
                "Accepted (first sighting), duplicate (known event id) and rejected records.",
                [
                    (
                        "sum(rate(confianza_events_accepted_total[$__rate_interval]))",
                        "accepted",
                    ),
                    (
                        "sum(rate(confianza_events_duplicate_total[$__rate_interval]))",
                        "duplicate",
                    ),
                    (
                        "sum(rate(confianza_events_rejected_total[$__rate_interval]))",
                        "rejected",
                    ),
                ],
                unit="cps",
                width=8,
            )
        )
        .with_panel(
            graph(
                i,
                "Reject ratio by partner",
                f"Share of each partner's records rejected; the alert fires above "
                f"{REJECT_RATIO_ALERT:.0%} for 15 minutes.",
                [
                    (
                        f"{_rate('confianza_events_rejected_total', 'partner')}"
                        f" / {_rate('confianza_events_received_total', 'partner')}",
                        "{{partner}}",
                    )
                ],
                unit="percentunit",
                width=8,
                limit=REJECT_RATIO_ALERT,
            )
        )
        .with_row(dashboard.Row("Latency").id(i()))
        .with_panel(
            graph(
                i,
                "Stage latency p50 / p99",
                "Processing time of one record in each streams stage.",
                [
                    (
                        _quantile(0.5, "confianza_stage_duration_seconds", "stage"),
                        "p50 {{stage}}",
                    ),
                    (
                        _quantile(0.99, "confianza_stage_duration_seconds", "stage"),
                        "p99 {{stage}}",
                    ),
                ],
                unit="s",
                width=8,
            )
        )
        .with_panel(
            graph(
                i,
                "End-to-end latency against the SLO",
                f"reported_at → alert emitted (SLO p99 < {SLO_ALERT_SECONDS} s, red line) and "
                f"→ delivered (SLO p99 < {SLO_DELIVERY_SECONDS} s).",
                [
                    (_quantile(0.5, "confianza_event_to_alert_seconds"), "alert p50"),
                    (_quantile(0.99, "confianza_event_to_alert_seconds"), "alert p99"),
                    (
                        _quantile(0.5, "confianza_event_to_delivery_seconds"),
                        "delivery p50",
                    ),
                    (
                        _quantile(0.99, "confianza_event_to_delivery_seconds"),
                        "delivery p99",
                    ),
                ],
                unit="s",
                width=8,
                limit=SLO_ALERT_SECONDS,
            )
        )
        .with_panel(
            graph(
                i,
                "SLO error ratio (5 min)",
                f"Share of observations above the SLO threshold; the budget is "
                f"{SLO_ERROR_BUDGET:.0%} (red line). Burn alerts: 14.4x over 1 h, 6x over 6 h.",
                [
                    ("confianza:event_to_alert_slo_errors:ratio_rate5m", "event → alert"),
                    ("confianza:event_to_delivery_slo_errors:ratio_rate5m", "event → delivery"),
                ],
                unit="percentunit",
                width=8,
                limit=SLO_ERROR_BUDGET,
            )
        )
        .with_row(dashboard.Row("Correlation and alerts").id(i()))
        .with_panel(
            graph(
                i,
                "Alerts by severity",
                "Alert versions emitted per second, by severity.",
                [(_rate("confianza_alerts_total", "severity"), "{{severity}}")],
                unit="cps",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                i,
                "Alerts by transition",
                "Opened, updated, escalated and resolved alert versions per second.",
                [(_rate("confianza_alerts_total", "transition"), "{{transition}}")],
                unit="cps",
                width=8,
            )
        )
        .with_panel(
            graph(
                i,
                "Correlation state",
                "Indicators and campaigns held in state (all streams workers), and entries "
                "evicted by caps or TTL per second.",
                [
                    ("sum(confianza_tracked_indicators)", "tracked indicators"),
                    ("sum(confianza_open_campaigns)", "open campaigns"),
                    (_rate("confianza_state_evictions_total", "kind"), "evicted {{kind}}/s"),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            graph(
                i,
                "State memory (RocksDB)",
                "Memory the streams workers' RocksDB table databases hold, by kind: memtables, "
                "block caches and table readers, each bounded per database (streams/app.py).",
                [
                    (
                        "sum by (kind) (confianza_rocksdb_memory_bytes)",
                        "{{kind}}",
                    )
                ],
                unit="bytes",
                width=8,
            )
        )
        .with_row(dashboard.Row("Delivery").id(i()))
        .with_panel(
            graph(
                i,
                "Deliveries by channel and outcome",
                "Delivery attempts per second (filtered = the TLP gate left nothing to send).",
                [
                    (
                        _rate("confianza_deliveries_total", "channel, outcome"),
                        "{{channel}} {{outcome}}",
                    )
                ],
                unit="cps",
                width=8,
            )
        )
        .with_panel(
            graph(
                i,
                "Circuit breakers by channel and state",
                "Subscriber circuit breakers in each state (closed, open, half_open).",
                [
                    (
                        "sum by (channel, state) (confianza_circuit_state)",
                        "{{channel}} {{state}}",
                    )
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            graph(
                i,
                "Retries, disabled subscribers, send time p99",
                "Retries scheduled per second, subscribers disabled (HTTP 410) per second, "
                "and the p99 time of one send, by channel.",
                [
                    (
                        _rate("confianza_delivery_retries_total", "channel"),
                        "retries {{channel}}",
                    ),
                    (
                        _rate("confianza_subscribers_disabled_total", "channel"),
                        "disabled {{channel}}",
                    ),
                    (
                        _quantile(0.99, "confianza_delivery_duration_seconds", "channel"),
                        "send p99 (s) {{channel}}",
                    ),
                ],
                unit="short",
                width=8,
            )
        )
        .with_row(dashboard.Row("Kafka").id(i()))
        .with_panel(
            graph(
                i,
                "Consumer lag by group and topic",
                "End offset minus committed offset (measured by `confianza ops lag`).",
                [
                    (
                        "max by (group, topic) (confianza_consumer_lag_messages)",
                        "{{group}} {{topic}}",
                    )
                ],
                unit="short",
                width=12,
            )
        )
        .with_panel(
            graph(
                i,
                "Dead letters by topic",
                "Records written to dlq.ingest.v1 (rejected reports) and dlq.delivery.v1 "
                "(alerts that exhausted their retries) per second.",
                [(_rate("confianza_dlq_records_total", "topic"), "{{topic}}")],
                unit="cps",
                width=8,
            )
        )
        .with_panel(
            single(
                i,
                "Dead letters in range",
                "Records dead-lettered during the selected time range.",
                [
                    (
                        "sum by (topic) (increase(confianza_dlq_records_total[$__range]))",
                        "{{topic}}",
                    )
                ],
                warn_at=1,
            )
        )
        .with_row(dashboard.Row("Worker processes").id(i()))
        .with_panel(
            graph(
                i,
                "Time paused by full garbage collections",
                "Share of each worker's time stopped by full (oldest-generation) garbage "
                "collections (confianza/collector.py); 0 while none run. Each pause is in the "
                "histogram confianza_gc_full_pause_seconds.",
                [
                    (
                        f"sum by (job) (rate(confianza_gc_full_pause_seconds_sum[{RATE}]))",
                        "{{job}}",
                    )
                ],
                unit="percentunit",
                width=12,
            )
        )
    )


def partner_view() -> dashboard.Dashboard:
    """One or more partners: what they send, what is rejected and why."""
    i = _ids()
    sel = '{partner=~"$partner"}'

    def in_range(metric: str) -> str:
        return f"sum(increase({metric}{sel}[$__range]))"

    return (
        dashboard.Dashboard("Confianza — partner view")
        .uid("confianza-partner")
        .description("Per-partner volumes, rejects and their reasons.")
        .tags(["confianza"])
        .editable()
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .with_variable(
            dashboard.QueryVariable("partner")
            .label("Partner")
            .datasource(DATASOURCE)
            .query("label_values(confianza_events_received_total, partner)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".+")
        )
        .with_row(dashboard.Row("Totals in range").id(i()))
        .with_panel(
            single(
                i,
                "Received",
                "Records read from the partner's ingest topic.",
                [(in_range("confianza_events_received_total"), "received")],
            )
        )
        .with_panel(
            single(
                i,
                "Accepted",
                "Valid events seen for the first time.",
                [(in_range("confianza_events_accepted_total"), "accepted")],
            )
        )
        .with_panel(
            single(
                i,
                "Duplicates",
                "Events re-sent with a known event id (counted once).",
                [(in_range("confianza_events_duplicate_total"), "duplicate")],
            )
        )
        .with_panel(
            single(
                i,
                "Rejected",
                "Records rejected; each got a receipt with the reasons and went to the DLQ.",
                [(in_range("confianza_events_rejected_total"), "rejected")],
                warn_at=1,
            )
        )
        .with_panel(
            single(
                i,
                "Reject ratio",
                "Rejected / received over the selected time range.",
                [
                    (
                        in_range("confianza_events_rejected_total")
                        + " / "
                        + in_range("confianza_events_received_total"),
                        "ratio",
                    )
                ],
                unit="percentunit",
                warn_at=REJECT_RATIO_ALERT,
            )
        )
        .with_panel(
            single(
                i,
                "Invalid indicators",
                "Indicator values that failed normalization (reported as receipt warnings).",
                [(in_range("confianza_indicators_invalid_total"), "invalid")],
            )
        )
        .with_row(dashboard.Row("Volumes").id(i()))
        .with_panel(
            graph(
                i,
                "Received per partner",
                "Records per second from each selected partner.",
                [(_rate("confianza_events_received_total", "partner", sel), "{{partner}}")],
                unit="cps",
                width=12,
            )
        )
        .with_panel(
            graph(
                i,
                "Receipts by status",
                "Accepted, duplicate and rejected records per second, per partner.",
                [
                    (
                        _rate("confianza_events_accepted_total", "partner", sel),
                        "accepted {{partner}}",
                    ),
                    (
                        _rate("confianza_events_duplicate_total", "partner", sel),
                        "duplicate {{partner}}",
                    ),
                    (
                        _rate("confianza_events_rejected_total", "partner", sel),
                        "rejected {{partner}}",
                    ),
                ],
                unit="cps",
                width=12,
            )
        )
        .with_row(dashboard.Row("Rejects").id(i()))
        .with_panel(
            graph(
                i,
                "Rejects by reason",
                "Rejected records per second by reason (oversize, not-utf8, not-json, "
                "schema, unknown-partner, over-budget), per partner.",
                [
                    (
                        _rate("confianza_events_rejected_total", "partner, reason", sel),
                        "{{partner}} {{reason}}",
                    )
                ],
                unit="cps",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                i,
                "Reject ratio",
                f"Share of each partner's records rejected (alert above {REJECT_RATIO_ALERT:.0%}).",
                [
                    (
                        f"{_rate('confianza_events_rejected_total', 'partner', sel)}"
                        f" / {_rate('confianza_events_received_total', 'partner', sel)}",
                        "{{partner}}",
                    )
                ],
                unit="percentunit",
                width=8,
                limit=REJECT_RATIO_ALERT,
            )
        )
        .with_panel(
            graph(
                i,
                "Invalid indicators by kind",
                "Indicator values that failed normalization, per second, by kind.",
                [
                    (
                        _rate("confianza_indicators_invalid_total", "partner, kind", sel),
                        "{{partner}} {{kind}}",
                    )
                ],
                unit="cps",
                width=8,
            )
        )
        .with_row(dashboard.Row("Backlog").id(i()))
        .with_panel(
            graph(
                i,
                "Ingest lag",
                "Records on the partner's ingest topic not yet processed by confianza-streams.",
                [
                    (
                        "max by (topic) (confianza_consumer_lag_messages"
                        '{group="confianza-streams-ingest", topic=~"ingest.$partner.v1"})',
                        "{{topic}}",
                    )
                ],
                unit="short",
                width=24,
            )
        )
    )


DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "confianza-overview.json": overview,
    "confianza-partner.json": partner_view,
}


def render(builder: dashboard.Dashboard) -> str:
    """The dashboard as stable, sorted, indented JSON with a trailing newline."""
    return (
        json.dumps(builder.build(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed JSON differs from the code"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    stale = []
    for name, make in DASHBOARDS.items():
        path = args.out / name
        text = render(make())
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    extra = sorted(p.name for p in args.out.glob("*.json") if p.name not in DASHBOARDS)
    if args.check and (stale or extra):
        print(
            f"stale: {', '.join(stale) or '-'}; not generated: {', '.join(extra) or '-'}; "
            "run .venv/bin/python deploy/grafana/generate.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
