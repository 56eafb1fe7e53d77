"""``confianza dev``: the local development broker (fetch, up, down, status, env)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Local development tools: a real Kafka broker on 127.0.0.1.", no_args_is_help=True)
