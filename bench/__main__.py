"""``python -m bench``: every benchmark, one run id, then the summary table and plots.

``make bench`` runs this (under 30 minutes on the 2-core development machine); ``make
bench-smoke`` runs it with ``--smoke`` (each benchmark for seconds, tiny rates: the code paths,
not the figures). Order: validation micro-benchmark; one broker session for the pass-through,
the throughput ramp and scale-out, the latency levels and the soak (each measured against the
maximum the ramp found); the delivery benchmark (its own broker); the report. A benchmark that
fails is reported and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import bench_latency, bench_soak, bench_throughput, report
from bench.lib.results import ROOT, load_average, results_dir
from bench.lib.session import SMOKE_PARTNERS, Session
from bench.lib.traffic import PARTNERS

FULL = {
    "step_seconds": 20.0,
    "latency_seconds": 30.0,
    "soak_seconds": 600.0,
    "sample": 5.0,
    "soak_indicators": bench_soak.TARGET_INDICATORS,
}
SMOKE = {
    "step_seconds": 3.0,
    "latency_seconds": 3.0,
    "soak_seconds": 6.0,
    "sample": 1.0,
    "soak_indicators": bench_soak.SMOKE_INDICATORS,
}


def _module(name: str, smoke: bool) -> None:
    command = [sys.executable, "-m", f"bench.{name}", *(["--smoke"] if smoke else [])]
    subprocess.run(command, check=True, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds per benchmark")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results)")
    parser.add_argument("--store", default="rocksdb://", help="streams table store")
    args = parser.parse_args()
    os.environ["BENCH_RUN_ID"] = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    if args.out is not None:
        os.environ["BENCH_RESULTS_DIR"] = str(args.out.resolve())
    plan = SMOKE if args.smoke else FULL
    began = time.monotonic()
    print(f"benchmarks {os.environ['BENCH_RUN_ID']}; load average {load_average()}", flush=True)
    failed: list[str] = []

    def attempt(name: str, work: Callable[[], None]) -> None:
        print(f"== {name} ({time.monotonic() - began:.0f}s)", flush=True)
        try:
            work()
        except Exception:  # one benchmark failing must not hide the others' figures
            traceback.print_exc()
            failed.append(name)

    attempt("validation", lambda: _module("bench_validation", args.smoke))

    def end_to_end() -> None:
        with Session(SMOKE_PARTNERS if args.smoke else PARTNERS) as session:
            run, workers = bench_throughput.measure(
                session, args.smoke, plan["step_seconds"], args.store
            )
            print(f"written to {run.write()}", flush=True)
            reference = bench_throughput.reference_rate(run.figures["summary"])
            if reference is None:
                raise RuntimeError("the throughput benchmark found no rate to take levels from")
            top, basis = reference
            print(f"latency levels and soak: fractions of {top:,.0f}/s ({basis})", flush=True)
            attempt(
                "latency",
                lambda: print(
                    "written to",
                    bench_latency.measure(
                        session, args.smoke, top, plan["latency_seconds"], args.store, workers
                    ).write(),
                    flush=True,
                ),
            )
            attempt(
                "soak",
                lambda: print(
                    "written to",
                    bench_soak.measure(
                        session,
                        args.smoke,
                        top,
                        plan["soak_seconds"],
                        plan["sample"],
                        args.store,
                        workers,
                        plan["soak_indicators"],
                    ).write(),
                    flush=True,
                ),
            )

    attempt("throughput", end_to_end)
    attempt("delivery", lambda: _module("bench_delivery", args.smoke))
    attempt("report", lambda: report.write(os.environ["BENCH_RUN_ID"], results_dir()))
    print(
        f"done in {time.monotonic() - began:.0f}s; load average {load_average()}; "
        f"{'failed: ' + ', '.join(failed) if failed else 'all benchmarks ran'}",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
