"""Validation of incident events and of every payload of the contract.

``validate_event(raw)`` is called by the ingest stage for every record a partner wrote, and by
the SDK before sending. It promises, in this order: a size check before parsing, strict UTF-8,
strict JSON (no NaN/Infinity, no duplicate keys), bounded nesting and the incident-event
schema with format checks. It returns the parsed event, or a ``Rejection`` whose errors carry
a JSON pointer to the offending field.

Two validators with one verdict: jsonschema-rs decides on the hot path; only when it says
no does python ``jsonschema`` explain why (pointer + message, for partners). A property test
shows both agree. Both run the schemas with their ``$ref``s inlined; for incident events the
hot path also checks the RSIT class -> type rules from a table read out of the same schema
(see ``is_valid_event``): the verdict is the schema's, at half the cost. Two small rules keep
the validators in step: ``pattern`` follows ECMA-262, where ``$`` is the end of the string
(Python's ``re`` would also accept a trailing newline), and ``date-time`` is RFC 3339 checked
by one function here, with leap seconds only at 23:59:60 UTC, as jsonschema-rs checks it.

Duplicate keys: orjson keeps the last value silently. A schema-valid event has a known shape,
so the number of strings it holds (keys and string values) is known; the raw bytes hold at
least two quote characters per string, plus one per escaped quote. When the count of quote
characters equals twice the number of strings, no key was lost. Otherwise (an escaped quote,
or a real duplicate) the event is parsed again with ``json`` to find duplicates exactly.
Nesting needs no check on the hot path: a schema-valid event is at most four levels deep;
rejected documents are checked for depth before the python validator walks them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from confianza.schemas.catalog import KINDS, load_schema

MAX_EVENT_BYTES = 65536
MAX_DEPTH = 16  # nesting of objects and arrays in any document handed to the slow path
MAX_ERRORS = 100  # errors kept per rejection (the receipt schema's bound)
_MAX_MESSAGE = 300

RejectionReason = Literal["oversize", "not-utf8", "not-json", "schema"]


@dataclass(frozen=True)
class FieldError:
    """One problem: ``pointer`` is an RFC 6901 JSON pointer ("" = the whole document).

    orjson serialises it as ``{"pointer": ..., "message": ...}``, the shape of receipts."""

    pointer: str
    message: str


@dataclass(frozen=True)
class Rejection:
    """Why a raw event was refused: ``reason`` is one of oversize, not-utf8, not-json, schema."""

    reason: RejectionReason
    errors: tuple[FieldError, ...]


def encode(doc: object) -> bytes:
    """Serialise a payload to JSON bytes (orjson; dataclasses and str enums included)."""
    return orjson.dumps(doc)


def decode(raw: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON with orjson; raises ``orjson.JSONDecodeError`` (a ValueError)."""
    return orjson.loads(raw)


# --- the two validators -------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_PLAIN_DATE_TIME = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
"""The date-times that need no arithmetic (days 1-28, no leap second): one match decides."""


def is_date_time(text: str) -> bool:
    """RFC 3339 ``date-time`` (section 5.6) with calendar checks; a leap second (``:60``) is
    accepted only when it falls at 23:59:60 UTC."""
    return _PLAIN_DATE_TIME.fullmatch(text) is not None or calendar_date_time(text)


def calendar_date_time(text: str) -> bool:
    """``is_date_time`` the long way: parse the fields and check them against the calendar."""
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _DAYS[month - 1] + (1 if month == 2 and leap else 0):
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    offset = 0
    if m.group(7):
        off_hour, off_minute = int(m.group(8)), int(m.group(9))
        if off_hour > 23 or off_minute > 59:
            return False
        offset = (off_hour * 60 + off_minute) * (1 if m.group(7) == "+" else -1)
    return second < 60 or (hour * 60 + minute - offset) % 1440 == 1439


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(lambda value: not isinstance(value, str) or is_date_time(value))
    return checker


def _ecma(pattern: str) -> str:
    """Rewrite a pattern so Python's ``re`` reads ``$`` as ECMA-262 does: end of string."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern_keyword(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(_ecma(pattern))
    if compiled.search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_SlowValidator = extend(Draft202012Validator, {"pattern": _pattern_keyword})
_FORMATS = _format_checker()


def fast_validator(kind: str) -> Any:
    """The jsonschema-rs validator of a payload kind (format checks on)."""
    return _FAST[kind]


def slow_validator(kind: str) -> Draft202012Validator:
    """The python jsonschema validator of a payload kind (Draft 2020-12, FormatChecker)."""
    return _SLOW[kind]


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = _inline_refs(defs[node["$ref"].removeprefix("#/$defs/")], defs)
            return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def _inlined(kind: str) -> dict[str, Any]:
    """The schema of ``kind`` with its local ``$ref``s replaced by their definitions: the
    same instances are valid and errors have the same pointers, but neither validator
    resolves references at run time (python jsonschema gets about twice as fast)."""
    schema = load_schema(kind)
    return _inline_refs(schema, schema.pop("$defs", {}))


_FAST = {k: jsonschema_rs.validator_for(_inlined(k), validate_formats=True) for k in KINDS}
_SLOW = {k: _SlowValidator(_inlined(k), format_checker=_FORMATS) for k in KINDS}


# --- the hot path's form of the incident-event schema --------------------------------------
# jsonschema-rs evaluates the eleven class -> types rules of the classification (if/then) one
# by one, which costs as much as the rest of the schema. The hot path therefore runs the
# schema without those rules, then checks the (class, type) pair in a table read from the
# same rules. Same verdict (the agreement test checks it), about half the time.


def _hot_path() -> tuple[Any, dict[str, frozenset[str]]]:
    schema = _inlined("incident-event")
    classification = schema["properties"]["classification"]
    pairs = {
        rule["if"]["properties"]["class"]["const"]: frozenset(
            rule["then"]["properties"]["type"]["enum"]
        )
        for rule in classification.pop("allOf")
    }
    return jsonschema_rs.validator_for(schema, validate_formats=True), pairs


_HOT, _RSIT_PAIRS = _hot_path()
_MAX_INDICATORS: int = load_schema("incident-event")["properties"]["indicators"]["maxItems"]
_hot_is_valid = _HOT.is_valid


def is_valid_event(event: Any) -> bool:
    """The hot path's verdict on a parsed incident event (schema only, no raw-byte checks)."""
    if not _hot_is_valid(event):
        return False
    classification = event["classification"]
    return classification["type"] in _RSIT_PAIRS[classification["class"]]


# --- partner-facing errors ----------------------------------------------------------------


_MAX_TOKEN = 64  # characters of one escaped key in a pointer
_MAX_POINTER = 1024  # the receipt and dead-letter schemas' bound on a pointer


def _token(part: str | int) -> str:
    escaped = str(part).replace("~", "~0").replace("/", "~1")
    if len(escaped) <= _MAX_TOKEN:
        return escaped
    return escaped[:_MAX_TOKEN].removesuffix("~") + "…"  # a hostile key is named, not copied


def _pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 pointer to ``path``; an overlong key or path is cut short and marked with …"""
    pointer = "".join("/" + _token(p) for p in path)
    return pointer if len(pointer) <= _MAX_POINTER else pointer[: _MAX_POINTER - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _message(error: ValidationError) -> str:
    """A short message that names the rule and never echoes a long value back."""
    rule, expected, value = error.validator, error.validator_value, error.instance
    if rule == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return f"must be of type {wanted}, not {_json_type(value)}"
    if rule == "enum":
        return _short(f"{value!r} is not one of: " + ", ".join(map(str, expected)))
    if rule == "const":
        return f"must be {expected!r}"
    if rule == "maxLength":
        return f"must be at most {expected} characters long (got {len(value)})"
    if rule == "minLength":
        return f"must be at least {expected} characters long"
    if rule == "maxItems":
        return _too_many(expected, len(value))
    if rule == "pattern":
        return _short(f"{value!r} does not match the pattern {expected}")
    if rule == "format" and expected == "date-time":
        return _short(f"{value!r} is not an RFC 3339 date-time (e.g. 2024-05-01T10:30:00-05:00)")
    if rule in ("minimum", "maximum"):
        side = "at least" if rule == "minimum" else "at most"
        return f"must be {side} {expected} (got {value})"
    if rule == "uniqueItems":
        return "items must be unique"
    return _short(error.message)


def _too_many(limit: int, count: int) -> str:
    return f"must have at most {limit} items (got {count})"


def _expand(error: ValidationError) -> Iterator[FieldError]:
    """One FieldError per offending field: an unknown or missing property is pointed at by
    its own name, not by the object that holds it."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        for key in error.instance:
            if key not in known:
                yield FieldError(_pointer([*path, key]), "unknown field: not allowed here")
    elif error.validator == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                yield FieldError(_pointer([*path, key]), "required field is missing")
    else:
        yield FieldError(_pointer(path), _message(error))


def _document_order(error: FieldError) -> tuple[Any, ...]:
    """Sort key: by pointer, array indices numerically (/indicators/2 before /indicators/10)."""
    steps = tuple(
        (0, int(step), "") if _INDEX.fullmatch(step) else (1, 0, step)
        for step in error.pointer.split("/")
    )
    return steps, error.message


_INDEX = re.compile(r"[0-9]+", re.ASCII)


def _explain(kind: str, doc: Any, known: tuple[FieldError, ...] = ()) -> tuple[FieldError, ...]:
    found: dict[FieldError, None] = dict.fromkeys(known)
    for error in _SLOW[kind].iter_errors(doc):
        for item in _expand(error):
            found[item] = None
    errors = sorted(found, key=_document_order)
    if len(errors) > MAX_ERRORS:
        extra = len(errors) - (MAX_ERRORS - 1)
        errors = [*errors[: MAX_ERRORS - 1], FieldError("", f"{extra} more errors not shown")]
    return tuple(errors)


def validate_document(kind: str, doc: object) -> tuple[FieldError, ...]:
    """Check an in-memory payload against the schema of ``kind`` (see ``catalog.KINDS``).

    Returns an empty tuple when it is valid. Stages call this in tests (and where cheap, at
    run time) to show that what they emit is the contract."""
    if kind not in _FAST:
        raise ValueError(f"unknown payload kind {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        if _FAST[kind].is_valid(doc):
            return ()
    except (ValueError, TypeError) as exc:
        # jsonschema-rs refuses values JSON has no type for (a set, a datetime, a key that is
        # not a string). A value in a field is that field's error, from the explaining
        # validator; an object key that is not a string makes it no JSON document at all.
        if _has_non_string_key(doc):
            return (FieldError("", _short(f"not a JSON document: {exc}")),)
    return _explain(kind, doc) or (FieldError("", f"does not match {kind}.v1"),)


def _has_non_string_key(value: object) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(k, str) or _has_non_string_key(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_non_string_key(v) for v in value)
    return False


# --- raw events ---------------------------------------------------------------------------


class _Members(dict):
    """A parsed JSON object that remembers the keys it held more than once."""

    duplicates: tuple[str, ...] = ()


def _members(pairs: list[tuple[str, Any]]) -> _Members:
    obj = _Members(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        obj.duplicates = tuple(repeated)
    return obj


@dataclass(frozen=True)
class _NotFinite:
    literal: str


def _parse_float(text: str) -> float | _NotFinite:
    value = float(text)
    return _NotFinite(text) if value in (float("inf"), float("-inf")) else value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _walk(node: Any, path: list[str | int]) -> Iterator[FieldError]:
    """Problems that orjson refuses but ``json`` lets through, with their pointers."""
    if isinstance(node, _Members):
        for key in node.duplicates:
            yield FieldError(_pointer([*path, key]), f"duplicate key {_short(repr(key))}")
        for key, value in node.items():
            if _SURROGATE.search(key):
                yield FieldError(_pointer([*path, key]), "key holds an unpaired surrogate")
            yield from _walk(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, [*path, index])
    elif isinstance(node, _NotFinite):
        yield FieldError(_pointer(path), f"{node.literal} is not a JSON number")
    elif isinstance(node, str) and _SURROGATE.search(node):
        yield FieldError(_pointer(path), "string holds an unpaired surrogate (\\ud800-\\udfff)")


def _strict_json_problems(text: str) -> tuple[FieldError, ...] | json.JSONDecodeError:
    """Parse with ``json`` and list duplicate keys, NaN/Infinity and unpaired surrogates."""
    try:
        tree = json.loads(
            text,
            object_pairs_hook=_members,
            parse_constant=_NotFinite,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as exc:
        return exc
    return tuple(_walk(tree, []))[:MAX_ERRORS]


def _too_deep(doc: Any) -> str | None:
    """Pointer to the first container nested deeper than MAX_DEPTH, or None."""
    stack: list[tuple[Any, list[str | int]]] = [(doc, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            children: Iterable[tuple[str | int, Any]] = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if len(path) >= MAX_DEPTH:
            return _pointer(path)
        stack.extend((value, [*path, key]) for key, value in children)
    return None


def _unparseable(raw: bytes, parse_error: orjson.JSONDecodeError) -> Rejection:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection("not-utf8", (FieldError("", f"invalid UTF-8 at byte {exc.start}"),))
    try:
        problems = _strict_json_problems(text)
    except (RecursionError, ValueError):  # too deep, or an integer over Python's digit limit
        problems = ()
    if isinstance(problems, json.JSONDecodeError) or not problems:
        return Rejection("not-json", (FieldError("", _short(str(parse_error))),))
    return Rejection("not-json", problems)


def _not_json_or(raw: bytes) -> Rejection | None:
    problems = _strict_json_problems(raw.decode("utf-8"))
    if isinstance(problems, json.JSONDecodeError):  # orjson parsed it: cannot happen
        return Rejection("not-json", (FieldError("", _short(str(problems))),))
    return Rejection("not-json", problems) if problems else None


def validate_event(raw: bytes, *, max_bytes: int = MAX_EVENT_BYTES) -> dict[str, Any] | Rejection:
    """Validate one raw incident event: the parsed event dict, or a Rejection."""
    if type(raw) is not bytes:
        raw = bytes(raw)
    if len(raw) > max_bytes:
        message = f"event is {len(raw)} bytes; the limit is {max_bytes}"
        return Rejection("oversize", (FieldError("", message),))
    try:
        event = _loads(raw)
    except orjson.JSONDecodeError as exc:
        return _unparseable(raw, exc)
    if _hot_is_valid(event):
        classification = event["classification"]
        if (
            classification["type"] in _RSIT_PAIRS[classification["class"]]
            # jsonschema-rs 0.26's date-time check lets non-digits through ("10:30:0*"),
            # which then broke the ingest stage's clock: this module's rule decides
            and is_date_time(event["occurred_at"])
            and is_date_time(event["reported_at"])
        ):
            # Duplicate keys (module docstring): a schema-valid event holds two quotes per key
            # and per string value; every leaf is a string except confidence, classification
            # has two members. Inlined: this line runs for every event.
            asset = event.get("asset")
            strings = 2 * len(event) + 1 + 2 * sum(map(len, event["indicators"]))
            if asset is not None:
                strings += 2 * len(asset) - 1
            if raw.count(b'"') == 2 * strings:
                return event
            return _not_json_or(raw) or event
    return _rejected(raw, event)


_loads = orjson.loads


def _rejected(raw: bytes, event: Any) -> Rejection:
    """Why a parsed event that the hot path refused is invalid (the slow, explaining path)."""
    deep = _too_deep(event)
    if deep is not None:
        return Rejection("schema", (FieldError(deep, f"nested deeper than {MAX_DEPTH} levels"),))
    duplicates = _not_json_or(raw)
    if duplicates is not None:
        return duplicates
    known: tuple[FieldError, ...] = ()
    items = event.get("indicators") if isinstance(event, dict) else None
    if isinstance(items, list) and len(items) > _MAX_INDICATORS:
        # python jsonschema would check every one of possibly thousands of items: explain the
        # allowed ones and count the rest, so that a rejection stays cheap
        known = (FieldError("/indicators", _too_many(_MAX_INDICATORS, len(items))),)
        event = {**event, "indicators": items[:_MAX_INDICATORS]}
    errors = _explain("incident-event", event, known)
    return Rejection("schema", errors or (FieldError("", "does not match incident-event.v1"),))
