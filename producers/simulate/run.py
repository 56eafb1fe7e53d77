"""Send planned traffic to Kafka: one ``Reporter`` (one SCRAM principal) per partner.

``load_credentials`` reads each partner's env file from a credentials directory, as written by
``confianza partners add <id> --credentials-dir DIR`` (``partner-<id>.env``; a file named
``<id>.env`` is read too)::

    CONFIANZA_KAFKA__USERNAME=partner-bcp
    CONFIANZA_KAFKA__PASSWORD=...            (or CONFIANZA_KAFKA__PASSWORD_FILE=/path)

``open_reporters`` connects one ``Reporter`` per partner; ``send_traffic`` then sends every
record at its planned offset from the start (never early;
when the sender falls behind, it sends at once and reports the lag): events and duplicates
through ``Reporter.send`` (validated, as a partner's SDK would), malformed and oversized
records through ``Reporter.send_raw``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from kafka.errors import KafkaError
from pydantic import SecretStr

from confianza.producers.sdk import EventRejected, Reporter
from confianza.producers.simulate.traffic import SimRecord, Traffic
from confianza.settings import KafkaSettings

# Names of the env-file keys (not secrets).
USERNAME = "CONFIANZA_KAFKA__USERNAME"
PASSWORD = "CONFIANZA_KAFKA__PASSWORD"  # noqa: S105
PASSWORD_FILE = "CONFIANZA_KAFKA__PASSWORD_FILE"  # noqa: S105
MAX_ERRORS_KEPT = 20


class CredentialsError(ValueError):
    """A partner's credentials are missing or unreadable; the message names the file."""


def _env_values(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.removeprefix("export ").partition("=")
        if not sep:
            raise CredentialsError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_credentials(
    directory: Path, partners: Iterable[str], base: KafkaSettings
) -> dict[str, KafkaSettings]:
    """Client settings of every partner: ``base`` (bootstrap, TLS) with its credentials."""
    found: dict[str, KafkaSettings] = {}
    missing: list[str] = []
    for partner in partners:
        candidates = (directory / f"partner-{partner}.env", directory / f"{partner}.env")
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            missing.append(partner)
            continue
        try:
            values = _env_values(path)
        except OSError as exc:
            raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
        if USERNAME not in values or not (PASSWORD in values or PASSWORD_FILE in values):
            raise CredentialsError(f"{path} lacks {USERNAME} and {PASSWORD} (or {PASSWORD_FILE})")
        update: dict[str, object] = {"username": values[USERNAME]}
        if PASSWORD in values:
            update |= {"password": SecretStr(values[PASSWORD]), "password_file": None}
        else:
            update |= {"password": None, "password_file": Path(values[PASSWORD_FILE])}
        try:
            found[partner] = KafkaSettings.model_validate(base.model_dump() | update)
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"{path}: unusable credentials ({type(exc).__name__})") from None
    if missing:
        raise CredentialsError(
            f"no credentials in {directory} for {', '.join(missing)}: expected "
            "partner-<id>.env files (confianza partners add <id> --credentials-dir DIR)"
        )
    return found


@dataclass
class SendReport:
    """What ``send_traffic`` did: records sent by kind, failures, timing."""

    attempted: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    max_lag_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def unconfirmed(self) -> int:
        """Records handed to the producer that were neither acknowledged nor failed."""
        return self.attempted - sum(self.sent.values()) - self.failed

    def _ok(self, kind: str) -> Callable[[object], None]:
        def done(_: object) -> None:
            with self._lock:
                self.sent[kind] += 1

        return done

    def _failed(self, where: str) -> Callable[[BaseException], None]:
        def failed(error: BaseException) -> None:
            with self._lock:
                self.failed += 1
                if len(self.errors) < MAX_ERRORS_KEPT:
                    self.errors.append(f"{where}: {type(error).__name__}: {error}")

        return failed


def _send(reporter: Reporter, record: SimRecord, report: SendReport) -> None:
    where = f"{record.partner} {record.event_id or '(no id)'} ({record.kind})"
    key = record.event_id.encode() if record.event_id else None
    try:
        if record.event is not None:
            future = reporter.send(record.event)
        else:
            future = reporter.send_raw(record.payload, key)
    except (EventRejected, KafkaError) as exc:
        report._failed(where)(exc)
        return
    future.add_callback(report._ok(record.kind))
    future.add_errback(report._failed(where))


def open_reporters(credentials: dict[str, KafkaSettings], stack: ExitStack) -> dict[str, Reporter]:
    """One connected ``Reporter`` per partner, closed (flushed) with ``stack``.

    Raises ``ReporterError`` if a partner cannot connect or may not write its topic."""
    return {
        partner: stack.enter_context(Reporter(settings, partner, receipts=False))
        for partner, settings in credentials.items()
    }


def send_traffic(
    traffic: Traffic,
    reporters: dict[str, Reporter],
    on_record: Callable[[SimRecord], None] = lambda _: None,
    pace: bool = True,
) -> SendReport:
    """Send every record of ``traffic`` with its partner's reporter and wait for the
    acknowledgements; ``pace=False`` sends as fast as possible."""
    report = SendReport()
    started = time.monotonic()
    for record in traffic:
        if pace:
            delay = started + record.at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                report.max_lag_s = max(report.max_lag_s, -delay)
        report.attempted += 1
        _send(reporters[record.partner], record, report)
        on_record(record)
    for partner, reporter in reporters.items():
        try:
            reporter.flush(timeout=30)
        except KafkaError as exc:
            report.errors.append(f"{partner}: flush: {type(exc).__name__}: {exc}")
    report.elapsed_s = time.monotonic() - started
    return report
