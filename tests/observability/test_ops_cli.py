"""``confianza ops lag``: the exporter process and the one-shot table, as the svc-ops principal."""

from __future__ import annotations

import signal
import subprocess
import uuid

import httpx
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from confianza.dev.kafka import free_port
from confianza.settings import KafkaSettings

from .helpers import CONFIANZA, RECORDS, consume_and_commit, kafka_env


@retry(
    retry=retry_if_result(lambda text: text is None),
    stop=stop_after_delay(60),
    wait=wait_fixed(0.5),
)
def scrape_when(url: str, needle: str) -> str | None:
    """The /metrics text once it contains ``needle`` (retried until it does)."""
    try:
        text = httpx.get(url).text
    except httpx.TransportError:
        return None
    return text if needle in text else None


def test_exporter_serves_lag_and_stops_on_sigterm(
    admin_settings: KafkaSettings, ops_settings: KafkaSettings, topic: str
) -> None:
    group = f"confianza-streams-{uuid.uuid4().hex[:8]}"
    consume_and_commit(admin_settings, topic, group, 4)
    port = free_port()
    env = kafka_env(ops_settings) | {"CONFIANZA_METRICS__PORT": str(port)}
    process = subprocess.Popen(
        [CONFIANZA, "ops", "lag", "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        series = f'confianza_consumer_lag_messages{{group="{group}",topic="{topic}"}}'
        text = scrape_when(f"http://127.0.0.1:{port}/metrics", series)
        assert f"{series} {float(RECORDS - 4)}" in text
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert ops_settings.password.get_secret_value() not in stderr


def test_once_prints_the_table(
    admin_settings: KafkaSettings, ops_settings: KafkaSettings, topic: str
) -> None:
    group = f"confianza-deliver-{uuid.uuid4().hex[:8]}"
    consume_and_commit(admin_settings, topic, group, 10)
    result = subprocess.run(
        [CONFIANZA, "ops", "lag", "--once"],
        env=kafka_env(ops_settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert any(
        line.split() == [group, topic, str(RECORDS - 10)] for line in result.stdout.splitlines()
    )


def test_once_without_a_broker_is_a_one_line_error() -> None:
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    env = kafka_env(nowhere) | {"CONFIANZA_KAFKA__PASSWORD": "x", "CONFIANZA_KAFKA__USERNAME": "y"}
    result = subprocess.run(
        [CONFIANZA, "ops", "lag", "--once", "--timeout", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot measure consumer lag at 127.0.0.1:")
