"""The HTTP endpoint every worker process serves: ``/metrics``, ``/healthz`` and ``/readyz``.

Port policy (one rule everywhere): ``MetricsSettings.port == 0`` means "no endpoint", which is
what CLI tools (``send``, ``topics``, ``partners``) get by default. Long-running workers always
serve: they call ``worker_metrics(settings.metrics, "<worker>")``, which keeps a port set in the
environment (``CONFIANZA_METRICS__PORT``) and otherwise picks the worker's well-known port from
``WORKER_PORTS`` (the ports ``deploy/prometheus/prometheus.yml`` scrapes). Two workers of the
same kind on one host each get their own ``CONFIANZA_METRICS__PORT``.

``/metrics`` is the prometheus-client default registry (single process, no multiprocess mode).
``/healthz`` answers 200 while the process serves HTTP at all (liveness). ``/readyz`` answers 200
only while the worker's ``ready()`` callback returns true (readiness: connected, assigned,
caught up — the worker decides), 503 otherwise; a callback that raises counts as not ready.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from confianza.logging import get_logger
from confianza.settings import MetricsSettings

log = get_logger(__name__)

WORKER_PORTS: dict[str, int] = {"streams": 9310, "deliver": 9311, "lag": 9319}
"""Default metrics port of each long-running worker kind (see the module docstring)."""

Ready = Callable[[], bool]
StartResponse = Callable[..., Any]


class MetricsServerError(RuntimeError):
    """The endpoint cannot be served (port off or in use); the message says what to do."""


def worker_metrics(metrics: MetricsSettings, worker: str) -> MetricsSettings:
    """The metrics settings a long-running worker serves with: its own port unless one is set.

    Called once by each worker entry point before ``start_metrics_server``.
    """
    if worker not in WORKER_PORTS:
        raise ValueError(f"unknown worker kind {worker!r}; known: {', '.join(WORKER_PORTS)}")
    if metrics.port:
        return metrics
    return metrics.model_copy(update={"port": WORKER_PORTS[worker]})


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: scrapes every few seconds would drown the JSON log."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def _plain(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    data = body.encode("utf-8")
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _is_ready(ready: Ready | None) -> bool:
    if ready is None:
        return True
    try:
        return bool(ready())
    except Exception as exc:
        log.warning("readiness check raised", error=repr(exc))
        return False


def _app(ready: Ready | None) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    metrics_app = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", "only GET and HEAD\n")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/healthz":
            return _plain(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            if _is_ready(ready):
                return _plain(start_response, "200 OK", "ready\n")
            return _plain(start_response, "503 Service Unavailable", "not ready\n")
        return _plain(start_response, "404 Not Found", "try /metrics, /healthz or /readyz\n")

    return app


class MetricsServer:
    """A running endpoint; ``stop()`` (or leaving the ``with`` block) closes it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host: str = server.server_address[0]
        self.port: int = server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9310``; append ``/metrics``."""
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_metrics_server(metrics: MetricsSettings, ready: Ready | None = None) -> MetricsServer:
    """Serve the endpoint on ``metrics.host:metrics.port`` from a daemon thread.

    Called once per worker process at start-up, before the worker connects to Kafka (so
    liveness answers while it connects). ``ready`` is polled on every ``/readyz`` request and
    must be cheap; without it the process is ready as soon as it serves. Raises
    ``MetricsServerError`` when the port is 0 (off) or cannot be bound.
    """
    if metrics.port == 0:
        raise MetricsServerError(
            "metrics endpoint is off (port 0); set CONFIANZA_METRICS__PORT or use worker_metrics()"
        )
    try:
        server = make_server(
            metrics.host,
            metrics.port,
            _app(ready),
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
    except OSError as exc:
        raise MetricsServerError(
            f"cannot serve metrics on {metrics.host}:{metrics.port} ({exc.strerror or exc}); "
            "set CONFIANZA_METRICS__PORT to a free port"
        ) from exc
    thread = threading.Thread(
        target=server.serve_forever, name=f"metrics-{metrics.port}", daemon=True
    )
    thread.start()
    handle = MetricsServer(server, thread)
    log.info("metrics endpoint up", url=handle.url)
    return handle
