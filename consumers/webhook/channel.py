"""The webhook channel: a signed JSON POST per delivery, over httpx.

Built once per worker with the subscribers it serves; their ``whsec_`` secrets are read from
the environment then (a missing or malformed secret stops the worker at start, not at the
first alert). The body is ``{"type": "alert.<transition>", "timestamp", "data": <gated
alert>}``; ``webhook-id`` is the idempotency key, so a receiver can drop a re-send after a crash.
Redirects are not followed (a moved endpoint is a configuration change, not a hop); the HTTP
client is ``confianza.consumers.http`` (why not httpx is written there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from confianza.consumers.channel import Outcome, idempotency_key
from confianza.consumers.gate import GatedAlert
from confianza.consumers.http import HttpPoster
from confianza.consumers.subscriptions import Subscriber, SubscriptionError
from confianza.consumers.webhook.signing import secret_key, signed_headers


def webhook_body(alert: GatedAlert) -> bytes:
    """The JSON body of one webhook (compact, UTF-8)."""
    return orjson.dumps(
        {
            "type": f"alert.{alert.alert.get('transition', 'updated')}",
            "timestamp": alert.alert.get("emitted_at"),
            "data": alert.alert,
        }
    )


class WebhookChannel:
    """Sends signed webhooks; one pooled HTTP client for every subscriber of the worker."""

    name = "webhook"

    def __init__(
        self, subscribers: Iterable[Subscriber], env: Mapping[str, str] | None = None
    ) -> None:
        self._secrets: dict[str, str] = {}
        for subscriber in subscribers:
            secret = subscriber.secret(subscriber.webhook_secret_env, env)
            if secret is None:
                raise SubscriptionError(f"subscriber {subscriber.id}: no webhook secret configured")
            try:
                secret_key(secret)
            except ValueError as exc:
                raise SubscriptionError(
                    f"subscriber {subscriber.id}: {subscriber.webhook_secret_env}: {exc}"
                ) from exc
            self._secrets[subscriber.id] = secret
        self._http = HttpPoster()

    async def send(self, alert: GatedAlert, subscriber: Subscriber) -> Outcome:
        secret = self._secrets.get(subscriber.id)
        if secret is None:
            return Outcome("permanent", error="subscriber not known to this webhook channel")
        body = webhook_body(alert)
        key = idempotency_key(alert.alert_id, alert.version, subscriber.id)
        headers = signed_headers(key, body, secret)
        return await self._http.post(str(subscriber.target), body, headers, subscriber.timeout)

    async def aclose(self) -> None:
        await self._http.aclose()
