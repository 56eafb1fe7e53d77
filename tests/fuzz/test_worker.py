"""Hostile records through the real streams worker, inside the chain runs of
``tests/reliability/runs.py``: every family of ``corpus.py`` sent by real partners, mixed with
simulator traffic, while workers are killed and restarted.

Every hostile record gets a receipt on its writer's receipts topic; every rejected one also a
dead letter holding its exact bytes; an accepted one becomes an incident; and no worker ever
exited except when the test killed it or stopped it at the end.
"""

from __future__ import annotations

import base64
import signal

import pytest

from confianza.schemas.topics import DLQ_INGEST, INCIDENTS, receipts_topic
from tests.reliability.chain import ChainRun
from tests.reliability.runs import PROFILES, chain_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module", params=PROFILES)
def run(request: pytest.FixtureRequest) -> ChainRun:
    return chain_run(request.param)


def test_every_hostile_record_is_a_receipt_and_a_rejection_is_also_a_dead_letter(
    run: ChainRun,
) -> None:
    hostile = {c: p for c, p in run.acked.items() if p.kind in ("hostile", "spoof")}
    assert len(hostile) == run.plan.hostile
    receipts = {}
    for partner in run.partners:
        for receipt in run.values(receipts_topic(partner)):
            receipts[(receipt["topic"], receipt["partition"], receipt["offset"])] = receipt
    letters = {(d["topic"], d["partition"], d["offset"]): d for d in run.values(DLQ_INGEST)}
    incidents = {i["event_uid"] for i in run.values(INCIDENTS)}
    for coord, planned in hostile.items():
        receipt = receipts[coord]
        if receipt["status"] == "rejected":
            assert base64.b64decode(letters[coord]["raw_b64"]) == planned.payload
            assert receipt["errors"]
        else:
            assert receipt["event_uid"] in incidents


def test_no_worker_ever_died_on_its_own(run: ChainRun) -> None:
    for name, exits in run.exits.items():
        killed = [e for e in exits if e == -signal.SIGKILL]
        assert len(killed) == sum(1 for _, n in run.kills if n == name), (name, exits)
        assert [e for e in exits if e != -signal.SIGKILL] == [0], (name, exits)
