"""A write-back view of a table: many writes to a key within a batch become one write.

The campaign stage works through these views and calls ``flush`` at the end of every batch,
so a campaign that gains thirty events in one batch is written to its table (and its
changelog) once, not thirty times. Reads see the batch's own writes first. Nothing reaches
the table before ``flush``; the stage flushes before the agent returns, so the writes still
precede the commit of the batch's offsets (Faust flushes the producer first).

A read that misses the batch goes to the table's store (``table.data`` for a Faust table) in
one lookup. Faust's own ``table[key]`` checks that the key is there before it reads it: two
key encodings and two RocksDB reads for every key found. What a lookup learnt (the key is in
the table or not) is kept until the flush, which needs it to count new keys and deletions;
nothing else writes the table during a batch.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flushed:
    """What one ``flush`` changed in the table."""

    written: dict[str, Any]
    deleted: frozenset[str]
    """Keys that were in the table and are gone."""
    added: int
    """How many written keys were new to the table."""


class WriteBack(MutableMapping[str, Any]):
    """Buffers sets and deletes over ``table`` until ``flush``."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self._lookup = getattr(table, "data", table).get
        self._written: dict[str, Any] = {}
        self._deleted: set[str] = set()
        self._in_table: dict[object, bool] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._written:
            return self._written[key]
        if key in self._deleted:
            return default
        value = self._lookup(key)
        self._in_table[key] = value is not None
        return default if value is None else value

    def _stored(self, key: object) -> bool:
        """Whether the table holds ``key`` (before this batch's changes)."""
        known = self._in_table.get(key)
        if known is None:
            known = self._in_table[key] = key in self.table
        return known

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._written[key] = value
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._written.pop(key, None)
        self._deleted.add(key)

    def __contains__(self, key: object) -> bool:
        if key in self._written:
            return True
        return key not in self._deleted and self._stored(key)

    def __iter__(self) -> Iterator[str]:
        for key in list(self.table):
            if key not in self._written and key not in self._deleted:
                yield key
        yield from list(self._written)

    def __len__(self) -> int:
        if not self._written and not self._deleted:
            return len(self.table)
        return sum(1 for _ in self)

    def flush(self) -> Flushed:
        """Write every buffered change to the table once; returns what changed."""
        deleted = frozenset(key for key in self._deleted if self._stored(key))
        for key in deleted:
            del self.table[key]
        added = 0
        for key, value in self._written.items():
            added += not self._stored(key)
            self.table[key] = value
        flushed = Flushed(self._written, deleted, added)
        self._written = {}
        self._deleted.clear()
        self._in_table.clear()
        return flushed
