"""Alert subscriptions: the YAML file saying who receives which alerts, how, cleared for what.

``load_subscriptions(path)`` is called once when a delivery worker or ``confianza replay``
starts. It checks the file against ``subscriptions.schema.json`` (beside this module) and a few
rules a schema cannot express (unique ids, http(s) webhook targets, an SMTP relay for email),
and raises ``SubscriptionError`` naming the file and line of every problem. What it returns is
immutable and holds no secret: secrets are read from the environment when a channel is built.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from confianza.schemas.taxonomy import RSIT, SECTORS, severity_rank

Channel = Literal["webhook", "email", "chat", "syslog", "file"]
Audience = Literal["banking", "telecom", "government", "justice", "public", "center"]
CHANNELS: tuple[Channel, ...] = ("webhook", "email", "chat", "syslog", "file")
MAX_FILE_BYTES = 1024 * 1024
MAX_ERRORS = 20
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SYSLOG_TARGET = re.compile(r"^(udp|tcp)://([A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$")


class SubscriptionError(ValueError):
    """The subscriptions file is unusable; the message lists each problem as ``file:line: …``."""


def parse_duration(value: float | int | str) -> float:
    """Seconds from a schema duration (a number of seconds, or ``500ms``, ``30s``, ``5m``, …)."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r} (use e.g. 500ms, 30s, 5m, 4h)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class Grouping:
    """Alertmanager-style timing for one subscriber, in seconds (see ``grouping.py``)."""

    group_wait: float = 5.0
    group_interval: float = 60.0
    repeat_interval: float = 4 * 3600.0


@dataclass(frozen=True)
class RateLimit:
    """At most ``max`` sends per ``per`` seconds to one subscriber."""

    max: float = 50.0
    per: float = 1.0


@dataclass(frozen=True)
class Smtp:
    """The SMTP relay of an email subscriber; the password is read from ``password_env``."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class Subscriber:
    """One subscription: an audience, a channel and target, filters, clearance and timing."""

    id: str
    audience: Audience
    channel: Channel
    target: str | tuple[str, ...]
    min_severity: str
    tlp_clearance: str
    sector: str | None = None
    organization: str | None = None
    analyst: bool = False
    enabled: bool = True
    rsit_classes: frozenset[str] | None = None
    grouping: Grouping = Grouping()
    rate_limit: RateLimit = RateLimit()
    timeout: float = 10.0
    webhook_secret_env: str | None = None
    smtp: Smtp | None = None
    line: int = 0

    def wants(self, severity: str, rsit_class: str | None) -> bool:
        """True when an alert of this severity and RSIT class matches the subscription filters."""
        if not self.enabled or severity_rank(severity) < severity_rank(self.min_severity):
            return False
        return self.rsit_classes is None or rsit_class in self.rsit_classes

    def secret(self, env_name: str | None, env: Mapping[str, str] | None = None) -> str | None:
        """The value of a secret's environment variable; raises if it is named but unset."""
        if env_name is None:
            return None
        value = (os.environ if env is None else env).get(env_name)
        if not value:
            raise SubscriptionError(
                f"subscriber {self.id}: environment variable {env_name} is not set "
                "(it must hold this subscriber's secret)"
            )
        return value


@dataclass(frozen=True)
class Subscriptions:
    """Every subscriber of a file, in file order."""

    subscribers: tuple[Subscriber, ...]
    source: str

    def for_channel(self, channel: str) -> tuple[Subscriber, ...]:
        return tuple(s for s in self.subscribers if s.channel == channel)

    def get(self, subscriber_id: str) -> Subscriber | None:
        return next((s for s in self.subscribers if s.id == subscriber_id), None)


def _schema_validator() -> jsonschema.Draft202012Validator:
    text = resources.files(__package__).joinpath("subscriptions.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _line_of(node: yaml.Node, path: Sequence[str | int]) -> int:
    """The 1-based line of the YAML node at ``path``, or of its nearest existing parent."""
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            child = node.value[step] if step < len(node.value) else None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _pointer(path: Sequence[str | int]) -> str:
    return "/" + "/".join(str(p) for p in path)


def _schema_message(error: ValidationError) -> ValidationError:
    """The most specific error under a oneOf/anyOf, so the message names the real problem."""
    if error.context:
        deepest = best_match(error.context)
        if deepest is not None:
            return deepest
    return error


def _parse(text: str, source: str) -> tuple[Any, yaml.Node]:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1
                raise SubscriptionError(f"{source}:{line}: YAML aliases are not allowed")
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise SubscriptionError(f"{source}:{line}: not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise SubscriptionError(f"{source}: not valid YAML: {exc}") from exc
    if node is None:
        raise SubscriptionError(f"{source}:1: the file is empty")
    return data, node


def _smtp(entry: Mapping[str, Any]) -> Smtp:
    return Smtp(
        host=entry["host"],
        sender=entry["sender"],
        port=int(entry.get("port", 25)),
        starttls=bool(entry.get("starttls", False)),
        username=entry.get("username"),
        password_env=entry.get("password_env"),
        timeout=parse_duration(entry.get("timeout", 10)),
    )


def _target_problem(channel: str, target: str | list[str]) -> str | None:
    """Why a target cannot be used by its channel, or None."""
    if channel in ("webhook", "chat"):
        assert isinstance(target, str)
        match = re.match(r"^(https?)://([^/?#@\s]+)(?:[/?#]|$)", target)
        if match is None:
            shown = re.sub(r"//[^/?#]*@", "//***@", target)  # never echo a password
            return (
                f"target {shown!r} is not an http(s) URL without credentials; only http:// and "
                "https:// are sent to, and a password belongs in a secret, not in the URL"
            )
    elif channel == "syslog":
        assert isinstance(target, str)
        match = _SYSLOG_TARGET.match(target)
        if match is None or not 0 < int(match.group(3)) < 65536:
            return f"target {target!r} is not udp://host:port or tcp://host:port"
    return None


def _vocabulary_problems(entry: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(field, problem) for a sector or RSIT class outside the contract's taxonomy."""
    found: list[tuple[str, str | None]] = []
    if "sector" in entry and entry["sector"] not in SECTORS:
        found.append(("sector", f"{entry['sector']!r} is not a sector ({', '.join(SECTORS)})"))
    unknown = [c for c in entry.get("rsit_classes", ()) if c not in RSIT]
    if unknown:
        found.append(("rsit_classes", f"{unknown} are not RSIT classes ({', '.join(RSIT)})"))
    return found


def _subscriber(entry: Mapping[str, Any], smtp: Smtp | None, line: int) -> Subscriber:
    grouping = entry.get("grouping") or {}
    rate = entry.get("rate_limit") or {}
    secrets = entry.get("secrets") or {}
    target = entry["target"]
    own_smtp = _smtp(entry["smtp"]) if "smtp" in entry else smtp
    if own_smtp is not None and secrets.get("smtp_password_env"):
        own_smtp = Smtp(**{**own_smtp.__dict__, "password_env": secrets["smtp_password_env"]})
    defaults = Grouping()
    return Subscriber(
        id=entry["id"],
        audience=entry["audience"],
        channel=entry["channel"],
        target=tuple(target) if isinstance(target, list) else target,
        min_severity=entry["min_severity"],
        tlp_clearance=entry["tlp_clearance"],
        sector=entry.get("sector"),
        organization=entry.get("organization"),
        analyst=bool(entry.get("analyst", False)),
        enabled=bool(entry.get("enabled", True)),
        rsit_classes=frozenset(entry["rsit_classes"]) if "rsit_classes" in entry else None,
        grouping=Grouping(
            group_wait=parse_duration(grouping.get("group_wait", defaults.group_wait)),
            group_interval=parse_duration(grouping.get("group_interval", defaults.group_interval)),
            repeat_interval=parse_duration(
                grouping.get("repeat_interval", defaults.repeat_interval)
            ),
        ),
        rate_limit=RateLimit(
            max=float(rate.get("max", RateLimit.max)), per=parse_duration(rate.get("per", 1))
        ),
        timeout=parse_duration(entry.get("timeout", 10)),
        webhook_secret_env=secrets.get("webhook_secret_env"),
        smtp=own_smtp if entry["channel"] == "email" else None,
        line=line,
    )


def parse_subscriptions(text: str, source: str = "<subscriptions>") -> Subscriptions:
    """Validate and build subscriptions from YAML text; ``source`` names it in error messages."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise SubscriptionError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
    data, root = _parse(text, source)
    problems: list[tuple[int, str]] = []
    for error in _schema_validator().iter_errors(data):
        specific = _schema_message(error)
        path = list(specific.absolute_path)
        problems.append((_line_of(root, path), f"{_pointer(path)}: {specific.message}"))
    if problems:
        _raise(source, problems)
    smtp = _smtp(data["smtp"]) if "smtp" in data else None
    subscribers: list[Subscriber] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["subscribers"]):
        path: list[str | int] = ["subscribers", index]
        line = _line_of(root, path)
        if entry["id"] in seen:
            problems.append(
                (
                    _line_of(root, [*path, "id"]),
                    f"{_pointer([*path, 'id'])}: duplicate subscriber id {entry['id']!r} "
                    f"(first on line {seen[entry['id']]})",
                )
            )
            continue
        seen[entry["id"]] = line
        found = [
            (name, problem)
            for name, problem in (
                ("target", _target_problem(entry["channel"], entry["target"])),
                *_vocabulary_problems(entry),
            )
            if problem is not None
        ]
        for name, problem in found:
            problems.append(
                (_line_of(root, [*path, name]), f"{_pointer([*path, name])}: {problem}")
            )
        if found:
            continue
        if entry["channel"] == "email" and smtp is None and "smtp" not in entry:
            problems.append(
                (
                    line,
                    f"{_pointer(path)}: an email subscriber needs an smtp relay "
                    "(top-level `smtp:` or its own `smtp:`)",
                )
            )
            continue
        subscribers.append(_subscriber(entry, smtp, line))
    if problems:
        _raise(source, problems)
    return Subscriptions(subscribers=tuple(subscribers), source=source)


def _raise(source: str, problems: list[tuple[int, str]]) -> None:
    problems.sort()
    shown = [f"{source}:{line}: {message}" for line, message in problems[:MAX_ERRORS]]
    if len(problems) > MAX_ERRORS:
        shown.append(f"… and {len(problems) - MAX_ERRORS} more")
    raise SubscriptionError("invalid subscriptions file:\n" + "\n".join(shown))


def load_subscriptions(path: Path) -> Subscriptions:
    """Read and validate a subscriptions file; raises ``SubscriptionError`` with file:line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubscriptionError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise SubscriptionError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubscriptionError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    return parse_subscriptions(text, str(path))
