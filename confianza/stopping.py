"""How Confianza's long-running workers stop when they cannot stop cleanly.

Told to stop (SIGTERM, Ctrl-C), a worker commits what it handled and closes its clients. With
its broker unreachable that can take minutes or never end: Faust's consumer waited a minute on
the broker, and aiokafka's offset commit waits for a group coordinator for as long as there is
none. Supervisors SIGKILL long before that (Kubernetes after 30 s). So a worker arms
``arm_stop_deadline`` when its stop begins; past the deadline it exits at once, without
committing: a crash like any other (tests/reliability), after which the next worker reads the
uncommitted records again and sends nothing twice.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import NoReturn

from confianza.cli.common import EXIT_PARTIAL
from confianza.logging import get_logger

log = get_logger(__name__)

STOP_TIMEOUT_S = 20.0
"""How long a worker told to stop may take to commit and close before it exits anyway: within
the grace most supervisors give before SIGKILL (Kubernetes 30 s, systemd 90 s)."""


def arm_stop_deadline(stop_timeout: float, signal_name: str) -> None:
    """Called once when a worker's stop begins: if the process still runs ``stop_timeout``
    seconds later, it logs why and ends with exit code 1 (``exit_now``). The deadline runs on a
    daemon thread, so it fires however the event loop is stuck."""
    timer = threading.Timer(stop_timeout, _stop_overdue, (signal_name, stop_timeout))
    timer.daemon = True
    timer.start()


def _stop_overdue(signal_name: str, stop_timeout: float) -> NoReturn:
    log.error(
        "the worker did not stop in time (is the broker reachable?); it exits without "
        "committing, so the next worker reads its uncommitted records again",
        signal=signal_name,
        stop_timeout_s=stop_timeout,
    )
    exit_now()


def exit_now() -> NoReturn:
    """End the process at once with exit code 1, after flushing its output: no cleanup, no
    commit. Called when continuing could lose records or block forever."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_PARTIAL)
