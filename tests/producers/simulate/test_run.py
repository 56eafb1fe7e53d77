"""``confianza simulate`` against the real broker: one principal per partner, every planned
record on its partner's ingest topic, byte for byte; credentials files."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from confianza.producers.simulate import SimulationConfig, generate
from confianza.producers.simulate.run import CredentialsError, load_credentials
from confianza.provision import Credentials, add_partner
from confianza.settings import KafkaSettings
from tests.producers.kafka_helpers import Partner, read_topic, reporter

START = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
_runs = itertools.count()


def test_credentials_files_in_both_names_and_with_a_password_file(tmp_path: Path) -> None:
    base = KafkaSettings(bootstrap_servers="127.0.0.1:1")
    (tmp_path / "partner-bcp.env").write_text(Credentials("partner-bcp", "s3cr3t").env())
    (tmp_path / "claro.env").write_text(
        "# written by hand\nexport CONFIANZA_KAFKA__USERNAME='partner-claro'\n"
        f"CONFIANZA_KAFKA__PASSWORD_FILE={tmp_path / 'claro.pw'}\n"
    )
    (tmp_path / "claro.pw").write_text("from-a-file\n")
    found = load_credentials(tmp_path, ["bcp", "claro"], base)
    assert found["bcp"].username == "partner-bcp"
    assert found["bcp"].password is not None
    assert found["bcp"].password.get_secret_value() == "s3cr3t"
    assert found["claro"].password is not None
    assert found["claro"].password.get_secret_value() == "from-a-file"
    assert found["claro"].bootstrap_servers == "127.0.0.1:1"
    with pytest.raises(CredentialsError, match=r"no credentials in .* for entel"):
        load_credentials(tmp_path, ["bcp", "entel"], base)
    (tmp_path / "partner-bitel.env").write_text("CONFIANZA_KAFKA__USERNAME=partner-bitel\n")
    with pytest.raises(CredentialsError, match="lacks CONFIANZA_KAFKA__USERNAME and"):
        load_credentials(tmp_path, ["bitel"], base)


def test_simulate_sends_every_planned_record_as_its_partner(
    admin_settings: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"sim{next(_runs)}{os.getpid() % 1000}-"
    config = SimulationConfig(
        partners=3, rate=25, duration=3, campaigns=1, noise=0.5, seed=5, start=START,
        malformed=0.1, oversize=0.05, duplicates=0.1, partner_prefix=prefix,
    )  # fmt: skip
    traffic = generate(config)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for partner_id, sector in traffic.truth.partners:
        made = add_partner(admin_settings, partner_id, sector)
        (credentials / f"{made.username}.env").write_text(made.env(), encoding="utf-8")
        settings = admin_settings.with_credentials(made.username, made.password)
        reporter(Partner(partner_id, settings, made)).close()  # ACLs have reached the broker

    truth_file = tmp_path / "truth.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    environment |= {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": admin_settings.bootstrap_servers,
        "CONFIANZA_LOG__LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-m", "confianza.cli.main", "simulate", "--partners", "3",
         "--rate", "25", "--duration", "3", "--campaigns", "1", "--noise", "0.5", "--seed", "5",
         "--malformed", "0.1", "--oversize", "0.05", "--duplicates", "0.1",
         "--start", "2025-06-03T12:00:00", "--partner-prefix", prefix,
         "--credentials-dir", str(credentials), "--truth", str(truth_file)],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "failed 0, unconfirmed 0" in result.stdout
    assert orjson.loads(truth_file.read_bytes()) == traffic.truth.as_dict()

    planned: dict[str, Counter[tuple[bytes | None, bytes]]] = {}
    for record in traffic:
        key = record.event_id.encode() if record.event_id else None
        planned.setdefault(record.partner, Counter())[key, record.payload] += 1
    for partner_id, expected in planned.items():
        records = read_topic(admin_settings, f"ingest.{partner_id}.v1", sum(expected.values()))
        assert Counter((r.key, r.value) for r in records) == expected, partner_id
