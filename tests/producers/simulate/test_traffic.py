"""The simulator's pure generator: deterministic, valid where it should be, invalid where it
should be, and a ground truth that describes the traffic exactly."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from confianza.producers.simulate import ConfigError, SimulationConfig, Traffic, generate
from confianza.producers.simulate.roster import ROSTER, first_partners
from confianza.schemas.indicators import normalize, normalize_all
from confianza.schemas.validate import Rejection, validate_event

START = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
CONFIG = SimulationConfig(
    partners=9, rate=40, duration=30, campaigns=5, noise=0.5, seed=11,
    malformed=0.03, oversize=0.01, duplicates=0.04, start=START,
)  # fmt: skip


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def events(traffic: Traffic) -> dict[tuple[str, str], dict[str, Any]]:
    """Every first-sent event by (partner, event_id), as the server will parse it."""
    found = {}
    for record in traffic:
        if record.kind == "event":
            parsed = validate_event(record.payload)
            assert isinstance(parsed, dict), (record.event_id, parsed)
            found[record.partner, record.event_id] = parsed
    return found


def test_same_seed_and_start_give_the_same_bytes_and_truth(traffic: Traffic) -> None:
    again = generate(CONFIG)
    assert list(again) == list(traffic)
    assert again.truth.as_dict() == traffic.truth.as_dict()
    other = generate(SimulationConfig(**{**CONFIG.__dict__, "seed": 12}))
    assert [r.payload for r in other] != [r.payload for r in traffic]


def test_counts_order_and_schedule(traffic: Traffic) -> None:
    counts = CONFIG.counts()
    assert len(traffic) == counts["total"] == 1200
    kinds = defaultdict(int)
    for record in traffic:
        kinds[record.kind] += 1
    assert kinds == {
        "event": counts["campaign"] + counts["noise"],
        "duplicate": counts["duplicates"],
        "malformed": counts["malformed"],
        "oversize": counts["oversize"],
    }
    offsets = [r.at for r in traffic]
    assert offsets == sorted(offsets)
    assert offsets[0] >= 0
    assert offsets[-1] < CONFIG.duration
    assert {r.partner for r in traffic} == {p.id for p in first_partners(9)}


def test_well_formed_events_validate_and_their_indicators_normalize(
    traffic: Traffic, events: dict[tuple[str, str], dict[str, Any]]
) -> None:
    for event in events.values():
        _, invalid = normalize_all(event["indicators"])
        assert invalid == [], (event["event_id"], invalid)
        assert event["event_id"].startswith(f"sim-{traffic.run_id}-")
    # Event ids are unique per partner; reported_at is the planned send time.
    assert len(events) == CONFIG.counts()["campaign"] + CONFIG.counts()["noise"]


def test_malformed_and_oversized_records_are_rejected(traffic: Traffic) -> None:
    reasons = defaultdict(set)
    for record in traffic:
        if record.kind in ("malformed", "oversize"):
            assert record.event is None
            verdict = validate_event(record.payload)
            assert isinstance(verdict, Rejection), record.event_id
            reasons[record.kind].add(verdict.reason)
    assert reasons["oversize"] == {"oversize"}
    assert reasons["malformed"] <= {"not-json", "not-utf8", "schema"}
    assert len(reasons["malformed"]) >= 2


def test_duplicates_resend_an_earlier_event_unchanged(traffic: Traffic) -> None:
    first_sent: dict[tuple[str, str], tuple[float, bytes]] = {}
    duplicates = []
    for record in traffic:
        if record.kind == "event":
            first_sent[record.partner, record.event_id] = (record.at, record.payload)
        elif record.kind == "duplicate":
            at, payload = first_sent[record.partner, record.event_id]
            assert record.at >= at
            assert record.payload == payload
            duplicates.append({"partner": record.partner, "event_id": record.event_id})
    assert traffic.truth.as_dict()["duplicates"] == duplicates


def _link_keys(event: dict[str, Any]) -> set[str]:
    return {
        normalize(i["kind"], i["value"]).key for i in event["indicators"] if i["role"] != "victim"
    }


def test_campaigns_are_connected_cross_sector_and_own_their_indicators(
    traffic: Traffic, events: dict[tuple[str, str], dict[str, Any]]
) -> None:
    truth = traffic.truth.as_dict()
    sectors = {p["partner"]: p["sector"] for p in truth["partners"]}
    owner: dict[str, str] = {}
    for campaign in truth["campaigns"]:
        members = [events[e["partner"], e["event_id"]] for e in campaign["events"]]
        reporters = {e["partner"] for e in campaign["events"]}
        assert 2 <= len(reporters) <= 5
        assert len({sectors[p] for p in reporters}) >= 2
        # The truth lists canonical values, exactly the keys the events carry between them.
        listed = {f"{i['kind']}:{i['value']}" for i in campaign["indicators"]}
        for item in campaign["indicators"]:
            assert normalize(item["kind"], item["value"]).value == item["value"]
        carried = set().union(*(_link_keys(e) for e in members))
        assert carried == listed
        # Every event after the first shares a key with an earlier one: one connected campaign.
        ordered = sorted(members, key=lambda e: e["reported_at"])
        seen = _link_keys(ordered[0])
        for event in ordered[1:]:
            assert _link_keys(event) & seen, event["event_id"]
            seen |= _link_keys(event)
        assert campaign["first_event_at"] == ordered[0]["reported_at"]
        for key in listed:
            assert owner.setdefault(key, campaign["id"]) == campaign["id"]
    # Background incidents share nothing, with campaigns or with each other.
    for ref in truth["noise_events"]:
        for key in _link_keys(events[ref["partner"], ref["event_id"]]):
            assert owner.setdefault(key, ref["event_id"]) == ref["event_id"], key
    all_refs = [e for c in truth["campaigns"] for e in c["events"]] + truth["noise_events"]
    assert len(all_refs) == len(events)


def test_truth_file_has_the_documented_shape(traffic: Traffic, tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    traffic.truth.write(path)
    truth = orjson.loads(path.read_bytes())
    assert set(truth) == {
        "seed", "start", "partners", "campaigns", "noise_events", "malformed", "oversize",
        "duplicates",
    }  # fmt: skip
    assert truth["seed"] == 11
    assert truth["start"] == "2025-06-03T12:00:00Z"
    assert truth["malformed"] == CONFIG.counts()["malformed"]
    assert truth["oversize"] == CONFIG.counts()["oversize"]
    campaign = truth["campaigns"][0]
    assert set(campaign) == {"id", "kind", "target", "indicators", "events", "first_event_at"}
    assert {c["kind"] for c in truth["campaigns"]} == {
        "phishing", "smishing", "sim-swap", "mule-accounts", "malware",
    }  # fmt: skip


def test_partner_prefix_keeps_a_run_apart() -> None:
    traffic = generate(SimulationConfig(partners=3, rate=5, duration=4, campaigns=1, seed=1,
                                    start=START, partner_prefix="t7-"))  # fmt: skip
    assert {r.partner for r in traffic} <= {"t7-bcp", "t7-claro", "t7-pnp-divindat"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": 1, "duration": 3}, "5 campaigns need at least 10 campaign events"),
        ({"partners": 1}, "--partners must be between 2 and 14"),
        ({"noise": 1.5}, "--noise is a fraction"),
        ({"malformed": 0.5, "duplicates": 0.5}, "must stay below 1"),
        ({"rate": 0}, "must be positive"),
        ({"partner_prefix": "X_"}, "invalid partner id"),
    ],
)
def test_impossible_configurations_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        generate(SimulationConfig(**{**CONFIG.__dict__, **changes}))


def test_roster_matches_the_deployment_roster() -> None:
    deployed = Path(__file__).resolve().parents[3] / "deploy" / "partners.yaml"
    entries = yaml.safe_load(deployed.read_text(encoding="utf-8"))["partners"]
    assert {(e["id"], e["sector"], e["name"]) for e in entries} == {
        (p.id, p.sector, p.name) for p in ROSTER
    }
    # Interleaved by sector: any two first partners already span two sectors.
    assert len({p.sector for p in first_partners(2)}) == 2
