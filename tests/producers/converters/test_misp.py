"""MISP events to incident events, on realistic MISP documents."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from confianza.producers.converters import EventDefaults, misp
from tests.producers.conftest import load
from tests.producers.converters.helpers import indicators, reasons, split

SMISHING = "misp-smishing-bcp.json"
APK = "misp-bare-apk-trojan.json"


def test_smishing_event_maps_every_field(defaults: EventDefaults) -> None:
    events, unsupported = split(misp.convert(load(SMISHING), defaults))
    assert len(events) == 1
    event = events[0].event
    assert event["event_id"] == "misp-6b7f3a52-0c1e-4d2a-9f41-7e2d5c8a9b10"
    assert event["classification"] == {"class": "fraud", "type": "phishing"}
    # tlp:amber+strict on the event, tlp:red on the phone attribute: the stricter wins.
    assert event["tlp"] == "red"
    assert event["severity"] == "high"
    assert event["sector"] == "banking"
    assert event["occurred_at"] == "2025-03-14T00:00:00Z"
    assert event["reported_at"] == "2025-06-03T12:00:00Z"
    assert event["title"].startswith("Campaña de smishing suplantando a BCP")
    assert indicators(event) == [
        ("url", "hxxps://zonasegura-viabcp[.]com/validar/tarjeta.php?id=PE83411", "unspecified"),
        ("domain", "zonasegura-viabcp.com", "unspecified"),
        ("ipv4", "203.0.113.45", "unspecified"),
        ("phone", "+51 987 654 321", "scam-contact"),
        ("url", "https://bcp-zonasegura.online/login", "phishing"),
        ("bank-account", "00219300456789012345", "mule-account"),
        ("iban", "ES60 0049 1500 0512 3456 7892", "mule-account"),
    ]
    text = "\n".join(reasons(unsupported))
    for expected in (
        "tags without an event field: circl:incident-classification",
        "attribute 5 (ip-dst): '203.0.113.0/24' is a network range",
        "attribute 6 (text): MISP type 'text' has no indicator kind",
        "attribute 7 (url): deleted in MISP",
        "attribute 8 (link): MISP type 'link' has no indicator kind",
        "object 1 (phishing) attribute 2 (text)",
        "object 2 (bank-account) attribute 3 (text)",
        "galaxy cluster 'Phishing - T1566'",
    ):
        assert expected in text
    assert len(unsupported) == 8


def test_bare_event_with_event_tags_composites_and_distribution(defaults: EventDefaults) -> None:
    events, unsupported = split(misp.convert(load(APK), defaults))
    event = events[0].event
    # ecsirt:malicious-code="trojan" is read as its RSIT successor.
    assert event["classification"] == {"class": "malicious-code", "type": "infected-system"}
    # No TLP tag; distribution 0 (your organisation only) -> amber+strict.
    assert event["tlp"] == "amber+strict"
    assert event["severity"] == "medium"
    assert indicators(event) == [
        ("sha256", "8D3F5A1C2B9E7D6F4A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2F", "payload"),
        ("md5", "5f4dcc3b5aa765d61d8327deb882cf99", "payload"),
        ("sha1", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "payload"),
        ("domain", "panel-yape-update.xyz", "unspecified"),
        ("ipv4", "198.51.100.23", "unspecified"),
        ("ipv6", "2001:db8:85a3::8a2e:370:7334", "unspecified"),
        ("domain", "cdn.panel-yape-update.xyz", "unspecified"),
        ("crypto-wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "mule-account"),
    ]
    assert reasons(unsupported) == [
        "MISP event b1f0c8d2-6a4e-4c3b-9d7a-2e5f8a1c0d64: tags without an event field: type:OSINT",
        "MISP event b1f0c8d2-6a4e-4c3b-9d7a-2e5f8a1c0d64 attribute 8 (regkey): "
        "MISP type 'regkey' has no indicator kind",
        "MISP event b1f0c8d2-6a4e-4c3b-9d7a-2e5f8a1c0d64 attribute 9 (md5): "
        "repeats the md5 '5f4dcc3b5aa765d61d8327deb882cf99' already in the event",
    ]


def test_wrapped_bare_and_search_result_forms_agree(defaults: EventDefaults) -> None:
    wrapped = load(SMISHING)
    bare = wrapped["Event"]
    search = {"response": [wrapped, {"Event": load(APK)}]}
    first = [i.event for i in split(misp.convert(wrapped, defaults))[0]]
    assert [i.event for i in split(misp.convert(bare, defaults))[0]] == first
    both = [i.event["event_id"] for i in split(misp.convert(search, defaults))[0]]
    assert both == [
        "misp-6b7f3a52-0c1e-4d2a-9f41-7e2d5c8a9b10",
        "misp-b1f0c8d2-6a4e-4c3b-9d7a-2e5f8a1c0d64",
    ]
    for shape in (wrapped, bare, search, [wrapped]):
        assert misp.looks_like_misp(shape)
    assert not misp.looks_like_misp({"type": "bundle", "objects": []})


def _event(tags: list[str] | None = None, distribution: str = "1", **extra: Any) -> dict:
    event: dict[str, Any] = {
        "uuid": "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f",
        "info": "Prueba",
        "date": "2025-01-02",
        "distribution": distribution,
        "Attribute": [{"type": "domain", "value": "ejemplo-fraude.pe", "distribution": "5"}],
    }
    if tags is not None:
        event["Tag"] = [{"name": t} for t in tags]
    event.update(extra)
    return {"Event": event}


@pytest.mark.parametrize(
    ("tags", "distribution", "tlp"),
    [
        (["tlp:clear"], "0", "clear"),  # a TLP tag beats the distribution
        (["TLP:WHITE"], "1", "clear"),
        (["tlp:green"], "1", "green"),
        (["tlp:amber"], "3", "amber"),
        (["tlp:amber+strict"], "3", "amber+strict"),
        (["tlp:green", "tlp:red"], "3", "red"),
        ([], "0", "amber+strict"),
        ([], "1", "amber"),
        ([], "2", "green"),
        ([], "3", "clear"),
        ([], "4", "amber"),
        ([], "9", "amber"),  # unknown distribution: the default
    ],
)
def test_tlp_from_tags_then_distribution(
    tags: list[str], distribution: str, tlp: str, defaults: EventDefaults
) -> None:
    events, _ = split(misp.convert(_event(tags, distribution), defaults))
    assert events[0].event["tlp"] == tlp


@pytest.mark.parametrize(
    ("level", "severity"), [("1", "high"), ("2", "medium"), ("3", "low"), ("4", "medium")]
)
def test_threat_level_is_a_severity_hint(
    level: str, severity: str, defaults: EventDefaults
) -> None:
    events, _ = split(misp.convert(_event(threat_level_id=level), defaults))
    assert events[0].event["severity"] == severity


def test_default_classification_and_bad_rsit_tag(defaults: EventDefaults) -> None:
    events, unsupported = split(misp.convert(_event([]), defaults))
    assert events[0].event["classification"] == {"class": "other", "type": "undetermined"}
    events, unsupported = split(misp.convert(_event(['rsit:fraud="smishing"']), defaults))
    assert events[0].event["classification"] == {"class": "other", "type": "undetermined"}
    assert "is not an RSIT class/type; default classification kept" in unsupported[0].reason


def test_more_than_fifty_indicators_split_into_parts(defaults: EventDefaults) -> None:
    document = _event(["tlp:green"])
    document["Event"]["Attribute"] = [
        {"type": "phone-number", "value": f"+51 9{n:08d}"} for n in range(120)
    ]
    events, unsupported = split(misp.convert(document, defaults))
    ids = [e.event["event_id"] for e in events]
    base = "misp-0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
    assert ids == [base, f"{base}-p2", f"{base}-p3"]
    assert [len(e.event["indicators"]) for e in events] == [50, 50, 20]
    assert events[2].where.endswith("(part 3 of 3)")
    assert not unsupported


def test_event_without_identity_is_reported_not_dropped(defaults: EventDefaults) -> None:
    document = _event()
    del document["Event"]["uuid"]
    events, unsupported = split(misp.convert(document, defaults))
    assert events == []
    assert unsupported[0].reason == "the event has no uuid or id, so it has no stable event_id"


def test_converting_does_not_change_the_input(defaults: EventDefaults) -> None:
    document = load(SMISHING)
    before = copy.deepcopy(document)
    list(misp.convert(document, defaults))
    assert document == before
