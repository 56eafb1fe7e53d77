"""The ramp's choice of steps and the hold that follows it (a stand-in for the open-loop step:
no broker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import bench_throughput
from bench.lib.measure import Target


def _ramp(monkeypatch: pytest.MonkeyPatch, holds: Any, extra: int = 4) -> list[float]:
    offered: list[float] = []

    def step(session: Any, target: Any, rate: float, seconds: float, grace: float) -> dict:
        offered.append(round(rate))
        ok = holds(rate, len(offered))
        return {
            "offered_per_s": rate,
            "achieved_per_s": rate if ok else rate * 0.8,
            "sustained": ok,
            "records_per_cpu_second": 1.0,
        }

    monkeypatch.setattr(bench_throughput, "step", step)
    target = Target("pipeline", None, [], [], dict)
    found = bench_throughput.ramp(None, target, 400.0, 20.0, bench_throughput.RAMP, extra)
    assert found["max_sustained_per_s"] == max(
        (s["offered_per_s"] for s in found["steps"] if s["sustained"]), default=None
    )
    return offered


def test_a_failed_first_step_steps_down_and_then_climbs_and_bisects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the first step fails (a cold start), 300/s is too much, 250/s holds
    offered = _ramp(monkeypatch, lambda rate, n: n > 1 and rate <= 260)
    assert offered == [200, 140, 280, 210, 340, 275]


def test_the_ramp_climbs_past_its_plan_while_steps_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    offered = _ramp(monkeypatch, lambda rate, n: True, extra=2)
    assert offered == [200, 280, 340, 400, 460, 529, 608]


def _hold(monkeypatch: pytest.MonkeyPatch, p99_at: Any) -> tuple[dict, list[float]]:
    offered: list[float] = []

    def step(session: Any, target: Any, rate: float, seconds: float, grace: float) -> dict:
        offered.append(round(rate))
        p99 = p99_at(rate)
        return {
            "offered_per_s": rate,
            "achieved_per_s": rate,
            "sustained": p99 < 5000,
            "latency_ms": {"p99": p99},
        }

    monkeypatch.setattr(bench_throughput, "step", step)
    target = Target("pipeline", None, [], [], dict)
    return bench_throughput.hold(None, target, 400.0, 40.0, 3), offered


def test_a_rate_that_queues_is_not_held_and_a_lower_one_is_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 400/s drains in time but queues for seconds: not held; 320/s answers within 80 ms
    found, offered = _hold(monkeypatch, lambda rate: 3000.0 if rate > 350 else 80.0)
    assert offered == [400, 320]
    assert found["held_per_s"] == 320.0
    assert [h["held"] for h in found["holds"]] == [False, True]


def test_no_rate_held_is_reported_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    found, offered = _hold(monkeypatch, lambda rate: 8000.0)
    assert offered == [400, 320, 256]
    assert found["held_per_s"] is None


def test_levels_are_fractions_of_the_held_rate_else_the_ramps_maximum_never_the_burst() -> None:
    summary = {
        "pipeline_max_sustained_per_s": 373.0,
        "pipeline_ramp_max_per_s": 442.0,
        "pipeline_saturation_per_s": 884.0,
    }
    assert bench_throughput.reference_rate(summary) == (373.0, "held for 40 s")
    rate, basis = bench_throughput.reference_rate(summary | {"pipeline_max_sustained_per_s": None})
    assert (rate, "no rate held" in basis) == (442.0, True)
    only_burst = {"pipeline_max_sustained_per_s": None, "pipeline_ramp_max_per_s": None}
    assert bench_throughput.reference_rate(summary | only_burst)[0] == 884.0
    assert bench_throughput.reference_rate({}) is None


def test_the_benchmarks_run_alone_take_the_latest_results_reference_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(tmp_path))
    assert bench_throughput.latest_reference_rate(smoke=False) is None
    summary = {"pipeline_max_sustained_per_s": None, "pipeline_ramp_max_per_s": 347.0}
    document = {"figures": {"summary": summary}}
    (tmp_path / "throughput-20261207T150549Z.json").write_bytes(orjson.dumps(document))
    assert bench_throughput.latest_reference_rate(smoke=False) == 347.0
