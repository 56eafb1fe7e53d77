"""The Faust agents of the worker with Faust's test_context (memory store, no broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from faust.types.tuples import FutureMessage, RecordMetadata

from confianza.settings import KafkaSettings
from confianza.streams import dedupe, hops
from confianza.streams.app import create_app
from confianza.streams.ingest import Candidate, admit
from confianza.streams.score import DAY_S, load_scoring
from tests.streams.helpers import event, record, sightings_of


class FakeProducer:
    """Collects what the agents send; acknowledges every record at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, Any]] = []

    def _ack(self, topic: str, key: Any, value: Any, partition: int | None) -> asyncio.Future:
        self.sent.append((topic, key, value))
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        fut.set_result(RecordMetadata(topic, partition or 0, None, len(self.sent) - 1))  # type: ignore[call-arg]
        return fut

    async def maybe_start(self) -> None:
        return None

    async def send(
        self, topic: str, key: Any, value: Any, partition: int | None, *_: Any, **__: Any
    ) -> asyncio.Future:
        return self._ack(topic, key, value, partition)

    async def send_and_wait(
        self, topic: str, key: Any, value: Any, partition: int | None, *_: Any, **__: Any
    ) -> RecordMetadata:
        return await self._ack(topic, key, value, partition)

    def send_soon(self, fut: FutureMessage) -> None:
        m = fut.message
        self._ack(m.channel.get_topic_name(), m.key, m.value, m.partition)

    def of(self, topic_part: str) -> list[Any]:
        return [(k, v) for t, k, v in self.sent if topic_part in t]


def _candidate(partner: str, event_id: str, offset: int) -> dict[str, Any]:
    outcome = admit(record(partner, event(event_id), offset=offset), lambda p: "banking")
    assert isinstance(outcome, Candidate)
    return outcome.doc


@pytest.fixture
def app_and_producer() -> tuple[Any, FakeProducer]:
    app = create_app(KafkaSettings(), load_scoring(), store="memory://")
    app.finalize()
    app.conf.store = "memory://"
    producer = FakeProducer()
    app._producer = producer
    return app, producer


def _batch(*docs: dict[str, Any]) -> bytes:
    """One events-hop record, as the ingest loop writes it."""
    (value,) = hops.pack(orjson.dumps(d) for d in docs)
    return value


def _sightings(producer: FakeProducer) -> list[dict[str, Any]]:
    return [s for _, v in producer.of("-campaign") for s in hops.unpack(v)]


async def test_events_agent_accepts_once_then_answers_duplicate(app_and_producer: Any) -> None:
    app, producer = app_and_producer
    agent = app.agents["confianza.streams.app.events_stage"]
    first = _candidate("bcp", "E-1", offset=0)
    resent = _candidate("bcp", "E-1", offset=7)
    async with agent.test_context() as ctx:
        await ctx.put(_batch(first, resent))
        await ctx.put(_batch(first))  # the first record again, after a crash
    receipts = [orjson.loads(v) for _, v in producer.of("receipts.bcp.v1")]
    assert [r["status"] for r in receipts] == ["accepted", "duplicate", "accepted"]
    assert receipts[1]["first_uid"] == first["uid"]
    assert receipts[0] == receipts[2]  # the same record replayed: the same receipt
    assert len(producer.of("incidents.v1")) == 2
    # One sighting per accepted record (the replay sends it again), with every indicator;
    # one campaign-hop record per events-hop record that had any.
    assert len(producer.of("-campaign")) == 2
    sightings = _sightings(producer)
    assert [s["uid"] for s in sightings] == [first["uid"]] * 2
    assert [i["key"] for i in sightings[0]["indicators"]] == [
        "url:https://bcp-zonasegura.com/login"
    ]


async def test_a_batch_answers_each_of_its_candidates(app_and_producer: Any) -> None:
    app, producer = app_and_producer
    agent = app.agents["confianza.streams.app.events_stage"]
    docs = [_candidate("bcp", f"E-{n}", offset=n) for n in range(5)]
    async with agent.test_context() as ctx:
        await ctx.put(_batch(*docs))
    receipts = [orjson.loads(v) for _, v in producer.of("receipts.bcp.v1")]
    assert [(r["event_id"], r["status"]) for r in receipts] == [
        (f"E-{n}", "accepted") for n in range(5)
    ]
    assert [s["uid"] for s in _sightings(producer)] == [d["uid"] for d in docs]


async def test_a_resend_is_a_duplicate_for_the_ttl_and_accepted_after_it(
    app_and_producer: Any,
) -> None:
    app, producer = app_and_producer
    agent = app.agents["confianza.streams.app.events_stage"]
    first = _candidate("bcp", "E-2", offset=0)
    async with agent.test_context() as ctx:
        await ctx.put(_batch(first))
        for offset, days in ((1, 1), (2, dedupe.TTL_DAYS), (3, dedupe.TTL_DAYS + 1)):
            resent = _candidate("bcp", "E-2", offset=offset)
            resent["received"] = first["received"] + days * DAY_S
            await ctx.put(_batch(resent))
    receipts = [orjson.loads(v) for _, v in producer.of("receipts.bcp.v1")]
    assert [r["status"] for r in receipts] == ["accepted", "duplicate", "duplicate", "accepted"]


async def test_a_candidate_record_of_the_previous_format_is_answered(
    app_and_producer: Any,
) -> None:
    """A single candidate keyed by uid, its day taken from the record's timestamp."""
    app, producer = app_and_producer
    agent = app.agents["confianza.streams.app.events_stage"]
    first = _candidate("bcp", "E-3", offset=0)
    resent = _candidate("bcp", "E-3", offset=1)
    del first["received"], resent["received"]
    at = 1_714_577_400.0
    async with agent.test_context() as ctx:
        await ctx.put(orjson.dumps(first), key=first["uid"].encode(), timestamp=at)
        later = at + (dedupe.TTL_DAYS + 1) * DAY_S
        await ctx.put(orjson.dumps(resent), key=first["uid"].encode(), timestamp=later)
    receipts = [orjson.loads(v) for _, v in producer.of("receipts.bcp.v1")]
    assert [r["status"] for r in receipts] == ["accepted", "accepted"]


async def test_campaign_agent_turns_sightings_into_versioned_alerts(
    app_and_producer: Any,
) -> None:
    app, producer = app_and_producer
    app.confianza["takeover"]["pending"] = False  # no alerts.v1 to reconcile with here
    campaigns = app.agents["confianza.streams.app.campaign_stage"]
    url = ("url", "https://bcp-zonasegura.com/login", "phishing")
    sightings = [
        s
        for partner, sector in (("bcp", "banking"), ("claro", "telecom"), ("entel", "telecom"))
        for s in sightings_of(partner, event(f"{partner}-1", [url]), sector)
    ]
    async with campaigns.test_context() as ctx:
        for _ in range(2):  # delivered twice: at-least-once
            await ctx.put(next(hops.pack(orjson.dumps(s) for s in sightings)))
    alerts = [orjson.loads(v) for _, v in producer.of("alerts.v1")]
    # The agent takes sightings in batches: one version per batch at most, and the second
    # delivery of the same sightings adds none.
    assert [a["version"] for a in alerts] == list(range(1, len(alerts) + 1))
    assert 1 <= len(alerts) <= 2
    assert alerts[0]["transition"] == "opened"
    assert alerts[-1]["reporters"] == ["bcp", "claro", "entel"]
    assert len({a["alert_id"] for a in alerts}) == 1


async def test_campaign_agent_hands_sightings_over_in_bounded_batches(
    app_and_producer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is handled once it reaches CAMPAIGN_BATCH sightings: at most that and one
    record's worth, however many records a take holds."""
    app, _ = app_and_producer
    app.confianza["takeover"]["pending"] = False
    monkeypatch.setattr("confianza.streams.app.CAMPAIGN_BATCH", 4)
    stage = app.confianza["stage"]
    sizes: list[int] = []
    handle = stage.on_sightings

    async def spy(sightings: list[dict[str, Any]]) -> None:
        sizes.append(len(sightings))
        await handle(sightings)

    monkeypatch.setattr(stage, "on_sightings", spy)
    campaigns = app.agents["confianza.streams.app.campaign_stage"]
    url = ("url", "https://bcp-zonasegura.com/login", "phishing")
    records = [
        [s for n in range(3) for s in sightings_of("bcp", event(f"R{r}-{n}", [url]), "banking")]
        for r in range(3)
    ]
    async with campaigns.test_context() as ctx:
        for sightings in records:
            await ctx.put(next(hops.pack(orjson.dumps(s) for s in sightings)))
    assert sum(sizes) == 9
    assert max(sizes) <= 4 + 3


class _Exited(BaseException):
    """Stands for the end of the process (``confianza.stopping.exit_now``)."""


@pytest.mark.parametrize("stage", ["events", "campaign"])
async def test_a_stage_that_raises_stops_the_worker_without_acknowledging(
    app_and_producer: Any, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    """Faust would restart the agent and acknowledge the record it was handling; the worker
    exits instead (code 1), so the uncommitted record is read again after the restart."""
    app, producer = app_and_producer
    app.confianza["takeover"]["pending"] = False
    exits: list[int] = []

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise _Exited

    monkeypatch.setattr("confianza.stopping.os._exit", fake_exit)

    def broken(*_: Any) -> None:
        raise RuntimeError("a bug in the stage")

    if stage == "events":
        monkeypatch.setattr("confianza.streams.app.dedupe.decide", broken)
        value = _batch(_candidate("bcp", "E-9", offset=0))
    else:
        monkeypatch.setattr(app.confianza["stage"], "on_sightings", broken)
        url = ("url", "https://bcp-zonasegura.com/login", "phishing")
        sightings = sightings_of("bcp", event("E-9", [url]), "banking")
        value = next(hops.pack(orjson.dumps(s) for s in sightings))
    agent = app.agents[f"confianza.streams.app.{stage}_stage"]
    with pytest.raises(_Exited):
        async with agent.test_context() as ctx:
            await ctx.put(value)
    assert exits == [1]
    assert producer.of("receipts.") == []
    assert producer.of("alerts.v1") == []
