"""The work behind ``confianza send``: validate every record, send the valid ones, account
for each, and optionally wait for the server's receipts.

``send_items`` is called with the items of ``inputs.read_items`` and a ``Reporter`` (or None
for a dry run). Every record ends in exactly one count of the ``Summary``: rejected locally
(validation said no, or it could not be read), failed (the broker did not acknowledge it) or
sent; ``valid`` counts those that passed validation. Each problem is handed to ``on_problem``
as it happens, with the record's location, so the caller can print it at once.
``wait_receipts`` then matches the partner's receipts to the sent event ids.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from confianza.producers.converters import Unsupported
from confianza.producers.inputs import Item, Unreadable
from confianza.producers.sdk import Reporter
from confianza.schemas.validate import FieldError, Rejection, decode, validate_event

ProblemKind = Literal["rejected", "failed", "server-rejected", "server-warning", "no-receipt"]
RECEIPT_STATUSES = ("accepted", "duplicate", "rejected")


@dataclass(frozen=True)
class Problem:
    """One record that did not make it, or that the server refused, and why."""

    kind: ProblemKind
    where: str
    event_id: str | None
    errors: tuple[FieldError, ...]


@dataclass
class Summary:
    """The outcome of one ``confianza send`` run."""

    dry_run: bool = False
    read: int = 0
    valid: int = 0
    sent: int = 0
    rejected: int = 0
    failed: int = 0
    unsupported: list[Unsupported] = field(default_factory=list)
    receipts: Counter[str] = field(default_factory=Counter)
    receipt_warnings: int = 0
    missing_receipts: int = 0
    waited_for_receipts: bool = False

    @property
    def exit_code(self) -> int:
        """0 when everything valid was sent (and receipted as accepted or duplicate), else 1."""
        trouble = self.rejected + self.failed + self.receipts["rejected"] + self.missing_receipts
        return 0 if trouble == 0 else 1

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dry_run": self.dry_run,
            "read": self.read,
            "valid": self.valid,
            "sent": self.sent,
            "rejected_locally": self.rejected,
            "failed": self.failed,
            "unsupported": [{"where": u.where, "reason": u.reason} for u in self.unsupported],
        }
        if self.waited_for_receipts:
            data["receipts"] = {s: self.receipts[s] for s in RECEIPT_STATUSES}
            data["receipts"]["missing"] = self.missing_receipts
            data["receipts"]["with_warnings"] = self.receipt_warnings
        return data


@dataclass
class _Pending:
    where: str
    event_id: str
    future: FutureRecordMetadata


class _Sender:
    """Sends validated events and settles their futures in order, as they complete."""

    def __init__(
        self, reporter: Reporter, summary: Summary, on_problem: Callable[[Problem], None]
    ) -> None:
        self.reporter = reporter
        self.summary = summary
        self.on_problem = on_problem
        self.pending: deque[_Pending] = deque()
        self.sent_ids: dict[str, list[str]] = {}

    def send(self, where: str, event: dict[str, Any]) -> None:
        try:
            future = self.reporter.send(event)
        except KafkaError as exc:
            self._failed(where, event["event_id"], exc)
            return
        self.pending.append(_Pending(where, event["event_id"], future))
        self.settle(block=False)

    def settle(self, block: bool, timeout: float = 30.0) -> None:
        if block:
            with suppress(KafkaError):  # the futures below carry each record's own error
                self.reporter.flush(timeout=timeout)
        while self.pending and (block or self.pending[0].future.is_done):
            item = self.pending.popleft()
            if not item.future.is_done:
                self._failed(item.where, item.event_id, TimeoutError("no acknowledgement"))
            elif item.future.failed():
                self._failed(item.where, item.event_id, item.future.exception)
            else:
                self.summary.sent += 1
                self.sent_ids.setdefault(item.event_id, []).append(item.where)

    def _failed(self, where: str, event_id: str, error: BaseException | None) -> None:
        self.summary.failed += 1
        message = f"not sent: {type(error).__name__}: {error}"
        self.on_problem(Problem("failed", where, event_id, (FieldError("", message),)))


def send_items(
    items: Iterable[Item],
    reporter: Reporter | None,
    on_problem: Callable[[Problem], None],
    on_item: Callable[[], None] = lambda: None,
    flush_timeout: float = 30.0,
) -> tuple[Summary, dict[str, list[str]]]:
    """Validate and send every record; returns the summary and ``event_id -> [where]`` of
    what the broker acknowledged (for matching receipts)."""
    summary = Summary(dry_run=reporter is None)
    sender = _Sender(reporter, summary, on_problem) if reporter is not None else None
    for item in items:
        on_item()
        if isinstance(item, Unsupported):
            summary.unsupported.append(item)
            continue
        summary.read += 1
        if isinstance(item, Unreadable):
            summary.rejected += 1
            on_problem(Problem("rejected", item.where, None, (FieldError("", item.message),)))
            continue
        verdict = validate_event(item.payload)
        if isinstance(verdict, Rejection):
            summary.rejected += 1
            on_problem(Problem("rejected", item.where, _event_id_of(item.payload), verdict.errors))
            continue
        summary.valid += 1
        if sender is not None:
            sender.send(item.where, verdict)
    if sender is None:
        return summary, {}
    sender.settle(block=True, timeout=flush_timeout)
    return summary, sender.sent_ids


def _event_id_of(payload: bytes) -> str | None:
    """The event_id of a rejected record, when it has a readable one (for messages)."""
    try:
        value = decode(payload).get("event_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _count_receipt(
    receipt: dict[str, Any],
    wheres: list[str],
    remaining: int,
    summary: Summary,
    on_problem: Callable[[Problem], None],
) -> None:
    status = receipt.get("status")
    known = status if status in RECEIPT_STATUSES else "rejected"
    summary.receipts[known] += 1
    where = wheres[len(wheres) - 1 - remaining]
    if known == "rejected":
        errors = _field_errors(receipt.get("errors")) or (
            FieldError("", f"receipt status {status!r}"),
        )
        on_problem(Problem("server-rejected", where, receipt.get("event_id"), errors))
    warnings = _field_errors(receipt.get("warnings"))
    if warnings:
        summary.receipt_warnings += 1
        on_problem(Problem("server-warning", where, receipt.get("event_id"), warnings))


def _field_errors(items: Any) -> tuple[FieldError, ...]:
    """``[{pointer, message}]`` of a receipt as FieldErrors (anything else is skipped)."""
    if not isinstance(items, list):
        return ()
    return tuple(
        FieldError(str(e.get("pointer", "")), str(e.get("message", "")))
        for e in items
        if isinstance(e, dict)
    )


def wait_receipts(
    reporter: Reporter,
    sent: dict[str, list[str]],
    summary: Summary,
    on_problem: Callable[[Problem], None],
    timeout: float,
) -> None:
    """Read receipts until every sent event has one or ``timeout`` seconds have passed."""
    summary.waited_for_receipts = True
    waiting = Counter({event_id: len(wheres) for event_id, wheres in sent.items()})
    outstanding = sum(waiting.values())
    deadline = time.monotonic() + timeout
    for receipt in reporter.receipts(timeout=timeout) if outstanding else ():
        event_id = receipt.get("event_id")
        if waiting.get(event_id, 0) > 0:
            waiting[event_id] -= 1
            outstanding -= 1
            _count_receipt(receipt, sent[event_id], waiting[event_id], summary, on_problem)
        if not outstanding or time.monotonic() >= deadline:
            break
    summary.missing_receipts = outstanding
    for event_id, count in waiting.items():
        for where in sent[event_id][len(sent[event_id]) - count :]:
            message = f"no receipt within {timeout:g}s"
            on_problem(Problem("no-receipt", where, event_id, (FieldError("", message),)))
