"""One frozen settings object, read from ``CONFIANZA_*`` environment variables.

Nested sections use a double underscore: ``CONFIANZA_KAFKA__BOOTSTRAP_SERVERS``,
``CONFIANZA_METRICS__PORT``. Secrets are ``SecretStr`` (never printed) and may come from a
file (``CONFIANZA_KAFKA__PASSWORD_FILE``) instead of the environment. ``get_settings()`` is
called once per process; tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSettings(BaseModel):
    """How every Confianza process reaches the brokers, and as whom."""

    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = "SASL_PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ssl_cafile: Path | None = None
    client_id: str = "confianza"
    replication_factor: int = Field(default=1, ge=1, le=5)

    @model_validator(mode="after")
    def _read_password_file(self) -> KafkaSettings:
        if self.password is None and self.password_file is not None:
            secret = self.password_file.read_text(encoding="utf-8").strip()
            object.__setattr__(self, "password", SecretStr(secret))
        return self

    def as_env(self) -> dict[str, str]:
        """``CONFIANZA_KAFKA__*`` that make a child process connect as these settings do
        (address and principal): for the processes tests and benchmarks start."""
        env = {"CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap_servers}
        if self.username is not None:
            env["CONFIANZA_KAFKA__USERNAME"] = self.username
        if self.password is not None:
            env["CONFIANZA_KAFKA__PASSWORD"] = self.password.get_secret_value()
        return env

    def with_credentials(self, username: str, password: str) -> KafkaSettings:
        """The same connection settings for another principal (a partner, a service)."""
        return self.model_copy(update={"username": username, "password": SecretStr(password)})


class MetricsSettings(BaseModel):
    """Where a worker serves ``/metrics``, ``/healthz`` and ``/readyz``; port 0 turns it off."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


class LogSettings(BaseModel):
    """structlog output: JSON lines for machines, console for people at a terminal."""

    model_config = ConfigDict(frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"


class Settings(BaseSettings):
    """Everything a Confianza process reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="CONFIANZA_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    metrics: MetricsSettings = MetricsSettings()
    log: LogSettings = LogSettings()
    data_dir: Path = Path(".confianza")
    topics_file: Path | None = None
    scoring_file: Path | None = None
    subscriptions_file: Path | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first call."""
    return Settings()
