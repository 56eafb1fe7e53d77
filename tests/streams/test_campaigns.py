"""Campaign graph, scoring and the alert lifecycle, over plain dicts (no broker)."""

from __future__ import annotations

import asyncio

from confianza.schemas.validate import validate_document
from confianza.streams.campaigns import CampaignStage, TickIndex
from confianza.streams.correlate import CampaignGraph
from confianza.streams.score import DAY_S, load_scoring
from tests.streams.helpers import Emitter, event, sightings_of

CFG = load_scoring()
PHISH_URL = ("url", "https://bcp-zonasegura.com/login", "phishing")
SCAM_PHONE = ("phone", "987654321", "scam-contact")
MULE = ("bank-account", "00320000300012345633", "mule-account")
OTHER_URL = ("url", "https://interbank-seguro.com/", "phishing")


def _stage() -> tuple[CampaignStage, Emitter, dict, dict, dict]:
    index: dict = {}
    campaigns: dict = {}
    states: dict = {}
    emitter = Emitter()
    return CampaignStage(CFG, index, campaigns, states, emitter), emitter, index, campaigns, states


def _feed_two_campaigns(stage: CampaignStage) -> None:
    """Two campaigns of two reporters each, one per phishing URL, one event at a time."""
    for partner, sector, event_id, url in (
        ("bcp", "banking", "B-1", PHISH_URL),
        ("claro", "telecom", "C-1", PHISH_URL),
        ("interbank", "banking", "I-1", OTHER_URL),
        ("entel", "telecom", "E-1", OTHER_URL),
    ):
        _feed(stage, sightings_of(partner, event(event_id, [url]), sector))


def _bridge() -> list[dict]:
    """An event that shares an indicator with each of the two campaigns."""
    return sightings_of("pnp-divindat", event("P-1", [PHISH_URL, OTHER_URL]), "justice")


def _feed(stage: CampaignStage, sightings: list[dict]) -> None:
    async def run() -> None:
        for s in sightings:
            await stage.on_sightings([s])

    asyncio.run(run())


def test_events_sharing_any_indicator_join_one_campaign_and_open_one_alert() -> None:
    stage, emitter, _, campaigns, _ = _stage()
    _feed(stage, sightings_of("bcp", event("B-1", [PHISH_URL, MULE]), "banking"))
    assert emitter.alerts == []  # one reporter: below the opening band
    _feed(stage, sightings_of("claro", event("C-1", [SCAM_PHONE, MULE]), "telecom"))
    _feed(stage, sightings_of("pnp-divindat", event("P-1", [SCAM_PHONE]), "justice"))
    assert len(campaigns) == 1
    versions = [(a["alert_id"], a["version"], a["transition"]) for a in emitter.alerts]
    assert versions[0][1:] == (1, "opened")
    assert len({v[0] for v in versions}) == 1
    assert [v[1] for v in versions] == list(range(1, len(versions) + 1))
    last = emitter.alerts[-1]
    assert last["reporters"] == ["bcp", "claro", "pnp-divindat"]
    assert len(last["evidence"]) == 3
    assert {r["rule"] for r in last["reasons"]} >= {
        "rsit-base",
        "corroboration",
        "sector-spread",
        "decay",
    }
    for alert in emitter.alerts:
        assert validate_document("alert", alert) == ()


def test_a_batch_gives_each_alert_one_version_sent_together() -> None:
    one_by_one, apart, *_ = _stage()
    together, batched, *_ = _stage()
    stream = [
        *sightings_of("bcp", event("B-1", [PHISH_URL, MULE]), "banking"),
        *sightings_of("claro", event("C-1", [SCAM_PHONE, MULE]), "telecom"),
        *sightings_of("pnp-divindat", event("P-1", [SCAM_PHONE]), "justice"),
        *sightings_of("entel", event("E-1", [SCAM_PHONE]), "telecom", offset=1),
    ]
    _feed(one_by_one, stream)
    asyncio.run(together.on_sightings(stream))
    assert len(apart.alerts) > 1  # one version per new event, one at a time
    assert batched.batches == [1]  # the batch: one version, one round of acknowledgements
    (alert,) = batched.alerts
    assert (alert["version"], alert["transition"]) == (1, "opened")
    last = apart.alerts[-1]
    assert alert["evidence"] == last["evidence"]
    assert (alert["score"], alert["severity"]) == (last["score"], last["severity"])
    asyncio.run(together.on_sightings(stream))  # the batch again (a replay) emits nothing
    assert batched.batches == [1]


def test_a_merge_in_a_batch_resolves_the_absorbed_alert_in_the_same_round() -> None:
    stage, emitter, _, campaigns, _ = _stage()
    _feed_two_campaigns(stage)
    emitted = len(emitter.alerts)
    asyncio.run(stage.on_sightings(_bridge()))
    (survivor,) = campaigns
    batch = emitter.alerts[emitted:]
    assert emitter.batches[-1] == len(batch) == 2
    absorbed, going_on = sorted(batch, key=lambda a: a["alert_id"] == survivor)
    assert absorbed["transition"] == "resolved"
    assert f"merged into {survivor}" in absorbed["reasons"][-1]["detail"]
    assert going_on["alert_id"] == survivor
    assert going_on["transition"] in {"updated", "escalated"}


def test_replayed_sightings_change_nothing() -> None:
    stage, emitter, index, campaigns, states = _stage()
    stream = sightings_of("bcp", event("B-1", [PHISH_URL, MULE]), "banking") + sightings_of(
        "claro", event("C-1", [MULE]), "telecom"
    )
    _feed(stage, stream)
    before = (len(emitter.alerts), repr(index), repr(campaigns), repr(states))
    _feed(stage, stream)
    assert (len(emitter.alerts), repr(index), repr(campaigns), repr(states)) == before


def test_two_campaigns_bridged_by_an_event_merge_and_the_absorbed_alert_resolves() -> None:
    stage, emitter, index, campaigns, _ = _stage()
    _feed_two_campaigns(stage)
    assert len(campaigns) == 2
    _feed(stage, _bridge())
    assert len(campaigns) == 1
    resolved = [a for a in emitter.alerts if a["transition"] == "resolved"]
    assert len(resolved) == 1
    assert "merged into" in resolved[0]["reasons"][-1]["detail"]
    assert all(ids == [next(iter(campaigns))] for ids in index.values())


def test_warning_listed_indicators_do_not_link_campaigns() -> None:
    stage, _, _, campaigns, _ = _stage()
    official = ("domain", "www.bcp.com.pe", "unspecified")
    _feed(stage, sightings_of("bcp", event("B-1", [official, PHISH_URL]), "banking"))
    _feed(stage, sightings_of("claro", event("C-1", [official, SCAM_PHONE]), "telecom"))
    assert len(campaigns) == 2
    listed = next(iter(campaigns.values()))["indicators"]["domain:www.bcp.com.pe"]["listed"]
    assert listed == "bank-domains"


def test_quiet_period_resolves_and_idle_campaigns_are_forgotten() -> None:
    stage, emitter, index, campaigns, states = _stage()
    _feed(stage, sightings_of("bcp", event("B-1", [PHISH_URL]), "banking"))
    _feed(stage, sightings_of("claro", event("C-1", [PHISH_URL]), "telecom"))
    last_seen = next(iter(campaigns.values()))["last_seen"]
    asyncio.run(stage.on_tick(last_seen + 60))
    assert emitter.alerts[-1]["transition"] != "resolved"
    asyncio.run(stage.on_tick(last_seen + 2 * DAY_S))
    assert emitter.alerts[-1]["transition"] == "resolved"
    assert emitter.alerts[-1]["version"] == emitter.alerts[-2]["version"] + 1
    asyncio.run(stage.on_tick(last_seen + 30 * DAY_S))
    assert campaigns == {}
    assert index == {}
    assert states.keys() == {"__hwm__:0"}


def test_caps_bound_the_state_under_hostile_input() -> None:
    stage, _emitter, _, campaigns, _ = _stage()
    limit = CFG.correlation.max_evidence_per_campaign
    for i in range(limit + 20):
        _feed(stage, sightings_of("bcp", event(f"B-{i}", [PHISH_URL]), "banking", offset=i))
    (campaign,) = campaigns.values()
    assert len(campaign["evidence"]) == limit
    assert campaign["overflow_events"] == 20


def test_each_indicator_lists_its_events_and_each_event_its_reporter() -> None:
    stage, _emitter, _, campaigns, _ = _stage()
    for p, sec in (("bcp", "banking"), ("claro", "telecom"), ("bcp", "banking")):
        _feed(stage, sightings_of(p, event(f"{p}-1", [PHISH_URL]), sec))  # bcp-1 twice
    (campaign,) = campaigns.values()
    (indicator,) = campaign["indicators"].values()
    reporters = {campaign["evidence"][uid]["reporter"] for uid in indicator["event_uids"]}
    assert len(indicator["event_uids"]) == 2
    assert reporters == {"bcp", "claro"}


def test_campaigns_per_indicator_cap() -> None:
    index: dict = {"url:x": ["a", "b", "c"]}
    graph = CampaignGraph(index, {}, CFG.correlation)
    graph._link("event:zz", "d", {"indicators": {}})
    graph._link("url:x", "d", {"indicators": {"url:x": {}}})
    assert index["url:x"] == ["a", "b", "c"]


def test_the_tick_index_kept_by_batches_matches_a_scan_of_the_tables() -> None:
    stage, _emitter, index, campaigns, states = _stage()
    ticks = stage.tick_index()  # built now (empty), kept current from here on
    _feed_two_campaigns(stage)
    _feed(stage, _bridge())
    _feed(stage, sightings_of("bitel", event("T-1", [SCAM_PHONE]), "telecom"))

    def same_as_a_scan() -> None:
        scanned = TickIndex.scan(index, campaigns, states)
        assert stage.tick_index() is ticks
        assert (ticks.campaigns, ticks.open, ticks.indicators) == (
            scanned.campaigns,
            scanned.open,
            scanned.indicators,
        )

    same_as_a_scan()
    assert ticks.campaigns == len(campaigns) == 2  # the merged one and the phone's
    assert len(ticks.open) == 1  # the merged campaign's alert; the absorbed one resolved
    last_seen = max(c["last_seen"] for c in campaigns.values())
    asyncio.run(stage.on_tick(last_seen + 4 * DAY_S))  # decayed to nothing: resolved
    same_as_a_scan()
    assert ticks.open == set()
    asyncio.run(stage.on_tick(last_seen + 30 * DAY_S))  # forgets every campaign
    same_as_a_scan()
    assert ticks.campaigns == 0
    assert ticks.indicators == 0
    stage.taken_over()
    assert stage.tick_index() is not ticks


def test_the_idle_sweep_reads_a_slice_per_tick_and_forgets_every_idle_campaign() -> None:
    index: dict = {}
    campaigns: dict = {}
    states: dict = {}
    stage = CampaignStage(CFG, index, campaigns, states, Emitter(), sweep_per_tick=2)
    for n in range(5):  # five campaigns of one event each
        url = ("url", f"https://x{n}.pe/", "phishing")
        _feed(stage, sightings_of("bcp", event(f"B-{n}", [url])))
    last_seen = max(c["last_seen"] for c in campaigns.values())
    ticks = stage.tick_index()
    slices = []
    for _ in range(3):
        before = ticks.sweep_from
        asyncio.run(stage.on_tick(last_seen + 1))  # nothing idle yet: the sweep moves on
        slices.append(before)
    assert len(campaigns) == 5
    assert ticks.sweep_from == ""  # three slices of two cover five campaigns, then start over
    assert slices[0] == ""
    assert slices[1] < slices[2]
    remaining = []
    for _ in range(3):
        asyncio.run(stage.on_tick(last_seen + 30 * DAY_S))
        remaining.append(len(campaigns))
    assert remaining == [3, 1, 0]
    assert index == {}
    assert ticks.campaigns == 0
