"""Helpers of the partner-side tests that talk to the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from confianza.kafka import consumer, producer
from confianza.producers import Reporter, ReporterError
from confianza.provision import Credentials
from confianza.schemas.validate import encode, validate_document
from confianza.settings import KafkaSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Partner:
    """A partner onboarded on the session broker: its id, client settings and credentials."""

    id: str
    settings: KafkaSettings
    credentials: Credentials


def retry(make: Callable[[], T], timeout: float = 20.0) -> T:
    """``make()``, retried while new users/ACLs reach the broker (ReporterError)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return make()
        except ReporterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def reporter(partner: Partner) -> Reporter:
    return retry(lambda: Reporter(partner.settings, partner.id))


def read_topic(
    admin: KafkaSettings, topic: str, count: int, timeout: float = 20.0
) -> list[ConsumerRecord]:
    """The first ``count`` records of ``topic`` (all partitions), ordered by timestamp."""
    reader = consumer(admin, group_id=None)
    try:
        partitions = sorted(reader.partitions_for_topic(topic) or ())
        reader.assign([TopicPartition(topic, p) for p in partitions])
        reader.seek_to_beginning()
        found: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            for records in reader.poll(timeout_ms=500).values():
                found.extend(records)
        assert len(found) >= count, f"{topic}: {len(found)} of {count} records within {timeout}s"
        return sorted(found, key=lambda r: (r.timestamp, r.partition, r.offset))
    finally:
        reader.close()


def receipt(partner: str, event_id: str, status: str, **fields: Any) -> dict[str, Any]:
    """A schema-valid receipt, as the streams worker writes it."""
    doc: dict[str, Any] = {
        "partner": partner,
        "event_id": event_id,
        "event_uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{partner}\x00{event_id}")),
        "status": status,
        "errors": [],
        "warnings": [],
        "first_uid": None,
        "topic": f"ingest.{partner}.v1",
        "partition": 0,
        "offset": 0,
        "received_at": "2025-06-03T12:00:01Z",
    } | fields
    assert validate_document("receipt", doc) == ()
    return doc


def write_receipts(admin: KafkaSettings, partner: str, receipts: list[dict[str, Any]]) -> None:
    """Write receipts to the partner's receipts topic as the admin (standing in for streams)."""
    writer = producer(admin)
    try:
        for doc in receipts:
            writer.send(f"receipts.{partner}.v1", key=doc["event_id"].encode(), value=encode(doc))
        writer.flush(timeout=10)
    finally:
        writer.close()


def confianza_send(
    partner: Partner | None,
    *args: str,
    stdin: bytes | None = None,
    password_file: Path | None = None,
    timeout: float = 90,
) -> subprocess.CompletedProcess[str]:
    """Run ``confianza send`` as a partner would, credentials in the environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    environment["CONFIANZA_LOG__LEVEL"] = "WARNING"
    if partner is not None:
        reporter(partner).close()  # the partner's user and ACLs have reached the broker
        environment |= {
            "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": partner.settings.bootstrap_servers,
            "CONFIANZA_KAFKA__USERNAME": partner.credentials.username,
        }
        if password_file is None:
            environment["CONFIANZA_KAFKA__PASSWORD"] = partner.credentials.password
        else:
            environment["CONFIANZA_KAFKA__PASSWORD_FILE"] = str(password_file)
        args = ("--partner", partner.id, *args)
    return subprocess.run(
        [sys.executable, "-m", "confianza.cli.main", "send", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
