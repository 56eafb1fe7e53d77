"""The results table is rendered from the JSON the tests write, between its markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.results import record
from tests.reliability.table import END, START, render, update


def test_results_become_rows_in_scenario_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONFIANZA_RESULTS_DIR", raising=False)
    for scenario, pause in (("state-bounds", None), ("worker-crashes", 15.2)):
        figures = {
            "load": "12 ev/s",
            "sent": 408,
            "lost": 0,
            "duplicated": 0,
            "max_pause_s": pause,
            "result": "pass",
        }
        record(scenario, "ci", figures, tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\n{START}\nold\n{END}\n\nafter\n", encoding="utf-8")
    update(doc, render(tmp_path))
    text = doc.read_text(encoding="utf-8")
    assert "old" not in text
    assert text.startswith("# Title")
    assert text.endswith("after\n")
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| worker") or line.startswith("| state")
    ]
    assert rows[0].startswith("| worker-crashes | ci (")
    assert "| 408 | 0 | 0 | 15.2 s | **pass** |" in rows[0]
    assert "| — | **pass** |" in rows[1]
