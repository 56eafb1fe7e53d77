"""``confianza dev kafka``: a real Apache Kafka broker on 127.0.0.1 for development and demos.

``up`` starts it in the background and records its state under ``<data_dir>/kafka/``; ``env``
prints the admin connection settings as shell exports; ``down`` stops it and deletes its data.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated

import typer

from confianza.cli.common import load_settings, operator_errors
from confianza.dev import kafka as harness

app = typer.Typer(help="Local development tools.", no_args_is_help=True)
kafka_app = typer.Typer(
    help="A real Kafka broker (KRaft, SASL/SCRAM, ACLs) on 127.0.0.1, without Docker.",
    no_args_is_help=True,
)
app.add_typer(kafka_app, name="kafka")


def _state_file() -> Path:
    return load_settings().data_dir / "kafka" / "state.json"


@kafka_app.command()
def fetch(
    force: Annotated[
        bool, typer.Option(help="Fetch again even if the cache looks complete.")
    ] = False,
) -> None:
    """Fetch Apache Kafka and its dependencies from Maven Central into the user cache (once)."""
    with operator_errors():
        started = time.monotonic()
        target = harness.fetch(force=force)
    typer.echo(
        f"Kafka {harness.KAFKA_VERSION} ready in {target} ({time.monotonic() - started:.1f}s)"
    )


@kafka_app.command()
def up(
    nodes: Annotated[int, typer.Option(help="1 node, or 3 for a fault-testing cluster.")] = 1,
    port: Annotated[
        int | None, typer.Option(help="Client port of node 1 (default: a free one).")
    ] = None,
) -> None:
    """Start the broker in the background and wait until an authenticated client connects."""
    state = _state_file()
    with operator_errors():
        if state.exists() and any(b.alive() for b in harness.Cluster.from_state(state).brokers):
            typer.echo("A local broker is already running; `confianza dev kafka status` shows it.")
            return
        workdir = state.parent / "data"
        workdir.mkdir(parents=True, exist_ok=True)
        cluster = harness.Cluster(size=nodes, port=port, workdir=workdir.resolve())
        cluster.start()
        cluster.save_state(state)
    typer.echo(
        f"Kafka is up at {cluster.bootstrap_servers} (admin credentials: "
        '`eval "$(confianza dev kafka env)"`).'
    )


@kafka_app.command()
def env() -> None:
    """Print shell exports that point Confianza at the local broker as its admin."""
    with operator_errors():
        cluster = harness.Cluster.from_state(_state_file())
    settings = cluster.admin_settings()
    exports = {
        "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "CONFIANZA_KAFKA__USERNAME": harness.ADMIN_USER,
        "CONFIANZA_KAFKA__PASSWORD": cluster.admin_password,
        "CONFIANZA_KAFKA__REPLICATION_FACTOR": str(settings.replication_factor),
    }
    for key, value in exports.items():
        typer.echo(f"export {key}={shlex.quote(value)}")


@kafka_app.command()
def status() -> None:
    """Show each node of the local broker; exit 1 if any node is down."""
    with operator_errors():
        cluster = harness.Cluster.from_state(_state_file())
    down = 0
    for broker in cluster.brokers:
        alive = broker.alive()
        down += not alive
        typer.echo(
            f"node {broker.node_id}: {broker.bootstrap} pid {broker.pid} "
            f"{'running' if alive else 'DOWN'}"
        )
    if down:
        raise typer.Exit(1)


@kafka_app.command()
def down() -> None:
    """Stop the local broker and delete its data."""
    state = _state_file()
    if not state.exists():
        typer.echo("No local broker is running.")
        return
    with operator_errors():
        harness.Cluster.from_state(state).stop(remove_data=True)
    state.unlink()
    typer.echo("Kafka stopped; its data was removed.")
