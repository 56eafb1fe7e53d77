"""The compose stack (deploy/compose/): valid Compose, and consistent with the code it runs.

Checked without a Docker engine: the file against the Compose Specification's JSON Schema;
the brokers' configuration by formatting a real KRaft log directory with it (Kafka's own
config validation, the harness's jars); every Confianza service against the settings model,
the CLI, the subscriptions file, the Prometheus job names and the image's mount points.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from confianza.consumers.subscriptions import load_subscriptions
from confianza.dev import kafka as harness
from confianza.observability.server import WORKER_PORTS
from confianza.provision import render
from confianza.provision.acls import service_principal
from tests.deploy.conftest import COMPOSE, DEPLOY, ROOT, SCHEMAS, parse_cli
from tests.deploy.helpers import (
    CREDENTIALS_FILE,
    cli_env_names,
    policy_env_names,
    secret_env_names,
    settings_env_names,
    settings_from,
)

RAW = yaml.safe_load((COMPOSE / "compose.yaml").read_text(encoding="utf-8"))
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")


def env_example() -> dict[str, str]:
    values = {}
    for line in (COMPOSE / "env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(node: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation (${VAR}, ${VAR:-default}, ${VAR:?error})."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env) for value in node]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        name, kind, arg = match.groups()
        value = env.get(name, "")
        if value:
            return value
        if kind == "?":
            raise AssertionError(f"{name} is required: {arg}")
        return arg or ""

    return _VARIABLE.sub(substitute, node).replace("$$", "$")


FILLED = {key: value or f"example-{key.lower()}" for key, value in env_example().items()}
STACK = interpolate(RAW, FILLED)
SERVICES: dict[str, dict[str, Any]] = STACK["services"]
CONFIANZA = {n: s for n, s in SERVICES.items() if s["image"] == "confianza:local"}
IMAGE_ENV = {"CONFIANZA_METRICS__HOST": "0.0.0.0", "CONFIANZA_DATA_DIR": "/var/lib/confianza"}


def worker_kind(service: dict[str, Any]) -> str | None:
    """streams, deliver or lag for a long-running worker; None for anything else."""
    command = service.get("command") or []
    if "entrypoint" in service:
        return None
    return {"worker streams": "streams", "worker deliver": "deliver", "ops lag": "lag"}.get(
        " ".join(command[:2])
    )


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """{container path: (source, read_only)} of a service's volumes."""
    result = {}
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        result[parts[1]] = (parts[0], len(parts) > 2 and parts[2] == "ro")
    return result


def mounted_dir(service: dict[str, Any], path: str) -> tuple[str, str, bool] | None:
    """(mount point, source, read_only) of the mount holding ``path``, if any."""
    best = None
    for target, (source, read_only) in mounts(service).items():
        if (path == target or path.startswith(target.rstrip("/") + "/")) and (
            best is None or len(target) > len(best[0])
        ):
            best = (target, source, read_only)
    return best


# --- the file itself -------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(RAW)]
    assert errors == []
    broken = json.loads(json.dumps(RAW))
    broken["services"]["lag"]["enviroment"] = {}
    assert not validator.is_valid(broken)


def test_secrets_come_from_the_git_ignored_env_file() -> None:
    example = env_example()
    text = (COMPOSE / "compose.yaml").read_text(encoding="utf-8")
    used = {m.group(1): m.group(2) for m in _VARIABLE.finditer(text)}
    assert set(used) == set(example), "every ${VAR} is documented in env.example, and only those"
    for name, kind in used.items():
        if kind == "?":
            assert example[name] == "", f"{name} is required: env.example leaves it empty"
    for name, value in example.items():
        if re.search("PASSWORD|SECRET|CLUSTER_ID", name):
            assert value == "", f"env.example must not carry a value for {name}"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/compose/.env"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "deploy/compose/.env must be git-ignored"
    with pytest.raises(AssertionError, match="KAFKA_ADMIN_PASSWORD is required"):
        interpolate(RAW, {k: v for k, v in FILLED.items() if k != "KAFKA_ADMIN_PASSWORD"})


def test_volumes_and_bind_mounts_exist() -> None:
    declared = set(STACK["volumes"])
    used = set()
    for service in SERVICES.values():
        for _target, (source, _ro) in mounts(service).items():
            if source.startswith("."):
                assert (COMPOSE / source).exists(), source
            else:
                used.add(source)
    assert used == declared


# --- Kafka -----------------------------------------------------------------------------------

BROKERS = {n: s for n, s in SERVICES.items() if s["image"].startswith("apache/kafka:")}


def test_three_kraft_brokers_of_the_harness_version() -> None:
    assert len(BROKERS) == 3
    versions = {s["image"].split(":")[1] for s in BROKERS.values()}
    assert versions == {harness.KAFKA_VERSION}
    ids = {s["environment"]["NODE_ID"]: name for name, s in BROKERS.items()}
    assert sorted(ids) == ["1", "2", "3"]
    voters = {s["environment"]["CONTROLLER_QUORUM_VOTERS"] for s in BROKERS.values()}
    assert voters == {",".join(f"{i}@{ids[i]}:9093" for i in sorted(ids))}
    assert all(
        s["hostname"] == name == f"kafka-{s['environment']['NODE_ID']}"
        for name, s in BROKERS.items()
    )
    data = [mounts(s)["/var/lib/kafka/data"][0] for s in BROKERS.values()]
    assert len(set(data)) == 3
    for service in BROKERS.values():
        port = service["environment"]["EXTERNAL_PORT"]
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    bootstrap = {
        s["environment"]["CONFIANZA_KAFKA__BOOTSTRAP_SERVERS"]
        for s in CONFIANZA.values()
        if "environment" in s and "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS" in s["environment"]
    }
    assert bootstrap == {",".join(f"{name}:9092" for name in sorted(BROKERS))}


def _broker_script(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "kafka"
    (home / "bin").mkdir(parents=True)
    classpath = f"{harness.fetch()}/*"
    storage = home / "bin" / "kafka-storage.sh"
    storage.write_text(f'#!/bin/sh\nexec java -cp "{classpath}" kafka.tools.StorageTool "$@"\n')
    start = home / "bin" / "kafka-server-start.sh"
    start.write_text(f'#!/bin/sh\ncp "$1" "{tmp_path}/started.properties"\n')
    storage.chmod(0o755)
    start.chmod(0o755)
    environment = {
        "PATH": os.environ["PATH"],
        "KAFKA_HOME": str(home),
        "KAFKA_DATA_DIR": str(tmp_path / "data"),
        "KAFKA_CONFIG_FILE": str(tmp_path / "server.properties"),
        **env,
    }
    script = COMPOSE / "kafka" / "broker.sh"
    return subprocess.run(["bash", str(script)], env=environment, capture_output=True, text=True)


def test_broker_configuration_is_accepted_by_kafka(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.fail("java is missing: run `make setup` (deploy/local/system-deps.sh)")
    service = BROKERS["kafka-2"]
    env = {k: str(v) for k, v in service["environment"].items()}
    env |= {"CLUSTER_ID": "kYJDQdc6T_mAuP36osLqEQ", "KAFKA_ADMIN_PASSWORD": "s3cret_admin-1"}
    result = _broker_script(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    meta = (tmp_path / "data" / "meta.properties").read_text(encoding="utf-8")
    assert "node.id=2" in meta
    assert "cluster.id=kYJDQdc6T_mAuP36osLqEQ" in meta
    props = dict(
        line.split("=", 1)
        for line in (tmp_path / "started.properties").read_text(encoding="utf-8").splitlines()
        if "=" in line
    )
    assert props["advertised.listeners"] == "INTERNAL://kafka-2:9092,EXTERNAL://127.0.0.1:29093"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["auto.create.topics.enable"] == "false"
    assert props["min.insync.replicas"] == "2"
    assert props["super.users"].split(";")[0] == "User:admin"


def test_a_broker_refuses_a_password_that_would_break_its_config(tmp_path: Path) -> None:
    env = {k: str(v) for k, v in BROKERS["kafka-1"]["environment"].items()}
    env["KAFKA_ADMIN_PASSWORD"] = 'pa"ss;word'
    result = _broker_script(tmp_path, env)
    assert result.returncode == 2
    assert "may hold only letters" in result.stderr


# --- Confianza services ----------------------------------------------------------------------


def _effective_env(service: dict[str, Any]) -> dict[str, str]:
    return {**IMAGE_ENV, **{k: str(v) for k, v in service.get("environment", {}).items()}}


def _allowed_env(name: str, service: dict[str, Any]) -> set[str]:
    allowed = settings_env_names() | {CREDENTIALS_FILE}
    kind = worker_kind(service)
    if service.get("command") and "entrypoint" not in service:
        allowed |= cli_env_names(parse_cli(service["command"]))
    if kind == "deliver":
        allowed |= policy_env_names()
        subscriptions = load_subscriptions(COMPOSE / "subscriptions.yaml")
        allowed |= secret_env_names(subscriptions, service["command"][-1])
    if name.endswith("-receiver"):
        allowed |= {a.split("=", 1)[1] for a in service["command"] if a.startswith("--secret-env=")}
    return allowed


@pytest.mark.parametrize("name", sorted(CONFIANZA))
def test_service_environment_is_what_the_code_reads(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    service = CONFIANZA[name]
    env = _effective_env(service)
    unknown = set(env) - _allowed_env(name, service)
    assert unknown == set(), f"{name} sets variables nothing reads: {sorted(unknown)}"
    settings = settings_from(env, monkeypatch, tmp_path)
    assert settings.kafka.replication_factor == 3 or name.endswith("-receiver")
    kind = worker_kind(service)
    if kind is not None:
        assert settings.metrics.host == "0.0.0.0"
        assert settings.metrics.port == WORKER_PORTS[kind]


@pytest.mark.parametrize("name", sorted(n for n, s in CONFIANZA.items() if worker_kind(s)))
def test_workers_run_a_real_command_as_the_right_principal(name: str) -> None:
    service = CONFIANZA[name]
    path = parse_cli(service["command"])
    principal = {"streams": "streams", "deliver": "deliver", "lag": "ops"}[worker_kind(service)]
    credentials = service["environment"][CREDENTIALS_FILE]
    assert credentials == f"{render.CREDENTIALS_DIR}/{service_principal(principal)}.env"
    mount = mounted_dir(service, credentials)
    assert mount is not None
    assert mount[1] == "service-credentials"
    assert mount[2], "workers mount the credentials read-only"
    assert service["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    assert path[0] in {"worker", "ops"}


def test_two_streams_workers_each_with_its_own_state_volume() -> None:
    streams = [s for s in CONFIANZA.values() if worker_kind(s) == "streams"]
    assert len(streams) == 2
    state_dir = f"{IMAGE_ENV['CONFIANZA_DATA_DIR']}/streams"
    volumes = []
    for service in streams:
        mount = mounted_dir(service, state_dir)
        assert mount is not None
        assert mount[0] == state_dir
        assert not mount[2]
        volumes.append(mount[1])
    assert len(set(volumes)) == 2, "RocksDB stores are not shared"


def test_a_delivery_worker_per_channel_with_its_subscribers_secrets() -> None:
    deliver = {s["command"][-1]: s for s in CONFIANZA.values() if worker_kind(s) == "deliver"}
    paths = {s["environment"]["CONFIANZA_SUBSCRIPTIONS_FILE"] for s in deliver.values()}
    (path,) = paths
    for service in deliver.values():
        assert mounts(service)[path] == ("./subscriptions.yaml", True)
    subscriptions = load_subscriptions(COMPOSE / "subscriptions.yaml")
    assert set(deliver) == {s.channel for s in subscriptions.subscribers}
    for channel, service in deliver.items():
        assert secret_env_names(subscriptions, channel) <= set(service["environment"])
    for subscriber in subscriptions.for_channel("file"):
        mount = mounted_dir(deliver["file"], str(Path(subscriber.target).parent))
        assert mount is not None
        assert not mount[2], f"{subscriber.target} must be on a writable volume"
    for subscriber in [*subscriptions.for_channel("webhook"), *subscriptions.for_channel("chat")]:
        host, port = re.match(r"http://([^:/]+):(\d+)/", subscriber.target).groups()
        receiver = SERVICES[host]
        assert f"--port={port}" in receiver["command"]
        secret = subscriber.webhook_secret_env
        signed = f"--secret-env={secret}" in receiver["command"] if secret else True
        assert signed, f"{host} must verify {subscriber.id}'s signatures"
        if secret:
            assert (
                receiver["environment"][secret]
                == deliver[subscriber.channel]["environment"][secret]
            )


@pytest.mark.parametrize("name", ["webhook-receiver", "chat-receiver"])
def test_receivers_start_with_their_arguments(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from confianza.consumers.webhook import receiver

    service = SERVICES[name]
    assert service["entrypoint"] == ["python", "-m", "confianza.consumers.webhook.receiver"]
    started = {}

    class Started(Exception):
        pass

    class Fake:
        def __init__(self, secret: str | None, **kwargs: Any) -> None:
            started.update(kwargs, secret=secret)

        def start(self) -> None:
            raise Started

    for key, value in service.get("environment", {}).items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setattr(receiver, "WebhookReceiver", Fake)
    with pytest.raises(Started):
        receiver.main(service["command"])
    assert started["host"] == "0.0.0.0"
    out = mounted_dir(service, str(started["out"]))
    assert out is not None
    assert not out[2]


def test_image_mount_points_exist_for_every_confianza_volume() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    created = set(re.findall(r"(/var/lib/confianza/[a-z-]+)", dockerfile))
    for name, service in CONFIANZA.items():
        for target, (source, _ro) in mounts(service).items():
            if not source.startswith(".") and target.startswith("/var/lib/confianza"):
                assert target in created, f"{name}: {target} is not created in the image"


def test_init_job_provisions_as_admin_with_the_generated_script() -> None:
    init = SERVICES["init"]
    assert init["entrypoint"] == ["/bin/sh", "/opt/confianza/init/provision.sh"]
    assert mounts(init)["/opt/confianza/init"] == ("./init", True)
    assert (COMPOSE / "init" / "provision.sh").read_text(encoding="utf-8") == render.render(ROOT)[
        render.INIT_OUT
    ]
    assert init["environment"]["CONFIANZA_KAFKA__USERNAME"] == "admin"
    assert init["environment"]["CONFIANZA_KAFKA__PASSWORD"] == FILLED["KAFKA_ADMIN_PASSWORD"]
    assert mounts(init)[render.CREDENTIALS_DIR] == ("service-credentials", False)
    assert mounts(init)[render.PARTNER_CREDENTIALS_DIR] == ("partner-credentials", False)
    assert set(init["depends_on"]) == set(BROKERS)
    assert init["restart"] == "no"


# --- Prometheus and Grafana ------------------------------------------------------------------


def _jobs(config: dict[str, Any]) -> dict[str, list[str]]:
    return {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in config["scrape_configs"]
    }


def test_prometheus_scrapes_every_worker_under_the_projects_job_names() -> None:
    compose_jobs = _jobs(yaml.safe_load((COMPOSE / "prometheus.yml").read_text(encoding="utf-8")))
    local_jobs = _jobs(yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text()))
    assert set(compose_jobs) == set(local_jobs)
    expected: dict[str, set[str]] = {}
    for name, service in CONFIANZA.items():
        kind = worker_kind(service)
        if kind:
            port = service["environment"]["CONFIANZA_METRICS__PORT"]
            expected.setdefault(f"confianza-{kind}", set()).add(f"{name}:{port}")
    assert {job: set(targets) for job, targets in compose_jobs.items()} == expected
    prometheus = SERVICES["prometheus"]
    assert mounts(prometheus)["/etc/prometheus/prometheus.yml"] == ("./prometheus.yml", True)
    assert mounts(prometheus)["/etc/prometheus/rules"] == ("../prometheus/rules", True)


def test_prometheus_accepts_the_config_and_the_projects_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make setup` (Debian package prometheus)")
    shutil.copy(COMPOSE / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copytree(DEPLOY / "prometheus" / "rules", tmp_path / "rules")
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rule_files = len(list((DEPLOY / "prometheus" / "rules").glob("*.yml")))
    assert f"SUCCESS: {rule_files} rule files found" in result.stdout


def test_grafana_gets_the_projects_provisioning_and_dashboards() -> None:
    grafana = SERVICES["grafana"]
    env = grafana["environment"]
    volumes = mounts(grafana)
    assert volumes[env["GF_PATHS_PROVISIONING"]] == ("../grafana/provisioning", True)
    assert volumes[env["CONFIANZA_DASHBOARDS_DIR"]] == ("../grafana/dashboards", True)
    referenced = set()
    for path in (DEPLOY / "grafana" / "provisioning").rglob("*.yaml"):
        referenced |= set(re.findall(r"\$\{([A-Z_]+)\}", path.read_text(encoding="utf-8")))
    assert referenced <= set(env)
    assert env["PROMETHEUS_URL"] == "http://prometheus:9090"
    assert "--web.enable-lifecycle" in SERVICES["prometheus"]["command"]
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
