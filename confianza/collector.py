"""The garbage-collector settings of Confianza's long-running worker processes."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)
"""Collector thresholds of a worker process. With the default (700, 10, 10), a delivery worker
with thousands of deliveries in flight spent 40 % of a 20,000-alert run in full collections
(pauses up to 0.9 s), and the streams worker paused 60 to 125 ms for each of its full
collections (about one every 6 s at 300 events/s). These keep collection to a few percent and
pauses short (bench/README.md, "What changed")."""


def tune_collector() -> None:
    """Called once by a worker process when start-up is done, before it handles records:
    the objects start-up made (modules, settings, the app) are frozen out of collection, and
    ``GC_THRESHOLDS`` apply from then on."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
