"""Deduplication on (reporter, event_id), and what an accepted event turns into.

Called by the events stage for every candidate (keyed by event uid, which is a function of
reporter and event_id, so the uid is the dedupe key). The stage keeps one entry per uid in a
windowed table whose windows expire after the dedupe TTL. ``decide()`` is pure:

- no entry: the event is **accepted** — receipt, normalized incident, sighting;
- an entry written by this very record (same topic, partition, offset): the record is being
  processed again after a crash or rebalance — the same accepted receipt and outputs are
  produced again (identical bytes; every downstream stage is idempotent by uid);
- an entry from another record: a **duplicate** — a receipt naming the first uid, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """What the events stage emits for one candidate, and the dedupe entry to store."""

    status: str
    receipt: dict[str, Any]
    entry: dict[str, Any] | None = None
    incident: dict[str, Any] | None = None


def receipt_for(
    doc: Mapping[str, Any], status: str, first_uid: str | None = None
) -> dict[str, Any]:
    """The receipt of a valid record (accepted or duplicate)."""
    return {
        "partner": doc["reporter"],
        "event_id": doc["event"]["event_id"],
        "event_uid": doc["uid"],
        "status": status,
        "errors": [],
        "warnings": doc["warnings"] if status == "accepted" else [],
        "first_uid": first_uid,
        **doc["source"],
        "received_at": doc["received_at"],
    }


def incident_for(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The normalized incident published on ``incidents.v1``."""
    return {
        "event_uid": doc["uid"],
        "event_id": doc["event"]["event_id"],
        "reporter": doc["reporter"],
        "reporter_sector": doc["reporter_sector"],
        "received_at": doc["received_at"],
        "event": doc["event"],
        "indicators": doc["indicators"],
    }


def decide(doc: Mapping[str, Any], entry: Mapping[str, Any] | None) -> Decision:
    """Accepted, accepted again (same record replayed), or duplicate."""
    if entry is None or entry["source"] == doc["source"]:
        return Decision(
            "accepted",
            receipt_for(doc, "accepted"),
            entry={"source": dict(doc["source"])},
            incident=incident_for(doc),
        )
    return Decision("duplicate", receipt_for(doc, "duplicate", first_uid=doc["uid"]))
