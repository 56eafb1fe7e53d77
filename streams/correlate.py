"""Correlation: the bounded campaign graph.

``CampaignGraph`` joins events that share a linkable indicator into one campaign. The campaign
stage calls ``add`` for every event's sighting and ``forget`` for idle campaigns. Each campaign
keeps, per indicator, the events that reported it, and per event its reporter, sectors and
time: the per-indicator statistics (distinct reporters and sectors, count, first and last
seen) are read from there. State is bounded by the ``correlation`` section of
``scoring.yaml``: indicators and listed evidence per campaign, campaigns per indicator, and an
idle TTL; whatever a cap refuses is counted in ``confianza_state_evictions_total`` and in the
campaign, never silently lost.

Every operation is idempotent by event uid: a sighting delivered twice (at-least-once) leaves
the same state as once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from confianza.metrics import STATE_EVICTIONS
from confianza.streams.score import Correlation

# Every eviction kind has a series from the start (0 until a cap or TTL bites).
_EVICTED = {
    kind: STATE_EVICTIONS.labels(kind=kind)
    for kind in (
        "merge-refused",
        "evidence-cap",
        "indicator-cap",
        "campaigns-per-indicator",
        "campaign-idle",
    )
}

CAMPAIGN_NAMESPACE = uuid.UUID("0d5c2f7e-2a8b-4f44-b8f3-8d2f6c3e9a11")
RECENT_UIDS = 64
EVIDENCE_FIELDS = (
    "reporter",
    "reporter_sector",
    "sector",
    "tlp",
    "reported_at",
    "class",
    "type",
    "severity",
    "confidence",
    "seen_at",
)


# --- the campaign graph ---------------------------------------------------------------------
@dataclass
class Update:
    """What one sighting did to the graph."""

    campaign_id: str
    new_event: bool
    absorbed: list[str] = field(default_factory=list)


def campaign_id_for(first_uid: str) -> str:
    return str(uuid.uuid5(CAMPAIGN_NAMESPACE, first_uid))


def _new_campaign(cid: str, seen_at: float) -> dict[str, Any]:
    return {
        "id": cid,
        "first_seen": seen_at,
        "last_seen": seen_at,
        "evidence": {},
        "overflow_events": 0,
        "recent_overflow": [],
        "indicators": {},
        "overflow_indicators": 0,
    }


def _has_event(campaign: Mapping[str, Any], uid: str) -> bool:
    return uid in campaign["evidence"] or uid in campaign["recent_overflow"]


class CampaignGraph:
    """Campaigns (id -> state) and the indicator index (key -> campaign ids), both bounded."""

    def __init__(
        self,
        index: MutableMapping[str, Any],
        campaigns: MutableMapping[str, Any],
        limits: Correlation,
    ) -> None:
        self.index = index
        self.campaigns = campaigns
        self.limits = limits

    def _campaigns_of(self, keys: Iterable[str]) -> list[str]:
        found: list[str] = []
        for key in keys:
            for cid in self.index.get(key) or ():
                if cid not in found:
                    found.append(cid)
        return found

    @staticmethod
    def _lookup_keys(sighting: Mapping[str, Any]) -> list[str]:
        # An event without linkable indicators is reachable only through its own uid.
        return list(sighting["link_keys"]) or [f"event:{sighting['uid']}"]

    def add(self, sighting: Mapping[str, Any]) -> Update:
        """Join an event into its campaign (creating or merging campaigns).

        ``sighting`` is the event's sighting (see ``normalize.sighting``): it carries every
        indicator of the event, so one message joins the whole event.
        """
        uid = sighting["uid"]
        keys = self._lookup_keys(sighting)
        candidates = [c for c in self._campaigns_of(keys) if c in self.campaigns]
        for cid in candidates:
            if _has_event(self.campaigns[cid], uid):
                return Update(cid, new_event=False)  # delivered again: already joined
        if not candidates:
            cid = campaign_id_for(uid)
            campaign = _new_campaign(cid, sighting["seen_at"])
            absorbed: list[str] = []
        else:
            states = {c: self.campaigns[c] for c in candidates}
            cid = min(candidates, key=lambda c: (states[c]["first_seen"], c))
            campaign = dict(states[cid])
            absorbed = self._merge(campaign, [c for c in candidates if c != cid], states)
        self._add_event(campaign, sighting)
        for key in keys:
            self._link(key, cid, campaign)
        self.campaigns[cid] = campaign
        return Update(cid, new_event=True, absorbed=absorbed)

    def _merge(
        self, survivor: dict[str, Any], others: list[str], states: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        absorbed = []
        for other in sorted(others, key=lambda c: (states[c]["first_seen"], c)):
            state = states[other]
            combined = len(survivor["indicators"]) + len(state["indicators"])
            if combined > self.limits.max_indicators_per_campaign:
                _EVICTED["merge-refused"].inc()
                continue
            survivor["indicators"] = {**survivor["indicators"]}
            for key, ind in state["indicators"].items():
                mine = survivor["indicators"].get(key)
                if mine is None:
                    survivor["indicators"][key] = ind
                else:
                    uids = [
                        *mine["event_uids"],
                        *(u for u in ind["event_uids"] if u not in mine["event_uids"]),
                    ]
                    survivor["indicators"][key] = {
                        **mine,
                        "event_uids": uids[: self.limits.max_event_uids_per_indicator],
                    }
                self._repoint(key, other, survivor["id"])
            for uid, ev in state["evidence"].items():
                self._put_evidence(survivor, uid, ev)
                self._repoint(f"event:{uid}", other, survivor["id"])
            survivor["overflow_events"] += state["overflow_events"]
            survivor["overflow_indicators"] += state["overflow_indicators"]
            survivor["first_seen"] = min(survivor["first_seen"], state["first_seen"])
            survivor["last_seen"] = max(survivor["last_seen"], state["last_seen"])
            del self.campaigns[other]
            absorbed.append(other)
        return absorbed

    def _repoint(self, key: str, old: str, new: str) -> None:
        ids = self.index.get(key)
        if not ids or old not in ids:
            return
        replaced = [new if c == old else c for c in ids]
        self.index[key] = list(dict.fromkeys(replaced))

    def _put_evidence(self, campaign: dict[str, Any], uid: str, ev: Mapping[str, Any]) -> None:
        if uid in campaign["evidence"]:
            return
        if len(campaign["evidence"]) < self.limits.max_evidence_per_campaign:
            campaign["evidence"] = {**campaign["evidence"], uid: dict(ev)}
        else:
            _EVICTED["evidence-cap"].inc()
            campaign["overflow_events"] += 1
            campaign["recent_overflow"] = [*campaign["recent_overflow"], uid][-RECENT_UIDS:]

    def _add_event(self, campaign: dict[str, Any], sighting: Mapping[str, Any]) -> None:
        self._put_evidence(campaign, sighting["uid"], {f: sighting[f] for f in EVIDENCE_FIELDS})
        campaign["first_seen"] = min(campaign["first_seen"], sighting["seen_at"])
        campaign["last_seen"] = max(campaign["last_seen"], sighting["seen_at"])
        for ind in sighting["indicators"]:
            self._indicator(
                campaign, ind["key"], ind["kind"], ind["value"], ind["listed"], sighting["uid"]
            )

    def _indicator(
        self,
        campaign: dict[str, Any],
        key: str,
        kind: str,
        value: str,
        listed: str | None,
        uid: str,
    ) -> None:
        indicators = campaign["indicators"]
        ind = indicators.get(key)
        if ind is None:
            if len(indicators) >= self.limits.max_indicators_per_campaign:
                _EVICTED["indicator-cap"].inc()
                campaign["overflow_indicators"] += 1
                return
            ind = {"kind": kind, "value": value, "listed": listed, "event_uids": []}
        if uid not in ind["event_uids"] and (
            len(ind["event_uids"]) < self.limits.max_event_uids_per_indicator
        ):
            ind = {**ind, "event_uids": [*ind["event_uids"], uid]}
        campaign["indicators"] = {**indicators, key: ind}

    def _link(self, key: str, cid: str, campaign: Mapping[str, Any]) -> None:
        if not key.startswith("event:") and key not in campaign["indicators"]:
            return  # refused by the indicator cap: not indexed, so eviction can find it all
        ids = list(self.index.get(key) or ())
        if cid in ids:
            return
        if len(ids) >= self.limits.max_campaigns_per_indicator:
            _EVICTED["campaigns-per-indicator"].inc()
            return
        self.index[key] = [*ids, cid]

    def forget(self, idle: Iterable[str]) -> None:
        """Forget these campaigns (idle for ``idle_days``: the stage decides) and unlink them
        from the index."""
        for cid in idle:
            campaign = self.campaigns[cid]
            for key in [*campaign["indicators"], *(f"event:{u}" for u in campaign["evidence"])]:
                ids = [c for c in self.index.get(key) or () if c != cid]
                if ids:
                    self.index[key] = ids
                elif key in self.index:
                    del self.index[key]
            del self.campaigns[cid]
            _EVICTED["campaign-idle"].inc()
