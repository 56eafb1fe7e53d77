"""The partner roster: a declarative file of the partners a deployment serves.

``load_roster(path)`` reads and checks the file (``deploy/partners.yaml`` is the realistic
roster of banks, telecom operators and agencies); the deployment generator
(``confianza.provision.render``) and the demo build on it. ``sync_registry`` brings the partner
registry (``partners.v1``) in line with a roster where credentials and ACLs are managed
elsewhere (Strimzi ``KafkaUser`` resources): ``confianza partners sync``.

File shape::

    version: 1
    partners:
      - {id: bcp, sector: banking, name: Banco de Crédito del Perú}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from confianza.provision import registry
from confianza.provision.errors import ProvisioningError
from confianza.provision.partners import PARTNER_SECTORS
from confianza.schemas.topics import PARTNER_ID
from confianza.settings import KafkaSettings

MAX_ROSTER_BYTES = 1024 * 1024
MAX_NAME_CHARS = 200
_KEYS = {"id", "sector", "name"}


class RosterError(ProvisioningError):
    """The roster file is unusable; the message names the file and line of each problem."""


@dataclass(frozen=True)
class PartnerEntry:
    """One partner of the roster."""

    id: str
    sector: str
    name: str


def _item_lines(text: str) -> list[int]:
    """1-based line of each item under ``partners:`` (for error messages)."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "partners" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _check_entry(item: Any, where: str) -> tuple[PartnerEntry | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"{where}: expected a mapping with id, sector and name"]
    problems = []
    unknown = sorted(set(map(str, item)) - _KEYS)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: id, sector, name)")
    missing = sorted(_KEYS - set(item))
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    pid, sector, name = item.get("id"), item.get("sector"), item.get("name")
    if "id" in item and not (isinstance(pid, str) and PARTNER_ID.match(pid)):
        problems.append(
            f"{where}: invalid partner id {pid!r}: 2-40 lower-case letters, digits or '-', "
            "starting with a letter"
        )
    if "sector" in item and sector not in PARTNER_SECTORS:
        problems.append(
            f"{where}: unknown sector {sector!r}: choose one of {', '.join(PARTNER_SECTORS)}"
        )
    if "name" in item and not (isinstance(name, str) and 0 < len(name.strip()) <= MAX_NAME_CHARS):
        problems.append(f"{where}: name must be a non-empty string of at most {MAX_NAME_CHARS}")
    if problems:
        return None, problems
    return PartnerEntry(pid, sector, name.strip()), []


def load_roster(path: Path) -> list[PartnerEntry]:
    """Read and check a roster file; raises ``RosterError`` listing every problem.

    Returns the partners in file order; ids are unique.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"cannot read roster {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_ROSTER_BYTES:
        raise RosterError(f"{path}: larger than {MAX_ROSTER_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
        data = yaml.safe_load(text)
        lines = _item_lines(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RosterError(f"{path}: not a readable YAML file: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != 1:
        raise RosterError(f"{path}: expected a mapping with `version: 1` and `partners:`")
    unknown = sorted(set(map(str, data)) - {"version", "partners"})
    if unknown:
        raise RosterError(f"{path}: unknown top-level key(s) {', '.join(unknown)}")
    items = data.get("partners")
    if not isinstance(items, list) or not items:
        raise RosterError(f"{path}: `partners:` must be a non-empty list")
    entries: list[PartnerEntry] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(items):
        where = f"{path}:{lines[index] if index < len(lines) else '?'}"
        entry, errors = _check_entry(item, where)
        problems.extend(errors)
        if entry is None:
            continue
        if entry.id in seen:
            first = seen[entry.id]
            problems.append(f"{where}: partner {entry.id} is listed twice (first at {first})")
            continue
        seen[entry.id] = where
        entries.append(entry)
    if problems:
        raise RosterError("\n".join(problems))
    return entries


@dataclass
class SyncReport:
    """What one registry sync changed, partner by partner."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_roster: list[str] = field(default_factory=list)


def sync_registry(
    settings: KafkaSettings, entries: Iterable[PartnerEntry], prune: bool = False
) -> SyncReport:
    """Publish a registry record for every roster partner that is missing, removed or differs.

    Active partners absent from the roster are reported in ``not_in_roster``; with ``prune``
    they are marked removed instead. Needs WRITE on ``partners.v1`` (``svc-ops`` or admin).
    Touches neither credentials nor ACLs nor topics.
    """
    report = SyncReport()
    known = registry.read_all(settings)
    wanted = {entry.id: entry for entry in entries}
    for pid, entry in wanted.items():
        current = known.get(pid)
        if (
            current is not None
            and current.status == "active"
            and (current.sector, current.name) == (entry.sector, entry.name)
        ):
            report.unchanged.append(pid)
            continue
        registry.publish(
            settings,
            registry.PartnerRecord(pid, entry.sector, entry.name, "active", registry.now_rfc3339()),
        )
        (report.added if current is None else report.updated).append(pid)
    for pid, record in sorted(known.items()):
        if pid in wanted or record.status != "active":
            continue
        if not prune:
            report.not_in_roster.append(pid)
            continue
        registry.publish(
            settings,
            registry.PartnerRecord(
                pid, record.sector, record.name, "removed", registry.now_rfc3339()
            ),
        )
        report.removed.append(pid)
    return report
