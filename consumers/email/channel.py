"""The email channel: one SMTP message per notification, plain text and HTML, in Spanish.

Sent with aiosmtplib through the subscriber's relay (``smtp:`` in the subscriptions file),
with STARTTLS and authentication when configured; the password is read from the environment
when the channel is built. ``Message-ID`` is derived from the idempotency key, so a re-send
after a crash is recognisable. SMTP 4xx and connection trouble are retryable; 5xx permanent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from confianza.consumers.channel import Outcome, idempotency_key
from confianza.consumers.email.body import html_body, text_body
from confianza.consumers.gate import GatedAlert
from confianza.consumers.render import render
from confianza.consumers.subscriptions import Subscriber, SubscriptionError

MESSAGE_DOMAIN = "confianza.invalid"


def build_message(alert: GatedAlert, subscriber: Subscriber, sender: str) -> EmailMessage:
    """The MIME message (text + HTML alternative) for one notification."""
    rendered = render(alert, subscriber)
    key = idempotency_key(alert.alert_id, alert.version, subscriber.id)
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = ", ".join(subscriber.target)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '.', key)}@{MESSAGE_DOMAIN}>"
    message["X-Confianza-Idempotency-Key"] = key
    message.set_content(text_body(rendered))
    message.add_alternative(html_body(rendered), subtype="html")
    return message


def _response_outcome(code: int, message: str) -> Outcome:
    kind = "retryable" if 400 <= code < 500 else "permanent"
    return Outcome(kind, status_code=code, error=f"SMTP {code}: {message[:200]}")


class EmailChannel:
    """Sends notifications by SMTP; one connection per message."""

    name = "email"

    def __init__(
        self, subscribers: Iterable[Subscriber], env: Mapping[str, str] | None = None
    ) -> None:
        self._passwords: dict[str, str | None] = {}
        for subscriber in subscribers:
            if subscriber.smtp is None:
                raise SubscriptionError(f"subscriber {subscriber.id}: no smtp relay configured")
            self._passwords[subscriber.id] = subscriber.secret(subscriber.smtp.password_env, env)

    async def send(self, alert: GatedAlert, subscriber: Subscriber) -> Outcome:
        smtp = subscriber.smtp
        if smtp is None or subscriber.id not in self._passwords:
            return Outcome("permanent", error="subscriber not known to this email channel")
        message = build_message(alert, subscriber, smtp.sender)
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                start_tls=smtp.starttls,
                username=smtp.username,
                password=self._passwords[subscriber.id],
                timeout=smtp.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            kind = "retryable" if any(400 <= c < 500 for c in codes) else "permanent"
            return Outcome(
                kind,
                status_code=max(codes, default=None),
                error=f"recipients refused: {len(codes)}",
            )
        except aiosmtplib.SMTPResponseException as exc:
            return _response_outcome(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome("retryable", error=f"SMTP connection: {type(exc).__name__}")
        return Outcome("delivered", status_code=250)

    async def aclose(self) -> None:
        return None
