"""The operator CLI on bad input: one-line errors that say what to do, and exit code 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from confianza.settings import KafkaSettings


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "confianza.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def admin_env(settings: KafkaSettings) -> dict[str, str]:
    return {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": settings.username or "",
        "CONFIANZA_KAFKA__PASSWORD": settings.password.get_secret_value()
        if settings.password
        else "",
    }


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_help_explains_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("dev", "topics", "partners", "services"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("partners", "add", "BCP.pe", "--sector", "banking"), ("invalid partner id",)),
        (("partners", "add", "bcp", "--sector", "fintech"), ("unknown sector", "banking")),
    ],
)
def test_invalid_partner_input_is_refused_before_connecting(args, fragments) -> None:
    assert_one_line_error(run_cli(*args), *fragments)


def test_broker_down_says_how_to_start_one() -> None:
    result = run_cli("topics", "apply", env={"CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9"})
    assert_one_line_error(result, "no Kafka broker answers", "confianza dev kafka up")


def test_duplicate_and_unknown_partners(admin_settings: KafkaSettings) -> None:
    env = admin_env(admin_settings)
    first = run_cli("partners", "add", "cli-dup", "--sector", "telecom", env=env)
    assert first.returncode == 0, first.stderr
    assert "CONFIANZA_KAFKA__PASSWORD=" in first.stdout
    assert_one_line_error(
        run_cli("partners", "add", "cli-dup", "--sector", "telecom", env=env), "already exists"
    )
    assert_one_line_error(run_cli("partners", "rotate", "cli-nobody", env=env), "unknown partner")
    assert_one_line_error(run_cli("partners", "remove", "cli-nobody", env=env), "unknown partner")


def test_wrong_admin_password_is_an_authentication_error(admin_settings: KafkaSettings) -> None:
    env = admin_env(admin_settings) | {"CONFIANZA_KAFKA__PASSWORD": "wrong"}
    assert_one_line_error(run_cli("topics", "apply", env=env), "check the admin credentials")


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "dev",
            "kafka",
            "up",
            "--port",
            str(port),
            env={"CONFIANZA_DATA_DIR": str(tmp_path)},
        )
    assert_one_line_error(result, f"port {port}", "in use")


def test_corrupt_download_cache_says_to_fetch_again(tmp_path: Path) -> None:
    lib = tmp_path / "cache" / "kafka-3.9.1" / "lib"
    lib.mkdir(parents=True)
    (lib / "kafka_2.13-3.9.1.jar").write_bytes(b"not a jar")
    (lib / ".complete").write_text("kafka_2.13-3.9.1.jar\n")
    result = run_cli(
        "dev",
        "kafka",
        "up",
        env={"CONFIANZA_KAFKA_CACHE": str(tmp_path / "cache"), "CONFIANZA_DATA_DIR": str(tmp_path)},
    )
    assert_one_line_error(result, "corrupt", "confianza dev kafka fetch --force")


def test_status_without_a_broker_says_how_to_start_one(tmp_path: Path) -> None:
    result = run_cli("dev", "kafka", "status", env={"CONFIANZA_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "confianza dev kafka up")
