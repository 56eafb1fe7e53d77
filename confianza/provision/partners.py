"""Partner onboarding: SCRAM user, topic pair, ACLs and registry entry, in one call.

``add_partner`` is what ``confianza partners add`` runs; onboarding needs no redeploy because
the streams worker subscribes to ingest topics by pattern and reads the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from confianza.provision import kafka_admin, registry
from confianza.provision.acls import partner_acls, partner_principal
from confianza.provision.errors import ProvisioningError
from confianza.provision.topics import apply_topics
from confianza.schemas.topics import PARTNER_ID, TopicFile, load_topic_file
from confianza.settings import KafkaSettings

PARTNER_SECTORS = ("banking", "telecom", "government", "justice", "other")


@dataclass(frozen=True)
class Credentials:
    """A principal's SCRAM username and password. Shown once; never logged."""

    username: str
    password: str

    def env(self) -> str:
        """The credentials as ``CONFIANZA_KAFKA__*`` lines, for an env file."""
        return (
            f"CONFIANZA_KAFKA__USERNAME={self.username}\n"
            f"CONFIANZA_KAFKA__PASSWORD={self.password}\n"
        )

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def check_partner_id(partner: str) -> None:
    if not PARTNER_ID.match(partner):
        raise ProvisioningError(
            f"invalid partner id {partner!r}: use 2-40 lower-case letters, digits or '-', "
            "starting with a letter (e.g. bcp, pnp-divindat)"
        )


def check_sector(sector: str) -> None:
    if sector not in PARTNER_SECTORS:
        raise ProvisioningError(
            f"unknown sector {sector!r}: choose one of {', '.join(PARTNER_SECTORS)}"
        )


def add_partner(
    settings: KafkaSettings,
    partner: str,
    sector: str,
    name: str | None = None,
    topic_file: TopicFile | None = None,
) -> Credentials:
    """Onboard a new partner; raises ProvisioningError if it already exists."""
    check_partner_id(partner)
    check_sector(sector)
    user = partner_principal(partner)
    topic_file = topic_file or load_topic_file()
    with kafka_admin.connect(settings) as client:
        if user in kafka_admin.scram_users(client):
            raise ProvisioningError(
                f"partner {partner} already exists; use `confianza partners rotate {partner}` "
                "for new credentials or `partners remove` first"
            )
        apply_topics(client, topic_file.for_partner(partner), settings.replication_factor)
        kafka_admin.apply_acls(client, user, partner_acls(partner))
        credentials = Credentials(user, kafka_admin.new_password())
        kafka_admin.set_scram_password(client, user, credentials.password)
    registry.publish(
        settings,
        registry.PartnerRecord(partner, sector, name or partner, "active", registry.now_rfc3339()),
    )
    return credentials


def rotate_credentials(settings: KafkaSettings, partner: str) -> Credentials:
    """Replace the partner's password; the old one stops working at once."""
    check_partner_id(partner)
    user = partner_principal(partner)
    with kafka_admin.connect(settings) as client:
        if user not in kafka_admin.scram_users(client):
            raise ProvisioningError(f"unknown partner {partner}; see `confianza partners list`")
        credentials = Credentials(user, kafka_admin.new_password())
        kafka_admin.set_scram_password(client, user, credentials.password)
    return credentials


def remove_partner(settings: KafkaSettings, partner: str, delete_topics: bool = False) -> None:
    """Revoke access (credential and ACLs) and mark the partner removed in the registry.

    Topics are kept by default: receipts and reported evidence stay available to operations.
    """
    check_partner_id(partner)
    user = partner_principal(partner)
    known = registry.read_all(settings)
    with kafka_admin.connect(settings) as client:
        if user not in kafka_admin.scram_users(client) and partner not in known:
            raise ProvisioningError(f"unknown partner {partner}; see `confianza partners list`")
        kafka_admin.remove_acls(client, user)
        if user in kafka_admin.scram_users(client):
            kafka_admin.delete_scram_user(client, user)
        if delete_topics:
            topic_file = load_topic_file()
            names = [t.name for t in topic_file.for_partner(partner)]
            client.delete_topics(names, raise_errors=False)
    previous = known.get(partner)
    registry.publish(
        settings,
        registry.PartnerRecord(
            partner,
            previous.sector if previous else "other",
            previous.name if previous else partner,
            "removed",
            registry.now_rfc3339(),
        ),
    )


def list_partners(settings: KafkaSettings) -> list[registry.PartnerRecord]:
    """Every partner in the registry, active and removed, sorted by id."""
    return sorted(registry.read_all(settings).values(), key=lambda r: r.partner)
