"""Commands of the streams package: the worker, ``alerts tail`` and ``eval``.

Mounted by ``confianza.cli.main``: ``worker`` (the command ``confianza worker streams``),
``alerts_app`` (``confianza alerts tail``) and ``evaluate`` (``confianza eval``).
"""

from __future__ import annotations

import json
import sys
from contextlib import closing
from pathlib import Path

import orjson
import typer
from rich.console import Console

from confianza.cli.common import (
    EXIT_PARTIAL,
    fail,
    kafka_errors,
    load_settings,
    stop_timeout_option,
)
from confianza.streams.budget import DEFAULT_PER_HOUR
from confianza.streams.score import ScoringConfigError, load_scoring

alerts_app = typer.Typer(help="Watch the alerts the streams worker emits.", no_args_is_help=True)

STORE = typer.Option(
    "rocksdb://",
    "--store",
    envvar="CONFIANZA_STREAMS_STORE",
    help="Faust table store: rocksdb:// (production) or memory:// (tests, demo).",
)


def worker(
    store: str = STORE,
    partitions: int = typer.Option(
        6, "--partitions", min=1, max=256, help="Partitions of the internal keyed topics."
    ),
    tick: float = typer.Option(
        30.0, "--tick", min=0.1, help="Seconds between decay/resolution/eviction ticks."
    ),
    app_id: str = typer.Option(
        "confianza-streams",
        "--app-id",
        envvar="CONFIANZA_STREAMS_APP_ID",
        help="Consumer group and internal-topic prefix (must start with confianza-streams).",
    ),
    admission_budget: int = typer.Option(
        DEFAULT_PER_HOUR,
        "--admission-budget",
        envvar="CONFIANZA_STREAMS_ADMISSION_BUDGET",
        min=0,
        help="Records a partner may write per hour; beyond it records are rejected with "
        "reason over-budget until the next hour (0: no budget).",
    ),
    stop_timeout: float = stop_timeout_option("CONFIANZA_STREAMS_STOP_TIMEOUT"),
) -> None:
    """Run the streams worker: ingest, dedupe, correlate, score, alert (until SIGTERM)."""
    from kafka.errors import KafkaError

    from confianza.collector import tune_collector
    from confianza.observability.server import (
        MetricsServerError,
        start_metrics_server,
        worker_metrics,
    )
    from confianza.streams.app import create_app, declare_topics, new_worker

    settings = load_settings()
    try:
        scoring = load_scoring(settings.scoring_file)
    except ScoringConfigError as exc:
        fail(str(exc))
    if not app_id.startswith("confianza-streams"):
        fail(f"--app-id {app_id!r} must start with confianza-streams (the ACL prefix)")
    data_dir = settings.data_dir / "streams"
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        settings.kafka,
        scoring,
        store=store,
        partitions=partitions,
        data_dir=str(data_dir),
        tick_seconds=tick,
        app_id=app_id,
        admission_budget=admission_budget,
    )
    try:
        declare_topics(app, settings.kafka)
    except KafkaError as exc:
        fail(f"cannot create the streams topics: {exc}")
    registry = app.confianza["registry"]  # type: ignore[attr-defined]
    try:
        start_metrics_server(
            worker_metrics(settings.metrics, "streams"), ready=registry.ready.is_set
        )
    except MetricsServerError as exc:
        fail(str(exc))
    tune_collector()
    new_worker(app, settings.log.level, stop_timeout).execute_from_commandline()


@alerts_app.command("tail")
def tail(
    as_json: bool = typer.Option(False, "--json", help="One JSON alert per line."),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Start at the oldest alert, not the newest."
    ),
    idle_exit: float | None = typer.Option(
        None, "--idle-exit", min=0.1, help="Stop after this many seconds without alerts."
    ),
) -> None:
    """Print alerts as they are emitted (readable panels, or JSON lines with --json)."""
    from confianza.streams.tail import read_alerts, render

    settings = load_settings()
    console = Console()
    alerts = read_alerts(
        settings.kafka, from_beginning=from_beginning, follow=True, idle_timeout_s=idle_exit
    )
    with kafka_errors(settings, "read alerts"), closing(alerts):
        for alert in alerts:
            if as_json:
                sys.stdout.write(orjson.dumps(alert).decode() + "\n")
                sys.stdout.flush()
            else:
                console.print(render(alert))


def evaluate(
    truth: Path = typer.Option(
        ...,
        "--truth",
        exists=True,
        dir_okay=False,
        help="Ground-truth JSON written by the simulator.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation as JSON."),
    min_precision: float = typer.Option(
        0.0, "--min-precision", min=0, max=1, help="Exit 1 when precision is below this."
    ),
    min_recall: float = typer.Option(
        0.0, "--min-recall", min=0, max=1, help="Exit 1 when recall is below this."
    ),
) -> None:
    """Precision, recall and time-to-detect of the alerts on alerts.v1 against ground truth."""
    from rich.table import Table

    from confianza.streams.evaluate import evaluate as run
    from confianza.streams.tail import read_alerts

    settings = load_settings()
    try:
        ground = json.loads(truth.read_text(encoding="utf-8"))
        ground["campaigns"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"cannot read ground truth {truth}: {exc}")
    alerts = read_alerts(settings.kafka, from_beginning=True, follow=False)
    with kafka_errors(settings, "read alerts"), closing(alerts):  # closed here, not at exit
        result = run(alerts, ground)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        console = Console()
        console.print(
            f"alerts {result.alerts}  true positives {result.true_positives}  "
            f"campaigns {result.campaigns}  detected {result.detected}"
        )
        console.print(f"[bold]precision {result.precision:.3f}   recall {result.recall:.3f}")
        table = Table("campaign", "detected", "alerts", "events", "in alerts", "time to detect")
        for c in result.per_campaign:
            ttd = "—" if c.time_to_detect_s is None else f"{c.time_to_detect_s:.1f} s"
            table.add_row(
                c.id,
                "yes" if c.detected else "[red]no",
                str(len(c.alerts)),
                str(c.events),
                str(c.events_in_alerts),
                ttd,
            )
        console.print(table)
    if result.precision < min_precision or result.recall < min_recall:
        raise typer.Exit(EXIT_PARTIAL)
