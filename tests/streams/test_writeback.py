"""The write-back view the campaign stage keeps over its tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import faust
import pytest

from confianza.streams.writeback import WriteBack


class CountingTable(dict[str, Any]):
    """A dict that counts writes and deletes, as a changelog would see them."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: Counter[str] = Counter()

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes[key] += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.writes[key] += 1
        super().__delitem__(key)


def test_many_writes_to_a_key_reach_the_table_once_at_flush() -> None:
    table = CountingTable()
    view = WriteBack(table)
    for n in range(30):
        view["campaign"] = {"events": n}
    assert view["campaign"] == {"events": 29}
    assert table == {}  # nothing before the flush
    flushed = view.flush()
    assert (flushed.written, flushed.deleted, flushed.added) == (
        {"campaign": {"events": 29}},
        frozenset(),
        1,
    )
    assert table == {"campaign": {"events": 29}}
    assert table.writes == {"campaign": 1}


def test_reads_iteration_and_deletes_see_the_batch_first() -> None:
    table = CountingTable({"a": 1, "b": 2})
    view = WriteBack(table)
    view["c"] = 3
    del view["a"]
    view["tmp"] = 0
    del view["tmp"]
    assert "a" not in view
    assert "tmp" not in view
    assert "c" in view
    assert sorted(view) == ["b", "c"]
    assert len(view) == 2
    assert view.get("a") is None
    with pytest.raises(KeyError):
        del view["a"]
    flushed = view.flush()
    assert (flushed.deleted, flushed.added) == ({"a"}, 1)  # "tmp" was never in the table
    assert table == {"b": 2, "c": 3}
    assert table.writes == {"a": 1, "c": 1}  # "tmp" never reached the table


def test_a_rocksdb_table_is_read_once_per_key_and_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = faust.App("writeback-test", store="rocksdb://", datadir=tmp_path, key_serializer="raw")
    table = app.Table("campaigns", partitions=1)
    store = table.data
    database = store._db_for_partition(0)
    database[store._encode_key("c1")] = store._encode_value({"events": 3})
    reads: Counter[str] = Counter()
    for name in ("_get", "_contains"):
        original = getattr(store, name)

        def counted(key: bytes, original: Any = original, name: str = name) -> Any:
            reads[name] += 1
            return original(key)

        monkeypatch.setattr(store, name, counted)
    # outside a stream Faust neither sends a changelog record nor knows the partition
    monkeypatch.setattr(table, "on_key_set", lambda key, value: None)
    monkeypatch.setattr(store, "_set", database.__setitem__)
    view = WriteBack(table)
    try:
        assert view.get("c1") == {"events": 3}
        assert view["c1"] == {"events": 3}
        assert view.get("c2") is None
        with pytest.raises(KeyError):
            view["c2"]
        assert reads == {"_get": 4}  # Faust's table[key] reads a found key twice
        view["c2"] = {"events": 1}
        assert view.get("c2") == {"events": 1}  # the batch's own write, no read
        view["c1"] = {"events": 4}
        view["c3"] = {"events": 1}  # never read in this batch
        assert reads == {"_get": 4}
        flushed = view.flush()
        assert flushed.added == 2  # c2 and c3
        assert reads == {"_get": 4, "_contains": 1}  # only c3's presence was not known
        assert view.get("c1") == {"events": 4}  # the next batch reads the table again
        assert reads == {"_get": 5, "_contains": 1}
    finally:
        database.close()
