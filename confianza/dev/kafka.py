"""A real Apache Kafka broker on 127.0.0.1, without Docker: fetched once, started on demand.

``fetch()`` resolves ``org.apache.kafka:kafka_2.13`` and its runtime jars from Maven Central into
a cache outside the checkout (``$CONFIANZA_KAFKA_CACHE`` or ``~/.cache/confianza``); later starts
are offline. ``Broker`` is one KRaft node (combined broker + controller, or one member of a
quorum); ``Cluster`` starts one node (``size=1``) or three on one machine for fault tests.

Every node listens on SASL_PLAINTEXT with SCRAM-SHA-512; the admin credential is written into
storage at format time; ACLs are enforced by StandardAuthorizer with
``allow.everyone.if.no.acl.found=false``. Readiness is an authenticated metadata round trip,
never a fixed sleep. ``stop()`` always leaves no process behind.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from confianza.settings import KafkaSettings

KAFKA_VERSION = "3.9.1"
ADMIN_USER = "admin"
POM = Path(__file__).resolve().parents[2] / "deploy" / "local" / "pom.xml"
COMPLETE_MARKER = ".complete"
READY_TIMEOUT_S = 90.0


class KafkaHarnessError(RuntimeError):
    """A one-line, actionable reason why the local broker cannot be fetched or started."""


def cache_dir() -> Path:
    """Where the broker jars live: ``$CONFIANZA_KAFKA_CACHE`` or the user cache directory."""
    root = os.environ.get("CONFIANZA_KAFKA_CACHE") or Path.home() / ".cache" / "confianza"
    return Path(root) / f"kafka-{KAFKA_VERSION}"


def lib_dir() -> Path:
    return cache_dir() / "lib"


def _check_cache() -> None:
    """Raise if the cache exists but is not a complete, readable set of jars."""
    marker = lib_dir() / COMPLETE_MARKER
    expected = marker.read_text(encoding="utf-8").split()
    for name in expected:
        jar = lib_dir() / name
        if not jar.is_file():
            raise KafkaHarnessError(
                f"Kafka cache {lib_dir()} is missing {name}; "
                "run `confianza dev kafka fetch --force` to fetch it again."
            )
    core = next((n for n in expected if n.startswith("kafka_2.13-")), None)
    if core is None:
        raise KafkaHarnessError(
            f"Kafka cache {lib_dir()} has no kafka_2.13 jar; "
            "run `confianza dev kafka fetch --force`."
        )
    try:
        with zipfile.ZipFile(lib_dir() / core) as jar:
            jar.getinfo("kafka/Kafka.class")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise KafkaHarnessError(
            f"Kafka cache {lib_dir()} is corrupt ({core}: {exc}); "
            "run `confianza dev kafka fetch --force`."
        ) from exc


def is_fetched() -> bool:
    """True when the jar cache is complete (checked, not assumed)."""
    if not (lib_dir() / COMPLETE_MARKER).is_file():
        return False
    _check_cache()
    return True


def fetch(force: bool = False) -> Path:
    """Fetch the broker jars with Maven once; returns the lib directory. Offline afterwards."""
    if not force and is_fetched():
        return lib_dir()
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise KafkaHarnessError(
                f"`{tool}` is not on PATH; install it (Debian: apt-get install "
                f"{'openjdk-17-jre-headless' if tool == 'java' else 'maven'}) and retry."
            )
    target = lib_dir()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={target}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    jars = sorted(p.name for p in target.glob("*.jar"))
    if result.returncode != 0 or not jars:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise KafkaHarnessError(
            "Maven could not fetch Apache Kafka from Maven Central "
            f"(exit {result.returncode}): {' | '.join(tail)}; check network access and retry."
        )
    (target / COMPLETE_MARKER).write_text("\n".join(jars) + "\n", encoding="utf-8")
    _check_cache()
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_port_free(port: int) -> None:
    """Raise a clear error if something already listens on ``port`` (TIME_WAIT is fine)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise KafkaHarnessError(
                f"port {port} on 127.0.0.1 is in use; choose another with --port or stop "
                "whatever listens there."
            ) from exc


def _java(main_class: str, *args: str, heap: str = "512m") -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        "-Dlog4j.configuration=file:" + str(cache_dir() / "log4j.properties"),
        "-cp",
        str(lib_dir() / "*"),
        main_class,
        *args,
    ]


LOG4J = """log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
"""


@dataclass
class Broker:
    """One KRaft node. Created by ``Cluster``; a test may ``kill()`` and ``start()`` it again."""

    node_id: int
    port: int
    controller_port: int
    workdir: Path
    admin_password: str = field(repr=False)
    quorum: str = ""
    cluster_size: int = 1
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_file(self) -> Path:
        return self.workdir / "broker.log"

    @property
    def properties_file(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def write_properties(self) -> None:
        replication = min(self.cluster_size, 3)
        min_isr = 2 if self.cluster_size >= 3 else 1
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{self.admin_password}";'
        )
        props = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "controller.quorum.voters": self.quorum,
            "listeners": (
                f"SASL_PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": jaas,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN_USER};User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": 3,
            "default.replication.factor": replication,
            "min.insync.replicas": min_isr,
            "unclean.leader.election.enable": "false",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": replication,
            "offsets.topic.num.partitions": 6,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": 0,
            "broker.session.timeout.ms": 6000,
            "broker.heartbeat.interval.ms": 1000,
            "controller.quorum.election.timeout.ms": 1000,
            "controller.quorum.fetch.timeout.ms": 2000,
            "num.network.threads": 2,
            "num.io.threads": 4,
            "log.segment.bytes": 64 * 1024 * 1024,
            "log.retention.check.interval.ms": 60000,
            "delete.topic.enable": "true",
        }
        text = "".join(f"{k}={v}\n" for k, v in props.items())
        self.properties_file.write_text(text, encoding="utf-8")

    def format_storage(self, cluster_id: str) -> None:
        result = subprocess.run(
            _java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.properties_file),
                "--add-scram",
                f"SCRAM-SHA-512=[name={ADMIN_USER},password={self.admin_password}]",
                "--ignore-formatted",
                heap="256m",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise KafkaHarnessError(f"formatting Kafka storage failed: {' '.join(reason)}")

    def start(self) -> None:
        """Start the JVM (storage must be formatted). Returns at once; see ``wait_ready``."""
        if self.alive():
            return
        ensure_port_free(self.port)
        ensure_port_free(self.controller_port)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                _java("kafka.Kafka", str(self.properties_file)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = self.process.pid

    pid: int | None = None

    def alive(self) -> bool:
        """True while this node's JVM runs (also for a node started by another process)."""
        if self.process is not None:
            return self.process.poll() is None
        if self.pid is None:
            return False
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"kafka.Kafka" in cmdline

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_file.exists():
            return "(no broker log)"
        text = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _signal(self, sig: int) -> None:
        if self.pid is not None and self.alive():
            with suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def _wait_gone(self, timeout: float) -> bool:
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.alive()

    def kill(self) -> None:
        """SIGKILL, as a crash would; waits until the process is gone."""
        self._signal(signal.SIGKILL)
        self._wait_gone(30)

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful SIGTERM, escalating to SIGKILL after ``timeout`` seconds."""
        self._signal(signal.SIGTERM)
        if not self._wait_gone(timeout):
            self.kill()


@dataclass
class Cluster:
    """One or three KRaft nodes on 127.0.0.1, SASL/SCRAM + ACLs, data in a temp directory."""

    size: int = 1
    port: int | None = None
    workdir: Path | None = None
    heap: str = "512m"
    brokers: list[Broker] = field(default_factory=list)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    _owns_workdir: bool = False

    def __post_init__(self) -> None:
        if self.size not in (1, 3):
            raise KafkaHarnessError("the local harness runs 1 or 3 nodes")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="confianza-kafka-"))
            self._owns_workdir = True
        if not self.brokers:
            ports = [(self.port if i == 0 and self.port else free_port()) for i in range(self.size)]
            controllers = [free_port() for _ in range(self.size)]
            quorum = ",".join(f"{i + 1}@127.0.0.1:{controllers[i]}" for i in range(self.size))
            for i in range(self.size):
                node_dir = self.workdir / f"node-{i + 1}"
                node_dir.mkdir(parents=True, exist_ok=True)
                self.brokers.append(
                    Broker(
                        node_id=i + 1,
                        port=ports[i],
                        controller_port=controllers[i],
                        workdir=node_dir,
                        admin_password=self.admin_password,
                        quorum=quorum,
                        cluster_size=self.size,
                    )
                )

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers)

    def admin_settings(self) -> KafkaSettings:
        """Client settings for the super-user ``admin`` principal."""
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            username=ADMIN_USER,
            password=SecretStr(self.admin_password),
            replication_factor=min(self.size, 3),
        )

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Fetch if needed, format, start every node and wait until an admin can connect."""
        if shutil.which("java") is None:
            raise KafkaHarnessError(
                "`java` is not on PATH; install a JRE 17 (Debian: apt-get install "
                "openjdk-17-jre-headless) and retry."
            )
        fetch()
        (cache_dir() / "log4j.properties").write_text(LOG4J, encoding="utf-8")
        for broker in self.brokers:
            ensure_port_free(broker.port)
            ensure_port_free(broker.controller_port)
        cluster_id = self._cluster_id()
        try:
            for broker in self.brokers:
                broker.write_properties()
                broker.format_storage(cluster_id)
            for broker in self.brokers:
                broker.start()
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _cluster_id() -> str:
        """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
        while True:
            candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            if not candidate.startswith("-"):
                return candidate

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Block until an authenticated admin sees every live node; raise with the log tail."""
        from kafka.errors import KafkaError

        from confianza.kafka import admin
        from confianza.logging import quiet_client_libraries

        quiet_client_libraries()
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            for broker in self.brokers:
                if broker.process is not None and not broker.alive():
                    raise KafkaHarnessError(
                        f"Kafka node {broker.node_id} exited with code "
                        f"{broker.process.returncode}; log tail:\n{broker.log_tail()}"
                    )
            try:
                client = admin(self.admin_settings(), request_timeout_ms=5000)
                try:
                    described = client.describe_cluster()
                    live = {b["broker_id"] for b in described["brokers"] if not b.get("is_fenced")}
                    wanted = {b.node_id for b in self.brokers if b.alive()}
                    if wanted <= live:
                        return
                    last_error = f"nodes up {sorted(live)}, waiting for {sorted(wanted)}"
                finally:
                    client.close()
            except (KafkaError, OSError, ValueError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.3)
        tails = "\n".join(f"node {b.node_id}:\n{b.log_tail()}" for b in self.brokers)
        self.stop()
        raise KafkaHarnessError(
            f"Kafka did not become ready within {timeout:.0f}s ({last_error}); log tail:\n{tails}"
        )

    def stop(self, remove_data: bool | None = None) -> None:
        """Stop every node. The data directory is removed when the harness created it, or
        when ``remove_data`` says so."""
        discard = self._owns_workdir if remove_data is None else remove_data
        for broker in self.brokers:
            if discard:
                broker.kill()  # the data is discarded anyway: no need for a clean shutdown
            else:
                broker.stop(timeout=10)
        if discard and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def save_state(self, path: Path) -> None:
        """Record ports, pids and the admin secret (mode 0600) for ``dev kafka down/status``."""
        state = {
            "size": self.size,
            "workdir": str(self.workdir),
            "admin_password": self.admin_password,
            "brokers": [
                {
                    "node_id": b.node_id,
                    "port": b.port,
                    "controller_port": b.controller_port,
                    "workdir": str(b.workdir),
                    "pid": b.pid,
                }
                for b in self.brokers
            ],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(state, indent=2), encoding="utf-8")

    @classmethod
    def from_state(cls, path: Path) -> Cluster:
        """The cluster a ``save_state`` call described (its processes may be gone)."""
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KafkaHarnessError(
                f"no local broker state at {path}; start one with `confianza dev kafka up`"
            ) from exc
        brokers = [
            Broker(
                node_id=b["node_id"],
                port=b["port"],
                controller_port=b["controller_port"],
                workdir=Path(b["workdir"]),
                admin_password=state["admin_password"],
                cluster_size=state["size"],
                pid=b["pid"],
            )
            for b in state["brokers"]
        ]
        return cls(
            size=state["size"],
            workdir=Path(state["workdir"]),
            brokers=brokers,
            admin_password=state["admin_password"],
        )


@contextmanager
def running(size: int = 1) -> Iterator[Cluster]:
    """A started cluster for the duration of a ``with`` block; stopped even on error."""
    cluster = Cluster(size=size)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
