"""Consumer lag of every Confianza consumer group, exported as ``confianza_consumer_lag_messages``.

Design: one exporter process, ``confianza ops lag``, measures lag for all groups whose id starts
with ``confianza-streams`` or ``confianza-deliver`` and serves it on its own ``/metrics`` port
(``WORKER_PORTS["lag"]``). It runs as the ``svc-ops`` principal, the only one allowed to
describe every group, and it keeps reporting while the workers it watches are down — which is
exactly when lag matters. Workers do not measure their own lag.

Lag of (group, topic) = sum over the topic's partitions of end offset minus committed offset.
A partition of a topic the group consumes but has no commit on yet counts from the log start
(Confianza consumers reset to earliest), so a group that never commits shows its whole backlog.
A refresh that fails clears every series this exporter set: no data is more honest than stale
data, and ``/readyz`` turns 503 until a refresh succeeds again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec

from confianza import kafka
from confianza.logging import get_logger
from confianza.metrics import CONSUMER_LAG
from confianza.provision.acls import DELIVER_GROUP_PREFIX, STREAMS_APP_ID
from confianza.settings import KafkaSettings

log = get_logger(__name__)

GROUP_PREFIXES = (STREAMS_APP_ID, DELIVER_GROUP_PREFIX)

GroupTopic = tuple[str, str]


def admin_client(settings: KafkaSettings, timeout: float) -> KafkaAdminClient:
    """An admin client that gives up on an unreachable broker after ``timeout`` seconds."""
    timeout_ms = int(timeout * 1000)
    return kafka.admin(settings, request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)


def confianza_groups(admin: KafkaAdminClient) -> list[str]:
    """Ids of the consumer groups the exporter watches, sorted."""
    return sorted(
        group["group_id"]
        for group in admin.list_groups()
        if group["group_id"].startswith(GROUP_PREFIXES)
    )


def _partitions(admin: KafkaAdminClient, topics: Iterable[str]) -> list[TopicPartition]:
    return [
        TopicPartition(topic["name"], partition["partition_index"])
        for topic in admin.describe_topics(sorted(set(topics)))
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]


def measure_lag(admin: KafkaAdminClient, groups: Iterable[str]) -> dict[GroupTopic, int]:
    """Lag per (group, topic) for the given groups, from committed, start and end offsets."""
    groups = list(groups)
    if not groups:
        return {}
    committed = admin.list_group_offsets(groups)
    existing = set(admin.list_topics())
    consumed = {
        group: {tp.topic for tp in offsets if tp.topic in existing}
        for group, offsets in committed.items()
    }
    partitions = _partitions(admin, set().union(*consumed.values()))
    if not partitions:
        return {}
    end = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
    start = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in partitions})
    lag: dict[GroupTopic, int] = defaultdict(int)
    for group, topics in consumed.items():
        for tp in partitions:
            if tp.topic not in topics:
                continue
            commit = committed[group].get(tp)
            position = commit.offset if commit is not None and commit.offset >= 0 else None
            if position is None:
                position = start[tp].offset
            lag[group, tp.topic] += max(end[tp].offset - position, 0)
    return dict(lag)


class LagExporter:
    """Measures lag every ``interval`` seconds and keeps ``CONSUMER_LAG`` equal to the result.

    Used by ``confianza ops lag``: ``start()`` runs ``refresh()`` at once and then on a daemon
    thread; ``ready`` is the ``/readyz`` callback; ``stop()`` ends the thread and the client.
    Tests call ``refresh()`` directly.
    """

    def __init__(
        self, settings: KafkaSettings, interval: float = 15.0, timeout: float = 10.0
    ) -> None:
        if interval <= 0 or timeout <= 0:
            raise ValueError("interval and timeout must be positive seconds")
        self._settings = settings
        self._interval = interval
        self._timeout = timeout
        self._admin: KafkaAdminClient | None = None
        self._exported: set[GroupTopic] = set()
        self._ok = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        """True while the last refresh succeeded."""
        return self._ok

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = admin_client(self._settings, self._timeout)
        return self._admin

    def _close_client(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def _export(self, lag: Mapping[GroupTopic, int]) -> None:
        for group, topic in self._exported - lag.keys():
            CONSUMER_LAG.remove(group, topic)
        for (group, topic), value in lag.items():
            CONSUMER_LAG.labels(group=group, topic=topic).set(value)
        self._exported = set(lag)

    def refresh(self) -> dict[GroupTopic, int]:
        """Measure once and export; on failure log why, clear the series and return {}."""
        try:
            admin = self._client()
            lag = measure_lag(admin, confianza_groups(admin))
        except Exception as exc:
            log.error("consumer lag refresh failed", error=repr(exc))
            self._close_client()
            self._export({})
            self._ok = False
            return {}
        self._export(lag)
        self._ok = True
        log.debug("consumer lag refreshed", series=len(lag), total=sum(lag.values()))
        return lag

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._interval)

    def start(self) -> None:
        """Start refreshing on a daemon thread (first refresh immediately)."""
        self._thread = threading.Thread(target=self._run, name="lag-exporter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, close the client and withdraw the exported series."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._close_client()
        self._export({})
