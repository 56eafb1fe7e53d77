"""The ``confianza`` command: one entry point composed of one sub-command module per concern.

Each package contributes its own Typer app (``confianza.producers.cli`` for ``send`` and
``simulate``, ``confianza.streams.cli`` for the streams worker, …); this module only mounts
them. Exit codes: 0 success, 1 the work ran but some records were rejected or failed,
2 usage, configuration or connection error.
"""

from __future__ import annotations

import typer

from confianza.cli import demo, dev, provision
from confianza.consumers import cli as deliver_cli
from confianza.observability import cli as ops
from confianza.producers import cli as producers_cli
from confianza.streams import cli as streams_cli

app = typer.Typer(
    name="confianza",
    help=(
        "Confianza: the national incident-event and alert pipeline. Partners report incidents "
        "to Kafka; the streams worker validates, correlates and scores them; delivery workers "
        "send TLP-gated alerts to each sector's channels."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.add_typer(dev.app, name="dev")
app.add_typer(provision.topics_app, name="topics")
app.add_typer(provision.partners_app, name="partners")
app.add_typer(provision.services_app, name="services")
app.add_typer(ops.app, name="ops")
app.add_typer(deliver_cli.worker_app, name="worker")
deliver_cli.worker_app.command("streams")(streams_cli.worker)
app.add_typer(streams_cli.alerts_app, name="alerts")
app.command("eval")(streams_cli.evaluate)
app.command("replay")(deliver_cli.replay)
app.command("send")(producers_cli.send)
app.command("simulate")(producers_cli.simulate)

if __name__ == "__main__":
    app()
