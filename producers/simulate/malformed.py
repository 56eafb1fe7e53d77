"""Records a careless or hostile partner sends, which the server must reject and receipt.

Both functions take a valid event as the starting point and return raw bytes that never pass
validation; the simulator sends them with ``Reporter.send_raw`` (bypassing the SDK's check, as
a partner using another client would). ``MALFORMED_KINDS`` lists the defects, one picked per
record: broken or truncated JSON, invalid UTF-8, NaN, duplicate keys, a JSON array, a missing
field, an unknown RSIT type, a bad TLP, a claimed ``reporter``, a wrong type, an unreadable
date, too many indicators.
"""

from __future__ import annotations

import random
from typing import Any

from confianza.schemas.validate import MAX_EVENT_BYTES, encode

MALFORMED_KINDS = (
    "truncated",
    "not-utf8",
    "nan",
    "duplicate-key",
    "array",
    "missing-field",
    "rsit-type",
    "tlp",
    "reporter",
    "wrong-type",
    "date",
    "too-many-indicators",
)


def malformed_payload(rng: random.Random, base: dict[str, Any]) -> bytes:
    """``base`` (a valid event) broken in one of the ``MALFORMED_KINDS`` ways."""
    kind = rng.choice(MALFORMED_KINDS)
    event = dict(base)
    if kind == "truncated":
        raw = encode(event)
        return raw[: rng.randrange(10, len(raw) - 1)]
    if kind == "not-utf8":
        event["description"] = "Clientes de Cañete reportan cargos no reconocidos."
        return encode(event).replace("ñ".encode(), b"\xf1")
    if kind == "nan":
        return encode(event).replace(
            f'"confidence":{event["confidence"]}'.encode(), b'"confidence":NaN'
        )
    if kind == "duplicate-key":
        return b'{"tlp":"clear",' + encode(event)[1:]
    if kind == "array":
        return encode([event])
    if kind == "missing-field":
        del event[rng.choice(("classification", "occurred_at", "sector", "description"))]
    elif kind == "rsit-type":
        event["classification"] = {"class": "fraud", "type": "phising"}
    elif kind == "tlp":
        event["tlp"] = "TLP:ORANGE"
    elif kind == "reporter":
        event["reporter"] = "interbank"
    elif kind == "wrong-type":
        event["confidence"] = "alta"
    elif kind == "date":
        event["occurred_at"] = "03/06/2025 10:00"
    else:
        event["indicators"] = [
            {"kind": "ipv4", "value": f"203.0.113.{n}", "role": "attacker"} for n in range(51)
        ]
    return encode(event)


def oversize_payload(rng: random.Random, base: dict[str, Any]) -> bytes:
    """``base`` with a whole e-mail thread pasted into its description: over the 64 KiB
    event limit (the server refuses it before parsing)."""
    line = "> De: soporte@banco.example  Para: seguridad@banco.example  Asunto: RV: RV: fraude\n"
    repeats = MAX_EVENT_BYTES // len(line) + rng.randrange(2, 50)
    return encode(base | {"description": line * repeats})
