"""STIX 2.1 bundles to incident events, on realistic bundles."""

from __future__ import annotations

from typing import Any

from confianza.producers.converters import EventDefaults, stix
from tests.producers.conftest import load
from tests.producers.converters.helpers import indicators, reasons, split

REPORT = "stix-phishing-report.json"
SIGHTINGS = "stix-sightings-tlp1.json"


def test_report_becomes_one_event_with_its_indicators(defaults: EventDefaults) -> None:
    events, unsupported = split(stix.convert(load(REPORT), defaults))
    assert [e.event["event_id"] for e in events] == [
        "stix-report--a4f1c2d3-5e6b-4c7d-9e8f-0a1b2c3d4e55"
    ]
    event = events[0].event
    assert event["title"] == "Sitios falsos de Interbank y gob.pe para robo de claves"
    assert event["description"].startswith("Campaña de phishing")
    assert event["occurred_at"] == "2025-05-06T14:55:00Z"
    assert event["classification"] == {"class": "fraud", "type": "phishing"}
    assert event["confidence"] == 85
    # The report is TLP 2.0 amber; one of its indicators is amber+strict.
    assert event["tlp"] == "amber+strict"
    assert indicators(event) == [
        ("url", "https://interbank-clientes.pe-seguro.com/acceso?ref=sms", "unspecified"),
        ("domain", "bono-familiar-gob.pe.consulta-dni.com", "unspecified"),
        ("domain", "consulta-dni.com", "unspecified"),
        ("url", "http://consulta-dni.com/gob.pe/bono/index.html", "unspecified"),
        ("sha256", "4a1d7c3e9b2f8a6d5c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e", "payload"),
        ("md5", "9e107d9d372bb6826bd81d3542a419d6", "payload"),
        ("ipv4", "198.51.100.77", "unspecified"),
    ]
    listed = {u.where: u.reason for u in unsupported}
    assert set(listed) == {
        "indicator--4d5e6f7a-8b9c-4d0e-9f2a-3b4c5d6e7f80",
        "indicator--5e6f7a8b-9c0d-4e1f-8a3b-4c5d6e7f8091",
        "identity--7d2e4c1a-9b3f-4e6d-8a0c-5f1b2d3e4a92",
        "malware--6f7a8b9c-0d1e-4f2a-9b4c-5d6e7f8091a2",
        "relationship--7a8b9c0d-1e2f-4a3b-8c5d-6e7f8091a2b3",
    }
    assert "network-traffic:dst_port" in listed["indicator--4d5e6f7a-8b9c-4d0e-9f2a-3b4c5d6e7f80"]
    assert "pattern_type 'sigma'" in listed["indicator--5e6f7a8b-9c0d-4e1f-8a3b-4c5d6e7f8091"]


def test_sightings_loose_indicators_and_tlp_1(defaults: EventDefaults) -> None:
    events, unsupported = split(stix.convert(load(SIGHTINGS), defaults))
    by_id = {e.event["event_id"]: e.event for e in events}
    sighting = by_id["stix-sighting--b2c3d4e5-f6a7-4b8c-9d0e-f1a2b3c4d5e6"]
    assert sighting["occurred_at"] == "2025-06-02T03:12:00Z"
    assert sighting["confidence"] == 95
    # Sighting TLP:AMBER (1.0) over the indicator's TLP:GREEN.
    assert sighting["tlp"] == "amber"
    assert sighting["classification"] == {"class": "fraud", "type": "phishing"}
    assert sighting["description"] == "Seen 1342 times."
    assert indicators(sighting) == [
        ("email", "premios@claro-sorteos-peru.net", "unspecified"),
        ("domain", "claro-sorteos-peru.net", "unspecified"),
    ]
    loose = by_id["stix-bundle--9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"]
    assert loose["tlp"] == "clear"  # TLP 1.0 WHITE
    assert loose["classification"] == {"class": "other", "type": "undetermined"}
    assert indicators(loose) == [("ipv6", "2001:db8:4f2::1c", "unspecified")]
    assert len(events) == 2
    text = "\n".join(reasons(unsupported))
    for expected in (
        "FOLLOWEDBY describes a sequence",
        "the REPEATS qualifier",
        "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f: a marking definition that is not TLP",
        "sighting of malware--d4e5f6a7-b8c9-4d0e-9f1a-b2c3d4e5f6a8, which is no converted",
        "observed-data--a8b9c0d1-e2f3-4a4b-9c5d-e6f7a8b9c0d2: observed-data objects are context",
        "domain-name--b9c0d1e2-f3a4-5b5c-8d6e-f7a8b9c0d1e3: a cyber observable outside",
        "identity--e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b",
    ):
        assert expected in text
    assert len(unsupported) == 7


def _bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
            "objects": list(objects)}  # fmt: skip


def _indicator(marking: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--00000000-0000-4000-8000-00000000000a",
        "pattern": "[domain-name:value = 'a.pe']",
        "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": [marking],
    }


def test_markings_are_read_by_content_when_the_id_is_not_a_standard_one(
    defaults: EventDefaults,
) -> None:
    tlp1 = {
        "type": "marking-definition",
        "id": "marking-definition--00000000-0000-4000-8000-0000000000b1",
        "definition_type": "tlp",
        "definition": {"tlp": "red"},
    }
    tlp2 = {
        "type": "marking-definition",
        "id": "marking-definition--00000000-0000-4000-8000-0000000000b2",
        "name": "TLP:AMBER+STRICT",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "amber+strict",
            }
        },
    }
    for marking, level in ((tlp1, "red"), (tlp2, "amber+strict")):
        events, unsupported = split(
            stix.convert(_bundle(marking, _indicator(marking["id"])), defaults)
        )
        assert events[0].event["tlp"] == level
        assert unsupported == []


def test_unmarked_bundle_takes_the_default_tlp(defaults: EventDefaults) -> None:
    indicator = _indicator("marking-definition--nowhere")
    events, _ = split(stix.convert(_bundle(indicator), defaults))
    assert events[0].event["tlp"] == "amber"
    assert "title" not in events[0].event
    assert events[0].event["description"] == (
        "Imported from STIX bundle--00000000-0000-4000-8000-000000000001."
    )


def test_not_a_bundle_is_detected() -> None:
    assert stix.looks_like_stix(load(REPORT))
    assert not stix.looks_like_stix({"Event": {}})
    assert not stix.looks_like_stix([])
