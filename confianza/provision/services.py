"""Service principals (``svc-streams``, ``svc-deliver``, ``svc-ops``) with least-privilege ACLs."""

from __future__ import annotations

from confianza.provision import kafka_admin
from confianza.provision.acls import SERVICES, service_acls, service_principal
from confianza.provision.errors import ProvisioningError
from confianza.provision.partners import Credentials
from confianza.settings import KafkaSettings


def add_service(settings: KafkaSettings, service: str) -> Credentials:
    """Create the service principal or give it a new password; its ACLs are (re)applied."""
    if service not in SERVICES:
        raise ProvisioningError(f"unknown service {service!r}: choose one of {', '.join(SERVICES)}")
    user = service_principal(service)
    with kafka_admin.connect(settings) as client:
        kafka_admin.apply_acls(client, user, service_acls(service))
        credentials = Credentials(user, kafka_admin.new_password())
        kafka_admin.set_scram_password(client, user, credentials.password)
    return credentials
