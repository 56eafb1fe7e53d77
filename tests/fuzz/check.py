"""The ingest path without Kafka, with every promise checked: what the fuzzers drive.

``PureStreams.feed(raw)`` runs one raw record through exactly the functions the streams
worker runs — admission, dedupe, normalization, per-indicator statistics, the campaign graph,
scoring and the alert lifecycle — over in-memory tables, and checks on the way that:

- admission answers every input with a candidate or a rejection (it never raises);
- a rejection carries a schema-valid receipt and a schema-valid dead letter holding the
  exact bytes, and its receipt names the real writer (the topic's partner);
- an accepted event gives a schema-valid receipt and normalized incident, and everything the
  worker would put on its internal topics serialises (orjson), as it must before a send;
- every alert the campaign stage emits is a valid alert v1.

Any exception is a bug a partner could trigger to stop the worker.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson

from confianza.schemas.validate import validate_document
from confianza.streams import dedupe, normalize
from confianza.streams.campaigns import CampaignStage
from confianza.streams.ingest import Candidate, Record, Rejected, admit
from confianza.streams.score import load_scoring

PARTNER = "fuzzbank"
REASONS = frozenset({"empty", "unknown-partner", "oversize", "not-utf8", "not-json", "schema"})
RECORD_TIME_MS = 1_767_000_000_000


class PureStreams:
    """One worker's stages over dicts; ``feed`` checks the promises of the module docstring."""

    def __init__(self, sectors: dict[str, str] | None = None) -> None:
        self.sectors = sectors or {PARTNER: "banking"}
        self.cfg = load_scoring()
        self.lists = normalize.WarningLists.from_config(self.cfg)
        self.alerts: list[dict[str, Any]] = []
        self.stage = CampaignStage(self.cfg, {}, {}, {}, self._emit)
        self.offset = 0
        self.loop = asyncio.new_event_loop()

    async def _emit(self, batch: list[dict[str, Any]]) -> list[tuple[int, int]]:
        positions = []
        for alert in batch:
            errors = validate_document("alert", alert)
            assert errors == (), errors
            orjson.dumps(alert)
            self.alerts.append(alert)
            positions.append((0, len(self.alerts) - 1))
        return positions

    def close(self) -> None:
        self.loop.close()

    def feed(self, raw: bytes, partner: str = PARTNER) -> Candidate | Rejected:
        """Admit one record written by ``partner`` and run it through every stage."""
        self.offset += 1
        record = Record(f"ingest.{partner}.v1", 0, self.offset, RECORD_TIME_MS, raw)
        outcome = admit(record, self.sectors.get)
        if isinstance(outcome, Rejected):
            check_rejected(raw, outcome, partner)
        else:
            self._accepted(outcome, partner)
        return outcome

    def _accepted(self, outcome: Candidate, partner: str) -> None:
        doc = orjson.loads(orjson.dumps(outcome.doc))  # as it travels on the events topic
        assert doc["reporter"] == partner
        decision = dedupe.decide(doc, None)
        assert validate_document("receipt", decision.receipt) == ()
        assert decision.incident is not None
        assert validate_document("normalized-incident", decision.incident) == ()
        orjson.dumps(decision.incident)
        annotated = normalize.annotate(
            doc["indicators"], self.lists, self.cfg.correlation.exclude_roles
        )
        sighting = normalize.sighting(decision.incident, annotated, doc["seen_at"])
        if sighting is not None:
            wire = orjson.loads(orjson.dumps(sighting))
            self.loop.run_until_complete(self.stage.on_sightings([wire]))


def check_rejected(raw: bytes, outcome: Rejected, partner: str = PARTNER) -> None:
    """A rejection is answered to its writer and kept, byte for byte, for operations."""
    assert outcome.reason in REASONS, outcome.reason
    assert outcome.partner == partner
    receipt, letter = outcome.receipt, outcome.dlq
    assert validate_document("receipt", receipt) == (), validate_document("receipt", receipt)
    assert validate_document("dlq-ingest", letter) == (), validate_document("dlq-ingest", letter)
    assert receipt["status"] == "rejected"
    assert receipt["errors"]
    assert receipt["partner"] == letter["partner"] == partner
    assert base64.b64decode(letter["raw_b64"]) == raw
    orjson.dumps(receipt)
    orjson.dumps(letter)
