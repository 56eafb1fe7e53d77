"""Plan a simulation: every record, when it is sent, by whom, and the ground truth.

``generate(config)`` is pure and deterministic: the same ``SimulationConfig`` (seed and start
time included) gives the same records byte for byte and the same ground truth, without
touching Kafka; the same seed with another start time changes only the clock and the run id
in the event ids. Benchmarks and tests iterate the returned ``Traffic`` directly (``for partner,
payload, *_ in generate(config)``); ``confianza simulate`` sends it with one ``Reporter`` per
partner, pacing each record to its ``at`` offset.

Composition of ``round(rate * duration)`` records: the ``malformed``, ``oversize`` and
``duplicates`` fractions first; of the remaining well-formed events, ``noise`` is the fraction
of background incidents (each with indicators nobody else reports) and the rest belong to the
``campaigns`` cross-sector campaigns (see ``campaigns``). Malformed and oversized records are
raw bytes meant to be sent without validation: the server must reject them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from confianza.producers.converters import rfc3339
from confianza.producers.simulate.campaigns import KINDS, Campaign, indicator_sets, new_campaign
from confianza.producers.simulate.malformed import malformed_payload, oversize_payload
from confianza.producers.simulate.roster import SimPartner, first_partners
from confianza.producers.simulate.stories import NOISE_KINDS, Story, campaign_story, noise_story
from confianza.producers.simulate.truth import CampaignTruth, EventRef, GroundTruth
from confianza.producers.simulate.values import Values, spell
from confianza.schemas.topics import PARTNER_ID
from confianza.schemas.validate import encode

_TLPS = ("clear", "green", "amber", "amber+strict", "red")
_TLP_WEIGHTS = {
    "banking": (5, 30, 45, 15, 5),
    "telecom": (10, 40, 40, 8, 2),
    "justice": (0, 10, 40, 25, 25),
    "government": (25, 40, 30, 5, 0),
    "other": (20, 40, 30, 10, 0),
}


class ConfigError(ValueError):
    """The configuration cannot produce the traffic asked for; the message names the option."""


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate (the options of ``confianza simulate``)."""

    partners: int = 14
    rate: float = 10.0
    duration: float = 60.0
    campaigns: int = 5
    noise: float = 0.6
    seed: int = 1
    malformed: float = 0.02
    oversize: float = 0.005
    duplicates: float = 0.03
    start: datetime | None = None  # offset 0; None: now
    partner_prefix: str = ""  # partner ids become <prefix><roster id> (isolated test runs)

    def roster(self) -> tuple[SimPartner, ...]:
        """The partners taking part, with the prefix applied to their ids."""
        return tuple(
            replace(p, id=f"{self.partner_prefix}{p.id}") for p in first_partners(self.partners)
        )

    def counts(self) -> dict[str, int]:
        """Records of each kind: total, malformed, oversize, duplicates, campaign, noise."""
        total = max(1, round(self.rate * self.duration))
        malformed = round(total * self.malformed)
        oversize = round(total * self.oversize)
        duplicates = round(total * self.duplicates)
        valid = total - malformed - oversize - duplicates
        campaign = round(valid * (1 - self.noise)) if self.campaigns else 0
        return {
            "total": total,
            "malformed": malformed,
            "oversize": oversize,
            "duplicates": min(duplicates, valid),
            "campaign": campaign,
            "noise": valid - campaign,
        }

    def check(self) -> None:
        """Raise ``ConfigError`` for any option out of range or traffic that cannot exist."""
        if self.rate <= 0 or self.duration <= 0:
            raise ConfigError("--rate and --duration must be positive")
        for name in ("noise", "malformed", "oversize", "duplicates"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"--{name} is a fraction between 0 and 1")
        if self.malformed + self.oversize + self.duplicates >= 1:
            raise ConfigError("--malformed + --oversize + --duplicates must stay below 1")
        if self.campaigns < 0:
            raise ConfigError("--campaigns cannot be negative")
        try:
            partners = self.roster()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for partner in partners:
            if not PARTNER_ID.match(partner.id):
                raise ConfigError(
                    f"--partner-prefix {self.partner_prefix!r} makes the invalid partner id "
                    f"{partner.id!r} (2-40 lower-case letters, digits or '-')"
                )
        counts = self.counts()
        if self.campaigns and counts["campaign"] < 2 * self.campaigns:
            raise ConfigError(
                f"{self.campaigns} campaigns need at least {2 * self.campaigns} campaign events "
                f"(each is reported by two partners or more), but rate x duration x (1 - noise) "
                f"gives {counts['campaign']}: raise --rate or --duration, or lower --noise"
            )


class SimRecord(NamedTuple):
    """One record to send: ``partner`` and ``payload`` bytes first, then its schedule.

    ``kind`` is event, duplicate, malformed or oversize; ``event`` is the event dict for the
    first two (send it with ``Reporter.send``) and None for raw records (``send_raw``).
    """

    partner: str
    payload: bytes
    at: float
    kind: str
    event_id: str | None
    event: dict[str, Any] | None


@dataclass
class _Slot:
    """A record before ids are assigned: when, who, what."""

    at: float
    partner: SimPartner
    kind: str
    build: Any = None  # (campaign, items, active_since) | (noise kind, indicators) | None
    original: _Slot | None = None
    event_id: str = ""
    event: dict[str, Any] | None = None


@dataclass
class Traffic:
    """A planned simulation: iterate it for the records (in send order); ``truth`` says
    which events belong to which campaign."""

    config: SimulationConfig
    start: datetime
    truth: GroundTruth
    slots: list[_Slot]
    run_id: str

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[SimRecord]:
        for index, slot in enumerate(self.slots):
            if slot.event is not None:
                yield SimRecord(
                    slot.partner.id,
                    encode(slot.event),
                    slot.at,
                    slot.kind,
                    slot.event_id,
                    slot.event,
                )
                continue
            rng = random.Random(f"{self.config.seed}:{index}")
            make = malformed_payload if slot.kind == "malformed" else oversize_payload
            payload = make(rng, self._raw_base(slot, rng))
            yield SimRecord(slot.partner.id, payload, slot.at, slot.kind, slot.event_id, None)

    def _raw_base(self, slot: _Slot, rng: random.Random) -> dict[str, Any]:
        story = noise_story(rng.choice(NOISE_KINDS), slot.partner.brand, rng)
        return _event(
            slot.event_id,
            self.start,
            slot.at,
            3600.0,
            slot.partner.sector,
            story,
            rng,
            [],
            slot.partner.sector,
        )


def _event(
    event_id: str,
    start: datetime,
    at: float,
    delay: float,
    sector: str,
    story: Story,
    rng: random.Random,
    indicators: list[dict[str, str]],
    reporter_sector: str,
) -> dict[str, Any]:
    reported = start + timedelta(seconds=at)
    return {
        "event_id": event_id,
        "occurred_at": rfc3339(reported - timedelta(seconds=delay)),
        "reported_at": rfc3339(reported),
        "classification": {"class": story.rsit_class, "type": story.rsit_type},
        "tlp": rng.choices(_TLPS, weights=_TLP_WEIGHTS[reporter_sector])[0],
        "severity": story.severity,
        "confidence": rng.randint(50, 95),
        "sector": sector,
        "asset": {"type": story.asset_type, "name": story.asset_name},
        "title": story.title,
        "description": story.description,
        "indicators": indicators,
    }


def _victim_domain(partner: SimPartner, rng: random.Random) -> list[dict[str, str]]:
    """Sometimes a bank names its own official site as the target: a value on the center's
    warning list, with role victim, which must never link reports."""
    if partner.sector == "banking" and rng.random() < 0.25:
        return [{"kind": "domain", "value": partner.official_domain, "role": "victim"}]
    return []


def _noise_indicators(kind: str, partner: SimPartner, values: Values) -> list[dict[str, str]]:
    rng = values.rng
    found: list[tuple[str, str, str]] = []
    if kind in ("scanner", "brute-force", "account"):
        found = [("ipv4", values.ipv4(), "attacker") for _ in range(rng.randint(1, 3))]
    elif kind == "ddos":
        found = [("ipv4", values.ipv4(), "attacker") for _ in range(rng.randint(3, 6))]
    elif kind == "phishing":
        domain = values.lookalike_domain(partner.brand)
        found = [
            ("url", values.url(values.host_on(domain, partner.brand)), "phishing"),
            ("domain", domain, "phishing"),
        ]
    elif kind == "spam":
        found = [("email", values.email(values.lookalike_domain(partner.brand)), "sender")]
    elif kind == "infected":
        found = [("sha256", values.file_hash("sha256"), "payload")]
        if rng.random() < 0.5:
            found.append(("ipv4", values.ipv4(), "c2"))
    elif kind == "data-leak" and rng.random() < 0.5:
        found = [("domain", values.lookalike_domain(partner.brand), "exfiltration")]
    elif kind == "scam-call":
        found = [("phone", values.mobile(), "scam-contact")]
    written = [{"kind": k, "value": spell(rng, k, v), "role": r} for k, v, r in found]
    return written + _victim_domain(partner, rng)


def _spread(rng: random.Random, total: int, minimums: list[int]) -> list[int]:
    """``total`` split into parts of at least ``minimums`` each, the rest at random."""
    parts = list(minimums)
    weights = [rng.random() + 0.2 for _ in parts]
    for _ in range(total - sum(parts)):
        parts[rng.choices(range(len(parts)), weights=weights)[0]] += 1
    return parts


def generate(config: SimulationConfig) -> Traffic:
    """Every record of the simulation and its ground truth (see the module docstring)."""
    config.check()
    rng = random.Random(config.seed)
    start = (config.start or datetime.now(UTC)).astimezone(UTC)
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    run_id = f"{random.Random(f'{config.seed}:{start.isoformat()}').getrandbits(32):08x}"
    partners = config.roster()
    counts = config.counts()
    values = Values(rng)
    duration = config.duration
    slots: list[_Slot] = []

    kinds = list(KINDS)
    rng.shuffle(kinds)
    campaigns: list[Campaign] = []
    wanted = [min(rng.randint(2, 5), len(partners)) for _ in range(config.campaigns)]
    while sum(wanted) > counts["campaign"]:
        wanted[wanted.index(max(wanted))] -= 1
    sizes = _spread(rng, counts["campaign"], wanted) if config.campaigns else []
    for number in range(config.campaigns):
        kind = kinds[number % len(kinds)]
        campaign = new_campaign(number + 1, kind, partners, wanted[number], values)
        campaigns.append(campaign)
        begin = rng.uniform(0, 0.4 * duration)
        end = rng.uniform(begin + 0.3 * duration, duration)
        times = sorted(rng.uniform(begin, end) for _ in range(sizes[number]))
        reporters = list(campaign.reporters)
        rng.shuffle(reporters)
        reporters += [rng.choice(campaign.reporters) for _ in range(sizes[number] - len(reporters))]
        active_since = begin - rng.uniform(3600, 72 * 3600)
        for at, partner, items in zip(
            times, reporters, indicator_sets(campaign, sizes[number], rng), strict=True
        ):
            slots.append(_Slot(at, partner, "event", (campaign, items, active_since)))
    for _ in range(counts["noise"]):
        partner = rng.choice(partners)
        kind = rng.choice(NOISE_KINDS)
        slots.append(
            _Slot(
                rng.uniform(0, duration),
                partner,
                "event",
                (kind, _noise_indicators(kind, partner, values)),
            )
        )
    originals = rng.sample(slots, counts["duplicates"])
    for original in originals:
        slots.append(
            _Slot(
                rng.uniform(original.at, duration), original.partner, "duplicate", original=original
            )
        )
    for kind in ("malformed", "oversize"):
        for _ in range(counts[kind]):
            slots.append(_Slot(rng.uniform(0, duration), rng.choice(partners), kind))
    slots.sort(key=lambda s: s.at)

    truth = GroundTruth(config.seed, rfc3339(start), [(p.id, p.sector) for p in partners])
    by_campaign = {c.id: CampaignTruth(c.id, c.kind, c.target) for c in campaigns}
    for c in campaigns:
        by_campaign[c.id].indicators = [(i.kind, i.value) for i in c.pool]
    sequence: dict[str, int] = {}
    for slot in slots:
        if slot.kind == "duplicate":
            continue
        sequence[slot.partner.id] = sequence.get(slot.partner.id, 0) + 1
        slot.event_id = f"sim-{run_id}-{slot.partner.id}-{sequence[slot.partner.id]:06d}"
    for slot in slots:
        if slot.kind == "duplicate" and slot.original is not None:
            slot.event_id, slot.event = slot.original.event_id, slot.original.event
            truth.duplicates.append(EventRef(slot.partner.id, slot.event_id))
        elif slot.kind == "event":
            slot.event = _build(slot, start, rng)
            ref = EventRef(slot.partner.id, slot.event_id)
            if isinstance(slot.build[0], Campaign):
                entry = by_campaign[slot.build[0].id]
                entry.events.append(ref)
                entry.first_event_at = entry.first_event_at or slot.event["reported_at"]
            else:
                truth.noise_events.append(ref)
    truth.campaigns = list(by_campaign.values())
    truth.malformed = counts["malformed"]
    truth.oversize = counts["oversize"]
    return Traffic(config, start, truth, slots, run_id)


def _build(slot: _Slot, start: datetime, rng: random.Random) -> dict[str, Any]:
    """The event dict of a planned (campaign or noise) event."""
    partner = slot.partner
    if isinstance(slot.build[0], Campaign):
        campaign, items, active_since = slot.build
        story = campaign_story(campaign.kind, partner.sector, campaign.target, rng)
        indicators = [
            {"kind": i.kind, "value": spell(rng, i.kind, i.value), "role": i.role} for i in items
        ] + _victim_domain(partner, rng)
        sector = (
            partner.sector if partner.sector in ("banking", "telecom") else (campaign.target_sector)
        )
        delay = rng.uniform(60.0, max(120.0, slot.at - active_since))
        return _event(
            slot.event_id, start, slot.at, delay, sector, story, rng, indicators, partner.sector
        )
    kind, indicators = slot.build
    story = noise_story(kind, partner.brand, rng)
    delay = rng.uniform(300.0, 48 * 3600.0)
    return _event(
        slot.event_id, start, slot.at, delay, partner.sector, story, rng, indicators, partner.sector
    )
