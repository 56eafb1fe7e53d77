"""``confianza demo``: run the whole chain locally and print what the partners' alerts became."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from confianza.cli.common import load_settings, operator_errors
from confianza.demo.run import DemoOptions, run_demo


def demo(
    duration: Annotated[
        float, typer.Option(min=20, help="Seconds to run before stopping and summarising.")
    ] = 120,
    rate: Annotated[float, typer.Option(min=1, help="Events per second from all partners.")] = 20,
    campaigns: Annotated[int, typer.Option(min=1, help="Cross-sector campaigns to inject.")] = 8,
    seed: Annotated[int, typer.Option(help="Simulator seed (same seed, same traffic).")] = 7,
    workdir: Annotated[
        Path | None, typer.Option(help="Where logs, receivers' output and state go.")
    ] = None,
) -> None:
    """Start a local broker, the pipeline, receivers and simulated partners; stop after
    DURATION seconds or Ctrl-C, leaving no process behind, and print a summary."""
    settings = load_settings()
    with operator_errors():
        code = run_demo(
            DemoOptions(duration, rate, campaigns, seed, workdir or settings.data_dir / "demo"),
            Console(),
        )
    raise typer.Exit(code)
