"""Benchmark traffic from the simulator: what to send, when, and how to recognise it later.

``simulated(rate, duration, seed=..., start=...)`` plans ``rate * duration`` records with the
simulator's realistic mix (campaign and noise events with their indicators, about 3 %
duplicates, 2 % malformed and 0.5 % oversized records, every partner of the roster) and turns
them into a ``Schedule``: ``(offset, topic, key, value)`` in send order, where offset is the
simulator's own send time (random arrivals, not a metronome) and the key is the event id, as
the SDK sends it. The schedule also indexes the sends by event id and by event uid, so the
collector can tell, for a receipt or an alert, when the event behind it was due to be sent.
Campaigns are sized to about ``EVENTS_PER_CAMPAIGN`` events each.

``indicator_feed(template, indicators, rate, ...)`` fills the correlation state: events of
``FEED_PER_EVENT`` new file hashes each (a malware-sandbox feed), to reach a given number of
distinct indicators before a soak.

``replayed(pool, rate, duration, ...)`` sends the records of an earlier schedule again, cycling
through them at random times: the pass-through relay does not care whether an event is new, and
planning hundreds of thousands of fresh events for each of its steps would take longer than
the steps themselves.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from confianza.producers.simulate import SimulationConfig, generate
from confianza.producers.simulate.roster import first_partners
from confianza.schemas.topics import ingest_topic
from confianza.streams.ingest import event_uid

PARTNERS = 14
EVENTS_PER_CAMPAIGN = 30
FEED_PER_EVENT = 50
"""Indicators per feed event: the contract's maximum."""


def roster(partners: int = PARTNERS) -> list[tuple[str, str]]:
    """``(partner, sector)`` of the first ``partners`` simulated partners (to provision them)."""
    return [(p.id, p.sector) for p in first_partners(partners)]


@dataclass
class Schedule:
    """Records to send at ``start + offset`` and the index to match outputs to them."""

    start: float
    items: list[tuple[float, str, bytes, bytes]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    sends: dict[bytes, list[float]] = field(default_factory=lambda: defaultdict(list))
    uids: dict[str, float] = field(default_factory=dict)
    indicators: int = 0
    distinct_indicators: int = 0

    def __len__(self) -> int:
        return len(self.items)

    def rate_between(self, begin: float, end: float) -> float:
        """Records per second due between two Unix times."""
        due = sum(1 for offset, *_ in self.items if begin <= self.start + offset < end)
        return due / max(1e-9, end - begin)


def simulated(
    rate: float,
    duration: float,
    *,
    seed: int,
    start: float,
    topic: str | None = None,
    partners: int = PARTNERS,
) -> Schedule:
    """The simulator's traffic as a schedule; every record goes to ``topic`` when given
    (the pass-through), else to its partner's ingest topic."""
    total = max(1, round(rate * duration))
    campaigns = max(2, round(total * 0.4 / EVENTS_PER_CAMPAIGN))
    config = SimulationConfig(
        partners=partners,
        rate=rate,
        duration=duration,
        campaigns=campaigns,
        seed=seed,
        start=datetime.fromtimestamp(start, UTC),
    )
    traffic = generate(config)
    schedule = Schedule(start=traffic.start.timestamp())
    distinct: set[tuple[str, str]] = set()
    for record in traffic:
        key = (record.event_id or "").encode()
        schedule.items.append(
            (record.at, topic or ingest_topic(record.partner), key, record.payload)
        )
        schedule.kinds[record.kind] += 1
        schedule.sends[key].append(record.at)
        if record.event is not None:
            schedule.uids.setdefault(event_uid(record.partner, record.event_id), record.at)
            schedule.indicators += len(record.event["indicators"])
            distinct.update((i["kind"], i["value"]) for i in record.event["indicators"])
    schedule.distinct_indicators = len(distinct)
    return schedule


def indicator_feed(template: Schedule, indicators: int, rate: float, *, start: float) -> Schedule:
    """``indicators`` distinct sha256 values in events of ``FEED_PER_EVENT``, ``rate`` events/s
    from ``start``: malware-sandbox reports built on ``template``'s valid events (cycled, so
    every partner reports), each with a new event id and these indicators instead of its own."""
    bases = [(topic, event) for _, topic, _, value in template.items if (event := _event(value))]
    schedule = Schedule(start=start)
    for n in range(-(-indicators // FEED_PER_EVENT)):
        topic, base = bases[n % len(bases)]
        event_id = f"feed-{n}"
        first = n * FEED_PER_EVENT
        hashes = [
            hashlib.sha256(str(i).encode()).hexdigest()
            for i in range(first, min(indicators, first + FEED_PER_EVENT))
        ]
        event = {
            **base,
            "event_id": event_id,
            "classification": {"class": "malicious-code", "type": "infected-system"},
            "title": "Muestras de malware analizadas en el sandbox",
            "description": f"{len(hashes)} muestras nuevas del sandbox del reportante.",
            "indicators": [{"kind": "sha256", "value": h, "role": "payload"} for h in hashes],
        }
        offset = n / rate
        schedule.items.append((offset, topic, event_id.encode(), orjson.dumps(event)))
        schedule.sends[event_id.encode()].append(offset)
        schedule.indicators += len(hashes)
    schedule.kinds["feed"] = len(schedule.items)
    schedule.distinct_indicators = schedule.indicators
    return schedule


def _event(value: bytes) -> dict[str, Any] | None:
    """The event a record holds, or None for the simulator's malformed and oversized ones."""
    try:
        event = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and "indicators" in event else None


def replayed(
    pool: Schedule, rate: float, duration: float, *, seed: int, start: float, topic: str
) -> Schedule:
    """``rate * duration`` records of ``pool`` (cycled) at uniformly random times, to ``topic``."""
    rng = random.Random(seed)
    total = max(1, round(rate * duration))
    schedule = Schedule(start=start)
    for n, offset in enumerate(sorted(rng.uniform(0, duration) for _ in range(total))):
        _, _, key, value = pool.items[n % len(pool.items)]
        schedule.items.append((offset, topic, key, value))
        schedule.sends[key].append(offset)
    schedule.kinds["replayed"] = total
    return schedule
