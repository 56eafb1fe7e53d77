"""The garbage-collector settings of Confianza's long-running worker processes, and the
measure of their full collections."""

from __future__ import annotations

import gc
import time
from typing import Any

from confianza.metrics import GC_FULL_PAUSE_SECONDS

GC_THRESHOLDS = (50_000, 20, 100)
"""Collector thresholds of a worker process. With the default (700, 10, 10), a delivery worker
with thousands of deliveries in flight spent 40 % of a 20,000-alert run in full collections
(pauses up to 0.9 s), and the streams worker paused 60 to 125 ms for each of its full
collections (about one every 6 s at 300 events/s). These keep collection to a few percent and
pauses short (bench/README.md, "What changed")."""

OLDEST = 2


def tune_collector() -> None:
    """Called once by a worker process when start-up is done, before it handles records:
    the objects start-up made (modules, settings, the app) are frozen out of collection,
    ``GC_THRESHOLDS`` apply from then on, and every full collection's pause is observed in
    ``confianza_gc_full_pause_seconds``."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if FULL_COLLECTION_TIMER not in gc.callbacks:
        gc.callbacks.append(FULL_COLLECTION_TIMER)


class _FullCollectionTimer:
    """A ``gc.callbacks`` entry: observes how long each full collection paused the process."""

    def __init__(self) -> None:
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != OLDEST:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            GC_FULL_PAUSE_SECONDS.observe(time.perf_counter() - self._started)


FULL_COLLECTION_TIMER = _FullCollectionTimer()
