"""The delivery worker on the real broker: faulty receivers, ledger, DLQ, replay, offsets."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from confianza.consumers.ledger import read_records
from confianza.consumers.policy import DeliveryPolicy
from confianza.consumers.replay import replay_from_dlq
from confianza.consumers.subscriptions import Subscriptions
from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.worker import DeliveryWorker, Topics, group_id
from confianza.kafka import admin
from confianza.schemas.validate import validate_document
from confianza.settings import KafkaSettings

from .conftest import produce
from .factory import evidence, make_alert, subscriber

POLICY = DeliveryPolicy(
    max_attempts=3,
    initial_backoff=0.05,
    max_backoff=0.2,
    max_elapsed=30,
    breaker_threshold=50,
    breaker_reset=0.5,
    shutdown_grace=2,
)
PATHS = ("ok", "flaky", "limited", "gone", "hang")


async def read_json(settings: KafkaSettings, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(v) for _, _, v in [r async for r in read_records(settings, topic)]]


async def run_worker_until(
    worker: DeliveryWorker, done: Callable[[], Awaitable[bool]], timeout: float = 60
) -> None:
    """Run the worker until ``done()`` holds (polled), then stop it cleanly."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not await done():
                assert not task.done(), task.exception()
                await asyncio.sleep(0.5)
    finally:
        stop.set()
        await task


def committed(settings: KafkaSettings, group: str, topic: str) -> int:
    client = admin(settings)
    try:
        offsets = client.list_group_offsets([group]).get(group, {})
    finally:
        client.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


async def test_faulty_receivers_ledger_dlq_and_replay_exactly_once(
    admin_settings: KafkaSettings, topics: Topics, whsec: str
) -> None:
    alerts = [make_alert(f"a-{n}") for n in range(5)]
    alerts.append(make_alert("a-amber", evidence_list=[evidence("interbank", "banking", "amber")]))
    produce(admin_settings, topics.alerts, alerts)
    with WebhookReceiver(whsec) as receiver:
        receiver.script("/flaky", [500, 200])
        receiver.script("/limited", [(429, {"Retry-After": "1"}), 200])
        receiver.script("/gone", [410])
        receiver.script("/hang", ["hang"])
        # Only the hanging receiver should time out: a healthy one on a loaded machine can take
        # longer than the hang's 0.5 s to answer, and its retries are not what is tested.
        subs = [
            subscriber(p, target=receiver.url(f"/{p}"), timeout=0.5 if p == "hang" else 10.0)
            for p in PATHS
        ]
        subs.append(
            subscriber(
                "public",
                audience="public",
                sector=None,
                target=receiver.url("/public"),
                tlp_clearance="clear",
            )
        )
        subscriptions = Subscriptions(tuple(subs), "test")
        worker = DeliveryWorker(admin_settings, "webhook", subscriptions, POLICY, topics)
        expected_settled = 6 * len(subs)

        async def all_settled() -> bool:
            records = await read_json(admin_settings, topics.deliveries)
            final = {"delivered", "dead-lettered", "filtered"}
            return len({r["idempotency_key"] for r in records if r["outcome"] in final}) == (
                expected_settled
            )

        await run_worker_until(worker, all_settled)
        ledger = await read_json(admin_settings, topics.deliveries)
        dlq = await read_json(admin_settings, topics.dlq)

        # every record is the contract
        assert all(validate_document("delivery", r) == () for r in ledger)
        assert all(validate_document("dlq-delivery", r) == () for r in dlq)
        by_sub: dict[str, Counter[str]] = {}
        for record in ledger:
            by_sub.setdefault(record["subscriber"], Counter())[record["outcome"]] += 1
        assert by_sub["ok"] == Counter(delivered=6)
        assert by_sub["flaky"] == Counter(delivered=6, retryable=1)
        assert by_sub["limited"] == Counter(delivered=6, retryable=1)
        assert by_sub["gone"] == Counter(disabled=6, **{"dead-lettered": 6})
        assert by_sub["hang"] == Counter(retryable=18, **{"dead-lettered": 6})
        assert by_sub["public"] == Counter(delivered=5, filtered=1)

        # Retry-After was honoured
        limited = sorted((r for r in ledger if r["subscriber"] == "limited"), key=lambda r: r["at"])
        retried = next(r for r in limited if r["outcome"] == "retryable")
        again = next(
            r
            for r in limited
            if r["idempotency_key"] == retried["idempotency_key"] and r["outcome"] == "delivered"
        )
        waited = dt.datetime.fromisoformat(again["at"]) - dt.datetime.fromisoformat(retried["at"])
        assert waited >= dt.timedelta(seconds=0.9)

        # the healthy subscriber was not held up by the hanging one
        first_hang_dead = min(
            dt.datetime.fromisoformat(r["at"]).timestamp()
            for r in ledger
            if r["subscriber"] == "hang" and r["outcome"] == "dead-lettered"
        )
        assert max(d.at for d in receiver.deliveries if d.path == "/ok") < first_hang_dead

        # the disclosed uids are recorded; the public subscriber never saw the amber event
        amber_uid = alerts[-1]["evidence"][0]["event_uid"]
        assert all(
            amber_uid not in d.raw.decode() for d in receiver.deliveries if d.path == "/public"
        )
        ok_amber = next(r for r in ledger if r["idempotency_key"] == "a-amber:1:ok")
        assert ok_amber["disclosed_event_uids"] == [amber_uid]

        # DLQ: 6 gone + 6 hang, with the original alert
        assert Counter(r["subscriber"] for r in dlq) == Counter(gone=6, hang=6)
        assert committed(admin_settings, group_id("webhook"), topics.alerts) == len(alerts)

        # the receivers recover; replay delivers each dead letter once, and only once
        receiver.script("/gone", [200])
        receiver.script("/hang", [200])
        summary = await replay_from_dlq(admin_settings, subscriptions, POLICY, topics=topics)
        assert summary.read == 12
        assert summary.outcomes == Counter(delivered=12)
        again_summary = await replay_from_dlq(admin_settings, subscriptions, POLICY, topics=topics)
        assert again_summary.outcomes == Counter({"already-delivered": 12})
        for path in PATHS:
            ids = receiver.ids(f"/{path}")
            assert sorted(ids) == sorted(f"{a['alert_id']}:1:{path}" for a in alerts), path
        assert receiver.duplicates == 0
        assert receiver.rejected == 0


async def test_a_restarted_worker_sends_nothing_twice(
    admin_settings: KafkaSettings, topics: Topics, whsec: str
) -> None:
    """Offsets lost (a new consumer group) but the ledger remembers: nothing is re-sent."""
    alerts = [make_alert(f"r-{n}") for n in range(4)]
    produce(admin_settings, topics.alerts, alerts)
    with WebhookReceiver(whsec) as receiver:
        subscriptions = Subscriptions((subscriber("ok", target=receiver.url("/ok")),), "test")

        async def delivered(n: int) -> bool:
            return len(receiver.ids()) >= n

        first = DeliveryWorker(admin_settings, "webhook", subscriptions, POLICY, topics)
        await run_worker_until(first, lambda: delivered(4))
        second = DeliveryWorker(admin_settings, "webhook", subscriptions, POLICY, topics)
        second.group_id = f"{second.group_id}-fresh"  # as if every offset was lost
        produce(admin_settings, topics.alerts, [make_alert("r-4")])
        await run_worker_until(second, lambda: delivered(5))
        assert sorted(receiver.ids()) == [f"r-{n}:1:ok" for n in range(5)]
        assert receiver.requests == 5


@pytest.mark.parametrize("bad", [b"not json", b"{}", orjson.dumps({"alert_id": "x"})])
async def test_an_unreadable_alert_is_skipped_and_committed(
    admin_settings: KafkaSettings, topics: Topics, whsec: str, bad: bytes
) -> None:
    from confianza.kafka import producer

    client = producer(admin_settings)
    client.send(topics.alerts, bad, key=b"x", partition=0)
    client.send(topics.alerts, orjson.dumps(make_alert("good")), key=b"good", partition=0)
    client.flush()
    client.close()
    with WebhookReceiver(whsec) as receiver:
        subscriptions = Subscriptions((subscriber("ok", target=receiver.url("/ok")),), "test")
        worker = DeliveryWorker(admin_settings, "webhook", subscriptions, POLICY, topics)

        async def done() -> bool:
            return committed(admin_settings, group_id("webhook"), topics.alerts) == 2

        await run_worker_until(worker, done)
        assert receiver.ids() == ["good:1:ok"]
