"""Replay from the delivery DLQ: send again what did not get through, once per key.

``replay_from_dlq`` is what ``confianza replay --from-dlq`` runs. It reads ``dlq.delivery.v1``
up to its current end (optionally one subscriber's records, not older than ``since``), reads the
ledger, and for each key not yet delivered gates the original alert again with the
subscriptions in force now and delivers it under the same policy as the workers (ledger record
per attempt; a failure goes back to the DLQ). A key is replayed at most once per run and never
after the ledger shows it delivered, so running replay twice sends nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from confianza.consumers.channel import Channel
from confianza.consumers.channels import build_channel
from confianza.consumers.deliver import Deliverer
from confianza.consumers.dlq import DeadLetter, DeadLetters, read_dead_letters
from confianza.consumers.gate import GatedAlert, gate
from confianza.consumers.ledger import Ledger
from confianza.consumers.policy import DeliveryPolicy
from confianza.consumers.subscriptions import Subscriber, Subscriptions
from confianza.consumers.worker import Topics, producer_kwargs
from confianza.logging import get_logger
from confianza.settings import KafkaSettings

log = get_logger(__name__)


@dataclass
class ReplaySummary:
    """What a replay run did, by key."""

    read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome not in _FINE)


_FINE = frozenset({"delivered", "already-delivered", "duplicate-in-dlq", "filtered"})


async def replay_from_dlq(
    kafka: KafkaSettings,
    subscriptions: Subscriptions,
    policy: DeliveryPolicy | None = None,
    subscriber: str | None = None,
    since: dt.datetime | None = None,
    topics: Topics = Topics(),
    env: Mapping[str, str] | None = None,
) -> ReplaySummary:
    """Re-deliver dead letters (see the module docstring); returns per-outcome counts:
    delivered, already-delivered, duplicate-in-dlq, filtered, unknown-subscriber, and the
    final outcome kind of deliveries that failed again."""
    policy = policy or DeliveryPolicy()
    letters = await read_dead_letters(kafka, topics.dlq, subscriber, since)
    summary = ReplaySummary(read=len(letters))
    producer = AIOKafkaProducer(**producer_kwargs(kafka))
    channels: dict[str, Channel] = {}
    try:
        await producer.start()
        ledger = Ledger(kafka, producer, topics.deliveries)
        await ledger.catch_up()
        dead = DeadLetters(producer, topics.dlq)
        deliverers: dict[str, Deliverer] = {}
        latest: dict[str, DeadLetter] = {}
        for letter in letters:
            if letter.key in latest:
                summary.outcomes["duplicate-in-dlq"] += 1
            latest[letter.key] = letter
        jobs = []
        for key, letter in latest.items():
            sub = subscriptions.get(letter.subscriber)
            if sub is None or not sub.enabled:
                summary.outcomes["unknown-subscriber"] += 1
                log.warning(
                    "dead letter for a subscriber no longer subscribed; kept in DLQ",
                    subscriber=letter.subscriber,
                    key=key,
                )
                continue
            if key in ledger.state.delivered:
                summary.outcomes["already-delivered"] += 1
                continue
            if sub.channel not in deliverers:
                channels[sub.channel] = build_channel(
                    sub.channel, subscriptions.for_channel(sub.channel), env
                )
                deliverers[sub.channel] = Deliverer(channels[sub.channel], ledger, dead, policy)
            deliverer = deliverers[sub.channel]
            gated = gate(letter.alert, sub)
            if gated is None:
                jobs.append(_filtered(deliverer, letter, sub))
            else:
                jobs.append(_deliver(deliverer, letter, gated, sub))
        for outcome in await asyncio.gather(*jobs):
            summary.outcomes[outcome] += 1
    finally:
        for channel in channels.values():
            await channel.aclose()
        await producer.stop()
    log.info("replay finished", read=summary.read, **dict(summary.outcomes))
    return summary


async def _filtered(deliverer: Deliverer, letter: DeadLetter, sub: Subscriber) -> str:
    await deliverer.record_filtered(
        letter.alert, sub, "TLP gate: nothing the subscriber is cleared for (replay)"
    )
    return "filtered"


async def _deliver(
    deliverer: Deliverer, letter: DeadLetter, gated: GatedAlert, sub: Subscriber
) -> str:
    return (await deliverer.deliver(letter.alert, gated, sub)).kind
