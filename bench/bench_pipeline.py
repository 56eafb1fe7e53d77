"""Benchmark: one streams worker vs a raw Kafka pass-through of the same bytes, same run.

    .venv/bin/python bench/bench_pipeline.py [--events 20000] [--smoke] [--profile]

Starts a local broker (the real one from the harness), provisions the simulator's 14
partners, and drives the simulator's traffic (cross-sector campaigns in noise):

1. pass-through: the same event bytes through a minimal aiokafka consume -> produce loop
   (one process, ``acks=all``, idempotent) — the ceiling any Python stage could reach here;
2. streams at full speed: every event produced as fast as possible into the partner topics of
   one ``confianza worker streams`` process; sustained events/s = receipts per second;
3. streams at half that rate: latency percentiles produced -> receipt and produced -> alert.

Latencies are wall-clock on one machine (producer send time to consumer receive time), in an
HDR histogram. Results go to ``bench/results/pipeline-<time>.json``. ``--profile`` samples the
worker with py-spy during phase 2 and adds the hottest files and functions to the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from hdrh.histogram import HdrHistogram

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from confianza.dev.kafka import Cluster, free_port  # noqa: E402
from confianza.kafka import admin, aiokafka_kwargs  # noqa: E402
from confianza.kafka import consumer as sync_consumer  # noqa: E402
from confianza.producers.simulate import SimulationConfig, generate  # noqa: E402
from confianza.provision import add_partner, add_service, apply_topics  # noqa: E402
from confianza.schemas.topics import ALERTS, ingest_topic, receipts_topic  # noqa: E402
from confianza.settings import KafkaSettings  # noqa: E402
from confianza.streams.ingest import event_uid  # noqa: E402
from confianza.streams.source import new_producer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
AREAS = (
    ("/streams/", "confianza streams"),
    ("/schemas/", "confianza schemas (validation, normalization)"),
    ("/confianza/", "confianza core"),
    ("/faust/", "faust"),
    ("/mode/", "mode (faust services)"),
    ("/aiokafka/", "aiokafka"),
    ("/kafka/", "kafka-python"),
    ("/asyncio/", "asyncio event loop"),
    ("jsonschema", "jsonschema"),
    ("tldextract", "tldextract"),
    ("phonenumbers", "phonenumbers"),
    ("/logging/", "logging"),
    ("structlog", "structlog"),
    ("orjson", "orjson"),
)


def histogram() -> HdrHistogram:
    return HdrHistogram(1, 600_000_000, 3)  # microseconds, up to 10 minutes


def summary(h: HdrHistogram) -> dict[str, float]:
    if h.get_total_count() == 0:
        return {"count": 0}
    return {
        "count": h.get_total_count(),
        **{f"p{q:g}_ms": h.get_value_at_percentile(q) / 1000 for q in (50, 90, 99, 99.9)},
        "max_ms": h.get_max_value() / 1000,
    }


SECTORS: dict[str, str] = {}


def traffic(prefix: str, events: int) -> list[tuple[str, bytes, str]]:
    """``(partner, bytes, uid)`` from the producers' simulator: one campaign per 40 events in
    60 % noise, valid events only (rejects are measured by the tests, not here)."""
    config = SimulationConfig(
        partners=14,
        rate=float(events),
        duration=1.0,
        campaigns=max(1, events // 40),
        noise=0.6,
        malformed=0.0,
        oversize=0.0,
        duplicates=0.0,
        seed=5,
        partner_prefix=f"{prefix}-",
    )
    SECTORS.update({p.id: p.sector for p in config.roster()})
    return [(r.partner, r.payload, event_uid(r.partner, r.event_id)) for r in generate(config)]


async def produce(
    settings: dict[str, KafkaSettings],
    records: list[tuple[str, bytes, str]],
    rate: float | None,
    topic_of: Any,
) -> dict[Any, float]:
    """Send every record (at ``rate`` per second if given); returns send time per coordinate."""
    producers = {p: new_producer(s, linger_ms=1) for p, s in settings.items()}
    for p in producers.values():
        await p.start()
    sent_at: dict[Any, float] = {}
    try:
        start = time.perf_counter()
        pending = []
        for i, (partner, raw, uid) in enumerate(records):
            if rate is not None:
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            now = time.time()
            fut = await producers[partner].send(topic_of(partner), raw, key=uid.encode())
            pending.append((fut, now, uid))
        for fut, now, uid in pending:
            md = await fut
            sent_at[(md.topic, md.partition, md.offset)] = now
            sent_at[uid] = now
    finally:
        for p in producers.values():
            await p.stop()
    return sent_at


async def collect(
    kafka: KafkaSettings, topics: list[str], until: Any, timeout: float
) -> list[tuple[float, Any]]:
    """(receive time, record) for everything new on ``topics`` until ``until(records)``."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **aiokafka_kwargs(kafka))
    await consumer.start()
    got: list[tuple[float, Any]] = []
    try:
        tps = [TopicPartition(t, p) for t in topics for p in partitions(kafka, t)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        ready.set()
        deadline = time.monotonic() + timeout
        while not until(got) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                now = time.time()
                got.extend((now, r) for r in records)
    finally:
        await consumer.stop()
    return got


ready = asyncio.Event()


def partitions(kafka: KafkaSettings, topic: str) -> list[int]:
    """The partition numbers of a topic (blocking metadata request)."""
    client = sync_consumer(kafka)
    try:
        for _ in range(50):  # a topic created a moment ago may not be in the metadata yet
            found = client.partitions_for_topic(topic)
            if found:
                return sorted(found)
            time.sleep(0.2)
            client.topics()  # refreshes the metadata
        raise RuntimeError(f"topic {topic} has no partitions")
    finally:
        client.close()


async def passthrough(
    kafka: KafkaSettings, records: list[tuple[str, bytes, str]]
) -> dict[str, Any]:
    """The same bytes through a consume -> produce loop; throughput and latency."""
    src, dst = f"bench.passthrough.in.{uuid.uuid4().hex[:6]}", "bench.passthrough.out"
    from kafka.admin import NewTopic

    client = admin(kafka)
    try:
        client.create_topics([NewTopic(src, 3, 1)])
        if dst not in client.list_topics():
            client.create_topics([NewTopic(dst, 3, 1)])
    finally:
        client.close()

    assigned = asyncio.Event()

    async def loop(stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            src,
            group_id=f"bench-pt-{src}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **aiokafka_kwargs(kafka),
        )
        producer = new_producer(kafka)
        await consumer.start()
        await producer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=2000)
                if consumer.assignment():
                    assigned.set()
                futs = [
                    await producer.send(dst, m.value, key=m.key)
                    for ms in batches.values()
                    for m in ms
                ]
                await asyncio.gather(*futs)
                if batches:
                    await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()

    stop = asyncio.Event()
    worker = asyncio.create_task(loop(stop))
    ready.clear()
    keys = {uid.encode() for _, _, uid in records}
    collector = asyncio.create_task(  # noqa: RUF006 - awaited below
        collect(
            kafka, [dst], lambda got: sum(1 for _, r in got if r.key in keys) >= len(records), 300
        )
    )
    await ready.wait()
    await assigned.wait()  # the relay has joined its group: measure the relay, not the join
    start = time.perf_counter()
    sent_at = await produce({p: kafka for p, _, _ in records}, records, None, lambda p: src)
    got = await collector
    elapsed = time.perf_counter() - start
    stop.set()
    await worker
    h = histogram()
    for now, r in got:
        if r.key and r.key.decode() in sent_at:
            h.record_value(max(1, int((now - sent_at[r.key.decode()]) * 1e6)))
    return {
        "events": len(records),
        "seconds": elapsed,
        "events_per_s": len(records) / elapsed,
        "latency": summary(h),
    }


def start_worker(env: dict[str, str], app_id: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "confianza.cli.main",
                "worker",
                "streams",
                "--store",
                "memory://",
            ],
            env={
                **env,
                "CONFIANZA_STREAMS_APP_ID": app_id,
                "CONFIANZA_METRICS__PORT": str(free_port()),
                "CONFIANZA_LOG__LEVEL": "WARNING",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def streams_phase(
    kafka: KafkaSettings,
    partners: dict[str, KafkaSettings],
    records: list[tuple[str, bytes, str]],
    rate: float | None,
) -> dict[str, Any]:
    """Produce ``records`` into the partner topics; measure receipts and alerts."""
    names = sorted(partners)
    ready.clear()
    coords_expected = len(records)

    def done(got: list[tuple[float, Any]]) -> bool:
        """Every record has its receipt and no alert came for 3 s (the last versions are in)."""
        receipts = sum(1 for _, r in got if r.topic.startswith("receipts."))
        return receipts >= coords_expected and time.time() - got[-1][0] > 3.0

    collector = asyncio.create_task(
        collect(kafka, [*(receipts_topic(p) for p in names), ALERTS], done, 600)
    )
    await ready.wait()
    start = time.perf_counter()
    sent_at = await produce(partners, records, rate, ingest_topic)
    produced = time.perf_counter() - start
    got = await collector
    elapsed = max(time.perf_counter() - start, 1e-9)
    receipt_h, alert_h = histogram(), histogram()
    statuses: Counter[str] = Counter()
    alerts = 0
    for now, r in got:
        doc = orjson.loads(r.value)
        if r.topic == ALERTS:
            uids = [e["event_uid"] for e in doc["evidence"] if e["event_uid"] in sent_at]
            if uids:
                alerts += 1
                newest = max(sent_at[u] for u in uids)
                alert_h.record_value(max(1, int((now - newest) * 1e6)))
            continue
        statuses[doc["status"]] += 1
        key = (doc["topic"], doc["partition"], doc["offset"])
        if key in sent_at:
            receipt_h.record_value(max(1, int((now - sent_at[key]) * 1e6)))
    last_receipt = max((now for now, r in got if r.topic.startswith("receipts.")), default=0.0)
    first_send = min(v for k, v in sent_at.items() if isinstance(k, tuple))
    return {
        "events": len(records),
        "target_rate": rate,
        "produce_seconds": produced,
        "seconds": elapsed,
        "events_per_s": len(records) / max(last_receipt - first_send, 1e-9),
        "receipts": dict(statuses),
        "alert_versions": alerts,
        "latency_receipt": summary(receipt_h),
        "latency_alert": summary(alert_h),
    }


def profile(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    """py-spy for ``seconds``: self-time share by file and by function (top 15)."""
    raw = out.with_suffix(".txt")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    subprocess.run(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
            "--full-filenames",
        ],
        capture_output=True,
        check=False,
    )
    by_file: Counter[str] = Counter()
    by_func: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines() if raw.exists() else ():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        leaf = frames[-1]
        n = int(count)
        total += n
        func, _, where = leaf.partition(" (")
        path = where.split(":")[0]
        area = next((name for marker, name in AREAS if marker in path), "other")
        by_file[area] += n
        by_func[f"{func} ({Path(path).name})"] += n
    top = lambda c: [{"what": k, "share": round(v / total, 3)} for k, v in c.most_common(15)]  # noqa: E731
    return {
        "samples": total,
        "raw": str(raw),
        "by_area": top(by_file),
        "by_function": top(by_func),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    cluster = Cluster(size=1)
    cluster.start()
    workdir = Path(tempfile.mkdtemp(prefix="confianza-bench-"))
    worker = None
    try:
        kafka = cluster.admin_settings()
        apply_topics(kafka)
        svc = add_service(kafka, "streams")
        prefix = "bench"
        partners = {}
        traffic(prefix, 10)  # learns the roster's sectors
        for partner, sector in sorted(SECTORS.items()):
            creds = add_partner(kafka, partner, sector)
            partners[partner] = kafka.with_credentials(creds.username, creds.password)
        time.sleep(2.0)  # SCRAM users and ACLs reach the broker with a short delay
        records = traffic(prefix, args.events)
        half_records = traffic(f"{prefix}h", max(200, args.events // 2))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")},
            "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "CONFIANZA_KAFKA__USERNAME": svc.username,
            "CONFIANZA_KAFKA__PASSWORD": svc.password,
            "CONFIANZA_DATA_DIR": str(workdir),
        }

        print(f"pass-through of {len(records)} events …", flush=True)
        baseline = await passthrough(kafka, records)
        print(json.dumps(baseline), flush=True)

        worker = start_worker(env, "confianza-streams-bench", workdir / "worker.log")
        warm = traffic(f"{prefix}w", 200)
        await streams_phase(kafka, _partners_for(kafka, warm, partners), warm, None)
        print(f"streams at full speed, {len(records)} events …", flush=True)
        prof = None
        if args.profile:
            loop = asyncio.get_running_loop()
            prof_task = loop.run_in_executor(
                None,
                profile,
                worker.pid,
                args.profile_seconds,
                Path(tempfile.gettempdir()) / f"confianza-profile-{int(time.time())}",
            )
        full = await streams_phase(kafka, _partners_for(kafka, records, partners), records, None)
        if args.profile:
            prof = await prof_task
        print(json.dumps(full), flush=True)
        rate = full["events_per_s"] / 2
        print(f"streams at half rate ({rate:.0f}/s), {len(half_records)} events …", flush=True)
        half = await streams_phase(
            kafka, _partners_for(kafka, half_records, partners), half_records, rate
        )
        print(json.dumps(half), flush=True)
        return {
            "benchmark": "pipeline",
            "smoke": args.smoke,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "passthrough": baseline,
            "streams_full": full,
            "streams_half_rate": half,
            "ratio_streams_to_passthrough": full["events_per_s"] / baseline["events_per_s"],
            "targets": {"events_per_s": 10000, "p99_ms_at_half_rate": 100},
            "profile": prof,
        }
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        cluster.stop()


def _partners_for(
    kafka: KafkaSettings, records: list[tuple[str, bytes, str]], known: dict[str, KafkaSettings]
) -> dict[str, KafkaSettings]:
    """Credentials of every partner in ``records`` (new rosters are onboarded on the fly)."""
    out = {}
    for partner in {p for p, _, _ in records}:
        if partner not in known:
            sector = SECTORS[partner]
            creds = add_partner(kafka, partner, sector)
            known[partner] = kafka.with_credentials(creds.username, creds.password)
            time.sleep(1.0)
        out[partner] = known[partner]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--smoke", action="store_true", help="a few hundred events, seconds")
    parser.add_argument("--profile", action="store_true", help="py-spy the worker at full speed")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    ns = parser.parse_args()
    if ns.smoke:
        ns.events = 600
        ns.profile_seconds = min(ns.profile_seconds, 5.0)
    result = asyncio.run(main(ns))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"pipeline-{'smoke-' if ns.smoke else ''}{time.strftime('%Y%m%dT%H%M%S')}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote bench/results/{name}")
    print(
        f"streams {result['streams_full']['events_per_s']:.0f} events/s, pass-through "
        f"{result['passthrough']['events_per_s']:.0f} events/s "
        f"(ratio {result['ratio_streams_to_passthrough']:.3f}); at half rate p99 receipt "
        f"{result['streams_half_rate']['latency_receipt'].get('p99_ms')} ms, p99 alert "
        f"{result['streams_half_rate']['latency_alert'].get('p99_ms')} ms"
    )
