"""A local SMTP sink (aiosmtpd): the far end of the email channel in the demo and the tests.

Accepts every message on 127.0.0.1, optionally only after AUTH with a given password (to
exercise the channel's login), keeps each message with its envelope recipients, and can append
one JSON line per message (subject, recipients, idempotency key, text body) to a file::

    with SmtpSink(password="s3cret") as sink:      # sink.port is the relay port
        ...
        sink.wait_for(3)

``python -m confianza.consumers.email.sink --port 8025 --out mails.jsonl`` runs one in the
foreground. aiosmtpd ships with the ``dev`` extra: this module is for local use only.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from confianza.dev.kafka import free_port


@dataclass(frozen=True)
class Mail:
    """One accepted message and the recipients of its envelope."""

    recipients: tuple[str, ...]
    message: EmailMessage
    at: float


class SmtpSink:
    """An aiosmtpd server in a background thread that records what it accepts."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        password: str | None = None,
        out: Path | None = None,
        on_mail: Callable[[Mail], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port()
        self._password = password
        self._out = out
        self._on_mail = on_mail
        self._mails: list[Mail] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    @property
    def mails(self) -> list[Mail]:
        with self._changed:
            return list(self._mails)

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Block until at least ``count`` messages arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._mails) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password.decode() == self._password
        return AuthResult(success=ok)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: one message arrived."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        mail = Mail(tuple(envelope.rcpt_tos), message, time.time())
        with self._changed:
            self._mails.append(mail)
            self._changed.notify_all()
        if self._out is not None:
            body = message.get_body(("plain",))
            line = {
                "subject": message["Subject"],
                "to": list(mail.recipients),
                "idempotency_key": message["X-Confianza-Idempotency-Key"],
                "received_at": mail.at,
                "text": body.get_content() if body else None,
            }
            with self._out.open("ab") as fh:
                fh.write(orjson.dumps(line) + b"\n")
        if self._on_mail is not None:
            self._on_mail(mail)
        return "250 OK"

    def start(self) -> SmtpSink:
        auth: dict[str, Any] = {}
        if self._password is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = Controller(self, hostname=self.host, port=self.port, **auth)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Run a sink in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Local SMTP sink for the email channel.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--out", type=Path, help="append accepted messages here (JSON lines)")
    args = parser.parse_args(argv)
    sink = SmtpSink(host=args.host, port=args.port, out=args.out).start()
    print(f"SMTP sink on {sink.host}:{sink.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
