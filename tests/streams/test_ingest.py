"""Admission of raw ingest records: reporter from the topic, one outcome per record."""

from __future__ import annotations

import base64

import orjson

from confianza.schemas.validate import MAX_EVENT_BYTES, validate_document
from confianza.streams.ingest import Candidate, Rejected, admit, event_uid
from tests.streams.helpers import event, record

SECTORS = {"bcp": "banking", "claro": "telecom"}.get


def test_valid_event_is_a_candidate_stamped_with_the_topic_partner() -> None:
    outcome = admit(record("claro", event("E-1")), SECTORS)
    assert isinstance(outcome, Candidate)
    assert outcome.doc["reporter"] == "claro"
    assert outcome.doc["reporter_sector"] == "telecom"
    assert outcome.uid == event_uid("claro", "E-1")
    assert outcome.doc["indicators"][0]["key"].startswith("url:")


def test_uid_is_deterministic_and_depends_on_the_reporter() -> None:
    assert event_uid("bcp", "E-1") == event_uid("bcp", "E-1")
    assert event_uid("bcp", "E-1") != event_uid("claro", "E-1")


def test_spoofed_reporter_field_is_rejected_to_the_real_writer() -> None:
    spoofed = event("E-2", reporter="interbank")
    outcome = admit(record("bcp", spoofed), SECTORS)
    assert isinstance(outcome, Rejected)
    assert outcome.partner == "bcp"
    assert outcome.receipt["partner"] == "bcp"
    assert outcome.receipt["status"] == "rejected"
    assert any(e["pointer"] in ("/reporter", "") for e in outcome.receipt["errors"])
    assert outcome.receipt_key == b"E-2"
    assert validate_document("receipt", outcome.receipt) == ()
    assert validate_document("dlq-ingest", outcome.dlq) == ()


def test_malformed_oversize_and_non_utf8_records_are_rejected_with_raw_bytes() -> None:
    cases = {
        b"{not json": "not-json",
        b"\xff\xfe\x00garbage": "not-utf8",
        b"x" * (MAX_EVENT_BYTES + 1): "oversize",
    }
    for offset, (raw, reason) in enumerate(cases.items()):
        outcome = admit(record("bcp", raw, offset=offset), SECTORS)
        assert isinstance(outcome, Rejected), reason
        assert outcome.reason == reason
        assert outcome.receipt["event_id"] is None
        assert outcome.receipt_key == f"ingest.bcp.v1:0:{offset}".encode()
        assert base64.b64decode(outcome.dlq["raw_b64"]) == raw
        assert (outcome.dlq["topic"], outcome.dlq["offset"]) == ("ingest.bcp.v1", offset)
        assert validate_document("receipt", outcome.receipt) == ()
        assert validate_document("dlq-ingest", outcome.dlq) == ()


def test_unknown_partner_and_empty_record_are_rejected() -> None:
    unknown = admit(record("movistar", event("E-3")), SECTORS)
    assert isinstance(unknown, Rejected)
    assert unknown.reason == "unknown-partner"
    empty = admit(record("bcp", None), SECTORS)
    assert isinstance(empty, Rejected)
    assert empty.reason == "empty"


def test_invalid_indicator_values_become_receipt_warnings() -> None:
    doc = event(
        "E-4",
        [("phone", "not a phone", "scam-contact"), ("domain", "bcp-zonasegura.com", "phishing")],
    )
    outcome = admit(record("bcp", doc), SECTORS)
    assert isinstance(outcome, Candidate)
    assert [w["pointer"] for w in outcome.doc["warnings"]] == ["/indicators/0/value"]
    assert [i["kind"] for i in outcome.doc["indicators"]] == ["domain"]


def test_admission_is_deterministic() -> None:
    raw = orjson.dumps(event("E-5"))
    assert admit(record("bcp", raw), SECTORS) == admit(record("bcp", raw), SECTORS)


def test_a_record_over_budget_is_refused_with_the_budgets_message_and_its_bytes() -> None:
    raw = record("bcp", event("E-9"))
    outcome = admit(raw, SECTORS, "over the admission budget of 6 records per hour")
    assert isinstance(outcome, Rejected)
    assert outcome.reason == "over-budget"
    assert outcome.receipt["event_id"] == "E-9"
    assert outcome.receipt["errors"][0]["message"].startswith("over the admission budget")
    assert base64.b64decode(outcome.dlq["raw_b64"]) == raw.value
    assert validate_document("receipt", outcome.receipt) == ()
    assert validate_document("dlq-ingest", outcome.dlq) == ()
    unknown = admit(record("nobody", event("E-9")), SECTORS, "over the admission budget")
    assert isinstance(unknown, Rejected)
    assert unknown.reason == "unknown-partner"  # who is asking comes first
