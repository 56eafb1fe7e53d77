"""Realistic payloads of every kind satisfy their schema, and typical mistakes are caught
with a pointer: these are the shapes the streams and delivery stages emit."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import pytest

from confianza.schemas.indicators import normalize_all
from confianza.schemas.validate import FieldError, validate_document

UID = str(uuid.uuid5(uuid.NAMESPACE_URL, "bcp\x00bcp-2024-000123"))
UID2 = str(uuid.uuid5(uuid.NAMESPACE_URL, "claro\x00claro-sms-2024-05-0042"))
AT = "2024-05-01T15:30:01.120Z"
PHONE_WARNING = "invalid phone: not a valid phone number for region PE (+51)"


def _alert() -> dict[str, Any]:
    return {
        "alert_id": "cmp-7f3a9c",
        "version": 2,
        "transition": "escalated",
        "severity": "high",
        "score": 72.5,
        "reasons": [
            {"rule": "rsit-base", "points": 30, "detail": "fraud/phishing base severity"},
            {"rule": "corroboration", "points": 25, "detail": "2 distinct reporters"},
            {"rule": "cross-sector", "points": 17.5, "detail": "banking and telecom"},
        ],
        "classification": {"class": "fraud", "type": "phishing"},
        "sectors": ["banking", "telecom"],
        "reporters": ["bcp", "claro"],
        "indicators": [
            {
                "kind": "url",
                "value": "https://bcp-com.pe/login",
                "key": "url:https://bcp-com.pe/login",
                "event_uids": [UID, UID2],
            }
        ],
        "evidence": [
            {
                "event_uid": UID,
                "reporter": "bcp",
                "sector": "banking",
                "tlp": "amber",
                "reported_at": "2024-05-01T10:30:00-05:00",
            },
            {
                "event_uid": UID2,
                "reporter": "claro",
                "sector": "telecom",
                "tlp": "green",
                "reported_at": "2024-05-01T10:35:00-05:00",
            },
        ],
        "title": "Phishing (fraud) reported by 2 partners in banking and telecom",
        "first_seen": "2024-05-01T10:30:00-05:00",
        "last_seen": "2024-05-01T10:35:00-05:00",
        "emitted_at": AT,
    }


def _normalized(examples: dict[str, bytes]) -> dict[str, Any]:
    event = orjson.loads(examples["fraud"])
    valid, _ = normalize_all(event["indicators"])
    return {
        "event_uid": UID,
        "event_id": event["event_id"],
        "reporter": "bcp",
        "reporter_sector": "banking",
        "received_at": AT,
        "event": event,
        "indicators": [orjson.loads(orjson.dumps(i)) for i in valid],
    }


def _payloads(examples: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {
        "receipt-accepted": {
            "partner": "bcp",
            "event_id": "bcp-2024-000123",
            "event_uid": UID,
            "status": "accepted",
            "errors": [],
            "warnings": [{"pointer": "/indicators/2/value", "message": PHONE_WARNING}],
            "topic": "ingest.bcp.v1",
            "partition": 1,
            "offset": 4211,
            "received_at": AT,
        },
        "receipt-duplicate": {
            "partner": "bcp",
            "event_id": "bcp-2024-000123",
            "event_uid": UID,
            "status": "duplicate",
            "errors": [],
            "warnings": [],
            "first_uid": UID,
            "topic": "ingest.bcp.v1",
            "partition": 1,
            "offset": 4300,
            "received_at": AT,
        },
        "receipt-unreadable": {
            "partner": "bcp",
            "event_id": None,
            "event_uid": None,
            "status": "rejected",
            "errors": [{"pointer": "", "message": "invalid UTF-8 at byte 12"}],
            "warnings": [],
            "topic": "ingest.bcp.v1",
            "partition": 0,
            "offset": 17,
            "received_at": AT,
        },
        "normalized-incident": _normalized(examples),
        "alert": _alert(),
        "delivery": {
            "alert_id": "cmp-7f3a9c",
            "version": 2,
            "subscriber": "bcp-soc-webhook",
            "channel": "webhook",
            "outcome": "delivered",
            "attempt": 1,
            "idempotency_key": "cmp-7f3a9c:2:bcp-soc-webhook",
            "disclosed_event_uids": [UID],
            "disclosed_indicator_keys": ["url:https://bcp-com.pe/login"],
            "status_code": 204,
            "error": None,
            "at": AT,
        },
        "dlq-ingest": {
            "partner": "bcp",
            "topic": "ingest.bcp.v1",
            "partition": 0,
            "offset": 17,
            "reason": "not-utf8",
            "errors": [{"pointer": "", "message": "invalid UTF-8 at byte 12"}],
            "raw_b64": base64.b64encode(b'{"event_id":"\xff"}').decode(),
            "received_at": AT,
        },
        "dlq-delivery": {
            "subscriber": "pcm-cnsd-email",
            "channel": "email",
            "alert": _alert(),
            "reason": "SMTP 451 after 8 attempts",
            "attempts": 8,
            "first_at": "2024-05-01T15:30:02Z",
            "last_at": "2024-05-01T16:02:40Z",
        },
    }


@pytest.mark.parametrize(
    "name",
    [
        "receipt-accepted",
        "receipt-duplicate",
        "receipt-unreadable",
        "normalized-incident",
        "alert",
        "delivery",
        "dlq-ingest",
        "dlq-delivery",
    ],
)
def test_realistic_payload_is_valid(examples: dict[str, bytes], name: str) -> None:
    kind = name.split("-")[0] if name.startswith("receipt") else name
    assert validate_document(kind, _payloads(examples)[name]) == ()


@pytest.mark.parametrize(
    ("kind", "name", "path", "value", "pointer"),
    [
        ("receipt", "receipt-accepted", ("status",), "ok", "/status"),
        ("receipt", "receipt-accepted", ("partner",), "BCP", "/partner"),
        ("receipt", "receipt-accepted", ("event_uid",), "not-a-uuid", "/event_uid"),
        ("alert", "alert", ("transition",), "closed", "/transition"),
        ("alert", "alert", ("score",), 150, "/score"),
        ("alert", "alert", ("classification", "type"), "ddos", "/classification/type"),
        ("alert", "alert", ("evidence", 1, "tlp"), "white", "/evidence/1/tlp"),
        ("delivery", "delivery", ("outcome",), "sent", "/outcome"),
        (
            "normalized-incident",
            "normalized-incident",
            ("event", "reporter"),
            "bbva",
            "/event/reporter",
        ),
        ("dlq-delivery", "dlq-delivery", ("alert", "version"), 0, "/alert/version"),
    ],
)
def test_payload_mistake_is_pointed_at(
    examples: dict[str, bytes],
    kind: str,
    name: str,
    path: tuple[Any, ...],
    value: Any,
    pointer: str,
) -> None:
    doc = _payloads(examples)[name]
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    assert [e.pointer for e in validate_document(kind, doc)] == [pointer]


def test_missing_field_and_unknown_kind() -> None:
    assert FieldError("/alert_id", "required field is missing") in validate_document("alert", {})
    with pytest.raises(ValueError, match="unknown payload kind"):
        validate_document("event", {})


def test_non_json_values_are_reported_not_raised() -> None:
    errors = validate_document("receipt", {"partner": {1, 2}})
    assert FieldError("/partner", "must be of type string, not set") in errors
    (error,) = validate_document("receipt", {1: "x"})
    assert error.pointer == ""
    assert error.message.startswith("not a JSON document")
