"""STIX 2.1 bundles to incident events.

Which events a bundle yields:

- every ``report`` and ``grouping``: one event with the indicators it references
  (``event_id = "stix-<report id>"``; title and description from the object, ``occurred_at``
  from ``published`` or the earliest ``valid_from``);
- every ``sighting`` of an indicator in the bundle: one event with that indicator's values
  (``stix-<sighting id>``; ``occurred_at`` from ``first_seen``);
- the indicators neither referenced by a report/grouping nor sighted: one event for the bundle
  (``stix-<bundle id>``).

Indicator values come from ``pattern_type: stix`` patterns that are equality comparisons (see
``stix_pattern``); hashes get the role ``payload``, other values ``unspecified``. TLP is the most
restrictive marking among the event's objects, from the TLP 1.0 marking definitions (white is
read as clear) and the TLP 2.0 ones (the fixed ids of the TLP 2.0 extension, or any
``marking-definition`` whose content says which level it is); without a marking, the default.
Classification: an ``rsit:``/``ecsirt:`` label on the report, sighting or indicators, else the
default. Confidence: the report's or sighting's ``confidence``, else the highest of its
indicators', else the default.

Every object that ends up in no event (malware, attack patterns, relationships, observed data,
indicators with other pattern languages or unsupported patterns, statement markings…) is
listed as unsupported with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confianza.producers.converters import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Classification,
    ConverterItem,
    EventDefaults,
    IndicatorSet,
    Unsupported,
    classification_from_tag,
    clip,
    split_events,
)
from confianza.producers.converters.stix_pattern import UnsupportedPattern, indicators
from confianza.schemas.tlp import Tlp, most_restrictive, parse_tlp

TLP_MARKINGS: dict[str, Tlp] = {
    # TLP 1.0, defined in the STIX 2.1 specification.
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
    # TLP 2.0, defined with the STIX TLP 2.0 extension.
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}
_HASH_KINDS = {"md5", "sha1", "sha256"}
_CONTEXT_TYPES = {
    "identity", "malware", "attack-pattern", "campaign", "intrusion-set", "threat-actor",
    "tool", "vulnerability", "infrastructure", "course-of-action", "location", "note",
    "opinion", "malware-analysis", "relationship", "observed-data",
}  # fmt: skip
_OBSERVABLE_TYPES = {
    "url", "domain-name", "ipv4-addr", "ipv6-addr", "email-addr", "file", "network-traffic",
    "email-message", "artifact", "autonomous-system", "mac-addr", "process", "software",
    "user-account", "windows-registry-key", "x509-certificate", "directory", "mutex",
}  # fmt: skip
# Objects that describe the format itself, not the incident.
_FORMAT_TYPES = {"extension-definition", "language-content"}


def looks_like_stix(document: Any) -> bool:
    """True for a STIX bundle (used by format auto-detection)."""
    return isinstance(document, dict) and document.get("type") == "bundle"


@dataclass
class _Indicator:
    """A converted indicator object: its values, TLP and the labels that may classify it."""

    obj: dict[str, Any]
    values: list[tuple[str, str]]
    used: bool = False


@dataclass
class _Bundle:
    """The bundle's objects by id, with markings and indicators already read."""

    defaults: EventDefaults
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    markings: dict[str, Tlp] = field(default_factory=dict)
    indicators: dict[str, _Indicator] = field(default_factory=dict)
    unsupported: list[Unsupported] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)

    def skip(self, where: str, reason: str) -> None:
        self.unsupported.append(Unsupported(where, reason))

    def tlp_of(self, obj: dict[str, Any]) -> list[Tlp]:
        refs = list(obj.get("object_marking_refs") or [])
        refs += [g.get("marking_ref") for g in obj.get("granular_markings") or []]
        levels = []
        for ref in refs:
            if ref in self.markings:
                levels.append(self.markings[ref])
                self.consumed.add(ref)
        return levels


def convert(document: Any, defaults: EventDefaults) -> Iterator[ConverterItem]:
    """The events of one STIX 2.1 bundle, then everything it could not carry over."""
    bundle_id = str(document.get("id") or "bundle")
    where = f"STIX {bundle_id}"
    objects = document.get("objects")
    if not isinstance(objects, list):
        yield Unsupported(where, "the bundle has no objects list")
        return
    bundle = _Bundle(defaults)
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            bundle.skip(f"{where} object {index + 1}", "not a STIX object with an id")
            continue
        bundle.objects[obj["id"]] = obj
        if obj.get("type") in _FORMAT_TYPES:
            bundle.consumed.add(obj["id"])
    _read_markings(bundle)
    _read_indicators(bundle)

    for obj in bundle.objects.values():
        if obj.get("type") in {"report", "grouping"}:
            yield from _container_event(bundle, obj)
        elif obj.get("type") == "sighting":
            yield from _sighting_event(bundle, obj)
    loose = [i for i in bundle.indicators.values() if not i.used]
    if loose:
        yield from _loose_event(bundle, loose, bundle_id, where)
    for object_id, obj in bundle.objects.items():
        if object_id not in bundle.consumed:
            bundle.skip(object_id, _why_not(obj))
    yield from bundle.unsupported


def _why_not(obj: dict[str, Any]) -> str:
    kind = obj.get("type")
    if kind == "marking-definition":
        return "a marking definition that is not TLP (e.g. a statement) is not converted"
    if kind in _OBSERVABLE_TYPES:
        return "a cyber observable outside an indicator pattern is not converted"
    if kind == "sighting":
        return f"sighting of {obj.get('sighting_of_ref')}, which is no converted indicator"
    if kind in _CONTEXT_TYPES:
        return f"{kind} objects are context, not indicators; not converted"
    return f"STIX type {kind!r} is not converted"


def _marking_level(obj: dict[str, Any]) -> Tlp | None:
    if obj["id"] in TLP_MARKINGS:
        return TLP_MARKINGS[obj["id"]]
    definition = obj.get("definition") or {}
    candidates = [definition.get("tlp") if isinstance(definition, dict) else None]
    for extension in (obj.get("extensions") or {}).values():
        if isinstance(extension, dict):
            candidates.append(extension.get("tlp_2_0"))
    candidates.append(
        obj.get("name") if str(obj.get("name", "")).upper().startswith("TLP:") else None
    )
    for candidate in candidates:
        if isinstance(candidate, str):
            try:
                return parse_tlp(candidate)
            except ValueError:
                continue
    return None


def _read_markings(bundle: _Bundle) -> None:
    bundle.markings.update(TLP_MARKINGS)
    for obj in bundle.objects.values():
        if obj.get("type") == "marking-definition":
            level = _marking_level(obj)
            if level is not None:
                bundle.markings[obj["id"]] = level


def _read_indicators(bundle: _Bundle) -> None:
    for obj in bundle.objects.values():
        if obj.get("type") != "indicator":
            continue
        language = obj.get("pattern_type", "stix")
        if language != "stix":
            bundle.skip(obj["id"], f"pattern_type {language!r} is not converted (only stix)")
            bundle.consumed.add(obj["id"])
            continue
        pattern = obj.get("pattern")
        if not isinstance(pattern, str):
            bundle.skip(obj["id"], "the indicator has no pattern")
            bundle.consumed.add(obj["id"])
            continue
        try:
            values = indicators(pattern)
        except UnsupportedPattern as exc:
            bundle.skip(obj["id"], f"pattern {clip(pattern, 120)!r} not converted: {exc}")
            bundle.consumed.add(obj["id"])
            continue
        bundle.indicators[obj["id"]] = _Indicator(obj, values)


def _labels(*objects: dict[str, Any]) -> list[str]:
    return [label for obj in objects for label in obj.get("labels") or [] if isinstance(label, str)]


def _classification(bundle: _Bundle, where: str, *objects: dict[str, Any]) -> Classification:
    for label in _labels(*objects):
        try:
            found = classification_from_tag(label)
        except ValueError as exc:
            bundle.skip(where, f"{exc}; default classification kept")
            continue
        if found is not None:
            return found
    return bundle.defaults.classification


def _confidence(owner: dict[str, Any], members: list[_Indicator], default: int) -> int:
    if isinstance(owner.get("confidence"), int):
        return int(owner["confidence"])
    scores = [i.obj["confidence"] for i in members if isinstance(i.obj.get("confidence"), int)]
    return max(scores) if scores else default


def _event(
    bundle: _Bundle,
    owner: dict[str, Any] | None,
    members: list[_Indicator],
    occurred_at: str | None,
    title: str | None,
    description: str | None,
    where: str,
) -> tuple[dict[str, Any], IndicatorSet]:
    defaults = bundle.defaults
    owners = [owner] if owner is not None else []
    levels = [lvl for o in owners + [m.obj for m in members] for lvl in bundle.tlp_of(o)]
    found = IndicatorSet()
    for member in members:
        member.used = True
        bundle.consumed.add(member.obj["id"])
        for kind, value in member.values:
            if not found.add(kind, value, "payload" if kind in _HASH_KINDS else "unspecified"):
                bundle.skip(member.obj["id"], f"repeats the {kind} {value!r} already in {where}")
    starts = sorted(str(m.obj["valid_from"]) for m in members if m.obj.get("valid_from"))
    event: dict[str, Any] = {
        "occurred_at": occurred_at or (starts[0] if starts else defaults.reported()),
        "reported_at": defaults.reported(),
        "classification": _classification(
            bundle, where, *owners, *[m.obj for m in members]
        ).as_dict(),
        "tlp": str(most_restrictive(*levels)) if levels else str(defaults.tlp),
        "severity": defaults.severity,
        "confidence": _confidence(owner or {}, members, defaults.confidence),
    }
    if defaults.sector is not None:
        event["sector"] = defaults.sector
    if title:
        event["title"] = clip(title, TITLE_MAX)
    event["description"] = clip(description or title or f"Imported from {where}.", DESCRIPTION_MAX)
    return event, found


def _container_event(bundle: _Bundle, obj: dict[str, Any]) -> Iterator[ConverterItem]:
    where = f"STIX {obj['id']}"
    members = [bundle.indicators[r] for r in obj.get("object_refs") or [] if r in bundle.indicators]
    bundle.consumed.add(obj["id"])
    event, found = _event(
        bundle, obj, members, obj.get("published"), obj.get("name"), obj.get("description"), where
    )
    yield from split_events(event, found, f"stix-{obj['id']}", where)


def _sighting_event(bundle: _Bundle, obj: dict[str, Any]) -> Iterator[ConverterItem]:
    where = f"STIX {obj['id']}"
    target = bundle.indicators.get(obj.get("sighting_of_ref", ""))
    if target is None:
        return  # listed as unsupported with the other unconsumed objects
    bundle.consumed.add(obj["id"])
    name = target.obj.get("name") or target.obj["id"]
    count = obj.get("count")
    description = obj.get("description") or (
        f"Seen {count} times." if isinstance(count, int) and count > 1 else None
    )
    event, found = _event(
        bundle, obj, [target], obj.get("first_seen"), f"Sighting: {name}", description, where
    )
    yield from split_events(event, found, f"stix-{obj['id']}", where)


def _loose_event(
    bundle: _Bundle, loose: list[_Indicator], bundle_id: str, where: str
) -> Iterator[ConverterItem]:
    title = loose[0].obj.get("name") if len(loose) == 1 else f"{len(loose)} STIX indicators"
    description = loose[0].obj.get("description") if len(loose) == 1 else None
    event, found = _event(bundle, None, loose, None, title, description, where)
    yield from split_events(event, found, f"stix-{bundle_id}", where)
