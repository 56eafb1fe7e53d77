"""The records of the worker's two internal hops: many items per record.

Called by the ingest loop (candidates to the events stage) and by the events stage
(sightings to the campaign stage). Each item used to be a record of its own; every record
costs the worker a produce, a fetch, a hand-off through Faust's stream and an offset to
track, so an event's two hops cost four records. Now a hop record is a JSON array of the
items of one batch bound for one partition, at most ``MAX_RECORD_BYTES`` (an item larger
than that travels alone), and the partition of a candidate is the one Kafka's default
partitioner gives its key: what it was when candidates were keyed records, so the dedupe
entries already in a partition's store are still found there.

``unpack`` also reads a record of one item (a JSON object), as the worker's previous
version wrote them, so a worker upgraded while its internal topics hold such records
processes them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from aiokafka.partitioner import murmur2

MAX_RECORD_BYTES = 512 * 1024
"""Most JSON bytes in one hop record: half the broker's and the producer's default limit."""


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def pack(items: Iterable[bytes], max_bytes: int = MAX_RECORD_BYTES) -> Iterator[bytes]:
    """JSON arrays of the encoded ``items``, in order, each at most ``max_bytes`` unless one
    item alone is larger; nothing for no items."""
    chunk: list[bytes] = []
    size = 2
    for item in items:
        if chunk and size + len(item) + 1 > max_bytes:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(item)
        size += len(item) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


def unpack(value: bytes) -> list[Any]:
    """The items of a hop record: an array's elements, or a single object (older format)."""
    parsed = orjson.loads(value)
    return parsed if isinstance(parsed, list) else [parsed]
