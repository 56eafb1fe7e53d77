"""Where alerts may be sent: only http(s) for webhooks and chat, never anything else.

A subscriptions file naming another scheme (file, ftp, gopher, javascript, data, a relative or
scheme-relative URL, credentials in the URL, an address without a scheme) is refused at start
with the file and line of the target; and at run time a receiver answering with a redirect to
such a place is not followed: the delivery is a permanent failure, nothing is fetched.
"""

from __future__ import annotations

import pytest

from confianza.consumers.gate import gate
from confianza.consumers.subscriptions import SubscriptionError, parse_subscriptions
from confianza.consumers.webhook.channel import WebhookChannel
from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.webhook.signing import generate_secret
from tests.consumers.factory import make_alert, subscriber

REFUSED = [
    "file:///etc/passwd",
    "ftp://ftp.example/alerts",
    "gopher://127.0.0.1:70/_",
    "javascript:alert(1)",
    "data:text/plain,alert",
    "//evil.example/hook",
    "/var/run/hook.sock",
    "127.0.0.1:8080/hook",
    "https://user:hunter2pw@evil.example/hook",
    " https://leading-space.example/",
    "https:///no-host",
    "http//missing-colon.example",
    "ws://socket.example/",
    "unix:///var/run/docker.sock",
]


def document(channel: str, target: str) -> str:
    secrets = "secrets: {webhook_secret_env: X_WHSEC}, " if channel == "webhook" else ""
    return (
        (
            "version: 1\n"
            "subscribers:\n"
            "  - id: soc\n"
            "    audience: banking\n"
            "    sector: banking\n"
            f"    channel: {channel}\n"
            f"    target: {target!r}\n"
            "    min_severity: low\n"
            "    tlp_clearance: amber\n"
            f"    {secrets}timeout: 5s\n"
        )
        .replace("    secrets", "    secrets")
        .replace(", timeout", "\n    timeout")
    )


@pytest.mark.parametrize("channel", ["webhook", "chat"])
@pytest.mark.parametrize("target", REFUSED)
def test_a_target_that_is_not_http_or_https_is_refused_with_its_line(
    channel: str, target: str
) -> None:
    with pytest.raises(SubscriptionError) as refused:
        parse_subscriptions(document(channel, target), "subs.yaml")
    assert "subs.yaml:7:" in str(refused.value)
    assert "hunter2pw" not in str(refused.value)


@pytest.mark.parametrize("target", ["http://127.0.0.1:8080/hook", "https://soc.bcp.example/h"])
def test_http_and_https_targets_are_accepted(target: str) -> None:
    (sub,) = parse_subscriptions(document("webhook", target)).subscribers
    assert sub.target == target


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", "/other"]
)
async def test_a_redirect_is_never_followed(location: str) -> None:
    secret = generate_secret()
    with WebhookReceiver(secret) as receiver:
        receiver.script("/soc", [(302, {"Location": location})])
        sub = subscriber("soc", target=receiver.url("/soc"))
        channel = WebhookChannel([sub], {"TEST_WHSEC": secret})
        gated = gate(make_alert("redirect-1"), sub)
        assert gated is not None
        outcome = await channel.send(gated, sub)
        await channel.aclose()
        assert outcome.kind == "permanent"
        assert outcome.status_code == 302
        assert receiver.requests == 1
