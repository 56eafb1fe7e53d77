"""Helpers shared by the observability tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from confianza import kafka
from confianza.settings import KafkaSettings

PARTITIONS = 3
RECORDS = 30
CONFIANZA = str(Path(sys.executable).with_name("confianza"))
"""The installed ``confianza`` command of this virtualenv."""


def kafka_env(settings: KafkaSettings) -> dict[str, str]:
    """The environment of a child process that connects with ``settings``."""
    env = dict(os.environ)
    env["CONFIANZA_KAFKA__BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    env["CONFIANZA_KAFKA__SECURITY_PROTOCOL"] = settings.security_protocol
    if settings.username and settings.password:
        env["CONFIANZA_KAFKA__USERNAME"] = settings.username
        env["CONFIANZA_KAFKA__PASSWORD"] = settings.password.get_secret_value()
    return env


def consume_and_commit(settings: KafkaSettings, topic: str, group: str, count: int) -> None:
    """Read ``count`` records with a group subscription and commit the positions."""
    consumer = kafka.consumer(settings, topic, group_id=group, max_poll_records=count)
    read = 0
    while read < count:
        batches = consumer.poll(timeout_ms=1000, max_records=count - read)
        read += sum(len(records) for records in batches.values())
    consumer.commit()
    consumer.close()
