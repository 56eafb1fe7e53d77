"""What a delivery worker does when partitions are assigned to it (no broker: the order of
the steps is the behaviour)."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from confianza.consumers.worker import _Rebalance

TP = TopicPartition("alerts.v1", 0)


class Steps:
    """Stands in for the consumer, the ledger and the worker; records every call in order."""

    def __init__(self, ledger_error: Exception | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.ledger_error = ledger_error

    def pause(self, *tps: TopicPartition) -> None:
        self.calls.append(("pause", set(tps)))

    def resume(self, *tps: TopicPartition) -> None:
        self.calls.append(("resume", set(tps)))

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.calls.append(("end_offsets", set(tps)))
        return {tp: 7 for tp in tps}

    async def catch_up(self) -> int:
        self.calls.append(("catch_up",))
        if self.ledger_error is not None:
            raise self.ledger_error
        return 0

    def replaying(self, until: dict[TopicPartition, int]) -> None:
        self.calls.append(("replaying", dict(until)))

    def fail(self, exc: BaseException) -> None:
        self.calls.append(("fail", exc))


async def test_assigned_partitions_wait_for_the_ledger_and_their_replay_bound() -> None:
    steps = Steps()
    await _Rebalance(steps, steps, steps).on_partitions_assigned({TP})  # type: ignore[arg-type]
    assert steps.calls == [
        ("pause", {TP}),  # before anything can be handled from them
        ("catch_up",),
        ("end_offsets", {TP}),
        ("replaying", {TP: 7}),
        ("resume", {TP}),
    ]


async def test_a_ledger_that_cannot_be_read_stops_the_worker_with_the_partitions_held() -> None:
    broken = OSError("ledger unreadable")
    steps = Steps(ledger_error=broken)
    await _Rebalance(steps, steps, steps).on_partitions_assigned({TP})  # type: ignore[arg-type]
    assert steps.calls == [("pause", {TP}), ("catch_up",), ("fail", broken)]
