"""``confianza ops``: operations tools that watch the pipeline (``lag``).

``confianza ops lag`` is the consumer-lag exporter: a long-running process (run it as the
``svc-ops`` principal) that serves ``confianza_consumer_lag_messages`` on its own ``/metrics``
port and stops cleanly on Ctrl-C or SIGTERM. ``--once`` prints the lag table and exits instead.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from confianza.cli.common import fail, kafka_errors, load_settings
from confianza.observability.lag import (
    LagExporter,
    admin_client,
    confianza_groups,
    measure_lag,
)
from confianza.observability.server import (
    MetricsServerError,
    start_metrics_server,
    worker_metrics,
)

app = typer.Typer(help="Operations tools: consumer-lag exporter.", no_args_is_help=True)


Timeout = Annotated[
    float, typer.Option(min=0.5, help="Seconds to wait for the broker before giving up.")
]


def _print_once(timeout: float) -> None:
    settings = load_settings()
    with kafka_errors(settings, "measure consumer lag"):
        admin = admin_client(settings.kafka, timeout)
        try:
            lag = measure_lag(admin, confianza_groups(admin))
        finally:
            admin.close()
    if not lag:
        typer.echo("no confianza consumer group has committed offsets yet")
        return
    width = max(len(group) for group, _ in lag)
    for (group, topic), value in sorted(lag.items()):
        typer.echo(f"{group:<{width}}  {topic}  {value}")


@app.command("lag")
def lag_command(
    interval: Annotated[
        float, typer.Option(min=1.0, help="Seconds between two lag measurements.")
    ] = 15.0,
    once: Annotated[
        bool, typer.Option("--once", help="Print the lag per group and topic, then exit.")
    ] = False,
    timeout: Timeout = 10.0,
) -> None:
    """Export consumer lag of every Confianza group (confianza-streams, confianza-deliver-*).

    Serves /metrics, /healthz and /readyz on CONFIANZA_METRICS__PORT (default 9319).

    Ready while the last measurement succeeded.
    """
    if once:
        _print_once(timeout)
        return
    settings = load_settings()
    exporter = LagExporter(settings.kafka, interval=interval, timeout=timeout)
    try:
        server = start_metrics_server(
            worker_metrics(settings.metrics, "lag"), ready=lambda: exporter.ready
        )
    except MetricsServerError as exc:
        fail(str(exc))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    exporter.start()
    typer.echo(f"consumer lag every {interval:g}s on {server.url}/metrics", err=True)
    try:
        stop.wait()
    finally:
        exporter.stop()
        server.stop()
