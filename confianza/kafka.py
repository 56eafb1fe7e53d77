"""Kafka client factory: the one place that turns settings into client configuration.

Every producer, consumer and admin client in Confianza is built here, so SASL/SCRAM, TLS,
``acks=all`` and idempotence are set the same way everywhere. kafka-python serves the SDK,
the CLI and the delivery workers; ``aiokafka_kwargs`` and ``faust_credentials`` serve the
asyncio side (Faust, async consumers).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import (
    AuthorizationError,
    KafkaConnectionError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
)

from confianza.settings import KafkaSettings

Client = TypeVar("Client")
BOOTSTRAP_TIMEOUT_MS = 15000


class LoginRefused(SaslAuthenticationFailedError):
    """The broker accepted the TCP connection but dropped it during the SASL login.

    Kafka answers wrong credentials with an error and then closes the socket; when the close
    reaches kafka-python before the answer, only "socket disconnected" is left to see.
    """


class _RefusedLoginRecorder(logging.Handler):
    """Keeps what the bootstrap attempts of the client being built ran into.

    kafka-python 3 reports a refused SASL login only as a bootstrap timeout; the broker's
    real answer (or the dropped connection) travels in the log records of the failed
    bootstrap attempts. ``_connected`` raises that instead of the timeout.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.refusal: Exception | None = None
        self.dropped = False
        self.unreachable = False

    def reset(self) -> None:
        self.refusal, self.dropped, self.unreachable = None, False, False

    def emit(self, record: logging.LogRecord) -> None:
        for arg in record.args if isinstance(record.args, tuple) else ():
            if isinstance(arg, SaslAuthenticationFailedError | AuthorizationError):
                self.refusal = arg
            elif isinstance(arg, KafkaConnectionError):
                if "disconnected" in str(arg):
                    self.dropped = True
                else:
                    self.unreachable = True


_ATTEMPTS = _RefusedLoginRecorder()
_manager_log = logging.getLogger("kafka.net.manager")
_manager_log.addHandler(_ATTEMPTS)
_manager_log.setLevel(logging.WARNING)
_manager_log.propagate = False


def _connected(build: Callable[[], Client], sasl: bool) -> Client:
    """Build a client; a bootstrap timeout caused by a refused login raises the refusal."""
    _ATTEMPTS.reset()
    try:
        return build()
    except KafkaTimeoutError as exc:
        if _ATTEMPTS.refusal is not None:
            raise _ATTEMPTS.refusal from exc
        if sasl and _ATTEMPTS.dropped and not _ATTEMPTS.unreachable:
            raise LoginRefused(
                "the broker closed the connection during the SASL login: "
                "check the username and password"
            ) from exc
        raise


def _sasl(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol.startswith("SASL")


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection and authentication options common to every kafka-python client."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
        "client_id": kafka.client_id,
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
    }
    if kafka.security_protocol.startswith("SASL"):
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.username
        config["sasl_plain_password"] = (
            kafka.password.get_secret_value() if kafka.password else None
        )
    if kafka.ssl_cafile is not None:
        config["ssl_cafile"] = str(kafka.ssl_cafile)
    return config


def producer(kafka: KafkaSettings, **overrides: Any) -> KafkaProducer:
    """An idempotent ``acks=all`` producer with batching and compression."""
    config = client_config(kafka) | {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 64 * 1024,
        "compression_type": "gzip",
        "max_in_flight_requests_per_connection": 5,
        "retries": 2**31 - 1,
    }
    return _connected(lambda: KafkaProducer(**(config | overrides)), _sasl(kafka))


def consumer(kafka: KafkaSettings, *topics: str, **overrides: Any) -> KafkaConsumer:
    """A consumer that never auto-commits: callers commit after their work is durable."""
    config = client_config(kafka) | {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
    }
    return _connected(lambda: KafkaConsumer(*topics, **(config | overrides)), _sasl(kafka))


def admin(kafka: KafkaSettings, **overrides: Any) -> KafkaAdminClient:
    """An admin client (topics, ACLs, SCRAM users, consumer-group offsets)."""
    return _connected(lambda: KafkaAdminClient(**(client_config(kafka) | overrides)), _sasl(kafka))


def aiokafka_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection and authentication options for aiokafka clients."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
        "client_id": kafka.client_id,
    }
    if kafka.security_protocol.startswith("SASL"):
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.username
        config["sasl_plain_password"] = (
            kafka.password.get_secret_value() if kafka.password else None
        )
    context = ssl_context(kafka)
    if context is not None:
        config["ssl_context"] = context
    return config


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of the asyncio clients (aiokafka, Faust): None without TLS."""
    if not kafka.security_protocol.endswith("SSL"):
        return None
    return ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
