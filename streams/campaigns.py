"""The campaign stage: sightings and ticks in, alert versions out, exactly once per version.

One instance runs in the worker that owns the single partition of the campaign topic (the
campaign graph needs one consistent view; the heavy work — parsing, validation,
normalization, per-indicator statistics — is partitioned before it). For every sighting it
updates the graph, scores the campaign and asks ``alerts`` for a transition; on every tick it
re-scores open alerts (decay) and forgets idle campaigns.

Emission protocol (see docs/DESIGN.md, "Streams"): a version is sent and **acknowledged** by
the broker before the alert state records it, and the state records the ``alerts.v1`` offset
of every version (a high-water mark per partition). When the stage takes the partition over
(start, restart, rebalance), ``reconcile`` reads ``alerts.v1`` after those marks and adopts
any version that was acknowledged but whose state write was lost. So a version is emitted at
least once (it is recorded only after the ack) and at most once (anything on the topic is
known before processing resumes).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from confianza.logging import get_logger
from confianza.metrics import ALERTS_EMITTED, E2E_ALERT_SECONDS, OPEN_CAMPAIGNS, TRACKED_INDICATORS
from confianza.streams import alerts
from confianza.streams.correlate import CampaignGraph
from confianza.streams.score import ScoringConfig, score_campaign

log = get_logger(__name__)

HWM_PREFIX = "__hwm__:"
Emit = Callable[[dict[str, Any]], Awaitable[tuple[int, int]]]
"""Sends one alert and returns ``(partition, offset)`` once the broker acknowledged it."""


class CampaignStage:
    """Graph, scoring and lifecycle over three mappings (Faust tables, or dicts in tests)."""

    def __init__(
        self,
        cfg: ScoringConfig,
        index: MutableMapping[str, Any],
        campaigns: MutableMapping[str, Any],
        states: MutableMapping[str, Any],
        emit: Emit,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.graph = CampaignGraph(index, campaigns, cfg.correlation)
        self.campaigns = campaigns
        self.states = states
        self.emit = emit
        self.clock = clock

    async def on_sighting(self, sighting: Mapping[str, Any]) -> None:
        """Join one sighting and emit whatever transitions it causes."""
        update = self.graph.add(sighting)
        for absorbed in update.absorbed:
            await self._retire(absorbed, update.campaign_id)
        if not update.new_event:
            return
        campaign = self.campaigns[update.campaign_id]
        score = score_campaign(campaign, campaign["last_seen"], self.cfg)
        state = self.states.get(campaign["id"])
        transition = alerts.after_evidence(state, campaign, score, self.cfg)
        if transition is not None:
            await self._emit(campaign, score, transition, state)

    async def on_tick(self, now: float) -> None:
        """Resolve open alerts whose decayed score fell below the opening band; evict idle."""
        for key, state in list(self.states.items()):
            if key.startswith(HWM_PREFIX) or state["status"] != "open":
                continue
            campaign = self.campaigns.get(key)
            if campaign is None:
                continue
            score = score_campaign(campaign, now, self.cfg)
            if alerts.after_tick(state, score, self.cfg) == "resolved":
                await self._emit(campaign, score, "resolved", state, note="quiet period")
        for cid in self.graph.evict_idle(now):
            state = self.states.get(cid)
            if state is not None:
                del self.states[cid]
        OPEN_CAMPAIGNS.set(len(self.campaigns))
        TRACKED_INDICATORS.set(len(self.graph.index))

    async def _retire(self, absorbed: str, survivor: str) -> None:
        """An absorbed campaign's open alert is resolved, naming the alert that goes on."""
        state = self.states.get(absorbed)
        if state is None:
            return
        if state["status"] == "open":
            ghost = {**self.campaigns[survivor], "id": absorbed}
            score = score_campaign(ghost, ghost["last_seen"], self.cfg)
            await self._emit(ghost, score, "resolved", state, note=f"merged into {survivor}")
        del self.states[absorbed]

    async def _emit(
        self,
        campaign: Mapping[str, Any],
        score: Any,
        transition: str,
        state: Mapping[str, Any] | None,
        note: str | None = None,
    ) -> None:
        version = 1 if state is None else state["version"] + 1
        now = self.clock()
        alert = alerts.build_alert(campaign, score, transition, version, now, note)
        partition, offset = await self.emit(alert)
        events = len(campaign["evidence"]) + campaign["overflow_events"]
        self.states[campaign["id"]] = alerts.remember(alert, partition, offset, events)
        self._advance_hwm(partition, offset)
        ALERTS_EMITTED.labels(severity=alert["severity"], transition=transition).inc()
        if transition != "resolved":
            E2E_ALERT_SECONDS.observe(max(0.0, now - campaign["last_seen"]))
        log.info(
            "alert emitted",
            alert_id=alert["alert_id"],
            version=version,
            transition=transition,
            severity=alert["severity"],
            score=alert["score"],
        )

    def _advance_hwm(self, partition: int, offset: int) -> None:
        key = f"{HWM_PREFIX}{partition}"
        current = self.states.get(key)
        if current is None or current["offset"] < offset:
            self.states[key] = {"offset": offset}

    def start_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        """Where ``reconcile`` must start reading each ``alerts.v1`` partition."""
        out = {}
        for p in partitions:
            mark = self.states.get(f"{HWM_PREFIX}{p}")
            out[p] = 0 if mark is None else mark["offset"] + 1
        return out

    def adopt(self, alert: Mapping[str, Any], partition: int, offset: int) -> bool:
        """Take in an alert version found on ``alerts.v1``; True if the state lacked it."""
        updated = alerts.adopt(self.states.get(alert["alert_id"]), alert, partition, offset)
        self._advance_hwm(partition, offset)
        if updated is None:
            return False
        self.states[alert["alert_id"]] = updated
        log.warning(
            "adopted alert version acknowledged before a crash",
            alert_id=alert["alert_id"],
            version=alert["version"],
        )
        return True
