"""The bookkeeping behind the benchmark figures: outputs matched to the sends they answer,
latency counted from the due time, and alert versions attributed to the event that caused them."""

from __future__ import annotations

import os

from bench.bench_latency import FirstEvidence
from bench.bench_soak import full_collections, growth, slope_per_minute
from bench.bench_throughput import records_per_event
from bench.lib.latency import Latency
from bench.lib.measure import CpuMark, Matcher, cpu_report
from bench.lib.traffic import Schedule
from bench.report import busy_cores_row


def schedule(start: float = 1000.0) -> Schedule:
    plan = Schedule(start=start)
    for offset, key in ((0.0, b"a"), (1.0, b"b"), (2.0, b"a")):  # "a" is sent twice
        plan.items.append((offset, "ingest.bcp.v1", key, b"{}"))
        plan.sends[key].append(offset)
    plan.uids = {"uid-a": 0.0, "uid-b": 1.0}
    return plan


def test_outputs_are_matched_in_send_order_and_timed_from_the_due_time() -> None:
    matcher = Matcher(schedule())
    matcher.handle("receipts.bcp.v1", b"a", None, 1000.5)  # first send of "a", due at 1000
    matcher.handle("receipts.bcp.v1", b"a", None, 1003.0)  # second send of "a", due at 1002
    matcher.handle("receipts.bcp.v1", b"bcp:0:7", None, 1003.0)  # an unreadable record's key
    summary = matcher.latency.summary()
    assert summary["count"] == 2
    assert 499 <= summary["p50"] <= 501
    assert 999 <= summary["max"] <= 1001
    assert matcher.unmatched == 1
    assert len(matcher.arrivals) == 3


def test_an_alert_version_is_timed_from_the_newest_event_it_adds() -> None:
    tracker = FirstEvidence(schedule())
    evidence = [{"event_uid": "uid-a"}]
    tracker.alert({"alert_id": "c1", "evidence": evidence}, 1001.0)  # caused by uid-a (due 1000)
    tracker.alert({"alert_id": "c1", "evidence": [*evidence, {"event_uid": "uid-b"}]}, 1001.25)
    tracker.alert({"alert_id": "c1", "evidence": evidence}, 1009.0)  # nothing new: not timed
    tracker.alert({"alert_id": "c1", "evidence": [{"event_uid": "earlier-run"}]}, 1009.0)
    summary = tracker.latency.summary()
    assert tracker.versions == 4
    assert summary["count"] == 2
    assert 249 <= summary["p50"] <= 251  # uid-b: due 1001, in the version at 1001.25
    assert 999 <= summary["max"] <= 1001  # uid-a: due 1000, in the version at 1001


def test_latency_keeps_the_tail_and_never_records_negative_durations() -> None:
    latency = Latency()
    for ms in range(1, 1001):
        latency.record(ms / 1000)
    latency.record(-0.001)
    summary = latency.summary()
    assert summary["count"] == 1001
    assert 990 <= summary["p99"] <= 992
    assert summary["max"] >= 999
    assert latency.cdf()[-1][1] >= 999
    assert latency.encoded()


def test_soak_growth_compares_the_end_with_the_level_after_warm_up() -> None:
    samples = [
        {"t": t, "rss_mib": 100.0 if t < 20 else 200.0 + t / 10, "state_dir_mib": 1.0}
        for t in range(0, 101, 5)
    ]
    memory = growth(samples, 100.0)
    assert memory["rss_after_warmup_mib"] == 202.0
    assert memory["rss_end_mib"] == 209.8  # mean of the last 5 s
    assert memory["flat_within_target"] is True
    assert round(slope_per_minute([(0, 0.0), (60, 6.0)]), 6) == 6.0


def test_full_collections_are_counted_after_the_warm_up() -> None:
    samples = [
        {"t": 0.0, "gc_full": 10.0, "gc_full_pause_s": 1.0},
        {"t": 20.0, "gc_full": 12.0, "gc_full_pause_s": 1.1},
        {"t": 80.0, "gc_full": 18.0, "gc_full_pause_s": 1.4},
    ]
    found = full_collections(samples, warmup_s=20.0)
    assert found == {"collections": 6, "per_min": 6.0, "mean_pause_ms": 50.0, "paused_share": 0.005}
    assert full_collections(samples[:1], warmup_s=0.0) == {"collections": None}


def test_records_per_event_splits_what_partners_and_the_worker_wrote_and_what_it_read() -> None:
    before = {"ingest.bcp.v1": 10, "confianza-streams-events": 5, "incidents.v1": 0}
    after = {
        "ingest.bcp.v1": 110,
        "confianza-streams-events": 105,
        "confianza-streams-campaign": 95,
        "confianza-streams-dedupe-days-changelog": 100,
        "incidents.v1": 100,
        "alerts.v1": 0,
    }
    records = records_per_event(before, after, 100)
    assert records["written_by_topic"]["confianza-streams-campaign"] == 0.95
    assert "alerts.v1" not in records["written_by_topic"]
    # events, campaign, changelog, incidents
    assert records["written_by_worker"] == 1 + 0.95 + 1 + 1
    assert records["read_by_worker"] == 1 + 1 + 0.95  # ingest, events, campaign
    assert records["handled_by_worker"] == 6.9


def test_cpu_report_counts_workers_apart_from_the_broker_and_the_machines_busy_cores() -> None:
    before = CpuMark(at=10.0, machine=100.0, processes={"streams-1": 1.0, "broker": 5.0})
    after = CpuMark(at=14.0, machine=107.6, processes={"streams-1": 3.0, "broker": 6.0})
    report = cpu_report(before, after, records=1000)
    assert report["cpu_seconds"] == {"streams-1": 2.0, "broker": 1.0}
    assert report["records_per_cpu_second"] == 500.0
    assert report["machine_busy_cores"] == 1.9
    assert report["machine_cores"] == os.cpu_count()


def test_the_scale_out_row_says_when_two_processes_filled_the_machine() -> None:
    full = busy_cores_row({"pipeline": [0.96, 1.93], "passthrough": [0.9, 1.2], "machine_cores": 2})
    assert "0.96 → 1.93 (machine saturated)" in full
    assert "0.90 → 1.20 |" in full
    assert "(of 2)" in full
    unknown = busy_cores_row(
        {"pipeline": [None, None], "passthrough": [None, None], "machine_cores": 2}
    )
    assert "saturated" not in unknown
