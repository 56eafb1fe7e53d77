"""Alertmanager-style grouping, per subscriber and alert: fewer, fuller notifications.

Each subscriber has one ``Grouper``; each alert it follows is one group. A notification
carries one alert version, the newest, so its idempotency key stays (alert, version, subscriber):

- ``group_wait``: after the first version of an alert arrives, wait this long before the first
  notification, so quick follow-up versions are folded into it;
- ``group_interval``: after a notification, wait at least this long before the next one about
  the same alert; versions arriving meanwhile are folded into it;
- ``repeat_interval``: a version that tells this subscriber nothing new (same severity, same
  disclosed events and indicators, not resolved) is not sent again until this long after the
  last notification.

A version folded into a newer one or left unsent as unchanged is settled in the ledger as
``filtered`` with the reason; nothing is silently dropped. A version offered as ``replayed``
(read again after a restart: a crashed worker may have sent it without recording it) is never
folded or held back: it is sent, with the same idempotency key, so the ledger records the
delivery the subscriber may already have (docs/DESIGN.md, "Crash semantics").
``on_settled(token)`` is called once per offered version after its ledger record is
acknowledged; ``on_error(exc)`` when a ledger write failed (the worker then stops: without its
ledger it cannot deliver safely).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from confianza.consumers.deliver import Deliverer
from confianza.consumers.gate import GatedAlert
from confianza.consumers.subscriptions import Subscriber
from confianza.logging import get_logger

log = get_logger(__name__)
SWEEP_EVERY = 1000


def fingerprint(gated: GatedAlert) -> bytes:
    """What a subscriber learns from a version: severity, resolution, disclosed evidence."""
    return orjson.dumps(
        [
            gated.alert.get("severity"),
            gated.alert.get("transition") == "resolved",
            gated.disclosed_event_uids,
            gated.disclosed_indicator_keys,
        ]
    )


@dataclass
class _Item:
    alert: dict[str, Any]
    gated: GatedAlert
    token: Any


@dataclass
class _Group:
    created: float
    pending: _Item | None = None
    in_flight: bool = False
    timer: asyncio.TimerHandle | None = None
    last_sent: float | None = None
    last_fingerprint: bytes | None = None
    newest_version: int = 0
    resolved: bool = False


class Grouper:
    """Groups and dispatches one subscriber's alert versions (see the module docstring)."""

    def __init__(
        self,
        subscriber: Subscriber,
        deliverer: Deliverer,
        on_settled: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.subscriber = subscriber
        self._deliverer = deliverer
        self._on_settled = on_settled
        self._on_error = on_error
        self._groups: dict[str, _Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._offers = 0

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._on_error(task.exception())  # type: ignore[arg-type]

    async def _filtered(self, item: _Item, reason: str) -> None:
        await self._deliverer.record_filtered(item.alert, self.subscriber, reason)
        self._on_settled(item.token)

    def offer(
        self, alert: dict[str, Any], gated: GatedAlert, token: Any, replayed: bool = False
    ) -> None:
        """Take a gated version of an alert; it will be sent, folded or settled as unchanged
        (a ``replayed`` version is always sent; see the module docstring)."""
        if replayed:
            self._spawn(self._send_replayed(_Item(alert, gated, token)))
            return
        loop = asyncio.get_running_loop()
        self._offers += 1
        if self._offers % SWEEP_EVERY == 0:
            self._sweep(loop.time())
        group = self._groups.get(gated.alert_id)
        if group is None:
            group = self._groups[gated.alert_id] = _Group(created=loop.time())
        item = _Item(alert, gated, token)
        if gated.version <= group.newest_version:
            self._spawn(self._filtered(item, f"older than version {group.newest_version}"))
            return
        group.newest_version = gated.version
        if group.pending is not None:
            self._spawn(self._filtered(group.pending, f"superseded by version {gated.version}"))
        group.pending = item
        if not group.in_flight and group.timer is None:
            self._schedule(gated.alert_id, group)

    def _schedule(self, alert_id: str, group: _Group) -> None:
        loop = asyncio.get_running_loop()
        grouping = self.subscriber.grouping
        if group.last_sent is None:
            due = group.created + grouping.group_wait
        else:
            due = group.last_sent + grouping.group_interval
        group.timer = loop.call_at(max(due, loop.time()), self._flush, alert_id)

    def _flush(self, alert_id: str) -> None:
        group = self._groups.get(alert_id)
        if group is None:
            return
        group.timer = None
        item, group.pending = group.pending, None
        if item is None:
            return
        now = asyncio.get_running_loop().time()
        mark = fingerprint(item.gated)
        if (
            group.last_fingerprint == mark
            and group.last_sent is not None
            and now - group.last_sent < self.subscriber.grouping.repeat_interval
        ):
            self._spawn(self._filtered(item, "unchanged since the last notification"))
            return
        group.in_flight = True
        self._spawn(self._send(alert_id, group, item, mark))

    async def _send(self, alert_id: str, group: _Group, item: _Item, mark: bytes) -> None:
        try:
            outcome = await self._deliverer.deliver(item.alert, item.gated, self.subscriber)
        finally:
            group.in_flight = False
        if outcome.kind == "delivered":
            group.last_sent = asyncio.get_running_loop().time()
            group.last_fingerprint = mark
            group.resolved = item.gated.alert.get("transition") == "resolved"
        self._on_settled(item.token)
        if group.pending is not None:
            self._schedule(alert_id, group)

    async def _send_replayed(self, item: _Item) -> None:
        await self._deliverer.deliver(item.alert, item.gated, self.subscriber)
        self._on_settled(item.token)

    def drop_pending(self, stale: Callable[[Any], bool]) -> None:
        """Forget the versions waiting for their group timer whose token is ``stale`` (read
        from a revoked partition): unsettled, their offsets were not committed, so they are
        read again as replayed versions. Kept, a stale one could later be settled
        ``filtered`` (superseded) for a key its replayed copy delivered."""
        for group in self._groups.values():
            item = group.pending
            if item is not None and stale(item.token):
                group.pending = None
                if group.timer is not None:
                    group.timer.cancel()
                    group.timer = None

    def _sweep(self, now: float) -> None:
        """Forget idle groups: resolved ones, and those silent for longer than repeat_interval."""
        keep_for = max(
            self.subscriber.grouping.repeat_interval, self.subscriber.grouping.group_interval
        )
        for alert_id, group in list(self._groups.items()):
            idle = group.pending is None and not group.in_flight and group.timer is None
            last = group.last_sent if group.last_sent is not None else group.created
            if idle and (group.resolved or now - last > keep_for):
                del self._groups[alert_id]

    async def drain(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for deliveries in flight. Versions still waiting for their
        group timer stay unsettled: their offsets are not committed and a restart redoes them."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def cancel(self) -> None:
        for group in self._groups.values():
            if group.timer is not None:
                group.timer.cancel()
        for task in self._tasks:
            task.cancel()
