"""``confianza worker deliver`` and ``confianza replay`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from confianza.consumers.cli import parse_since
from confianza.consumers.worker import Topics
from confianza.dev.subscriptions import webhook_subscriptions
from confianza.settings import KafkaSettings

from .process import start_worker


def confianza(
    *args: str, settings: KafkaSettings | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if settings is not None:
        env |= settings.as_env()
    return subprocess.run(
        [sys.executable, "-c", "from confianza.cli.main import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_subscriber(tmp_path: Path) -> Path:
    """A subscriptions file with one webhook subscriber whose receiver does not listen."""
    subs = tmp_path / "subs.yaml"
    subs.write_text(webhook_subscriptions({"soc-a": "http://127.0.0.1:9/"}, "TEST_WHSEC"))
    return subs


def test_a_bad_subscriptions_file_stops_the_worker_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "subs.yaml"
    bad.write_text(webhook_subscriptions({"soc-a": "ftp://127.0.0.1/x"}, "TEST_WHSEC"))
    result = confianza("worker", "deliver", "--channel", "webhook", "--subscriptions", str(bad))
    assert result.returncode == 2
    assert f"{bad}:7: /subscribers/0/target" in result.stderr


def test_replay_needs_to_be_told_what_to_replay() -> None:
    result = confianza("replay")
    assert result.returncode == 2
    assert "--from-dlq" in result.stderr


def test_replay_of_an_empty_dlq(
    admin_settings: KafkaSettings, topics: Topics, tmp_path: Path
) -> None:
    subs = _one_subscriber(tmp_path)
    result = confianza(
        "replay",
        "--from-dlq",
        "--subscriber",
        "soc-a",
        "--since",
        "2h",
        "--subscriptions",
        str(subs),
        "--dlq-topic",
        topics.dlq,
        "--deliveries-topic",
        topics.deliveries,
        settings=admin_settings,
    )
    assert result.returncode == 0, result.stderr
    assert "dead letters read: 0" in result.stdout


def test_a_ledger_topic_it_cannot_read_stops_the_worker_with_one_line(
    admin_settings: KafkaSettings, topics: Topics, tmp_path: Path, whsec: str
) -> None:
    log = tmp_path / "worker.log"
    unreadable = Topics(topics.alerts, "no-such-deliveries-topic", topics.dlq)
    worker = start_worker(admin_settings, _one_subscriber(tmp_path), unreadable, log)
    assert worker.wait(timeout=120) == 2, log.read_text()[-2000:]
    output = log.read_text()
    assert "no-such-deliveries-topic does not exist or is not readable" in output
    assert "Traceback" not in output


def test_a_stop_timeout_within_the_shutdown_grace_is_refused(tmp_path: Path) -> None:
    subs = _one_subscriber(tmp_path)
    args = ("worker", "deliver", "--channel", "webhook", "--subscriptions", str(subs))
    result = confianza(*args, "--stop-timeout", "10")
    assert result.returncode == 2
    assert "--stop-timeout (10 s) must be longer than CONFIANZA_DELIVERY_SHUTDOWN_GRACE" in (
        result.stderr
    )


def test_since_takes_a_time_or_an_age() -> None:
    assert parse_since("2026-05-01T10:00:00-05:00") == dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.UTC)
    age = dt.datetime.now(dt.UTC) - parse_since("30m")
    assert dt.timedelta(minutes=29) < age < dt.timedelta(minutes=31)
    for bad in ("yesterday", "2026-05-01T10:00:00"):
        with pytest.raises(typer.BadParameter):
            parse_since(bad)
