"""The ground truth of a simulation: which events belong to which campaign.

Written by ``confianza simulate --truth FILE`` before the first record is sent (it is the plan,
fixed by the seed and the start time) and read by ``confianza eval --truth FILE``. Format
(JSON, UTF-8)::

    {
      "seed": 7,                               # the --seed of the run
      "start": "2025-06-03T12:00:00Z",         # time of the first possible send (offset 0)
      "partners": [{"partner": "bcp", "sector": "banking"}, ...],   # who took part
      "campaigns": [
        {
          "id": "campaign-01-phishing",
          "kind": "phishing",                  # phishing | smishing | sim-swap |
                                               # mule-accounts | malware
          "target": "BCP",                     # the brand (or gob.pe) it imitates
          "indicators": [{"kind": "url", "value": "https://bcp-zonasegura.online/login"}, ...],
          "events": [{"partner": "bcp", "event_id": "sim-1a2b3c4d-bcp-000003"}, ...],
          "first_event_at": "2025-06-03T12:00:04.250Z"   # reported_at of its first event
        }
      ],
      "noise_events": [{"partner": "claro", "event_id": "sim-1a2b3c4d-claro-000001"}, ...],
      "malformed": 12,                         # records sent raw that the server must reject
      "oversize": 2,                           # records over the 64 KiB event limit
      "duplicates": [{"partner": "bcp", "event_id": "..."}]   # second sends of an event
    }

Campaign ``indicators`` are every malicious value its events carry, in the canonical form of
``confianza.schemas.indicators`` (the events themselves often spell them differently:
``hxxps://…[.]…``, ``987 654 321``, ``CCI 002-…``). Every campaign event shares at least one
of them with an earlier event of the same campaign, and events are reported by 2 to 5
partners of at least two sectors. Noise events share no indicator with anything; official
domains a report may name as the victim (``role: victim``) are in no list. ``events`` and
``noise_events`` list each event once; a duplicate send appears only in ``duplicates``.
Malformed and oversized records belong to no campaign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True)
class EventRef:
    """One event, as the server identifies it: the reporter and its event id."""

    partner: str
    event_id: str


@dataclass
class CampaignTruth:
    """One planned campaign and every event that belongs to it."""

    id: str
    kind: str
    target: str
    indicators: list[tuple[str, str]] = field(default_factory=list)
    events: list[EventRef] = field(default_factory=list)
    first_event_at: str = ""


@dataclass
class GroundTruth:
    """Everything an evaluation needs to know about one simulation."""

    seed: int
    start: str
    partners: list[tuple[str, str]]
    campaigns: list[CampaignTruth] = field(default_factory=list)
    noise_events: list[EventRef] = field(default_factory=list)
    malformed: int = 0
    oversize: int = 0
    duplicates: list[EventRef] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document described in the module docstring."""

        def refs(items: list[EventRef]) -> list[dict[str, str]]:
            return [{"partner": r.partner, "event_id": r.event_id} for r in items]

        return {
            "seed": self.seed,
            "start": self.start,
            "partners": [{"partner": p, "sector": s} for p, s in self.partners],
            "campaigns": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "target": c.target,
                    "indicators": [{"kind": k, "value": v} for k, v in c.indicators],
                    "events": refs(c.events),
                    "first_event_at": c.first_event_at,
                }
                for c in self.campaigns
            ],
            "noise_events": refs(self.noise_events),
            "malformed": self.malformed,
            "oversize": self.oversize,
            "duplicates": refs(self.duplicates),
        }

    def write(self, path: Path) -> None:
        """Write the ground truth as indented JSON (atomically: a reader never sees half)."""
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        partial.replace(path)
