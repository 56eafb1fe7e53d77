"""Summing py-spy's raw stacks by area (no process is sampled)."""

from __future__ import annotations

from pathlib import Path

from bench.lib.profile import NATIVE_LOOP, summarize


def test_samples_in_a_loop_runner_count_as_uvloop_native_time(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "<module> (/x/main.py:1);Worker.execute_from_commandline (/x/mode/worker.py:264) 6\n"
        "run (/x/threading.py:9);ServiceThread._start_thread (/x/mode/threads.py:211) 2\n"
        "run (/x/mode/worker.py:1);events_stage (/x/streams/app.py:300) 2\n",
        encoding="utf-8",
    )
    found = summarize(raw)
    areas = {a["what"]: a["share"] for a in found["by_area"]}
    assert found["samples"] == 10
    assert areas == {NATIVE_LOOP: 0.8, "confianza streams": 0.2}
