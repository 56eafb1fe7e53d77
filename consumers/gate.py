"""The TLP gate: what of an alert one subscriber may see. Applied before anything is sent.

``gate(alert, subscriber)`` is a pure function, called once per (alert version, subscriber) by
the delivery worker and again by ``confianza replay`` (with the subscriptions then in force).
An evidence event is disclosed when its TLP is within the subscriber's ``tlp_clearance`` and
the sharing rule of that TLP admits the subscriber (docs/DESIGN.md, "TLP gate"):

- clear: anyone, public channels included;
- green: registered partners and the center (not the ``public`` audience);
- amber: subscribers of the reporter's sector, and the center;
- amber+strict: the reporting organization itself, and the center;
- red: center analysts (``audience: center`` with ``analyst: true``) only.

An indicator is disclosed when at least one disclosed event reported it, and it lists only
disclosed event uids. Reporters are those of disclosed events. Reasons and the title are
generated text; any that mentions a withheld indicator, event uid or reporter is removed (the
title falls back to one built from the classification). Fields the gate does not know are
dropped: the gate fails closed. When no evidence remains, the answer is ``None``: nothing is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confianza.consumers.subscriptions import Subscriber
from confianza.schemas.tlp import Tlp, rank_of

PASSED_FIELDS = (
    "alert_id",
    "version",
    "transition",
    "severity",
    "score",
    "classification",
    "sectors",
    "first_seen",
    "last_seen",
    "emitted_at",
)


@dataclass(frozen=True)
class GatedAlert:
    """The alert as one subscriber may see it, and what it discloses (for the ledger)."""

    alert: dict[str, Any]
    disclosed_event_uids: tuple[str, ...]
    disclosed_indicator_keys: tuple[str, ...]

    @property
    def alert_id(self) -> str:
        return str(self.alert["alert_id"])

    @property
    def version(self) -> int:
        return int(self.alert["version"])


def tlp_rank(tlp: str) -> int:
    """Rank of a TLP level (clear 0 … red 4); unknown levels rank above red."""
    rank = rank_of(tlp)
    return len(Tlp) if rank is None else rank


def may_see(evidence: Mapping[str, Any], subscriber: Subscriber) -> bool:
    """True when this subscriber is cleared for this evidence event."""
    tlp = evidence.get("tlp")
    rank = rank_of(tlp) if isinstance(tlp, str) else None
    if rank is None or rank > tlp_rank(subscriber.tlp_clearance):
        return False
    center = subscriber.audience == "center"
    if tlp == "clear":
        return True
    if tlp == "green":
        return subscriber.audience != "public"
    if tlp == "amber":
        return center or (
            subscriber.sector is not None and subscriber.sector == evidence.get("sector")
        )
    if tlp == "amber+strict":
        return center or (
            subscriber.organization is not None
            and subscriber.organization == evidence.get("reporter")
        )
    return center and subscriber.analyst


def _mentions(text: str, values: Iterable[str], words: Iterable[str]) -> bool:
    if any(v and v in text for v in values):
        return True
    return any(w and re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text) for w in words)


def _fallback_title(alert: Mapping[str, Any]) -> str:
    classification = alert.get("classification") or {}
    kind = classification.get("type") or classification.get("class") or "incidente"
    return f"Alerta de {kind}"


def gate(alert: Mapping[str, Any], subscriber: Subscriber) -> GatedAlert | None:
    """The part of ``alert`` this subscriber is cleared for, or None if nothing remains."""
    evidence = [e for e in alert.get("evidence") or () if isinstance(e, Mapping)]
    shown = [dict(e) for e in evidence if may_see(e, subscriber)]
    if not shown:
        return None
    shown_uids = {str(e["event_uid"]) for e in shown}
    withheld_uids = {str(e.get("event_uid")) for e in evidence} - shown_uids
    shown_reporters = {str(e.get("reporter")) for e in shown}
    withheld_reporters = {str(e.get("reporter")) for e in evidence} - shown_reporters

    indicators: list[dict[str, Any]] = []
    withheld_values: set[str] = set()
    for indicator in alert.get("indicators") or ():
        uids = [u for u in indicator.get("event_uids") or () if u in shown_uids]
        if uids:
            indicators.append({**indicator, "event_uids": uids})
        else:
            withheld_values.update(
                str(indicator[f]) for f in ("value", "key") if indicator.get(f) is not None
            )
    for indicator in indicators:
        withheld_values.discard(str(indicator.get("value")))
        withheld_values.discard(str(indicator.get("key")))
    secrets = withheld_values | withheld_uids

    out: dict[str, Any] = {f: alert[f] for f in PASSED_FIELDS if f in alert}
    out["reporters"] = [r for r in alert.get("reporters") or () if r in shown_reporters]
    out["evidence"] = shown
    out["indicators"] = indicators
    out["reasons"] = [
        dict(r)
        for r in alert.get("reasons") or ()
        if not (
            _mentions(str(r.get("detail", "")), secrets, withheld_reporters)
            or _mentions(str(r.get("rule", "")), secrets, withheld_reporters)
        )
    ]
    title = str(alert.get("title") or "")
    out["title"] = (
        title
        if title and not _mentions(title, secrets, withheld_reporters)
        else _fallback_title(alert)
    )
    return GatedAlert(
        alert=out,
        disclosed_event_uids=tuple(sorted(shown_uids)),
        disclosed_indicator_keys=tuple(
            sorted({str(i.get("key") or i.get("value")) for i in indicators})
        ),
    )
