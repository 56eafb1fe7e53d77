"""The measurements the end-to-end benchmarks are made of: open-loop steps and drains.

A ``Target`` is what is measured: the streams pipeline (records into the partner ingest topics,
one receipt per record out, consumer groups of the streams worker) or the pass-through relay
(records into its source topic, the same records out of its target topic, the relay's group).
Outputs are matched to sends by key (the event id) with ``Matcher``; latency is measured from
the time a record was *due* (its schedule), so queueing in front of a saturated stage counts.

- ``step``: offer ``rate`` records/s for ``seconds`` (open loop), then wait for every output
  and for the groups to commit everything; a step is *sustained* when the outputs kept pace
  (outputs over the last three quarters of the step >= ``KEEP_UP`` of the records due in that
  time) and the
  backlog was gone within ``grace`` of the last record's due time.
- ``burst``: send ``records`` as fast as the generator can to a target that is already running;
  the rate from the first due time to the last output is the saturation throughput.
- ``backlog``: start ``processes`` relays held back, fill the source, release them together
  once their group is stable and time the drain (for the relay, which is faster than one
  generator can feed).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.lib.collect import Collector, Handler
from bench.lib.latency import Latency
from bench.lib.load import OpenLoop
from bench.lib.procs import cpu_seconds, machine_busy_seconds
from bench.lib.session import Session
from bench.lib.traffic import Schedule

KEEP_UP = 0.95
SAMPLE_S = 1.0
GENERATOR_SLACK_MS = 100.0  # a step whose generator was later than this (p99) was under-offered


@dataclass
class Target:
    """Where records go in, where their outputs come out, who processes them."""

    name: str
    source: str | None  # None: each partner's ingest topic
    outputs: list[str]
    groups: list[str]
    pids: Callable[[], dict[str, int]]


@dataclass
class Matcher:
    """Pairs each output (keyed by event id) with the due time of the send it answers."""

    schedule: Schedule
    latency: Latency = field(default_factory=Latency)
    arrivals: list[float] = field(default_factory=list)
    unmatched: int = 0
    pending: dict[bytes, deque[float]] = field(init=False)

    def __post_init__(self) -> None:
        self.pending = {k: deque(v) for k, v in self.schedule.sends.items()}

    def handle(self, topic: str, key: bytes | None, value: bytes | None, arrived: float) -> None:
        self.arrivals.append(arrived)
        sends = self.pending.get(key or b"")
        if sends:
            self.latency.record(arrived - (self.schedule.start + sends.popleft()))
        else:
            self.unmatched += 1

    def rate_between(self, begin: float, end: float) -> float:
        """Outputs per second that arrived between two Unix times."""
        return sum(1 for t in self.arrivals if begin <= t < end) / max(1e-9, end - begin)


@dataclass(frozen=True)
class CpuMark:
    """CPU used so far, read at ``at`` (monotonic): the whole machine's busy seconds and each
    measured process's."""

    at: float
    machine: float
    processes: dict[str, float]


def _cpu(pids: dict[str, int]) -> CpuMark:
    found = {}
    for name, pid in pids.items():
        try:
            found[name] = cpu_seconds(pid)
        except OSError:
            found[name] = 0.0
    return CpuMark(time.monotonic(), machine_busy_seconds(), found)


def cpu_report(before: CpuMark, after: CpuMark, records: int) -> dict[str, Any]:
    """CPU of each measured process, records per CPU-second of the measured workers (the
    broker apart), and how many of the machine's cores were busy on average, with whatever
    else ran (the generator, the collector, other load)."""
    used = {
        name: round(after.processes[name] - before.processes.get(name, 0.0), 2)
        for name in after.processes
    }
    total = sum(v for k, v in used.items() if k != "broker")
    wall = after.at - before.at
    return {
        "cpu_seconds": used,
        "records_per_cpu_second": round(records / total, 1) if total > 0 else None,
        "machine_busy_cores": round((after.machine - before.machine) / wall, 2) if wall else None,
        "machine_cores": os.cpu_count(),
    }


def _wait_settled(
    session: Session, target: Target, matcher: Matcher, expected: int, until: float
) -> float | None:
    """Block until every output arrived and the groups committed everything (or ``until``);
    returns the Unix time that happened, or None."""
    while time.time() < until:
        if len(matcher.arrivals) >= expected and session.lag(target.groups) == 0:
            return time.time()
        time.sleep(0.2)
    return None


def step(
    session: Session,
    target: Target,
    rate: float,
    seconds: float,
    grace: float,
    observe: Callable[[Schedule], dict[str, Handler]] | None = None,
) -> dict[str, Any]:
    """One open-loop step at ``rate`` records/s (see the module docstring).

    ``observe(schedule)`` may name more topics to read during the step, with their handlers
    (the latency benchmark follows ``alerts.v1`` this way)."""
    schedule = session.schedule(rate, seconds, topic=target.source)
    matcher = Matcher(schedule)
    observers = observe(schedule) if observe else {}
    lags: list[tuple[float, int]] = []
    pids = target.pids() | session_broker(session)

    def handle(topic: str, key: bytes | None, value: bytes | None, arrived: float) -> None:
        (observers.get(topic) or matcher.handle)(topic, key, value, arrived)

    with Collector(session.kafka.admin, [*target.outputs, *observers], handle):
        cpu_before = _cpu(pids)
        generator = OpenLoop(session.kafka.admin, schedule.items)
        schedule.start = generator.start(schedule.start)
        end = schedule.start + seconds
        while time.time() < end:
            time.sleep(SAMPLE_S)
            lags.append((round(time.time() - schedule.start, 1), session.lag(target.groups)))
        sent = generator.result(timeout=seconds + 120)
        settled = _wait_settled(session, target, matcher, len(schedule), end + grace)
        sustained = settled is not None
        if settled is None:  # let the backlog drain before the next step (bounded)
            settled = _wait_settled(session, target, matcher, len(schedule), end + 4 * seconds)
        cpu_after = _cpu(pids)
    window = (schedule.start + seconds / 4, end)
    achieved = matcher.rate_between(*window)
    offered = schedule.rate_between(*window)
    sustained = sustained and achieved >= KEEP_UP * offered
    return {
        "offered_per_s": round(len(schedule) / seconds, 1),
        "offered_in_window_per_s": round(offered, 1),
        "records": len(schedule),
        "kinds": dict(schedule.kinds),
        "outputs": len(matcher.arrivals),
        "unmatched_outputs": matcher.unmatched,
        "achieved_per_s": round(achieved, 1),
        "sustained": sustained,
        "drained_after_s": None if settled is None else round(settled - end, 2),
        "latency_ms": matcher.latency.report(),
        "lag_samples": lags,
        "generator": sent,
        "generator_kept_up": sent["send_lag_ms"]["p99"] <= GENERATOR_SLACK_MS,
        **cpu_report(cpu_before, cpu_after, len(schedule)),
    }


def burst(session: Session, target: Target, records: int) -> dict[str, Any]:
    """Saturation throughput of a running target: ``records`` sent as fast as possible."""
    schedule = session.schedule(records / 2.0, 2.0, topic=target.source)
    items = [(0.0, topic, key, value) for _, topic, key, value in schedule.items]
    matcher = Matcher(schedule)
    pids = target.pids() | session_broker(session)
    with Collector(session.kafka.admin, target.outputs, matcher.handle):
        cpu_before = _cpu(pids)
        generator = OpenLoop(session.kafka.admin, items)
        began = schedule.start = generator.start(time.time())
        sent = generator.result(timeout=600)
        done = _wait_settled(session, target, matcher, len(items), began + 120 + records / 50)
        cpu_after = _cpu(pids)
    if done is None or not matcher.arrivals:
        assert session.lag_probe is not None
        raise RuntimeError(
            f"{target.name}: the burst of {records} records did not drain: "
            f"{len(matcher.arrivals)} outputs, lag {session.lag_probe.detail(target.groups)}"
        )
    last_output = max(matcher.arrivals)
    return {
        "records": len(items),
        "outputs_per_s": round(len(items) / (last_output - began), 1),
        "completed_per_s": round(len(items) / (done - began), 1),
        "generator_send_rate": sent["send_rate"],
        **cpu_report(cpu_before, cpu_after, len(items)),
    }


def backlog(session: Session, processes: int, records: int) -> dict[str, Any]:
    """Drain rate of ``processes`` pass-through relays released together on a full topic."""
    source, sink = session.passthrough()
    group = f"bench-relay-{source.split('.')[2]}"
    go = session.workdir / f"go-{group}"
    relays = [
        session.workers.relay(f"relay-{source}-{n}", source, sink, group, go)
        for n in range(processes)
    ]
    schedule = session.schedule(records / 2.0, 2.0, topic=source)
    items = [(0.0, topic, key, value) for _, topic, key, value in schedule.items]
    filler = OpenLoop(session.kafka.admin, items)
    filler.start(time.time())
    filler.result(timeout=600)
    assert session.lag_probe is not None
    deadline = time.time() + 120
    while session.lag_probe.stable_members(group) < processes:
        if time.time() > deadline or any(not r.alive() for r in relays):
            raise RuntimeError(f"{processes} relays did not join; see {session.workdir}/logs")
        time.sleep(0.2)
    matcher = Matcher(schedule)
    target = Target("passthrough", source, [sink], [group], dict)
    pids = {f"relay-{n}": r.process.pid for n, r in enumerate(relays)} | session_broker(session)
    with Collector(session.kafka.admin, [sink], matcher.handle):
        cpu_before = _cpu(pids)
        go.touch()
        done = _wait_settled(session, target, matcher, len(items), time.time() + 600)
        cpu_after = _cpu(pids)
    for relay in relays:
        session.workers.stop(relay)
    if done is None:
        raise RuntimeError(f"{processes} relay(s) did not drain {records} records")
    first, last = min(matcher.arrivals), max(matcher.arrivals)
    return {
        "processes": processes,
        "records": len(items),
        "outputs_per_s": round((len(items) - 1) / max(1e-9, last - first), 1),
        **cpu_report(cpu_before, cpu_after, len(items)),
    }


def session_broker(session: Session) -> dict[str, int]:
    pid = session.kafka.broker_pid
    return {"broker": pid} if pid else {}
