"""Alertmanager-style grouping per subscriber and alert: group_wait, group_interval, repeat."""

from __future__ import annotations

import asyncio
from typing import Any

from confianza.consumers.channel import Outcome
from confianza.consumers.gate import GatedAlert, gate
from confianza.consumers.grouping import Grouper
from confianza.consumers.subscriptions import Grouping, Subscriber

from .factory import evidence, make_alert, subscriber


class Recorder:
    """Stands in for the Deliverer: records what grouping decided (nothing crosses Kafka)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.filtered: list[tuple[str, int, str]] = []

    async def deliver(self, alert: dict[str, Any], gated: GatedAlert, sub: Subscriber) -> Outcome:
        self.sent.append((alert["alert_id"], alert["version"]))
        return Outcome("delivered")

    async def record_filtered(self, alert: dict[str, Any], sub: Subscriber, reason: str) -> None:
        self.filtered.append((alert["alert_id"], alert["version"], reason))


def grouper(grouping: Grouping) -> tuple[Grouper, Recorder, list[Any]]:
    recorder, settled = Recorder(), []
    sub = subscriber(grouping=grouping)
    errors: list[BaseException] = []
    g = Grouper(sub, recorder, settled.append, errors.append)  # type: ignore[arg-type]
    return g, recorder, settled


def offer(g: Grouper, alert: dict[str, Any], token: Any) -> None:
    gated = gate(alert, g.subscriber)
    assert gated is not None
    g.offer(alert, gated, token)


async def test_versions_within_group_wait_are_folded_into_the_newest() -> None:
    g, rec, settled = grouper(Grouping(group_wait=0.2, group_interval=0.2, repeat_interval=60))
    ev = [evidence("bcp", "banking", "clear")]
    for version in (1, 2, 3):
        offer(g, make_alert("a", version=version, evidence_list=list(ev)), version)
        ev.append(evidence("bcp", "banking", "clear"))
    await asyncio.sleep(0.4)
    assert rec.sent == [("a", 3)]
    assert [(v, reason) for _, v, reason in rec.filtered] == [
        (1, "superseded by version 2"),
        (2, "superseded by version 3"),
    ]
    assert sorted(settled) == [1, 2, 3]


async def test_group_interval_spaces_notifications_about_one_alert() -> None:
    g, rec, _ = grouper(Grouping(group_wait=0, group_interval=0.3, repeat_interval=60))
    offer(g, make_alert("a", version=1), 1)
    offer(g, make_alert("b", version=1), "b")  # another alert is not held back
    await asyncio.sleep(0.05)
    assert sorted(rec.sent) == [("a", 1), ("b", 1)]
    offer(g, make_alert("a", version=2, severity="critical"), 2)
    await asyncio.sleep(0.1)
    assert ("a", 2) not in rec.sent
    await asyncio.sleep(0.4)
    assert ("a", 2) in rec.sent


async def test_an_unchanged_version_waits_for_the_repeat_interval() -> None:
    g, rec, settled = grouper(Grouping(group_wait=0, group_interval=0, repeat_interval=60))
    alert = make_alert("a", version=1)
    offer(g, alert, 1)
    await asyncio.sleep(0.05)
    offer(g, {**alert, "version": 2, "score": 80.0}, 2)  # same evidence, severity
    await asyncio.sleep(0.05)
    assert rec.sent == [("a", 1)]
    assert rec.filtered == [("a", 2, "unchanged since the last notification")]
    offer(g, {**alert, "version": 3, "transition": "resolved"}, 3)
    await asyncio.sleep(0.05)
    assert rec.sent == [("a", 1), ("a", 3)]
    assert sorted(settled) == [1, 2, 3]


async def test_an_older_version_after_a_newer_one_is_settled_not_sent() -> None:
    g, rec, _ = grouper(Grouping(group_wait=0, group_interval=0, repeat_interval=60))
    offer(g, make_alert("a", version=2), 2)
    offer(g, make_alert("a", version=1), 1)
    await asyncio.sleep(0.05)
    assert rec.sent == [("a", 2)]
    assert rec.filtered == [("a", 1, "older than version 2")]


async def test_a_failed_ledger_write_is_reported_not_swallowed() -> None:
    class Broken(Recorder):
        async def deliver(self, *args: Any) -> Outcome:
            raise ConnectionError("ledger unreachable")

    errors: list[BaseException] = []
    g = Grouper(subscriber(grouping=Grouping(0, 0, 60)), Broken(), [].append, errors.append)  # type: ignore[arg-type]
    offer(g, make_alert("a"), 1)
    await asyncio.sleep(0.05)
    assert [type(e) for e in errors] == [ConnectionError]


async def test_versions_read_again_after_a_restart_are_sent_never_folded() -> None:
    """A crashed worker may have sent them without recording it: the ledger must say
    delivered (the receiver drops a repeat by its webhook-id), not superseded."""
    g, rec, settled = grouper(Grouping(group_wait=0.2, group_interval=0.2, repeat_interval=60))
    ev = [evidence("bcp", "banking", "clear")]
    for version in (1, 2):
        alert = make_alert("a", version=version, evidence_list=list(ev))
        gated = gate(alert, g.subscriber)
        assert gated is not None
        g.offer(alert, gated, version, replayed=True)
        ev.append(evidence("bcp", "banking", "clear"))
    offer(g, make_alert("a", version=3, evidence_list=list(ev)), 3)
    await asyncio.sleep(0.4)
    assert sorted(rec.sent) == [("a", 1), ("a", 2), ("a", 3)]
    assert rec.filtered == []
    assert sorted(settled) == [1, 2, 3]


async def test_a_version_waiting_when_its_partition_is_revoked_is_dropped_not_filtered() -> None:
    """Revoked, it was not settled and is read again (replayed); a stale copy left waiting
    would be settled ``filtered`` (superseded) for a key the replayed copy delivers."""
    g, rec, settled = grouper(Grouping(group_wait=0.2, group_interval=0.2, repeat_interval=60))
    ev = [evidence("bcp", "banking", "clear")]
    first = make_alert("a", version=1, evidence_list=list(ev))
    offer(g, first, ("p0", 1))
    g.drop_pending(lambda token: token[0] == "p0")
    gated = gate(first, g.subscriber)
    assert gated is not None
    g.offer(first, gated, ("p0", 1), replayed=True)  # read again after the assignment
    ev.append(evidence("bcp", "banking", "clear"))
    offer(g, make_alert("a", version=2, evidence_list=list(ev)), ("p0", 2))
    await asyncio.sleep(0.4)
    assert sorted(rec.sent) == [("a", 1), ("a", 2)]
    assert rec.filtered == []
    assert sorted(settled) == [("p0", 1), ("p0", 2)]
