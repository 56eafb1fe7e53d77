"""The delivery policy, in one place: retries, backoff, circuit breaker and rate limit.

``DeliveryPolicy`` holds every knob (read from ``CONFIANZA_DELIVERY_*`` by the CLI, built
directly with tiny values by tests and benchmarks). ``run(attempt)`` is how every delivery
makes its attempts; its retries go through the tenacity loop ``retrying()``: exponential
backoff with full jitter, ``Retry-After`` honoured when the receiver sent one, stop after
``max_attempts`` or ``max_elapsed`` seconds. ``CircuitBreaker``
stops hammering a failing subscriber; ``Lane`` bundles the per-subscriber breaker, rate limiter
and in-flight bound, so one slow or dead subscriber only ever waits on its own lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from aiolimiter import AsyncLimiter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from confianza.consumers.channel import Outcome
from confianza.consumers.subscriptions import Subscriber
from confianza.metrics import CIRCUIT_STATE

BreakerState = Literal["closed", "open", "half_open"]


class DeliveryPolicy(BaseSettings):
    """Every reliability knob of the delivery workers and replay."""

    model_config = SettingsConfigDict(env_prefix="CONFIANZA_DELIVERY_", frozen=True, extra="ignore")

    max_attempts: int = Field(default=8, ge=1, le=100)
    initial_backoff: float = Field(default=1.0, gt=0)
    max_backoff: float = Field(default=300.0, gt=0)
    max_elapsed: float = Field(default=3600.0, gt=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_reset: float = Field(default=30.0, gt=0)
    max_in_flight: int = Field(default=32, ge=1, le=1024)
    max_pending: int = Field(default=10_000, ge=1)
    shutdown_grace: float = Field(default=10.0, ge=0)

    async def run(self, attempt: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Make attempts until one is not retryable or the policy gives up; the last outcome.

        The first attempt is made directly (most deliveries succeed at once, and a tenacity
        loop costs ~0.1 ms); only a retryable first outcome enters ``retrying()``, which is
        handed that outcome as its own first attempt, so waits and stops count it."""
        first = await attempt()
        if first.kind != "retryable" or self.max_attempts == 1:
            return first
        pending: list[Outcome] = [first]

        async def call() -> Outcome:
            return pending.pop() if pending else await attempt()

        return await self.retrying()(call)

    def retrying(self) -> AsyncRetrying:
        """A fresh tenacity loop for one delivery: retries ``retryable`` outcomes only and
        returns the last outcome (never raises) when it gives up."""
        backoff = wait_random_exponential(multiplier=self.initial_backoff, max=self.max_backoff)

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome.result() if state.outcome and not state.outcome.failed else None
            if isinstance(outcome, Outcome) and outcome.retry_after is not None:
                return outcome.retry_after
            return float(backoff(state))

        return AsyncRetrying(
            retry=retry_if_result(lambda o: isinstance(o, Outcome) and o.kind == "retryable"),
            wait=wait,
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_elapsed),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )


class CircuitBreaker:
    """Per-subscriber breaker: ``threshold`` consecutive retryable failures open it for
    ``reset`` seconds; then one probe is let through (half open) and its outcome closes or
    re-opens it. Any answer that is not retryable counts as the receiver being healthy."""

    def __init__(
        self,
        channel: str,
        threshold: int,
        reset: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channel = channel
        self._threshold = threshold
        self._reset = reset
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._changed = asyncio.Event()
        self.state: BreakerState = "closed"
        CIRCUIT_STATE.labels(channel, "closed").inc()

    def _move(self, state: BreakerState) -> None:
        if state != self.state:
            CIRCUIT_STATE.labels(self._channel, self.state).dec()
            CIRCUIT_STATE.labels(self._channel, state).inc()
            self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

    async def acquire(self, deadline: float) -> bool:
        """Wait until a send may be tried; False if ``deadline`` (monotonic) passes first."""
        while True:
            now = self._clock()
            if self.state == "closed":
                return True
            if self.state == "open" and now >= self._opened_at + self._reset:
                self._move("half_open")
            if self.state == "half_open" and not self._probing:
                self._probing = True
                return True
            wake = self._opened_at + self._reset if self.state == "open" else deadline
            if now >= deadline:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, min(wake, deadline) - now))

    def record(self, outcome: Outcome) -> None:
        """Feed the outcome of a send that ``acquire`` allowed."""
        self._probing = False
        if outcome.kind == "retryable":
            self._failures += 1
            if self.state == "half_open" or self._failures >= self._threshold:
                self._opened_at = self._clock()
                self._move("open")
        else:
            self._failures = 0
            if self.state != "closed":
                self._move("closed")

    def close(self) -> None:
        """Forget this breaker in the gauge (the lane is discarded)."""
        CIRCUIT_STATE.labels(self._channel, self.state).dec()


class Lane:
    """What one subscriber's deliveries share: breaker, rate limiter and in-flight bound."""

    def __init__(self, subscriber: Subscriber, policy: DeliveryPolicy) -> None:
        self.breaker = CircuitBreaker(
            subscriber.channel, policy.breaker_threshold, policy.breaker_reset
        )
        self.limiter = AsyncLimiter(subscriber.rate_limit.max, subscriber.rate_limit.per)
        self.in_flight = asyncio.Semaphore(policy.max_in_flight)
