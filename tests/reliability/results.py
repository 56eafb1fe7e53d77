"""Figures of a reliability run, written as JSON for ``table.py`` to render.

``record(scenario, profile, figures)`` writes ``reliability-<scenario>-<profile>.json`` into
``$CONFIANZA_RESULTS_DIR`` (``make reliability`` sets it to ``bench/results``); without it the
figures go to pytest's temporary directory only, so ``make test`` leaves the tree untouched.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

import orjson

SCHEMA_KEYS = ("scenario", "profile", "load", "sent", "lost", "duplicated", "max_pause_s", "result")


def record(scenario: str, profile: str, figures: dict[str, Any], fallback: Path) -> Path:
    """Write the figures (they must hold the table's columns) and return the file written."""
    missing = [k for k in SCHEMA_KEYS[2:] if k not in figures]
    assert not missing, f"results lack {missing}"
    directory = Path(os.environ.get("CONFIANZA_RESULTS_DIR") or fallback)
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "scenario": scenario,
        "profile": profile,
        **figures,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "make reliability" if profile != "ci" else "make test (CI subset)",
    }
    path = directory / f"reliability-{scenario}-{profile}.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path
