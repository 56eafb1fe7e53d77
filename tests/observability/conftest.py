"""Fixtures for the observability tests: the ops principal, a topic with records, stand-in
workers and a real Prometheus."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from kafka.admin import NewTopic
from tenacity import retry, stop_after_delay, wait_fixed

from confianza import kafka
from confianza.dev.kafka import free_port
from confianza.observability.prometheus import Prometheus, poll, running_prometheus
from confianza.provision import add_service
from confianza.settings import KafkaSettings

from .helpers import PARTITIONS, RECORDS

SAMPLE_WORKER = Path(__file__).with_name("sample_worker.py")


@pytest.fixture(scope="session")
def ops_settings(admin_settings: KafkaSettings) -> KafkaSettings:
    """Client settings of the ``svc-ops`` principal, once its credential and ACLs work."""
    credentials = add_service(admin_settings, "ops")
    settings = admin_settings.with_credentials(credentials.username, credentials.password)

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), reraise=True)
    def can_describe_groups() -> None:
        client = kafka.admin(settings)
        try:
            client.list_groups()
        finally:
            client.close()

    can_describe_groups()
    return settings


@pytest.fixture
def topic(admin_settings: KafkaSettings) -> Iterator[str]:
    """A fresh topic holding RECORDS records spread over PARTITIONS partitions."""
    name = f"lagtest.{uuid.uuid4().hex[:8]}.v1"
    client = kafka.admin(admin_settings)
    client.create_topics([NewTopic(name, PARTITIONS, 1)])
    producer = kafka.producer(admin_settings)
    for i in range(RECORDS):
        producer.send(name, key=f"k{i}".encode(), value=b"{}", partition=i % PARTITIONS)
    producer.flush()
    producer.close()
    yield name
    client.delete_topics([name])
    client.close()


@pytest.fixture
def sample_worker() -> Iterator[Callable[..., str]]:
    """Start stand-in workers (sample_worker.py) on free ports; returns ``host:port``."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> str:
        port = free_port()
        processes.append(subprocess.Popen([sys.executable, str(SAMPLE_WORKER), str(port), *flags]))
        poll(
            lambda: _answers(f"http://127.0.0.1:{port}/readyz"),
            30,
            f"sample worker on port {port}",
        )
        return f"127.0.0.1:{port}"

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _answers(url: str) -> bool | None:
    try:
        return httpx.get(url, timeout=2).status_code == 200 or None
    except httpx.TransportError:
        return None


@pytest.fixture
def prometheus() -> Iterator[Callable[[Mapping[str, Sequence[str]]], Prometheus]]:
    """Start a real Prometheus (1 s scrape and rule interval, the project's rules) scraping
    the given ``{job: ["host:port", ...]}``; every one started is stopped after the test."""
    with ExitStack() as stack:

        def start(targets: Mapping[str, Sequence[str]]) -> Prometheus:
            server = stack.enter_context(running_prometheus(targets, interval=1.0))
            server.wait_for_targets_up()
            return server

        yield start
