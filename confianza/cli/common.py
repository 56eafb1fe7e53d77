"""What every CLI command shares: settings, logging set-up, and errors as one-line exits.

Exit codes: 0 success; 1 the work ran but some records were rejected or failed; 2 usage,
configuration or connection error (the message says what to do).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from kafka.errors import KafkaError
from pydantic import ValidationError

from confianza.dev.kafka import KafkaHarnessError
from confianza.logging import configure
from confianza.provision.errors import ProvisioningError
from confianza.settings import Settings, get_settings

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The process settings with logging configured; a bad environment exits 2."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"invalid setting {where}: {first['msg']} (check the CONFIANZA_* environment)")
    configure(settings.log.level, settings.log.format)
    return settings


@contextmanager
def kafka_errors(settings: Settings, action: str) -> Iterator[None]:
    """Turn a Kafka client error into ``error: cannot <action> at <bootstrap>: …``, exit 2."""
    try:
        yield
    except KafkaError as exc:
        fail(f"cannot {action} at {settings.kafka.bootstrap_servers}: {exc}")


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turn known operator-fixable errors into ``error: …`` and exit code 2."""
    try:
        yield
    except (ProvisioningError, KafkaHarnessError) as exc:
        fail(str(exc).splitlines()[0] if isinstance(exc, ProvisioningError) else str(exc))


def stop_timeout_option(envvar: str) -> typer.models.OptionInfo:
    """The ``--stop-timeout`` option of a long-running worker (``confianza.stopping``)."""
    from confianza.stopping import STOP_TIMEOUT_S

    return typer.Option(
        STOP_TIMEOUT_S,
        "--stop-timeout",
        envvar=envvar,
        min=1.0,
        help="Seconds a stop (SIGTERM, Ctrl-C) may take to commit and close; past them the "
        "worker exits with code 1 without committing (the next worker reads those records "
        "again).",
    )
