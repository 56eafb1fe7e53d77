"""The runbook (deploy/README.md) stays true to the code: its commands parse with the real CLI,
the files it names exist, and it covers every operation the deployment needs."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.deploy.conftest import DEPLOY, ROOT, parse_cli

RUNBOOK = (DEPLOY / "README.md").read_text(encoding="utf-8")


def code_lines() -> list[str]:
    """Logical lines of the shell code blocks (continuations joined)."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", RUNBOOK, flags=re.DOTALL):
        pending = ""
        for raw in block.splitlines():
            line = raw.split("  #", 1)[0].rstrip()
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            lines.append((pending + line).strip())
            pending = ""
    return [line for line in lines if line and not line.startswith("#")]


def confianza_calls() -> list[list[str]]:
    """Arguments of every `confianza` invocation in the code blocks, however it is reached."""
    calls = []
    for line in code_lines():
        words = shlex.split(line)
        if words[0] in {"confianza", "admin"}:
            calls.append(words[1:])
        elif "--" in words and words[words.index("--") + 1] == "confianza":
            calls.append(words[words.index("--") + 2 :])
        elif words[:2] == ["dc", "run"] and "--entrypoint" not in words:
            rest = words[2:]
            while rest[0].startswith("--"):
                rest = rest[1:]
            calls.append(rest[1:])  # after the service name, the image's entry point runs it
    return calls


def test_runbook_commands_are_valid_cli_invocations() -> None:
    calls = confianza_calls()
    assert len(calls) >= 4
    for call in calls:
        parse_cli(call)
    replays = [call for call in calls if call[:2] == ["replay", "--from-dlq"]]
    assert len(replays) == 2, "the DLQ replay is shown for compose and for Kubernetes"


def test_files_the_runbook_names_exist() -> None:
    named = re.findall(
        r"`((?:deploy|schemas|streams|consumers|confianza|tests)/[^`\s<>…*]+)`", RUNBOOK
    )
    assert named
    missing = [
        path for path in named if not (ROOT / path.rstrip("/.,")).exists() and "::" not in path
    ]
    assert missing == []


@pytest.mark.parametrize(
    "heading",
    [
        "Onboarding a partner",
        "Removing a partner",
        "Rotating credentials",
        "Scaling out and the partition ceiling",
        "Replaying the delivery DLQ",
        "Reading the dashboards",
        "Schema evolution: v1 → v2",
        "Backup of state and recovery",
    ],
)
def test_runbook_covers(heading: str) -> None:
    assert f"\n## {heading}\n" in RUNBOOK
