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
    ("phone", f"+519{{case:04d}}{n}{n}{n}{n}") for n in range(4)
]
STREAMS = PureStreams(PARTNERS)  # one worker for every case; each case has its own ids
_case = [0]


@st.composite
def reports(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    """2 to 5 events sharing indicators from a small pool, so they form campaigns."""
    out = []
    for n in range(draw(st.integers(2, 5))):
        partner = draw(st.sampled_from(sorted(PARTNERS)))
        picks = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True))
        out.append(
            (
                partner,
                {
                    "event_id": f"tlp-{n}",
                    "occurred_at": "2026-01-10T10:00:00-05:00",
                    "reported_at": f"2026-01-10T10:{n:02d}:00-05:00",
                    "classification": {"class": "fraud", "type": "phishing"},
                    "tlp": draw(st.sampled_from(LEVELS)),
                    "severity": draw(st.sampled_from(["medium", "high", "critical"])),
                    "confidence": 90,
                    "sector": draw(st.sampled_from(["banking", "telecom", "government"])),
                    "description": "Reporte.",
                    # templates: each case fills in its number, so cases never share a campaign
                    "indicators": [{"kind": k, "value": v, "role": "phishing"} for k, v in picks],
                },
            )
        )
    return out


@st.composite
def subscribers(draw: st.DrawFn) -> Subscriber:
    audience = draw(
        st.sampled_from(["banking", "telecom", "government", "justice", "public", "center"])
    )
    return subscriber(
        audience=audience,
        sector=None if audience in ("public", "center") else draw(st.sampled_from(
            sorted(set(PARTNERS.values()))
        )),
        organization=draw(st.sampled_from([None, *sorted(PARTNERS)])),
        analyst=audience == "center" and draw(st.booleans()),
        tlp_clearance=draw(st.sampled_from(LEVELS)),
    )  # fmt: skip


def _names(text: str, reporters: set[str]) -> set[str]:
    return {r for r in reporters if re.search(rf"(?<![\w-]){re.escape(r)}(?![\w-])", text)}


@settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(events=reports(), sub=subscribers())
def test_pipeline_built_alerts_disclose_only_what_the_subscriber_is_cleared_for(
    events: list[tuple[str, dict[str, Any]]], sub: Subscriber
) -> None:
    _case[0] += 1
    case = _case[0]
    emitted = len(STREAMS.alerts)
    for partner, event in events:
        unique = {
            **event,
            "event_id": f"{event['event_id']}-{case}",
            "indicators": [
                {**i, "value": i["value"].format(case=case % 10_000)} for i in event["indicators"]
            ],
        }
        STREAMS.feed(orjson.dumps(unique), partner)
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
