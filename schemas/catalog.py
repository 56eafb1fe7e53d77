"""Where the contract's files are: the JSON Schemas (one per payload kind) and the example
events in ``examples/``. Read-only; callers get fresh copies they may change."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import orjson

# Payload kinds, each with a ``<kind>.v1.json`` schema beside this module.
KINDS = (
    "incident-event",
    "receipt",
    "alert",
    "delivery",
    "normalized-incident",
    "dlq-ingest",
    "dlq-delivery",
)


@cache
def _schema_bytes(kind: str) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown payload kind {kind!r}; expected one of {', '.join(KINDS)}")
    return resources.files(__package__).joinpath(f"{kind}.v1.json").read_bytes()


def load_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a payload kind (a new dict on every call)."""
    return orjson.loads(_schema_bytes(kind))


def example_events() -> dict[str, bytes]:
    """The example incident events, ``file stem -> raw bytes``, sorted by name."""
    folder = resources.files(__package__).joinpath("examples")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return {f.name.removesuffix(".json"): f.read_bytes() for f in files}
