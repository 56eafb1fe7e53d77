"""The Kubernetes manifests (deploy/k8s/): they render, validate, and agree with the code.

Both the base and the production overlay are rendered with kustomize (``kubectl kustomize``
when no standalone ``kustomize`` is installed). Core kinds are validated with the schemas that
kubernetes-validate bundles (strict: unknown fields fail); Strimzi, KEDA and Prometheus
Operator kinds with the CRD schemas vendored in schemas/ (made strict the same way). Then the
invariants: probes on the workers' health endpoints, the partition ceiling of the autoscaler,
credentials of the right principal, job names of the rules and dashboards.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from confianza.consumers.subscriptions import load_subscriptions
from confianza.dev import kafka as harness
from confianza.observability.server import WORKER_PORTS
from confianza.provision import render
from confianza.provision.acls import (
    STREAMS_APP_ID,
    AclSpec,
    service_acls,
    service_principal,
)
from confianza.provision.roster import load_roster
from confianza.schemas.topics import INCIDENTS, load_topic_file
from tests.deploy.conftest import DEPLOY, K8S, ROOT, crd_schema, kustomize_command, parse_cli
from tests.deploy.helpers import (
    cli_env_names,
    policy_env_names,
    secret_env_names,
    settings_env_names,
    settings_from,
)

KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.latest_version())
CRD_GROUPS = {"kafka.strimzi.io", "keda.sh", "monitoring.coreos.com"}
IMAGE_ENV = {"CONFIANZA_METRICS__HOST": "0.0.0.0", "CONFIANZA_DATA_DIR": "/var/lib/confianza"}
KIND_OF_ARGS = {
    ("worker", "streams"): "streams",
    ("worker", "deliver"): "deliver",
    ("ops", "lag"): "lag",
}
PRINCIPAL_OF_KIND = {"streams": "streams", "deliver": "deliver", "lag": "ops"}
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def build(overlay: str) -> list[dict[str, Any]]:
    command = kustomize_command()
    if command is None:
        pytest.fail("neither kustomize nor kubectl is installed: the manifests cannot be rendered")
    result = subprocess.run(
        [*command, str(K8S / overlay)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


BUILDS = {overlay: build(overlay) for overlay in ("base", "overlays/production")}


@pytest.fixture(params=sorted(BUILDS))
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return BUILDS[request.param]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return of_kind(docs, kind)[name]


# --- schema validation -----------------------------------------------------------------------


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever the CRD lists its fields."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def validate(doc: dict[str, Any]) -> None:
    group = doc["apiVersion"].rpartition("/")[0]
    if group in CRD_GROUPS:
        schema = crd_schema(doc["apiVersion"], doc["kind"])
        assert schema is not None, f"no vendored schema for {doc['apiVersion']} {doc['kind']}"
        jsonschema.Draft7Validator(strict(schema)).validate(doc)
        assert DNS_SUBDOMAIN.match(doc["metadata"]["name"]), doc["metadata"]["name"]
        return
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


def test_every_resource_validates_against_its_schema(docs: list[dict[str, Any]]) -> None:
    problems = []
    for doc in docs:
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
            path = "/".join(str(p) for p in getattr(exc, "path", []))
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
    assert problems == []


def test_validation_refuses_unknown_fields_and_bad_values() -> None:
    docs = BUILDS["base"]
    deployment = copy.deepcopy(one(docs, "Deployment", "confianza-lag"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    user = copy.deepcopy(one(docs, "KafkaUser", "svc-ops"))
    user["spec"]["authorization"]["acls"][0]["resource"]["patternType"] = "prefixed"
    with pytest.raises(jsonschema.ValidationError):
        validate(user)
    scaled = copy.deepcopy(one(docs, "ScaledObject", "confianza-streams"))
    scaled["spec"]["maxReplicas"] = 6
    with pytest.raises(jsonschema.ValidationError):
        validate(scaled)


def test_every_namespaced_resource_lands_in_the_confianza_namespace(
    docs: list[dict[str, Any]],
) -> None:
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "confianza", doc["metadata"]["name"]


# --- Kafka -----------------------------------------------------------------------------------


def test_kafka_runs_kraft_with_the_harness_version_and_scram(docs: list[dict[str, Any]]) -> None:
    kafka = one(docs, "Kafka", render.CLUSTER)
    assert kafka["metadata"]["annotations"] == {
        "strimzi.io/node-pools": "enabled",
        "strimzi.io/kraft": "enabled",
    }
    spec = kafka["spec"]["kafka"]
    assert spec["version"] == harness.KAFKA_VERSION
    assert spec["authorization"]["type"] == "simple"
    assert {listener["authentication"]["type"] for listener in spec["listeners"]} == {
        "scram-sha-512"
    }
    assert spec["config"]["auto.create.topics.enable"] is False
    (pool,) = of_kind(docs, "KafkaNodePool").values()
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == render.CLUSTER
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert pool["spec"]["replicas"] >= render.REPLICAS
    for quantity in ("requests", "limits"):
        for value in pool["spec"]["resources"][quantity].values():
            assert QUANTITY.match(str(value)), value


def test_topics_and_users_are_the_generated_ones(docs: list[dict[str, Any]]) -> None:
    for path, kind in ((render.TOPICS_OUT, "KafkaTopic"), (render.USERS_OUT, "KafkaUser")):
        generated = {
            d["metadata"]["name"]: d["spec"]
            for d in yaml.safe_load_all((ROOT / path).read_text())
            if d
        }
        assert {n: d["spec"] for n, d in of_kind(docs, kind).items()} == generated


def _client_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The container's environment: the image's, its ConfigMaps' and its own, in that order."""
    env = dict(IMAGE_ENV)
    config_maps = of_kind(docs, "ConfigMap")
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= config_maps[source["configMapRef"]["name"]]["data"]
    env |= {item["name"]: item["value"] for item in container.get("env", [])}
    return env


def test_clients_reach_the_tls_listener_and_trust_the_cluster_ca(
    docs: list[dict[str, Any]],
) -> None:
    (config,) = [
        c["data"] for n, c in of_kind(docs, "ConfigMap").items() if n.startswith("confianza-kafka-")
    ]
    listener = one(docs, "Kafka", render.CLUSTER)["spec"]["kafka"]["listeners"][0]
    assert config["CONFIANZA_KAFKA__BOOTSTRAP_SERVERS"] == (
        f"{render.CLUSTER}-kafka-bootstrap:{listener['port']}"
    )
    assert listener["tls"] is True
    assert config["CONFIANZA_KAFKA__SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["CONFIANZA_KAFKA__REPLICATION_FACTOR"] == str(render.REPLICAS)


# --- workers ---------------------------------------------------------------------------------


def workloads(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod template metadata+spec, container) of every Deployment and CronJob."""
    result = []
    for name, deployment in of_kind(docs, "Deployment").items():
        template = deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        result.append((name, template, container))
    for name, cronjob in of_kind(docs, "CronJob").items():
        template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
        (container,) = template["spec"]["containers"]
        result.append((name, template, container))
    return result


def _kind(container: dict[str, Any]) -> str | None:
    return KIND_OF_ARGS.get(tuple(parse_cli(container["args"])))


def _mount(template: dict[str, Any], container: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The volume (with its mount) holding ``path`` in this container, if any."""
    best = None
    for mount in container.get("volumeMounts", []):
        target = mount["mountPath"].rstrip("/")
        holds = path == target or path.startswith(target + "/")
        if holds and (best is None or len(target) > len(best["mountPath"])):
            best = mount
    if best is None:
        return None
    volume = next(v for v in template["spec"]["volumes"] if v["name"] == best["name"])
    return {**volume, "mount": best}


def test_every_workload_runs_a_real_command_with_settings_the_code_reads(
    docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, template, container in workloads(docs):
        path = parse_cli(container["args"])
        env = _client_env(docs, container)
        allowed = settings_env_names() | cli_env_names(path)
        if _kind(container) == "deliver":
            allowed |= policy_env_names()
        assert set(env) - allowed == set(), name
        settings = settings_from(env, monkeypatch, tmp_path)
        assert settings.kafka.security_protocol == "SASL_SSL"
        for file in (settings.kafka.ssl_cafile, env["CONFIANZA_KAFKA__PASSWORD_FILE"]):
            assert _mount(template, container, str(file)) is not None, f"{name}: {file}"
        user = env["CONFIANZA_KAFKA__USERNAME"]
        assert user in of_kind(docs, "KafkaUser"), f"{name} runs as {user}: no KafkaUser"
        secret = _mount(template, container, env["CONFIANZA_KAFKA__PASSWORD_FILE"])
        assert secret["secret"]["secretName"] == user
        assert _mount(template, container, str(settings.kafka.ssl_cafile))["secret"] == {
            "secretName": f"{render.CLUSTER}-cluster-ca-cert",
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
        }
        kind = _kind(container)
        if kind is not None:
            assert user == service_principal(PRINCIPAL_OF_KIND[kind])
            assert settings.metrics.port == WORKER_PORTS[kind]
            assert settings.metrics.host == "0.0.0.0"


def test_workers_have_resources_probes_and_a_read_only_root(docs: list[dict[str, Any]]) -> None:
    for name, template, container in workloads(docs):
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, name
            assert all(QUANTITY.match(str(v)) for v in resources[bound].values()), name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True
        assert _mount(template, container, "/tmp") is not None
        kind = _kind(container)
        if kind is None:
            continue
        (port,) = container["ports"]
        assert port == {"name": "metrics", "containerPort": WORKER_PORTS[kind]}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


def test_streams_state_is_a_writable_volume_under_the_data_dir(docs: list[dict[str, Any]]) -> None:
    template = one(docs, "Deployment", "confianza-streams")["spec"]["template"]
    (container,) = template["spec"]["containers"]
    state = _mount(template, container, f"{IMAGE_ENV['CONFIANZA_DATA_DIR']}/streams")
    assert state is not None
    assert "emptyDir" in state
    assert not state["mount"].get("readOnly", False)
    env = _client_env(docs, container)
    assert env.get("CONFIANZA_STREAMS_STORE") == "rocksdb://"


def test_every_deployment_has_a_disruption_budget(docs: list[dict[str, Any]]) -> None:
    budgets = of_kind(docs, "PodDisruptionBudget").values()
    for name, deployment in of_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, name
        assert matching[0]["spec"]["maxUnavailable"] == 1


def test_a_delivery_worker_per_subscribed_channel(docs: list[dict[str, Any]]) -> None:
    data = next(
        c["data"]
        for n, c in of_kind(docs, "ConfigMap").items()
        if n.startswith("confianza-subscriptions-")
    )
    assert data["subscriptions.yaml"] == (ROOT / render.SUBSCRIPTIONS_COPY).read_text()
    subscriptions = load_subscriptions(ROOT / render.SUBSCRIPTIONS_COPY)
    channels = {}
    for name, template, container in workloads(docs):
        if _kind(container) == "deliver":
            channels[container["args"][-1]] = (template, container)
            env = _client_env(docs, container)
            path = env["CONFIANZA_SUBSCRIPTIONS_FILE"]
            volume = _mount(template, container, path)
            assert volume["configMap"]["name"].startswith("confianza-subscriptions-"), name
            assert path.endswith("/subscriptions.yaml")
            if secret_env_names(subscriptions, container["args"][-1]):
                assert {"secretRef": {"name": "confianza-delivery-secrets"}} in container["envFrom"]
    assert set(channels) == {s.channel for s in subscriptions.subscribers}
    template, container = channels["file"]
    for subscriber in subscriptions.for_channel("file"):
        volume = _mount(template, container, str(Path(subscriber.target).parent))
        assert "persistentVolumeClaim" in volume
    file_worker = one(docs, "Deployment", "confianza-deliver-file")["spec"]
    assert file_worker["replicas"] == 1
    assert file_worker["strategy"] == {"type": "Recreate"}


def test_the_registry_sync_uses_the_roster(docs: list[dict[str, Any]]) -> None:
    cronjob = one(docs, "CronJob", "confianza-registry-sync")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert parse_cli(container["args"]) == ["partners", "sync"]
    assert "--prune" in container["args"]
    volume = _mount(template, container, container["args"][2])
    config_map = of_kind(docs, "ConfigMap")[volume["configMap"]["name"]]
    roster = Path(container["args"][2]).name
    copy_path = ROOT / render.ROSTER_COPY
    assert config_map["data"][roster] == copy_path.read_text()
    assert load_roster(copy_path) == load_roster(DEPLOY / "partners.yaml")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


# --- autoscaling and monitoring --------------------------------------------------------------


def test_streams_autoscale_on_lag_up_to_the_partition_count(docs: list[dict[str, Any]]) -> None:
    topics = {t.name: t for t in load_topic_file().shared}
    scaled = one(docs, "ScaledObject", "confianza-streams")["spec"]
    deployment = one(docs, "Deployment", "confianza-streams")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    partitions = int(container["args"][container["args"].index("--partitions") + 1])
    assert scaled["maxReplicaCount"] == partitions == topics[INCIDENTS].partitions
    assert 2 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    assert scaled["scaleTargetRef"] == {"name": "confianza-streams"}
    assert "replicas" not in deployment["spec"], "the ScaledObject owns the replica count"
    groups = set()
    bootstrap = _client_env(docs, container)["CONFIANZA_KAFKA__BOOTSTRAP_SERVERS"]
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["bootstrapServers"] == bootstrap
        assert trigger["metadata"]["allowIdleConsumers"] == "false"
        groups.add(trigger["metadata"]["consumerGroup"])
    assert groups == {STREAMS_APP_ID, f"{STREAMS_APP_ID}-ingest"}


def test_keda_reads_lag_as_the_ops_principal(docs: list[dict[str, Any]]) -> None:
    scaled = one(docs, "ScaledObject", "confianza-streams")["spec"]
    (auth_name,) = {t["authenticationRef"]["name"] for t in scaled["triggers"]}
    refs = {
        r["parameter"]: r
        for r in one(docs, "TriggerAuthentication", auth_name)["spec"]["secretTargetRef"]
    }
    literals = one(docs, "Secret", "confianza-keda-kafka")
    import base64

    def value(parameter: str) -> str:
        ref = refs[parameter]
        assert ref["name"] == "confianza-keda-kafka"
        return base64.b64decode(literals["data"][ref["key"]]).decode()

    ops = service_principal("ops")
    assert value("username") == ops
    assert value("sasl") == "scram_sha512"
    assert value("tls") == "enable"
    assert refs["password"]["name"] == ops
    assert refs["ca"]["name"] == f"{render.CLUSTER}-cluster-ca-cert"
    granted = set(service_acls("ops"))
    assert AclSpec(ops, "group", "*", "literal", "Describe") in granted
    assert AclSpec(ops, "topic", "*", "literal", "Describe") in granted


def test_servicemonitor_scrapes_every_worker_under_the_rules_job_names(
    docs: list[dict[str, Any]],
) -> None:
    local = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in local["scrape_configs"]}
    services = of_kind(docs, "Service")
    assert set(services) == jobs, "the job label is the Service name"
    (monitor,) = of_kind(docs, "ServiceMonitor").values()
    (expression,) = monitor["spec"]["selector"]["matchExpressions"]
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    pods = {
        n: d["spec"]["template"]["metadata"]["labels"]
        for n, d in of_kind(docs, "Deployment").items()
    }
    for name, service in services.items():
        labels = service["metadata"]["labels"]
        assert labels[expression["key"]] in expression["values"], name
        (port,) = service["spec"]["ports"]
        assert port["name"] == port["targetPort"] == "metrics"
        kind = name.removeprefix("confianza-")
        assert port["port"] == WORKER_PORTS[kind]
        selected = [
            p for p, lab in pods.items() if service["spec"]["selector"].items() <= lab.items()
        ]
        assert selected, f"{name} selects no pods"
        assert all(p.startswith(name) for p in selected), name


def test_the_prometheus_rule_is_the_generated_one(docs: list[dict[str, Any]]) -> None:
    (rule,) = of_kind(docs, "PrometheusRule").values()
    generated = yaml.safe_load((ROOT / render.RULES_OUT).read_text(encoding="utf-8"))
    assert rule["spec"] == generated["spec"]
    assert rule["metadata"]["labels"]["app.kubernetes.io/part-of"] == "confianza"


# --- the production overlay ------------------------------------------------------------------


def test_production_changes_what_it_should_and_nothing_else() -> None:
    base, production = BUILDS["base"], BUILDS["overlays/production"]
    assert [(d["kind"], d["metadata"]["name"]) for d in base] == [
        (d["kind"], d["metadata"]["name"]) for d in production
    ]
    images = {c["image"] for _, _, c in workloads(production)}
    assert len(images) == 1
    (image,) = images
    assert "/" in image, "production pulls from the center's registry"
    assert image.endswith(":0.1.0")
    pool = next(iter(of_kind(production, "KafkaNodePool").values()))["spec"]
    assert pool["storage"]["volumes"][0]["size"] == "500Gi"
    kafka = one(production, "Kafka", render.CLUSTER)["spec"]["kafka"]
    assert kafka["rack"] == {"topologyKey": "topology.kubernetes.io/zone"}
    external = kafka["listeners"][-1]
    assert (external["name"], external["tls"]) == ("external", True), "partners come from outside"
    assert one(production, "ScaledObject", "confianza-streams")["spec"]["minReplicaCount"] == 3


def test_the_streams_app_honours_sasl_ssl() -> None:
    from faust.types.auth import AuthProtocol

    from confianza.settings import KafkaSettings
    from confianza.streams.app import create_app
    from confianza.streams.score import load_scoring

    settings = KafkaSettings(security_protocol="SASL_SSL", username="svc-streams", password="x")
    app = create_app(settings, load_scoring(None))
    assert app.conf.broker_credentials.protocol == AuthProtocol.SASL_SSL
