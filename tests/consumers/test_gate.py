"""The TLP gate: each sharing rule, and a property test that nothing above clearance leaks."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confianza.consumers.chat.channel import chat_message
from confianza.consumers.email.channel import build_message
from confianza.consumers.gate import gate
from confianza.consumers.subscriptions import Subscriber
from confianza.consumers.syslog.format import json_line, syslog_message
from confianza.consumers.webhook.channel import webhook_body
from confianza.schemas.validate import validate_document

from .factory import evidence, make_alert, subscriber

LEVELS = ["clear", "green", "amber", "amber+strict", "red"]
REPORTERS = {
    "bcp": "banking",
    "interbank": "banking",
    "claro": "telecom",
    "entel": "telecom",
    "pnp-divindat": "justice",
    "indecopi": "government",
}


def five_levels_alert() -> dict[str, Any]:
    ev = [evidence("bcp", "banking", level) for level in LEVELS]
    indicators = [
        {
            "kind": "domain",
            "value": f"{level.replace('+', '-')}.example",
            "key": f"{level.replace('+', '-')}.example",
            "event_uids": [e["event_uid"]],
        }
        for level, e in zip(LEVELS, ev, strict=True)
    ]
    return make_alert(evidence_list=ev, indicators=indicators)


def seen_levels(sub: Subscriber) -> list[str]:
    gated = gate(five_levels_alert(), sub)
    return [] if gated is None else [e["tlp"] for e in gated.alert["evidence"]]


def test_public_sees_clear_only() -> None:
    assert seen_levels(subscriber(audience="public", sector=None, tlp_clearance="red")) == ["clear"]


def test_green_goes_to_partners_of_any_sector() -> None:
    telecom = subscriber(audience="telecom", sector="telecom", tlp_clearance="red")
    assert seen_levels(telecom) == ["clear", "green"]


def test_amber_goes_to_the_reporters_sector() -> None:
    bank = subscriber(
        audience="banking", sector="banking", organization="interbank", tlp_clearance="red"
    )
    assert seen_levels(bank) == ["clear", "green", "amber"]


def test_amber_strict_goes_to_the_reporter_itself() -> None:
    reporter = subscriber(
        audience="banking", sector="banking", organization="bcp", tlp_clearance="red"
    )
    assert seen_levels(reporter) == ["clear", "green", "amber", "amber+strict"]


def test_red_goes_to_center_analysts_only() -> None:
    center = subscriber(audience="center", sector=None, tlp_clearance="red")
    analyst = subscriber(audience="center", sector=None, tlp_clearance="red", analyst=True)
    assert seen_levels(center) == LEVELS[:4]
    assert seen_levels(analyst) == LEVELS


def test_the_configured_clearance_caps_every_rule() -> None:
    analyst = subscriber(audience="center", sector=None, tlp_clearance="green", analyst=True)
    assert seen_levels(analyst) == ["clear", "green"]


def test_evidence_without_a_tlp_20_level_is_never_shown() -> None:
    analyst = subscriber(audience="center", sector=None, tlp_clearance="red", analyst=True)
    for level in ("AMBER", "white", "orange", "", None, 2):
        odd = evidence("bcp", "banking", "clear") | {"tlp": level}
        alert = make_alert(evidence_list=[odd, evidence("bcp", "banking", "clear")])
        gated = gate(alert, analyst)
        assert gated is not None
        assert [e["event_uid"] for e in gated.alert["evidence"]] == [
            alert["evidence"][1]["event_uid"]
        ]


def test_nothing_cleared_means_nothing_sent() -> None:
    alert = make_alert(evidence_list=[evidence("bcp", "banking", "amber")])
    assert gate(alert, subscriber(audience="public", sector=None, tlp_clearance="clear")) is None


def test_the_gated_alert_is_a_valid_alert_and_lists_what_it_disclosed() -> None:
    alert = five_levels_alert()
    gated = gate(alert, subscriber(audience="telecom", sector="telecom"))
    assert gated is not None
    assert validate_document("alert", gated.alert) == ()
    assert gated.disclosed_event_uids == tuple(
        sorted(e["event_uid"] for e in alert["evidence"][:2])
    )
    assert gated.disclosed_indicator_keys == ("clear.example", "green.example")
    assert "amber.example" not in webhook_body(gated).decode()


# --- property: no indicator value or event uid above clearance is ever delivered ----------

reporters = st.sampled_from(sorted(REPORTERS))
levels = st.sampled_from(LEVELS)
kinds = st.sampled_from(["url", "domain", "phone", "iban", "sha256"])
audiences = st.sampled_from(["banking", "telecom", "government", "justice", "public", "center"])
sectors = st.sampled_from([None, "banking", "telecom", "government", "justice", "other"])
organizations = st.sampled_from([None, *sorted(REPORTERS)])
small = st.integers(0, 4)


@st.composite
def alerts(draw: st.DrawFn) -> dict[str, Any]:
    """Small alerts: 1-4 evidence events of any TLP, 0-4 indicators, reasons and a title
    that may quote indicator values, event uids and reporters. Uids and values are fixed per
    position (none is a substring of another): the gate's decisions depend on the structure."""
    ev = []
    for _ in range(draw(st.integers(1, 4))):
        reporter = draw(reporters)
        sector = REPORTERS[reporter] if draw(st.booleans()) else "other"
        ev.append(evidence(reporter, sector, draw(levels), str(uuid.UUID(int=len(ev) + 1))))
    ev_uids = [e["event_uid"] for e in ev]
    indicators = []
    for n in range(draw(small)):
        value = f"ioc-value-{n}-end"
        mask = draw(st.integers(1, 2 ** len(ev) - 1))
        indicators.append(
            {
                "kind": draw(kinds),
                "value": value,
                "key": "k" + value,
                "event_uids": [u for bit, u in enumerate(ev_uids) if mask >> bit & 1],
            }
        )
    alert = make_alert(evidence_list=ev, indicators=indicators)
    quotable = [i["value"] for i in indicators] + ev_uids + [e["reporter"] for e in ev]
    alert["reasons"] = [
        {
            "rule": "corroboration",
            "points": 5,
            "detail": f"visto en {quotable[draw(st.integers(0, len(quotable) - 1))]}",
        }
        for _ in range(draw(small))
    ]
    if indicators and draw(st.booleans()):
        alert["title"] = f"Campaña con {indicators[0]['value']}"
    return alert


@st.composite
def subscribers(draw: st.DrawFn) -> Subscriber:
    audience = draw(audiences)
    return subscriber(
        audience=audience,
        sector=draw(sectors),
        organization=draw(organizations),
        analyst=audience == "center" and draw(st.booleans()),
        tlp_clearance=draw(levels),
    )


def cleared(e: dict[str, Any], s: Subscriber) -> bool:
    """The policy table of docs/DESIGN.md, written out independently of the gate."""
    if LEVELS.index(e["tlp"]) > LEVELS.index(s.tlp_clearance):
        return False
    return {
        "clear": True,
        "green": s.audience != "public",
        "amber": s.audience == "center" or s.sector == e["sector"],
        "amber+strict": s.audience == "center" or s.organization == e["reporter"],
        "red": s.audience == "center" and s.analyst,
    }[e["tlp"]]


def withheld(alert: dict[str, Any], sub: Subscriber) -> tuple[set[str], set[str]]:
    """(event uids the subscriber may see, strings it must never receive)."""
    shown = {e["event_uid"] for e in alert["evidence"] if cleared(e, sub)}
    secrets = {e["event_uid"] for e in alert["evidence"]} - shown
    secrets |= {
        s
        for i in alert["indicators"]
        if not shown.intersection(i["event_uids"])
        for s in (i["value"], i["key"])
    }
    return shown, secrets


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alert=alerts(), sub=subscribers())
def test_no_gated_alert_carries_anything_above_clearance(
    alert: dict[str, Any], sub: Subscriber
) -> None:
    """Every channel renders from the gated alert alone, so its JSON is what may leak."""
    shown, secrets = withheld(alert, sub)
    gated = gate(alert, sub)
    assert (gated is None) == (not shown)
    if gated is None:
        return
    assert set(gated.disclosed_event_uids) == shown
    payload = webhook_body(gated).decode()
    assert not [s for s in secrets if s in payload]


@settings(max_examples=300, deadline=None)
@given(alert=alerts(), sub=subscribers())
def test_no_channel_renders_anything_above_clearance(
    alert: dict[str, Any], sub: Subscriber
) -> None:
    _, secrets = withheld(alert, sub)
    gated = gate(alert, sub)
    if gated is None:
        return
    email_sub = Subscriber(**{**sub.__dict__, "channel": "email", "target": ("soc@bcp.example",)})
    payloads = [
        build_message(gated, email_sub, "alertas@cnsd.example").as_string(),
        orjson.dumps(chat_message(gated, sub)).decode(),
        syslog_message(gated, sub.id).decode(),
        json_line(gated, sub.id).decode(),
    ]
    for payload in payloads:
        assert not [s for s in secrets if s in payload]
