"""Reading ``alerts.v1`` for people and scripts: ``confianza alerts tail`` and ``eval``.

``read_alerts`` assigns every partition (no consumer group, nothing committed) and yields
alert payloads; ``render`` turns one alert version into a rich panel an operator can read at a
glance: severity, transition, score with its reasons, who reported it, what to block.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from confianza.kafka import consumer
from confianza.logging import get_logger
from confianza.schemas.topics import ALERTS
from confianza.schemas.validate import validate_document
from confianza.settings import KafkaSettings

SEVERITY_STYLE = {
    "low": "green",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}
MAX_INDICATORS_SHOWN = 8
STALL_TIMEOUT_S = 60.0

log = get_logger(__name__)


def read_alerts(
    kafka: KafkaSettings, *, from_beginning: bool, follow: bool, idle_timeout_s: float | None = None
) -> Iterator[dict[str, Any]]:
    """Alerts in partition order. Without ``follow``, stops at the end offsets seen at start,
    and raises ``KafkaTimeoutError`` when no record arrives for ``STALL_TIMEOUT_S`` before
    that end; with it, runs until ``idle_timeout_s`` passes without a new alert (forever if
    None). A record that is not an alert by the contract is skipped with a warning."""
    client = consumer(kafka, enable_auto_commit=False)
    try:
        parts = client.partitions_for_topic(ALERTS) or set()
        tps = [TopicPartition(ALERTS, p) for p in sorted(parts)]
        client.assign(tps)
        if from_beginning:
            client.seek_to_beginning(*tps)
        else:
            client.seek_to_end(*tps)
        ends = client.end_offsets(tps)
        last = time.monotonic()
        while True:
            idle = time.monotonic() - last
            if not follow:
                behind = {tp.partition for tp in tps if client.position(tp) < ends[tp]}
                if not behind:
                    return
                if idle > STALL_TIMEOUT_S:
                    raise KafkaTimeoutError(
                        f"no progress reading {ALERTS} partitions {sorted(behind)} "
                        f"for {STALL_TIMEOUT_S:.0f} s"
                    )
            elif idle_timeout_s is not None and idle > idle_timeout_s:
                return
            for records in client.poll(timeout_ms=500).values():
                last = time.monotonic()
                for alert, _ in alerts_in(records):
                    yield alert
    finally:
        client.close()


def readable_alert(raw: bytes | None) -> dict[str, Any] | None:
    """The alert in ``raw`` if it is one by the contract (``alert.v1``), else None: whoever
    reads ``alerts.v1`` skips a foreign or broken record instead of failing on it."""
    if raw is None:
        return None
    try:
        alert = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return alert if validate_document("alert", alert) == () else None


def alerts_in(records: Iterable[Any]) -> Iterator[tuple[dict[str, Any], Any]]:
    """``(alert, record)`` for each record of ``alerts.v1`` that is an alert by the contract;
    any other record is skipped with a warning naming its place."""
    for record in records:
        alert = readable_alert(record.value)
        if alert is None:
            log.warning(
                "record on alerts.v1 that is not an alert skipped",
                partition=record.partition,
                offset=record.offset,
            )
            continue
        yield alert, record


def render(alert: dict[str, Any]) -> Panel:
    """One alert version as a panel."""
    severity = alert["severity"]
    head = Text.assemble(
        (f" {severity.upper()} ", SEVERITY_STYLE.get(severity, "")),
        f"  {alert['transition']}  v{alert['version']}  score {alert['score']:g}  ",
        (alert["title"], "bold"),
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_row("alert", alert["alert_id"])
    facts.add_row("RSIT", f"{alert['classification']['class']} / {alert['classification']['type']}")
    facts.add_row("reporters", ", ".join(alert["reporters"]))
    facts.add_row("sectors", ", ".join(alert["sectors"]))
    facts.add_row("seen", f"{alert['first_seen']} → {alert['last_seen']}")
    facts.add_row(
        "evidence",
        f"{len(alert['evidence'])} events (TLP "
        + ", ".join(sorted({e["tlp"] for e in alert["evidence"]}))
        + ")",
    )
    reasons = Table("rule", "points", "why", box=None, pad_edge=False)
    for r in alert["reasons"]:
        reasons.add_row(r["rule"], f"{r['points']:+g}", r["detail"])
    shown = alert["indicators"][:MAX_INDICATORS_SHOWN]
    indicators = Text("\n".join(f"{i['kind']:<13} {i['value']}" for i in shown))
    if len(alert["indicators"]) > len(shown):
        indicators.append(f"\n… {len(alert['indicators']) - len(shown)} more")
    return Panel(
        Group(head, facts, reasons, indicators),
        title=alert["emitted_at"],
        title_align="left",
        border_style=SEVERITY_STYLE.get(severity, ""),
    )
