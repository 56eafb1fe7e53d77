"""Helpers shared by the converter tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from confianza.producers.converters import Converted, ConverterItem, Unsupported
from confianza.schemas.validate import Rejection, encode, validate_event


def split(items: Iterable[ConverterItem]) -> tuple[list[Converted], list[Unsupported]]:
    """Converted events and unsupported items, each in input order; every event must be valid."""
    events: list[Converted] = []
    unsupported: list[Unsupported] = []
    for item in items:
        if isinstance(item, Converted):
            verdict = validate_event(encode(item.event))
            assert not isinstance(verdict, Rejection), (item.where, verdict)
            events.append(item)
        else:
            unsupported.append(item)
    return events, unsupported


def indicators(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["kind"], i["value"], i["role"]) for i in event["indicators"]]


def reasons(unsupported: list[Unsupported]) -> list[str]:
    return [f"{u.where}: {u.reason}" for u in unsupported]
