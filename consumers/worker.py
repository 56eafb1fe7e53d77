"""The delivery worker of one channel: ``alerts.v1`` in, gated notifications out, ledger kept.

Entry points: ``await DeliveryWorker(...).run(stop)`` inside an event loop (tests, the demo,
the benchmark), and ``run_worker(worker, stop_timeout)``, which blocks until SIGINT/SIGTERM
(``confianza worker deliver --channel …``) and bounds the stop. One consumer group per channel
(``confianza-deliver-<channel>``), so every channel sees every alert and scales on its own.

On start the worker reads the whole ledger (``deliveries.v1``) to learn which keys are settled;
then for each alert record it asks every subscriber of its channel: does the subscription want
it (severity, RSIT class), was this key settled already, what does the TLP gate let through?
Deliveries run on per-subscriber lanes, so a slow or dead subscriber never delays the others.
An offset is committed only after every delivery the record started is in the ledger.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, KafkaError

from confianza.collector import tune_collector
from confianza.consumers.channel import idempotency_key
from confianza.consumers.channels import build_channel
from confianza.consumers.deliver import Deliverer
from confianza.consumers.dlq import DeadLetters
from confianza.consumers.gate import gate
from confianza.consumers.grouping import Grouper
from confianza.consumers.ledger import Ledger
from confianza.consumers.offsets import OffsetTracker, Token
from confianza.consumers.policy import DeliveryPolicy
from confianza.consumers.subscriptions import Subscriber, Subscriptions
from confianza.kafka import aiokafka_kwargs
from confianza.logging import get_logger
from confianza.schemas import topics as topic_names
from confianza.schemas.validate import validate_document
from confianza.settings import KafkaSettings
from confianza.stopping import arm_stop_deadline

log = get_logger(__name__)
MAX_ALERT_BYTES = 1024 * 1024
COMMIT_INTERVAL_S = 0.5  # settled offsets are committed at most this often (and at stop)


@dataclass(frozen=True)
class Topics:
    """The topics a delivery worker reads and writes (tests use private copies)."""

    alerts: str = topic_names.ALERTS
    deliveries: str = topic_names.DELIVERIES
    dlq: str = topic_names.DLQ_DELIVERY

    def options(self) -> list[str]:
        """The ``confianza worker deliver`` options that make a worker use these topics."""
        return [
            "--alerts-topic",
            self.alerts,
            "--deliveries-topic",
            self.deliveries,
            "--dlq-topic",
            self.dlq,
        ]


def group_id(channel: str) -> str:
    """The consumer group of a channel's workers."""
    return f"confianza-deliver-{channel}"


def decode_alert(value: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """Decode an ``alerts.v1`` value; (alert, None) when it is a valid alert v1, else
    (None, why not)."""
    if value is None:
        return None, "empty record"
    if len(value) > MAX_ALERT_BYTES:
        return None, f"larger than {MAX_ALERT_BYTES} bytes"
    try:
        alert = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON: {exc}"
    errors = validate_document("alert", alert)
    if errors:
        return None, "; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors[:5])
    return alert, None


def producer_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    """The ledger/DLQ producer: acknowledged by every in-sync replica, idempotent, with
    batches large enough that thousands of concurrent deliveries never wait on a full one."""
    return aiokafka_kwargs(kafka) | {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,
    }


class DeliveryWorker:
    """Consumes alerts and delivers them on one channel (see the module docstring)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        channel: str,
        subscriptions: Subscriptions,
        policy: DeliveryPolicy | None = None,
        topics: Topics = Topics(),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.kafka = kafka
        self.channel_name = channel
        self.subscribers = subscriptions.for_channel(channel)
        self.policy = policy or DeliveryPolicy()
        self.topics = topics
        self.group_id = group_id(channel)
        self._env = env
        self._tracker = OffsetTracker()
        self._replay_until: dict[TopicPartition, int] = {}
        self._groupers: dict[str, Grouper] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._ready = False

    def ready(self) -> bool:
        """True once the ledger is read and alerts are being consumed (for ``/readyz``)."""
        return self._ready

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish in-flight work (bounded) and commit."""
        channel = build_channel(self.channel_name, self.subscribers, self._env)
        producer = AIOKafkaProducer(**producer_kwargs(self.kafka))
        consumer: AIOKafkaConsumer | None = None
        try:
            await producer.start()
            ledger = Ledger(self.kafka, producer, self.topics.deliveries)
            read = await ledger.catch_up()
            log.info(
                "ledger read",
                records=read,
                settled=len(ledger.state.settled),
                channel=self.channel_name,
            )
            deliverer = Deliverer(
                channel, ledger, DeadLetters(producer, self.topics.dlq), self.policy
            )
            self._groupers = {
                s.id: Grouper(s, deliverer, self._tracker.settled, self.fail)
                for s in self.subscribers
            }
            consumer = AIOKafkaConsumer(
                **aiokafka_kwargs(self.kafka),
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=MAX_ALERT_BYTES,
            )
            consumer.subscribe([self.topics.alerts], listener=_Rebalance(self, consumer, ledger))
            await consumer.start()
            self._ready = True
            if not self.subscribers:
                log.warning(
                    "no subscriber uses this channel; alerts are read and committed",
                    channel=self.channel_name,
                )
            log.info(
                "delivery worker started",
                channel=self.channel_name,
                subscribers=len(self.subscribers),
                group=self.group_id,
            )
            await self._consume(consumer, deliverer, ledger, stop)
        finally:
            self._ready = False
            for grouper in self._groupers.values():
                grouper.cancel()
            for task in self._tasks:
                task.cancel()
            if consumer is not None:
                await _stop_consumer(consumer)
            await producer.stop()
            await channel.aclose()

    async def _consume(
        self,
        consumer: AIOKafkaConsumer,
        deliverer: Deliverer,
        ledger: Ledger,
        stop: asyncio.Event,
    ) -> None:
        committer = asyncio.get_running_loop().create_task(self._commit_every(consumer))
        try:
            while not stop.is_set() and self._failure is None:
                if self._tracker.outstanding >= self.policy.max_pending:
                    await asyncio.sleep(0.05)
                    continue
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                for messages in batch.values():
                    for message in messages:
                        self._handle(message, deliverer, ledger)
        finally:
            committer.cancel()
        log.info("delivery worker stopping", channel=self.channel_name)
        if self._failure is None:
            await asyncio.gather(
                *(g.drain(self.policy.shutdown_grace) for g in self._groupers.values())
            )
        await self.commit(consumer)
        if self._failure is not None:
            raise self._failure

    async def _commit_every(self, consumer: AIOKafkaConsumer) -> None:
        """Commit settled offsets in the background, so a slow commit never stalls reading."""
        while True:
            await asyncio.sleep(COMMIT_INTERVAL_S)
            await self.commit(consumer)

    def fail(self, exc: BaseException) -> None:
        """A ledger or DLQ write failed, or the ledger could not be read when partitions were
        assigned: stop consuming; ``run`` raises it after cleaning up."""
        if self._failure is None:
            log.error("ledger unusable; stopping", error=f"{type(exc).__name__}: {exc}")
            self._failure = exc

    def _handle(self, message: Any, deliverer: Deliverer, ledger: Ledger) -> None:
        tp = TopicPartition(message.topic, message.partition)
        alert, problem = decode_alert(message.value)
        if alert is None:
            log.error(
                "alert record cannot be delivered; skipped",
                topic=tp.topic,
                partition=tp.partition,
                offset=message.offset,
                problem=problem,
            )
            self._tracker.add(tp, message.offset, 0)
            return
        work = []
        for subscriber in self.subscribers:
            if not subscriber.wants(
                alert["severity"], (alert.get("classification") or {}).get("class")
            ):
                continue
            key = idempotency_key(alert["alert_id"], alert["version"], subscriber.id)
            if key in ledger.state.settled:
                continue
            work.append(subscriber)
        token = self._tracker.add(tp, message.offset, len(work))
        for subscriber in work:
            gated = gate(alert, subscriber)
            if gated is None:
                task = asyncio.get_running_loop().create_task(
                    self._filtered(deliverer, alert, subscriber, token)
                )
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
            else:
                replayed = message.offset < self._replay_until.get(tp, 0)
                self._groupers[subscriber.id].offer(alert, gated, token, replayed)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.fail(task.exception())  # type: ignore[arg-type]

    async def _filtered(
        self, deliverer: Deliverer, alert: dict[str, Any], subscriber: Subscriber, token: Token
    ) -> None:
        await deliverer.record_filtered(
            alert, subscriber, "TLP gate: nothing the subscriber is cleared for"
        )
        self._tracker.settled(token)

    def replaying(self, until: Mapping[TopicPartition, int]) -> None:
        """Records below these offsets may have been delivered, unrecorded, by a worker that
        crashed: their versions are sent, never folded (``Grouper.offer``)."""
        self._replay_until.update(until)

    def forget(self, partitions: Any) -> None:
        """Stop tracking partitions this worker no longer owns, and drop the versions from
        them still waiting in grouping (they are read again after the next assignment)."""
        self._tracker.forget(partitions)
        revoked = set(partitions)
        for grouper in self._groupers.values():
            grouper.drop_pending(lambda token: token.tp in revoked)

    async def commit(
        self, consumer: AIOKafkaConsumer, only: set[TopicPartition] | None = None
    ) -> None:
        """Commit every partition whose settled position moved (``only``: those partitions)."""
        offsets = self._tracker.committable()
        if only is not None:
            offsets = {tp: o for tp, o in offsets.items() if tp in only}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            log.warning("offset commit failed; will retry", error=str(exc))
            return
        self._tracker.mark_committed(offsets)


async def _stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Close the alerts consumer at the end of ``run``. Closed while a fetch waits out its retry
    backoff (the broker is gone), aiokafka lets that fetch's ``CancelledError`` out of ``stop``
    though nothing cancelled the worker: it is logged, and the rest of the stop goes on."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.warning("the alerts consumer closed with a fetch cut short (is the broker reachable?)")


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit what is settled before partitions move; re-read the ledger after they do."""

    def __init__(self, worker: DeliveryWorker, consumer: AIOKafkaConsumer, ledger: Ledger) -> None:
        self._worker = worker
        self._consumer = consumer
        self._ledger = ledger

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._worker.commit(self._consumer, only=set(revoked))
        self._worker.forget(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        # aiokafka assigns the partitions, and may fetch from them, before it calls this: a
        # record handled now would be checked against a ledger that has not caught up and
        # without its replay bound, so it could be folded (and settled ``filtered``) although
        # a crashed worker had delivered it. Their records wait until both are known.
        self._consumer.pause(*assigned)
        try:
            await self._ledger.catch_up()
            # Any partition may have been consumed before by a worker that crashed mid-send,
            # even one that never committed (killed before its first commit): what is already
            # on it is sent, never folded.
            if assigned:
                self._worker.replaying(await self._consumer.end_offsets(list(assigned)))
        except Exception as exc:  # without its ledger the worker cannot deliver safely
            self._worker.fail(exc)
            return
        self._consumer.resume(*assigned)


def run_worker(worker: DeliveryWorker, stop_timeout: float) -> None:
    """Run a worker in this process until SIGINT or SIGTERM, with the process's garbage
    collector tuned for it (``confianza.collector``). The first signal stops it cleanly
    (``run``); a stop that takes longer than ``stop_timeout`` seconds ends the process with
    exit code 1 (``confianza.stopping``): with the broker gone, the final commit would wait
    for it forever."""
    tune_collector()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            if not stop.is_set():
                arm_stop_deadline(stop_timeout, sig.name)
                stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        await worker.run(stop)

    asyncio.run(main())
