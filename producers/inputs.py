"""What ``confianza send`` reads: a file or stdin in one of five formats, as numbered records.

``read_items(stream, fmt, defaults)`` yields, in input order, ``Record`` items (the bytes of one
event, to validate exactly as the server will, and where they came from: ``line 12``,
``record 3``, ``MISP event <uuid>``…), ``Unreadable`` items (a record that could not even be
cut out of the input, e.g. a line over the size limit) and the converters' ``Unsupported``
items. Formats:

- ``json``: one event object, or an array of event objects;
- ``ndjson``: one event per line, streamed (blank lines are skipped);
- ``csv``: one event per row, streamed (mapping in ``converters.csv``);
- ``misp``: a MISP event (or several); ``stix``: a STIX 2.1 bundle.

``detect_format`` picks one from the file name and the first bytes when none is given.
Whole-document formats (json, misp, stix) are bounded by ``MAX_DOCUMENT_BYTES``.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, get_args

import orjson

from confianza.producers.converters import (
    Converted,
    EventDefaults,
    Unsupported,
    csv,
    misp,
    stix,
)
from confianza.schemas.validate import MAX_EVENT_BYTES, encode

Format = Literal["json", "ndjson", "csv", "misp", "stix"]
FORMATS: tuple[str, ...] = get_args(Format)
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_EXTENSIONS: dict[str, Format] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


class InputError(ValueError):
    """The input as a whole cannot be read (unknown format, too large, not JSON, bad CSV
    header); ``confianza send`` exits 2 with this message."""


@dataclass(frozen=True)
class Record:
    """The bytes of one event and where they came from."""

    where: str
    payload: bytes


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be cut out of the input, and why (it counts as rejected)."""

    where: str
    message: str


Item = Record | Unreadable | Unsupported


class PeekableStream:
    """A binary stream whose first bytes can be looked at before it is read (stdin too)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.head = raw.read(_SNIFF_BYTES)
        self._offset = 0  # how much of ``head`` has been read
        self._document: tuple[object, bytes] | None = None

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); b"" at the end."""
        start = self._offset
        if size < 0:
            self._offset = len(self.head)
            return self.head[start:] + self._raw.read()
        data = self.head[start : start + size]
        self._offset += len(data)
        if len(data) < size:
            data += self._raw.read(size - len(data))
        return data

    def readline(self, limit: int) -> bytes:
        """One line with its newline, at most ``limit`` bytes (b"" at the end)."""
        start = self._offset
        if start >= len(self.head):
            return self._raw.readline(limit)
        end = self.head.find(b"\n", start, start + limit)
        if end >= 0:
            self._offset = end + 1
            return self.head[start : end + 1]
        line = self.head[start : start + limit]
        self._offset += len(line)
        if len(line) < limit:
            line += self._raw.readline(limit - len(line))
        return line

    def document(self) -> tuple[object, bytes]:
        """The whole input parsed as one JSON document, and its bytes (read once)."""
        if self._document is None:
            data = self.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                raise InputError(
                    f"the document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB; "
                    "split it, or send events as NDJSON (streamed)"
                )
            data = data.removeprefix(codecs.BOM_UTF8)
            try:
                self._document = (orjson.loads(data), data)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"the input is not a JSON document: {exc}") from None
        return self._document


def detect_format(stream: PeekableStream, name: str | None) -> Format:
    """The format of the input: by file extension, else by its first bytes."""
    lowered = (name or "").lower()
    for suffix, fmt in _EXTENSIONS.items():
        if lowered.endswith(suffix):
            return fmt
    head = stream.head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not head:
        raise InputError("the input is empty")
    if head[:1] not in (b"{", b"["):
        return "csv"
    if head[:1] == b"{":
        first, _, rest = head.partition(b"\n")
        if rest.strip():
            try:
                orjson.loads(first)
            except orjson.JSONDecodeError:
                pass  # a pretty-printed document: its first line is not a whole value
            else:
                return "ndjson"
    document, _ = stream.document()
    if misp.looks_like_misp(document):
        return "misp"
    if stix.looks_like_stix(document):
        return "stix"
    return "json"


def read_items(stream: PeekableStream, fmt: Format, defaults: EventDefaults) -> Iterator[Item]:
    """Every record of the input in order, with what could not be converted."""
    if fmt == "ndjson":
        yield from _ndjson(stream)
    elif fmt == "csv":
        text = io.TextIOWrapper(_Reader(stream), encoding="utf-8-sig", newline="")
        try:
            yield from _converted(csv.convert(text, defaults))
        except UnicodeDecodeError as exc:
            raise InputError(f"the CSV is not UTF-8 ({exc.reason}); save it as UTF-8") from None
        except csv.CsvLayoutError as exc:
            raise InputError(str(exc)) from None
    else:
        document, raw = stream.document()
        if fmt == "misp":
            yield from _converted(misp.convert(document, defaults))
        elif fmt == "stix":
            if not stix.looks_like_stix(document):
                raise InputError('the input is not a STIX bundle ({"type": "bundle", ...})')
            yield from _converted(stix.convert(document, defaults))
        else:
            yield from _json(document, raw)


def _converted(items: Iterator[Converted | Unsupported]) -> Iterator[Item]:
    for item in items:
        yield Record(item.where, encode(item.event)) if isinstance(item, Converted) else item


def _json(document: object, raw: bytes) -> Iterator[Item]:
    if isinstance(document, list):
        for number, element in enumerate(document, start=1):
            yield Record(f"record {number}", encode(element))
    else:
        yield Record("record 1", raw.strip())


def _ndjson(stream: PeekableStream) -> Iterator[Item]:
    number = 0
    limit = MAX_EVENT_BYTES + 2  # the event and its line break (\r\n)
    while line := stream.readline(limit):
        number += 1
        if not line.endswith(b"\n") and len(line) == limit:
            size = len(line)
            while not line.endswith(b"\n") and (line := stream.readline(limit)):
                size += len(line)
            yield Unreadable(
                f"line {number}", f"the line is over {MAX_EVENT_BYTES} bytes ({size}); not sent"
            )
            continue
        payload = line.rstrip(b"\r\n")
        if number == 1:
            payload = payload.removeprefix(codecs.BOM_UTF8)
        if payload.strip():
            yield Record(f"line {number}", payload)


class _Reader(io.RawIOBase):
    """A raw-IO view of a PeekableStream, so TextIOWrapper can decode it incrementally."""

    def __init__(self, stream: PeekableStream) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
