"""Kafka client factory: the one place that turns settings into client configuration.

Every producer, consumer and admin client in Confianza is built here, so SASL/SCRAM, TLS,
``acks=all`` and idempotence are set the same way everywhere. kafka-python serves the SDK,
the CLI and the delivery workers; ``aiokafka_kwargs`` and ``faust_credentials`` serve the
asyncio side (Faust, async consumers).
"""

from __future__ import annotations

import ssl
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from confianza.settings import KafkaSettings


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection and authentication options common to every kafka-python client."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
        "client_id": kafka.client_id,
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
    return KafkaProducer(**(config | overrides))


def consumer(kafka: KafkaSettings, *topics: str, **overrides: Any) -> KafkaConsumer:
    """A consumer that never auto-commits: callers commit after their work is durable."""
    config = client_config(kafka) | {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
    }
    return KafkaConsumer(*topics, **(config | overrides))


def admin(kafka: KafkaSettings, **overrides: Any) -> KafkaAdminClient:
    """An admin client (topics, ACLs, SCRAM users, consumer-group offsets)."""
    return KafkaAdminClient(**(client_config(kafka) | overrides))


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
    if kafka.security_protocol.endswith("SSL"):
        config["ssl_context"] = ssl.create_default_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
    return config
