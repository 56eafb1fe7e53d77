"""Benchmark: one streams worker vs a raw Kafka pass-through of the same bytes, same run.

    .venv/bin/python -m bench.bench_pipeline [--events 20000] [--smoke] [--profile]

The quick look of the streams work (targets, from ``bench.lib.targets``: >= 20,000 events/s,
event -> alert p99 <= 20 ms at half the maximum rate); ``python -m bench`` has the full set
(ramp, latency levels, soak, scale-out).
Starts a local broker provisioned with the simulator's 14 partners (``bench.lib.session``),
then, with the simulator's traffic:

1. pass-through: the relay (``bench.lib.relay``: the same bytes through a consume -> produce
   loop in its own process, the streams ingest loop's client settings) drains ``--events``
   records -- the ceiling any Python stage could reach here;
2. streams at full speed: ``--events`` records sent as fast as possible into the partner
   topics of one ``confianza worker streams`` process (memory store); receipts/s, and the rate
   at which every stage finished (all consumer groups caught up);
3. streams at half the receipt rate (open loop): latency percentiles produced -> receipt and
   produced -> alert (HdrHistogram, from each record's due time).

``--profile`` samples the worker with py-spy during phase 2 (``bench.lib.profile``) and adds
the hottest areas and functions to the result, bench/results/pipeline[-smoke]-<run id>.json.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.bench_latency import FirstEvidence
from bench.lib.measure import Handler, backlog, burst, step
from bench.lib.pipeline import start_streams, streams_target
from bench.lib.profile import py_spy
from bench.lib.results import Run
from bench.lib.session import SMOKE_PARTNERS, Session
from bench.lib.targets import TARGET_EVENTS_PER_S, TARGET_P99_MS
from bench.lib.traffic import PARTNERS, Schedule
from confianza.demo.processes import Child
from confianza.schemas.topics import ALERTS

HALF_RATE_SECONDS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--smoke", action="store_true", help="a few hundred events, seconds")
    parser.add_argument("--profile", action="store_true", help="py-spy the worker at full speed")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument("--store", default="memory://", help="streams table store")
    args = parser.parse_args()
    events, seconds = (600, 3.0) if args.smoke else (args.events, HALF_RATE_SECONDS)
    run = Run(
        "pipeline",
        smoke=args.smoke,
        settings={"events": events, "store": args.store, "half_rate_seconds": seconds},
        targets={"events_per_s": TARGET_EVENTS_PER_S, "alert_p99_ms_at_half_rate": TARGET_P99_MS},
    )
    with Session(SMOKE_PARTNERS if args.smoke else PARTNERS) as session:
        print(f"pass-through of {events} events …", flush=True)
        baseline = backlog(session, 1, events)
        print(baseline, flush=True)

        workers: list[Child] = []
        start_streams(session, workers, 1, args.store)
        target = streams_target(session, workers)
        profile: dict[str, Any] = {}
        if args.profile:
            out = Path(tempfile.gettempdir()) / f"confianza-profile-{int(time.time())}.txt"
            seconds_profiled = (
                min(args.profile_seconds, 5.0) if args.smoke else args.profile_seconds
            )
            spy = threading.Thread(
                target=lambda: profile.update(py_spy(workers[0].process.pid, seconds_profiled, out))
            )
            spy.start()
        print(f"streams at full speed, {events} events …", flush=True)
        full = burst(session, target, events)
        if args.profile:
            spy.join()
        print(full, flush=True)

        rate = full["outputs_per_s"] / 2
        print(f"streams at half rate ({rate:.0f}/s) for {seconds:.0f} s …", flush=True)
        alerts: dict[str, FirstEvidence] = {}

        def observe(schedule: Schedule) -> dict[str, Handler]:
            alerts["tracker"] = FirstEvidence(schedule)
            return {ALERTS: alerts["tracker"].on_record}

        half = step(session, target, rate, seconds, grace=max(5.0, seconds), observe=observe)
        half["latency_alert_ms"] = alerts["tracker"].latency.report()
        half["latency_receipt_ms"] = half.pop("latency_ms")

    run.figures = {
        "passthrough": baseline,
        "streams_full": full,
        "streams_half_rate": half,
        "ratio_streams_to_passthrough": round(full["outputs_per_s"] / baseline["outputs_per_s"], 4),
        "ratio_completed_to_passthrough": round(
            full["completed_per_s"] / baseline["outputs_per_s"], 4
        ),
        "profile": profile or None,
    }
    path = run.write()
    print(f"written to {path}")
    print(
        f"streams {full['outputs_per_s']:.0f} receipts/s ({full['completed_per_s']:.0f}/s "
        f"through every stage), pass-through {baseline['outputs_per_s']:.0f} events/s (ratio "
        f"{run.figures['ratio_streams_to_passthrough']:.3f}); at half rate p99 receipt "
        f"{half['latency_receipt_ms']['p99']} ms, p99 alert {half['latency_alert_ms']['p99']} ms"
    )


if __name__ == "__main__":
    main()
