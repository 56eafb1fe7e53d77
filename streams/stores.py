"""Ordered access to a table's local store that Faust's table API does not offer.

A Faust table reads and writes one key at a time, and iterates its whole store. Two stages
need a key range instead: the dedupe expiry drops whole days (``delete_before``) and the
campaign stage's idle sweep reads the campaigns a slice at a time (``keys_from``); the
worker's state gauges read what RocksDB holds in memory (``rocksdb_memory``). Each works on
Faust's RocksDB store (one database per partition, keys sorted as bytes) and on its memory
store (a dict of the table's keys: tests and the demo); ``keys_from`` also on a plain mapping
(unit tests of the stages).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

FAUST_OFFSET_KEY = b"__faust\x00offset__"
"""The key under which Faust's RocksDB store keeps each database's changelog offset."""
MEMORY_PROPERTIES = {
    "memtables": "rocksdb.cur-size-all-mem-tables",
    "block_cache": "rocksdb.block-cache-usage",
    "table_readers": "rocksdb.estimate-table-readers-mem",
}
"""The RocksDB properties that give a database's memory, by kind."""


def _databases(store: Any) -> list[Any] | None:
    """The partition databases of a RocksDB store; None for any other store or mapping."""
    databases = getattr(store, "_dbs", None)
    return None if databases is None else list(databases.values())


def keys_from(table: Mapping[str, Any], start: str, limit: int) -> list[str]:
    """Up to ``limit`` keys of ``table`` from ``start`` on (inclusive), in ascending order.

    A RocksDB store seeks each partition database to ``start`` and reads only the keys it
    returns; keys are stored as the table serializes them (JSON for a table of strings), so
    the seek and the order are those of the serialized keys, and the keys returned are the
    table's. The memory store keeps the table's keys as they are, and is sorted like a plain
    mapping.
    """
    store = getattr(table, "data", None)
    databases = _databases(store)
    if databases is None:
        return sorted(key for key in table if key >= start)[:limit]
    first = store._encode_key(start)
    raw = heapq.merge(*(db.keys(from_key=first) for db in databases))
    keys = (store._decode_key(key) for key in raw if key != FAUST_OFFSET_KEY)
    return list(islice(keys, limit))


def rocksdb_memory(tables: Iterable[Any]) -> dict[str, int]:
    """Bytes the RocksDB databases of these tables hold in memory, by kind
    (``MEMORY_PROPERTIES``; zero for tables on the memory store). Each database has its own
    block cache, so the sums are what the process holds."""
    totals = dict.fromkeys(MEMORY_PROPERTIES, 0)
    for table in tables:
        for db in _databases(table.data) or ():
            for kind, name in MEMORY_PROPERTIES.items():
                totals[kind] += db.property_int_value(name) or 0
    return totals


def delete_before(store: Any, end: bytes) -> None:
    """Drop every key below ``end`` from a table's local store (``table.data``).

    A RocksDB store deletes the range from each partition database at once; the memory store
    filters its dict. Local only: the changelog topic is not touched. ``end`` must sort below
    Faust's offset key, which the range would take with it.
    """
    if end > FAUST_OFFSET_KEY:
        raise ValueError(f"a range up to {end!r} would delete Faust's offset key")
    databases = _databases(store)
    if databases is not None:
        for db in databases:
            db.delete_range(b"", end)
        return
    for key in [k for k in store.data if k < end]:
        del store.data[key]
