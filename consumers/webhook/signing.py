"""Standard Webhooks signatures: how Confianza signs a webhook and how a receiver checks it.

Every webhook carries ``webhook-id`` (the delivery's idempotency key: receivers dedupe on it),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">``; several space-separated signatures are allowed while a secret is
rotated). Secrets are ``whsec_<base64 of 24 to 64 random bytes>``. ``verify`` is the helper a
receiver calls on every request before trusting the body.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
DEFAULT_TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """The request is not a genuine, fresh Confianza webhook; the message says why."""


def generate_secret() -> str:
    """A new ``whsec_`` secret (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@functools.lru_cache(maxsize=64)
def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; raises ``ValueError`` if it is malformed.
    Decoded once per secret (a worker signs every webhook with a few secrets)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret must start with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret must be 'whsec_' followed by base64") from exc
    if len(key) < 16:
        raise ValueError("a webhook secret must hold at least 16 bytes")
    return key


def sign(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    msg_id: str, body: bytes, secret: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, stamped now unless told otherwise."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(msg_id, ts, body, secret),
    }


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> str:
    """Check a received webhook; returns its ``webhook-id`` or raises
    ``WebhookVerificationError`` (missing header, stale or future timestamp, bad signature)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {int(current - ts)} s away from now (tolerance {tolerance} s)"
        )
    expected = sign(msg_id, ts, body, secret).encode()
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise WebhookVerificationError("no webhook-signature matches the body")
