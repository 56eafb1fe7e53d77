"""validate_event: every kind of bad event is rejected with the right reason and a pointer
at the offending field; good events come back parsed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confianza.schemas import validate
from confianza.schemas.indicators import normalize_all
from confianza.schemas.validate import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    FieldError,
    Rejection,
    calendar_date_time,
    decode,
    encode,
    is_date_time,
    validate_event,
)

Event = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Event], bytes]:
    def mutate(event: Event) -> bytes:
        *parents, last = path.split("/")
        node: Any = event
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return encode(event)

    return mutate


def _drop(field: str) -> Callable[[Event], bytes]:
    def mutate(event: Event) -> bytes:
        del event[field]
        return encode(event)

    return mutate


def _raw(transform: Callable[[bytes], bytes]) -> Callable[[Event], bytes]:
    return lambda event: transform(encode(event))


def _nested(depth: int) -> Callable[[Event], bytes]:
    def mutate(event: Event) -> bytes:
        value: Any = "x"
        for _ in range(depth):
            value = [value]
        event["description"] = value
        return encode(event)

    return mutate


# (case id, mutation of the phishing example, expected reason, expected pointers)
BAD_EVENTS: list[tuple[str, Callable[[Event], bytes], str, set[str]]] = [
    ("wrong type", _set("confidence", "high"), "schema", {"/confidence"}),
    ("wrong type nested", _set("indicators/1/value", 987654321), "schema", {"/indicators/1/value"}),
    ("missing field", _drop("occurred_at"), "schema", {"/occurred_at"}),
    (
        "unknown RSIT class",
        _set("classification/class", "fraude"),
        "schema",
        {"/classification/class"},
    ),
    (
        "unknown RSIT type",
        _set("classification/type", "smishing"),
        "schema",
        {"/classification/type"},
    ),
    (
        "type of another class",
        _set("classification/type", "ddos"),
        "schema",
        {"/classification/type"},
    ),
    ("bad TLP", _set("tlp", "white"), "schema", {"/tlp"}),
    ("bad TLP case", _set("tlp", "AMBER"), "schema", {"/tlp"}),
    ("bad severity", _set("severity", "urgent"), "schema", {"/severity"}),
    ("confidence over 100", _set("confidence", 101), "schema", {"/confidence"}),
    ("confidence not integer", _set("confidence", 80.5), "schema", {"/confidence"}),
    ("bad sector", _set("sector", "banca"), "schema", {"/sector"}),
    ("bad date-time", _set("occurred_at", "2024-02-30T10:00:00Z"), "schema", {"/occurred_at"}),
    ("date without offset", _set("reported_at", "2024-05-01T10:00:00"), "schema", {"/reported_at"}),
    ("event_id with space", _set("event_id", "bcp 123"), "schema", {"/event_id"}),
    ("event_id trailing newline", _set("event_id", "bcp-123\n"), "schema", {"/event_id"}),
    ("event_id too long", _set("event_id", "a" * 129), "schema", {"/event_id"}),
    ("description too long", _set("description", "x" * 4001), "schema", {"/description"}),
    ("title too long", _set("title", "x" * 201), "schema", {"/title"}),
    (
        "too many indicators",
        _set("indicators", [{"kind": "md5", "value": "0" * 32}] * 51),
        "schema",
        {"/indicators"},
    ),
    ("unknown indicator kind", _set("indicators/0/kind", "btc"), "schema", {"/indicators/0/kind"}),
    ("unknown indicator role", _set("indicators/0/role", "bad"), "schema", {"/indicators/0/role"}),
    ("empty indicator value", _set("indicators/2/value", ""), "schema", {"/indicators/2/value"}),
    ("extra field in indicator", _set("indicators/0/note", "x"), "schema", {"/indicators/0/note"}),
    ("reporter field", _set("reporter", "bbva"), "schema", {"/reporter"}),
    ("unknown field with a digit-like name", _set("²", None), "schema", {"/²"}),
    ("bad asset type", _set("asset/type", "website"), "schema", {"/asset/type"}),
    ("not an object", lambda event: b"[1, 2]", "schema", {""}),
    ("oversize", _set("description", "x" * MAX_EVENT_BYTES), "oversize", {""}),
    ("deep nesting", _nested(MAX_DEPTH + 4), "schema", {"/description" + "/0" * (MAX_DEPTH - 1)}),
    ("nesting beyond the parser", lambda event: b"[" * 5000 + b"]" * 5000, "not-json", {""}),
    (
        "non-UTF-8",
        _raw(lambda raw: raw.replace("víctimas".encode(), "víctimas".encode("latin-1"))),
        "not-utf8",
        {""},
    ),
    ("UTF-8 BOM", _raw(lambda raw: b"\xef\xbb\xbf" + raw), "not-json", {""}),
    (
        "NaN",
        _raw(lambda raw: raw.replace(b'"confidence":90', b'"confidence":NaN')),
        "not-json",
        {"/confidence"},
    ),
    (
        "Infinity",
        _raw(lambda raw: raw.replace(b'"confidence":90', b'"confidence":-Infinity')),
        "not-json",
        {"/confidence"},
    ),
    (
        "number overflow",
        _raw(lambda raw: raw.replace(b'"confidence":90', b'"confidence":1e999')),
        "not-json",
        {"/confidence"},
    ),
    (
        "duplicate key",
        _raw(lambda raw: raw.replace(b'"tlp":"amber"', b'"tlp":"red","tlp":"amber"')),
        "not-json",
        {"/tlp"},
    ),
    (
        "duplicate key nested",
        _raw(
            lambda raw: raw.replace(b'"type":"phishing"', b'"type":"masquerade","type":"phishing"')
        ),
        "not-json",
        {"/classification/type"},
    ),
    (
        "duplicate key with spaces",
        _raw(lambda raw: raw.replace(b'"tlp":"amber"', b'"tlp" : "red" , "tlp" :"amber"')),
        "not-json",
        {"/tlp"},
    ),
    (
        "unpaired surrogate",
        _raw(lambda raw: raw.replace(b'"title":"', b'"title":"\\ud800')),
        "not-json",
        {"/title"},
    ),
    (
        # found by fuzzing: jsonschema-rs accepts it, and the ingest clock then raised
        "non-digit in a date-time",
        lambda event: encode({**event, "reported_at": "2024-05-01T10:30:0*-05:00"}),
        "schema",
        {"/reported_at"},
    ),
    (
        "integer over python's digit limit",
        _raw(lambda raw: raw.replace(b'"confidence":90', b'"confidence":' + b"9" * 4500)),
        "not-json",
        {""},
    ),
    ("truncated", _raw(lambda raw: raw[:-10]), "not-json", {""}),
    ("empty", lambda event: b"", "not-json", {""}),
]


@pytest.mark.parametrize(
    ("mutate", "reason", "pointers"),
    [case[1:] for case in BAD_EVENTS],
    ids=[case[0] for case in BAD_EVENTS],
)
def test_bad_event_is_rejected_with_pointer(
    phishing_event: Event, mutate: Callable[[Event], bytes], reason: str, pointers: set[str]
) -> None:
    result = validate_event(mutate(phishing_event))
    assert isinstance(result, Rejection), result
    assert result.reason == reason, result
    assert {e.pointer for e in result.errors} == pointers, result
    assert all(e.message for e in result.errors)


def test_bad_phone_is_a_normalization_warning_not_a_rejection(phishing_event: Event) -> None:
    phishing_event["indicators"][2]["value"] = "887 654 321"  # 9 digits but not a mobile range
    result = validate_event(encode(phishing_event))
    assert isinstance(result, dict)
    valid, invalid = normalize_all(result["indicators"])
    assert [(i.index, i.kind) for i in invalid] == [(2, "phone")]
    assert invalid[0].field_error().pointer == "/indicators/2/value"
    assert len(valid) == len(result["indicators"]) - 1


def test_several_errors_are_all_reported(phishing_event: Event) -> None:
    phishing_event["tlp"] = "orange"
    phishing_event["reporter"] = "bbva"
    del phishing_event["sector"]
    result = validate_event(encode(phishing_event))
    assert isinstance(result, Rejection)
    assert [e.pointer for e in result.errors] == ["/reporter", "/sector", "/tlp"]


def test_messages_do_not_echo_long_values(phishing_event: Event) -> None:
    phishing_event["description"] = "x" * 5000
    result = validate_event(encode(phishing_event))
    assert isinstance(result, Rejection)
    assert result.errors == (
        FieldError("/description", "must be at most 4000 characters long (got 5000)"),
    )


def test_error_pointers_escape_slash_and_tilde(phishing_event: Event) -> None:
    phishing_event["a/b~c"] = 1
    result = validate_event(encode(phishing_event))
    assert isinstance(result, Rejection)
    assert result.errors[0].pointer == "/a~1b~0c"


def test_a_key_too_long_for_a_pointer_is_named_within_the_receipts_bound(
    phishing_event: Event,
) -> None:
    """Found by fuzzing: a 64 KiB key made a pointer the receipt schema refuses."""
    phishing_event["k" * 60_000] = 1
    result = validate_event(encode(phishing_event))
    assert isinstance(result, Rejection)
    (error,) = result.errors
    assert error.pointer == "/" + "k" * 64 + "…"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"indent", id="pretty-printed"),
        pytest.param(b"escaped-quote", id="escaped quote in a string"),
        pytest.param(b"colon-string", id="string value starting with a colon"),
        pytest.param(b"unicode-escape-quote", id="quote written as \\u0022"),
    ],
)
def test_valid_variants_are_accepted(phishing_event: Event, raw: bytes) -> None:
    """Duplicate-key detection must not refuse valid spellings of an event."""
    if raw == b"indent":
        data = json.dumps(phishing_event, indent=4, ensure_ascii=True).encode()
    elif raw == b"escaped-quote":
        phishing_event["title"] = 'Sitio "BCP" falso'
        data = encode(phishing_event)
    elif raw == b"colon-string":
        phishing_event["title"] = ":login"
        data = encode(phishing_event)
    else:
        data = encode(phishing_event).replace(b"Sitio de", b"Sitio \\u0022de\\u0022")
    result = validate_event(data)
    assert isinstance(result, dict), result
    assert result["event_id"] == phishing_event["event_id"]


def test_bytearray_and_memoryview_are_accepted(examples: dict[str, bytes]) -> None:
    raw = examples["fraud"]
    assert validate_event(bytearray(raw)) == validate_event(memoryview(raw)) == decode(raw)


def test_custom_size_limit(examples: dict[str, bytes]) -> None:
    raw = examples["fraud"]
    assert isinstance(validate_event(raw, max_bytes=len(raw)), dict)
    result = validate_event(raw, max_bytes=len(raw) - 1)
    assert isinstance(result, Rejection)
    assert result.reason == "oversize"


def test_encode_round_trips_dataclasses() -> None:
    rejection = Rejection("schema", (FieldError("/tlp", "bad"),))
    assert orjson.loads(encode(rejection)) == {
        "reason": "schema",
        "errors": [{"pointer": "/tlp", "message": "bad"}],
    }


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-05-01T10:30:00-05:00", True),
        ("2024-05-01T10:30:00.123456Z", True),
        ("2024-05-01t10:30:00z", True),
        ("2024-02-29T00:00:00Z", True),
        ("2023-02-29T00:00:00Z", False),
        ("2024-04-31T00:00:00Z", False),
        ("2024-05-01 10:30:00Z", False),
        ("2024-05-01T10:30:00", False),
        ("2024-05-01T24:00:00Z", False),
        ("2024-05-01T10:30:00+24:00", False),
        ("2024-12-31T23:59:60Z", True),  # leap second at 23:59:60 UTC
        ("2024-12-31T18:59:60-05:00", True),  # the same instant in Lima
        ("2024-12-31T12:59:60Z", False),
        ("2024-05-01T10:30:00Z\n", False),
        ("٢٠٢٤-05-01T10:30:00Z", False),  # non-ASCII digits
    ],
)
def test_date_time_rule(text: str, valid: bool) -> None:
    assert is_date_time(text) is valid


@settings(max_examples=500, deadline=None)
@given(st.from_regex(validate._PLAIN_DATE_TIME, fullmatch=True))
def test_the_one_match_date_time_path_agrees_with_the_calendar(text: str) -> None:
    assert calendar_date_time(text)


def test_errors_come_in_document_order(phishing_event: Event) -> None:
    phishing_event["indicators"] = [{"kind": "md5", "value": "0" * 32, "x": i} for i in range(12)]
    result = validate_event(encode(phishing_event))
    assert isinstance(result, Rejection)
    assert [e.pointer for e in result.errors] == [f"/indicators/{i}/x" for i in range(12)]


def test_a_huge_indicator_array_is_explained_from_its_allowed_items(phishing_event: Event) -> None:
    phishing_event["indicators"] = [0] * 20000
    result = validate_event(encode(phishing_event))
    assert isinstance(result, Rejection)
    assert result.errors[0] == FieldError("/indicators", "must have at most 50 items (got 20000)")
    assert len(result.errors) == 51  # the count, then one error per allowed item
    assert result.errors[-1].pointer == "/indicators/49"
