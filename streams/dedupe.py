"""Deduplication on (reporter, event_id), and what an accepted event turns into.

Called by the events stage for every candidate (keyed by event uid, which is a function of
reporter and event_id, so the uid is the dedupe key). The stage keeps one entry per uid in a
table keyed by the day of the record (its broker timestamp) and the uid (``entry_key``), and
looks for an entry in the day of the record and the ``TTL_DAYS`` before it
(``keys_to_check``). Whole days are dropped from the local store once no record can look
them up (``expire``), and from the changelog topic by its retention; so no per-key bookkeeping
is held in memory, however many events the TTL spans. ``decide()`` is pure:

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

from confianza.streams import stores
from confianza.streams.score import DAY_S

TTL_DAYS = 7
"""A record is a duplicate of one accepted on its own day or any of the 7 days before."""
KEEP_DAYS = TTL_DAYS + 2
"""Days a store and the changelog keep: the TTL, the record's own day, and a day of slack for
records that wait in a backlog."""


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


def day_of(timestamp_s: float) -> int:
    """The day number (days since the epoch, UTC) of a broker timestamp in seconds."""
    return int(timestamp_s // DAY_S)


def entry_key(day: int, uid: str) -> bytes:
    """The table key of an entry: zero-padded day first, so a store sorts entries by day."""
    return f"{day:06d}/{uid}".encode()


def keys_to_check(day: int, uid: str) -> list[bytes]:
    """Where an entry for ``uid`` may be, for a record of ``day``: newest day first."""
    return [entry_key(d, uid) for d in range(day, day - TTL_DAYS - 1, -1)]


def expire(store: Any, today: int) -> None:
    """Drop the entries of days before ``today - KEEP_DAYS`` from a table's local store.

    Called by a timer of every worker; local only (the changelog topic drops them by its
    retention, ``KEEP_DAYS``). Keys sort by day, so this is one range delete per partition
    database (``stores.delete_before``).
    """
    stores.delete_before(store, entry_key(today - KEEP_DAYS, ""))
