"""The partner registry: a compacted topic (``partners.v1``) keyed by partner id.

``confianza partners add/remove`` write it; the streams worker reads it to learn each
reporter's sector without a restart; ``confianza partners list`` folds it into the current state.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

import orjson
from kafka import KafkaConsumer, TopicPartition

from confianza.kafka import consumer, producer
from confianza.logging import get_logger
from confianza.provision.errors import ProvisioningError
from confianza.schemas.topics import PARTNERS
from confianza.settings import KafkaSettings

log = get_logger(__name__)

Status = Literal["active", "removed"]


@dataclass(frozen=True)
class PartnerRecord:
    """One partner as the registry knows it."""

    partner: str
    sector: str
    name: str
    status: Status
    updated_at: str

    def encode(self) -> bytes:
        return orjson.dumps(asdict(self))


def parse(raw: bytes) -> PartnerRecord | None:
    """A registry record, or None when the bytes are not one (the topic is not trusted input)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    fields = PartnerRecord.__dataclass_fields__
    if not isinstance(data, dict) or set(data) != set(fields):
        return None
    if not all(isinstance(value, str) for value in data.values()):
        return None
    if data["status"] not in ("active", "removed"):
        return None
    return PartnerRecord(**data)


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def publish(settings: KafkaSettings, record: PartnerRecord) -> None:
    """Write one registry record and wait until the broker has acknowledged it."""
    client = producer(settings, compression_type=None, linger_ms=0)
    try:
        client.send(PARTNERS, key=record.partner.encode(), value=record.encode()).get(timeout=30)
    finally:
        client.close()


def topic_partitions(client: KafkaConsumer, topic: str, timeout_s: float) -> list[TopicPartition]:
    """The partitions of ``topic``, once the broker that answers knows them: a topic created a
    moment ago (``confianza topics apply`` on a fresh cluster of several brokers) may not be in
    every broker's metadata yet. Raises ``ProvisioningError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (found := client.partitions_for_topic(topic)):
        if time.monotonic() >= deadline:
            raise ProvisioningError(
                f"topic {topic} is not known to the cluster after {timeout_s:g} s; "
                "create the topics first (confianza topics apply)"
            )
        time.sleep(0.2)
    return [TopicPartition(topic, p) for p in sorted(found)]


def read_all(settings: KafkaSettings, timeout_s: float = 10.0) -> dict[str, PartnerRecord]:
    """Fold the whole registry topic into ``{partner: latest record}`` (removed ones included).
    Raises ``ProvisioningError`` when the topic does not appear within ``timeout_s``."""
    client = consumer(settings, consumer_timeout_ms=int(timeout_s * 1000))
    try:
        partitions = topic_partitions(client, PARTNERS, timeout_s)
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        end = client.end_offsets(partitions)
        records: dict[str, PartnerRecord] = {}
        while any(client.position(tp) < end[tp] for tp in partitions):
            batch = client.poll(timeout_ms=1000)
            for messages in batch.values():
                for message in messages:
                    if message.value is None:
                        continue
                    record = parse(message.value)
                    if record is None:
                        log.warning(
                            "unreadable partner registry record skipped", offset=message.offset
                        )
                        continue
                    records[record.partner] = record
        return records
    finally:
        client.close()
