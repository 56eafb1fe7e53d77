"""The streams worker's own set-up (no broker)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import faust
import pytest
import uvloop

from confianza.settings import KafkaSettings
from confianza.streams import dedupe
from confianza.streams.app import (
    FETCH_MAX_WAIT_MS,
    FETCH_MIN_BYTES,
    PRODUCER_BUFFER_MAX,
    PRODUCER_LINGER_S,
    ROCKSDB_OPTIONS,
    create_app,
    new_worker,
)
from confianza.streams.score import load_scoring


@pytest.mark.parametrize("level", ["WARNING", "INFO", "ERROR"])
def test_the_worker_runs_on_uvloop_and_never_lowers_logging_to_debug(level: str) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), asyncio.get_event_loop_policy())
    try:
        worker = new_worker(faust.App("confianza-streams-test", web_enabled=False), level, 20.0)
        worker._setup_logging()  # what the worker does first when it runs
        assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
        assert root.level == logging.getLevelName(level)
        assert isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        asyncio.set_event_loop_policy(saved[2])


async def test_the_worker_batches_fetches_and_produce_requests_and_buffers_table_writes() -> None:
    app = create_app(KafkaSettings(), load_scoring(), store="memory://")
    client = app.consumer._thread._create_worker_consumer(app.consumer.transport)
    try:
        assert (client._fetch_min_bytes, client._fetch_max_wait_ms) == (
            FETCH_MIN_BYTES,
            FETCH_MAX_WAIT_MS,
        )
        assert app.producer.linger_ms == PRODUCER_LINGER_S * 1000
        assert app.producer.buffer.max_messages == PRODUCER_BUFFER_MAX
    finally:
        await client.stop()


def test_every_table_bounds_the_memory_of_its_rocksdb_databases(tmp_path: Path) -> None:
    app = create_app(KafkaSettings(), load_scoring(), store="rocksdb://", data_dir=str(tmp_path))
    for table in app.tables.values():
        options = table.data.rocksdb_options
        assert options.write_buffer_size == ROCKSDB_OPTIONS["write_buffer_size"]
        assert options.max_write_buffer_number == ROCKSDB_OPTIONS["max_write_buffer_number"]
        assert options.block_cache_size == ROCKSDB_OPTIONS["block_cache_size"]


def test_dedupe_days_leave_the_changelog_by_retention_and_other_tables_are_compacted() -> None:
    app = create_app(KafkaSettings(), load_scoring())
    changelogs = {name: t.changelog_topic for name, t in app.tables.items()}
    dedupe_log = changelogs.pop("dedupe-days")
    assert (dedupe_log.compacting, dedupe_log.deleting) == (True, True)
    assert dedupe_log.retention == timedelta(days=dedupe.KEEP_DAYS)
    assert all(t.compacting and not t.deleting and not t.retention for t in changelogs.values())
