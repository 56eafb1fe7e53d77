"""The chain runs several test modules judge, each run once per pytest process.

A run takes minutes, and the reliability, security (secrets, spoofing, disclosure) and fuzz
(hostile records through the real worker) tests each judge a facet of the same run, so a run
is made the first time one of them asks and kept: the result, or the failure, which is then
raised again to every test that asks. ``ci`` is the bounded run ``make test`` makes; ``full``
the long one of ``make reliability`` (marked ``reliability``).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import pytest

from confianza.dev.kafka import Cluster
from tests.reliability.chain import ChainRun, Plan, run_chain

WORKERS = ("streams", "deliver-webhook", "deliver-email", "deliver-file")


def _random_kills(seed: int, count: int, start: float, end: float) -> tuple[tuple[float, str], ...]:
    """``count`` kills at random moments, every worker at least once, at least 8 s apart."""
    rng = random.Random(seed)
    names = [*WORKERS, *(rng.choice(WORKERS) for _ in range(count - len(WORKERS)))]
    rng.shuffle(names)
    step = (end - start) / count
    return tuple(
        (round(start + i * step + rng.uniform(0, step - 8), 1), name)
        for i, name in enumerate(names)
    )


PLANS = {
    "ci": Plan(
        "worker-crashes",
        rate=12,
        duration=30,
        campaigns=4,
        kills=((9.0, "streams"), (16.0, "deliver-webhook"), (21.0, "deliver-email")),
    ),
    "full": Plan(
        "worker-crashes",
        rate=20,
        duration=150,
        campaigns=8,
        hostile=150,
        seed=11,
        kills=_random_kills(11, 10, 10, 140),
        restart_after=2.0,
        settle_timeout=600,
    ),
    "broker": Plan(
        "broker-failure",
        rate=20,
        duration=90,
        campaigns=6,
        hostile=40,
        seed=13,
        broker_kill_at=30.0,
        broker_down_for=25.0,
        settle_timeout=600,
    ),
}
PROFILES = [
    pytest.param("ci", id="ci"),
    pytest.param("full", id="full", marks=pytest.mark.reliability),
]
_made: dict[str, ChainRun | BaseException] = {}


def chain_run(profile: str) -> ChainRun:
    """The run of ``profile`` (made on first use; its failure is raised to every caller)."""
    if profile not in _made:
        plan = PLANS[profile]
        cluster = Cluster(size=3 if plan.broker_kill_at is not None else 1)
        workdir = Path(tempfile.mkdtemp(prefix=f"confianza-{plan.name}-{profile}-"))
        try:
            cluster.start()
            _made[profile] = run_chain(plan, cluster, workdir)
        except Exception as exc:
            _made[profile] = exc
        finally:
            cluster.stop()
    made = _made[profile]
    if isinstance(made, BaseException):
        raise AssertionError(f"the {profile} chain run failed: {made}") from made
    return made


def describe(run: ChainRun) -> dict[str, Any]:
    """The plan of a run, for the results file."""
    plan = run.plan
    return {
        "rate_per_s": plan.rate,
        "duration_s": plan.duration,
        "partners": plan.partners,
        "campaigns": plan.campaigns,
        "hostile_records": plan.hostile,
        "kills": [[round(t - run.load_started, 1), name] for t, name in run.kills],
        "broker_fault": run.broker_fault,
        "settle_s": round(run.settled_at - run.load_ended, 1),
        "workdir": str(run.workdir),
    }
