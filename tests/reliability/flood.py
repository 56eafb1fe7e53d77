"""Hostile floods against one real streams worker, with its memory watched.

``run_flood(cluster, workdir, unique=N, giant=M)`` starts ``confianza worker streams`` (the
production RocksDB store, fast ticks) on a fresh broker, then one partner sends ``N`` events
that each carry indicators nobody else reports (every one a new campaign), while two others
send ``M`` events that all share one indicator and each add ten new ones (one giant
campaign). It samples the worker's resident memory (``VmRSS``) twice a second, waits until
every record has its receipt and two ticks have passed, and returns the samples, the worker's
state gauges and eviction counters, and the giant campaign's last alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from confianza import provision
from confianza.demo.processes import Supervisor, confianza
from confianza.dev.kafka import Cluster, free_port
from confianza.producers.sdk import Reporter
from confianza.schemas.topics import ALERTS, receipts_topic
from tests.eventually import eventually
from tests.lag import end_offsets, group_lag
from tests.reliability.chain import read_topics

FLOODER, GIANT_A, GIANT_B = "flooder", "giant-bank", "giant-telco"
TICK_S = 2.0
STREAMS_TOPICS = ("confianza-streams-events", "confianza-streams-campaign")
"""The topics the streams worker's Faust group reads (its dedupe and campaign stages)."""


@dataclass
class Flood:
    """What one flood did to the worker."""

    unique: int
    giant: int
    rss_kib: list[tuple[float, int]] = field(default_factory=list)
    baseline_kib: int = 0
    gauges: dict[str, float] = field(default_factory=dict)
    evictions: dict[str, float] = field(default_factory=dict)
    giant_alert: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def peak_kib(self) -> int:
        return max(kib for _, kib in self.rss_kib)


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _event(event_id: str, indicators: list[dict[str, str]], tlp: str = "green") -> bytes:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return orjson.dumps(
        {
            "event_id": event_id,
            "occurred_at": (now - dt.timedelta(hours=1)).isoformat(),
            "reported_at": now.isoformat(),
            "classification": {"class": "fraud", "type": "phishing"},
            "tlp": tlp,
            "severity": "high",
            "confidence": 80,
            "sector": "banking",
            "description": "Inundación de prueba.",
            "indicators": indicators,
        }
    )


def unique_event(n: int) -> bytes:
    return _event(
        f"flood-{n:07d}",
        [
            {"kind": "domain", "value": f"flood{n}-fraude.com", "role": "phishing"},
            {"kind": "ipv4", "value": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"},
            {"kind": "sha256", "value": hashlib.sha256(str(n).encode()).hexdigest()},
        ],
    )


def giant_event(n: int) -> bytes:
    shared = {"kind": "domain", "value": "gigante-fraude.com", "role": "phishing"}
    own = [{"kind": "domain", "value": f"g{n}-{k}-premios.com"} for k in range(10)]
    return _event(f"giant-{n:06d}", [shared, *own])


def _scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def _series(text: str, name: str) -> dict[str, float]:
    """``{label set or "": value}`` of one metric in a Prometheus exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name):
            key, _, value = line.rpartition(" ")
            out[key.removeprefix(name)] = float(value)
    return out


def run_flood(cluster: Cluster, workdir: Path, unique: int, giant: int) -> Flood:
    admin = cluster.admin_settings()
    provision.apply_topics(admin)
    svc = provision.add_service(admin, "streams")
    partners = {}
    for pid, sector in ((FLOODER, "banking"), (GIANT_A, "banking"), (GIANT_B, "telecom")):
        creds = provision.add_partner(admin, pid, sector)
        partners[pid] = admin.with_credentials(creds.username, creds.password)
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(workdir / "logs", base | {"CONFIANZA_LOG__FORMAT": "json"})
    flood = Flood(unique, giant)
    with ExitStack() as stack:
        stack.callback(supervisor.stop_all)
        child = supervisor.start(
            "streams",
            confianza("worker", "streams", "--tick", str(TICK_S)),
            {
                "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
                "CONFIANZA_KAFKA__USERNAME": svc.username,
                "CONFIANZA_KAFKA__PASSWORD": svc.password,
                "CONFIANZA_METRICS__PORT": str(port),
                "CONFIANZA_DATA_DIR": str(workdir / "state"),
            },
        )
        eventually(lambda: _scrape(port), timeout=60)
        time.sleep(2 * TICK_S)
        flood.baseline_kib = rss_kib(child.process.pid)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set() and child.alive():
                flood.rss_kib.append((time.time(), rss_kib(child.process.pid)))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stack.callback(stop.set)
        started = time.monotonic()
        with ExitStack() as senders:
            reporters = {
                p: senders.enter_context(
                    eventually(lambda s=s, p=p: Reporter(s, p, receipts=False))
                )
                for p, s in partners.items()
            }
            for n in range(max(unique, giant)):
                if n < unique:
                    reporters[FLOODER].send_raw(unique_event(n), f"flood-{n:07d}".encode())
                if n < giant:
                    who = GIANT_A if n % 2 == 0 else GIANT_B
                    reporters[who].send_raw(giant_event(n), f"giant-{n:06d}".encode())
        topics = [receipts_topic(p) for p in partners]
        deadline = time.monotonic() + 600
        while sum(end_offsets(admin, topics).values()) < unique + giant:
            assert child.alive(), child.log_tail(40)
            assert time.monotonic() < deadline, "the worker did not answer the flood in time"
            time.sleep(1.0)
        # The single-partition campaign stage catches up; it may not have committed at all
        # yet when the events stage has, so its topics are named.
        while group_lag(admin, "confianza-streams", STREAMS_TOPICS) > 0:
            assert child.alive(), child.log_tail(40)
            assert time.monotonic() < deadline, "the campaign stage did not catch up in time"
            time.sleep(1.0)
        flood.seconds = time.monotonic() - started
        time.sleep(3 * TICK_S)  # ticks evict and refresh the gauges
        assert child.alive(), child.log_tail(40)
        text = _scrape(port)
        flood.gauges = {
            "campaigns": _series(text, "confianza_open_campaigns").get("", 0.0),
            "indicators": _series(text, "confianza_tracked_indicators").get("", 0.0),
        }
        flood.evictions = {
            k.split('"')[1]: v
            for k, v in _series(text, "confianza_state_evictions_total").items()
            if '"' in k
        }
        alerts = [orjson.loads(v) for *_, v in read_topics(admin, [ALERTS])[ALERTS]]
        giants = [a for a in alerts if GIANT_A in a["reporters"] or GIANT_B in a["reporters"]]
        flood.giant_alert = max(giants, key=lambda a: a["version"]) if giants else None
    return flood
