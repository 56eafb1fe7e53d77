"""The committed schema files are the generated ones, well formed, and every example
event satisfies them."""

from __future__ import annotations

import re

import orjson
import pytest
from jsonschema import Draft202012Validator

from confianza.schemas import generate
from confianza.schemas.catalog import KINDS, load_schema
from confianza.schemas.indicators import normalize_all
from confianza.schemas.taxonomy import RSIT
from confianza.schemas.validate import validate_event


@pytest.mark.parametrize("kind", KINDS)
def test_committed_schema_is_generated(kind: str) -> None:
    from importlib import resources

    committed = resources.files("confianza.schemas").joinpath(f"{kind}.v1.json").read_bytes()
    assert committed == generate.render(kind), "run: python -m confianza.schemas.generate"


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _walk(node: object):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("kind", KINDS)
def test_every_object_closed_and_every_string_bounded(kind: str) -> None:
    for node in _walk(load_schema(kind)):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, node
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "string" in types and "format" not in node:
            assert "maxLength" in node or "pattern" in node, node
        if "array" in types:
            assert "maxItems" in node, node


@pytest.mark.parametrize("kind", KINDS)
def test_patterns_are_portable(kind: str) -> None:
    """Anchored ^...$ with explicit ASCII classes: \\d and \\w mean different things in
    Rust, Python and ECMA-262 regular expressions."""
    for node in _walk(load_schema(kind)):
        if "pattern" in node:
            pattern = node["pattern"]
            assert pattern.startswith("^"), pattern
            assert pattern.endswith("$"), pattern
            assert not re.search(r"\\[dwsDWS]", pattern), pattern


def test_one_example_per_rsit_class(examples: dict[str, bytes]) -> None:
    classes = {orjson.loads(raw)["classification"]["class"] for raw in examples.values()}
    assert classes == set(RSIT)


def test_every_example_validates(examples: dict[str, bytes]) -> None:
    for name, raw in examples.items():
        result = validate_event(raw)
        assert isinstance(result, dict), (name, result)
        assert result == orjson.loads(raw)


def test_every_example_indicator_normalizes(examples: dict[str, bytes]) -> None:
    for name, raw in examples.items():
        event = orjson.loads(raw)
        valid, invalid = normalize_all(event["indicators"])
        assert invalid == [], name
        assert len(valid) == len(event["indicators"])


def test_examples_are_compact_enough_for_the_limit(examples: dict[str, bytes]) -> None:
    assert all(len(raw) < 4096 for raw in examples.values())
