"""A local broker provisioned as deployed, for benchmarks: topics, services, partners.

``BenchKafka.start(partners)`` starts a one-node KRaft broker (``confianza.dev.kafka``) on
127.0.0.1, applies the topic file, creates the streams and deliver service principals and
onboards the partners (SCRAM user, topic pair, ACLs, registry), exactly as ``make demo`` does.
It also answers the questions the benchmarks ask the broker: how far behind its consumer
groups are (``lag_probe``) and how many records each topic holds (``records_per_topic``).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field

from kafka import TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from confianza import provision
from confianza.dev.kafka import Cluster
from confianza.kafka import admin, consumer
from confianza.logging import quiet_client_libraries
from confianza.observability.lag import measure_lag
from confianza.settings import KafkaSettings

SERVICES = ("streams", "deliver")


@dataclass
class BenchKafka:
    """The broker, its admin settings, the service credentials and the partners."""

    cluster: Cluster = field(default_factory=lambda: Cluster(size=1))
    services: dict[str, provision.Credentials] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> KafkaSettings:
        return self.cluster.admin_settings()

    @property
    def broker_pid(self) -> int | None:
        return self.cluster.brokers[0].pid

    def start(self, partners: Iterable[tuple[str, str]]) -> BenchKafka:
        """Start the broker and provision everything; stops the broker if that fails."""
        quiet_client_libraries()
        self.cluster.start()
        try:
            provision.apply_topics(self.admin)
            self.services = {name: provision.add_service(self.admin, name) for name in SERVICES}
            for partner, sector in partners:
                provision.add_partner(self.admin, partner, sector)
                self.partners[partner] = sector
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.cluster.stop()

    def service_env(self, service: str) -> dict[str, str]:
        """``CONFIANZA_KAFKA__*`` for a worker process running as ``service``."""
        creds = self.services[service]
        settings = self.admin.with_credentials(creds.username, creds.password)
        return settings.as_env() | {"CONFIANZA_KAFKA__REPLICATION_FACTOR": "1"}

    def admin_env(self) -> dict[str, str]:
        """``CONFIANZA_KAFKA__*`` for a benchmark helper running as the admin principal."""
        return self.admin.as_env()

    def create_topics(self, names: Iterable[str], partitions: int) -> None:
        """Create benchmark topics (existing ones are kept)."""
        client = admin(self.admin)
        try:
            for name in names:
                with suppress(TopicAlreadyExistsError):
                    client.create_topics([NewTopic(name, partitions, 1)])
        finally:
            client.close()

    def records_per_topic(self) -> dict[str, int]:
        """Every topic's end offsets summed over its partitions: taken before and after a
        phase, the difference is what the phase wrote to each topic."""
        client = consumer(self.admin)
        try:
            tps = [
                TopicPartition(topic, partition)
                for topic in client.topics()
                for partition in client.partitions_for_topic(topic) or ()
            ]
            totals: dict[str, int] = {}
            for tp, end in client.end_offsets(tps).items():
                totals[tp.topic] = totals.get(tp.topic, 0) + end
            return totals
        finally:
            client.close()

    def lag_probe(self) -> LagProbe:
        """A probe of consumer-group lag (keep it open while sampling; close it after)."""
        return LagProbe(self.admin)


class LagProbe:
    """Consumer-group lag (``confianza.observability.lag.measure_lag``) with one open client."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._admin = admin(settings)

    def lag(self, groups: Iterable[str]) -> int | None:
        """Records the ``groups`` have not committed yet, over every topic they consume;
        None while the broker cannot say (a group coordinator still being elected)."""
        try:
            return sum(measure_lag(self._admin, groups).values())
        except KafkaError:
            return None

    def detail(self, groups: Iterable[str]) -> dict[str, int]:
        """Lag per ``"<group> <topic>"`` (for a report of what did not drain)."""
        try:
            return {f"{g} {t}": n for (g, t), n in measure_lag(self._admin, groups).items() if n}
        except KafkaError as exc:
            return {"error": str(exc)}  # type: ignore[dict-item]

    def stable_members(self, group: str) -> int:
        """Members of ``group`` once it is stable (0 while it is rebalancing or unknown)."""
        try:
            found = self._admin.describe_groups([group]).get(group) or {}
        except KafkaError:
            return 0
        return len(found.get("members", ())) if found.get("group_state") == "Stable" else 0

    def close(self) -> None:
        self._admin.close()
