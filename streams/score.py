"""Explainable, rule-based campaign scoring, configured by ``scoring.yaml``.

``load_scoring()`` is called once when the worker starts: it validates the YAML file (the
packaged one, or ``CONFIANZA_SCORING_FILE``) and raises ``ScoringConfigError`` with every
problem and its location, so a bad edit stops the worker instead of scoring nonsense.
``score_campaign()`` is a pure function of a campaign (see ``correlate``) and an evaluation
time: every rule that applies adds points and one human-readable reason, like Apache Metron's
threat-triage rules; the sum is clamped to 0..100 and decayed MISP-style.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from confianza.schemas.taxonomy import RSIT, SECTORS, SEVERITIES

Band = Literal["low", "medium", "high", "critical"]
BAND_ORDER: tuple[Band, ...] = ("low", "medium", "high", "critical")
DAY_S = 86400.0


class ScoringConfigError(ValueError):
    """The scoring file is unreadable or invalid; the message lists every problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Decay(_Strict):
    tau_days: float = Field(gt=0, le=3650)
    delta: float = Field(gt=0, le=10)


class DecayConfig(_Strict):
    default: Decay
    types: dict[str, Decay] = {}


class RsitPoints(_Strict):
    default: float = Field(ge=0, le=100)
    classes: dict[str, float] = {}
    types: dict[str, float] = {}


class PerStep(_Strict):
    max_points: float = Field(ge=0, le=100)


class Corroboration(PerStep):
    points_per_reporter: float = Field(ge=0, le=100)


class SectorSpread(PerStep):
    points_per_sector: float = Field(ge=0, le=100)


class Volume(PerStep):
    """Corroborated volume: events beyond ``from_events`` add points per doubling."""

    from_events: int = Field(ge=1, le=100_000)
    points_per_doubling: float = Field(ge=0, le=100)


class Reliability(_Strict):
    default: float = Field(ge=0, le=1)
    max_points: float = Field(ge=0, le=100)
    partners: dict[str, float] = {}

    @field_validator("partners")
    @classmethod
    def _in_unit_range(cls, value: dict[str, float]) -> dict[str, float]:
        for partner, reliability in value.items():
            if not 0 <= reliability <= 1:
                raise ValueError(f"reliability of {partner!r} must be between 0 and 1")
        return value


class WarningList(_Strict):
    description: str = Field(min_length=1)
    hosts: list[str] = []
    phones: list[str] = []
    values: list[str] = []

    @field_validator("hosts")
    @classmethod
    def _lower_hosts(cls, value: list[str]) -> list[str]:
        return [h.strip().lower().rstrip(".") for h in value]


class Correlation(_Strict):
    max_indicators_per_campaign: int = Field(ge=1, le=1000)
    max_evidence_per_campaign: int = Field(ge=1, le=1000)
    max_campaigns_per_indicator: int = Field(ge=1, le=100)
    max_event_uids_per_indicator: int = Field(ge=1, le=1000)
    idle_days: float = Field(gt=0, le=365)
    exclude_roles: list[str] = []


class ScoringConfig(_Strict):
    """The validated contents of ``scoring.yaml``."""

    version: Literal[1]
    bands: dict[Band, float]
    open_at: Band
    rsit: RsitPoints
    reported_severity: dict[str, float]
    corroboration: Corroboration
    sector_spread: SectorSpread
    volume: Volume = Volume(from_events=1, points_per_doubling=0, max_points=0)
    """Off unless configured, so a scoring file written before the rule keeps its scores."""
    sector_criticality: dict[str, float]
    reporter_reliability: Reliability
    decay: DecayConfig
    warning_lists: dict[str, WarningList] = {}
    correlation: Correlation

    @model_validator(mode="after")
    def _consistent(self) -> ScoringConfig:
        problems: list[str] = []
        if set(self.bands) != set(BAND_ORDER):
            problems.append(f"bands: give exactly {', '.join(BAND_ORDER)}")
        else:
            bounds = [self.bands[b] for b in BAND_ORDER]
            if bounds[0] != 0 or bounds != sorted(set(bounds)):
                problems.append("bands: low must be 0 and the bounds must strictly increase")
        all_types = {t for c in RSIT.values() for t in c.types}
        problems += [
            f"rsit.classes: unknown RSIT class {c!r}" for c in self.rsit.classes if c not in RSIT
        ]
        problems += [
            f"rsit.types: unknown RSIT type {t!r}" for t in self.rsit.types if t not in all_types
        ]
        problems += [
            f"decay.types: unknown RSIT type {t!r}" for t in self.decay.types if t not in all_types
        ]
        problems += [
            f"reported_severity: unknown severity {s!r}"
            for s in self.reported_severity
            if s not in SEVERITIES
        ]
        problems += [
            f"sector_criticality: unknown sector {s!r}"
            for s in self.sector_criticality
            if s not in SECTORS
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def band_of(self, score: float) -> Band:
        """The highest band whose lower bound ``score`` reaches."""
        band: Band = "low"
        for name in BAND_ORDER:
            if score >= self.bands[name]:
                band = name
        return band

    def decay_for(self, rsit_type: str) -> Decay:
        return self.decay.types.get(rsit_type, self.decay.default)


def band_rank(band: str) -> int:
    return BAND_ORDER.index(band)  # type: ignore[arg-type]


def load_scoring(path: Path | None = None) -> ScoringConfig:
    """Read and validate the scoring file; the packaged ``scoring.yaml`` when ``path`` is None."""
    where = str(path) if path is not None else "packaged scoring.yaml"
    try:
        if path is None:
            text = resources.files(__package__).joinpath("scoring.yaml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScoringConfigError(f"cannot read scoring file {where}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScoringConfigError(f"scoring file {where}: expected a mapping at the top level")
    try:
        return ScoringConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        raise ScoringConfigError(f"invalid scoring file {where}:\n" + "\n".join(lines)) from exc


@dataclass(frozen=True)
class Score:
    """The outcome of scoring a campaign at one moment."""

    score: float
    severity: Band
    reasons: tuple[dict[str, Any], ...]
    classification: dict[str, str]


def _reason(rule: str, points: float, detail: str) -> dict[str, Any]:
    return {"rule": rule, "points": round(points, 1), "detail": detail}


def dominant_classification(
    evidence: Mapping[str, Mapping[str, Any]], cfg: ScoringConfig
) -> dict[str, str]:
    """The RSIT class/type most evidence carries; ties go to the higher base points, then name."""
    counts = Counter((e["class"], e["type"]) for e in evidence.values())
    best = max(counts, key=lambda ct: (counts[ct], rsit_points(ct[0], ct[1], cfg), ct))
    return {"class": best[0], "type": best[1]}


def rsit_points(rsit_class: str, rsit_type: str, cfg: ScoringConfig) -> float:
    if rsit_type in cfg.rsit.types:
        return cfg.rsit.types[rsit_type]
    return cfg.rsit.classes.get(rsit_class, cfg.rsit.default)


def decay_factor(age_s: float, decay: Decay) -> float:
    """``1 - (t/tau)^(1/delta)`` for t in days, clamped to 0..1."""
    t = max(0.0, age_s) / DAY_S
    if t >= decay.tau_days:
        return 0.0
    return max(0.0, min(1.0, 1.0 - (t / decay.tau_days) ** (1.0 / decay.delta)))


def _volume_reason(events: int, extra_reporters: int, volume: Volume) -> dict[str, Any] | None:
    """Points for a corroborated campaign's size: ``points_per_doubling`` for each doubling of
    the event count beyond ``from_events``, capped. A single reporter's volume counts nothing:
    one partner repeating itself is not confirmation."""
    if extra_reporters < 1 or events <= volume.from_events or volume.points_per_doubling <= 0:
        return None
    doublings = math.log2(events / volume.from_events)
    points = round(min(volume.max_points, doublings * volume.points_per_doubling), 1)
    return _reason(
        "volume",
        points,
        f"{events} events from {extra_reporters + 1} reporters: "
        f"{doublings:.1f} doublings beyond {volume.from_events}",
    )


def score_campaign(campaign: Mapping[str, Any], at: float, cfg: ScoringConfig) -> Score:
    """Score a campaign (``correlate.Campaign`` shape) as of ``at`` (epoch seconds).

    Pure and deterministic: the same campaign and ``at`` always give the same score and
    reasons, which is what makes alert versions reproducible after a restart.
    """
    evidence: Mapping[str, Mapping[str, Any]] = campaign["evidence"]
    indicators: Mapping[str, Mapping[str, Any]] = campaign["indicators"]
    classification = dominant_classification(evidence, cfg)
    reasons: list[dict[str, Any]] = []

    base = rsit_points(classification["class"], classification["type"], cfg)
    reasons.append(
        _reason(
            "rsit-base",
            base,
            f"RSIT {classification['class']}/{classification['type']} base severity",
        )
    )

    hinted = [
        (cfg.reported_severity.get(e["severity"], 0.0) * e["confidence"] / 100.0, e)
        for e in evidence.values()
    ]
    hint_points, hint_event = max(hinted, key=lambda pe: pe[0])
    if hint_points > 0:
        reasons.append(
            _reason(
                "reported-severity",
                hint_points,
                f"{hint_event['reporter']} reported severity {hint_event['severity']} "
                f"with confidence {hint_event['confidence']}%",
            )
        )

    reporters = sorted({e["reporter"] for e in evidence.values()})
    extra = len(reporters) - 1
    if extra > 0:
        points = min(cfg.corroboration.max_points, extra * cfg.corroboration.points_per_reporter)
        reasons.append(
            _reason(
                "corroboration",
                points,
                f"{len(reporters)} distinct reporters: {', '.join(reporters[:10])}"
                + (" …" if len(reporters) > 10 else ""),
            )
        )

    reporter_sectors = sorted({e["reporter_sector"] for e in evidence.values()})
    if len(reporter_sectors) > 1:
        points = min(
            cfg.sector_spread.max_points,
            (len(reporter_sectors) - 1) * cfg.sector_spread.points_per_sector,
        )
        reasons.append(
            _reason(
                "sector-spread",
                points,
                f"reported from {len(reporter_sectors)} sectors: {', '.join(reporter_sectors)}",
            )
        )

    volume = _volume_reason(len(evidence) + campaign["overflow_events"], extra, cfg.volume)
    if volume is not None:
        reasons.append(volume)

    affected = sorted({e["sector"] for e in evidence.values()})
    critical_sector = max(affected, key=lambda s: (cfg.sector_criticality.get(s, 0.0), s))
    crit_points = cfg.sector_criticality.get(critical_sector, 0.0)
    if crit_points > 0:
        reasons.append(
            _reason(
                "sector-criticality",
                crit_points,
                f"affects {', '.join(affected)}; most critical: {critical_sector}",
            )
        )

    rel = cfg.reporter_reliability
    reliabilities = [rel.partners.get(r, rel.default) for r in reporters]
    mean_rel = sum(reliabilities) / len(reliabilities)
    reasons.append(
        _reason(
            "reporter-reliability",
            mean_rel * rel.max_points,
            f"mean reliability of the reporters {mean_rel:.2f}",
        )
    )

    total = max(0.0, min(100.0, sum(r["points"] for r in reasons)))

    listed = [i for i in indicators.values() if i.get("listed")]
    if indicators and len(listed) == len(indicators):
        lists = sorted({i["listed"] for i in listed})
        reasons.append(
            _reason(
                "warning-list",
                -total,
                f"every indicator is on a warning list ({', '.join(lists)}): suppressed",
            )
        )
        total = 0.0
    elif listed:
        reasons.append(
            _reason(
                "warning-list",
                0.0,
                f"{len(listed)} indicator(s) on a warning list ignored for correlation",
            )
        )

    decay = cfg.decay_for(classification["type"])
    age = at - float(campaign["last_seen"])
    factor = decay_factor(age, decay)
    decayed = total * factor
    reasons.append(
        _reason(
            "decay",
            decayed - total,
            f"last sighting {max(0.0, age) / 3600:.1f} h ago; tau {decay.tau_days:g} d, "
            f"delta {decay.delta:g}: factor {factor:.2f}",
        )
    )
    final = round(decayed, 1)
    return Score(final, cfg.band_of(final), tuple(reasons), classification)
