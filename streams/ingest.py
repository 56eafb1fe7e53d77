"""Admission of one raw ingest record: accept it as a candidate event, or reject it.

Called by the ingest loop (``source``) for every record read from ``ingest.<partner>.v1``.
``admit()`` is pure and deterministic: the same record always gives the same outcome, so a
record processed again after a crash gets an identical receipt. The reporter is the partner
of the topic the record came from, never a payload field (the contract forbids a ``reporter``
property, so a payload that claims one is rejected and the rejection goes to the real writer).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from confianza.schemas.indicators import normalize_all
from confianza.schemas.topics import partner_of
from confianza.schemas.validate import MAX_EVENT_BYTES, FieldError, Rejection, validate_event
from confianza.streams.clock import epoch, iso

EVENT_NAMESPACE = uuid.UUID("5b0f6f43-6d1c-4d8e-9a57-0c6e3a3f1c0a")
"""Namespace of event uids: uid = uuid5(EVENT_NAMESPACE, f"{reporter}\\x00{event_id}")."""


def event_uid(reporter: str, event_id: str) -> str:
    """The deterministic uid of a partner's event."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{reporter}\x00{event_id}"))


@dataclass(frozen=True)
class Record:
    """One record as read from Kafka; ``timestamp_ms`` is the record's broker timestamp."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None


@dataclass(frozen=True)
class Rejected:
    """A refused record: its receipt (to the writer) and its dead letter (to operations)."""

    partner: str
    receipt_key: bytes
    receipt: dict[str, Any]
    dlq: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class Candidate:
    """A valid event, stamped with its reporter; deduplication decides what happens next."""

    uid: str
    partner: str
    doc: dict[str, Any]
    """``{uid, reporter, reporter_sector, event, indicators, warnings, source, received_at,
    received, seen_at}``: what the events stage gets (in the partition of its uid, with the
    other candidates of the batch bound there: ``streams.hops``); ``received`` is the
    record's broker timestamp in seconds, the day its dedupe entry is filed under."""


def _source(record: Record) -> dict[str, Any]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}


def _error(fe: FieldError) -> dict[str, str]:
    return {"pointer": fe.pointer, "message": fe.message}


def _readable_event_id(raw: bytes | None) -> str | None:
    """The payload's event_id when the record parses and carries a plausible one."""
    if not raw or len(raw) > MAX_EVENT_BYTES:
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("event_id") if isinstance(doc, dict) else None
    if isinstance(value, str) and 0 < len(value) <= 256:
        return value
    return None


def reject(record: Record, partner: str, reason: str, errors: list[dict[str, str]]) -> Rejected:
    """The receipt and dead letter for a refused record (reason is a short slug)."""
    received_at = iso(record.timestamp_ms / 1000)
    event_id = _readable_event_id(record.value)
    key = event_id or f"{record.topic}:{record.partition}:{record.offset}"
    receipt = {
        "partner": partner,
        "event_id": event_id,
        "event_uid": None,
        "status": "rejected",
        "errors": errors[:100],
        "warnings": [],
        "first_uid": None,
        **_source(record),
        "received_at": received_at,
    }
    dlq = {
        "partner": partner,
        **_source(record),
        "reason": reason,
        "errors": errors[:100],
        "raw_b64": base64.b64encode(record.value or b"").decode("ascii"),
        "received_at": received_at,
    }
    return Rejected(partner, key.encode(), receipt, dlq, reason)


def admit(
    record: Record, sector_of: Callable[[str], str | None], over_budget: str | None = None
) -> Candidate | Rejected:
    """Decide one record. ``sector_of(partner)`` is the partner registry lookup;
    ``over_budget`` is the admission budget's refusal of this record (``budget``), if any."""
    partner = partner_of(record.topic)
    if partner is None:  # the subscription pattern is the same regex: cannot happen
        raise ValueError(f"{record.topic!r} is not a partner ingest topic")
    if record.value is None:
        return reject(record, partner, "empty", [{"pointer": "", "message": "empty record"}])
    sector = sector_of(partner)
    if sector is None:
        return reject(
            record,
            partner,
            "unknown-partner",
            [
                {
                    "pointer": "",
                    "message": f"partner {partner!r} is not registered or was removed",
                }
            ],
        )
    if over_budget is not None:
        return reject(record, partner, "over-budget", [{"pointer": "", "message": over_budget}])
    outcome = validate_event(record.value)
    if isinstance(outcome, Rejection):
        return reject(record, partner, outcome.reason, [_error(e) for e in outcome.errors])
    event = outcome
    uid = event_uid(partner, event["event_id"])
    indicators, invalid = normalize_all(event["indicators"])
    warnings = [_error(bad.field_error()) for bad in invalid]
    received = record.timestamp_ms / 1000
    doc = {
        "uid": uid,
        "reporter": partner,
        "reporter_sector": sector,
        "event": event,
        "indicators": [
            {
                "kind": i.kind,
                "value": i.value,
                "key": i.key,
                "role": i.role,
                "registered_domain": i.registered_domain,
            }
            for i in indicators
        ],
        "invalid_kinds": [bad.kind for bad in invalid],
        "warnings": warnings,
        "source": _source(record),
        "received_at": iso(received),
        "received": received,
        "seen_at": min(received, epoch(event["reported_at"])),
    }
    return Candidate(uid, partner, doc)
