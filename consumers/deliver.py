"""One delivery, start to end: attempts under the policy, a ledger record each, DLQ at the end.

``Deliverer.deliver`` is called by the worker's grouping (and by replay) once per idempotency
key. It runs attempts under ``DeliveryPolicy.run``; each attempt waits for the
subscriber's lane (circuit breaker, then one of its ``max_in_flight`` send slots and the rate
limit), goes through the channel, and has its outcome written to the ledger. When the final
outcome is not ``delivered`` it writes a ``dead-lettered`` ledger record and a DLQ record. It
returns only after those records are acknowledged, so the caller may then commit the offset.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from confianza.consumers.channel import Channel, Outcome
from confianza.consumers.dlq import DeadLetters
from confianza.consumers.gate import GatedAlert
from confianza.consumers.ledger import Ledger, delivery_record, utc_now
from confianza.consumers.policy import DeliveryPolicy, Lane
from confianza.consumers.subscriptions import Subscriber
from confianza.logging import get_logger
from confianza.metrics import (
    DELIVERIES,
    DELIVERY_RETRIES,
    DELIVERY_SECONDS,
    E2E_DELIVERED_SECONDS,
    SUBSCRIBERS_DISABLED,
)

log = get_logger(__name__)


def newest_evidence_age(alert: dict[str, Any]) -> float | None:
    """Seconds since the newest evidence's ``reported_at``, or None if there is none."""
    newest: dt.datetime | None = None
    for evidence in alert.get("evidence") or ():
        try:
            when = dt.datetime.fromisoformat(str(evidence.get("reported_at")))
        except ValueError:
            continue
        if when.tzinfo is None:
            continue
        newest = when if newest is None or when > newest else newest
    if newest is None:
        return None
    return max(0.0, (dt.datetime.now(dt.UTC) - newest).total_seconds())


class Deliverer:
    """Delivers gated alerts on one channel with the one retry policy (see module docstring)."""

    def __init__(
        self, channel: Channel, ledger: Ledger, dead_letters: DeadLetters, policy: DeliveryPolicy
    ) -> None:
        self.channel = channel
        self._ledger = ledger
        self._dlq = dead_letters
        self._policy = policy
        self._lanes: dict[str, Lane] = {}
        self.disabled: set[str] = set()
        # labelled metric children, bound once (``labels()`` costs more than the update)
        self._outcomes = {
            kind: DELIVERIES.labels(channel.name, kind)
            for kind in (
                "delivered",
                "retryable",
                "permanent",
                "disabled",
                "dead-lettered",
                "filtered",
            )
        }
        self._send_seconds = DELIVERY_SECONDS.labels(channel.name)
        self._e2e_seconds = E2E_DELIVERED_SECONDS.labels(channel.name)
        # rare events get a series at 0 from the start, so dashboards show 0, not "no data"
        self._retries = DELIVERY_RETRIES.labels(channel.name)
        self._disabled = SUBSCRIBERS_DISABLED.labels(channel.name)

    def _count(self, outcome: str) -> None:
        self._outcomes[outcome].inc()

    def lane(self, subscriber: Subscriber) -> Lane:
        lane = self._lanes.get(subscriber.id)
        if lane is None:
            lane = self._lanes[subscriber.id] = Lane(subscriber, self._policy)
        return lane

    async def record_filtered(
        self, alert: dict[str, Any], subscriber: Subscriber, reason: str
    ) -> None:
        """Write that this key was settled without sending (TLP gate, superseded, unchanged)."""
        await self._ledger.write(
            delivery_record(
                alert=alert,
                subscriber=subscriber.id,
                channel=self.channel.name,
                outcome="filtered",
                attempt=1,
                error=reason,
            )
        )
        self._count("filtered")

    async def _attempt(
        self,
        alert: dict[str, Any],
        gated: GatedAlert,
        subscriber: Subscriber,
        lane: Lane,
        attempt: int,
        deadline: float,
    ) -> Outcome:
        name = self.channel.name
        if subscriber.id in self.disabled:
            result = Outcome("disabled", error="subscriber disabled after HTTP 410")
        elif not await lane.breaker.acquire(deadline):
            result = Outcome("retryable", error="circuit open")
        else:
            async with lane.in_flight, lane.limiter:
                started = time.perf_counter()
                try:
                    result = await self.channel.send(gated, subscriber)
                except Exception as exc:  # a channel bug must not stop the worker
                    log.exception("channel raised", channel=name, subscriber=subscriber.id)
                    result = Outcome("retryable", error=f"internal error: {type(exc).__name__}")
                self._send_seconds.observe(time.perf_counter() - started)
            lane.breaker.record(result)
            if result.kind == "disabled":
                self.disabled.add(subscriber.id)
                self._disabled.inc()
                log.warning("subscriber disabled (HTTP 410)", subscriber=subscriber.id)
        self._count(result.kind)
        if result.kind == "delivered":
            age = newest_evidence_age(alert)
            if age is not None:
                self._e2e_seconds.observe(age)
        await self._ledger.write(
            delivery_record(
                alert=alert,
                subscriber=subscriber.id,
                channel=name,
                outcome=result.kind,
                attempt=attempt,
                gated=gated,
                result=result,
            )
        )
        return result

    async def deliver(
        self, alert: dict[str, Any], gated: GatedAlert, subscriber: Subscriber
    ) -> Outcome:
        """Deliver one key; returns the final outcome once the ledger (and DLQ) hold it."""
        lane = self.lane(subscriber)
        first_at = utc_now()
        attempts = 0
        deadline = time.monotonic() + self._policy.max_elapsed

        async def attempt() -> Outcome:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                self._retries.inc()
            return await self._attempt(alert, gated, subscriber, lane, attempts, deadline)

        final = await self._policy.run(attempt)
        if final.kind != "delivered":
            reason = f"{final.kind}: {final.error or final.status_code}"
            await self._ledger.write(
                delivery_record(
                    alert=alert,
                    subscriber=subscriber.id,
                    channel=self.channel.name,
                    outcome="dead-lettered",
                    attempt=attempts,
                    gated=gated,
                    result=final,
                    error=reason,
                )
            )
            self._count("dead-lettered")
            await self._dlq.write(
                subscriber=subscriber.id,
                channel=self.channel.name,
                alert=alert,
                reason=reason,
                attempts=attempts,
                first_at=first_at,
            )
            log.warning(
                "delivery dead-lettered",
                subscriber=subscriber.id,
                alert_id=gated.alert_id,
                version=gated.version,
                attempts=attempts,
                reason=reason,
            )
        return final
