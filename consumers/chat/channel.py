"""The chat channel: a Slack-compatible incoming-webhook JSON message per notification.

The target URL is the room's incoming webhook (itself the secret: it is never logged). The
message has a plain ``text`` fallback and Block Kit ``blocks`` with the same Spanish content
as the email; answers are classified like every HTTP channel (``HttpPoster``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from confianza.consumers.channel import Outcome
from confianza.consumers.gate import GatedAlert
from confianza.consumers.http import HttpPoster
from confianza.consumers.render import render
from confianza.consumers.subscriptions import Subscriber

MAX_BLOCK_TEXT = 2900  # Slack caps a section's text at 3000 characters


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(lines: list[str]) -> dict[str, Any]:
    text = "\n".join(lines)
    if len(text) > MAX_BLOCK_TEXT:
        text = text[: MAX_BLOCK_TEXT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def chat_message(alert: GatedAlert, subscriber: Subscriber) -> dict[str, Any]:
    """The JSON message for one notification."""
    r = render(alert, subscriber)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": r.headline[:150]}},
        _section([f"*{_escape(label)}:* {_escape(value)}" for label, value in r.facts]),
    ]
    if r.reasons:
        blocks.append(_section(["*Por qué:*"] + [f"• {_escape(x)}" for x in r.reasons]))
    if r.indicators:
        blocks.append(
            _section(
                ["*Indicadores:*"] + [f"• {_escape(k)}: `{_escape(v)}`" for k, v in r.indicators]
            )
        )
    if r.advice:
        blocks.append(_section(["*Qué hacer:*"] + [f"• {_escape(x)}" for x in r.advice]))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"TLP:{r.tlp} · Confianza"}]}
    )
    return {"text": _escape(r.subject), "blocks": blocks}


class ChatChannel:
    """Posts to Slack-compatible incoming webhooks; one pooled HTTP client."""

    name = "chat"

    def __init__(
        self, subscribers: Iterable[Subscriber], env: Mapping[str, str] | None = None
    ) -> None:
        del subscribers, env  # nothing to resolve: the target URL is the credential
        self._http = HttpPoster()

    async def send(self, alert: GatedAlert, subscriber: Subscriber) -> Outcome:
        body = orjson.dumps(chat_message(alert, subscriber))
        return await self._http.post(str(subscriber.target), body, {}, subscriber.timeout)

    async def aclose(self) -> None:
        await self._http.aclose()
