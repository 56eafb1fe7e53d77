"""Converters: turn a partner's existing documents (CSV, MISP events, STIX 2.1 bundles) into
incident events.

A converter is called by ``confianza send`` (or by a partner's own code) with the parsed input
and an ``EventDefaults`` for the fields the source format cannot express. It yields, in input
order, ``Converted`` items (an event document, not yet validated: validation happens once, on
the encoded bytes, exactly as the server does it) and ``Unsupported`` items (something in the
input that could not be carried over, with the reason). A converter never drops anything
silently: every attribute, object, tag or pattern it does not convert becomes an
``Unsupported`` item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confianza.schemas.taxonomy import is_rsit_pair
from confianza.schemas.tlp import Tlp

MAX_INDICATORS = 50
TITLE_MAX = 200
DESCRIPTION_MAX = 4000

Event = dict[str, Any]


@dataclass(frozen=True)
class Classification:
    """An RSIT class and type (``fraud`` / ``phishing``)."""

    rsit_class: str
    rsit_type: str

    def as_dict(self) -> dict[str, str]:
        return {"class": self.rsit_class, "type": self.rsit_type}


DEFAULT_CLASSIFICATION = Classification("other", "undetermined")


@dataclass(frozen=True)
class EventDefaults:
    """Event fields a source format cannot express, chosen by the person converting.

    ``sector`` is the affected sector (usually the partner's own); ``reported_at`` is the
    time of reporting (now, unless pinned for reproducible output).
    """

    sector: str | None = None
    classification: Classification = DEFAULT_CLASSIFICATION
    tlp: Tlp = Tlp.AMBER
    severity: str = "medium"
    confidence: int = 50
    reported_at: datetime | None = None

    def reported(self) -> str:
        return rfc3339(self.reported_at or datetime.now(UTC))


@dataclass(frozen=True)
class Converted:
    """One event produced from the input; ``where`` locates its source for messages."""

    where: str
    event: Event


@dataclass(frozen=True)
class Unsupported:
    """Something in the input that is not carried into any event, and why."""

    where: str
    reason: str


ConverterItem = Converted | Unsupported


@dataclass
class IndicatorSet:
    """The indicators of one event in input order, without exact repeats.

    ``add`` returns False for a repeat of a ``(kind, value)`` already present, so the caller
    can report it instead of losing it silently.
    """

    items: list[dict[str, str]] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, kind: str, value: str, role: str) -> bool:
        key = (kind, value)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.items.append({"kind": kind, "value": value, "role": role})
        return True

    def chunks(self) -> list[list[dict[str, str]]]:
        """The indicators cut into pieces of at most ``MAX_INDICATORS`` (one per event)."""
        if not self.items:
            return [[]]
        return [
            self.items[i : i + MAX_INDICATORS] for i in range(0, len(self.items), MAX_INDICATORS)
        ]


def rfc3339(moment: datetime) -> str:
    """``2025-05-02T14:03:00Z`` (UTC, seconds, or milliseconds when present)."""
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_events(
    base: Event, indicators: IndicatorSet, event_id: str, where: str
) -> Iterable[Converted]:
    """``base`` with its indicators, split into parts of ``MAX_INDICATORS``.

    The first part keeps ``event_id``; later parts get ``<event_id>-p2``, ``-p3``…, so
    sending the same document again produces the same ids (the server dedupes them).
    """
    chunks = indicators.chunks()
    for number, chunk in enumerate(chunks, start=1):
        event = dict(base)
        event["event_id"] = event_id if number == 1 else f"{event_id}-p{number}"
        event["indicators"] = chunk
        label = where if len(chunks) == 1 else f"{where} (part {number} of {len(chunks)})"
        yield Converted(label, event)


RSIT_TAG_PREFIXES = ("rsit:", "ecsirt:")

# eCSIRT (the predecessor of the RSIT) names whose RSIT successor has another name.
_ECSIRT_TO_RSIT: dict[tuple[str, str], tuple[str, str]] = {
    ("malicious-code", "virus"): ("malicious-code", "infected-system"),
    ("malicious-code", "worm"): ("malicious-code", "infected-system"),
    ("malicious-code", "trojan"): ("malicious-code", "infected-system"),
    ("malicious-code", "spyware"): ("malicious-code", "infected-system"),
    ("malicious-code", "dialer"): ("malicious-code", "infected-system"),
    ("malicious-code", "rootkit"): ("malicious-code", "infected-system"),
    ("malicious-code", "malware"): ("malicious-code", "infected-system"),
    ("malicious-code", "ransomware"): ("malicious-code", "infected-system"),
    ("malicious-code", "botnet-drone"): ("malicious-code", "infected-system"),
    ("malicious-code", "c&c"): ("malicious-code", "c2-server"),
    ("intrusions", "bot"): ("intrusions", "system-compromise"),
    ("intrusions", "compromised"): ("intrusions", "system-compromise"),
    ("intrusions", "backdoor"): ("intrusions", "system-compromise"),
    ("intrusions", "defacement"): ("intrusions", "application-compromise"),
    ("fraud", "unauthorized-use-of-resources"): ("fraud", "unauthorised-use-of-resources"),
    ("vulnerable", "vulnerable-service"): ("vulnerable", "vulnerable-system"),
    ("other", "blacklist"): ("other", "other"),
    ("other", "unknown"): ("other", "undetermined"),
}


def classification_from_tag(tag: str) -> Classification | None:
    """The RSIT classification named by a machine tag, or None if the tag names none.

    Reads ``rsit:fraud="phishing"`` and the older ``ecsirt:malicious-code="ransomware"``
    (translated to its RSIT successor). Raises ValueError for an rsit/ecsirt tag whose
    class/type is not in the RSIT, so the caller can report it.
    """
    lowered = tag.strip().lower()
    namespace = next((p for p in RSIT_TAG_PREFIXES if lowered.startswith(p)), None)
    if namespace is None:
        return None
    body = lowered.removeprefix(namespace)
    rsit_class, sep, rsit_type = body.partition("=")
    rsit_type = rsit_type.strip().strip('"').strip()
    rsit_class = rsit_class.strip()
    if not sep or not rsit_type:
        raise ValueError(f"tag {tag!r} names an RSIT class without a type")
    if namespace == "ecsirt:":
        rsit_class, rsit_type = _ECSIRT_TO_RSIT.get(
            (rsit_class, rsit_type), (rsit_class, rsit_type)
        )
    if not is_rsit_pair(rsit_class, rsit_type):
        raise ValueError(f"tag {tag!r} is not an RSIT class/type")
    return Classification(rsit_class, rsit_type)
