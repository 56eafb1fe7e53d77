"""Latency under open-loop load: produced -> receipt, -> alert, -> webhook delivered.

The whole chain runs as deployed: one ``confianza worker streams`` (RocksDB store), one
``confianza worker deliver --channel webhook`` and a verifying webhook receiver standing in
for the center's analysts (cleared for TLP:RED, no grouping delay, so every alert version is
delivered with all its evidence). At 25 %, 50 % and 75 % of the maximum sustained rate (from
the throughput benchmark of the same run, or ``--max-rate``), the open-loop generator sends
the simulator's realistic mix on schedule; latencies start at each record's *due* time:

- receipt: the record's receipt on ``receipts.<partner>.v1`` reaches the collector;
- alert: the alert version that first carries the event as evidence reaches the collector
  (only the newest new event of a version counts: the one that caused it);
- webhook: that version, as delivered and verified, reaches the receiver.

HdrHistogram, p50/p90/p99/p99.9. The pass-through relay is measured at the same three rates
in the same run, so each percentile has a ratio to what the broker and clients alone give.
Usage::

    .venv/bin/python -m bench.bench_latency [--smoke] [--max-rate N] [--seconds S]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml

from bench.bench_throughput import latest_reference_rate
from bench.lib.latency import Latency
from bench.lib.measure import Handler, Target, step
from bench.lib.pipeline import GROUPS, relay_target, start_streams, streams_target
from bench.lib.results import Run
from bench.lib.session import SMOKE_PARTNERS, Session
from bench.lib.targets import TARGET_P50_MS, TARGET_P99_MS
from bench.lib.traffic import PARTNERS, Schedule
from confianza.consumers.webhook.receiver import Received, WebhookReceiver
from confianza.consumers.webhook.signing import generate_secret
from confianza.consumers.worker import group_id
from confianza.demo.processes import Child
from confianza.schemas.topics import ALERTS

LEVELS = (0.25, 0.5, 0.75)
SECRET_ENV = "BENCH_WEBHOOK_SECRET"


class FirstEvidence:
    """Latency from an event's due time to the first alert version that carries it.

    Fed alert versions (from ``alerts.v1`` or from webhooks) in arrival order; for each version
    the evidence not seen before in that alert is new, and the newest of the new events
    known to the schedule is the one that caused the version.
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.latency = Latency()
        self.seen: dict[str, set[str]] = {}
        self.versions = 0

    def alert(self, alert: dict[str, Any], arrived: float) -> None:
        self.versions += 1
        known = self.seen.setdefault(alert["alert_id"], set())
        new = [e["event_uid"] for e in alert.get("evidence", ()) if e["event_uid"] not in known]
        known.update(new)
        due = [self.schedule.uids[u] for u in new if u in self.schedule.uids]
        if due:
            self.latency.record(arrived - (self.schedule.start + max(due)))

    def on_record(self, topic: str, key: bytes | None, value: bytes | None, at: float) -> None:
        if value is not None:
            self.alert(orjson.loads(value), at)

    def on_webhook(self, delivery: Received) -> None:
        if isinstance(delivery.body, dict) and isinstance(delivery.body.get("data"), dict):
            self.alert(delivery.body["data"], delivery.at)


def subscriptions(url: str, path: Path) -> Path:
    """One subscriber: the center's analysts on a webhook, everything, at once."""
    document = {
        "version": 1,
        "subscribers": [
            {
                "id": "cnsd-bench",
                "audience": "center",
                "analyst": True,
                "channel": "webhook",
                "target": url,
                "min_severity": "low",
                "tlp_clearance": "red",
                "grouping": {"group_wait": 0, "group_interval": 0, "repeat_interval": "1h"},
                "rate_limit": {"max": 100000, "per": "1s"},
                "secrets": {"webhook_secret_env": SECRET_ENV},
            }
        ],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _level(
    session: Session,
    target: Target,
    rate: float,
    seconds: float,
    webhooks: list[Callable[[Received], None]],
) -> dict[str, Any]:
    trackers: dict[str, FirstEvidence] = {}

    def observe(schedule: Schedule) -> dict[str, Handler]:
        trackers["alert"] = FirstEvidence(schedule)
        trackers["webhook"] = FirstEvidence(schedule)
        webhooks[:] = [trackers["webhook"].on_webhook]
        return {ALERTS: trackers["alert"].on_record}

    result = step(session, target, rate, seconds, grace=max(5.0, seconds / 4), observe=observe)
    webhooks.clear()
    return {
        **result,
        "latency_receipt_ms": result.pop("latency_ms"),
        "latency_alert_ms": trackers["alert"].latency.report(),
        "latency_webhook_ms": trackers["webhook"].latency.report(),
        "alert_versions": trackers["alert"].versions,
        "webhooks": trackers["webhook"].versions,
    }


def measure(
    session: Session,
    smoke: bool,
    max_rate: float,
    seconds: float,
    store: str,
    workers: list[Child] | None = None,
) -> Run:
    """Pass-through and pipeline at each level of ``max_rate``."""
    run = Run(
        "latency",
        smoke=smoke,
        settings={"max_rate": max_rate, "levels": LEVELS, "seconds": seconds, "store": store},
        targets={"p50_alert_ms_at_50pct": TARGET_P50_MS, "p99_alert_ms_at_50pct": TARGET_P99_MS},
    )
    webhooks: list[Callable[[Received], None]] = []
    secret = generate_secret()

    def delivered(delivery: Received) -> None:
        for callback in webhooks:
            callback(delivery)

    source, sink = session.passthrough()
    relay = session.workers.relay("relay-latency", source, sink, "bench-relay-latency")
    passthrough = relay_target(source, sink, "bench-relay-latency", [relay])
    levels_run = (0.5,) if smoke else LEVELS
    baseline = {}
    for level in levels_run:
        print(f"  pass-through at {level:.0%}: {level * max_rate:,.0f}/s", flush=True)
        baseline[f"{level:.0%}"] = step(
            session, passthrough, level * max_rate, seconds, grace=max(5.0, seconds / 4)
        )
    session.workers.stop(relay)

    workers = workers if workers is not None else []
    with WebhookReceiver(secret, on_delivery=delivered, keep=False) as receiver:
        subs = subscriptions(receiver.url("/cnsd"), session.workdir / "subscriptions.yaml")
        deliver = session.workers.delivery("deliver-webhook", subs, {SECRET_ENV: secret})
        start_streams(session, workers, max(1, len(workers)), store)
        target = streams_target(session, workers)
        target.groups = [*GROUPS, group_id("webhook")]
        target.pids = lambda: {w.name: w.process.pid for w in [*workers, deliver]}
        print("  warm-up of the chain", flush=True)
        _level(session, target, LEVELS[0] * max_rate, min(seconds, 10.0), webhooks)
        levels = {}
        for level in levels_run:
            print(f"  pipeline at {level:.0%}: {level * max_rate:,.0f}/s", flush=True)
            levels[f"{level:.0%}"] = _level(session, target, level * max_rate, seconds, webhooks)
        session.workers.stop(deliver)

    def ratio(level: str, kind: str, p: str) -> float | None:
        mine = levels[level][f"latency_{kind}_ms"][p]
        base = baseline[level]["latency_ms"][p]
        return round(mine / base, 1) if mine and base else None

    run.figures = {
        "passthrough": baseline,
        "pipeline": levels,
        "summary": {
            level: {
                **{
                    f"{kind}_{p}_ms": levels[level][f"latency_{kind}_ms"][p]
                    for kind in ("receipt", "alert", "webhook")
                    for p in ("p50", "p90", "p99", "p99_9")
                },
                **{f"passthrough_{p}_ms": baseline[level]["latency_ms"][p] for p in ("p50", "p99")},
                **{
                    f"receipt_{p}_x_passthrough": ratio(level, "receipt", p) for p in ("p50", "p99")
                },
                **{f"alert_{p}_x_passthrough": ratio(level, "alert", p) for p in ("p50", "p99")},
                "sustained": levels[level]["sustained"],
            }
            for level in levels
        },
    }
    half = run.figures["summary"]["50%"]
    run.figures["summary"]["meets_alert_targets_at_50pct"] = bool(
        half["alert_p50_ms"] is not None
        and half["alert_p50_ms"] <= TARGET_P50_MS
        and half["alert_p99_ms"] <= TARGET_P99_MS
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds-long levels, tiny rates")
    parser.add_argument(
        "--max-rate",
        type=float,
        help="events/s taken as 100 %% (default: the latest throughput result)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each level")
    parser.add_argument("--store", default="rocksdb://", help="streams table store")
    args = parser.parse_args()
    max_rate = args.max_rate
    if max_rate is None:
        max_rate = latest_reference_rate(args.smoke)
    if not max_rate:
        parser.error("no throughput result to take the maximum from: pass --max-rate")
    seconds = 3.0 if args.smoke else args.seconds
    with Session(SMOKE_PARTNERS if args.smoke else PARTNERS) as session:
        run = measure(session, args.smoke, max_rate, seconds, args.store)
    path = run.write()
    for level, figures in run.figures["summary"].items():
        print(level, figures)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
