#!/opt/confianza/bin/python
"""Container health check of the Confianza image: exit 0 while the worker answers /healthz.

Docker runs it every few seconds (HEALTHCHECK in the Dockerfile). The worker serves on
CONFIANZA_METRICS__PORT when set, else on its kind's well-known port (WORKER_PORTS), so without
the variable every well-known port is tried. Kubernetes uses its own probes instead.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from confianza.observability.server import WORKER_PORTS


def main() -> int:
    configured = os.environ.get("CONFIANZA_METRICS__PORT", "").strip()
    if configured and configured != "0":
        ports = [int(configured)]
    else:
        ports = sorted(set(WORKER_PORTS.values()))
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return 0
        except (OSError, urllib.error.URLError):
            continue
    print(f"no worker answers /healthz on 127.0.0.1 port(s) {ports}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
