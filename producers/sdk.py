"""The partner SDK: report incident events to the center and read back its receipts.

A partner's program builds one ``Reporter`` per process and keeps it::

    with Reporter(settings, "bcp") as reporter:
        reporter.send(event).get(timeout=10)   # validated here, then written to ingest.bcp.v1
        for receipt in reporter.receipts(timeout=30):
            print(receipt["event_id"], receipt["status"])

``send`` validates the event exactly as the server does (``confianza.schemas.validate``) and
raises ``EventRejected`` with the field errors before anything leaves the process; the record
key is the ``event_id``. The producer is idempotent with ``acks=all``, batching and
compression (``confianza.kafka.producer``). ``receipts`` reads the partner's own receipts
topic with no consumer group (manual assignment), so it needs no group ACL. Leaving the
``with`` block flushes every pending event and closes the connections.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    TopicAuthorizationFailedError,
)
from kafka.producer.future import FutureRecordMetadata

from confianza.kafka import consumer, producer
from confianza.logging import get_logger
from confianza.schemas.topics import PARTNER_ID, ingest_topic, receipts_topic
from confianza.schemas.validate import FieldError, Rejection, encode, validate_event
from confianza.settings import KafkaSettings

log = get_logger(__name__)
MAX_BLOCK_MS = 15000  # longest a send (or the first metadata look-up) may block


class EventRejected(ValueError):
    """Local validation refused an event; nothing was sent.

    ``errors`` are the same ``FieldError(pointer, message)`` items the server would put in a
    rejection receipt."""

    def __init__(self, event_id: str | None, rejection: Rejection) -> None:
        self.event_id = event_id
        self.reason = rejection.reason
        self.errors: tuple[FieldError, ...] = rejection.errors
        details = "; ".join(f"{e.pointer or '/'}: {e.message}" for e in rejection.errors)
        super().__init__(f"event {event_id or '(no event_id)'} rejected ({self.reason}): {details}")


class ReporterError(RuntimeError):
    """The broker cannot be reached, refused the login, or the partner may not write its
    topic. The message says which and what to check; the password is never in it."""


_HINTS = {
    SaslAuthenticationFailedError: "the login was refused: check the username and password",
    TopicAuthorizationFailedError: "this principal may not write the partner's ingest topic: "
    "check that the partner id matches the credentials (user partner-<id>)",
    KafkaTimeoutError: "no answer in time: check the bootstrap servers, the username and "
    "password, and that the partner is provisioned (confianza partners add)",
}


def _describe(error: BaseException, settings: KafkaSettings) -> str:
    who = settings.username or "(no username)"
    hint = next((h for kind, h in _HINTS.items() if isinstance(error, kind)), str(error))
    return f"cannot use Kafka at {settings.bootstrap_servers} as {who}: {hint}"


class Reporter:
    """Writes one partner's incident events to ``ingest.<partner>.v1``; reads its receipts.

    Building it connects to the broker and checks that the principal may write the partner's
    ingest topic, so a wrong password or partner id fails here with ``ReporterError``. With
    ``receipts=False`` it never opens the receipts reader (for senders that do not read
    receipts, such as the simulator).
    """

    def __init__(self, settings: KafkaSettings, partner: str, *, receipts: bool = True) -> None:
        if not PARTNER_ID.match(partner):
            raise ValueError(f"invalid partner id {partner!r}")
        self.partner = partner
        self.topic = ingest_topic(partner)
        self.receipts_topic = receipts_topic(partner)
        self._settings = settings.model_copy(
            update={"client_id": f"{settings.client_id}-sdk-{partner}"}
        )
        try:
            made = producer(self._settings, max_block_ms=MAX_BLOCK_MS)
        except KafkaError as exc:
            raise ReporterError(_describe(exc, self._settings)) from exc
        try:
            made.partitions_for(self.topic)
        except KafkaError as exc:
            made.close(timeout=1)
            raise ReporterError(_describe(exc, self._settings)) from exc
        self._producer = made
        self._receipts: KafkaConsumer | None = None
        self._receipts_error: BaseException | None = (
            None if receipts else ReporterError("this Reporter was built with receipts=False")
        )

    # --- sending ----------------------------------------------------------------------------

    def send(self, event: Mapping[str, Any]) -> FutureRecordMetadata:
        """Validate ``event`` and write it; raises ``EventRejected`` if it is not valid.

        Returns kafka-python's future: ``.get(timeout)`` gives the record metadata once the
        broker has it (all in-sync replicas), or raises the send error."""
        try:
            raw = encode(event)
        except orjson.JSONEncodeError as exc:
            error = FieldError("", f"not JSON-serializable: {exc}")
            raise EventRejected(None, Rejection("not-json", (error,))) from None
        verdict = validate_event(raw)
        if isinstance(verdict, Rejection):
            event_id = event.get("event_id")
            raise EventRejected(event_id if isinstance(event_id, str) else None, verdict)
        return self.send_raw(raw, verdict["event_id"].encode("utf-8"))

    def send_raw(self, raw: bytes, key: bytes | None = None) -> FutureRecordMetadata:
        """Write bytes as they are, without validation.

        For tools that must send what a partner really sent (the simulator's malformed and
        oversized records, tests of the server's rejection path); programs use ``send``."""
        self._mark_receipts()
        return self._producer.send(self.topic, key=key, value=raw)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every event sent so far is acknowledged (or ``timeout`` passes)."""
        self._producer.flush(timeout=timeout)

    # --- receipts ---------------------------------------------------------------------------

    def _mark_receipts(self) -> None:
        """Before the first send: remember where the receipts topic ends, so ``receipts``
        yields the receipts of what this Reporter sent and nothing older."""
        if self._receipts is not None or self._receipts_error is not None:
            return
        try:
            reader = consumer(self._settings, group_id=None)
            partitions = reader.partitions_for_topic(self.receipts_topic) or set()
            assigned = [TopicPartition(self.receipts_topic, p) for p in sorted(partitions)]
            reader.assign(assigned)
            reader.seek_to_end()
            for tp in assigned:
                reader.position(tp)
        except KafkaError as exc:
            self._receipts_error = exc
            log.warning("receipts unavailable", partner=self.partner, error=type(exc).__name__)
            return
        if not assigned:
            reader.close()
            self._receipts_error = ReporterError(f"topic {self.receipts_topic} does not exist")
            return
        self._receipts = reader

    def receipts(
        self, timeout: float = 30.0, *, from_beginning: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The partner's receipts (dicts of the receipt schema), oldest first.

        Starts where the receipts topic ended just before this Reporter's first send, or at
        the beginning of the topic with ``from_beginning``. Ends when no new receipt has
        arrived for ``timeout`` seconds; stop iterating earlier whenever you have what you
        waited for."""
        self._mark_receipts()
        if self._receipts is None:
            raise ReporterError(
                f"cannot read {self.receipts_topic}: {self._receipts_error}"
            ) from self._receipts_error
        if from_beginning:
            self._receipts.seek_to_beginning()
        idle_until = time.monotonic() + timeout
        while (left := idle_until - time.monotonic()) > 0:
            batches = self._receipts.poll(timeout_ms=max(1, int(min(left, 1.0) * 1000)))
            for records in batches.values():
                for record in records:
                    idle_until = time.monotonic() + timeout
                    try:
                        yield orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        log.warning(
                            "unreadable receipt",
                            topic=record.topic,
                            partition=record.partition,
                            offset=record.offset,
                        )

    # --- lifetime ---------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> None:
        """Flush pending events, then close the producer and the receipts reader."""
        try:
            self._producer.flush(timeout=timeout)
        finally:
            self._producer.close(timeout=timeout)
            if self._receipts is not None:
                self._receipts.close()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
