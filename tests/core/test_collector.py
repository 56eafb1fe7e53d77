"""The garbage-collector settings a worker process applies once it has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from confianza.collector import GC_THRESHOLDS, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_leave_collection_and_the_worker_thresholds_apply() -> None:
    made_at_start_up = [[] for _ in range(10)]
    tune_collector()
    assert gc.get_freeze_count() >= len(made_at_start_up)
    assert gc.get_threshold() == GC_THRESHOLDS
