"""TLP, end to end without Kafka: events of any TLP from partners of several sectors go through
the streams worker's own stages (admission, correlation, scoring, alert versions), and every
alert version is gated for a generated subscriber.

For each of ``CONFIANZA_TLP_CASES`` cases (10,000 by default) and every alert version built:
the subscriber gets an alert exactly when it is cleared for some evidence; it gets exactly the
evidence the policy table of docs/DESIGN.md allows (written out here independently of the
gate); no withheld event uid, indicator value or key appears in the webhook body; the
reporters, reasons and title it sees name no reporter whose evidence was withheld; and the
gated alert is still a valid alert v1. (``tests/consumers/test_gate.py`` checks the gate over
hand-built alerts; here the alerts are the ones the pipeline really builds, reasons included.)
"""

from __future__ import annotations

import os
import re
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confianza.consumers.gate import gate
from confianza.consumers.subscriptions import Subscriber
from confianza.consumers.webhook.channel import webhook_body
from confianza.schemas.validate import validate_document
from tests.consumers.factory import subscriber
from tests.fuzz.check import PureStreams
from tests.reliability.audit import cleared, withheld

CASES = int(os.environ.get("CONFIANZA_TLP_CASES", "10000"))
PARTNERS = {
    "bcp": "banking",
    "interbank": "banking",
    "claro": "telecom",
    "pnp-divindat": "justice",
    "indecopi": "government",
}
LEVELS = ["clear", "green", "amber", "amber+strict", "red"]
POOL = [("domain", f"campana{n}-fraude{{case}}.com") for n in range(4)] + [
    ("phone", f"+519{{case:05d}}{n}{n}{n}") for n in range(4)
]
STREAMS = PureStreams(PARTNERS)  # one worker for every case; each case has its own ids
_case = [0]
SEVERITIES = ("medium", "high", "critical")
SECTORS = ("banking", "telecom", "government")
AUDIENCES = ("banking", "telecom", "government", "justice", "public", "center")
ORGANIZATIONS = (None, *sorted(PARTNERS))

# Plain integer draws (cheap to generate and to shrink), decoded below.
_event = st.tuples(
    st.integers(0, len(PARTNERS) - 1),  # reporter
    st.integers(1, 2 ** len(POOL) - 1),  # which pool indicators it carries (a bit mask)
    st.integers(0, len(LEVELS) - 1),  # tlp
    st.integers(0, len(SEVERITIES) - 1),
    st.integers(0, len(SECTORS) - 1),  # affected sector
)
reports = st.lists(_event, min_size=2, max_size=5)
subscribers = st.tuples(
    st.integers(0, len(AUDIENCES) - 1),
    st.integers(0, len(SECTORS) - 1),
    st.integers(0, len(ORGANIZATIONS) - 1),
    st.booleans(),  # analyst (center audience only)
    st.integers(0, len(LEVELS) - 1),  # clearance
)


def decode_events(drawn: list[tuple[int, ...]], case: int) -> list[tuple[str, dict[str, Any]]]:
    """The events of one case; the case number is in every id and indicator value, so cases
    never share a campaign."""
    out = []
    for n, (who, mask, tlp, severity, sector) in enumerate(drawn):
        picks = [POOL[i] for i in range(len(POOL)) if mask >> i & 1][:3]
        event = {
            "event_id": f"tlp-{case}-{n}",
            "occurred_at": "2026-01-10T10:00:00-05:00",
            "reported_at": f"2026-01-10T10:{n:02d}:00-05:00",
            "classification": {"class": "fraud", "type": "phishing"},
            "tlp": LEVELS[tlp],
            "severity": SEVERITIES[severity],
            "confidence": 90,
            "sector": SECTORS[sector],
            "description": "Reporte.",
            "indicators": [
                {"kind": k, "value": v.format(case=case % 100_000), "role": "phishing"}
                for k, v in picks
            ],
        }
        out.append((sorted(PARTNERS)[who], event))
    return out


def decode_subscriber(drawn: tuple[int, int, int, bool, int]) -> Subscriber:
    audience, sector, organization, analyst, clearance = drawn
    return subscriber(
        audience=AUDIENCES[audience],
        sector=None if AUDIENCES[audience] in ("public", "center") else SECTORS[sector],
        organization=ORGANIZATIONS[organization],
        analyst=AUDIENCES[audience] == "center" and analyst,
        tlp_clearance=LEVELS[clearance],
    )


def _names(text: str, reporters: set[str]) -> set[str]:
    return {r for r in reporters if re.search(rf"(?<![\w-]){re.escape(r)}(?![\w-])", text)}


@settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=reports, drawn_sub=subscribers)
def test_pipeline_built_alerts_disclose_only_what_the_subscriber_is_cleared_for(
    drawn: list[tuple[int, ...]], drawn_sub: tuple[int, int, int, bool, int]
) -> None:
    _case[0] += 1
    sub = decode_subscriber(drawn_sub)
    emitted = len(STREAMS.alerts)
    for partner, event in decode_events(drawn, _case[0]):
        STREAMS.feed(orjson.dumps(event), partner)
    for alert in STREAMS.alerts[emitted:]:
        shown, secret = withheld(alert, sub)
        gated = gate(alert, sub)
        assert (gated is None) == (not shown)
        if gated is None:
            continue
        body = webhook_body(gated)
        assert set(gated.disclosed_event_uids) == shown
        assert {e["event_uid"] for e in gated.alert["evidence"]} == shown
        assert all(cleared(e, sub) for e in gated.alert["evidence"])
        assert not [s for s in secret if s.encode() in body]
        hidden = {e["reporter"] for e in alert["evidence"] if e["event_uid"] not in shown}
        hidden -= {e["reporter"] for e in gated.alert["evidence"]}
        assert set(gated.alert["reporters"]) <= {e["reporter"] for e in gated.alert["evidence"]}
        texts = [gated.alert["title"], *(r["detail"] for r in gated.alert["reasons"])]
        assert not [t for t in texts if _names(t, hidden)]
        assert validate_document("alert", gated.alert) == ()
