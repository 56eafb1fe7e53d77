"""Key ranges of a table's local store: Faust's RocksDB and memory stores, and plain dicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP

from confianza.streams import stores

KEYS = ["1a", "2b", "3c", "d4", "e5"]
"""Faust's offset key sorts between the digits and the letters."""


@pytest.fixture
def rocksdb_table(tmp_path: Path) -> Iterator[Any]:
    """A Faust table of string keys on RocksDB, as the worker builds it, with two partition
    databases, each with Faust's offset key. Keys are stored as the table serializes them
    (JSON: ``"1a"`` with its quotes)."""
    app = faust.App("stores-test", store="rocksdb://", datadir=tmp_path, key_serializer="raw")
    table = app.Table("campaigns", partitions=2)
    databases = [table.data._db_for_partition(p) for p in (0, 1)]
    for n, key in enumerate(KEYS):
        databases[n % 2][table.data._encode_key(key)] = b"{}"
    for p in (0, 1):
        table.data.set_persisted_offset(TP(table.changelog_topic.get_topic_name(), p), 42)
    yield table
    for db in databases:
        db.close()


def test_keys_from_a_rocksdb_store_merge_its_partitions_in_order(
    rocksdb_table: Any,
) -> None:
    assert stores.keys_from(rocksdb_table, "", 10) == KEYS  # no offset key
    assert stores.keys_from(rocksdb_table, "2b", 2) == ["2b", "3c"]
    assert stores.keys_from(rocksdb_table, "3", 2) == ["3c", "d4"]
    assert stores.keys_from(rocksdb_table, "f", 10) == []


def test_keys_from_the_memory_store_and_a_plain_mapping() -> None:
    app = faust.App("stores-test", store="memory://", key_serializer="raw")
    memory_table = app.Table("campaigns", partitions=1)
    for key in reversed(KEYS):
        memory_table.data[key] = {}
    plain = dict.fromkeys(reversed(KEYS), 1)
    for table in (memory_table, plain):
        assert stores.keys_from(table, "", 10) == KEYS
        assert stores.keys_from(table, "2b", 2) == ["2b", "3c"]


def test_keys_from_a_rocksdb_store_are_the_keys_the_table_reads(rocksdb_table: Any) -> None:
    for key in stores.keys_from(rocksdb_table, "", 10):
        assert rocksdb_table.data._decode_key(rocksdb_table.data._encode_key(key)) == key
        assert key in rocksdb_table.data


def test_delete_before_keeps_faust_offset_key(rocksdb_table: Any) -> None:
    stores.delete_before(rocksdb_table.data, b'"3')
    assert stores.keys_from(rocksdb_table, "", 10) == ["3c", "d4", "e5"]
    for db in rocksdb_table.data._dbs.values():
        assert db[stores.FAUST_OFFSET_KEY] == b"42"
    with pytest.raises(ValueError, match="offset key"):
        stores.delete_before(rocksdb_table.data, b"d")  # above every JSON key: b'"' < b"_"


def test_rocksdb_memory_sums_every_database_and_is_zero_on_the_memory_store(
    rocksdb_table: Any,
) -> None:
    held = stores.rocksdb_memory([rocksdb_table])
    assert held.keys() == stores.MEMORY_PROPERTIES.keys()
    assert held["memtables"] > 0  # the keys written are in the memtables of both databases
    one = stores.rocksdb_memory(
        [
            SimpleNamespace(data=SimpleNamespace(_dbs={0: db}))
            for db in list(rocksdb_table.data._dbs.values())[:1]
        ]
    )
    assert 0 < one["memtables"] < held["memtables"]
    app = faust.App("stores-test", store="memory://")
    assert set(stores.rocksdb_memory([app.Table("t")]).values()) == {0}
