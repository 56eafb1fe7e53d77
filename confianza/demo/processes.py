"""A small supervisor for the demo's child processes.

Every child runs in its own session (process group) with its output in a log file, so stopping
the demo — at the end, on Ctrl-C or on an error — terminates each group and leaves no stray
process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Child:
    """One supervised process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class Supervisor:
    """Starts children, reports ones that died, and stops them all in reverse order."""

    log_dir: Path
    base_env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        """Start ``args`` (a ``confianza`` sub-command or a module run) with extra ``env``.

        A child of the same name that has exited (a restart after a crash) is forgotten."""
        log = self.log_dir / f"{name}.log"
        handle = log.open("ab")
        process = subprocess.Popen(
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.base_env | (env or {}),
            start_new_session=True,
        )
        handle.close()
        child = Child(name, process, log)
        self.children = [c for c in self.children if c.name != name or c.alive()]
        self.children.append(child)
        return child

    def dead(self) -> list[Child]:
        """Children that exited on their own."""
        return [c for c in self.children if not c.alive()]

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM every group (newest first), then SIGKILL what is left after ``grace``."""
        for child in reversed(self.children):
            if child.alive():
                with suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait(timeout=10)


def confianza(*args: str) -> list[str]:
    """The command line that runs ``confianza <args>`` with this interpreter."""
    return [sys.executable, "-m", "confianza.cli.main", *args]
