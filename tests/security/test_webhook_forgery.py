"""Forged webhooks against the reference receiver, over HTTP, and a mutation property.

A webhook the worker's channel signs is accepted once; then an attacker who saw it on the wire
replays it with another id, shifts its timestamp into the past or the future, tampers with the
body, signs it with a wrong secret, strips the headers or sends a signature of another
version: the receiver answers 401 to each and records none of them, and its answer never
contains the secret. The property: any change of one byte of the body, the id or the
timestamp breaks the signature.
"""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confianza.consumers.gate import gate
from confianza.consumers.webhook.channel import WebhookChannel, webhook_body
from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.webhook.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    signed_headers,
    verify,
)
from tests.consumers.factory import make_alert, subscriber

SECRET = generate_secret()
BODY = webhook_body(gate(make_alert("forge-1"), subscriber()))  # type: ignore[arg-type]


async def test_the_receiver_accepts_the_genuine_webhook_and_refuses_every_forgery() -> None:
    with WebhookReceiver(SECRET) as receiver:
        sub = subscriber("soc", target=receiver.url("/soc"))
        channel = WebhookChannel([sub], {"TEST_WHSEC": SECRET})
        gated = gate(make_alert("forge-1"), sub)
        assert gated is not None
        outcome = await channel.send(gated, sub)
        await channel.aclose()
        assert outcome.kind == "delivered"
        (genuine,) = receiver.deliveries
        headers = {k: v for k, v in genuine.headers.items() if k.lower().startswith("webhook-")}
        headers = {k.lower(): v for k, v in headers.items()}
        now, raw, key = int(time.time()), genuine.raw, "forge-1:9:soc"
        other_secret = generate_secret()
        v2 = headers["webhook-signature"].replace("v1,", "v2,")
        forgeries = {
            "replayed under another id": (
                {**headers, "webhook-id": "forge-1:2:soc"},
                genuine.raw,
            ),
            "tampered body": (headers, genuine.raw.replace(b"high", b"critical")),
            "appended body": (headers, genuine.raw + b" "),
            "wrong secret": (signed_headers(key, raw, other_secret), raw),
            # well outside the receiver's 300 s, however long the requests below take
            "stale": (signed_headers(key, raw, SECRET, now - 400), raw),
            "future": (signed_headers(key, raw, SECRET, now + 400), raw),
            "no signature": (
                {k: v for k, v in headers.items() if k != "webhook-signature"},
                genuine.raw,
            ),
            "unknown version": ({**headers, "webhook-signature": v2}, raw),
            "timestamp not a number": ({**headers, "webhook-timestamp": "1e10"}, genuine.raw),
        }  # fmt: skip
        with httpx.Client() as client:
            for name, (forged, body) in forgeries.items():
                answer = client.post(receiver.url("/soc"), content=body, headers=forged)
                assert answer.status_code == 401, name
                assert SECRET not in answer.text
                assert SECRET.removeprefix("whsec_") not in answer.text
        assert receiver.rejected == len(forgeries)
        assert len(receiver.deliveries) == 1


@settings(max_examples=500, deadline=None)
@given(
    where=st.sampled_from(["body", "id", "timestamp"]),
    position=st.integers(min_value=0),
    xor=st.integers(min_value=1, max_value=255),
)
def test_changing_any_byte_of_what_is_signed_breaks_the_signature(
    where: str, position: int, xor: int
) -> None:
    msg_id, stamp = "forge-1:1:soc", int(time.time())
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(stamp)}
    headers["webhook-signature"] = sign(msg_id, stamp, BODY, SECRET)
    body = BODY
    if where == "body":
        i = position % len(BODY)
        body = BODY[:i] + bytes([BODY[i] ^ xor]) + BODY[i + 1 :]
    else:
        raw = headers[f"webhook-{where}"].encode()
        i = position % len(raw)
        changed = raw[:i] + bytes([raw[i] ^ xor]) + raw[i + 1 :]
        headers[f"webhook-{where}"] = changed.decode("latin-1")
    with pytest.raises(WebhookVerificationError):
        verify(headers, body, SECRET)
