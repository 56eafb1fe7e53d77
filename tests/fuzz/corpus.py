"""Hostile ingest records: what a broken or malicious partner can put on its ingest topic.

Two views of the same families of attack, so the pure fuzz tests, the atheris harness and the
runs against the real streams worker speak of the same inputs:

- ``hostile_records(rng, count)``: a deterministic list of raw records (bytes), drawn from
  every family in turn — sent to a running worker by the reliability and security runs;
- ``hostile_bytes()``: a hypothesis strategy over the same families plus unconstrained bytes.

Families: random bytes, truncated JSON, malformed timestamps, deep nesting, huge strings and
arrays (under and over the 64 KiB limit), invalid UTF-8 and lone surrogates, NaN/Infinity,
duplicate keys, huge numbers, every field of a valid event replaced by every wrong JSON type,
and indicator values that stress the normalizers (IDN and mixed scripts, very long URLs, odd
IP forms, phone numbers with letters or too many digits, malformed IBANs, hashes of the wrong
length).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from confianza.schemas.taxonomy import INDICATOR_KINDS
from confianza.schemas.validate import MAX_EVENT_BYTES

FIELDS = (
    "event_id",
    "occurred_at",
    "reported_at",
    "classification",
    "tlp",
    "severity",
    "confidence",
    "sector",
    "asset",
    "title",
    "description",
    "indicators",
)
WRONG_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**70,
    1.5e308,
    "",
    "x" * 5000,
    [],
    [None],
    {},
    {"a": 1},
)
STRESS_VALUES: dict[str, tuple[str, ...]] = {
    "url": (
        "hxxps://bcp-zonasegura[.]com/login",
        "https://xn--bcp-zona-segura-0lb.com/",
        "https://b\u0441p.com/login",  # Cyrillic es
        "http://[::ffff:127.0.0.1]:99999/",
        "http://" + "a." * 120 + "com/" + "p" * 1500,
        "https://fraude.com/" + "\u00f1" * 1000,  # percent-encodes past the 2048 bound
        "javascript:alert(1)",
        "https://user:pw@host/%zz%00",
        "ftp://x",
        "https:///nohost",
    ),
    "domain": ("xn--", "-bad-.com", "a" * 64 + ".pe", ".", "ex\u200bample.com", "localhost"),
    "email": ("a@@b.pe", "@b.pe", "x@" + "b" * 300 + ".pe", "üser@exämple.pe"),
    "ipv4": ("999.1.1.1", "1.2.3", "01.02.03.004", "1.2.3.4/33", "0x7f.1"),
    "ipv6": ("::::", "fe80::1%eth0", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8:9"),
    "phone": ("+51 9ABC 123", "9" * 40, "+0", "(01) 311-9898 ext. 9999999999", "++51987654321"),
    "iban": ("PE00 0000", "XX" + "9" * 40, "GB82WEST12345698765432", "DE00"),
    "cci": ("002-" * 20, "0" * 20, "ABC"),
    "md5": ("z" * 32, "a" * 31),
    "sha1": ("g" * 40,),
    "sha256": ("A" * 65, "0" * 63),
    "account": ("", " " * 50, "\u0000acct"),
}


def base_event(index: int = 0) -> dict[str, Any]:
    """A valid incident event that each family mutates."""
    return {
        "event_id": f"hostile-{index:06d}",
        "occurred_at": "2026-01-10T10:00:00-05:00",
        "reported_at": "2026-01-10T10:30:00-05:00",
        "classification": {"class": "fraud", "type": "phishing"},
        "tlp": "amber",
        "severity": "high",
        "confidence": 80,
        "sector": "banking",
        "title": "Sitio de phishing",
        "description": "Reporte de prueba hostil.",
        "indicators": [
            {"kind": "url", "value": f"https://fuzz-{index}.example/x", "role": "phishing"}
        ],
    }


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _random_bytes(rng: random.Random, i: int) -> bytes:
    return rng.randbytes(rng.randint(0, 512))


def _truncated(rng: random.Random, i: int) -> bytes:
    raw = _dumps(base_event(i))
    return raw[: rng.randint(0, len(raw) - 1)]


def _deep(rng: random.Random, i: int) -> bytes:
    depth = rng.choice((17, 100, 5000, 20000))
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    return opener * depth + b"1" + closer * depth


def _huge(rng: random.Random, i: int) -> bytes:
    event = base_event(i)
    size = rng.choice((MAX_EVENT_BYTES - 600, MAX_EVENT_BYTES + 1, 3 * MAX_EVENT_BYTES))
    if rng.random() < 0.5:
        event["description"] = "d" * size
    else:
        event["indicators"] = [
            {"kind": "domain", "value": f"d{n}.example"} for n in range(size // 40)
        ]
    return _dumps(event)


def _bad_text(rng: random.Random, i: int) -> bytes:
    raw = _dumps(base_event(i))
    choice = rng.randrange(4)
    if choice == 0:
        return raw.replace(b"Sitio", b"Sit\xff\xfeio")  # invalid UTF-8
    if choice == 1:
        return raw.replace(b"Sitio", b"Sit\\ud800io")  # lone surrogate escape
    if choice == 2:
        return raw.replace(b"Sitio", b"Sit\xed\xa0\x80io")  # encoded surrogate
    return b"\xef\xbb\xbf" + raw  # a byte-order mark


def _non_finite(rng: random.Random, i: int) -> bytes:
    literal = rng.choice((b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"))
    return _dumps(base_event(i)).replace(b'"confidence":80', b'"confidence":' + literal)


def _duplicate_keys(rng: random.Random, i: int) -> bytes:
    field = rng.choice(("tlp", "event_id", "severity"))
    raw = _dumps(base_event(i))
    return raw[:-1] + b',"' + field.encode() + b'":"red"}'


def _huge_number(rng: random.Random, i: int) -> bytes:
    digits = b"9" * rng.choice((20, 400, 4500))
    return _dumps(base_event(i)).replace(b'"confidence":80', b'"confidence":' + digits)


def _wrong_type(rng: random.Random, i: int) -> bytes:
    event = base_event(i)
    field = FIELDS[i % len(FIELDS)]
    event[field] = WRONG_VALUES[rng.randrange(len(WRONG_VALUES))]
    if rng.random() < 0.3:
        event["indicators"] = [rng.choice(WRONG_VALUES)]
    return _dumps(event)


def _stress_indicators(rng: random.Random, i: int) -> bytes:
    event = base_event(i)
    kinds = sorted(INDICATOR_KINDS)
    event["indicators"] = [
        {
            "kind": kind,
            "value": rng.choice(STRESS_VALUES.get(kind, ("?",))),
            "role": "phishing",
        }
        for kind in rng.sample(kinds, k=min(len(kinds), rng.randint(1, 8)))
    ]
    return _dumps(event)


def _bad_timestamp(rng: random.Random, i: int) -> bytes:
    stamp = rng.choice(
        (
            "2026-01-10T10:30:0*-05:00",
            "2026-01-1*T10:30:00Z",
            "2026-02-30T10:30:00Z",
            "2026-01-10T24:00:00Z",
            "2026-01-10T10:30:00+24:00",
            "2026-01-10 10:30:00",
            "+12026-01-10T10:30:00Z",
        )
    )
    return _dumps({**base_event(i), rng.choice(("reported_at", "occurred_at")): stamp})


def _spoofed_reporter(rng: random.Random, i: int) -> bytes:
    return _dumps({**base_event(i), "reporter": rng.choice(("bcp", "claro", "pcm-cnsd"))})


FAMILIES: dict[str, Callable[[random.Random, int], bytes]] = {
    "random-bytes": _random_bytes,
    "bad-timestamp": _bad_timestamp,
    "truncated": _truncated,
    "deep": _deep,
    "huge": _huge,
    "bad-text": _bad_text,
    "non-finite": _non_finite,
    "duplicate-keys": _duplicate_keys,
    "huge-number": _huge_number,
    "wrong-type": _wrong_type,
    "stress-indicators": _stress_indicators,
    "spoofed-reporter": _spoofed_reporter,
}


def hostile_records(rng: random.Random, count: int) -> list[tuple[str, bytes]]:
    """``count`` (family, raw record) pairs, cycling through every family in turn."""
    names = sorted(FAMILIES)
    return [(names[i % len(names)], FAMILIES[names[i % len(names)]](rng, i)) for i in range(count)]


@st.composite
def _family_bytes(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(sorted(FAMILIES)))
    seed = draw(st.integers(0, 2**32 - 1))
    index = draw(st.integers(0, 10_000))
    return FAMILIES[name](random.Random(seed), index)


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)


@st.composite
def _mutated_event(draw: st.DrawFn) -> bytes:
    """A valid event with some fields replaced by arbitrary JSON (any type, any value)."""
    event = base_event(draw(st.integers(0, 999)))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        event[field] = draw(_json)
    if draw(st.booleans()):
        event["indicators"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(sorted(INDICATOR_KINDS)),
                        "value": st.text(min_size=1, max_size=300),
                    }
                ),
                max_size=6,
            )
        )
    # the standard library writes what orjson refuses: huge integers, NaN, lone surrogates
    text = json.dumps(event, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


def hostile_bytes() -> st.SearchStrategy[bytes]:
    """Every family, arbitrary JSON in every field, and unconstrained bytes."""
    return st.one_of(_family_bytes(), _mutated_event(), st.binary(max_size=2048))
