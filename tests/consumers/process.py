"""A delivery worker as its own process (``confianza worker deliver --channel webhook``), for
the tests that crash, stop or misconfigure one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from confianza.consumers.worker import Topics
from confianza.demo.processes import confianza
from confianza.dev.kafka import free_port
from confianza.settings import KafkaSettings


def start_worker(
    settings: KafkaSettings, subs: Path, topics: Topics, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """``confianza worker deliver --channel webhook`` as its own process (``env``: more
    variables it sees)."""
    env = (
        os.environ
        | env
        | settings.as_env()
        | {
            "CONFIANZA_METRICS__PORT": str(free_port()),
            "CONFIANZA_DELIVERY_INITIAL_BACKOFF": "0.05",
            "CONFIANZA_DELIVERY_MAX_BACKOFF": "0.2",
        }
    )
    args = ("worker", "deliver", "--channel", "webhook", "--subscriptions", str(subs))
    command = confianza(*args, *topics.options())
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
