"""Render the results table of docs/RELIABILITY.md from the reliability JSON files.

``python -m tests.reliability.table RESULTS_DIR DOC`` reads every
``reliability-<scenario>-<profile>.json`` in ``RESULTS_DIR`` (written by the tests through
``results.record``) and replaces the lines between ``<!-- results:start -->`` and
``<!-- results:end -->`` in ``DOC`` with one table row per file. ``make reliability`` runs it
after the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

START, END = "<!-- results:start -->", "<!-- results:end -->"
ORDER = ("worker-crashes", "broker-failure", "subscriber-failures", "state-bounds")
HEADER = (
    "| scenario | run | load | events sent | lost | duplicated | max pause | result |\n"
    "|---|---|---|---:|---:|---:|---:|---|"
)


def _pause(value: Any) -> str:
    return "—" if value is None else f"{value:g} s"


def row(result: dict[str, Any]) -> str:
    cells = [
        result["scenario"],
        f"{result['profile']} ({result['recorded_at'][:10]})",
        result["load"],
        str(result["sent"]),
        str(result["lost"]),
        str(result["duplicated"]),
        _pause(result["max_pause_s"]),
        f"**{result['result']}**",
    ]
    return "| " + " | ".join(cells) + " |"


def render(results_dir: Path) -> str:
    results = [orjson.loads(p.read_bytes()) for p in sorted(results_dir.glob("reliability-*.json"))]
    results.sort(
        key=lambda r: (
            ORDER.index(r["scenario"]) if r["scenario"] in ORDER else len(ORDER),
            r["profile"],
        )
    )
    return "\n".join([HEADER, *(row(r) for r in results)])


def update(doc: Path, table: str) -> None:
    text = doc.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"{doc} has no {START} ... {END} section")
    doc.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit("usage: python -m tests.reliability.table RESULTS_DIR DOC")
    update(Path(argv[2]), render(Path(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
