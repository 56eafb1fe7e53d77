"""The campaign stage: sightings and ticks in, alert versions out, exactly once per version.

One instance runs in the worker that owns the single partition of the campaign topic (the
campaign graph needs one consistent view; the heavy work — parsing, validation,
normalization, dedupe — is partitioned before it). It takes sightings in
batches (as the agent reads them): every sighting updates the graph, then each campaign the
batch changed is scored once and ``alerts`` decides its transition against the last emitted
version, so a burst of evidence for one campaign becomes one version, not one per event. On
every tick it re-scores open alerts (decay) and forgets idle campaigns.

Emission protocol (see docs/DESIGN.md, "Streams"): every version of a batch is sent, and all
are **acknowledged** by the broker before the alert state records any of them; the state
records the ``alerts.v1`` offset of every version (a high-water mark per partition). When
the stage takes the partition over (start, restart, rebalance), ``reconcile`` reads
``alerts.v1`` after those marks and adopts any version that was acknowledged but whose
state write was lost. So a version is emitted at least once (it is recorded only after the
ack) and at most once (anything on the topic is known before processing resumes).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from confianza.logging import get_logger
from confianza.metrics import ALERTS_EMITTED, E2E_ALERT_SECONDS, OPEN_CAMPAIGNS, TRACKED_INDICATORS
from confianza.streams import alerts, stores
from confianza.streams.correlate import CampaignGraph
from confianza.streams.score import DAY_S, ScoringConfig, score_campaign
from confianza.streams.writeback import Flushed, WriteBack

log = get_logger(__name__)

HWM_PREFIX = "__hwm__:"
Emit = Callable[[list[dict[str, Any]]], Awaitable[list[tuple[int, int]]]]
"""Sends alert versions (at most one per alert id) and returns each one's ``(partition,
offset)``, in order, once the broker acknowledged all of them."""


SWEEP_PER_TICK = 2000
"""Campaigns the idle sweep reads per tick. A tick costs the open alerts and this slice,
however many campaigns the stage holds; each campaign is read again after ``campaigns /
SWEEP_PER_TICK`` ticks (a million campaigns: about four hours of 30 s ticks, against an idle
time counted in days)."""


class TickIndex:
    """What a tick needs without holding or reading every campaign: the open alerts, how many
    campaigns and indicators the tables hold, and where the idle sweep goes on.

    Built by one scan of the tables when the stage has (re)taken its partition (``scan``), then
    kept current from what every batch writes (``apply``). Its memory is the open alerts, not
    the campaigns: idle campaigns are found by the sweep, which reads the campaign table a
    slice per tick in key order from ``sweep_from`` and starts over when it reaches the end.
    """

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.campaigns = 0
        self.indicators = 0
        self.sweep_from = ""

    @classmethod
    def scan(
        cls, index: Mapping[str, Any], campaigns: Mapping[str, Any], states: Mapping[str, Any]
    ) -> TickIndex:
        ticks = cls()
        ticks.indicators = sum(1 for _ in index)
        ticks.campaigns = sum(1 for _ in campaigns)
        ticks.open = {
            key
            for key, state in states.items()
            if not key.startswith(HWM_PREFIX) and state["status"] == "open"
        }
        return ticks

    def apply(self, index: Flushed, campaigns: Flushed, states: Flushed) -> None:
        self.indicators += index.added - len(index.deleted)
        self.campaigns += campaigns.added - len(campaigns.deleted)
        for key, state in states.written.items():
            if key.startswith(HWM_PREFIX):
                continue
            if state["status"] == "open":
                self.open.add(key)
            else:
                self.open.discard(key)
        self.open.difference_update(states.deleted)

    def next_slice(self, campaigns: Mapping[str, Any], size: int) -> list[str]:
        """The next ``size`` campaign ids of the sweep; the slice after the last one starts
        over from the first campaign."""
        ids = stores.keys_from(campaigns, self.sweep_from, size + 1)
        self.sweep_from = ids[size] if len(ids) > size else ""
        return ids[:size]


@dataclass(frozen=True)
class _Version:
    """One alert version built by a batch, waiting for its acknowledgement."""

    alert: dict[str, Any]
    events: int
    last_seen: float
    retires: bool
    """The alert's campaign was absorbed: its state is dropped once the version is sent."""


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
        sweep_per_tick: int = SWEEP_PER_TICK,
    ) -> None:
        self.cfg = cfg
        self.tables = (WriteBack(index), WriteBack(campaigns), WriteBack(states))
        self.graph = CampaignGraph(self.tables[0], self.tables[1], cfg.correlation)
        self.campaigns = self.tables[1]
        self.states = self.tables[2]
        self.emit = emit
        self.clock = clock
        self.sweep_per_tick = sweep_per_tick
        self._ticks: TickIndex | None = None

    async def on_sightings(self, sightings: Iterable[Mapping[str, Any]]) -> None:
        """Join a batch of sightings in order, then emit what the batch changed.

        Each alert gets at most one version per batch, decided against its last emitted
        version (so versions a batch would have superseded are never sent), and every
        version of the batch is sent before the first acknowledgement is awaited.
        """
        versions: list[_Version] = []
        touched: dict[str, None] = {}  # campaigns with a new event, in order
        for sighting in sightings:
            update = self.graph.add(sighting)
            for absorbed in update.absorbed:
                touched.pop(absorbed, None)
                versions.extend(self._retire(absorbed, update.campaign_id))
            if update.new_event:
                touched[update.campaign_id] = None
        for cid in touched:
            campaign = self.campaigns[cid]
            score = score_campaign(campaign, campaign["last_seen"], self.cfg)
            state = self.states.get(cid)
            transition = alerts.after_evidence(state, campaign, score, self.cfg)
            if transition is not None:
                versions.append(self._version(campaign, score, transition, state))
        await self._send(versions)
        self._flush()

    async def on_tick(self, now: float) -> None:
        """Resolve open alerts whose decayed score fell below the opening band; forget the
        campaigns of the sweep's next slice that are idle for ``idle_days`` (and their alert
        states)."""
        ticks = self.tick_index()
        versions = []
        for key in sorted(ticks.open):
            state, campaign = self.states.get(key), self.campaigns.get(key)
            if state is None or campaign is None:
                continue
            score = score_campaign(campaign, now, self.cfg)
            if alerts.after_tick(state, score, self.cfg) == "resolved":
                versions.append(
                    self._version(campaign, score, "resolved", state, note="quiet period")
                )
        await self._send(versions)
        horizon = now - self.cfg.correlation.idle_days * DAY_S
        swept = ticks.next_slice(self.campaigns.table, self.sweep_per_tick)
        idle = [cid for cid in swept if self.campaigns[cid]["last_seen"] < horizon]
        self.graph.forget(idle)
        for cid in idle:
            if cid in self.states:
                del self.states[cid]
        self._flush()

    def taken_over(self) -> None:
        """Called when the stage has (re)taken its partition and reconciled: the tables may
        hold other state than before, so the next tick scans them again."""
        self._ticks = None

    def tick_index(self) -> TickIndex:
        """The index ticks use: scanned from the tables on first use after a takeover."""
        if self._ticks is None:
            self._ticks = TickIndex.scan(*(view.table for view in self.tables))
        return self._ticks

    def _flush(self) -> None:
        """Write what the batch changed to the tables: once per key; the state gauges follow
        (once the first tick has built the tick index)."""
        index, campaigns, states = (view.flush() for view in self.tables)
        if self._ticks is not None:
            self._ticks.apply(index, campaigns, states)
            OPEN_CAMPAIGNS.set(self._ticks.campaigns)
            TRACKED_INDICATORS.set(self._ticks.indicators)

    def _retire(self, absorbed: str, survivor: str) -> list[_Version]:
        """An absorbed campaign's open alert is resolved, naming the alert that goes on."""
        state = self.states.get(absorbed)
        if state is None:
            return []
        if state["status"] != "open":
            del self.states[absorbed]
            return []
        ghost = {**self.campaigns[survivor], "id": absorbed}
        score = score_campaign(ghost, ghost["last_seen"], self.cfg)
        note = f"merged into {survivor}"
        return [self._version(ghost, score, "resolved", state, note=note, retires=True)]

    def _version(
        self,
        campaign: Mapping[str, Any],
        score: Any,
        transition: str,
        state: Mapping[str, Any] | None,
        note: str | None = None,
        retires: bool = False,
    ) -> _Version:
        version = 1 if state is None else state["version"] + 1
        alert = alerts.build_alert(campaign, score, transition, version, self.clock(), note)
        events = len(campaign["evidence"]) + campaign["overflow_events"]
        return _Version(alert, events, campaign["last_seen"], retires)

    async def _send(self, versions: list[_Version]) -> None:
        """Emit the versions; record each in the state only once all are acknowledged."""
        if not versions:
            return
        positions = await self.emit([v.alert for v in versions])
        for v, (partition, offset) in zip(versions, positions, strict=True):
            alert = v.alert
            if v.retires:
                del self.states[alert["alert_id"]]
            else:
                self.states[alert["alert_id"]] = alerts.remember(alert, partition, offset, v.events)
            self._advance_hwm(partition, offset)
            ALERTS_EMITTED.labels(severity=alert["severity"], transition=alert["transition"]).inc()
            if alert["transition"] != "resolved":
                E2E_ALERT_SECONDS.observe(max(0.0, self.clock() - v.last_seen))
            log.info(
                "alert emitted",
                alert_id=alert["alert_id"],
                version=alert["version"],
                transition=alert["transition"],
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
        if updated is not None:
            self.states[alert["alert_id"]] = updated
        self._flush()
        if updated is None:
            return False
        log.warning(
            "adopted alert version acknowledged before a crash",
            alert_id=alert["alert_id"],
            version=alert["version"],
        )
        return True
