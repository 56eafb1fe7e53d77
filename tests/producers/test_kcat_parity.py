"""An event written by kcat (librdkafka, SCRAM) reads back and validates exactly like the same
event written by the SDK: the contract is the bytes on the topic, not the client."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from confianza.producers import EventRejected
from confianza.schemas.validate import Rejection, encode, validate_event
from confianza.settings import KafkaSettings
from tests.producers.kafka_helpers import Partner, read_topic, reporter

KCAT = shutil.which("kcat") or "/usr/bin/kcat"


def kcat_produce(partner: Partner, key: str, value: bytes, workdir: Path) -> None:
    """Write one record with kcat as the partner; the password goes in a 0600 config file."""
    config = workdir / "kcat.conf"
    config.touch(mode=0o600)
    config.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanisms=SCRAM-SHA-512\n"
        f"sasl.username={partner.credentials.username}\n"
        f"sasl.password={partner.credentials.password}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [KCAT, "-F", str(config), "-b", partner.settings.bootstrap_servers, "-P",
         "-t", f"ingest.{partner.id}.v1", "-k", key, "-c", "1"],
        input=value + b"\n",
        capture_output=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")


@pytest.fixture
def kcat() -> str:
    if not Path(KCAT).exists():
        pytest.fail("kcat is not installed (Debian package kcat; deploy/local/system-deps.sh)")
    return KCAT


def test_kcat_and_sdk_records_validate_alike(
    kcat: str,
    new_partner: Callable[..., Partner],
    admin_settings: KafkaSettings,
    example: dict[str, Any],
    tmp_path: Path,
) -> None:
    partner = new_partner()
    invalid = example | {"event_id": "bcp-2024-bad", "confidence": 140, "severity": "urgent"}
    kcat_produce(partner, example["event_id"], encode(example), tmp_path)
    kcat_produce(partner, invalid["event_id"], encode(invalid), tmp_path)
    with reporter(partner) as sdk:
        sdk.send(example).get(timeout=15)
        with pytest.raises(EventRejected) as refused:
            sdk.send(invalid)

    records = read_topic(admin_settings, f"ingest.{partner.id}.v1", 3)
    by_client = {("kcat" if i < 2 else "sdk", r.key.decode()): r for i, r in enumerate(records)}
    kcat_valid = by_client["kcat", example["event_id"]]
    sdk_valid = by_client["sdk", example["event_id"]]
    # Same key, same bytes, same verdict.
    assert kcat_valid.value == sdk_valid.value == encode(example)
    assert validate_event(kcat_valid.value) == validate_event(sdk_valid.value) == example
    # The invalid event: what the server will say about kcat's record is exactly what the SDK
    # said before refusing to send it.
    verdict = validate_event(by_client["kcat", invalid["event_id"]].value)
    assert isinstance(verdict, Rejection)
    assert verdict.errors == refused.value.errors
    assert {e.pointer for e in verdict.errors} == {"/confidence", "/severity"}
