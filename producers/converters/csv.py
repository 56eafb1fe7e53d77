"""CSV (one incident per row) to incident events.

The first line names the columns; names are case-insensitive and ``_`` equals ``-``. The
delimiter is ``,``, ``;`` or a tab (detected from the header line); UTF-8, with or without the
byte-order mark spreadsheets write.

=================  =========================================================================
column             event field
=================  =========================================================================
``event_id``       ``event_id`` (required column)
``occurred_at``    ``occurred_at``: RFC 3339, or ``YYYY-MM-DD[ HH:MM[:SS]]`` read as Peru time
                   (UTC-05:00)
``reported_at``    ``reported_at`` (same forms); default: now
``class``          ``classification.class`` (RSIT); default ``--class``
``type``           ``classification.type`` (RSIT); default ``--type``
``tlp``            ``tlp`` (``clear``, ``green``, ``amber``, ``amber+strict``, ``red``;
                   ``TLP:WHITE`` reads as clear); default ``--tlp``
``severity``       ``severity``; default ``--severity``
``confidence``     ``confidence`` (0-100); default ``--confidence``
``sector``         ``sector``; default ``--sector`` (one of the two is required)
``asset_type``     ``asset.type``
``asset_name``     ``asset.name``
``title``          ``title``
``description``    ``description``
``url`` ``domain`` ``ipv4`` ``ipv6`` ``email`` ``phone`` ``iban`` ``bank_account``
``crypto_wallet`` ``md5`` ``sha1`` ``sha256``
                   one indicator column per kind; several values in one cell are separated
                   by ``|``. Roles: hashes ``payload``; ``iban``, ``bank_account`` and
                   ``crypto_wallet`` ``mule-account``; the rest ``unspecified``
=================  =========================================================================

An empty cell means "not given" (the default applies, or the field is left out). Values are
passed on as written and checked by validation, so a bad value is reported with the row's line
number and a pointer to the field. A column that is not in this table is listed as unsupported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from confianza.producers.converters import (
    Converted,
    ConverterItem,
    EventDefaults,
    IndicatorSet,
    Unsupported,
    rfc3339,
)
from confianza.schemas.taxonomy import INDICATOR_KINDS
from confianza.schemas.tlp import parse_tlp

PERU = timezone(timedelta(hours=-5), "PET")
SEPARATOR = "|"
EVENT_COLUMNS = (
    "event_id", "occurred_at", "reported_at", "class", "type", "tlp", "severity",
    "confidence", "sector", "asset_type", "asset_name", "title", "description",
)  # fmt: skip
_ROLES = {
    "md5": "payload",
    "sha1": "payload",
    "sha256": "payload",
    "iban": "mule-account",
    "bank-account": "mule-account",
    "crypto-wallet": "mule-account",
}


class CsvLayoutError(ValueError):
    """The header cannot describe events (no ``event_id`` column, no sector anywhere)."""


def _column(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _kind(column: str) -> str:
    return column.replace("_", "-")


def _timestamp(text: str) -> str:
    """RFC 3339 as is; spreadsheet dates without an offset are read as Peru time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return text
    return rfc3339(moment.replace(tzinfo=PERU))


def _event(row: dict[str, str], defaults: EventDefaults) -> dict[str, Any]:
    cell = {k: v.strip() for k, v in row.items() if v is not None and v.strip()}
    event: dict[str, Any] = {"event_id": cell.get("event_id", "")}
    if "occurred_at" in cell:
        event["occurred_at"] = _timestamp(cell["occurred_at"])
    event["reported_at"] = (
        _timestamp(cell["reported_at"]) if "reported_at" in cell else defaults.reported()
    )
    event["classification"] = {
        "class": cell.get("class", defaults.classification.rsit_class),
        "type": cell.get("type", defaults.classification.rsit_type),
    }
    tlp = cell.get("tlp", str(defaults.tlp))
    try:
        event["tlp"] = str(parse_tlp(tlp))
    except ValueError:
        event["tlp"] = tlp
    event["severity"] = cell.get("severity", defaults.severity).lower()
    confidence = cell.get("confidence")
    event["confidence"] = (
        defaults.confidence
        if confidence is None
        else int(confidence)
        if confidence.isdigit()
        else confidence
    )
    if "sector" in cell or defaults.sector is not None:
        event["sector"] = cell.get("sector", defaults.sector)
    asset = {k: cell[f"asset_{k}"] for k in ("type", "name") if f"asset_{k}" in cell}
    if asset:
        event["asset"] = asset
    for field in ("title", "description"):
        if field in cell:
            event[field] = cell[field]
    return event


def convert(lines: Iterable[str], defaults: EventDefaults) -> Iterator[ConverterItem]:
    """One event per data row. Raises ``CsvLayoutError`` before the first row when the
    header cannot produce events."""
    rows = iter(lines)
    header_line = next(rows, "").removeprefix("\ufeff")
    if not header_line.strip():
        raise CsvLayoutError("the CSV input is empty: the first line must name the columns")
    try:
        dialect: Any = csv.Sniffer().sniff(header_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(_chain(header_line, rows), dialect)
    columns = [_column(name) for name in next(reader)]
    if "event_id" not in columns:
        raise CsvLayoutError(
            "the CSV header has no event_id column (columns: " + ", ".join(columns) + ")"
        )
    if "sector" not in columns and defaults.sector is None:
        raise CsvLayoutError("the CSV has no sector column: give the sector with --sector")
    kinds = {c for c in columns if _kind(c) in INDICATOR_KINDS}
    unknown = [c for c in columns if c not in EVENT_COLUMNS and c not in kinds]
    for name in unknown:
        yield Unsupported("header", f"column {name!r} is not mapped; its values are not sent")
    for values in reader:
        where = f"line {reader.line_num}"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            yield Unsupported(
                where, f"{len(values)} cells for {len(columns)} columns; row not converted"
            )
            continue
        row = dict(zip(columns, values, strict=True))
        event = _event(row, defaults)
        found = IndicatorSet()
        for column in columns:
            if column not in kinds:
                continue
            kind = _kind(column)
            for value in (v.strip() for v in row[column].split(SEPARATOR)):
                if value and not found.add(kind, value, _ROLES.get(kind, "unspecified")):
                    yield Unsupported(where, f"repeats the {kind} {value!r} in the same row")
        # More than 50 are left in place so validation rejects the row with a pointer: a
        # row is one incident and is not split behind the partner's back.
        event["indicators"] = found.items
        yield Converted(where, event)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
