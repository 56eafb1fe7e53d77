"""The demo: a local broker, provisioning, the workers, simulated partners, live deliveries.

``run_demo`` is what ``confianza demo`` (and ``make demo``) calls. It starts, in order: the
Kafka broker, the topics and principals, the receivers (a signature-verifying webhook receiver,
an aiosmtpd SMTP sink, a JSON-lines file), the streams worker, one delivery worker per channel,
the lag exporter and a Prometheus; then the simulator sends partner traffic with injected
cross-sector campaigns. Deliveries are printed as they land; at the end (``duration`` seconds
or Ctrl-C) everything is stopped and a summary printed. Nothing is left running.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from confianza import provision
from confianza.demo import subscriptions
from confianza.demo.processes import Supervisor, confianza
from confianza.demo.watch import Watcher
from confianza.dev.kafka import Cluster, free_port
from confianza.observability.prometheus import Prometheus
from confianza.provision.roster import load_roster

DELIVERY_CHANNELS = ("webhook", "email", "file")
ROSTER = Path(__file__).resolve().parents[2] / "deploy" / "partners.yaml"
SEVERITY_STYLE = {"low": "cyan", "medium": "yellow", "high": "bold red", "critical": "bold magenta"}


@dataclass(frozen=True)
class DemoOptions:
    """What the operator chose on the command line."""

    duration: float
    rate: float
    campaigns: int
    seed: int
    workdir: Path


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop early, still clean up and summarise."""


def _raise_interrupted(*_: Any) -> None:
    raise Interrupted


def _env_file(credentials: provision.Credentials, bootstrap: str) -> dict[str, str]:
    return {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "CONFIANZA_KAFKA__USERNAME": credentials.username,
        "CONFIANZA_KAFKA__PASSWORD": credentials.password,
    }


def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the whole chain for ``options.duration`` seconds; returns the exit code."""
    workdir = options.workdir
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "logs").mkdir(parents=True)
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    started = time.monotonic()
    with ExitStack() as stack:
        try:
            return _run(options, console, stack, started)
        except Interrupted:
            console.print("\n[bold]Interrupted: stopping everything…[/]")
            return 0
        except KeyboardInterrupt:
            console.print("\n[bold]Ctrl-C: stopping everything…[/]")
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)


def _run(options: DemoOptions, console: Console, stack: ExitStack, started: float) -> int:
    workdir = options.workdir
    step = console.status("starting Kafka (KRaft, SASL/SCRAM, ACLs) on 127.0.0.1…")
    with step:
        cluster = Cluster(size=1)
        stack.callback(cluster.stop)
        cluster.start()
    admin = cluster.admin_settings()
    bootstrap = cluster.bootstrap_servers
    console.print(f"[green]✓[/] Kafka {bootstrap} ready ({time.monotonic() - started:.0f}s)")

    with console.status("provisioning topics, services and partners…"):
        provision.apply_topics(admin)
        services = {
            name: provision.add_service(admin, name) for name in ("streams", "deliver", "ops")
        }
        roster = load_roster(ROSTER)
        credentials_dir = workdir / "credentials"
        credentials_dir.mkdir(mode=0o700)
        for entry in roster:
            creds = provision.add_partner(admin, entry.id, entry.sector, entry.name)
            target = credentials_dir / f"{creds.username}.env"
            target.touch(mode=0o600)
            target.write_text(creds.env(), encoding="utf-8")
    console.print(
        f"[green]✓[/] {len(roster)} partners onboarded "
        f"({', '.join(e.id for e in roster)}); services streams, deliver, ops"
    )

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
    base_env |= {"CONFIANZA_LOG__FORMAT": "json", "CONFIANZA_KAFKA__REPLICATION_FACTOR": "1"}
    supervisor = Supervisor(workdir / "logs", base_env)
    stack.callback(supervisor.stop_all)

    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    webhook_port, smtp_port = free_port(), free_port()
    supervisor.start(
        "webhook-receiver",
        [
            sys.executable,
            "-m",
            "confianza.consumers.webhook.receiver",
            "--port",
            str(webhook_port),
            "--secret-env",
            subscriptions.WEBHOOK_SECRET_ENV,
            "--out",
            str(workdir / "webhook-received.jsonl"),
        ],
        {subscriptions.WEBHOOK_SECRET_ENV: webhook_secret},
    )
    supervisor.start(
        "smtp-sink",
        [
            sys.executable,
            "-m",
            "confianza.consumers.email.sink",
            "--port",
            str(smtp_port),
            "--out",
            str(workdir / "mail-received.jsonl"),
        ],
    )
    subs_file = subscriptions.render(f"http://127.0.0.1:{webhook_port}", smtp_port, workdir)

    ports = {"streams": free_port(), "lag": free_port()}
    ports |= {f"deliver-{c}": free_port() for c in DELIVERY_CHANNELS}
    supervisor.start(
        "streams",
        confianza("worker", "streams"),
        _env_file(services["streams"], bootstrap)
        | {
            "CONFIANZA_METRICS__PORT": str(ports["streams"]),
            "CONFIANZA_DATA_DIR": str(workdir / "streams-state"),
        },
    )
    for channel in DELIVERY_CHANNELS:
        supervisor.start(
            f"deliver-{channel}",
            confianza("worker", "deliver", "--channel", channel, "--subscriptions", str(subs_file)),
            _env_file(services["deliver"], bootstrap)
            | {
                "CONFIANZA_METRICS__PORT": str(ports[f"deliver-{channel}"]),
                "CONFIANZA_DATA_DIR": str(workdir / f"deliver-{channel}"),
                subscriptions.WEBHOOK_SECRET_ENV: webhook_secret,
            },
        )
    supervisor.start(
        "lag-exporter",
        confianza("ops", "lag", "--interval", "5"),
        _env_file(services["ops"], bootstrap) | {"CONFIANZA_METRICS__PORT": str(ports["lag"])},
    )
    prometheus = _start_prometheus(ports, workdir, console)
    if prometheus is not None:
        stack.callback(prometheus.stop)
    _print_endpoints(console, ports, prometheus, webhook_port, smtp_port, workdir)

    truth = workdir / "ground-truth.json"
    sim_seconds = max(10.0, options.duration * 0.6)
    simulator = supervisor.start(
        "simulator",
        confianza(
            "simulate",
            "--credentials-dir",
            str(credentials_dir),
            "--rate",
            str(options.rate),
            "--duration",
            str(sim_seconds),
            "--campaigns",
            str(options.campaigns),
            "--seed",
            str(options.seed),
            "--truth",
            str(truth),
        ),
        {"CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": bootstrap},
    )
    console.print(
        f"[green]✓[/] simulated partners sending {options.rate:g} events/s for "
        f"{sim_seconds:.0f}s with {options.campaigns} cross-sector campaigns\n"
    )

    watcher = Watcher(admin, lambda record, alert: _print_delivery(console, record, alert))
    watcher.start()
    stack.callback(watcher.stop)
    deadline = started + options.duration
    while time.monotonic() < deadline:
        time.sleep(0.5)
        crashed = [c for c in supervisor.dead() if c is not simulator]
        if crashed:
            for child in crashed:
                console.print(
                    f"[bold red]{child.name} exited[/] "
                    f"(code {child.process.returncode}); log tail:\n{child.log_tail()}"
                )
            return 2
    watcher.stop()
    _print_summary(
        console, watcher, truth, admin_env=_env_file(services["ops"], bootstrap), base_env=base_env
    )
    console.print(f"\nLogs, received webhooks, mail and the center's file are in {workdir}/")
    return 0


def _start_prometheus(ports: dict[str, int], workdir: Path, console: Console) -> Prometheus | None:
    if shutil.which("prometheus") is None:
        console.print("[yellow]prometheus is not installed: metrics are served, not scraped[/]")
        return None
    targets = {
        "confianza-streams": [f"127.0.0.1:{ports['streams']}"],
        "confianza-deliver": [f"127.0.0.1:{ports[f'deliver-{c}']}" for c in DELIVERY_CHANNELS],
        "confianza-lag": [f"127.0.0.1:{ports['lag']}"],
    }
    prometheus = Prometheus(targets, workdir / "prometheus", interval=2.0)
    prometheus.start()
    return prometheus


def _print_endpoints(
    console: Console,
    ports: dict[str, int],
    prometheus: Prometheus | None,
    webhook_port: int,
    smtp_port: int,
    workdir: Path,
) -> None:
    console.print("[green]✓[/] workers up; metrics:")
    for name, port in ports.items():
        console.print(f"    {name:<16} http://127.0.0.1:{port}/metrics")
    if prometheus is not None:
        console.print(
            f"    {'prometheus':<16} {prometheus.url}  (Grafana: point a Prometheus "
            "datasource here and provision deploy/grafana/)"
        )
    console.print(
        f"    receivers: webhook http://127.0.0.1:{webhook_port}  smtp 127.0.0.1:"
        f"{smtp_port}  file {workdir / 'center-alerts.jsonl'}"
    )


def _print_delivery(console: Console, record: dict[str, Any], alert: dict[str, Any] | None) -> None:
    """One line per delivered alert version; problems in red; TLP/severity filtering is
    counted in the summary, not printed."""
    if record["outcome"] == "filtered":
        return
    if record["outcome"] != "delivered":
        console.print(
            f"  [red]{record['outcome']:<8}[/] {record['channel']:<8} {record['subscriber']:<16} "
            f"{record.get('error') or ''}"
        )
        return
    severity = alert["severity"] if alert else "?"
    title = alert.get("title", "") if alert else ""
    style = SEVERITY_STYLE.get(severity, "")
    console.print(
        f"  [{style}]{severity:<8}[/] {record['channel']:<8} → {record['subscriber']:<16} "
        f"{record['alert_id'][:8]} v{record['version']:<3} {title[:48]}  "
        f"[dim]{len(record.get('disclosed_event_uids', []))} events disclosed[/]",
        soft_wrap=True,
    )


def _evaluate(truth: Path, env: dict[str, str]) -> dict[str, Any] | None:
    if not truth.exists():
        return None
    result = subprocess.run(
        confianza("eval", "--truth", str(truth), "--json"),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode not in (0, 1):
        return None
    with suppress(orjson.JSONDecodeError):
        return orjson.loads(result.stdout)
    return None


def _print_summary(
    console: Console,
    watcher: Watcher,
    truth: Path,
    admin_env: dict[str, str],
    base_env: dict[str, str],
) -> None:
    summary = watcher.summary
    table = Table(title="Confianza demo summary", show_header=False)
    receipts = summary.receipts
    table.add_row("events in (receipts)", str(sum(receipts.values())))
    for status in ("accepted", "duplicate", "rejected"):
        table.add_row(f"  {status}", str(receipts.get(status, 0)))
    table.add_row(
        "alert versions", ", ".join(f"{k} {v}" for k, v in sorted(summary.alerts.items())) or "0"
    )
    evaluation = _evaluate(truth, base_env | admin_env)
    if evaluation is not None:
        table.add_row("campaigns injected", str(evaluation.get("campaigns", "?")))
        table.add_row("campaigns detected", str(evaluation.get("detected", "?")))
        table.add_row(
            "precision / recall",
            f"{evaluation.get('precision', 0):.2f} / {evaluation.get('recall', 0):.2f}",
        )
    for (channel, outcome), count in sorted(summary.deliveries.items()):
        table.add_row(f"deliveries {channel}", f"{outcome} {count}")
    percentiles = summary.latency_percentiles()
    if percentiles is not None:
        table.add_row(
            "reported → delivered",
            f"p50 {percentiles[0] * 1000:.0f} ms, p99 {percentiles[1] * 1000:.0f} ms",
        )
    console.print()
    console.print(table)
