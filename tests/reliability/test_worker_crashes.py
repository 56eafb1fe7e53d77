"""Workers killed with SIGKILL at random moments under simulator load, and restarted.

One chain run per profile (``runs.py``): the streams worker and every delivery worker are
killed while partners send, then restarted. Afterwards every acknowledged record has exactly
one receipt (re-emissions are identical bytes), every ground-truth campaign has its alert, no
(alert id, version) appears twice, every wanted delivery settles once in the ledger and each
receiver holds each (alert, version, subscriber) once.
"""

from __future__ import annotations

import signal

import pytest

from tests.reliability.audit import alerts_audit, deliveries_audit, max_pause, receipts_audit
from tests.reliability.chain import ChainRun
from tests.reliability.results import record
from tests.reliability.runs import PROFILES, chain_run, describe

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module", params=PROFILES)
def run(request: pytest.FixtureRequest) -> ChainRun:
    return chain_run(request.param)


def test_the_workers_were_really_killed_and_restarted(run: ChainRun) -> None:
    assert [name for _, name in run.kills] == [name for _, name in sorted(run.plan.kills)]
    for _, name in run.kills:
        assert -signal.SIGKILL in run.exits[name]


def test_every_acknowledged_record_has_exactly_one_receipt(run: ChainRun) -> None:
    figures = receipts_audit(run)
    assert figures["problems"] == []
    assert figures["records_acknowledged"] == figures["records_planned"]


def test_every_campaign_has_its_alert_and_no_version_repeats(run: ChainRun) -> None:
    figures = alerts_audit(run)
    assert figures["problems"] == []
    assert figures["campaigns_detected"] >= figures["campaigns_detected_without_faults"]


def test_every_wanted_delivery_settles_once_and_reaches_its_receiver_once(run: ChainRun) -> None:
    figures = deliveries_audit(run)
    assert figures["problems"] == []
    assert figures["delivered"] > 0


def test_figures(run: ChainRun, tmp_path_factory: pytest.TempPathFactory) -> None:
    receipts, alerts, deliveries = receipts_audit(run), alerts_audit(run), deliveries_audit(run)
    problems = receipts["problems"] + alerts["problems"] + deliveries["problems"]
    plan = run.plan
    record(
        "worker-crashes",
        "ci" if plan.duration < 60 else "full",
        {
            "load": (
                f"{plan.rate:g} ev/s x {plan.duration:g} s, {plan.partners} partners, "
                f"{plan.campaigns} campaigns, {len(run.kills)} SIGKILLs"
            ),
            "sent": receipts["records_acknowledged"],
            "lost": receipts["receipts_lost"]
            + len([p for p in deliveries["problems"] if "never" in p]),
            "duplicated": receipts["receipts_conflicting"]
            + alerts["duplicate_versions"]
            + deliveries["ledger_delivered_twice"],
            "max_pause_s": max_pause(run),
            "result": "pass" if not problems else "FAIL",
            "plan": describe(run),
            "receipts": receipts,
            "alerts": alerts,
            "deliveries": deliveries,
        },
        tmp_path_factory.mktemp("results"),
    )
    assert problems == []
