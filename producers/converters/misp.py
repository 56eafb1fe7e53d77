"""MISP events (the MISP core format) to incident events.

Accepts what MISP exports and its API returns: ``{"Event": {...}}``, a bare event object, a
list of those, or a search result ``{"response": [...]}``. Each MISP event becomes one incident
event with ``event_id = "misp-<event uuid>"`` (split into ``-p2``, ``-p3``… parts beyond 50
indicators).

Mapping, field by field:

- attributes, and the attributes of objects, become indicators by MISP type (``url``,
  ``domain``, ``hostname``, ``ip-src``/``ip-dst`` (IPv4 or IPv6), ``email-*``,
  ``phone-number``, ``iban``, ``bank-account-nr``, ``btc``/``xmr``/``dash``, ``md5``/``sha1``/
  ``sha256``, and the composites ``domain|ip``, ``ip-dst|port``, ``hostname|port``,
  ``filename|<hash>``, ``malware-sample``); every other type, a network range, a deleted
  attribute, a galaxy cluster, an event report or a proposal is listed as unsupported;
- TLP: the most restrictive ``tlp:*`` tag on the event or a converted attribute (``tlp:white``
  reads as ``clear``; ``tlp:clear`` and ``tlp:amber+strict`` as themselves). Without any TLP
  tag, the most restrictive distribution level decides: 0 your organisation only ->
  ``amber+strict``, 1 this community only and 4 sharing group -> ``amber``, 2 connected
  communities -> ``green``, 3 all communities -> ``clear``;
- classification: the first ``rsit:`` or ``ecsirt:`` tag, else the default (``--class`` /
  ``--type``);
- severity: ``threat_level_id`` 1 high, 2 medium, 3 low, 4 (undefined) the default;
- ``occurred_at`` from ``date`` (midnight UTC), else ``timestamp``; title and description
  from ``info`` (the title cut at 200 characters).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
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
    rfc3339,
    split_events,
)
from confianza.schemas.tlp import Tlp, most_restrictive, parse_tlp

_TYPES: dict[str, tuple[str, str]] = {
    "url": ("url", "unspecified"),
    "uri": ("url", "unspecified"),
    "domain": ("domain", "unspecified"),
    "hostname": ("domain", "unspecified"),
    "email": ("email", "unspecified"),
    "email-src": ("email", "sender"),
    "email-reply-to": ("email", "sender"),
    "email-dst": ("email", "victim"),
    "whois-registrant-email": ("email", "unspecified"),
    "phone-number": ("phone", "unspecified"),
    "whois-registrant-phone": ("phone", "unspecified"),
    "iban": ("iban", "mule-account"),
    "bank-account-nr": ("bank-account", "mule-account"),
    "btc": ("crypto-wallet", "mule-account"),
    "xmr": ("crypto-wallet", "mule-account"),
    "dash": ("crypto-wallet", "mule-account"),
    "md5": ("md5", "payload"),
    "sha1": ("sha1", "payload"),
    "sha256": ("sha256", "payload"),
}
_IP_ROLES = {"ip-src": "attacker", "ip-dst": "unspecified"}
# Composite types: which part of "a|b" is converted, and as what.
_COMPOSITES: dict[str, tuple[tuple[int, str], ...]] = {
    "domain|ip": ((0, "domain"), (1, "ip-dst")),
    "ip-dst|port": ((0, "ip-dst"),),
    "ip-src|port": ((0, "ip-src"),),
    "hostname|port": ((0, "hostname"),),
    "filename|md5": ((1, "md5"),),
    "filename|sha1": ((1, "sha1"),),
    "filename|sha256": ((1, "sha256"),),
    "malware-sample": ((1, "md5"),),
}
_DISTRIBUTION_TLP = {
    "0": Tlp.AMBER_STRICT,
    "1": Tlp.AMBER,
    "2": Tlp.GREEN,
    "3": Tlp.CLEAR,
    "4": Tlp.AMBER,
}
_THREAT_LEVEL = {"1": "high", "2": "medium", "3": "low"}


def looks_like_misp(document: Any) -> bool:
    """True for the shapes ``convert`` reads (used by format auto-detection)."""
    if isinstance(document, list):
        return bool(document) and all(looks_like_misp(d) for d in document)
    if not isinstance(document, dict):
        return False
    if isinstance(document.get("Event"), dict) or isinstance(document.get("response"), list):
        return True
    return "info" in document and ("Attribute" in document or "Object" in document)


def convert(document: Any, defaults: EventDefaults) -> Iterator[ConverterItem]:
    """Every MISP event in ``document`` as incident events, plus what could not be carried."""
    for number, event in enumerate(_events(document), start=1):
        if not isinstance(event, dict):
            yield Unsupported(f"MISP event #{number}", "not a JSON object")
            continue
        yield from _convert_event(event, number, defaults)


def _events(document: Any) -> Iterable[Any]:
    if isinstance(document, list):
        for item in document:
            yield from _events(item)
    elif isinstance(document, dict) and isinstance(document.get("response"), list):
        yield from _events(document["response"])
    elif isinstance(document, dict) and "Event" in document:
        yield document["Event"]
    else:
        yield document


def _tags(holder: dict[str, Any]) -> list[str]:
    """Tag names of an event, attribute or object (``Tag`` list or ``EventTag`` links)."""
    names: list[str] = []
    for tag in holder.get("Tag") or []:
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            names.append(tag["name"])
    for link in holder.get("EventTag") or []:
        tag = link.get("Tag") if isinstance(link, dict) else None
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            names.append(tag["name"])
    return names


class _EventState:
    """What is gathered while walking one MISP event."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.indicators = IndicatorSet()
        self.tlps: list[Tlp] = []
        self.distributions: list[Tlp] = []
        self.classification: Classification | None = None
        self.unsupported: list[Unsupported] = []

    def skip(self, where: str, reason: str) -> None:
        self.unsupported.append(Unsupported(where, reason))

    def read_tags(self, tags: list[str], where: str) -> None:
        ignored: list[str] = []
        for name in tags:
            lowered = name.strip().lower()
            if lowered.startswith("tlp:"):
                try:
                    self.tlps.append(parse_tlp(lowered))
                except ValueError:
                    ignored.append(name)
                continue
            try:
                found = classification_from_tag(name)
            except ValueError as exc:
                self.skip(where, f"{exc}; default classification kept")
                continue
            if found is None:
                ignored.append(name)
            elif self.classification is None:
                self.classification = found
            elif found != self.classification:
                self.skip(where, f"second classification tag {name!r} ignored (one per event)")
        if ignored:
            self.skip(where, "tags without an event field: " + ", ".join(ignored))

    def read_distribution(self, value: Any) -> None:
        level = _DISTRIBUTION_TLP.get(str(value))
        if level is not None:
            self.distributions.append(level)


def _convert_event(
    event: dict[str, Any], number: int, defaults: EventDefaults
) -> Iterator[ConverterItem]:
    ident = event.get("uuid") or event.get("id")
    where = f"MISP event {ident}" if ident else f"MISP event #{number}"
    if not isinstance(ident, str | int) or not str(ident).strip():
        yield Unsupported(where, "the event has no uuid or id, so it has no stable event_id")
        return
    state = _EventState(where)
    state.read_tags(_tags(event), where)
    state.read_distribution(event.get("distribution"))

    for index, attribute in enumerate(event.get("Attribute") or []):
        _read_attribute(state, attribute, f"{where} attribute {index + 1}", obj=None)
    for o_index, obj in enumerate(event.get("Object") or []):
        if not isinstance(obj, dict):
            state.skip(f"{where} object {o_index + 1}", "not a JSON object")
            continue
        o_where = f"{where} object {o_index + 1} ({obj.get('name', '?')})"
        if _is_true(obj.get("deleted")):
            state.skip(o_where, "deleted in MISP")
            continue
        state.read_distribution(obj.get("distribution"))
        for index, attribute in enumerate(obj.get("Attribute") or []):
            _read_attribute(state, attribute, f"{o_where} attribute {index + 1}", obj=obj)
    for galaxy in event.get("Galaxy") or []:
        for cluster in (galaxy or {}).get("GalaxyCluster") or []:
            state.skip(
                where,
                f"galaxy cluster {cluster.get('value', '?')!r} ({galaxy.get('type', '?')}) "
                "is context, not an event field",
            )
    for key, label in (("EventReport", "event report"), ("ShadowAttribute", "proposal")):
        for item in event.get(key) or []:
            name = item.get("name") or item.get("value") or "?"
            state.skip(where, f"{label} {name!r} is not converted")

    base = _base_event(event, state, defaults)
    yield from state.unsupported
    yield from split_events(base, state.indicators, f"misp-{str(ident).strip()}", where)


def _base_event(
    event: dict[str, Any], state: _EventState, defaults: EventDefaults
) -> dict[str, Any]:
    if state.tlps:
        tlp = most_restrictive(*state.tlps)
    elif state.distributions:
        tlp = most_restrictive(*state.distributions)
    else:
        tlp = defaults.tlp
    classification = state.classification or defaults.classification
    base: dict[str, Any] = {
        "occurred_at": _occurred_at(event) or defaults.reported(),
        "reported_at": defaults.reported(),
        "classification": classification.as_dict(),
        "tlp": str(tlp),
        "severity": _THREAT_LEVEL.get(str(event.get("threat_level_id")), defaults.severity),
        "confidence": defaults.confidence,
    }
    if defaults.sector is not None:
        base["sector"] = defaults.sector
    info = event.get("info")
    if isinstance(info, str) and info.strip():
        base["title"] = clip(info, TITLE_MAX)
        base["description"] = clip(info, DESCRIPTION_MAX)
    else:
        base["description"] = f"{state.where} (no info text)."
    return base


def _occurred_at(event: dict[str, Any]) -> str | None:
    date = event.get("date")
    if isinstance(date, str):
        try:
            day = datetime.strptime(date.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            return rfc3339(day)
    stamp = event.get("timestamp")
    if isinstance(stamp, str | int) and str(stamp).isdigit():
        return rfc3339(datetime.fromtimestamp(int(stamp), UTC))
    return None


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _read_attribute(
    state: _EventState, attribute: Any, where: str, obj: dict[str, Any] | None
) -> None:
    if not isinstance(attribute, dict):
        state.skip(where, "not a JSON object")
        return
    a_type = str(attribute.get("type", ""))
    value = attribute.get("value")
    where = f"{where} ({a_type or 'no type'})"
    if _is_true(attribute.get("deleted")):
        state.skip(where, "deleted in MISP")
        return
    if not isinstance(value, str) or not value.strip():
        state.skip(where, "no value")
        return
    parts: tuple[tuple[str, str], ...]
    if a_type in _COMPOSITES:
        pieces = value.split("|")
        if len(pieces) != 2:
            state.skip(where, f"composite value {value!r} is not 'a|b'")
            return
        parts = tuple((pieces[i].strip(), t) for i, t in _COMPOSITES[a_type])
    else:
        parts = ((value.strip(), a_type),)
    converted = False
    for part_value, part_type in parts:
        converted |= _add(state, part_value, part_type, attribute, obj, where)
    if converted:
        state.read_tags(_tags(attribute), where)
        state.read_distribution(attribute.get("distribution"))


def _add(
    state: _EventState,
    value: str,
    a_type: str,
    attribute: dict[str, Any],
    obj: dict[str, Any] | None,
    where: str,
) -> bool:
    if a_type in _IP_ROLES:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            state.skip(where, f"{value!r} is not an IP address")
            return False
        if network.num_addresses != 1:
            state.skip(where, f"{value!r} is a network range, not one address")
            return False
        address = network.network_address
        kind = "ipv4" if address.version == 4 else "ipv6"
        return _keep(state, kind, str(address), _IP_ROLES[a_type], where)
    if a_type not in _TYPES:
        state.skip(where, f"MISP type {a_type!r} has no indicator kind")
        return False
    kind, role = _TYPES[a_type]
    category = str(attribute.get("category", ""))
    if obj is not None and obj.get("name") == "phishing" and kind in {"url", "domain"}:
        role = "phishing"
    elif kind == "url" and category == "Payload delivery":
        role = "malware-distribution"
    elif kind == "phone" and category == "Financial fraud":
        role = "scam-contact"
    return _keep(state, kind, value, role, where)


def _keep(state: _EventState, kind: str, value: str, role: str, where: str) -> bool:
    if not state.indicators.add(kind, value, role):
        state.skip(where, f"repeats the {kind} {value!r} already in the event")
        return False
    return True
