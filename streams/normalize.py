"""Indicators as correlation sees them: warning-list matching, linkability, the sighting.

Called by the events stage for every accepted event: ``sighting()`` turns the event and its
canonical indicators (already normalized by ``confianza.schemas.indicators`` at ingest) into
the one compact message the campaign stage joins into the campaign graph. An indicator on a
warning list or with an excluded role never links campaigns (``link_keys``), but it is still
reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from confianza.streams.score import ScoringConfig

HOST_KINDS = ("url", "domain", "email")


@dataclass(frozen=True)
class WarningLists:
    """Compiled warning lists: host suffixes and exact values, each with its list's name."""

    hosts: Mapping[str, str]
    values: Mapping[str, str]

    @classmethod
    def from_config(cls, cfg: ScoringConfig) -> WarningLists:
        hosts: dict[str, str] = {}
        values: dict[str, str] = {}
        for name, wl in cfg.warning_lists.items():
            for host in wl.hosts:
                hosts.setdefault(host, name)
            for phone in wl.phones:
                values.setdefault(f"phone:{phone}", name)
            for value in wl.values:
                values.setdefault(value, name)
        return cls(hosts, values)

    def match(self, indicator: Mapping[str, Any]) -> str | None:
        """The warning list an indicator is on, or None.

        Host-like kinds match a listed host and any of its sub-domains; other kinds match the
        canonical key (``phone:+51...``) or the canonical value exactly.
        """
        name = self.values.get(indicator["key"]) or self.values.get(indicator["value"])
        if name is not None:
            return name
        host = host_of(indicator["kind"], indicator["value"])
        while host:
            name = self.hosts.get(host)
            if name is not None:
                return name
            _, _, host = host.partition(".")
        return None


def host_of(kind: str, value: str) -> str | None:
    """The host name inside a url, domain or email indicator (lower case), else None."""
    if kind == "domain":
        return value.lower().rstrip(".")
    if kind == "email":
        return value.rpartition("@")[2].lower().rstrip(".") or None
    if kind == "url":
        try:
            host = urlsplit(value).hostname
        except ValueError:
            return None
        return host.rstrip(".") if host else None
    return None


def annotate(
    indicators: Iterable[Mapping[str, Any]], lists: WarningLists, exclude_roles: Iterable[str]
) -> list[dict[str, Any]]:
    """Copy each canonical indicator with ``listed`` (list name or None) and ``links``."""
    excluded = set(exclude_roles)
    out = []
    seen: set[str] = set()
    for ind in indicators:
        if ind["key"] in seen:  # the same indicator twice in one event counts once
            continue
        seen.add(ind["key"])
        listed = lists.match(ind)
        out.append(
            {
                "kind": ind["kind"],
                "value": ind["value"],
                "key": ind["key"],
                "role": ind["role"],
                "listed": listed,
                "links": listed is None and ind["role"] not in excluded,
            }
        )
    return out


def sighting(
    incident: Mapping[str, Any], annotated: list[dict[str, Any]], seen_at: float
) -> dict[str, Any] | None:
    """The event's sighting for the campaign stage: the event summary, its link keys and every
    indicator, or None for an event without indicators (it can join no campaign)."""
    if not annotated:
        return None
    event = incident["event"]
    return {
        "uid": incident["event_uid"],
        "reporter": incident["reporter"],
        "reporter_sector": incident["reporter_sector"],
        "sector": event["sector"],
        "tlp": event["tlp"],
        "reported_at": event["reported_at"],
        "class": event["classification"]["class"],
        "type": event["classification"]["type"],
        "severity": event["severity"],
        "confidence": event["confidence"],
        "seen_at": seen_at,
        "link_keys": [a["key"] for a in annotated if a["links"]],
        "indicators": [
            {"key": a["key"], "kind": a["kind"], "value": a["value"], "listed": a["listed"]}
            for a in annotated
        ],
    }
