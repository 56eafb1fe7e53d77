"""The garbage-collector settings a worker process applies once it has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from confianza.collector import FULL_COLLECTION_TIMER, GC_THRESHOLDS, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if FULL_COLLECTION_TIMER in gc.callbacks:
            gc.callbacks.remove(FULL_COLLECTION_TIMER)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_leave_collection_and_the_worker_thresholds_apply() -> None:
    made_at_start_up = [[] for _ in range(10)]
    tune_collector()
    assert gc.get_freeze_count() >= len(made_at_start_up)
    assert gc.get_threshold() == GC_THRESHOLDS


@pytest.mark.usefixtures("restored_collector")
def test_each_full_collection_is_timed() -> None:
    tune_collector()
    before = _count()
    gc.collect(1)
    assert _count() == before
    gc.collect()
    assert _count() == before + 1


def _count() -> float:
    return REGISTRY.get_sample_value("confianza_gc_full_pause_seconds_count") or 0.0
