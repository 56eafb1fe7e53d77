"""Standard Webhooks signatures: what the worker signs, ``verify`` accepts; nothing else."""

from __future__ import annotations

import time

import pytest

from confianza.consumers.webhook.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)

BODY = b'{"type":"alert.opened","data":{"alert_id":"a-1"}}'


def test_a_signed_webhook_verifies_and_returns_its_id() -> None:
    secret = generate_secret()
    headers = signed_headers("a-1:1:bcp-soc", BODY, secret)
    assert verify(headers, BODY, secret) == "a-1:1:bcp-soc"
    assert verify({k.upper(): v for k, v in headers.items()}, BODY, secret) == "a-1:1:bcp-soc"


def test_known_vector() -> None:
    """HMAC-SHA256 over "id.timestamp.body" with the key inside the whsec_ secret."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}', secret) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_a_tampered_body_fails() -> None:
    secret = generate_secret()
    headers = signed_headers("a-1:1:bcp-soc", BODY, secret)
    with pytest.raises(WebhookVerificationError, match="no webhook-signature matches"):
        verify(headers, BODY.replace(b"a-1", b"a-2"), secret)


def test_another_secret_fails() -> None:
    headers = signed_headers("a-1:1:bcp-soc", BODY, generate_secret())
    with pytest.raises(WebhookVerificationError):
        verify(headers, BODY, generate_secret())


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_a_timestamp_outside_the_tolerance_fails(skew: int) -> None:
    secret = generate_secret()
    headers = signed_headers("a-1:1:bcp-soc", BODY, secret, timestamp=int(time.time()) + skew)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(headers, BODY, secret)
    assert verify(headers, BODY, secret, tolerance=4000) == "a-1:1:bcp-soc"


def test_rotation_any_listed_signature_may_match() -> None:
    old, new = generate_secret(), generate_secret()
    headers = signed_headers("id-1", BODY, new)
    headers["webhook-signature"] = (
        signed_headers("id-1", BODY, old, int(headers["webhook-timestamp"]))["webhook-signature"]
        + " "
        + headers["webhook-signature"]
    )
    assert verify(headers, BODY, old) == verify(headers, BODY, new) == "id-1"


def test_missing_or_malformed_headers_fail() -> None:
    secret = generate_secret()
    headers = signed_headers("id-1", BODY, secret)
    for name in headers:
        with pytest.raises(WebhookVerificationError, match="missing"):
            verify({k: v for k, v in headers.items() if k != name}, BODY, secret)
    with pytest.raises(WebhookVerificationError, match="not an integer"):
        verify(headers | {"webhook-timestamp": "soon"}, BODY, secret)


def test_malformed_secrets_are_refused() -> None:
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_***", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError, match="secret"):
            sign("id", 1, BODY, bad)
