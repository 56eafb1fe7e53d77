"""A non-Python client (kcat, librdkafka) authenticates with partner SCRAM credentials."""

from __future__ import annotations

import shutil
import subprocess

from kafka import TopicPartition

from confianza.kafka import consumer
from confianza.schemas.topics import ingest_topic
from tests.eventually import eventually


def kcat_produce(settings, topic: str, payload: bytes, key: str) -> subprocess.CompletedProcess:
    assert shutil.which("kcat"), "kcat is required: `make test` installs the Debian package"
    return subprocess.run(
        [
            "kcat",
            "-P",
            "-b",
            settings.bootstrap_servers,
            "-t",
            topic,
            "-k",
            key,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanisms=SCRAM-SHA-512",
            "-X",
            f"sasl.username={settings.username}",
            "-X",
            f"sasl.password={settings.password.get_secret_value()}",
            "-X",
            "enable.idempotence=true",
            "-X",
            "acks=all",
        ],
        input=payload,
        capture_output=True,
        timeout=30,
        check=False,
    )


def test_kcat_publishes_to_its_own_ingest_topic(new_partner, admin_settings):
    partner, settings, _ = new_partner("telecom")
    topic = ingest_topic(partner)

    def publish() -> None:
        result = kcat_produce(settings, topic, b'{"via": "kcat"}', "evt-1")
        assert result.returncode == 0, result.stderr.decode()

    eventually(publish)
    reader = consumer(admin_settings, consumer_timeout_ms=10000)
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic)]
        reader.assign(partitions)
        reader.seek_to_beginning()
        values = [m.value for m in reader]
    finally:
        reader.close()
    assert b'{"via": "kcat"}' in values


def test_kcat_cannot_publish_to_another_partner(new_partner):
    _, settings, _ = new_partner("telecom")
    other, _, _ = new_partner("banking")
    result = kcat_produce(settings, ingest_topic(other), b"{}", "evt-1")
    assert result.returncode != 0
    assert b"authoriz" in result.stderr.lower()
