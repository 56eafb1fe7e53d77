"""Shared helpers of the deployment tests: the checkout root, YAML documents, vendored schemas.

Everything here is offline: no Docker engine, no cluster. Manifests are checked against the
Kubernetes schemas bundled with kubernetes-validate and the CRD schemas vendored in schemas/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def load_docs(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The vendored schema of a custom resource kind, or None if none is vendored."""
    group, _, version = api_version.rpartition("/")
    for path in SCHEMAS.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if (data.get("group"), data.get("kind"), data.get("version")) == (group, kind, version):
            return data["schema"]
    return None


def kustomize_command() -> list[str] | None:
    """``kustomize build`` or ``kubectl kustomize``, whichever is installed."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def parse_cli(args: list[str]) -> list[str]:
    """Parse ``confianza <args>`` with the real Typer app, without running it.

    Returns the command path (e.g. ``["worker", "deliver"]``); raises the CLI's own usage
    errors for an unknown command, a missing argument or a bad option value.
    """
    import typer

    from confianza.cli.main import app

    command = typer.main.get_command(app)
    ctx = command.make_context("confianza", list(args))
    path: list[str] = []
    while hasattr(command, "resolve_command"):
        pending = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, command, rest = command.resolve_command(ctx, pending)
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return path
