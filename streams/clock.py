"""Timestamps on the wire (RFC 3339, UTC, milliseconds) and as epoch seconds in state."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp with milliseconds."""
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def epoch(text: str) -> float:
    """An RFC 3339 timestamp (already validated by the contract) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
