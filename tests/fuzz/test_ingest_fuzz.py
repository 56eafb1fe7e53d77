"""Fuzzing the ingest path without Kafka: every input is answered, nothing raises.

The number of examples per property is ``CONFIANZA_FUZZ_EXAMPLES`` (a bounded run by default;
``make fuzz`` raises it). The corpus families are in ``corpus.py``; the promises checked for
every input in ``check.py``.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from confianza.streams.ingest import Rejected
from tests.fuzz.check import PureStreams
from tests.fuzz.corpus import FAMILIES, hostile_bytes, hostile_records

EXAMPLES = int(os.environ.get("CONFIANZA_FUZZ_EXAMPLES", "1500"))


@pytest.fixture(scope="module")
def streams() -> Iterator[PureStreams]:
    pure = PureStreams()
    yield pure
    pure.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=hostile_bytes())
def test_every_input_is_a_receipt_or_a_dead_letter(streams: PureStreams, raw: bytes) -> None:
    streams.feed(raw)


def test_every_family_is_answered_and_the_hostile_ones_are_rejected(
    streams: PureStreams,
) -> None:
    """The deterministic corpus the worker runs use: each family, several draws."""
    verdicts: dict[str, Counter[str]] = {}
    for family, raw in hostile_records(random.Random(5), 40 * len(FAMILIES)):
        outcome = streams.feed(raw)
        reason = outcome.reason if isinstance(outcome, Rejected) else "accepted"
        verdicts.setdefault(family, Counter())[reason] += 1
    assert set(verdicts) == set(FAMILIES)
    always_rejected = {
        "random-bytes",
        "bad-timestamp",
        "truncated",
        "deep",
        "bad-text",
        "non-finite",
        "duplicate-keys",
        "huge-number",
        "spoofed-reporter",
    }
    for family in always_rejected:
        assert "accepted" not in verdicts[family], (family, verdicts[family])
    assert verdicts["spoofed-reporter"] == Counter(schema=40)
