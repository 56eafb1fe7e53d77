"""Scoring rules, bands, decay and the validation of scoring.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from confianza.streams.score import (
    DAY_S,
    ScoringConfigError,
    decay_factor,
    load_scoring,
    score_campaign,
)

CFG = load_scoring()


def _campaign(*evidence: tuple[str, str, str], listed: bool = False) -> dict:
    """evidence as (reporter, reporter_sector, affected sector)."""
    return {
        "id": "c",
        "first_seen": 0.0,
        "last_seen": 1000.0,
        "overflow_events": 0,
        "evidence": {
            f"u{i}": {
                "reporter": r,
                "reporter_sector": rs,
                "sector": s,
                "tlp": "amber",
                "reported_at": "2024-05-01T10:30:00Z",
                "class": "fraud",
                "type": "phishing",
                "severity": "high",
                "confidence": 80,
                "seen_at": 1000.0,
            }
            for i, (r, rs, s) in enumerate(evidence)
        },
        "indicators": {
            "domain:x.com": {
                "kind": "domain",
                "value": "x.com",
                "listed": "bank-domains" if listed else None,
                "event_uids": [],
            }
        },
    }


def test_single_report_stays_below_the_opening_band() -> None:
    score = score_campaign(_campaign(("bcp", "banking", "banking")), 1000.0, CFG)
    assert score.severity == "low"
    assert next(r["rule"] for r in score.reasons) == "rsit-base"


def test_corroboration_across_sectors_raises_the_band_with_reasons() -> None:
    score = score_campaign(
        _campaign(
            ("bcp", "banking", "banking"),
            ("claro", "telecom", "banking"),
            ("pnp-divindat", "justice", "banking"),
        ),
        1000.0,
        CFG,
    )
    rules = {r["rule"]: r for r in score.reasons}
    assert rules["corroboration"]["points"] == 28
    assert "3 distinct reporters" in rules["corroboration"]["detail"]
    assert rules["sector-spread"]["points"] == 20
    assert score.severity in ("high", "critical")
    assert score.score == pytest.approx(sum(r["points"] for r in score.reasons), abs=0.2)


def test_a_large_two_reporter_wave_gains_volume_points_a_single_reporter_does_not() -> None:
    wave = [("entel", "telecom", "telecom")] * 60 + [("indecopi", "government", "telecom")] * 63
    small = score_campaign(_campaign(wave[0], wave[-1]), 1000.0, CFG)
    large = score_campaign(_campaign(*wave), 1000.0, CFG)
    alone = score_campaign(_campaign(*wave[:60]), 1000.0, CFG)
    assert "volume" not in {r["rule"] for r in small.reasons}
    volume = next(r for r in large.reasons if r["rule"] == "volume")
    assert volume["points"] == 7.2  # log2(123 / 10) doublings x 2 points
    assert "123 events from 2 reporters" in volume["detail"]
    assert large.score == pytest.approx(small.score + 7.2, abs=0.2)
    assert "volume" not in {r["rule"] for r in alone.reasons}


def test_volume_counts_the_events_beyond_the_evidence_cap_and_is_capped() -> None:
    campaign = _campaign(("bcp", "banking", "banking"), ("claro", "telecom", "banking"))
    campaign["overflow_events"] = 100_000
    volume = next(r for r in score_campaign(campaign, 1000.0, CFG).reasons if r["rule"] == "volume")
    assert volume["points"] == CFG.volume.max_points
    assert "100002 events" in volume["detail"]


def test_decay_follows_the_misp_formula_and_reaches_zero_at_tau() -> None:
    phishing = CFG.decay_for("phishing")
    assert decay_factor(0, phishing) == 1.0
    assert decay_factor(phishing.tau_days * DAY_S, phishing) == 0.0
    half = decay_factor(phishing.tau_days * DAY_S / 2, phishing)
    assert half == pytest.approx(1 - 0.5 ** (1 / phishing.delta))
    fresh = score_campaign(
        _campaign(("bcp", "banking", "banking"), ("claro", "telecom", "banking")), 1000.0, CFG
    )
    later = score_campaign(
        _campaign(("bcp", "banking", "banking"), ("claro", "telecom", "banking")),
        1000.0 + 2 * DAY_S,
        CFG,
    )
    assert later.score < fresh.score
    assert later.reasons[-1]["rule"] == "decay"
    assert later.reasons[-1]["points"] < 0


def test_warning_listed_campaign_is_suppressed() -> None:
    score = score_campaign(
        _campaign(("bcp", "banking", "banking"), ("claro", "telecom", "banking"), listed=True),
        1000.0,
        CFG,
    )
    assert score.score == 0
    assert score.severity == "low"
    assert any(r["rule"] == "warning-list" and "suppressed" in r["detail"] for r in score.reasons)


def test_invalid_scoring_file_fails_with_every_problem_located(tmp_path: Path) -> None:
    data = yaml.safe_load((Path(__file__).parents[2] / "streams" / "scoring.yaml").read_text())
    data["bands"]["high"] = 10
    data["decay"]["types"]["phising"] = {"tau_days": 3, "delta": 0.5}
    data["corroboration"]["points_per_reporter"] = -1
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScoringConfigError) as err:
        load_scoring(path)
    text = str(err.value)
    assert str(path) in text
    assert "corroboration.points_per_reporter" in text
    path.write_text("bands: [")
    with pytest.raises(ScoringConfigError, match="cannot read"):
        load_scoring(path)


def test_semantic_problems_are_reported_together(tmp_path: Path) -> None:
    data = yaml.safe_load((Path(__file__).parents[2] / "streams" / "scoring.yaml").read_text())
    data["bands"]["high"] = 10
    data["decay"]["types"]["phising"] = {"tau_days": 3, "delta": 0.5}
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScoringConfigError) as err:
        load_scoring(path)
    assert "strictly increase" in str(err.value)
    assert "unknown RSIT type 'phising'" in str(err.value)
