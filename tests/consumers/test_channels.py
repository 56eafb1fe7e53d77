"""Each channel against a real local server: the right outcome for every kind of answer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from confianza.consumers.channel import Outcome
from confianza.consumers.channels import build_channel
from confianza.consumers.email.sink import SmtpSink
from confianza.consumers.gate import GatedAlert, gate
from confianza.consumers.subscriptions import Smtp, Subscriber, SubscriptionError
from confianza.consumers.webhook.receiver import WebhookReceiver
from confianza.consumers.webhook.signing import verify
from confianza.dev.kafka import free_port

from .factory import evidence, make_alert, subscriber


def gated_for(sub: Subscriber, **kwargs: Any) -> GatedAlert:
    result = gate(make_alert(**kwargs), sub)
    assert result is not None
    return result


# --- webhook -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([200], Outcome("delivered", status_code=200)),
        ([204], Outcome("delivered", status_code=204)),
        ([500], Outcome("retryable", status_code=500, error="HTTP 500")),
        ([503], Outcome("retryable", status_code=503, error="HTTP 503")),
        ([(429, {"Retry-After": "7"})], Outcome("retryable", 429, "HTTP 429", retry_after=7.0)),
        ([410], Outcome("disabled", status_code=410, error="HTTP 410 Gone")),
        ([400], Outcome("permanent", status_code=400, error="HTTP 400")),
        ([404], Outcome("permanent", status_code=404, error="HTTP 404")),
        ([(301, {"Location": "http://127.0.0.1:1/"})], Outcome("permanent", 301, "HTTP 301")),
    ],
)
async def test_webhook_outcome_for_each_answer(
    whsec: str, answers: list[Any], expected: Outcome
) -> None:
    with WebhookReceiver(whsec) as receiver:
        receiver.script("/hook", answers)
        sub = subscriber(target=receiver.url("/hook"))
        channel = build_channel("webhook", [sub])
        try:
            assert await channel.send(gated_for(sub), sub) == expected
        finally:
            await channel.aclose()


async def test_webhook_timeout_and_refused_connection_are_retryable(whsec: str) -> None:
    with WebhookReceiver(whsec) as receiver:
        receiver.script("/slow", ["hang"])
        slow = subscriber(target=receiver.url("/slow"), timeout=0.3)
        gone = subscriber("sub-b", target="http://127.0.0.1:9/")
        channel = build_channel("webhook", [slow, gone])
        try:
            assert await channel.send(gated_for(slow), slow) == Outcome(
                "retryable", error="timeout after 0.3 s"
            )
            refused = await channel.send(gated_for(gone), gone)
            assert refused.kind == "retryable"
            assert "connection error" in str(refused.error)
        finally:
            await channel.aclose()


async def test_webhook_is_signed_and_carries_the_idempotency_key(whsec: str) -> None:
    with WebhookReceiver(whsec) as receiver:
        sub = subscriber(target=receiver.url("/hook"))
        channel = build_channel("webhook", [sub])
        try:
            await channel.send(gated_for(sub, alert_id="a-7", version=3), sub)
        finally:
            await channel.aclose()
        (got,) = receiver.deliveries
        assert got.webhook_id == "a-7:3:sub-a"
        assert verify(got.headers, got.raw, whsec) == "a-7:3:sub-a"
        assert got.body["type"] == "alert.opened"
        assert got.body["data"]["alert_id"] == "a-7"


async def test_webhook_never_sends_back_a_cookie_a_receiver_set(whsec: str) -> None:
    with WebhookReceiver(whsec) as receiver:
        receiver.script("/hook", [(500, {"Set-Cookie": "session=abc; Path=/"}), 200])
        # by name: aiohttp's default jar would keep a cookie for a host name, not an address
        sub = subscriber(target=receiver.url("/hook").replace("127.0.0.1", "localhost"))
        channel = build_channel("webhook", [sub])
        try:
            assert (await channel.send(gated_for(sub), sub)).kind == "retryable"
            assert (await channel.send(gated_for(sub), sub)).kind == "delivered"
        finally:
            await channel.aclose()
        (got,) = receiver.deliveries
        assert "cookie" not in {name.lower() for name in got.headers}


def test_webhook_channel_refuses_a_missing_or_malformed_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEST_WHSEC", raising=False)
    with pytest.raises(SubscriptionError, match="TEST_WHSEC is not set"):
        build_channel("webhook", [subscriber()])
    monkeypatch.setenv("TEST_WHSEC", "hunter2")
    with pytest.raises(SubscriptionError, match="whsec_"):
        build_channel("webhook", [subscriber()])


# --- chat ----------------------------------------------------------------------------------


async def test_chat_posts_a_slack_compatible_message() -> None:
    with WebhookReceiver(None) as receiver:
        sub = subscriber(
            channel="chat", target=receiver.url("/room"), audience="telecom", sector="telecom"
        )
        channel = build_channel("chat", [sub])
        try:
            outcome = await channel.send(gated_for(sub), sub)
        finally:
            await channel.aclose()
        assert outcome.kind == "delivered"
        (got,) = receiver.deliveries
        assert "Alerta alta" in got.body["text"]
        kinds = [b["type"] for b in got.body["blocks"]]
        assert kinds[0] == "header"
        assert "section" in kinds
        assert kinds[-1] == "context"
        assert "hxxps://bcp-seguro-alert-1[.]example/login" in orjson.dumps(got.body).decode()


# --- email ---------------------------------------------------------------------------------


class RefusingSink(SmtpSink):
    """Refuses some recipients, as a real relay does (550 permanent, 452 temporary)."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@rechazado.example"):
            return "550 no such mailbox"
        if address.endswith("@lleno.example"):
            return "452 mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Any:
    with RefusingSink(password="s3cret") as sink:
        yield sink


def email_subscriber(port: int, audience: str, **kwargs: Any) -> Subscriber:
    relay = Smtp(
        host="127.0.0.1",
        port=port,
        sender="alertas@cnsd.example",
        username="alertas",
        password_env="TEST_SMTP_PASSWORD",
        timeout=5,
    )
    return subscriber(
        f"mail-{audience}",
        channel="email",
        audience=audience,
        target=("soc@bcp.example", "fraude@bcp.example"),
        smtp=relay,
        **kwargs,
    )


async def test_email_arrives_with_subject_recipients_and_spanish_body(
    smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = smtp_sink
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    bank = email_subscriber(sink.port, "banking")
    public = email_subscriber(sink.port, "public", sector=None, tlp_clearance="clear")
    channel = build_channel("email", [bank, public])
    assert await channel.send(gated_for(bank, alert_id="a-9", version=2), bank) == Outcome(
        "delivered", status_code=250
    )
    assert (await channel.send(gated_for(public, alert_id="a-9", version=2), public)).kind == (
        "delivered"
    )
    to_bank, to_public = sink.mails
    bank_mail, public_mail = to_bank.message, to_public.message
    assert to_bank.recipients == ("soc@bcp.example", "fraude@bcp.example")
    assert bank_mail["Subject"] == (
        "[Confianza][TLP:CLEAR] Alerta alta (nueva): Campaña de phishing que suplanta a un banco"
    )
    assert bank_mail["From"] == "alertas@cnsd.example"
    assert bank_mail["X-Confianza-Idempotency-Key"] == "a-9:2:mail-banking"
    text = bank_mail.get_body(("plain",)).get_content()
    html = bank_mail.get_body(("html",)).get_content()
    assert "Por qué se emite esta alerta" in text
    assert "reportado por 2 socios" in text
    assert "Bloquee los indicadores" in text
    assert "hxxps://bcp-seguro-a-9[.]example/login" in text
    assert "<code>" in html
    citizen = public_mail.get_body(("plain",)).get_content()
    assert "Su banco nunca le pedirá" in citizen
    assert "Bloquee los indicadores" not in citizen


async def test_email_refusals_are_permanent_or_retryable_by_code(
    smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = smtp_sink
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    refused = email_subscriber(sink.port, "banking")
    refused = Subscriber(**{**refused.__dict__, "target": ("x@rechazado.example",)})
    full = Subscriber(**{**refused.__dict__, "id": "mail-full", "target": ("x@lleno.example",)})
    down = email_subscriber(free_port(), "government", sector="government")
    channel = build_channel("email", [refused, full, down])
    assert (await channel.send(gated_for(refused), refused)).kind == "permanent"
    assert (await channel.send(gated_for(full), full)).kind == "retryable"
    assert (await channel.send(gated_for(down), down)).kind == "retryable"


# --- syslog and file ---------------------------------------------------------------------


async def test_syslog_over_udp_and_tcp_is_rfc5424() -> None:
    loop = asyncio.get_running_loop()
    datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    class Udp(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            datagrams.put_nowait(data)

    udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
    frames: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        length = int((await reader.readuntil(b" "))[:-1])
        frames.put_nowait(await reader.readexactly(length))
        writer.close()

    server = await asyncio.start_server(on_tcp, "127.0.0.1", 0)
    udp_port = udp.get_extra_info("sockname")[1]
    tcp_port = server.sockets[0].getsockname()[1]
    subs = [
        subscriber("siem-udp", channel="syslog", target=f"udp://127.0.0.1:{udp_port}"),
        subscriber("siem-tcp", channel="syslog", target=f"tcp://127.0.0.1:{tcp_port}"),
    ]
    channel = build_channel("syslog", subs)
    try:
        for sub in subs:
            assert (await channel.send(gated_for(sub, severity="critical"), sub)).kind == (
                "delivered"
            )
        for message in (await datagrams.get(), await frames.get()):
            header, _, body = message.partition(b"\xef\xbb\xbf")
            assert header.startswith(b"<130>1 ")  # local0 (16) * 8 + crit (2)
            assert b'[confianza@32473 alert_id="alert-1" version="1" severity="critical"' in header
            assert orjson.loads(body)["alert_id"] == "alert-1"
    finally:
        await channel.aclose()
        udp.close()
        server.close()


async def test_file_channel_appends_json_lines(tmp_path: Path) -> None:
    sub = subscriber("siem-file", channel="file", target=str(tmp_path / "out" / "alerts.jsonl"))
    channel = build_channel("file", [sub])
    for version in (1, 2):
        assert (await channel.send(gated_for(sub, version=version), sub)).kind == "delivered"
    lines = (tmp_path / "out" / "alerts.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x)["idempotency_key"] for x in lines] == [
        "alert-1:1:siem-file",
        "alert-1:2:siem-file",
    ]


async def test_only_what_the_gate_let_through_is_rendered() -> None:
    alert = make_alert(
        evidence_list=[evidence("bcp", "banking", "clear"), evidence("bcp", "banking", "red")]
    )
    alert["indicators"][0]["event_uids"] = [alert["evidence"][1]["event_uid"]]
    assert gate(alert, subscriber(audience="public", sector=None)).alert["indicators"] == []
