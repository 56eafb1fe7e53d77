"""The worker endpoint: /metrics from the catalog, liveness, readiness, clear errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from confianza import metrics
from confianza.dev.kafka import free_port
from confianza.observability.server import (
    WORKER_PORTS,
    MetricsServer,
    MetricsServerError,
    start_metrics_server,
    worker_metrics,
)
from confianza.settings import MetricsSettings


@pytest.fixture
def ready_flag() -> list[bool]:
    return [False]


@pytest.fixture
def server(ready_flag: list[bool]) -> Iterator[MetricsServer]:
    with start_metrics_server(
        MetricsSettings(port=free_port()), ready=lambda: ready_flag[0]
    ) as handle:
        yield handle


def test_metrics_serves_the_catalog(server: MetricsServer) -> None:
    metrics.EVENTS_RECEIVED.labels(partner="bcp").inc()
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'confianza_events_received_total{partner="bcp"}' in response.text
    assert "# TYPE confianza_stage_duration_seconds histogram" in response.text


def test_healthz_answers_while_not_ready(server: MetricsServer) -> None:
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/readyz").status_code == 503


def test_readyz_follows_the_callback(server: MetricsServer, ready_flag: list[bool]) -> None:
    ready_flag[0] = True
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    ready_flag[0] = False
    assert httpx.get(f"{server.url}/readyz").status_code == 503


def test_a_raising_readiness_check_means_not_ready() -> None:
    def broken() -> bool:
        raise ConnectionError("broker down")

    with start_metrics_server(MetricsSettings(port=free_port()), ready=broken) as handle:
        assert httpx.get(f"{handle.url}/readyz").status_code == 503
        assert httpx.get(f"{handle.url}/healthz").status_code == 200


def test_without_a_callback_the_process_is_ready() -> None:
    with start_metrics_server(MetricsSettings(port=free_port())) as handle:
        assert httpx.get(f"{handle.url}/readyz").status_code == 200


def test_unknown_path_and_method(server: MetricsServer) -> None:
    assert httpx.get(f"{server.url}/nope").status_code == 404
    assert httpx.post(f"{server.url}/metrics").status_code == 405


def test_binds_the_configured_host_and_port() -> None:
    port = free_port()
    with start_metrics_server(MetricsSettings(host="127.0.0.1", port=port)) as handle:
        assert (handle.host, handle.port) == ("127.0.0.1", port)
        assert handle.url == f"http://127.0.0.1:{port}"


def test_stop_releases_the_port() -> None:
    settings = MetricsSettings(port=free_port())
    start_metrics_server(settings).stop()
    again = start_metrics_server(settings)
    again.stop()
    again.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{again.url}/healthz")


def test_port_in_use_is_a_clear_error() -> None:
    settings = MetricsSettings(port=free_port())
    with (
        start_metrics_server(settings),
        pytest.raises(MetricsServerError, match="CONFIANZA_METRICS__PORT"),
    ):
        start_metrics_server(settings)


def test_port_zero_is_off() -> None:
    with pytest.raises(MetricsServerError, match="off"):
        start_metrics_server(MetricsSettings(port=0))


def test_worker_metrics_picks_the_worker_port_unless_one_is_set() -> None:
    assert worker_metrics(MetricsSettings(), "streams").port == WORKER_PORTS["streams"]
    assert worker_metrics(MetricsSettings(port=9999), "deliver").port == 9999
    assert worker_metrics(MetricsSettings(host="0.0.0.0"), "lag").host == "0.0.0.0"
    with pytest.raises(ValueError, match="unknown worker"):
        worker_metrics(MetricsSettings(), "nope")
