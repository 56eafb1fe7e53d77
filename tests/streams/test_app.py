"""The streams worker's own set-up (no broker)."""

from __future__ import annotations

import asyncio
import logging

import faust
import pytest
import uvloop

from confianza.streams.app import new_worker


@pytest.mark.parametrize("level", ["WARNING", "INFO", "ERROR"])
def test_the_worker_runs_on_uvloop_and_never_lowers_logging_to_debug(level: str) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), asyncio.get_event_loop_policy())
    try:
        worker = new_worker(faust.App("confianza-streams-test", web_enabled=False), level)
        worker._setup_logging()  # what the worker does first when it runs
        assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
        assert root.level == logging.getLevelName(level)
        assert isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        asyncio.set_event_loop_policy(saved[2])
