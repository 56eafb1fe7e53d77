"""The one retry policy: backoff, Retry-After, give-up, circuit breaker."""

from __future__ import annotations

import asyncio
import time

from confianza.consumers.channel import Outcome, outcome_for_status, parse_retry_after
from confianza.consumers.policy import CircuitBreaker, DeliveryPolicy


async def test_retryable_outcomes_are_retried_until_the_attempts_run_out() -> None:
    policy = DeliveryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)
    calls = 0

    async def send() -> Outcome:
        nonlocal calls
        calls += 1
        return Outcome("retryable", status_code=503)

    assert await policy.run(send) == Outcome("retryable", status_code=503)
    assert calls == 4


async def test_success_and_permanent_stop_retrying_at_once() -> None:
    policy = DeliveryPolicy(max_attempts=5, initial_backoff=0.001)
    answers = [Outcome("retryable"), Outcome("permanent", 400)]

    async def send() -> Outcome:
        return answers.pop(0)

    assert await policy.run(send) == Outcome("permanent", 400)
    assert answers == []


async def test_retry_after_is_the_wait_when_given() -> None:
    policy = DeliveryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001)
    stamps: list[float] = []

    async def send() -> Outcome:
        stamps.append(time.monotonic())
        return (
            Outcome("retryable", 429, retry_after=0.3) if len(stamps) == 1 else Outcome("delivered")
        )

    assert (await policy.run(send)).kind == "delivered"
    assert stamps[1] - stamps[0] >= 0.3


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("999999") == 3600.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert outcome_for_status(503, "2").retry_after == 2.0


async def test_breaker_opens_after_the_threshold_and_probes_once() -> None:
    breaker = CircuitBreaker("webhook", threshold=2, reset=0.2)
    far = time.monotonic() + 5
    for _ in range(2):
        assert await breaker.acquire(far)
        breaker.record(Outcome("retryable"))
    assert breaker.state == "open"
    assert not await breaker.acquire(time.monotonic() + 0.05)  # still open at the deadline
    assert await breaker.acquire(far)  # after the reset time: one probe
    assert breaker.state == "half_open"
    second = asyncio.create_task(breaker.acquire(far))
    await asyncio.sleep(0.05)
    assert not second.done()  # a second caller waits for the probe's outcome
    breaker.record(Outcome("delivered"))
    assert await second
    assert breaker.state == "closed"


async def test_a_failed_probe_reopens_the_breaker() -> None:
    breaker = CircuitBreaker("webhook", threshold=1, reset=0.05)
    await breaker.acquire(time.monotonic() + 1)
    breaker.record(Outcome("retryable"))
    assert await breaker.acquire(time.monotonic() + 1)
    breaker.record(Outcome("retryable"))
    assert breaker.state == "open"


async def test_a_first_success_needs_no_retry_loop() -> None:
    calls = 0

    async def send() -> Outcome:
        nonlocal calls
        calls += 1
        return Outcome("delivered")

    assert await DeliveryPolicy(max_attempts=3).run(send) == Outcome("delivered")
    assert calls == 1
