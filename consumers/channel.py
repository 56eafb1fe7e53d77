"""The one interface every delivery channel implements, and the outcome of one send.

A channel (``webhook``, ``email``, ``chat``, ``syslog``, ``file``) is built once per worker by
``confianza.consumers.channels.build_channel`` and then only asked to ``send(alert,
subscriber)``: one attempt, no retry, no sleeping. It answers with an ``Outcome``; retries,
backoff, circuit breaking and rate limiting live in ``policy.py`` and ``deliver.py`` alone.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from confianza.consumers.gate import GatedAlert
from confianza.consumers.subscriptions import Subscriber

OutcomeKind = Literal["delivered", "retryable", "permanent", "disabled"]
MAX_RETRY_AFTER_S = 3600.0


@dataclass(frozen=True)
class Outcome:
    """What one send attempt achieved.

    ``delivered``: the receiver accepted it. ``retryable``: try again later (``retry_after``
    seconds, when the receiver said so). ``permanent``: this alert will never be accepted as
    it is. ``disabled``: the receiver is gone (HTTP 410); stop sending to this subscriber.
    """

    kind: OutcomeKind
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


class Channel(Protocol):
    """One delivery channel. ``send`` makes exactly one attempt and never raises for the
    receiver's faults (those are outcomes); ``aclose`` releases connections at shutdown."""

    name: str

    async def send(self, alert: GatedAlert, subscriber: Subscriber) -> Outcome: ...

    async def aclose(self) -> None: ...


def idempotency_key(alert_id: str, version: int, subscriber_id: str) -> str:
    """``<alert_id>:<version>:<subscriber>``: one delivery, sent at most once per key."""
    return f"{alert_id}:{version}:{subscriber_id}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return min(max(delay, 0.0), MAX_RETRY_AFTER_S)


def outcome_for_status(status: int, retry_after: str | None = None) -> Outcome:
    """The outcome of an HTTP answer: 2xx delivered, 410 disabled, 408/429/5xx retryable
    (honouring ``Retry-After``), anything else (other 4xx, unfollowed 3xx) permanent."""
    if 200 <= status < 300:
        return Outcome("delivered", status_code=status)
    if status == 410:
        return Outcome("disabled", status_code=status, error="HTTP 410 Gone")
    if status in (408, 429) or 500 <= status < 600:
        return Outcome(
            "retryable",
            status_code=status,
            error=f"HTTP {status}",
            retry_after=parse_retry_after(retry_after),
        )
    return Outcome("permanent", status_code=status, error=f"HTTP {status}")
