"""State bounds under hostile input: one partner flooding unique indicators while two others
grow one giant campaign, against a real streams worker (``flood.py``).

What must hold: the giant campaign's caps (``scoring.yaml`` ``correlation``: 200 indicators,
200 listed evidence events) hold, with whatever they refused counted in the alert and in
``confianza_state_evictions_total``; the worker answers every record and survives; its
resident memory stays under ``RSS_LIMIT_MIB`` for this flood. The memory a flood of *distinct*
events costs is measured and written to the results (it is bounded by the TTLs of the dedupe
entries and of idle campaigns, not by a cap: see docs/RELIABILITY.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from confianza.dev.kafka import Cluster
from tests.reliability.flood import run_flood
from tests.reliability.results import record

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1800)]

UNIQUE, GIANT = 10_000, 400
RSS_LIMIT_MIB = 600
CAPS = {"indicators": 200, "evidence": 200}


def test_caps_hold_and_memory_stays_under_the_limit(tmp_path: Path) -> None:
    cluster = Cluster(size=1)
    cluster.start()
    try:
        flood = run_flood(cluster, Path(tempfile.mkdtemp(prefix="confianza-flood-")), UNIQUE, GIANT)
    finally:
        cluster.stop()
    giant = flood.giant_alert
    assert giant is not None
    assert len(giant["indicators"]) == CAPS["indicators"]
    assert len(giant["evidence"]) == CAPS["evidence"]
    state_bound = [r["detail"] for r in giant["reasons"] if r["rule"] == "state-bound"]
    assert state_bound == [f"{GIANT - CAPS['evidence']} more events not listed (evidence cap)"]
    assert flood.evictions["evidence-cap"] == GIANT - CAPS["evidence"]
    assert flood.evictions["indicator-cap"] > 0
    assert flood.gauges["campaigns"] == UNIQUE + 1
    peak_mib = flood.peak_kib / 1024
    growth_kib = (flood.peak_kib - flood.baseline_kib) / (UNIQUE + GIANT)
    record(
        "state-bounds",
        "full",
        {
            "load": f"{UNIQUE} events of unique indicators + a {GIANT}-event giant campaign",
            "sent": UNIQUE + GIANT,
            "lost": 0,
            "duplicated": 0,
            "max_pause_s": None,
            "result": "pass" if peak_mib <= RSS_LIMIT_MIB else "FAIL",
            "rss_baseline_mib": round(flood.baseline_kib / 1024),
            "rss_peak_mib": round(peak_mib),
            "rss_limit_mib": RSS_LIMIT_MIB,
            "rss_growth_kib_per_event": round(growth_kib, 1),
            "seconds_to_answer": round(flood.seconds, 1),
            "gauges": flood.gauges,
            "evictions": flood.evictions,
            "giant_alert": {
                "versions": giant["version"],
                "indicators": len(giant["indicators"]),
                "evidence": len(giant["evidence"]),
            },
        },
        tmp_path,
    )
    assert peak_mib <= RSS_LIMIT_MIB
