"""The two targets of the end-to-end benchmarks, started in a session: streams and relay.

``start_streams(session, workers, count, store)`` brings the number of ``confianza worker
streams`` processes (as deployed: RocksDB store unless told otherwise, one state directory
each) up to ``count`` and, when it started one, waits until they answer: a little traffic
must get its receipts and every consumer group of the worker must have committed it.
``streams_target`` and ``relay_target`` describe the targets for ``bench.lib.measure``.
"""

from __future__ import annotations

from bench.lib.measure import Target, step
from bench.lib.session import Session
from confianza.demo.processes import Child
from confianza.schemas.topics import receipts_topic

APP_ID = "confianza-streams"
GROUPS = [f"{APP_ID}-ingest", APP_ID]
READY_RATE = 20.0


def streams_target(session: Session, workers: list[Child]) -> Target:
    return Target(
        name="pipeline",
        source=None,
        outputs=[receipts_topic(p) for p in session.kafka.partners],
        groups=GROUPS,
        pids=lambda: {w.name: w.process.pid for w in workers},
    )


def relay_target(source: str, sink: str, group: str, relays: list[Child]) -> Target:
    return Target(
        name="passthrough",
        source=source,
        outputs=[sink],
        groups=[group],
        pids=lambda: {r.name: r.process.pid for r in relays},
    )


def start_streams(session: Session, workers: list[Child], count: int, store: str) -> None:
    """Start workers until ``count`` run; after starting any, wait until they process traffic
    end to end."""
    if len(workers) >= count:
        return
    while len(workers) < count:
        workers.append(session.workers.streams(f"streams-{len(workers) + 1}", store))
    ready = step(session, streams_target(session, workers), READY_RATE, 3.0, grace=180.0)
    dead = [w for w in workers if not w.alive()]
    if dead or ready["drained_after_s"] is None:
        logs = "; ".join(f"{c.name}: {c.log_tail()}" for c in dead)
        raise RuntimeError(f"streams workers not ready ({logs or 'no receipts in time'})")
