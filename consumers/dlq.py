"""The delivery dead-letter topic ``dlq.delivery.v1``: deliveries that did not succeed.

A delivery lands here after its last attempt (retries exhausted, a permanent refusal, or a
subscriber disabled by HTTP 410), keyed by subscriber, with the original, ungated alert: replay
gates it again with the subscriptions in force then. ``read_dead_letters`` is what
``confianza replay --from-dlq`` reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from confianza.consumers.ledger import read_records, send_acked, utc_now
from confianza.logging import get_logger
from confianza.metrics import DLQ_RECORDS
from confianza.settings import KafkaSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ record, parsed."""

    subscriber: str
    channel: str
    alert: dict[str, Any]
    reason: str
    attempts: int
    first_at: str
    last_at: str

    @property
    def key(self) -> str:
        return f"{self.alert['alert_id']}:{self.alert['version']}:{self.subscriber}"


class DeadLetters:
    """Writes DLQ records, each awaited until acknowledged."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self.topic = topic

    async def write(
        self,
        *,
        subscriber: str,
        channel: str,
        alert: dict[str, Any],
        reason: str,
        attempts: int,
        first_at: str,
    ) -> None:
        record = {
            "subscriber": subscriber,
            "channel": channel,
            "alert": alert,
            "reason": reason,
            "attempts": attempts,
            "first_at": first_at,
            "last_at": utc_now(),
        }
        await send_acked(self._producer, self.topic, orjson.dumps(record), subscriber.encode())
        DLQ_RECORDS.labels(self.topic).inc()


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def read_dead_letters(
    kafka: KafkaSettings,
    topic: str,
    subscriber: str | None = None,
    since: dt.datetime | None = None,
) -> list[DeadLetter]:
    """Every DLQ record up to the current end, optionally of one subscriber and not older
    than ``since`` (by ``last_at``); unreadable records are logged and skipped."""
    letters: list[DeadLetter] = []
    async for tp, offset, value in read_records(kafka, topic):
        try:
            raw = orjson.loads(value or b"")
            letter = DeadLetter(
                subscriber=str(raw["subscriber"]),
                channel=str(raw["channel"]),
                alert=dict(raw["alert"]),
                reason=str(raw["reason"]),
                attempts=int(raw["attempts"]),
                first_at=str(raw["first_at"]),
                last_at=str(raw["last_at"]),
            )
            when = _parse_time(letter.last_at)
            if "alert_id" not in letter.alert or "version" not in letter.alert:
                raise KeyError("alert without alert_id or version")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.error(
                "unreadable DLQ record",
                topic=tp.topic,
                partition=tp.partition,
                offset=offset,
                error=str(exc),
            )
            continue
        if subscriber is not None and letter.subscriber != subscriber:
            continue
        if since is not None and when < since:
            continue
        letters.append(letter)
    return letters
