"""Which class serves which channel name: the one place a worker or replay builds a channel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confianza.consumers.channel import Channel
from confianza.consumers.chat.channel import ChatChannel
from confianza.consumers.email.channel import EmailChannel
from confianza.consumers.subscriptions import Subscriber
from confianza.consumers.syslog.channel import FileChannel, SyslogChannel
from confianza.consumers.webhook.channel import WebhookChannel

CHANNEL_CLASSES = {
    "webhook": WebhookChannel,
    "email": EmailChannel,
    "chat": ChatChannel,
    "syslog": SyslogChannel,
    "file": FileChannel,
}


def build_channel(
    name: str, subscribers: Iterable[Subscriber], env: Mapping[str, str] | None = None
) -> Channel:
    """The channel ``name`` for these subscribers; secrets are read from ``env`` (default: the
    process environment) now, so a missing one fails at start."""
    try:
        cls = CHANNEL_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown channel {name!r}; one of {', '.join(CHANNEL_CLASSES)}") from None
    return cls(list(subscribers), env)
