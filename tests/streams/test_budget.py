"""The admission budget against a real broker: a flooding partner is refused, others are not.

The budget worker gets a broker of its own: every streams worker reads every partner's ingest
topic, and on the shared broker a small budget would refuse other tests' records.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from confianza.dev.kafka import Cluster
from confianza.provision import apply_topics
from tests.streams.conftest import Broker
from tests.streams.helpers import event

BUDGET, PARTITIONS = 6, 3  # ingest topics have 3 partitions: 2 records per partition an hour
PER_PARTITION = BUDGET // PARTITIONS


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    cluster = Cluster(size=1)
    cluster.start()
    try:
        admin = cluster.admin_settings()
        apply_topics(admin)
        broker = Broker(admin, tmp_path)
        try:
            yield broker
        finally:
            broker.close()
    finally:
        cluster.stop()


def test_records_over_a_partners_hourly_budget_are_refused_with_a_reason(
    own_broker: Broker,
) -> None:
    flooder, neighbour = "bud-bank", "bud-telco"
    own_broker.add_partners([(flooder, "banking"), (neighbour, "telecom")])
    own_broker.worker("confianza-streams-budget", CONFIANZA_STREAMS_ADMISSION_BUDGET=str(BUDGET))
    flood = [
        (flooder, event(f"F-{i}", [("url", f"https://flood-{i}.example.com/", "phishing")]))
        for i in range(24)
    ]
    sent = own_broker.send([*flood, (neighbour, event("T-1"))])

    receipts = own_broker.wait_receipts([flooder, neighbour], sent)
    assert len({(r["topic"], r["partition"], r["offset"]) for r in receipts}) == sent
    (calm,) = [r for r in receipts if r["partner"] == neighbour]
    assert calm["status"] == "accepted"
    # Per partition and hour (the broker's record time), the first records are admitted and
    # every later one is refused, whatever it carries.
    windows: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in receipts:
        if r["partner"] == flooder:
            windows[(r["partition"], r["received_at"][:13])].append(r)
    for records in windows.values():
        records.sort(key=lambda r: r["offset"])
        assert [r["status"] for r in records[:PER_PARTITION]] == ["accepted"] * min(
            PER_PARTITION, len(records)
        )
        for r in records[PER_PARTITION:]:
            assert r["status"] == "rejected"
            (error,) = r["errors"]
            assert "over the admission budget of 6 records per hour" in error["message"]
    refused = {r["event_id"] for r in receipts if r["status"] == "rejected"}
    assert len(refused) >= len(flood) - BUDGET * 2  # at most two hour windows in one test

    letters = [d for d in own_broker.dead_letters([flooder]) if d["reason"] == "over-budget"]
    assert {orjson.loads(base64.b64decode(d["raw_b64"]))["event_id"] for d in letters} == refused
