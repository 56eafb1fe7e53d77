"""structlog set-up: JSON lines, level from settings, secrets never rendered."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
import typer

from confianza.cli.common import load_settings
from confianza.kafka import client_config
from confianza.logging import REDACTED, configure, get_logger
from confianza.settings import KafkaSettings, get_settings

SECRET = "s3cr3t-Pa55"


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    get_settings.cache_clear()


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_one_json_object_per_line_with_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO", "json")
    log = get_logger("confianza.test")
    log.info("event accepted", event_uid="9b1d", partner="bcp")
    log.warning("alert emitted", alert_id="a-1", severity="high")
    first, second = lines(capsys.readouterr().err)
    assert first["event"] == "event accepted"
    assert (first["event_uid"], first["partner"], first["level"]) == ("9b1d", "bcp", "info")
    assert first["logger_name"] == "confianza.test"
    assert "timestamp" in first
    assert (second["alert_id"], second["level"]) == ("a-1", "warning")


def test_level_comes_from_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONFIANZA_LOG__LEVEL", "WARNING")
    get_settings.cache_clear()
    assert load_settings().log.level == "WARNING"
    log = get_logger("confianza.test")
    log.info("not shown")
    log.warning("shown")
    assert [entry["event"] for entry in lines(capsys.readouterr().err)] == ["shown"]


def test_an_invalid_level_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONFIANZA_LOG__LEVEL", "LOUD")
    get_settings.cache_clear()
    with pytest.raises(typer.Exit) as exit_info:
        load_settings()
    assert exit_info.value.exit_code == 2
    assert "log.level" in capsys.readouterr().err


@pytest.mark.parametrize(
    "fields",
    [
        {"password": SECRET},
        {"sasl_plain_password": SECRET},
        {"api_token": SECRET},
        {"Authorization": f"Bearer {SECRET}"},
        {"webhook_secret": SECRET},
        {"request": {"headers": {"authorization": SECRET}}},
        {"subscribers": [{"id": "bcp-soc", "secret": SECRET}]},
    ],
    ids=["password", "sasl", "token", "authorization", "secret", "nested", "in-list"],
)
def test_secrets_are_redacted(
    fields: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("DEBUG", "json")
    get_logger("confianza.test").info("connecting", **fields)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert REDACTED in err


def test_kafka_settings_and_client_config_do_not_leak(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure("DEBUG", "json")
    settings = KafkaSettings(username="svc-streams").with_credentials("svc-streams", SECRET)
    log = get_logger("confianza.test")
    log.info("settings", kafka=settings)
    log.info("client", config=client_config(settings))
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "svc-streams" in err


def test_console_format_also_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO", "console")
    get_logger("confianza.test").info("login", password=SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "login" in err
