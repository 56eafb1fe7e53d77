"""Reading ``confianza send`` input: format detection and numbered records."""

from __future__ import annotations

import io

import pytest

from confianza.producers.converters import EventDefaults, Unsupported
from confianza.producers.inputs import (
    InputError,
    PeekableStream,
    Record,
    Unreadable,
    detect_format,
    read_items,
)
from confianza.schemas.validate import MAX_EVENT_BYTES
from tests.producers.conftest import DATA


def stream(data: bytes) -> PeekableStream:
    return PeekableStream(io.BytesIO(data))


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b'{"event_id": "a"}\n{"event_id": "b"}\n', None, "ndjson"),
        (b'{"event_id": "a"}\n', None, "json"),
        (b'{\n  "event_id": "a"\n}\n', "event.json", "json"),
        (b'[{"event_id": "a"}, {"event_id": "b"}]', None, "json"),
        (b"event_id,description\nx,y\n", None, "csv"),
        (b'{"event_id": "a"}', "reportes.csv", "csv"),
        (b'{"event_id": "a"}', "events.jsonl", "ndjson"),
        (b"\xef\xbb\xbf" + (DATA / "misp-smishing-bcp.json").read_bytes(), None, "misp"),
        ((DATA / "misp-bare-apk-trojan.json").read_bytes(), None, "misp"),
        ((DATA / "stix-phishing-report.json").read_bytes(), None, "stix"),
    ],
)
def test_format_detection(data: bytes, name: str | None, expected: str) -> None:
    assert detect_format(stream(data), name) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"  \n", "the input is empty"), (b'{"a": [1, 2}', "not a JSON document")],
)
def test_unreadable_inputs(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        detect_format(stream(data), None)


def test_ndjson_lines_are_numbered_and_an_oversized_line_is_skipped_whole() -> None:
    huge = b'{"event_id": "big", "description": "' + b"x" * (3 * MAX_EVENT_BYTES) + b'"}'
    data = b'\xef\xbb\xbf{"event_id": "a"}\r\n\n' + huge + b'\n{"event_id": "b"}\nnot json'
    items = list(read_items(stream(data), "ndjson", EventDefaults()))
    assert items[0] == Record("line 1", b'{"event_id": "a"}')
    assert isinstance(items[1], Unreadable)
    assert items[1].where == "line 3"
    assert f"over {MAX_EVENT_BYTES} bytes ({len(huge) + 1})" in items[1].message
    assert items[2:] == [Record("line 4", b'{"event_id": "b"}'), Record("line 5", b"not json")]


def test_json_array_elements_are_records() -> None:
    items = list(read_items(stream(b'[{"event_id": "a"}, 7]'), "json", EventDefaults()))
    assert items == [Record("record 1", b'{"event_id":"a"}'), Record("record 2", b"7")]


def test_csv_must_be_utf8_and_well_formed() -> None:
    defaults = EventDefaults(sector="banking")
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_items(stream(b"event_id,description\nx,Ca\xf1ete\n"), "csv", defaults))
    with pytest.raises(InputError, match="no event_id column"):
        list(read_items(stream(b"id,description\n"), "csv", defaults))


def test_stix_format_forced_on_something_else() -> None:
    with pytest.raises(InputError, match="not a STIX bundle"):
        list(read_items(stream(b'{"Event": {}}'), "stix", EventDefaults()))


def test_converted_items_keep_their_order() -> None:
    data = (DATA / "misp-bare-apk-trojan.json").read_bytes()
    items = list(read_items(stream(data), "misp", EventDefaults(sector="banking")))
    assert [type(i) for i in items] == [Unsupported, Unsupported, Unsupported, Record]
