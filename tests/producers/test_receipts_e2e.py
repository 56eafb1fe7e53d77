"""``confianza send --wait-receipts`` end to end: the real streams worker writes the receipts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from confianza.dev.kafka import free_port
from confianza.provision import add_service
from confianza.schemas.validate import encode
from confianza.settings import KafkaSettings
from tests.producers.kafka_helpers import Partner, confianza_send


@pytest.fixture
def streams_worker(admin_settings: KafkaSettings, tmp_path: Path) -> Iterator[None]:
    """A ``confianza worker streams`` process of its own (memory store, own app id)."""
    service = add_service(admin_settings, "streams")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    environment |= {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": admin_settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": service.username,
        "CONFIANZA_KAFKA__PASSWORD": service.password,
        "CONFIANZA_DATA_DIR": str(tmp_path / "streams"),
        "CONFIANZA_STREAMS_APP_ID": f"confianza-streams-producers-{os.getpid()}",
        "CONFIANZA_METRICS__PORT": str(free_port()),
    }
    log = (tmp_path / "streams.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "confianza.cli.main", "worker", "streams", "--store", "memory://",
         "--tick", "1"],
        env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(30)
        log.close()


def test_receipts_from_the_streams_worker(
    streams_worker: None, new_partner: Callable[..., Partner], example: dict[str, Any]
) -> None:
    partner = new_partner()
    bad_cci = {"kind": "bank-account", "value": "002-191-001234567890-99", "role": "mule-account"}
    second = example | {
        "event_id": "bcp-2024-000124",
        "indicators": [*example["indicators"], bad_cci],
    }
    ndjson = b"\n".join([encode(example), encode(second), encode(example)]) + b"\n"
    result = confianza_send(partner, "--wait-receipts", "--receipt-timeout", "90", stdin=ndjson)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "  receipts         accepted 2, duplicate 1, rejected 0, missing 0 (1 with warnings)\n"
    ) in result.stdout
    assert "line 2 (bcp-2024-000124): accepted with a warning: /indicators/" in result.stderr
    assert "CCI check digits" in result.stderr
