"""The write-back view the campaign stage keeps over its tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

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
