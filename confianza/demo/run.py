"""The demo: a local broker, provisioning, the workers, simulated partners, live deliveries.

``run_demo`` is what ``confianza demo`` (and ``make demo``) calls. It starts a
``LocalPipeline`` (broker, provisioning, receivers, workers, Prometheus), then the simulator
sends partner traffic with injected cross-sector campaigns. Deliveries are printed as they
land; at the end (``duration`` seconds or Ctrl-C) everything is stopped and a summary
printed. Nothing is left running.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from confianza.demo.pipeline import LocalPipeline
from confianza.demo.processes import confianza
from confianza.demo.watch import Watcher

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


def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the whole chain for ``options.duration`` seconds; returns the exit code."""
    if options.workdir.exists():
        shutil.rmtree(options.workdir)
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    started = time.monotonic()
    pipeline = LocalPipeline(
        options.workdir,
        with_prometheus=shutil.which("prometheus") is not None,
        progress=lambda step: console.print(f"[dim]… {step}[/]"),
    )
    try:
        return _run(options, console, pipeline, started)
    except (Interrupted, KeyboardInterrupt):
        console.print("\n[bold]Interrupted: stopping everything…[/]")
        return 0
    finally:
        pipeline.stop()
        signal.signal(signal.SIGTERM, previous)


def _run(options: DemoOptions, console: Console, pipeline: LocalPipeline, started: float) -> int:
    pipeline.start()
    console.print(
        f"[green]✓[/] Kafka {pipeline.cluster.bootstrap_servers}; "
        f"{len(pipeline.roster)} partners onboarded "
        f"({', '.join(e.id for e in pipeline.roster)}); services streams, deliver, ops "
        f"({time.monotonic() - started:.0f}s)"
    )
    if pipeline.prometheus is None:
        console.print("[yellow]prometheus is not installed: metrics are served, not scraped[/]")
    _print_endpoints(console, pipeline)

    truth = options.workdir / "ground-truth.json"
    sim_seconds = max(10.0, options.duration * 0.6)
    simulator = pipeline.simulate(options.rate, sim_seconds, options.campaigns, options.seed, truth)
    console.print(
        f"[green]✓[/] simulated partners sending {options.rate:g} events/s for "
        f"{sim_seconds:.0f}s with {options.campaigns} cross-sector campaigns\n"
    )

    watcher = Watcher(pipeline.admin, lambda record, alert: _print_delivery(console, record, alert))
    watcher.start()
    try:
        deadline = started + options.duration
        while time.monotonic() < deadline:
            time.sleep(0.5)
            crashed = [c for c in pipeline.supervisor.dead() if c is not simulator]
            if crashed:
                for child in crashed:
                    console.print(
                        f"[bold red]{child.name} exited[/] (code {child.process.returncode}); "
                        f"log tail:\n{child.log_tail()}"
                    )
                return 2
    finally:
        watcher.stop()
    _print_summary(console, watcher, truth, pipeline)
    console.print(
        f"\nLogs, received webhooks, mail and the center's file are in {options.workdir}/"
    )
    return 0


def _print_endpoints(console: Console, pipeline: LocalPipeline) -> None:
    console.print("[green]✓[/] workers up; metrics:")
    for name, port in pipeline.ports.items():
        console.print(f"    {name:<16} http://127.0.0.1:{port}/metrics")
    if pipeline.prometheus is not None:
        console.print(
            f"    {'prometheus':<16} {pipeline.prometheus.url}  (Grafana: see README, "
            "'Watching it in Grafana')"
        )
    console.print(
        f"    receivers: webhook http://127.0.0.1:{pipeline.webhook_port}  "
        f"smtp 127.0.0.1:{pipeline.smtp_port}  file {pipeline.center_file}"
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


def _evaluate(truth: Path, pipeline: LocalPipeline) -> dict[str, Any] | None:
    """``confianza eval --json`` against the simulator's ground truth, as the ops principal."""
    if not truth.exists():
        return None
    result = subprocess.run(
        confianza("eval", "--truth", str(truth), "--json"),
        capture_output=True,
        env=pipeline.supervisor.base_env | pipeline.service_env("ops"),
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
    pipeline: LocalPipeline,
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
    evaluation = _evaluate(truth, pipeline)
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
