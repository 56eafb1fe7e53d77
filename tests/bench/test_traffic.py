"""The benchmark's traffic: the indicator feed that fills the state before the soak."""

from __future__ import annotations

import time

import orjson

from bench.lib.traffic import FEED_PER_EVENT, indicator_feed, simulated
from confianza.schemas.validate import validate_event


def test_the_indicator_feed_sends_distinct_hashes_in_valid_events_from_every_partner() -> None:
    template = simulated(20, 10, seed=3, start=time.time(), partners=4)
    feed = indicator_feed(template, 2 * FEED_PER_EVENT + 7, 100.0, start=0.0)
    events = [orjson.loads(value) for _, _, _, value in feed.items]
    values = [i["value"] for e in events for i in e["indicators"]]
    assert [len(e["indicators"]) for e in events] == [FEED_PER_EVENT, FEED_PER_EVENT, 7]
    assert len(set(values)) == len(values) == feed.distinct_indicators == 2 * FEED_PER_EVENT + 7
    assert len({e["event_id"] for e in events}) == 3
    assert [offset for offset, *_ in feed.items] == [0.0, 0.01, 0.02]
    for _, _, _, value in feed.items:
        validate_event(value)  # raises on a contract violation
    assert len({topic for _, topic, _, _ in indicator_feed(template, 400, 1.0, start=0).items}) > 1
