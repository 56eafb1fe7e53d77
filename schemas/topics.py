"""Topic names and the declarative topic file (``topics.yaml`` beside this module).

Names are lower case, dot separated, with a version suffix. Partner topics are derived from
the partner id; ``PARTNER_ID`` is the only shape a partner id may take (no dots, so the ACL
prefix ``ingest.<id>.`` of one partner never matches another's topics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

INCIDENTS = "incidents.v1"
ALERTS = "alerts.v1"
DELIVERIES = "deliveries.v1"
DLQ_INGEST = "dlq.ingest.v1"
DLQ_DELIVERY = "dlq.delivery.v1"
PARTNERS = "partners.v1"

PARTNER_ID = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
INGEST_PATTERN = r"^ingest\.[a-z][a-z0-9-]{1,39}\.v1$"
_INGEST = re.compile(INGEST_PATTERN)


def ingest_topic(partner: str) -> str:
    return f"ingest.{partner}.v1"


def receipts_topic(partner: str) -> str:
    return f"receipts.{partner}.v1"


def partner_of(topic: str) -> str | None:
    """The partner id an ingest topic belongs to, or None for any other topic."""
    if not _INGEST.match(topic):
        return None
    return topic.split(".")[1]


@dataclass(frozen=True)
class TopicSpec:
    """One topic to provision: name, partitions and topic-level configuration."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    key: str = ""


@dataclass(frozen=True)
class TopicFile:
    """The parsed topic file: shared topics and the per-partner templates."""

    shared: tuple[TopicSpec, ...]
    per_partner: tuple[TopicSpec, ...]

    def for_partner(self, partner: str) -> list[TopicSpec]:
        return [
            TopicSpec(t.name.format(partner=partner), t.partitions, t.config, t.key)
            for t in self.per_partner
        ]


def _spec(entry: dict[str, Any]) -> TopicSpec:
    return TopicSpec(
        name=str(entry["name"]),
        partitions=int(entry["partitions"]),
        config={str(k): str(v) for k, v in (entry.get("config") or {}).items()},
        key=str(entry.get("key", "")),
    )


def load_topic_file(path: Path | None = None) -> TopicFile:
    """Read the topic file (the packaged one unless ``path`` is given)."""
    if path is None:
        text = resources.files(__package__).joinpath("topics.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return TopicFile(
        shared=tuple(_spec(e) for e in data["shared"]),
        per_partner=tuple(_spec(e) for e in data["per_partner"]),
    )
