"""A broker killed under load: the 3-node cluster loses the leader of its busiest partitions.

The chain (``runs.py``, plan ``broker``) runs on a 3-node KRaft cluster (replication 3, min
ISR 2). Thirty seconds into the simulator load, the broker leading most of the partitions
written in the last seconds is SIGKILLed, and restarted 25 s later. Afterwards: every record
whose send was acknowledged has its receipt, no (alert, version) appears twice, every wanted
delivery settles once and reaches its receiver once, every consumer group's lag returns to
zero, and the longest stall of the receipt flow (the pause) is measured.
"""

from __future__ import annotations

import pytest

from tests.reliability.audit import alerts_audit, deliveries_audit, max_pause, receipts_audit
from tests.reliability.chain import ChainRun
from tests.reliability.results import record
from tests.reliability.runs import chain_run, describe

pytestmark = [pytest.mark.reliability, pytest.mark.cluster, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def run() -> ChainRun:
    return chain_run("broker")


def test_the_busiest_leader_was_killed_and_came_back(run: ChainRun) -> None:
    fault = run.broker_fault
    assert fault["busiest"]
    assert fault["restarted_at"] > fault["killed_at"]


def test_every_acknowledged_record_is_answered_once(run: ChainRun) -> None:
    figures = receipts_audit(run)
    assert figures["problems"] == []


def test_no_alert_version_or_delivery_is_duplicated_or_lost(run: ChainRun) -> None:
    assert alerts_audit(run)["problems"] == []
    assert deliveries_audit(run)["problems"] == []


def test_every_consumer_group_catches_up(run: ChainRun) -> None:
    assert run.lag
    assert set(run.lag.values()) == {0}, run.lag


def test_figures(run: ChainRun, tmp_path_factory: pytest.TempPathFactory) -> None:
    receipts, alerts, deliveries = receipts_audit(run), alerts_audit(run), deliveries_audit(run)
    problems = receipts["problems"] + alerts["problems"] + deliveries["problems"]
    if set(run.lag.values()) != {0}:
        problems.append(f"lag did not recover: {run.lag}")
    plan = run.plan
    record(
        "broker-failure",
        "full",
        {
            "load": (
                f"{plan.rate:g} ev/s x {plan.duration:g} s on 3 brokers; leader of the busiest "
                f"partitions SIGKILLed at {plan.broker_kill_at:g} s for {plan.broker_down_for:g} s"
            ),
            "sent": receipts["records_acknowledged"],
            "lost": receipts["receipts_lost"],
            "duplicated": receipts["receipts_conflicting"]
            + alerts["duplicate_versions"]
            + deliveries["ledger_delivered_twice"],
            "max_pause_s": max_pause(run),
            "result": "pass" if not problems else "FAIL",
            "lag_zero_after_load_s": round(run.lag_zero_at - run.load_ended, 1),
            "plan": describe(run),
            "receipts": receipts,
            "alerts": alerts,
            "deliveries": deliveries,
        },
        tmp_path_factory.mktemp("results"),
    )
    assert problems == []
