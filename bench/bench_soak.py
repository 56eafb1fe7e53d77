"""Soak: a long run at half the maximum rate; resident memory and state size over time.

One ``confianza worker streams`` (RocksDB store, as deployed) takes the simulator's realistic
mix at 50 % of the maximum sustained rate (from the throughput benchmark of the same run, or
``--max-rate``) for ``--seconds`` (10 minutes by default). Every noise event brings indicators
nobody reported before, so the correlation state keeps meeting new keys for the whole run.
Every ``--sample`` seconds: the worker's RSS and CPU, its state directory on disk, the
indicators and campaigns it tracks and the memory its RocksDB databases hold (its
``/metrics``), and the consumer lag. Reported: RSS after the warm-up (the first
``WARMUP_FRACTION`` of the run) against RSS at the end, the least-squares slope after the
warm-up, with and without the RocksDB part, and the receipt latency over the whole soak.

Before the soak a feed of malware-sandbox reports (``traffic.indicator_feed``: 50 new file
hashes per event, ``FEED_EVENTS_PER_S``) fills the correlation state with ``--indicators``
distinct indicators (1 million), and the soak starts once the worker has absorbed it: the
soak then measures a worker whose state holds a million indicators, while the mix keeps
adding new ones. The result reports the feed (how long it took to send and to absorb) and
the tracked indicators at the end. Usage::

    .venv/bin/python -m bench.bench_soak [--smoke] [--max-rate N] [--seconds S] [--sample S]
        [--indicators N]
"""

from __future__ import annotations

import argparse
import time
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.bench_throughput import latest_reference_rate
from bench.lib.collect import Collector
from bench.lib.load import OpenLoop
from bench.lib.measure import Matcher
from bench.lib.pipeline import GROUPS, start_streams, streams_target
from bench.lib.procs import cpu_seconds, dir_bytes, rss_bytes
from bench.lib.results import Run
from bench.lib.session import SMOKE_PARTNERS, Session
from bench.lib.targets import TARGET_GROWTH, TARGET_INDICATORS
from bench.lib.traffic import PARTNERS, indicator_feed
from confianza.demo.processes import Child

LOAD = 0.5
WARMUP_FRACTION = 0.2
SMOKE_INDICATORS = 2_000
FEED_EVENTS_PER_S = 100.0
FEED_ABSORB_S = 600.0
"""How long the worker may take to absorb the feed after it was sent."""
GC_PAUSES = "confianza_gc_full_pause_seconds"
GAUGES = (
    "confianza_tracked_indicators",
    "confianza_open_campaigns",
    "confianza_rocksdb_memory_bytes",
)


def gauges(port: int) -> dict[str, float]:
    """The state gauges a streams worker exports, each summed over its labels, and the count
    and sum of its full collections' pauses (empty when /metrics does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name in GAUGES and family.samples:
            found[family.name] = sum(sample.value for sample in family.samples)
        elif family.name == GC_PAUSES:
            found |= {s.name: s.value for s in family.samples if not s.name.endswith("_bucket")}
    return found


def full_collections(samples: list[dict[str, Any]], warmup_s: float) -> dict[str, Any]:
    """Full garbage collections of the worker after the warm-up: how many, how often, and
    the time they paused it."""
    after = [s for s in samples if s["t"] >= warmup_s and s.get("gc_full") is not None]
    if len(after) < 2:
        return {"collections": None}
    first, last = after[0], after[-1]
    collections = last["gc_full"] - first["gc_full"]
    paused_s = last["gc_full_pause_s"] - first["gc_full_pause_s"]
    minutes = (last["t"] - first["t"]) / 60
    return {
        "collections": int(collections),
        "per_min": round(collections / minutes, 2) if minutes else None,
        "mean_pause_ms": round(1000 * paused_s / collections, 1) if collections else None,
        "paused_share": round(paused_s / (last["t"] - first["t"]), 4),
    }


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` points, per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def growth(samples: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """RSS after the warm-up against the end of the run (means over a window each), and the
    same for the part of it RocksDB's memtables, block caches and table readers hold (bounded
    per database, so they may fill for longer than a soak lasts)."""
    warm = WARMUP_FRACTION * seconds
    window = max(seconds * 0.05, 1.0)
    after = [s for s in samples if s["t"] >= warm]
    first = [s for s in after if s["t"] < warm + window]
    last = [s for s in after if s["t"] >= seconds - window]
    if not first or not last:
        return {"rss_growth": None}

    def mean(window: list[dict[str, Any]], key: str) -> float:
        return sum(s.get(key) or 0.0 for s in window) / len(window)

    start, end = mean(first, "rss_mib"), mean(last, "rss_mib")
    return {
        "warmup_s": warm,
        "rss_after_warmup_mib": round(start, 1),
        "rss_end_mib": round(end, 1),
        "rss_max_mib": round(max(s["rss_mib"] for s in samples), 1),
        "rss_growth": round((end - start) / start, 4),
        "rss_slope_mib_per_min": slope_per_minute([(s["t"], s["rss_mib"]) for s in after]),
        "rocksdb_after_warmup_mib": round(mean(first, "rocksdb_mib"), 1),
        "rocksdb_end_mib": round(mean(last, "rocksdb_mib"), 1),
        "rss_outside_rocksdb_slope_mib_per_min": slope_per_minute(
            [(s["t"], s["rss_mib"] - (s.get("rocksdb_mib") or 0.0)) for s in after]
        ),
        "state_dir_start_mib": after[0]["state_dir_mib"],
        "state_dir_end_mib": samples[-1]["state_dir_mib"],
        "flat_within_target": abs((end - start) / start) <= TARGET_GROWTH,
    }


def fill(session: Session, indicators: int) -> dict[str, Any]:
    """Send the indicator feed and wait until the worker has read all of it (no lag twice in a
    row); called before the soak. Returns what it took (the tracked indicators are in the
    soak's samples)."""
    template = session.schedule(20, 10)
    feed = indicator_feed(template, indicators, FEED_EVENTS_PER_S, start=time.time() + 5)
    print(f"  feeding {indicators:,} distinct indicators in {len(feed):,} events", flush=True)
    began = time.time()
    generator = OpenLoop(session.kafka.admin, feed.items)
    generator.start(feed.start)
    sent = generator.result(timeout=len(feed) / FEED_EVENTS_PER_S + 300)
    sent_s = time.time() - began
    lags: list[int | None] = []
    deadline = time.time() + FEED_ABSORB_S
    while time.time() < deadline and lags[-2:] != [0, 0]:
        time.sleep(2.0)
        lags.append(session.lag(GROUPS))
        print(f"  absorbing the feed: lag {lags[-1]}", flush=True)
    return {
        "indicators_sent": feed.indicators,
        "events": len(feed),
        "events_per_s": FEED_EVENTS_PER_S,
        "sent_s": round(sent_s, 1),
        "absorbed_s": round(time.time() - began, 1),
        "absorbed": lags[-2:] == [0, 0],
        "generator": sent,
    }


def measure(
    session: Session,
    smoke: bool,
    max_rate: float,
    seconds: float,
    sample: float,
    store: str,
    workers: list[Child] | None = None,
    indicators: int = TARGET_INDICATORS,
) -> Run:
    """Fill the state with ``indicators`` (``fill``), then soak for ``seconds`` at half of
    ``max_rate``, sampling every ``sample`` seconds."""
    rate = LOAD * max_rate
    run = Run(
        "soak",
        smoke=smoke,
        settings={
            "max_rate": max_rate,
            "rate": rate,
            "seconds": seconds,
            "sample_s": sample,
            "store": store,
            "warmup_fraction": WARMUP_FRACTION,
            "feed_indicators": indicators,
        },
        targets={
            "rss_growth_after_warmup": TARGET_GROWTH,
            "distinct_indicators": TARGET_INDICATORS,
        },
    )
    workers = workers if workers is not None else []
    start_streams(session, workers, max(1, len(workers)), store)
    worker = workers[0]
    name = worker.name
    port = session.workers.metrics_ports[name]
    filled = fill(session, indicators) if indicators else None
    print(f"  planning {rate * seconds:,.0f} events at {rate:,.0f}/s", flush=True)
    schedule = session.schedule(rate, seconds)
    matcher = Matcher(schedule)
    target = streams_target(session, workers)
    samples: list[dict[str, Any]] = []
    with Collector(session.kafka.admin, target.outputs, matcher.handle):
        generator = OpenLoop(session.kafka.admin, schedule.items)
        schedule.start = generator.start(schedule.start)
        cpu_before = cpu_seconds(worker.process.pid)
        end = schedule.start + seconds
        while time.time() < end:
            time.sleep(max(0.0, min(sample, end - time.time())))
            state = gauges(port)
            samples.append(
                {
                    "t": round(time.time() - schedule.start, 1),
                    "rss_mib": round(rss_bytes(worker.process.pid) / 2**20, 1),
                    "cpu_s": round(cpu_seconds(worker.process.pid) - cpu_before, 2),
                    "state_dir_mib": round(dir_bytes(session.workers.state_dir(name)) / 2**20, 2),
                    "tracked_indicators": state.get("confianza_tracked_indicators"),
                    "open_campaigns": state.get("confianza_open_campaigns"),
                    "rocksdb_mib": round(state.get("confianza_rocksdb_memory_bytes", 0) / 2**20, 1),
                    "gc_full": state.get(f"{GC_PAUSES}_count"),
                    "gc_full_pause_s": state.get(f"{GC_PAUSES}_sum"),
                    "lag": session.lag(GROUPS),
                    "receipts": len(matcher.arrivals),
                }
            )
        sent = generator.result(timeout=seconds + 300)
        deadline = time.time() + max(30.0, seconds / 10)
        while time.time() < deadline and len(matcher.arrivals) < len(schedule):
            time.sleep(0.5)
    run.figures = {
        "feed": filled,
        "events": len(schedule),
        "kinds": dict(schedule.kinds),
        "indicators_sent": schedule.indicators,
        "distinct_indicators_sent": schedule.distinct_indicators,
        "tracked_indicators_end": samples[-1]["tracked_indicators"] if samples else None,
        "receipts": len(matcher.arrivals),
        "latency_receipt_ms": matcher.latency.report(),
        "generator": sent,
        "memory": growth(samples, seconds),
        "full_collections": full_collections(samples, WARMUP_FRACTION * seconds),
        "samples": samples,
    }
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds long")
    parser.add_argument(
        "--max-rate",
        type=float,
        help="events/s taken as 100 %% (default: the latest throughput result)",
    )
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--store", default="rocksdb://", help="streams table store")
    parser.add_argument(
        "--indicators",
        type=int,
        help=f"distinct indicators fed before the soak (default {TARGET_INDICATORS:,}; "
        f"smoke {SMOKE_INDICATORS:,}; 0: none)",
    )
    args = parser.parse_args()
    max_rate = args.max_rate
    if max_rate is None:
        max_rate = latest_reference_rate(args.smoke)
    if not max_rate:
        parser.error("no throughput result to take the maximum from: pass --max-rate")
    seconds, sample = (8.0, 1.0) if args.smoke else (args.seconds, args.sample)
    with Session(SMOKE_PARTNERS if args.smoke else PARTNERS) as session:
        indicators = args.indicators
        if indicators is None:
            indicators = SMOKE_INDICATORS if args.smoke else TARGET_INDICATORS
        run = measure(
            session, args.smoke, max_rate, seconds, sample, args.store, indicators=indicators
        )
    path = run.write()
    print(run.figures["memory"])
    print(run.figures["full_collections"])
    print(f"written to {path}")


if __name__ == "__main__":
    main()
