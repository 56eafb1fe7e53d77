"""Security facets of the chain runs (``tests/reliability/runs.py``): partners, services and
receivers working for real, with workers killed under load.

- spoofing: a payload that claims another reporter is rejected and answered to the real
  writer; another partner's event id sent as one's own is a different event of the sender;
  every incident is attributed to the partner whose principal wrote it;
- disclosure: each delivery carries only what the subscriber's TLP clearance allows, and the
  ledger's disclosed uids are exactly the evidence it carried;
- secrets: no SCRAM password, webhook secret or SMTP password anywhere in what the run left
  (logs of every process, every worker's metrics, every record of every topic, every
  webhook, mail and file line delivered, the subscriptions file).
"""

from __future__ import annotations

import pytest

from confianza.schemas.topics import INCIDENTS, ingest_topic, partner_of, receipts_topic
from confianza.streams.ingest import event_uid
from tests.reliability.audit import disclosure_audit, secrets_audit
from tests.reliability.chain import ChainRun
from tests.reliability.runs import PROFILES, chain_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module", params=PROFILES)
def run(request: pytest.FixtureRequest) -> ChainRun:
    return chain_run(request.param)


def test_a_payload_claiming_another_reporter_is_rejected_to_its_real_writer(run: ChainRun) -> None:
    spoofs = {c: p for c, p in run.acked.items() if p.kind == "spoof"}
    assert spoofs
    answered = {}
    for partner in run.partners:
        for receipt in run.values(receipts_topic(partner)):
            coord = (receipt["topic"], receipt["partition"], receipt["offset"])
            if coord in spoofs:
                answered[coord] = (partner, receipt)
    assert set(answered) == set(spoofs)
    for coord, (topic_owner, receipt) in answered.items():
        writer = spoofs[coord].partner
        assert coord[0] == ingest_topic(writer)
        assert topic_owner == receipt["partner"] == writer
        assert receipt["status"] == "rejected"
        assert "/reporter" in {e["pointer"] for e in receipt["errors"]}


def test_another_partners_event_id_is_a_new_event_of_the_sender(run: ChainRun) -> None:
    borrowed = [p for p in run.acked.values() if p.kind == "borrowed-id"]
    assert borrowed
    incidents = {i["event_uid"]: i for i in run.values(INCIDENTS)}
    for planned in borrowed:
        event_id = planned.key.decode() if planned.key else ""
        mine = incidents[event_uid(planned.partner, event_id)]
        assert mine["reporter"] == planned.partner
        owners = {i["reporter"] for i in incidents.values() if i["event_id"] == event_id}
        assert len(owners) == 2  # the original reporter's event and the sender's, apart


def test_every_incident_is_attributed_to_the_principal_that_wrote_it(run: ChainRun) -> None:
    writers = {}
    for partner in run.partners:
        for receipt in run.values(receipts_topic(partner)):
            if receipt["status"] == "accepted":
                assert partner_of(receipt["topic"]) == partner
                writers[receipt["event_uid"]] = partner
    incidents = run.values(INCIDENTS)
    assert {i["event_uid"] for i in incidents} == set(writers)
    for incident in incidents:
        assert incident["reporter"] == writers[incident["event_uid"]]
        assert incident["event_uid"] == event_uid(incident["reporter"], incident["event_id"])


def test_deliveries_disclose_only_what_the_subscriber_is_cleared_for(run: ChainRun) -> None:
    figures = disclosure_audit(run)
    assert figures["problems"] == []
    assert figures["deliveries_checked"] > 0
    assert figures["evidence_withheld"] > 0  # the gate had something to withhold


def test_no_secret_appears_in_anything_the_run_left(run: ChainRun) -> None:
    figures = secrets_audit(run)
    assert figures["problems"] == []
    assert figures["secrets"] >= 10
    assert figures["bytes_scanned"] > 1_000_000
