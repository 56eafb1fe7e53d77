"""Validator micro-benchmark: validated incident events per second per core.

Measures, on one ~500-byte incident event, in this single-threaded process:

- fast path: ``validate_event(raw)`` end to end (size check, orjson parse with strict UTF-8,
  duplicate-key check, jsonschema-rs with format checks) -- the call the ingest stage makes;
- fast path parts: orjson parse alone, and jsonschema-rs on a freshly parsed event;
- slow path: python ``jsonschema`` (Draft 2020-12, FormatChecker) deciding validity of the
  same event, and ``validate_event`` on an invalid event (parse, jsonschema-rs says no, python
  jsonschema explains with pointers) -- what a rejection costs.

Rates are per CPU second of this process (``time.process_time``), i.e. per core, so other
load on the machine distorts them less (it still costs caches and clock speed, so run it on
a quiet machine); wall-clock rates are recorded too. Each figure is the best of several
rounds. Target for the fast path: >= 200,000 events/s/core.

Results go to bench/results/validation[-smoke]-<run id>.json (``bench.lib.results``: machine,
versions, load average); a table is printed. Usage::

    .venv/bin/python -m bench.bench_validation [--smoke] [--seconds S]

``--smoke`` runs about a second in total (part of ``make test``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.lib.results import Run
from bench.lib.targets import TARGET_FAST
from confianza.schemas.validate import (
    Rejection,
    fast_validator,
    slow_validator,
    validate_event,
)

SLOW_CASE = "slow: loads + python jsonschema"

EVENT: dict[str, Any] = {
    "event_id": "bcp-2024-000123",
    "occurred_at": "2024-05-01T10:00:00-05:00",
    "reported_at": "2024-05-01T10:30:00-05:00",
    "classification": {"class": "fraud", "type": "phishing"},
    "tlp": "amber",
    "severity": "high",
    "confidence": 90,
    "sector": "banking",
    "title": "Phishing que imita a BCP",
    "description": "Sitio falso difundido por SMS.",
    "indicators": [
        {"kind": "url", "value": "hxxps://bcp-com[.]pe/login", "role": "phishing"},
        {"kind": "domain", "value": "bcp-com[.]pe", "role": "phishing"},
        {"kind": "phone", "value": "987 654 321", "role": "scam-contact"},
    ],
}


def _invalid_event() -> bytes:
    bad = orjson.loads(orjson.dumps(EVENT))
    bad["classification"]["type"] = "smishing"
    bad["tlp"] = "orange"
    return orjson.dumps(bad)


def measure(call: Callable[[], object], seconds: float, rounds: int) -> dict[str, float]:
    """Best per-CPU-second and wall-clock rates of ``call`` over a few timed rounds."""
    batch = 1
    while True:  # size a batch to ~10 ms
        start = time.perf_counter()
        for _ in range(batch):
            call()
        if time.perf_counter() - start > 0.01:
            break
        batch *= 2
    best_cpu = best_wall = 0.0
    calls = 0
    for _ in range(rounds):
        deadline = time.perf_counter() + seconds / rounds
        cpu0, wall0, done = time.process_time(), time.perf_counter(), 0
        while time.perf_counter() < deadline:
            for _ in range(batch):
                call()
            done += batch
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        calls += done
        best_cpu = max(best_cpu, done / cpu if cpu > 0 else 0.0)
        best_wall = max(best_wall, done / wall)
    return {
        "per_cpu_second": round(best_cpu),
        "per_wall_second": round(best_wall),
        "us_per_event": round(1e6 / best_cpu, 3) if best_cpu else None,
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="about one second in total")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    seconds = 0.15 if args.smoke else args.seconds

    raw = orjson.dumps(EVENT)
    invalid = _invalid_event()
    assert isinstance(validate_event(raw), dict), "the benchmark event must be valid"
    rejection = validate_event(invalid)
    assert isinstance(rejection, Rejection), "the invalid event must be rejected"
    fast, slow = fast_validator("incident-event"), slow_validator("incident-event")

    cases: dict[str, Callable[[], object]] = {
        "fast: validate_event (valid)": lambda: validate_event(raw),
        "fast part: orjson.loads": lambda: orjson.loads(raw),
        "fast part: loads + jsonschema-rs": lambda: fast.is_valid(orjson.loads(raw)),
        SLOW_CASE: lambda: slow.is_valid(orjson.loads(raw)),
        "slow: validate_event (rejected)": lambda: validate_event(invalid),
    }
    rounds = 5 if args.smoke else 10
    results = {name: measure(call, seconds, rounds) for name, call in cases.items()}
    fast_rate = results["fast: validate_event (valid)"]["per_cpu_second"]
    report = {
        "event_bytes": len(raw),
        "rejection_errors": len(rejection.errors),
        "fast_per_core": fast_rate,
        "fast_meets_target": fast_rate >= TARGET_FAST,
        "fast_vs_slow": round(
            fast_rate / results["slow: loads + python jsonschema"]["per_cpu_second"], 1
        ),
        "results": results,
    }
    run = Run(
        "validation",
        smoke=args.smoke,
        settings={"seconds_per_case": seconds, "rounds": rounds},
        targets={"fast_per_core": TARGET_FAST},
        figures=report,
    )
    path = run.write()

    print(f"validation benchmark, {len(raw)}-byte event, one core ({path.name})")
    print(f"{'case':36} {'events/s/core':>14} {'us/event':>9} {'wall events/s':>14}")
    for name, row in results.items():
        print(
            f"{name:36} {row['per_cpu_second']:>14,} {row['us_per_event']:>9.2f}"
            f" {row['per_wall_second']:>14,}"
        )
    verdict = "meets" if report["fast_meets_target"] else "MISSES"
    print(
        f"fast path {verdict} the {TARGET_FAST:,} events/s/core target; "
        f"{report['fast_vs_slow']}x the python jsonschema rate"
    )


if __name__ == "__main__":
    main()
