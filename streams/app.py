"""The Faust app factory: stages, topics and tables of the streams worker.

``create_app`` is called once per worker process (``confianza worker streams``) and by tests.
Stages, each keyed so its state is partitioned (see docs/DESIGN.md, "Streams"):

1. ingest loop (``source``): partner topics by pattern -> rejected receipts + dead letters,
   candidates to ``confianza-streams-events``, in the partition of their event uid;
2. events agent: dedupe table ((day, uid) -> first record, days expire after the TTL) -> accepted
   or duplicate receipt, ``incidents.v1``, and the event's sighting (its summary and every
   indicator, ``normalize.sighting``) to the single-partition ``confianza-streams-campaign``
   topic;
3. campaign agent (``campaigns.CampaignStage``): campaign graph, scoring, alert lifecycle ->
   ``alerts.v1``; a leader timer sends ticks for decay, resolution and idle eviction.

Both internal hops carry many items per record (``streams.hops``): the candidates of one
ingest batch bound for one partition, the sightings of one events-hop record.

The producer is idempotent with ``acks=all``; Faust flushes it before committing offsets, so
a committed offset implies every record the stage produced for it is durable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn

import faust
import orjson
import uvloop
from faust.transport.drivers import aiokafka as faust_aiokafka
from kafka import TopicPartition

from confianza.kafka import admin, consumer, ssl_context
from confianza.logging import get_logger
from confianza.metrics import EVENTS_ACCEPTED, EVENTS_DUPLICATE, ROCKSDB_MEMORY, STAGE_SECONDS
from confianza.schemas.topics import ALERTS, INCIDENTS, receipts_topic
from confianza.settings import KafkaSettings
from confianza.stopping import arm_stop_deadline, exit_now
from confianza.streams import dedupe, hops, normalize, stores
from confianza.streams.budget import DEFAULT_PER_HOUR, AdmissionBudget
from confianza.streams.campaigns import CampaignStage
from confianza.streams.registry import PartnerRegistry
from confianza.streams.score import ScoringConfig
from confianza.streams.source import COMPRESSION, IngestLoop
from confianza.streams.tail import alerts_in

log = get_logger(__name__)

APP_ID = "confianza-streams"
DEDUPE_EXPIRY_S = 3600.0
"""How often every worker drops expired days of dedupe entries from its local store."""
ROCKSDB_MEMORY_S = 5.0
"""How often every worker reads what its RocksDB databases hold in memory (a gauge)."""
TICK_KEY = b"\x00tick"
CAMPAIGN_TAKE = 100
"""Most campaign-hop records the campaign stage takes at once (each holds the sightings of one
events-hop record)."""
CAMPAIGN_TAKE_WAIT_S = 0.005
"""How long the campaign stage waits to fill a take before it takes what it has."""
CAMPAIGN_BATCH = 1000
"""Sightings that make the campaign stage handle what it has gathered of a take (one round of
alert acknowledgements): a batch is at most this and one record's sightings."""
PRODUCER_LINGER_S = 0.010
"""How long the producer holds records to batch them into one request per broker."""
PRODUCER_BUFFER_MAX = 4096
"""Records (mostly table changelog records) the app's producer buffer holds before Faust stops
handing records to the stages until it has drained. Faust's 100 is less than one campaign
batch writes (up to a few thousand changelog records for ``CAMPAIGN_BATCH`` sightings): each
such batch made it log "producer buffer full" at WARNING and drain a hundred records one
event-loop turn at a time before the next record."""
FETCH_MIN_BYTES, FETCH_MAX_WAIT_MS = 32 * 1024, 10
"""A fetch is answered once it has this many bytes or has waited this long."""
ROCKSDB_OPTIONS = {
    "write_buffer_size": 8 * 2**20,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 * 2**20,
}
"""Memory of each RocksDB database (one per table partition: nine by default). Faust's
defaults (64 MiB write buffers, three of them, and a 2 GiB block cache, per database) let
the worker's RSS climb for as long as new keys arrive; reads the cache misses come from the
operating system's page cache."""


def stop_on_failure(stage: str, exc: Exception) -> NoReturn:
    """Called when a stage raises while it handles a record or batch: the worker exits at
    once (exit code 1) and commits nothing.

    Faust would restart the agent and acknowledge what it was handling as if it were done
    (a take acknowledges its batch in a ``finally``), so those records would be lost. Exiting
    without a commit is a crash like any other (tests/reliability): the restarted worker reads
    them again, and a stage that fails on them every time stops the worker every time, loudly,
    instead of dropping them."""
    log.critical(
        "a stage failed; the worker stops without committing, so its records are read again",
        stage=stage,
        error=f"{type(exc).__name__}: {exc}",
        exc_info=exc,
    )
    exit_now()


class _IdempotentProducer(faust_aiokafka.Producer):
    """Faust enables idempotence only for transactions; Confianza wants it always. Its buffer
    holds ``PRODUCER_BUFFER_MAX`` records."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer.max_messages = PRODUCER_BUFFER_MAX

    def _settings_extra(self) -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust asks the broker to answer each fetch as soon as it has one record. Under steady
    load every stage then fetched a few records per request (and per hand-off from the
    consumer's thread): requests, not records, took the worker's CPU, and it sustained half
    its burst rate. Batched fetches (``FETCH_MIN_BYTES`` or ``FETCH_MAX_WAIT_MS``) cost each
    hop at most that wait."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes no fetch_min_bytes; the consumer reads both when it starts.
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
    Producer = _IdempotentProducer


class StreamsApp(faust.App):
    """A Faust app whose producer is always idempotent with ``acks=all`` and whose consumer
    batches its fetches."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        return _Transport(self.conf.broker_producer, self)

    async def maybe_start_producer(self) -> Any:
        """Called by Faust before every record a topic or table sends (each table write's
        changelog record). Faust's version is guarded against concurrent starts by a wrapper
        that yields to the event loop three times per call, so every changelog record cost
        three loop turns: under a burst the table writes outran the loop (tens of thousands
        of changelog records waiting). Once the producer runs, it is returned at once."""
        if self.producer.started and not self.in_transaction:
            return self.producer
        return await super().maybe_start_producer()


def create_app(
    kafka: KafkaSettings,
    scoring: ScoringConfig,
    *,
    store: str = "memory://",
    data_dir: str = ".confianza/streams",
    partitions: int = 6,
    tick_seconds: float = 30.0,
    app_id: str = APP_ID,
    admission_budget: int = DEFAULT_PER_HOUR,
) -> faust.App:
    """Build the streams app; nothing connects until the worker starts it.

    ``app_id`` names the consumer groups and internal topics; it must start with
    ``confianza-streams`` (the ACL prefix of the streams principal). ``admission_budget`` is
    the records a partner may write per hour (``streams.budget``; 0: no budget).
    """
    if not app_id.startswith(APP_ID):
        raise ValueError(f"app id {app_id!r} must start with {APP_ID!r} (the ACL prefix)")
    credentials: Any = None
    context = ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL"):
        credentials = faust.SASLCredentials(
            username=kafka.username,
            password=kafka.password.get_secret_value() if kafka.password else None,
            mechanism=kafka.sasl_mechanism,
            ssl_context=context,
        )
    elif context is not None:
        credentials = faust.SSLCredentials(context)
    app = StreamsApp(
        app_id,
        broker=[f"kafka://{s}" for s in kafka.bootstrap_servers.split(",")],
        broker_credentials=credentials,
        store=store,
        datadir=data_dir,
        topic_partitions=partitions,
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        producer_linger=PRODUCER_LINGER_S,
        producer_max_batch_size=256 * 1024,
        producer_compression_type=COMPRESSION,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_cleanup_interval=60.0,
        broker_commit_interval=1.0,
        # A crashed worker's partitions wait for its session to expire before a restarted or
        # surviving worker gets them: Faust's 60 s default stalled ingest for a minute after a
        # kill -9 (tests/reliability). 10 s, as every other consumer of the project.
        broker_session_timeout=10.0,
        key_serializer="raw",
        value_serializer="raw",
    )

    events = app.topic(
        f"{app_id}-events",
        internal=True,
        partitions=partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    campaign_topic = app.topic(
        f"{app_id}-campaign",
        internal=True,
        partitions=1,
        key_serializer="raw",
        value_serializer="raw",
    )

    dedupe_table = app.Table(
        "dedupe-days",
        key_type=bytes,
        partitions=partitions,
        options=ROCKSDB_OPTIONS,
    )
    # Old days leave the changelog by retention (and the local stores by ``expire_dedupe``);
    # Faust gives a table without windows a compacted changelog that keeps every key.
    dedupe_table.changelog_topic = dedupe_table._new_changelog_topic(
        retention=timedelta(days=dedupe.KEEP_DAYS), deleting=True
    )
    index_table = app.Table("indicator-index", partitions=1, options=ROCKSDB_OPTIONS)
    campaign_table = app.Table("campaigns", partitions=1, options=ROCKSDB_OPTIONS)
    state_table = app.Table("alert-state", partitions=1, options=ROCKSDB_OPTIONS)

    campaign_name = campaign_topic.get_topic_name()
    lists = normalize.WarningLists.from_config(scoring)
    excluded_roles = scoring.correlation.exclude_roles
    registry = PartnerRegistry(kafka)
    ingest = IngestLoop(
        kafka,
        registry,
        f"{app_id}-events",
        group_id=f"{app_id}-ingest",
        budget=AdmissionBudget(admission_budget),
    )

    @app.agent(events)
    async def events_stage(stream: Any) -> None:
        async for event in stream.events():
            try:
                await handle_events(event)
            except Exception as exc:
                stop_on_failure("events", exc)

    async def handle_events(event: Any) -> None:
        """Answer every candidate of one events-hop record; send their sightings on."""
        started = time.perf_counter()
        candidates = hops.unpack(event.value)
        sightings = [
            orjson.dumps(s)
            for doc in candidates
            if (s := await answer(doc, doc.get("received", event.message.timestamp)))
        ]
        for value in hops.pack(sightings):
            await app.producer.send(campaign_name, None, value, None, None, None)
        STAGE_SECONDS.labels(stage="dedupe").observe(
            (time.perf_counter() - started) / max(1, len(candidates))
        )

    async def answer(doc: dict[str, Any], received: float) -> dict[str, Any] | None:
        """Dedupe one candidate, send its receipt (and incident); its sighting, if any."""
        keys = dedupe.keys_to_check(dedupe.day_of(received), doc["uid"])
        entry = next((e for e in map(dedupe_table.get, keys) if e is not None), None)
        decision = dedupe.decide(doc, entry)
        await app.producer.send(
            receipts_topic(doc["reporter"]),
            doc["event"]["event_id"].encode(),
            orjson.dumps(decision.receipt),
            None,
            None,
            None,
        )
        if decision.status == "duplicate":
            EVENTS_DUPLICATE.labels(partner=doc["reporter"]).inc()
            return None
        if entry is None:
            dedupe_table[keys[0]] = decision.entry
            EVENTS_ACCEPTED.labels(partner=doc["reporter"]).inc()
        await app.producer.send(
            INCIDENTS, doc["uid"].encode(), orjson.dumps(decision.incident), None, None, None
        )
        annotated = normalize.annotate(doc["indicators"], lists, excluded_roles)
        return normalize.sighting(decision.incident, annotated, doc["seen_at"])

    async def emit_alerts(batch: list[dict[str, Any]]) -> list[tuple[int, int]]:
        sent = [
            await app.producer.send(
                ALERTS, alert["alert_id"].encode(), orjson.dumps(alert), None, None, None
            )
            for alert in batch
        ]
        return [(m.partition, m.offset) for m in await asyncio.gather(*sent)]

    stage = CampaignStage(scoring, index_table, campaign_table, state_table, emit_alerts)
    takeover = {"pending": True}

    @app.on_partitions_revoked.connect
    async def _revoked(app: Any, revoked: Any, **_: Any) -> None:
        takeover["pending"] = True

    @app.agent(campaign_topic)
    async def campaign_stage(stream: Any) -> None:
        async for batch in stream.take_events(CAMPAIGN_TAKE, within=CAMPAIGN_TAKE_WAIT_S):
            # Table writes need Faust's current event (its partition and store): the stage
            # writes once per batch (``streams.writeback``), as of the take's last event.
            stream._set_current_event(batch[-1])
            try:
                await handle_campaign_batch(batch)
            except Exception as exc:
                stop_on_failure("campaign", exc)

    async def handle_campaign_batch(batch: list[Any]) -> None:
        """Feed one take's sightings and ticks to the campaign stage, in order."""
        if takeover["pending"]:
            await reconcile(kafka, stage)
            takeover["pending"] = False
        started = time.perf_counter()
        sightings: list[dict[str, Any]] = []
        handled = 0
        for event in batch:
            if event.key == TICK_KEY:
                await stage.on_sightings(sightings)
                handled, sightings = handled + len(sightings), []
                await stage.on_tick(orjson.loads(event.value)["now"])
                continue
            sightings.extend(hops.unpack(event.value))
            if len(sightings) >= CAMPAIGN_BATCH:
                await stage.on_sightings(sightings)
                handled, sightings = handled + len(sightings), []
        await stage.on_sightings(sightings)
        handled += len(sightings)
        STAGE_SECONDS.labels(stage="score").observe(
            (time.perf_counter() - started) / max(1, handled)
        )

    @app.timer(tick_seconds, on_leader=True)
    async def tick() -> None:
        await app.producer.send(
            campaign_name, TICK_KEY, orjson.dumps({"now": time.time()}), None, None, None
        )

    @app.timer(DEDUPE_EXPIRY_S)
    async def expire_dedupe() -> None:
        dedupe.expire(dedupe_table.data, dedupe.day_of(time.time()))

    @app.timer(ROCKSDB_MEMORY_S)
    async def measure_rocksdb_memory() -> None:
        tables = (dedupe_table, index_table, campaign_table, state_table)
        for kind, size in stores.rocksdb_memory(tables).items():
            ROCKSDB_MEMORY.labels(kind=kind).set(size)

    @app.task
    async def run_registry() -> None:
        await registry.run()

    @app.task
    async def run_ingest() -> None:
        await events.maybe_declare()
        await ingest.run()

    app.internal_topics = [events, campaign_topic]  # type: ignore[attr-defined]
    app.confianza = {
        "registry": registry,
        "ingest": ingest,
        "stage": stage,  # type: ignore[attr-defined]
        "takeover": takeover,
    }
    return app


class _Worker(faust.Worker):
    """A Faust worker whose stop on SIGTERM or SIGINT is bounded by ``stop_timeout``."""

    stop_timeout: float

    def _schedule_shutdown(self, signal: Any) -> None:
        arm_stop_deadline(self.stop_timeout, signal.name)
        super()._schedule_shutdown(signal)


def new_worker(app: faust.App, level: str, stop_timeout: float) -> faust.Worker:
    """The Faust worker that runs ``app`` on uvloop, logging at ``level``
    (DEBUG/INFO/WARNING/ERROR); told to stop, it exits within ``stop_timeout`` seconds
    (``confianza.stopping``). Call it before anything creates the process's event loop."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    worker = _Worker(
        app, loglevel=level.lower().replace("warning", "warn"), quiet=True, redirect_stdouts=False
    )
    worker.stop_timeout = stop_timeout
    # Faust's terminal spinner, kept at WARNING and above, lowers the root logger to DEBUG so it
    # can spin on every record: every Faust debug line was then built and dropped (about 8 % of
    # the worker's time under load). A worker has no terminal to spin on.
    worker.spinner = None
    return worker


def declare_topics(app: faust.App, kafka: KafkaSettings) -> list[str]:
    """Create the app's internal, changelog and leader topics before the worker starts.

    Faust would create them itself, but two workers starting together race: the group leader
    may assign partitions before a topic created by the other worker is in its metadata, and
    then ignores that topic until the next rebalance. Created up front, every worker sees
    them all. Returns the names created now (existing ones are left as they are).
    """
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    topics = [*app.internal_topics, *(t.changelog_topic for t in app.tables.values())]
    wanted = {
        f"{app.conf.id}-__assignor-__leader": NewTopic(
            f"{app.conf.id}-__assignor-__leader", 1, kafka.replication_factor
        )
    }
    for topic in topics:
        config = {}
        flags = [f for f, on in (("compact", topic.compacting), ("delete", topic.deleting)) if on]
        if flags:
            config["cleanup.policy"] = ",".join(sorted(flags))
        if topic.retention:
            config["retention.ms"] = str(
                int(topic.retention.total_seconds() * 1000)
                if isinstance(topic.retention, timedelta)
                else int(float(topic.retention) * 1000)
            )
        name = topic.get_topic_name()
        wanted[name] = NewTopic(
            name,
            topic.partitions or app.conf.topic_partitions,
            kafka.replication_factor,
            topic_configs=config,
        )
    client = admin(kafka)
    try:
        missing = [t for n, t in wanted.items() if n not in set(client.list_topics())]
        created = []
        for topic in missing:
            try:
                client.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        client.close()


def read_alerts_after(
    kafka: KafkaSettings, starts: Callable[[list[int]], dict[int, int]]
) -> list[tuple[dict[str, Any], int, int]]:
    """Every alert on ``alerts.v1`` from ``starts(partitions)`` to the current end offsets.

    Blocking (kafka-python); run in a thread. Returns ``(alert, partition, offset)`` triples.
    """
    client = consumer(kafka, enable_auto_commit=False)
    try:
        tps = [TopicPartition(ALERTS, p) for p in sorted(client.partitions_for_topic(ALERTS))]
        client.assign(tps)
        ends = client.end_offsets(tps)
        begin = starts([tp.partition for tp in tps])
        pending = [tp for tp in tps if begin[tp.partition] < ends[tp]]
        client.assign(pending)
        for tp in pending:
            client.seek(tp, begin[tp.partition])
        found = []
        while pending:
            for tp, records in client.poll(timeout_ms=1000).items():
                found.extend((alert, tp.partition, r.offset) for alert, r in alerts_in(records))
            pending = [tp for tp in pending if client.position(tp) < ends[tp]]
        return found
    finally:
        client.close()


async def reconcile(kafka: KafkaSettings, stage: CampaignStage) -> int:
    """Adopt alert versions on ``alerts.v1`` newer than the state's high-water marks."""
    found = await asyncio.to_thread(read_alerts_after, kafka, stage.start_offsets)
    adopted = sum(1 for alert, partition, offset in found if stage.adopt(alert, partition, offset))
    stage.taken_over()
    log.info("alert state reconciled with alerts.v1", read=len(found), adopted=adopted)
    return adopted
