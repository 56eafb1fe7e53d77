"""Apply provisioning data to a broker through kafka-python's admin client.

Called by the topic, partner and service commands; every function is idempotent: applying the
same state twice changes nothing the second time and reports it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from confianza.kafka import admin
from confianza.provision.acls import AclSpec
from confianza.provision.errors import ProvisioningError
from confianza.settings import KafkaSettings

_RESOURCE = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.CLUSTER,
}
_PATTERN = {"literal": ACLResourcePatternType.LITERAL, "prefixed": ACLResourcePatternType.PREFIXED}
_OPERATION = {
    "Read": ACLOperation.READ,
    "Write": ACLOperation.WRITE,
    "Describe": ACLOperation.DESCRIBE,
    "Create": ACLOperation.CREATE,
    "All": ACLOperation.ALL,
    "IdempotentWrite": ACLOperation.IDEMPOTENT_WRITE,
}


@contextmanager
def connect(settings: KafkaSettings) -> Iterator[KafkaAdminClient]:
    """An admin client, with broker-down and authentication failures as ProvisioningError."""
    try:
        client = admin(settings, request_timeout_ms=15000, bootstrap_timeout_ms=8000)
    except (KafkaConnectionError, KafkaTimeoutError) as exc:
        raise ProvisioningError(
            f"no Kafka broker answers at {settings.bootstrap_servers}; start one with "
            "`confianza dev kafka up` or set CONFIANZA_KAFKA__BOOTSTRAP_SERVERS"
        ) from exc
    except KafkaError as exc:
        raise ProvisioningError(
            f"cannot connect to Kafka at {settings.bootstrap_servers} as "
            f"{settings.username!r}: {type(exc).__name__}; check the admin credentials"
        ) from exc
    try:
        yield client
    finally:
        client.close()


def new_password() -> str:
    """A fresh random SCRAM password (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def scram_users(client: KafkaAdminClient) -> set[str]:
    """Names of every principal that has a SCRAM credential."""
    described = client.describe_user_scram_credentials()
    return {user for user, info in described.items() if info["credential_infos"]}


def set_scram_password(client: KafkaAdminClient, user: str, password: str) -> None:
    """Create or replace the user's SCRAM-SHA-512 credential."""
    result = client.alter_user_scram_credentials(
        [
            UserScramCredentialUpsertion(
                user, ScramMechanism.SCRAM_SHA_512, password, iterations=8192
            )
        ]
    )
    if result.get(user):
        raise ProvisioningError(f"could not set the SCRAM credential of {user}: {result[user]}")


def delete_scram_user(client: KafkaAdminClient, user: str) -> None:
    result = client.alter_user_scram_credentials(
        [UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)]
    )
    if result.get(user):
        raise ProvisioningError(f"could not delete the SCRAM credential of {user}: {result[user]}")


def _to_acl(spec: AclSpec) -> ACL:
    return ACL(
        principal=f"User:{spec.principal}",
        host="*",
        operation=_OPERATION[spec.operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            _RESOURCE[spec.resource], spec.name, _PATTERN[spec.pattern]
        ),
    )


def _principal_filter(principal: str) -> ACLFilter:
    return ACLFilter(
        principal=f"User:{principal}",
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


def _spec_key(acl: ACL) -> tuple[str, int, str, int, int]:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        int(pattern.resource_type),
        pattern.resource_name,
        int(pattern.pattern_type),
        int(acl.operation),
    )


def existing_acls(client: KafkaAdminClient, principal: str) -> list[ACL]:
    acls, error = client.describe_acls(_principal_filter(principal))
    if error is not None and error.errno != 0:
        raise ProvisioningError(f"could not read the ACLs of {principal}: {error}")
    return list(acls)


def apply_acls(client: KafkaAdminClient, principal: str, specs: Iterable[AclSpec]) -> int:
    """Make the principal's ACLs exactly ``specs``; returns how many rules changed."""
    wanted = {_spec_key(a): a for a in map(_to_acl, specs)}
    present = {_spec_key(a): a for a in existing_acls(client, principal)}
    to_create = [acl for key, acl in wanted.items() if key not in present]
    to_delete = [acl for key, acl in present.items() if key not in wanted]
    if to_create:
        result = client.create_acls(to_create)
        if result["failed"]:
            raise ProvisioningError(f"could not create ACLs for {principal}: {result['failed']}")
    if to_delete:
        client.delete_acls([_exact_filter(acl) for acl in to_delete])
    return len(to_create) + len(to_delete)


def _exact_filter(acl: ACL) -> ACLFilter:
    pattern = acl.resource_pattern
    return ACLFilter(
        principal=acl.principal,
        host=acl.host,
        operation=acl.operation,
        permission_type=acl.permission_type,
        resource_pattern=ResourcePatternFilter(
            pattern.resource_type, pattern.resource_name, pattern.pattern_type
        ),
    )


def remove_acls(client: KafkaAdminClient, principal: str) -> int:
    """Delete every ACL of the principal; returns how many were removed."""
    results = client.delete_acls([_principal_filter(principal)])
    return sum(len(matched) for _, matched, _ in results)
