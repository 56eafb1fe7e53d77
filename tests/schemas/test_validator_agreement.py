"""jsonschema-rs (the verdict on the hot path) and python jsonschema (the explanation) agree.

Documents come from the schemas themselves: hypothesis-jsonschema generates every leaf (ids
with patterns, RFC 3339 date-times, enums, bounded strings, numbers) and the objects and
arrays around them are assembled here (hypothesis-jsonschema rebuilds nested object
strategies on every draw, which is too slow for thousands of cases). Invalid documents are
valid ones with one mutation: a key dropped or added, a value replaced by arbitrary JSON, a
string nudged (trailing newline, case, length), a near-miss date-time, a number out of range.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from confianza.schemas.catalog import KINDS, load_schema
from confianza.schemas.taxonomy import RSIT
from confianza.schemas.validate import (
    Rejection,
    encode,
    fast_validator,
    is_date_time,
    is_valid_event,
    slow_validator,
    validate_event,
)

Strategy = st.SearchStrategy[Any]

# The same set of instances as the schema's classification (an if/then per class), written
# as one alternative per class so that generation needs no filtering.
_CLASSIFICATION = st.one_of(
    [
        st.fixed_dictionaries({"class": st.just(name), "type": st.sampled_from(list(rc.types))})
        for name, rc in RSIT.items()
    ]
)


def _documents(schema: dict[str, Any], defs: dict[str, Any]) -> Strategy:
    """Valid instances of ``schema``: structure here, leaves from hypothesis-jsonschema."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return _CLASSIFICATION if name == "classification" else _documents(defs[name], defs)
    kind = schema.get("type")
    if kind == "object":
        props = {k: _documents(v, defs) for k, v in schema["properties"].items()}
        required = {k: props[k] for k in schema["required"]}
        optional = {k: s for k, s in props.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "array":
        return st.lists(
            _documents(schema["items"], defs),
            max_size=min(schema["maxItems"], 4),
            unique=bool(schema.get("uniqueItems")),
        )
    leaf = {k: v for k, v in schema.items() if k != "description"}
    return from_schema(leaf)


def _valid(kind: str) -> Strategy:
    schema = load_schema(kind)
    return _documents(schema, schema.get("$defs", {}))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
_NEAR_DATE_TIME = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,3})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?\n?",
    fullmatch=True,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _nudged_string(draw: Callable[[Strategy], Any], text: str) -> Any:
    return draw(
        st.sampled_from(
            [
                text + "\n",
                " " + text,
                text.upper(),
                text[:-1],
                text + "x" * 200,
                text * 40,
                "",
            ]
        )
        | _NEAR_DATE_TIME
    )


@st.composite
def _mutated(draw: Callable[[Strategy], Any], valid: Strategy) -> Any:
    doc = draw(valid)
    path = draw(st.sampled_from(_paths(doc)))
    if not path:
        return draw(_JSON)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last, current = path[-1], parent[path[-1]]
    operation = draw(st.sampled_from(["drop", "add", "replace", "nudge"]))
    if operation == "drop":
        del parent[last]
    elif operation == "add" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=10))] = draw(_JSON)
    elif operation == "nudge" and isinstance(current, str):
        parent[last] = _nudged_string(draw, current)
    elif operation == "nudge" and isinstance(current, int | float):
        parent[last] = draw(st.sampled_from([-1, 101, 1.5, 50.0, True, 10**6, "50"]))
    else:
        parent[last] = draw(_JSON)
    return doc


def _agree(kind: str, doc: Any) -> bool:
    fast = fast_validator(kind).is_valid(doc)
    slow = slow_validator(kind).is_valid(doc)
    assert fast == slow, (kind, doc, list(slow_validator(kind).iter_errors(doc)))
    if kind == "incident-event":  # the hot path's split form of the same schema
        assert is_valid_event(doc) == fast, doc
    return fast


AGREEMENT = settings(
    max_examples=1200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_validators_agree_on_incident_events() -> None:
    """At least 2,000 events, both valid and invalid ones, over two runs."""
    counts: Counter[str] = Counter()
    valid = _valid("incident-event")

    @AGREEMENT
    @given(valid)
    def valid_events(doc: Any) -> None:
        counts["valid" if _agree("incident-event", doc) else "invalid"] += 1

    @AGREEMENT
    @given(_mutated(valid))
    def mutated_events(doc: Any) -> None:
        verdict = _agree("incident-event", doc)
        counts["valid" if verdict else "invalid"] += 1
        try:
            raw = encode(doc)
        except TypeError:  # e.g. an integer beyond 64 bits: not sendable as JSON here
            return
        assert isinstance(validate_event(raw), Rejection) is not verdict

    valid_events()
    mutated_events()
    assert counts["valid"] >= 1000, counts
    assert counts["invalid"] >= 800, counts
    assert counts.total() >= 2000, counts


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "incident-event"])
def test_validators_agree_on_other_payloads(kind: str) -> None:
    counts: Counter[bool] = Counter()
    valid = _valid(kind)

    @settings(AGREEMENT, max_examples=60)
    @given(st.one_of(valid, _mutated(valid)))
    def check(doc: Any) -> None:
        counts[_agree(kind, doc)] += 1

    check()
    assert counts[True] > 0, counts
    assert counts[False] > 0, counts


def test_generated_valid_events_survive_the_wire() -> None:
    """What the schema allows, validate_event accepts from bytes (orjson and json spellings)."""

    @settings(AGREEMENT, max_examples=150)
    @given(_valid("incident-event"))
    def check(doc: Any) -> None:
        assert validate_event(encode(doc)) == doc
        pretty = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
        assert validate_event(pretty) == doc

    check()


def test_date_time_rule_matches_jsonschema_rs() -> None:
    schema = {"type": "string", "format": "date-time"}
    rust = jsonschema_rs.validator_for(schema, validate_formats=True)

    @settings(AGREEMENT, max_examples=500)
    @given(_NEAR_DATE_TIME | st.text(max_size=40) | from_schema(schema))
    def check(text: str) -> None:
        assert rust.is_valid(text) == is_date_time(text), text

    check()
