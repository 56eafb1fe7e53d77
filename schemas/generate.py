"""Builds the JSON Schema files of the contract from ``taxonomy.yaml``.

Run ``python -m confianza.schemas.generate`` after changing the taxonomy or a payload shape;
it rewrites the ``*.v1.json`` files beside this module, which are what everyone else reads
(a test fails when the committed files and this builder disagree). Each file is
self-contained: the definitions it uses are copied into its own ``$defs``.

Rules the schemas follow so that both validators (jsonschema-rs and python jsonschema) agree:
every object closes with ``additionalProperties: false``, every string and array is bounded,
patterns are ``^...$`` with explicit ASCII classes (no ``\\d``/``\\w``), and the only format is
``date-time``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from confianza.schemas.catalog import KINDS
from confianza.schemas.taxonomy import (
    ASSET_TYPES,
    INDICATOR_KINDS,
    INDICATOR_ROLES,
    RSIT,
    SECTORS,
    SEVERITIES,
)
from confianza.schemas.tlp import Tlp

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# Bounds of the incident event (documented in docs/DESIGN.md, "Payloads").
MAX_INDICATORS = 50
MAX_INDICATOR_VALUE = 2048
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_NAME = 200
# Bounds of the downstream payloads.
MAX_ERRORS = 100
MAX_MESSAGE = 1024
MAX_POINTER = 1024
MAX_ALERT_ITEMS = 1000
MAX_RAW_B64 = 1_400_000  # a 1 MiB record (the ingest topics' max.message.bytes) in base64

EVENT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
PARTNER_PATTERN = "^[a-z][a-z0-9-]{1,39}$"  # confianza.schemas.topics.PARTNER_ID
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
SLUG_PATTERN = "^[a-z0-9][a-z0-9._-]{0,63}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _obj(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        **extra,
    }


def _string(max_length: int, min_length: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, **extra}


def _array(items: dict[str, Any], max_items: int, **extra: Any) -> dict[str, Any]:
    return {"type": "array", "maxItems": max_items, "items": items, **extra}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


def _classification() -> dict[str, Any]:
    # One if/then per class: an unknown type gets one clear error at /classification/type
    # listing the types of the class that was given.
    rules = [
        {
            "if": {"properties": {"class": {"const": name}}, "required": ["class"]},
            "then": {"properties": {"type": {"enum": list(entry.types)}}},
        }
        for name, entry in RSIT.items()
    ]
    return _obj(
        {
            "class": {"enum": list(RSIT), "description": "RSIT class"},
            "type": {**_string(64), "description": "RSIT type of that class"},
        },
        ["class", "type"],
        description="RSIT classification: a class and one of its types.",
        allOf=rules,
    )


def _definitions() -> dict[str, dict[str, Any]]:
    defs: dict[str, dict[str, Any]] = {
        "timestamp": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64,
            "description": "RFC 3339 date-time with offset, e.g. 2024-05-01T10:30:00-05:00.",
        },
        "uuid": {"type": "string", "pattern": UUID_PATTERN, "description": "Lower-case UUID."},
        "event_id": {
            "type": "string",
            "pattern": EVENT_ID_PATTERN,
            "maxLength": 128,
            "description": "The partner's own id of the event (unique per partner).",
        },
        "partner": {"type": "string", "pattern": PARTNER_PATTERN, "description": "Partner id."},
        "slug": {"type": "string", "pattern": SLUG_PATTERN},
        "tlp": {"enum": [t.value for t in Tlp], "description": "TLP 2.0 level."},
        "severity": {"enum": list(SEVERITIES)},
        "sector": {"enum": list(SECTORS)},
        "indicator_kind": {"enum": list(INDICATOR_KINDS)},
        "indicator_role": {"enum": list(INDICATOR_ROLES)},
        "classification": _classification(),
        "field_error": _obj(
            {
                "pointer": _string(MAX_POINTER, min_length=0),
                "message": _string(MAX_MESSAGE),
            },
            ["pointer", "message"],
            description="One problem: a JSON pointer into the payload ('' = root) and a message.",
        ),
        "field_errors": _array(_ref("field_error"), MAX_ERRORS),
        "uid_list": _array(_ref("uuid"), MAX_ALERT_ITEMS, uniqueItems=True),
        "indicator": _obj(
            {
                "kind": _ref("indicator_kind"),
                "value": _string(MAX_INDICATOR_VALUE),
                "role": _ref("indicator_role"),
            },
            ["kind", "value"],
            description="An indicator as reported; role defaults to 'unspecified'.",
        ),
        "normalized_indicator": _obj(
            {
                "kind": _ref("indicator_kind"),
                "value": _string(MAX_INDICATOR_VALUE),
                "key": _string(MAX_INDICATOR_VALUE + 32),
                "role": _ref("indicator_role"),
                "registered_domain": _nullable(_string(253)),
            },
            ["kind", "value", "key", "role", "registered_domain"],
            description="Canonical indicator; key = '<kind>:<canonical value>'.",
        ),
    }
    defs["incident_event"] = _incident_event()
    defs["alert"] = _alert()
    return defs


def _incident_event() -> dict[str, Any]:
    return _obj(
        {
            "event_id": _ref("event_id"),
            "occurred_at": _ref("timestamp"),
            "reported_at": _ref("timestamp"),
            "classification": _ref("classification"),
            "tlp": _ref("tlp"),
            "severity": {**_ref("severity"), "description": "The reporter's severity hint."},
            "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
            "sector": {**_ref("sector"), "description": "Affected sector."},
            "asset": _obj(
                {"type": {"enum": list(ASSET_TYPES)}, "name": _string(MAX_NAME)},
                ["type"],
                description="Affected asset of the reporter.",
            ),
            "title": _string(MAX_TITLE),
            "description": _string(MAX_DESCRIPTION),
            "indicators": _array(_ref("indicator"), MAX_INDICATORS),
        },
        [
            "event_id",
            "occurred_at",
            "reported_at",
            "classification",
            "tlp",
            "severity",
            "confidence",
            "sector",
            "description",
            "indicators",
        ],
        description=(
            "An incident reported by a partner. The reporter is the partner that wrote the "
            "ingest topic, never a field of the payload."
        ),
    )


def _alert() -> dict[str, Any]:
    return _obj(
        {
            "alert_id": _ref("event_id"),
            "version": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "transition": {"enum": ["opened", "updated", "escalated", "resolved"]},
            "severity": _ref("severity"),
            "score": {"type": "number", "minimum": 0, "maximum": 100},
            "reasons": _array(
                _obj(
                    {
                        "rule": _ref("slug"),
                        "points": {"type": "number", "minimum": -1000, "maximum": 1000},
                        "detail": _string(MAX_MESSAGE),
                    },
                    ["rule", "points", "detail"],
                ),
                100,
            ),
            "classification": _ref("classification"),
            "sectors": _array(_ref("sector"), len(SECTORS), uniqueItems=True),
            "reporters": _array(_ref("partner"), MAX_ALERT_ITEMS, uniqueItems=True),
            "indicators": _array(
                _obj(
                    {
                        "kind": _ref("indicator_kind"),
                        "value": _string(MAX_INDICATOR_VALUE),
                        "key": _string(MAX_INDICATOR_VALUE + 32),
                        "event_uids": _ref("uid_list"),
                    },
                    ["kind", "value", "key", "event_uids"],
                ),
                MAX_ALERT_ITEMS,
            ),
            "evidence": _array(
                _obj(
                    {
                        "event_uid": _ref("uuid"),
                        "reporter": _ref("partner"),
                        "sector": _ref("sector"),
                        "tlp": _ref("tlp"),
                        "reported_at": _ref("timestamp"),
                    },
                    ["event_uid", "reporter", "sector", "tlp", "reported_at"],
                ),
                MAX_ALERT_ITEMS,
            ),
            "title": _string(MAX_TITLE),
            "first_seen": _ref("timestamp"),
            "last_seen": _ref("timestamp"),
            "emitted_at": _ref("timestamp"),
        },
        [
            "alert_id",
            "version",
            "transition",
            "severity",
            "score",
            "reasons",
            "classification",
            "sectors",
            "reporters",
            "indicators",
            "evidence",
            "title",
            "first_seen",
            "last_seen",
            "emitted_at",
        ],
        description=(
            "One version of an alert. No partner free text: the title is generated from the "
            "classification, so the TLP gate works on evidence and indicators alone."
        ),
    )


def _bodies() -> dict[str, tuple[str, dict[str, Any]]]:
    """kind -> (title, top-level schema body)."""
    return {
        "incident-event": ("Incident event v1", _ref("incident_event")),
        "receipt": (
            "Receipt v1",
            _obj(
                {
                    "partner": _ref("partner"),
                    "event_id": _nullable(_string(256)),
                    "event_uid": {"type": ["string", "null"], "pattern": UUID_PATTERN},
                    "status": {"enum": ["accepted", "duplicate", "rejected"]},
                    "errors": _ref("field_errors"),
                    "warnings": _ref("field_errors"),
                    "first_uid": {"type": ["string", "null"], "pattern": UUID_PATTERN},
                    "topic": _string(255),
                    "partition": {"type": "integer", "minimum": 0},
                    "offset": {"type": "integer", "minimum": 0},
                    "received_at": _ref("timestamp"),
                },
                [
                    "partner",
                    "event_id",
                    "event_uid",
                    "status",
                    "errors",
                    "warnings",
                    "topic",
                    "partition",
                    "offset",
                    "received_at",
                ],
                description=(
                    "The answer to one ingest record. event_id is null when the record was "
                    "unreadable; warnings list invalid indicator values."
                ),
            ),
        ),
        "alert": ("Alert v1", _ref("alert")),
        "delivery": (
            "Delivery record v1",
            _obj(
                {
                    "alert_id": _ref("event_id"),
                    "version": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                    "subscriber": _ref("slug"),
                    "channel": {"enum": ["webhook", "email", "chat", "syslog", "file"]},
                    "outcome": {
                        "enum": [
                            "delivered",
                            "retryable",
                            "permanent",
                            "dead-lettered",
                            "disabled",
                            "filtered",
                        ]
                    },
                    "attempt": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "idempotency_key": _string(256),
                    "disclosed_event_uids": _ref("uid_list"),
                    "disclosed_indicator_keys": _array(
                        _string(MAX_INDICATOR_VALUE + 32), MAX_ALERT_ITEMS, uniqueItems=True
                    ),
                    "status_code": {"type": ["integer", "null"], "minimum": 0, "maximum": 999},
                    "error": _nullable(_string(MAX_MESSAGE)),
                    "at": _ref("timestamp"),
                },
                [
                    "alert_id",
                    "version",
                    "subscriber",
                    "channel",
                    "outcome",
                    "attempt",
                    "idempotency_key",
                    "disclosed_event_uids",
                    "disclosed_indicator_keys",
                    "status_code",
                    "error",
                    "at",
                ],
                description=(
                    "One delivery attempt outcome; idempotency_key = alert_id:version:subscriber."
                ),
            ),
        ),
        "normalized-incident": (
            "Normalized incident v1",
            _obj(
                {
                    "event_uid": _ref("uuid"),
                    "event_id": _ref("event_id"),
                    "reporter": _ref("partner"),
                    "reporter_sector": _ref("sector"),
                    "received_at": _ref("timestamp"),
                    "event": _ref("incident_event"),
                    "indicators": _array(_ref("normalized_indicator"), MAX_INDICATORS),
                },
                [
                    "event_uid",
                    "event_id",
                    "reporter",
                    "reporter_sector",
                    "received_at",
                    "event",
                    "indicators",
                ],
                description="An accepted event with its reporter and canonical indicators.",
            ),
        ),
        "dlq-ingest": (
            "Ingest dead letter v1",
            _obj(
                {
                    "partner": _ref("partner"),
                    "topic": _string(255),
                    "partition": {"type": "integer", "minimum": 0},
                    "offset": {"type": "integer", "minimum": 0},
                    "reason": _ref("slug"),
                    "errors": _ref("field_errors"),
                    "raw_b64": _string(MAX_RAW_B64, min_length=0),
                    "received_at": _ref("timestamp"),
                },
                [
                    "partner",
                    "topic",
                    "partition",
                    "offset",
                    "reason",
                    "errors",
                    "raw_b64",
                    "received_at",
                ],
                description="A rejected ingest record, kept with its raw bytes (base64).",
            ),
        ),
        "dlq-delivery": (
            "Delivery dead letter v1",
            _obj(
                {
                    "subscriber": _ref("slug"),
                    "channel": {"enum": ["webhook", "email", "chat", "syslog", "file"]},
                    "alert": _ref("alert"),
                    "reason": _string(MAX_MESSAGE),
                    "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "first_at": _ref("timestamp"),
                    "last_at": _ref("timestamp"),
                },
                ["subscriber", "channel", "alert", "reason", "attempts", "first_at", "last_at"],
                description="A delivery that exhausted its retries, with the original alert.",
            ),
        ),
    }


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix("#/$defs/")} if "$ref" in node else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def build(kind: str) -> dict[str, Any]:
    """The schema document of one payload kind, with the definitions it uses."""
    defs = _definitions()
    title, body = _bodies()[kind]
    if set(body) == {"$ref"}:  # a payload that is one definition: put it at the top level
        body = defs[_refs(body).pop()]
    used: set[str] = set()
    pending = _refs(body)
    while pending:
        name = pending.pop()
        used.add(name)
        pending |= _refs(defs[name]) - used
    document: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:confianza:{kind}:v1",
        "title": title,
        **body,
    }
    if used:
        document["$defs"] = {name: defs[name] for name in sorted(used)}
    return document


def render(kind: str) -> bytes:
    """The exact bytes of ``<kind>.v1.json``: two-space indentation, trailing newline."""
    return orjson.dumps(build(kind), option=orjson.OPT_INDENT_2) + b"\n"


def main() -> None:
    folder = Path(__file__).parent
    for kind in KINDS:
        path = folder / f"{kind}.v1.json"
        path.write_bytes(render(kind))
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
