"""Throughput: the raw Kafka pass-through, one streams process found by a ramp, and scale-out.

In one session (one local broker, provisioned as deployed, the simulator's 14 partners):

1. **pass-through** -- the relay (``bench.lib.relay``: same bytes, same client settings as the
   streams ingest loop, no processing) drains a backlog (its saturation rate), then takes
   open-loop steps at fractions of that rate (its sustained rate, which one load generator
   process may cap: the report says when the generator fell behind);
2. **pipeline** -- one ``confianza worker streams`` (RocksDB store, as deployed) takes a burst
   (its saturation rate, receipts and full completion), then a ramp of open-loop steps around
   it (the highest step it kept up with, see ``bench.lib.measure.step``), for the realistic
   mix of the simulator. The ramp's short steps forgive a backlog that drains soon after;
   the maximum sustained rate is the one that then **holds** for ``HOLD_S`` without
   queueing (receipt p99 within ``HOLD_P99_MS``), trying lower rates while it does not, on
   the state the ramp left (``hold``). The latency and soak levels are fractions of it
   (``reference_rate``: of the ramp's maximum when no rate held).
   Every topic's end offsets before and after the burst give the Kafka records the process
   reads and writes per event (the relay: one and one), which splits the ratio of events per
   CPU-second into records per event and cost per record;
3. **profile** -- py-spy samples the streams process during another burst (time by area and
   by function: where the time goes);
4. **scale-out** -- a burst with one process, then a second streams process joins the group
   and the burst is run twice: the first includes its table recovery, the second gives the
   ratio to the one-process burst on the same state; two relays drain a backlog likewise.
   Internal topics have 6 partitions, ingest 14 x 3.

Every pipeline figure is reported with its ratio to the pass-through figure of the same kind
from the same run. Usage::

    .venv/bin/python -m bench.bench_throughput [--smoke] [--step-seconds S]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.lib.measure import Target, backlog, burst, step
from bench.lib.pipeline import APP_ID, relay_target, start_streams, streams_target
from bench.lib.profile import py_spy
from bench.lib.results import Run, latest, run_id
from bench.lib.session import SMOKE_PARTNERS, Session
from bench.lib.targets import TARGET_EVENTS_PER_S, TARGET_RATIO, TARGET_SCALE_OUT
from bench.lib.traffic import PARTNERS
from confianza.demo.processes import Child

RAMP = (0.5, 0.7, 0.85, 1.0, 1.15)
MAX_EXTRA_STEPS = 4
PROFILE_S = 30.0
GRACE_S, GRACE_SHARE = 5.0, 0.3  # a sustained step has drained this soon after its end
HOLD_S, HOLD_TRIES, HOLD_BACKOFF = 40.0, 3, 0.8
HOLD_P99_MS = 1000.0
"""A held rate does not queue: 99 % of receipts within a second of their due time."""
STREAMS_READS = tuple(f"{APP_ID}-{name}" for name in ("events", "campaign"))
"""The internal topics the streams process reads back (besides the partner topics)."""
RELAY_RECORDS_PER_EVENT = 2  # the relay reads each record once and writes it once


REFERENCE_RATES = (
    ("pipeline_max_sustained_per_s", f"held for {HOLD_S:.0f} s"),
    ("pipeline_ramp_max_per_s", "the highest ramp step kept up with; no rate held"),
    ("pipeline_saturation_per_s", "the burst rate; no ramp step kept up"),
)


def reference_rate(summary: dict[str, Any]) -> tuple[float, str] | None:
    """The rate the latency levels and the soak are fractions of, and what it is: the rate
    that held, else the ramp's maximum, else the burst rate (None: the run found none).
    Called by ``python -m bench`` and by the latency and soak benchmarks run alone."""
    for key, basis in REFERENCE_RATES:
        if summary.get(key):
            return float(summary[key]), basis
    return None


def latest_reference_rate(smoke: bool) -> float | None:
    """``reference_rate`` of the latest throughput result written here (None when there is
    none): the default 100 % of the latency and soak benchmarks run alone."""
    found = latest("throughput", smoke=smoke)
    reference = reference_rate(found["figures"]["summary"]) if found else None
    return reference[0] if reference else None


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 3) if part and whole else None


def _times(rate: float | None, factor: float) -> float | None:
    return round(rate * factor, 1) if rate else None


def records_per_event(before: dict[str, int], after: dict[str, int], events: int) -> dict[str, Any]:
    """Kafka records per event of a drained burst, from every topic's end offsets before and
    after it: written to each topic, and in all read and written by the streams process."""
    written = {
        topic: (count - before.get(topic, 0)) / events
        for topic, count in after.items()
        if count > before.get(topic, 0)
    }
    by_partners = sum(n for topic, n in written.items() if topic.startswith("ingest."))
    by_worker = sum(written.values()) - by_partners
    read = by_partners + sum(written.get(topic, 0.0) for topic in STREAMS_READS)
    return {
        "written_by_topic": {
            topic: round(n, 2) for topic, n in sorted(written.items(), key=lambda kv: -kv[1])
        },
        "written_by_worker": round(by_worker, 2),
        "read_by_worker": round(read, 2),
        "handled_by_worker": round(by_worker + read, 2),
    }


def ramp(
    session: Session,
    target: Any,
    start_rate: float,
    seconds: float,
    fractions: tuple[float, ...],
    extra_steps: int,
) -> dict[str, Any]:
    """Open-loop steps at ``fractions`` of ``start_rate``, skipping any at or below a rate
    that held. Up to ``extra_steps`` more: while no step has held, a failed step is followed
    by one at 70 % of its rate; a failure more than 10 % above the best held rate is followed
    by the rate halfway between them; past the planned steps it goes on up by 15 % while the
    last step held. It stops at the second failure in a row once a step has held."""
    steps: list[dict[str, Any]] = []
    rates = [start_rate * f for f in fractions]
    extra = 0
    while rates:
        rate = rates.pop(0)
        best = max((s["offered_per_s"] for s in steps if s["sustained"]), default=None)
        if best is not None and rate <= best:
            continue
        result = step(session, target, rate, seconds, grace=max(GRACE_S, GRACE_SHARE * seconds))
        steps.append(result)
        print(
            f"  {target.name} step {result['offered_per_s']:>9,.0f}/s -> "
            f"{result['achieved_per_s']:>9,.0f}/s "
            f"{'sustained' if result['sustained'] else 'NOT sustained'}",
            flush=True,
        )
        if best is not None and not any(s["sustained"] for s in steps[-2:]):
            break
        if extra >= extra_steps:
            continue
        if not result["sustained"] and best is None:
            rates.insert(0, rate * 0.7)
            extra += 1
        elif not result["sustained"] and rate > 1.1 * best:
            rates.insert(0, (rate + best) / 2)
            extra += 1
        elif result["sustained"] and not rates:
            rates.append(rate * 1.15)
            extra += 1
    sustained = [s for s in steps if s["sustained"]]
    top = max(sustained, key=lambda s: s["offered_per_s"]) if sustained else None
    return {
        "max_sustained_per_s": top["offered_per_s"] if top else None,
        "records_per_cpu_second_at_max": top["records_per_cpu_second"] if top else None,
        "steps": steps,
    }


def hold(
    session: Session, target: Target, rate: float, seconds: float, tries: int
) -> dict[str, Any]:
    """``rate`` for ``seconds``, then ``HOLD_BACKOFF`` times the rate while the last one
    queued, ``tries`` rates at most. A rate holds when the step is sustained (drained within
    ``GRACE_S``) and its receipt p99 is within ``HOLD_P99_MS``."""
    holds = []
    for _ in range(tries):
        result = step(session, target, rate, seconds, grace=GRACE_S)
        p99 = result["latency_ms"]["p99"]
        held = result["sustained"] and p99 is not None and p99 <= HOLD_P99_MS
        holds.append({**result, "held": held})
        print(
            f"  {target.name} hold {result['offered_per_s']:>9,.0f}/s for {seconds:.0f} s: "
            f"receipt p99 {p99} ms, {'held' if held else 'NOT held'}",
            flush=True,
        )
        if held:
            return {"held_per_s": result["offered_per_s"], "holds": holds}
        rate *= HOLD_BACKOFF
    return {"held_per_s": None, "holds": holds}


def profiled_burst(
    session: Session, target: Target, records: int, seconds: float
) -> dict[str, Any]:
    """A burst while py-spy samples the (first) streams process: where its time goes."""
    pid = next(iter(target.pids().values()))
    out = Path(tempfile.gettempdir()) / f"confianza-profile-{run_id()}.txt"
    profile: dict[str, Any] = {}
    spy = threading.Thread(target=lambda: profile.update(py_spy(pid, seconds, out)))
    spy.start()
    result = burst(session, target, records)
    spy.join()
    return {**profile, "burst": result}


def measure(session: Session, smoke: bool, seconds: float, store: str) -> tuple[Run, list[Child]]:
    """Run every phase; returns the result and the running streams worker (for latency)."""
    run = Run(
        "throughput",
        smoke=smoke,
        settings={"step_seconds": seconds, "store": store, "ramp_fractions": RAMP},
        targets={
            "events_per_s": TARGET_EVENTS_PER_S,
            "ratio_to_passthrough": TARGET_RATIO,
            "scale_out": TARGET_SCALE_OUT,
        },
    )
    backlog_records, burst_records = (2000, 300) if smoke else (60_000, 8_000)
    fractions = (1.0,) if smoke else RAMP
    extra = 0 if smoke else MAX_EXTRA_STEPS

    print("pass-through: backlog drain, one relay", flush=True)
    pass_one = backlog(session, 1, backlog_records)
    source, sink = session.passthrough()
    relay = session.workers.relay("relay-ramp", source, sink, "bench-relay-ramp")
    pass_ramp = ramp(
        session,
        relay_target(source, sink, "bench-relay-ramp", [relay]),
        pass_one["outputs_per_s"],
        seconds,
        (1.0,) if smoke else (0.5, 0.75, 1.0),
        extra,
    )
    session.workers.stop(relay)

    print("pipeline: one streams process", flush=True)
    workers: list[Child] = []
    start_streams(session, workers, 1, store)
    target = streams_target(session, workers)
    offsets_before = session.kafka.records_per_topic()
    pipe_burst = burst(session, target, burst_records)
    records = records_per_event(
        offsets_before, session.kafka.records_per_topic(), pipe_burst["records"]
    )
    pipe_ramp = ramp(session, target, pipe_burst["completed_per_s"], seconds, fractions, extra)
    ramp_max = pipe_ramp["max_sustained_per_s"]
    hold_s, tries = (seconds, 1) if smoke else (HOLD_S, HOLD_TRIES)
    pipe_hold = (
        hold(session, target, ramp_max, hold_s, tries)
        if ramp_max
        else {"held_per_s": None, "holds": []}
    )

    print("profile: py-spy on the streams process during a burst", flush=True)
    profile = profiled_burst(session, target, burst_records // 2, 2.0 if smoke else PROFILE_S)

    print("scale-out: two streams processes, two relays", flush=True)
    pass_two = backlog(session, 2, backlog_records)
    # Both bursts run on the state the ramp left: the second process first restores its table
    # partitions from their changelogs and starts following its standbys (the burst on join),
    # then the two share the work (the burst that gives the ratio).
    pipe_burst_before = burst(session, target, burst_records)
    try:
        start_streams(session, workers, 2, store)
        two = streams_target(session, workers)
        pipe_burst_join = burst(session, two, burst_records)
        pipe_burst_two = burst(session, two, burst_records)
    except RuntimeError as exc:  # a stalled second worker is a finding, not a crash
        pipe_burst_join = pipe_burst_two = {"error": str(exc), "completed_per_s": None}
        run.notes.append(f"scale-out with two streams processes failed: {exc}")
        print(f"  {exc}", flush=True)
    while len(workers) > 1:  # the other benchmarks measure one process
        session.workers.stop(workers.pop())

    pass_max = pass_ramp["max_sustained_per_s"]
    pipe_max = pipe_hold["held_per_s"]
    run.figures = {
        "passthrough": {
            "backlog_one_relay": pass_one,
            "ramp": pass_ramp,
            "backlog_two_relays": pass_two,
        },
        "pipeline": {
            "burst_one_process": pipe_burst,
            "records_per_event": records,
            "ramp": pipe_ramp,
            "hold": pipe_hold,
            "burst_one_process_before_join": pipe_burst_before,
            "burst_two_processes_on_join": pipe_burst_join,
            "burst_two_processes": pipe_burst_two,
            "profile": profile,
        },
        "summary": {
            "passthrough_max_sustained_per_s": pass_max,
            "passthrough_saturation_per_s": pass_one["outputs_per_s"],
            "pipeline_max_sustained_per_s": pipe_max,
            "pipeline_ramp_max_per_s": ramp_max,
            "pipeline_saturation_per_s": pipe_burst["completed_per_s"],
            "ratio_sustained": _ratio(pipe_max, pass_max),
            "ratio_saturation": _ratio(pipe_burst["completed_per_s"], pass_one["outputs_per_s"]),
            "pipeline_per_cpu_second": pipe_burst["records_per_cpu_second"],
            "passthrough_per_cpu_second": pass_one["records_per_cpu_second"],
            "ratio_per_cpu_second": _ratio(
                pipe_burst["records_per_cpu_second"], pass_one["records_per_cpu_second"]
            ),
            "pipeline_records_per_event": records["handled_by_worker"],
            "passthrough_records_per_event": RELAY_RECORDS_PER_EVENT,
            "pipeline_records_per_cpu_second": _times(
                pipe_burst["records_per_cpu_second"], records["handled_by_worker"]
            ),
            "passthrough_records_per_cpu_second": _times(
                pass_one["records_per_cpu_second"], RELAY_RECORDS_PER_EVENT
            ),
            "scale_out_pipeline": _ratio(
                pipe_burst_two["completed_per_s"], pipe_burst_before["completed_per_s"]
            ),
            "scale_out_passthrough": _ratio(pass_two["outputs_per_s"], pass_one["outputs_per_s"]),
            # whether the machine, not the pipeline, was the limit of the two-process figure
            "scale_out_busy_cores": {
                "pipeline": [
                    pipe_burst_before.get("machine_busy_cores"),
                    pipe_burst_two.get("machine_busy_cores"),
                ],
                "passthrough": [
                    pass_one.get("machine_busy_cores"),
                    pass_two.get("machine_busy_cores"),
                ],
                "machine_cores": os.cpu_count(),
            },
            "meets_events_per_s": bool(pipe_max and pipe_max >= TARGET_EVENTS_PER_S),
        },
    }
    return run, workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds-long steps, tiny rates")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--store", default="rocksdb://", help="streams table store")
    args = parser.parse_args()
    seconds = 3.0 if args.smoke else args.step_seconds
    with Session(SMOKE_PARTNERS if args.smoke else PARTNERS) as session:
        run, _ = measure(session, args.smoke, seconds, args.store)
    path = run.write()
    summary = run.figures["summary"]
    for key, value in summary.items():
        print(f"{key:36} {value}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
