"""Valid alert v1 documents and subscribers for the delivery tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from confianza.consumers.subscriptions import Grouping, RateLimit, Subscriber

NO_GROUPING = Grouping(group_wait=0.0, group_interval=0.0, repeat_interval=3600.0)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def evidence(reporter: str, sector: str, tlp: str, uid: str | None = None) -> dict[str, Any]:
    return {
        "event_uid": uid or str(uuid.uuid4()),
        "reporter": reporter,
        "sector": sector,
        "tlp": tlp,
        "reported_at": now(),
    }


def make_alert(
    alert_id: str = "alert-1",
    version: int = 1,
    severity: str = "high",
    evidence_list: list[dict[str, Any]] | None = None,
    indicators: list[dict[str, Any]] | None = None,
    transition: str = "opened",
) -> dict[str, Any]:
    """An alert v1 with one CLEAR evidence event and one phishing URL unless told otherwise."""
    if evidence_list is None:
        evidence_list = [evidence("bcp", "banking", "clear")]
    if indicators is None:
        url = f"https://bcp-seguro-{alert_id}.example/login"
        indicators = [
            {"kind": "url", "value": url, "key": url, "event_uids": [evidence_list[0]["event_uid"]]}
        ]
    stamp = now()
    return {
        "alert_id": alert_id,
        "version": version,
        "transition": transition,
        "severity": severity,
        "score": 72.5,
        "reasons": [{"rule": "corroboration", "points": 20, "detail": "reportado por 2 socios"}],
        "classification": {"class": "fraud", "type": "phishing"},
        "sectors": sorted({e["sector"] for e in evidence_list}),
        "reporters": sorted({e["reporter"] for e in evidence_list}),
        "indicators": indicators,
        "evidence": evidence_list,
        "title": "Campaña de phishing que suplanta a un banco",
        "first_seen": stamp,
        "last_seen": stamp,
        "emitted_at": stamp,
    }


def subscriber(
    sid: str = "sub-a",
    channel: str = "webhook",
    target: str | tuple[str, ...] = "http://127.0.0.1:1/",
    audience: str = "banking",
    sector: str | None = "banking",
    organization: str | None = None,
    tlp_clearance: str = "amber",
    analyst: bool = False,
    min_severity: str = "low",
    grouping: Grouping = NO_GROUPING,
    timeout: float = 2.0,
    secret_env: str | None = "TEST_WHSEC",  # noqa: S107 - a variable name
    smtp: Any = None,
) -> Subscriber:
    return Subscriber(
        id=sid,
        audience=audience,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        target=target,
        min_severity=min_severity,
        tlp_clearance=tlp_clearance,
        sector=sector,
        organization=organization,
        analyst=analyst,
        grouping=grouping,
        rate_limit=RateLimit(max=10_000, per=1.0),
        timeout=timeout,
        webhook_secret_env=secret_env if channel == "webhook" else None,
        smtp=smtp,
    )
