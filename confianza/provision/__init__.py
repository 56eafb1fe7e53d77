"""Provisioning as code: topics from the topic file, partners and services with their ACLs.

Everything here is idempotent and talks to the broker as the admin principal.
"""

from confianza.provision.apply import apply_topics
from confianza.provision.errors import ProvisioningError
from confianza.provision.partners import (
    Credentials,
    add_partner,
    list_partners,
    remove_partner,
    rotate_credentials,
)
from confianza.provision.services import add_service
from confianza.provision.topics import TopicReport

__all__ = [
    "Credentials",
    "ProvisioningError",
    "TopicReport",
    "add_partner",
    "add_service",
    "apply_topics",
    "list_partners",
    "remove_partner",
    "rotate_credentials",
]
