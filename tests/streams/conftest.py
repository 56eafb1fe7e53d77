"""Fixtures for the streams tests against the real broker: provisioning and worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import OffsetAndMetadata, TopicPartition

from confianza.dev.kafka import free_port
from confianza.kafka import consumer, producer
from confianza.provision import add_partner, add_service, apply_topics
from confianza.schemas.topics import (
    ALERTS,
    DLQ_INGEST,
    ingest_topic,
    partner_of,
    receipts_topic,
)
from confianza.settings import KafkaSettings
from confianza.streams.tail import readable_alert
from tests.eventually import eventually
from tests.lag import end_offsets, group_lag


class Worker:
    """One ``confianza worker streams`` process (memory store, fast ticks)."""

    def __init__(self, env: dict[str, str], app_id: str, log: Path, tick: float = 1.0) -> None:
        self.tick = tick
        self.env = {
            **env,
            "CONFIANZA_STREAMS_APP_ID": app_id,
            "CONFIANZA_METRICS__PORT": str(free_port()),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.ended_on_purpose = False

    def start(self) -> Worker:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "confianza.cli.main",
                    "worker",
                    "streams",
                    "--store",
                    "memory://",
                    "--tick",
                    str(self.tick),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self.ended_on_purpose = True
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 30 s; the exit code (None if it was never started)."""
        self.ended_on_purpose = True
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.process is None else self.process.returncode


class Broker:
    """Provisioning, sending and reading for one test, as the admin and as partners."""

    def __init__(self, admin: KafkaSettings, tmp: Path) -> None:
        self.admin = admin
        self.tmp = tmp
        self.partners: dict[str, KafkaSettings] = {}
        self.workers: list[Worker] = []
        svc = add_service(admin, "streams")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")},
            "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": admin.bootstrap_servers,
            "CONFIANZA_KAFKA__USERNAME": svc.username,
            "CONFIANZA_KAFKA__PASSWORD": svc.password,
            "CONFIANZA_DATA_DIR": str(tmp / "data"),
            "CONFIANZA_LOG__LEVEL": "INFO",
        }

    def add_partners(self, partners: list[tuple[str, str]]) -> None:
        for partner, sector in partners:
            creds = add_partner(self.admin, partner, sector)
            self.partners[partner] = self.admin.with_credentials(creds.username, creds.password)

    def worker(self, app_id: str, tick: float = 1.0, **env: str) -> Worker:
        """Start a worker; ``env`` adds to its environment (``CONFIANZA_...=value``)."""
        log = self.tmp / f"{app_id}-{len(self.workers)}.log"
        worker = Worker({**self.env, **env}, app_id, log, tick)
        self.workers.append(worker.start())
        return worker

    def send(self, records: list[tuple[str, bytes | dict[str, Any]]]) -> int:
        """Send ``(partner, payload)`` as each partner; returns how many were sent."""
        clients: dict[str, Any] = {}
        try:
            for partner, payload in records:
                client = clients.get(partner)
                if client is None:
                    client = clients[partner] = eventually(
                        lambda p=partner: producer(self.partners[p], max_request_size=2**20)
                    )
                raw = orjson.dumps(payload) if isinstance(payload, dict) else payload
                key = payload["event_id"].encode() if isinstance(payload, dict) else None
                client.send(ingest_topic(partner), key=key, value=raw).get(timeout=30)
        finally:
            for client in clients.values():
                client.close()
        return len(records)

    def read(self, topics: list[str]) -> list[Any]:
        """Every record now on ``topics`` (admin, from the beginning, nothing committed)."""
        client = consumer(self.admin)
        try:
            tps = [
                TopicPartition(t, p) for t in topics for p in client.partitions_for_topic(t) or ()
            ]
            client.assign(tps)
            client.seek_to_beginning(*tps)
            ends = client.end_offsets(tps)
            out = []
            while any(client.position(tp) < ends[tp] for tp in tps):
                for records in client.poll(timeout_ms=500).values():
                    out.extend(records)
            return out
        finally:
            client.close()

    def receipts(self, partners: list[str]) -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in self.read([receipts_topic(p) for p in partners])]

    def alerts(self, prefix: str) -> list[dict[str, Any]]:
        """Alerts whose reporters all belong to this test's roster (``prefix-``)."""
        alerts = [readable_alert(r.value) for r in self.read([ALERTS])]  # skips foreign records
        return [
            a
            for a in alerts
            if a is not None
            and a["reporters"]
            and all(r.startswith(f"{prefix}-") for r in a["reporters"])
        ]

    def dead_letters(self, partners: list[str]) -> list[dict[str, Any]]:
        return [
            d
            for d in (orjson.loads(r.value) for r in self.read([DLQ_INGEST]))
            if isinstance(d, dict) and d.get("partner") in partners
        ]

    def wait_receipts(
        self, partners: list[str], expected: int, timeout: float = 120.0
    ) -> list[dict[str, Any]]:
        """Receipts once every sent record has at least one (distinct by coordinates)."""
        deadline = time.monotonic() + timeout
        while True:
            receipts = self.receipts(partners)
            seen = {(r["topic"], r["partition"], r["offset"]) for r in receipts}
            if len(seen) >= expected:
                return receipts
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(seen)} of {expected} records have a receipt")
            self.check_workers()
            time.sleep(1.0)

    def wait_alerts_quiet(
        self, prefix: str, quiet: float = 6.0, timeout: float = 120.0, emitted_from: str = ""
    ) -> list[dict[str, Any]]:
        """Alerts (emitted at or after ``emitted_from``) once there is at least one and no
        new one has appeared for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while True:
            alerts = [a for a in self.alerts(prefix) if a["emitted_at"] >= emitted_from]
            if len(alerts) != last:
                last, since = len(alerts), time.monotonic()
            elif alerts and time.monotonic() - since >= quiet:
                return alerts
            if time.monotonic() > deadline:
                raise AssertionError("alerts kept changing")
            self.check_workers()
            time.sleep(1.0)

    def skip_earlier_records(self, app_id: str) -> None:
        """Commit ``app_id``'s ingest group at the end of every partner topic on the broker,
        so its workers read only what the test sends after this, not every record the tests
        before it left on the shared broker."""
        reader = consumer(self.admin, group_id=f"{app_id}-ingest")
        try:
            partner_topics = [t for t in reader.topics() if partner_of(t) is not None]
            ends = end_offsets(self.admin, partner_topics)
            reader.commit({tp: OffsetAndMetadata(end, "", -1) for tp, end in ends.items()})
        finally:
            reader.close()

    def wait_drained(self, app_id: str, timeout: float = 120.0) -> None:
        """Until both consumer groups of ``app_id`` have committed everything on their
        topics: the ingest group on the partners' topics, the app's group on its internal
        topics, counted from their start until it commits for them (changelogs are not
        consumed by the group)."""
        deadline = time.monotonic() + timeout
        internal = (f"{app_id}-events", f"{app_id}-campaign")
        while True:
            behind = group_lag(self.admin, f"{app_id}-ingest") + group_lag(
                self.admin, app_id, internal
            )
            if behind == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{app_id} is still {behind} records behind")
            self.check_workers()
            time.sleep(1.0)

    def check_workers(self) -> None:
        for w in self.workers:
            if not w.ended_on_purpose and not w.alive():
                raise AssertionError(f"worker exited: {w.log.read_text()[-3000:]}")

    def close(self) -> None:
        for w in self.workers:
            w.stop()


@pytest.fixture
def broker(admin_settings: KafkaSettings, tmp_path: Path) -> Iterator[Broker]:
    apply_topics(admin_settings)
    b = Broker(admin_settings, tmp_path)
    try:
        yield b
    finally:
        b.close()
