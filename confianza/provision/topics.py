"""``confianza topics apply``: make the broker's topics match the declarative topic file.

Missing topics are created; partition counts only ever grow (shrinking is impossible in Kafka
and is reported as an error); topic configuration is set to the file's values. Re-running with
an unchanged file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from confianza.provision.errors import ProvisioningError
from confianza.schemas.topics import TopicSpec


@dataclass
class TopicReport:
    """What one apply did, topic by topic."""

    created: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)
    reconfigured: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.grown or self.reconfigured)


def wanted_config(spec: TopicSpec, replication: int) -> dict[str, str]:
    """The topic configuration to apply: the file's values plus the replication defaults."""
    config = dict(spec.config)
    config.setdefault("min.insync.replicas", "2" if replication >= 3 else "1")
    if replication >= 3:
        config.setdefault("unclean.leader.election.enable", "false")
    return config


def _current_configs(client: KafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The non-default configuration of each topic, ``{topic: {key: value}}``."""
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    described = client.describe_configs(resources).get("topic", {})
    return {
        name: {key: entry["value"] for key, entry in configs.items() if entry["value"] is not None}
        for name, configs in described.items()
    }


def apply_topics(
    client: KafkaAdminClient, specs: Iterable[TopicSpec], replication: int
) -> TopicReport:
    """Create, grow and configure ``specs`` on the broker; idempotent."""
    report = TopicReport()
    specs = list(specs)
    described = {
        t["name"]: t
        for t in client.describe_topics([s.name for s in specs])
        if t.get("error_code", 0) == 0
    }
    missing = [s for s in specs if s.name not in described]
    if missing:
        client.create_topics(
            {
                s.name: {
                    "num_partitions": s.partitions,
                    "replication_factor": replication,
                    "configs": wanted_config(s, replication),
                }
                for s in missing
            },
            wait_for_metadata=True,
        )
        report.created.extend(s.name for s in missing)
    present = [s for s in specs if s.name in described]
    current = _current_configs(client, [s.name for s in present])
    for spec in present:
        partitions = len(described[spec.name]["partitions"])
        if partitions > spec.partitions:
            raise ProvisioningError(
                f"topic {spec.name} has {partitions} partitions, the file asks for "
                f"{spec.partitions}; Kafka cannot shrink a topic: raise the count in the file"
            )
        changed = False
        if partitions < spec.partitions:
            client.create_partitions({spec.name: spec.partitions})
            report.grown.append(spec.name)
            changed = True
        wanted = wanted_config(spec, replication)
        have = current.get(spec.name, {})
        delta = {k: v for k, v in wanted.items() if have.get(k) != v}
        if delta:
            client.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=delta)]
            )
            report.reconfigured.append(spec.name)
            changed = True
        if not changed:
            report.unchanged.append(spec.name)
    return report
