"""Secrets stay out of error messages: every way a wrong or broken secret can fail.

A wrong SCRAM password for each kind of process (streams worker, delivery worker, ``confianza
send``, the SDK), a malformed webhook secret, a refused SMTP login: each fails with a clear
message, and neither the secret given nor the right one appears in anything the process
printed, logged or recorded. (The chain runs' grep over logs, metrics, topics and receivers is
in ``test_chain.py``.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from confianza import provision
from confianza.consumers.email.channel import EmailChannel
from confianza.consumers.email.sink import SmtpSink
from confianza.consumers.gate import gate
from confianza.consumers.subscriptions import parse_subscriptions
from confianza.consumers.webhook.signing import generate_secret
from confianza.dev.kafka import Cluster
from confianza.producers.sdk import Reporter, ReporterError
from confianza.provision.kafka_admin import new_password
from confianza.settings import KafkaSettings
from tests.consumers.factory import make_alert

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def partner(admin_settings: KafkaSettings) -> tuple[str, KafkaSettings]:
    pid = f"sec-s-{uuid.uuid4().hex[:6]}"
    creds = provision.add_partner(admin_settings, pid, "banking")
    return pid, admin_settings.with_credentials(creds.username, creds.password)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``confianza <args>`` in its own session, DEBUG logs, output captured."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    return subprocess.Popen(
        [sys.executable, "-m", "confianza.cli.main", *args],
        env=base | {"CONFIANZA_LOG__LEVEL": "DEBUG"} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def confianza(
    args: list[str],
    env: dict[str, str],
    timeout: float = 90,
    process: subprocess.Popen[bytes] | None = None,
) -> str:
    """Run ``confianza <args>`` (or wait for ``process``); its exit code and its output."""
    process = process or start(args, env)
    try:
        out, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait(10)
    return f"exit {process.returncode}\n" + out.decode(errors="replace")


def kafka_env(settings: KafkaSettings, user: str, password: str) -> dict[str, str]:
    return {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": user,
        "CONFIANZA_KAFKA__PASSWORD": password,
    }


def assert_clean(output: str, *secrets: str) -> None:
    leaked = [s for s in secrets if s and s in output]
    assert not leaked, f"secret printed:\n{output[-2000:]}"


def test_workers_with_a_wrong_password_fail_without_printing_it(
    admin_settings: KafkaSettings, tmp_path: Path
) -> None:
    streams = provision.add_service(admin_settings, "streams")
    deliver = provision.add_service(admin_settings, "deliver")
    wrong = new_password()
    subs = tmp_path / "subs.yaml"
    subs.write_text("version: 1\nsubscribers: []\n", encoding="utf-8")
    runs = [
        (streams.username, streams.password, ["worker", "streams", "--store", "memory://"]),
        (deliver.username, deliver.password, ["worker", "deliver", "--channel", "file",
                                              "--subscriptions", str(subs)]),
    ]  # fmt: skip
    started = [start(args, kafka_env(admin_settings, user, wrong)) for user, _, args in runs]
    for (_, real, args), process in zip(runs, started, strict=True):
        output = confianza(args, {}, timeout=120, process=process)
        assert not output.startswith("exit 0"), output[-1500:]
        assert "error" in output.lower()
        assert_clean(output, wrong, real, str(admin_settings.password.get_secret_value()))


def test_send_and_the_sdk_with_a_wrong_password_fail_without_printing_it(
    partner: tuple[str, KafkaSettings], tmp_path: Path
) -> None:
    pid, settings = partner
    real = settings.password.get_secret_value() if settings.password else ""
    wrong = new_password()
    events = tmp_path / "events.ndjson"
    events.write_text('{"event_id": "x"}\n', encoding="utf-8")
    args = ["send", "--partner", pid, str(events)]
    env = kafka_env(settings, f"partner-{pid}", wrong)
    sending = start(args, env)  # both wait for the refused login: side by side
    with pytest.raises(ReporterError) as refused:
        Reporter(settings.with_credentials(f"partner-{pid}", wrong), pid, receipts=False)
    assert_clean(f"{refused.value!s} {refused.value!r} {refused.value.__cause__!r}", wrong, real)
    output = confianza(args, env, process=sending)
    assert output.startswith("exit 2"), output
    assert_clean(output, wrong, real)


def test_a_malformed_webhook_secret_stops_the_worker_without_echoing_it(
    admin_settings: KafkaSettings, tmp_path: Path
) -> None:
    deliver = provision.add_service(admin_settings, "deliver")
    broken = "whsec_" + uuid.uuid4().hex + "!!not-base64"
    subs = tmp_path / "subs.yaml"
    subs.write_text(
        "version: 1\nsubscribers:\n"
        "  - {id: soc, audience: banking, sector: banking, channel: webhook,\n"
        "     target: 'http://127.0.0.1:9/x', min_severity: low, tlp_clearance: amber,\n"
        "     secrets: {webhook_secret_env: SEC_TEST_WHSEC}}\n",
        encoding="utf-8",
    )
    output = confianza(
        ["worker", "deliver", "--channel", "webhook", "--subscriptions", str(subs)],
        kafka_env(admin_settings, deliver.username, deliver.password) | {"SEC_TEST_WHSEC": broken},
    )
    assert output.startswith("exit 2"), output[-1500:]
    assert "SEC_TEST_WHSEC" in output
    assert_clean(output, broken, broken.removeprefix("whsec_"), deliver.password)


async def test_a_refused_smtp_login_is_recorded_without_the_password() -> None:
    right, wrong = "smtp-" + generate_secret()[6:30], "smtp-" + generate_secret()[6:30]
    with SmtpSink(password=right) as sink:
        subs = parse_subscriptions(
            "version: 1\n"
            f"smtp: {{host: 127.0.0.1, port: {sink.port}, sender: a@cnsd.example,\n"
            "       username: confianza, password_env: SEC_SMTP_PW}\n"
            "subscribers:\n"
            "  - {id: cert, audience: government, sector: government, channel: email,\n"
            "     target: [cert@gob.example], min_severity: low, tlp_clearance: clear}\n"
        )
        (sub,) = subs.subscribers
        gated = gate(make_alert("smtp-1"), sub)
        assert gated is not None
        for password, expected in ((wrong, "permanent"), (right, "delivered")):
            channel = EmailChannel(subs.subscribers, {"SEC_SMTP_PW": password})
            outcome = await channel.send(gated, sub)
            await channel.aclose()
            assert outcome.kind in (expected, "retryable" if expected != "delivered" else "")
            assert_clean(repr(outcome), right, wrong)
        assert len(sink.mails) == 1
        assert_clean(sink.mails[0].message.as_string(), right, wrong)


def test_the_local_brokers_admin_password_stays_out_of_reprs(kafka_cluster: Cluster) -> None:
    """A failing test prints its fixtures' reprs: the harness's own secret must not be in them."""
    assert kafka_cluster.admin_password not in repr(kafka_cluster)
    assert all(kafka_cluster.admin_password not in repr(b) for b in kafka_cluster.brokers)
