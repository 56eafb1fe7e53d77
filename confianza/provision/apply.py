"""``apply_topics(settings)``: the shared topics of the topic file, plus every partner's pair."""

from __future__ import annotations

from pathlib import Path

from confianza.provision import kafka_admin, registry
from confianza.provision.acls import partner_acls, partner_principal
from confianza.provision.topics import TopicReport
from confianza.provision.topics import apply_topics as apply_specs
from confianza.schemas.topics import load_topic_file
from confianza.settings import KafkaSettings


def apply_topics(settings: KafkaSettings, topics_file: Path | None = None) -> TopicReport:
    """Create or update the shared topics, then every registered partner's topics and ACLs."""
    topic_file = load_topic_file(topics_file)
    with kafka_admin.connect(settings) as client:
        report = apply_specs(client, topic_file.shared, settings.replication_factor)
    active = [r.partner for r in registry.read_all(settings).values() if r.status == "active"]
    with kafka_admin.connect(settings) as client:
        for partner in active:
            partner_report = apply_specs(
                client, topic_file.for_partner(partner), settings.replication_factor
            )
            kafka_admin.apply_acls(client, partner_principal(partner), partner_acls(partner))
            for name in ("created", "grown", "reconfigured", "unchanged"):
                getattr(report, name).extend(getattr(partner_report, name))
    return report
