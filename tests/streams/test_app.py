"""The streams worker's own set-up (no broker)."""

from __future__ import annotations

import logging

import faust
import pytest

from confianza.streams.app import new_worker


@pytest.mark.parametrize("level", ["WARNING", "INFO", "ERROR"])
def test_the_worker_never_lowers_logging_to_debug(level: str) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        worker = new_worker(faust.App("confianza-streams-test", web_enabled=False), level)
        worker._setup_logging()  # what the worker does first when it runs
        assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
        assert root.level == logging.getLevelName(level)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
