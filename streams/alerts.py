"""The alert lifecycle: when a campaign's score opens, updates, escalates or resolves an alert.

The campaign stage calls ``after_evidence`` when a sighting changed a campaign and
``after_tick`` for every open alert on each tick; both are pure and return the transition to
emit (or None). The alert state (one entry per alert id, in a table with a changelog) holds
the last *emitted* version, its severity and its evidence set, so a decision never depends on
whether a sighting is seen for the first time or again after a crash: evidence already in the
last emitted version is not new. ``build_alert`` renders one version as the alert v1 payload;
``remember`` and ``adopt`` keep the state in step with what really is on ``alerts.v1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confianza.streams.clock import iso
from confianza.streams.score import Score, ScoringConfig, band_rank

MAX_SECTORS = 5


def _total_events(campaign: Mapping[str, Any]) -> int:
    return len(campaign["evidence"]) + campaign["overflow_events"]


def after_evidence(
    state: Mapping[str, Any] | None, campaign: Mapping[str, Any], score: Score, cfg: ScoringConfig
) -> str | None:
    """The transition new evidence causes: opened, escalated, updated, or None."""
    reaches = band_rank(score.severity) >= band_rank(cfg.open_at)
    if state is None:
        return "opened" if reaches else None
    known = set(state["evidence_uids"])
    new = any(uid not in known for uid in campaign["evidence"]) or (
        _total_events(campaign) > state["events"]
    )
    if state["status"] == "resolved":
        return "opened" if reaches and new else None
    if band_rank(score.severity) > band_rank(state["severity"]):
        return "escalated"
    return "updated" if new else None


def after_tick(state: Mapping[str, Any], score: Score, cfg: ScoringConfig) -> str | None:
    """``resolved`` when an open alert's decayed score fell below the opening band."""
    if state["status"] == "open" and band_rank(score.severity) < band_rank(cfg.open_at):
        return "resolved"
    return None


def _title(classification: Mapping[str, str], reporters: int, sectors: list[str]) -> str:
    kind = classification["type"].replace("-", " ")
    who = f"{reporters} reporter{'s' if reporters != 1 else ''}"
    return (
        f"{kind.capitalize()} campaign ({classification['class']}): {who}, "
        f"sectors {', '.join(sectors)}"[:200]
    )


def build_alert(
    campaign: Mapping[str, Any],
    score: Score,
    transition: str,
    version: int,
    emitted_at: float,
    note: str | None = None,
) -> dict[str, Any]:
    """One alert version (alert v1 payload) for a campaign as scored."""
    evidence = sorted(campaign["evidence"].items(), key=lambda kv: (kv[1]["seen_at"], kv[0]))
    reporters = sorted({e["reporter"] for _, e in evidence})
    sectors = sorted(
        {e["sector"] for _, e in evidence} | {e["reporter_sector"] for _, e in evidence}
    )
    reasons = list(score.reasons)
    if note:
        reasons.append({"rule": "lifecycle", "points": 0.0, "detail": note})
    if campaign["overflow_events"]:
        reasons.append(
            {
                "rule": "state-bound",
                "points": 0.0,
                "detail": f"{campaign['overflow_events']} more events not listed (evidence cap)",
            }
        )
    return {
        "alert_id": campaign["id"],
        "version": version,
        "transition": transition,
        "severity": score.severity,
        "score": score.score,
        "reasons": reasons,
        "classification": dict(score.classification),
        "sectors": sectors[:MAX_SECTORS],
        "reporters": reporters,
        "indicators": [
            {
                "kind": ind["kind"],
                "value": ind["value"],
                "key": key,
                "event_uids": list(ind["event_uids"]),
            }
            for key, ind in sorted(campaign["indicators"].items())
        ],
        "evidence": [
            {
                "event_uid": uid,
                "reporter": e["reporter"],
                "sector": e["reporter_sector"],
                "tlp": e["tlp"],
                "reported_at": e["reported_at"],
            }
            for uid, e in evidence
        ],
        "title": _title(score.classification, len(reporters), sectors),
        "first_seen": iso(campaign["first_seen"]),
        "last_seen": iso(campaign["last_seen"]),
        "emitted_at": iso(emitted_at),
    }


def remember(alert: Mapping[str, Any], partition: int, offset: int, events: int) -> dict[str, Any]:
    """The alert state after ``alert`` was acknowledged at ``partition``/``offset``."""
    return {
        "alert_id": alert["alert_id"],
        "version": alert["version"],
        "status": "resolved" if alert["transition"] == "resolved" else "open",
        "severity": alert["severity"],
        "evidence_uids": [e["event_uid"] for e in alert["evidence"]],
        "events": events,
        "partition": partition,
        "offset": offset,
    }


def adopt(
    state: Mapping[str, Any] | None, alert: Mapping[str, Any], partition: int, offset: int
) -> dict[str, Any] | None:
    """State updated from a record found on ``alerts.v1`` that the state does not know yet.

    Used when a partition is taken over: an alert acknowledged by the broker whose state write
    was lost in a crash is adopted, so its version is never emitted a second time.
    """
    if state is not None and state["version"] >= alert["version"]:
        return None
    events = len(alert["evidence"]) + sum(
        int(r["detail"].split()[0]) for r in alert["reasons"] if r["rule"] == "state-bound"
    )
    return remember(alert, partition, offset, events)
