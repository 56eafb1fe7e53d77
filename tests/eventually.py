"""Retrying assertions for effects that propagate with a delay (SCRAM users, ACLs, consumers)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(action: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Retry ``action`` until it stops raising: SCRAM users and ACLs propagate with a delay."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
