"""The vocabulary of the contract, read once from ``taxonomy.yaml`` beside this module.

Every term set is an ordered read-only mapping ``name -> description``: ``"phishing" in
RSIT["fraud"].types`` and ``list(SECTORS)`` work as expected. The JSON Schemas are generated
from the same file, so these names and the schema enums never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml


@dataclass(frozen=True)
class RsitClass:
    """One RSIT class with its types (``type name -> description``)."""

    name: str
    description: str
    types: Mapping[str, str]


def _terms(data: dict[str, Any]) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in data.items()})


def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


_DATA = _load()

RSIT: Mapping[str, RsitClass] = MappingProxyType(
    {
        name: RsitClass(name, str(entry["description"]), _terms(entry["types"]))
        for name, entry in _DATA["rsit"].items()
    }
)
SECTORS: Mapping[str, str] = _terms(_DATA["sectors"])
SEVERITIES: Mapping[str, str] = _terms(_DATA["severities"])  # ordered low -> critical
INDICATOR_KINDS: Mapping[str, str] = _terms(_DATA["indicator_kinds"])
INDICATOR_ROLES: Mapping[str, str] = _terms(_DATA["indicator_roles"])
ASSET_TYPES: Mapping[str, str] = _terms(_DATA["asset_types"])

_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def is_rsit_pair(rsit_class: str, rsit_type: str) -> bool:
    """True when ``rsit_type`` is a type of ``rsit_class`` in the RSIT."""
    entry = RSIT.get(rsit_class)
    return entry is not None and rsit_type in entry.types


def severity_rank(severity: str) -> int:
    """0 for ``low`` up to 3 for ``critical``; KeyError for anything else."""
    return _SEVERITY_RANK[severity]
