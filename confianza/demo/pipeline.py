"""The whole chain on one machine, as separate processes: what the demo and end-to-end tests run.

``LocalPipeline`` starts, in order: a Kafka broker (or uses a given one), the topics and the
service principals, the roster's partners (credentials as ``partner-<id>.env`` files), the
receivers (a signature-verifying webhook receiver, an SMTP sink, a JSON-lines file), the
streams worker, one delivery worker per channel, the lag exporter and, if asked, a Prometheus
scraping them all. ``simulate()`` starts partner traffic. ``stop()`` stops every process it
started (process groups) and the broker it started; it is safe to call more than once.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from confianza import provision
from confianza.demo import subscriptions
from confianza.demo.processes import Child, Supervisor, confianza
from confianza.dev.kafka import Cluster, free_port
from confianza.observability.prometheus import Prometheus
from confianza.provision.roster import PartnerEntry, load_roster
from confianza.settings import KafkaSettings

ROSTER = Path(__file__).resolve().parents[2] / "deploy" / "partners.yaml"
DELIVERY_CHANNELS = ("webhook", "email", "file")
SERVICES = ("streams", "deliver", "ops")


class LocalPipeline:
    """Every Confianza process on 127.0.0.1; ``workdir`` holds logs, state and receivers' output."""

    def __init__(
        self,
        workdir: Path,
        channels: tuple[str, ...] = DELIVERY_CHANNELS,
        with_prometheus: bool = False,
        cluster: Cluster | None = None,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.workdir = workdir
        self.channels = channels
        self.with_prometheus = with_prometheus
        self._given_cluster = cluster
        self.cluster = cluster or Cluster(size=1)
        self.progress = progress
        self.services: dict[str, provision.Credentials] = {}
        self.roster: list[PartnerEntry] = []
        self.ports: dict[str, int] = {}
        self.webhook_port = 0
        self.smtp_port = 0
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.prometheus: Prometheus | None = None
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
        base_env |= {"CONFIANZA_LOG__FORMAT": "json"}
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.supervisor = Supervisor(workdir / "logs", base_env)

    # -- paths and settings ------------------------------------------------------------------
    @property
    def admin(self) -> KafkaSettings:
        return self.cluster.admin_settings()

    @property
    def credentials_dir(self) -> Path:
        return self.workdir / "credentials"

    @property
    def subscriptions_file(self) -> Path:
        return self.workdir / "subscriptions.yaml"

    @property
    def webhook_log(self) -> Path:
        return self.workdir / "webhook-received.jsonl"

    @property
    def mail_log(self) -> Path:
        return self.workdir / "mail-received.jsonl"

    @property
    def center_file(self) -> Path:
        return self.workdir / "center-alerts.jsonl"

    def service_settings(self, service: str) -> KafkaSettings:
        creds = self.services[service]
        return self.admin.with_credentials(creds.username, creds.password)

    def service_env(self, service: str) -> dict[str, str]:
        return self.service_settings(service).as_env() | {
            "CONFIANZA_KAFKA__REPLICATION_FACTOR": str(self.admin.replication_factor)
        }

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bring up the broker, provisioning, receivers and every worker."""
        try:
            if self._given_cluster is None:
                self.progress("starting Kafka (KRaft, SASL/SCRAM, ACLs) on 127.0.0.1")
                self.cluster.start()
            self.progress("provisioning topics, services and partners")
            self._provision()
            self.progress("starting receivers and workers")
            self._start_receivers()
            subscriptions.render(
                f"http://127.0.0.1:{self.webhook_port}", self.smtp_port, self.workdir
            )
            self.start_streams()
            for channel in self.channels:
                self.start_delivery(channel)
            self.ports["lag"] = free_port()
            self.supervisor.start(
                "lag-exporter",
                confianza("ops", "lag", "--interval", "5"),
                self.service_env("ops") | {"CONFIANZA_METRICS__PORT": str(self.ports["lag"])},
            )
            if self.with_prometheus:
                self._start_prometheus()
        except BaseException:
            self.stop()
            raise

    def _provision(self) -> None:
        admin = self.admin
        provision.apply_topics(admin)
        self.services = {name: provision.add_service(admin, name) for name in SERVICES}
        self.roster = load_roster(ROSTER)
        self.credentials_dir.mkdir(mode=0o700, exist_ok=True)
        for entry in self.roster:
            creds = provision.add_partner(admin, entry.id, entry.sector, entry.name)
            target = self.credentials_dir / f"{creds.username}.env"
            target.touch(mode=0o600)
            target.write_text(creds.env(), encoding="utf-8")

    def _start_receivers(self) -> None:
        self.webhook_port, self.smtp_port = free_port(), free_port()
        self.supervisor.start(
            "webhook-receiver",
            [
                sys.executable,
                "-m",
                "confianza.consumers.webhook.receiver",
                "--port",
                str(self.webhook_port),
                "--secret-env",
                subscriptions.WEBHOOK_SECRET_ENV,
                "--out",
                str(self.webhook_log),
            ],
            {subscriptions.WEBHOOK_SECRET_ENV: self.webhook_secret},
        )
        self.supervisor.start(
            "smtp-sink",
            [
                sys.executable,
                "-m",
                "confianza.consumers.email.sink",
                "--port",
                str(self.smtp_port),
                "--out",
                str(self.mail_log),
            ],
        )

    def start_streams(self, name: str = "streams") -> Child:
        """Start (or restart) a streams worker process named ``name``."""
        self.ports.setdefault(name, free_port())
        return self.supervisor.start(
            name,
            confianza("worker", "streams"),
            self.service_env("streams")
            | {
                "CONFIANZA_METRICS__PORT": str(self.ports[name]),
                "CONFIANZA_DATA_DIR": str(self.workdir / f"{name}-state"),
            },
        )

    def start_delivery(self, channel: str) -> Child:
        """Start (or restart) the delivery worker of ``channel``."""
        name = f"deliver-{channel}"
        self.ports.setdefault(name, free_port())
        env = self.service_env("deliver") | {
            "CONFIANZA_METRICS__PORT": str(self.ports[name]),
            "CONFIANZA_DATA_DIR": str(self.workdir / name),
        }
        if channel == "webhook":
            env[subscriptions.WEBHOOK_SECRET_ENV] = self.webhook_secret
        return self.supervisor.start(
            name,
            confianza(
                "worker",
                "deliver",
                "--channel",
                channel,
                "--subscriptions",
                str(self.subscriptions_file),
            ),
            env,
        )

    def _start_prometheus(self) -> None:
        targets = {
            "confianza-streams": [f"127.0.0.1:{self.ports['streams']}"],
            "confianza-deliver": [f"127.0.0.1:{self.ports[f'deliver-{c}']}" for c in self.channels],
            "confianza-lag": [f"127.0.0.1:{self.ports['lag']}"],
        }
        self.prometheus = Prometheus(targets, self.workdir / "prometheus", interval=2.0)
        self.prometheus.start()

    def simulate(
        self,
        rate: float,
        duration: float,
        campaigns: int,
        seed: int,
        truth: Path,
        *extra: str,
    ) -> Child:
        """Start ``confianza simulate`` with every roster partner's own credentials."""
        return self.supervisor.start(
            "simulator",
            confianza(
                "simulate",
                "--credentials-dir",
                str(self.credentials_dir),
                "--rate",
                str(rate),
                "--duration",
                str(duration),
                "--campaigns",
                str(campaigns),
                "--seed",
                str(seed),
                "--truth",
                str(truth),
                *extra,
            ),
            {"CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": self.cluster.bootstrap_servers},
        )

    def stop(self) -> None:
        """Stop Prometheus, every child process, and the broker if this pipeline started it."""
        if self.prometheus is not None:
            self.prometheus.stop()
            self.prometheus = None
        self.supervisor.stop_all()
        if self._given_cluster is None:
            self.cluster.stop()

    def __enter__(self) -> LocalPipeline:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
