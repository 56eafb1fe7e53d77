"""``make bench-smoke`` inside the test suite, so the benchmarks never rot.

Every benchmark runs for seconds against real local brokers (``python -m bench --smoke``) and
must write its result file, the summary table and the plots. No figure is checked: timing
belongs to ``make bench``, and targets are reported there, never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = {"validation", "throughput", "latency", "soak", "delivery"}
PLOTS = {"latency-cdf", "throughput-ramp", "soak-rss"}


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_every_benchmark_runs_and_reports(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = {p.name.split("-smoke-")[0]: p for p in tmp_path.glob("*-smoke-*.json")}
    assert set(results) == BENCHMARKS
    for path in results.values():
        document = orjson.loads(path.read_bytes())
        assert document["smoke"] is True
        assert {"load", "machine", "versions", "settings", "figures"} <= document.keys()
        assert {"start", "end"} <= document["load"].keys()
        assert document["figures"]
    assert {p.name.rsplit("-", 1)[0] for p in tmp_path.glob("*.png")} == PLOTS
    (summary,) = tmp_path.glob("summary-*.md")
    table = summary.read_text(encoding="utf-8")
    assert "pass-through" in table
    assert "Kafka records read + written per event" in table
    assert "machine cores busy in the scale-out bursts" in table
    for plot in PLOTS:
        assert f"]({plot}-" in table
