"""Builders for incident events and sightings used across the streams tests."""

from __future__ import annotations

from typing import Any

import orjson

from confianza.streams.ingest import Record


def event(
    event_id: str,
    indicators: list[tuple[str, str, str]] | None = None,
    *,
    rsit: tuple[str, str] = ("fraud", "phishing"),
    severity: str = "high",
    confidence: int = 80,
    sector: str = "banking",
    tlp: str = "amber",
    reported_at: str = "2024-05-01T10:30:00-05:00",
    **extra: Any,
) -> dict[str, Any]:
    """A valid incident event v1; indicators as (kind, value, role)."""
    inds = (
        indicators
        if indicators is not None
        else [("url", "https://bcp-zonasegura.com/login", "phishing")]
    )
    return {
        "event_id": event_id,
        "occurred_at": "2024-05-01T10:00:00-05:00",
        "reported_at": reported_at,
        "classification": {"class": rsit[0], "type": rsit[1]},
        "tlp": tlp,
        "severity": severity,
        "confidence": confidence,
        "sector": sector,
        "description": "Reporte de prueba.",
        "indicators": [{"kind": k, "value": v, "role": r} for k, v, r in inds],
        **extra,
    }


def record(
    partner: str,
    value: bytes | dict[str, Any] | None,
    offset: int = 0,
    partition: int = 0,
    timestamp_ms: int = 1_714_577_400_000,
) -> Record:
    raw = orjson.dumps(value) if isinstance(value, dict) else value
    return Record(f"ingest.{partner}.v1", partition, offset, timestamp_ms, raw)


def sightings_of(
    partner: str, doc: dict[str, Any], sector: str = "banking", offset: int = 0
) -> list[dict[str, Any]]:
    """The sighting the events stage sends to the campaign stage for one event (as a list)."""
    from confianza.streams import dedupe, normalize
    from confianza.streams.ingest import Candidate, admit
    from confianza.streams.score import load_scoring

    cfg = load_scoring()
    outcome = admit(record(partner, doc, offset=offset), lambda p: sector)
    assert isinstance(outcome, Candidate), outcome
    decision = dedupe.decide(outcome.doc, None)
    annotated = normalize.annotate(
        outcome.doc["indicators"],
        normalize.WarningLists.from_config(cfg),
        cfg.correlation.exclude_roles,
    )
    found = normalize.sighting(decision.incident, annotated, outcome.doc["seen_at"])
    return [found] if found is not None else []


class Emitter:
    """Stands in for the broker: records alerts, acknowledges at increasing offsets."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.batches: list[int] = []

    async def __call__(self, batch: list[dict[str, Any]]) -> list[tuple[int, int]]:
        self.batches.append(len(batch))
        start = len(self.alerts)
        self.alerts.extend(batch)
        return [(0, start + i) for i in range(len(batch))]
