"""Who may do what: the ACLs of every Confianza principal, as data.

This module is the single source of truth for authorization. ``confianza partners add`` and
``confianza services add`` apply these lists to the local broker; the Kubernetes KafkaUser
resources are generated from them. A partner may write only its own ingest topic and read only
its own receipts; each service gets just the operations its stage needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from confianza.schemas import topics

ResourceKind = Literal["topic", "group", "cluster"]
PatternKind = Literal["literal", "prefixed"]
Operation = Literal["Read", "Write", "Describe", "Create", "All", "IdempotentWrite"]

STREAMS_APP_ID = "confianza-streams"
DELIVER_GROUP_PREFIX = "confianza-deliver"
OPS_GROUP_PREFIX = "confianza-ops"
SERVICES = ("streams", "deliver", "ops")


@dataclass(frozen=True, order=True)
class AclSpec:
    """One ALLOW rule: ``operation`` on a resource name (literal or prefix) for a principal."""

    principal: str
    resource: ResourceKind
    name: str
    pattern: PatternKind
    operation: Operation


def partner_principal(partner: str) -> str:
    return f"partner-{partner}"


def service_principal(service: str) -> str:
    return f"svc-{service}"


def partner_acls(partner: str) -> list[AclSpec]:
    """WRITE its own ingest prefix, READ its own receipts prefix and its own consumer groups."""
    user = partner_principal(partner)
    ingest = f"ingest.{partner}."
    receipts = f"receipts.{partner}."
    return [
        AclSpec(user, "topic", ingest, "prefixed", "Write"),
        AclSpec(user, "topic", ingest, "prefixed", "Describe"),
        AclSpec(user, "topic", receipts, "prefixed", "Read"),
        AclSpec(user, "topic", receipts, "prefixed", "Describe"),
        AclSpec(user, "group", user, "prefixed", "Read"),
    ]


def _read(user: str, topic: str) -> list[AclSpec]:
    return [
        AclSpec(user, "topic", topic, "literal", "Read"),
        AclSpec(user, "topic", topic, "literal", "Describe"),
    ]


def _write(user: str, topic: str) -> list[AclSpec]:
    return [
        AclSpec(user, "topic", topic, "literal", "Write"),
        AclSpec(user, "topic", topic, "literal", "Describe"),
    ]


def service_acls(service: str) -> list[AclSpec]:
    """The ACLs of one service principal (``streams``, ``deliver`` or ``ops``)."""
    user = service_principal(service)
    if service == "streams":
        return [
            AclSpec(user, "topic", "ingest.", "prefixed", "Read"),
            AclSpec(user, "topic", "ingest.", "prefixed", "Describe"),
            AclSpec(user, "topic", "receipts.", "prefixed", "Write"),
            AclSpec(user, "topic", "receipts.", "prefixed", "Describe"),
            *_read(user, topics.INCIDENTS),
            *_write(user, topics.INCIDENTS),
            *_read(user, topics.ALERTS),
            *_write(user, topics.ALERTS),
            *_read(user, topics.DLQ_INGEST),
            *_write(user, topics.DLQ_INGEST),
            *_read(user, topics.PARTNERS),
            AclSpec(user, "topic", STREAMS_APP_ID, "prefixed", "All"),
            AclSpec(user, "group", STREAMS_APP_ID, "prefixed", "All"),
            AclSpec(user, "cluster", "kafka-cluster", "literal", "IdempotentWrite"),
        ]
    if service == "deliver":
        return [
            *_read(user, topics.ALERTS),
            *_read(user, topics.DELIVERIES),
            *_write(user, topics.DELIVERIES),
            *_read(user, topics.DLQ_DELIVERY),
            *_write(user, topics.DLQ_DELIVERY),
            AclSpec(user, "group", DELIVER_GROUP_PREFIX, "prefixed", "Read"),
            AclSpec(user, "cluster", "kafka-cluster", "literal", "IdempotentWrite"),
        ]
    if service == "ops":
        return [
            AclSpec(user, "topic", "*", "literal", "Read"),
            AclSpec(user, "topic", "*", "literal", "Describe"),
            AclSpec(user, "group", "*", "literal", "Describe"),
            AclSpec(user, "group", OPS_GROUP_PREFIX, "prefixed", "Read"),
            *_write(user, topics.PARTNERS),
            *_write(user, topics.DELIVERIES),
            *_write(user, topics.DLQ_DELIVERY),
            AclSpec(user, "cluster", "kafka-cluster", "literal", "IdempotentWrite"),
        ]
    raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
