"""The records of the internal hops: packing, unpacking, partitions."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2

from confianza.streams import hops

items = st.lists(
    st.dictionaries(st.text(max_size=5), st.text(max_size=40), max_size=4), max_size=60
)


@given(items, st.integers(min_value=2, max_value=400))
def test_pack_keeps_every_item_in_order_within_the_bound(
    docs: list[dict[str, str]], max_bytes: int
) -> None:
    encoded = [orjson.dumps(d) for d in docs]
    records = list(hops.pack(encoded, max_bytes))
    assert [i for r in records for i in hops.unpack(r)] == docs
    for record in records:
        # Over the bound only when a single item is larger than it.
        assert len(record) <= max_bytes or len(hops.unpack(record)) == 1


def test_pack_of_nothing_is_no_record() -> None:
    assert list(hops.pack([])) == []


def test_an_item_larger_than_the_bound_travels_alone() -> None:
    big, small = orjson.dumps({"v": "x" * 100}), orjson.dumps({"v": 1})
    assert [len(hops.unpack(r)) for r in hops.pack([small, big, small], 50)] == [1, 1, 1]


def test_unpack_reads_a_single_object_of_the_previous_format() -> None:
    assert hops.unpack(b'{"uid": "u"}') == [{"uid": "u"}]


def test_partition_of_is_kafkas_default_partitioner() -> None:
    """What keyed records got: the Java client's murmur2, as kafka-python computes it too."""
    for n in range(200):
        key = f"uid-{n}".encode()
        assert hops.partition_of(key, 6) == (murmur2(key) & 0x7FFFFFFF) % 6
