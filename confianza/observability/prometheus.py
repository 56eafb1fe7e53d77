"""A real Prometheus on 127.0.0.1, started from the Debian ``prometheus`` package's binary.

Used by the tests (and available to anyone checking dashboards locally): ``running_prometheus``
writes a scrape configuration for the given targets with a short scrape and rule-evaluation
interval, loads the project's rules from ``deploy/prometheus/rules``, starts
``prometheus --config.file=… --storage.tsdb.path=<tmp> --web.listen-address=127.0.0.1:<free>``
and waits for ``/-/ready``. ``Prometheus.query`` runs an instant query through the HTTP API.
A missing binary is an error that says which package to install, never a skip.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from confianza.dev.kafka import free_port

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS_DIR = DEPLOY_DIR / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
READY_TIMEOUT_S = 60.0

T = TypeVar("T")


class PrometheusError(RuntimeError):
    """Prometheus is missing, did not start, or answered a query with an error."""


def binary(name: str) -> str:
    """Absolute path of ``prometheus`` or ``promtool``; raises if the package is missing."""
    path = shutil.which(name)
    if path is None:
        raise PrometheusError(
            f"{name} is not installed: install the Debian package `prometheus` "
            "(apt-get install prometheus), which provides /usr/bin/prometheus and /usr/bin/promtool"
        )
    return path


def rule_files() -> list[Path]:
    """The project's rule files, in a stable order."""
    return sorted(RULES_DIR.glob("*.yml"))


def scrape_config(
    targets: Mapping[str, Sequence[str]], interval: float, rules: Sequence[Path]
) -> dict[str, Any]:
    """A Prometheus configuration scraping ``targets`` (job name -> host:port list)."""
    every = f"{max(int(interval * 1000), 100)}ms"
    return {
        "global": {
            "scrape_interval": every,
            "scrape_timeout": every,
            "evaluation_interval": every,
        },
        "rule_files": [str(path) for path in rules],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in targets.items()
        ],
    }


def poll(check: Callable[[], T | None], timeout: float, what: str, step: float = 0.2) -> T:
    """Call ``check`` until it returns something other than None; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise PrometheusError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(step)


class Prometheus:
    """One Prometheus process with its own configuration and storage under ``workdir``."""

    def __init__(
        self,
        targets: Mapping[str, Sequence[str]],
        workdir: Path,
        interval: float = 1.0,
        rules: Sequence[Path] | None = None,
    ) -> None:
        self.targets = {job: list(hosts) for job, hosts in targets.items()}
        self.workdir = workdir
        self.interval = interval
        self.rules = list(rule_files() if rules is None else rules)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "prometheus.log"

    def _log_tail(self, lines: int = 10) -> str:
        if not self.log_file.exists():
            return ""
        return " | ".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Write the configuration, start the process and wait until ``/-/ready`` answers."""
        executable = binary("prometheus")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(scrape_config(self.targets, self.interval, self.rules)),
            encoding="utf-8",
        )
        self.port = free_port()
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    executable,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool | None:
            if self._process is not None and self._process.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {self._process.returncode}: {self._log_tail()}"
                )
            try:
                return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200 or None
            except httpx.TransportError:
                return None

        try:
            poll(ready, timeout, f"prometheus on {self.url} to be ready")
        except PrometheusError:
            self.stop()
            raise

    def stop(self, timeout: float = 20.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL); safe to call twice."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{path} failed: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result list (``metric`` + ``value``); raises on a query error."""
        data = self._api("query", {"query": expr})
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def rule_health(self) -> dict[str, str]:
        """``rule name -> ok/unknown/err: <error>`` of every loaded recording and alerting rule."""
        return {
            rule["name"]: rule["health"]
            + (f": {rule['lastError']}" if rule.get("lastError") else "")
            for group in self._api("rules")["groups"]
            for rule in group["rules"]
        }

    def target_health(self) -> dict[str, str]:
        """``scrapeUrl -> up/down/unknown`` of every active target."""
        return {t["scrapeUrl"]: t["health"] for t in self._api("targets")["activeTargets"]}

    def wait_for_targets_up(self, timeout: float = 30.0) -> None:
        """Return once every configured target has been scraped successfully."""
        expected = sum(len(hosts) for hosts in self.targets.values())

        def all_up() -> bool | None:
            health = self.target_health()
            return (len(health) == expected and all(h == "up" for h in health.values())) or None

        poll(all_up, timeout, f"all {expected} targets of {self.url} to be up")

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextmanager
def running_prometheus(
    targets: Mapping[str, Sequence[str]],
    interval: float = 1.0,
    workdir: Path | None = None,
    rules: Sequence[Path] | None = None,
) -> Iterator[Prometheus]:
    """A started Prometheus scraping ``targets`` every ``interval`` seconds; stopped on exit.

    ``targets`` maps a job name to ``host:port`` strings, e.g.
    ``{"confianza-streams": ["127.0.0.1:9310"], "confianza-lag": ["127.0.0.1:9319"]}``
    (keep the ``confianza-*`` job names: the rules select on them). Storage lives in
    ``workdir`` (a temporary directory, removed afterwards, when not given).
    """
    with tempfile.TemporaryDirectory(prefix="confianza-prometheus-") as tmp:
        prometheus = Prometheus(targets, workdir or Path(tmp), interval, rules)
        prometheus.start()
        try:
            yield prometheus
        finally:
            prometheus.stop()
