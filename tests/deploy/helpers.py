"""What the compose and Kubernetes tests compare against: the environment the code reads.

Names are derived from the code, never listed by hand: the ``Settings`` model (prefix
``CONFIANZA_``, nested with ``__``), the delivery policy (``CONFIANZA_DELIVERY_*``), the
``envvar`` of every CLI option, and the secret variables a subscriptions file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel

from confianza.consumers.policy import DeliveryPolicy
from confianza.consumers.subscriptions import Subscriptions
from confianza.settings import Settings

CREDENTIALS_FILE = "CONFIANZA_CREDENTIALS_FILE"
"""Read by the image's entry point (deploy/docker/entrypoint.sh), not by Python."""


def settings_env_names() -> set[str]:
    """Every variable ``Settings`` reads, e.g. CONFIANZA_KAFKA__BOOTSTRAP_SERVERS."""
    prefix = Settings.model_config["env_prefix"]
    delimiter = Settings.model_config["env_nested_delimiter"]
    names = set()
    for name, field in Settings.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= {f"{prefix}{name}{delimiter}{sub}".upper() for sub in kind.model_fields}
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def policy_env_names() -> set[str]:
    prefix = DeliveryPolicy.model_config["env_prefix"]
    return {f"{prefix}{name}".upper() for name in DeliveryPolicy.model_fields}


def cli_env_names(path: list[str]) -> set[str]:
    """The ``envvar`` of every option of the command at ``path`` (e.g. ["worker", "streams"])."""
    from confianza.cli.main import app

    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    names = set()
    for param in command.params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            names.add(envvar)
        elif envvar:
            names.update(envvar)
    return names


def secret_env_names(subscriptions: Subscriptions, channel: str) -> set[str]:
    """The variables the subscribers of one channel name for their secrets."""
    names = set()
    for subscriber in subscriptions.for_channel(channel):
        if subscriber.webhook_secret_env:
            names.add(subscriber.webhook_secret_env)
        if subscriber.smtp is not None and subscriber.smtp.password_env:
            names.add(subscriber.smtp.password_env)
    return names


def settings_from(env: dict[str, str], monkeypatch: Any, tmp_path: Path) -> Settings:
    """``Settings()`` as a process with exactly this environment would build it.

    A password file named in ``env`` is replaced by a temporary one (its content is the
    platform's business); everything else is validated as given.
    """
    import os

    for key in list(os.environ):
        if key.startswith("CONFIANZA_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key == "CONFIANZA_KAFKA__PASSWORD_FILE":
            secret = tmp_path / "password"
            secret.write_text("from-a-secret\n", encoding="utf-8")
            value = str(secret)
        monkeypatch.setenv(key, value)
    return Settings()
