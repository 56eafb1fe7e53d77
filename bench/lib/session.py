"""One benchmark session: a provisioned broker, the processes under test, fresh traffic.

``Session`` is what the end-to-end benchmarks (throughput, latency, soak) share: entering it
starts the broker (``BenchKafka``) with the simulator's partners and a ``Workers`` set;
leaving it stops every process and then the broker. ``schedule`` plans fresh simulated traffic
(a new seed each time, so no event is a duplicate of an earlier phase's). ``passthrough`` makes
a new topic pair for the relay. Smoke runs provision fewer partners (``SMOKE_PARTNERS``): less
to set up, the same code paths. ``python -m bench`` runs all phases in one session; each
benchmark module run alone opens its own.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.lib.kafka import BenchKafka, LagProbe
from bench.lib.procs import Workers
from bench.lib.traffic import PARTNERS, Schedule, replayed, roster, simulated

LEAD_S = 1.5  # the first record is due this long after planning (time to start the generator)
PASS_PARTITIONS = 6  # partitions of the relay's topics: those of the streams internal topics
POOL_RATE, POOL_SECONDS = 5000.0, 10.0
SMOKE_PARTNERS = 4  # the records the pass-through replays


class Session:
    """Broker + workers for one benchmark run (a context manager)."""

    def __init__(self, partners: int = PARTNERS, keep: bool = False) -> None:
        self.partners = partners
        self.workdir = Path(tempfile.mkdtemp(prefix="confianza-bench-"))
        self.keep = keep
        self.kafka = BenchKafka()
        self.workers = Workers(self.kafka, self.workdir)
        self.lag_probe: LagProbe | None = None
        self._seed = 1000
        self._pairs = 0
        self._pool: Schedule | None = None

    def __enter__(self) -> Session:
        self.kafka.start(roster(self.partners))
        self.lag_probe = self.kafka.lag_probe()
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.workers.stop_all()
            if self.lag_probe is not None:
                self.lag_probe.close()
        finally:
            self.kafka.stop()
            if not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def lag(self, groups: list[str]) -> int | None:
        assert self.lag_probe is not None
        return self.lag_probe.lag(groups)

    def schedule(self, rate: float, seconds: float, topic: str | None = None) -> Schedule:
        """Traffic due from ``LEAD_S`` after the planning is done: fresh simulated events for
        the partner topics, or the session's pool of simulated records replayed to ``topic``."""
        self._seed += 1
        if topic is not None:
            if self._pool is None:
                self._pool = simulated(
                    POOL_RATE, POOL_SECONDS, seed=1, start=time.time(), partners=self.partners
                )
            return replayed(
                self._pool, rate, seconds, seed=self._seed, start=time.time() + LEAD_S, topic=topic
            )
        planned = simulated(
            rate, seconds, seed=self._seed, start=time.time(), partners=self.partners
        )
        shift = time.time() + LEAD_S - planned.start
        planned.start += shift
        return planned

    def passthrough(self) -> tuple[str, str]:
        """A new ``(source, target)`` topic pair for the relay."""
        self._pairs += 1
        pair = (f"bench.pass.{self._pairs}.in", f"bench.pass.{self._pairs}.out")
        self.kafka.create_topics(pair, PASS_PARTITIONS)
        return pair
