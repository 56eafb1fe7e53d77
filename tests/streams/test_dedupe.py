"""Dedupe keys by day and their expiry from a table's local store (memory and RocksDB)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from rocksdict import Rdict

from confianza.streams import dedupe
from confianza.streams.score import DAY_S

DAY = dedupe.day_of(1_714_577_400.0)


def test_a_record_looks_in_its_own_day_and_the_ttl_before_it() -> None:
    keys = dedupe.keys_to_check(DAY, "u-1")
    assert keys[0] == dedupe.entry_key(DAY, "u-1")  # where a new entry is written
    assert keys[-1] == dedupe.entry_key(DAY - dedupe.TTL_DAYS, "u-1")
    assert len(keys) == dedupe.TTL_DAYS + 1
    assert dedupe.day_of(DAY * DAY_S) == DAY
    assert dedupe.day_of(DAY * DAY_S - 1) == DAY - 1


def test_keys_sort_by_day_whatever_the_uid() -> None:
    keys = [dedupe.entry_key(DAY + d, uid) for d, uid in ((1, "a"), (0, "zzz"), (10, "0"))]
    assert sorted(keys) == [keys[1], keys[0], keys[2]]


def _entries() -> dict[bytes, int]:
    return {dedupe.entry_key(DAY - d, f"u-{d}"): d for d in range(dedupe.KEEP_DAYS + 3)}


def test_expiry_keeps_the_days_a_record_can_still_look_up_memory_store() -> None:
    store = SimpleNamespace(data=_entries())
    dedupe.expire(store, DAY)
    assert sorted(store.data.values()) == list(range(dedupe.KEEP_DAYS + 1))


def test_expiry_deletes_old_days_from_every_rocksdb_partition(tmp_path: Path) -> None:
    databases = {p: Rdict(str(tmp_path / f"p{p}")) for p in (0, 3)}
    try:
        for db in databases.values():
            for key, d in _entries().items():
                db[key] = d
        dedupe.expire(SimpleNamespace(_dbs=databases), DAY)
        for db in databases.values():
            assert sorted(db.values()) == list(range(dedupe.KEEP_DAYS + 1))
    finally:
        for db in databases.values():
            db.close()
