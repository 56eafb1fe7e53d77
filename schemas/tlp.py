"""Traffic Light Protocol 2.0 levels, ordered from least to most restrictive.

``Tlp`` is a str enum, so a level compares equal to its wire value (``Tlp.AMBER == "amber"``)
and serialises as plain text with orjson. Order questions go through ``rank``, never through
string comparison.
"""

from __future__ import annotations

from enum import StrEnum


class Tlp(StrEnum):
    """A TLP 2.0 level; ``rank`` grows with restriction (clear 0 ... red 4)."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, clearance: Tlp) -> bool:
        """True when information marked ``self`` may go to someone cleared up to ``clearance``."""
        return _RANK[self] <= _RANK[clearance]


# Keyed by the levels, which are str: a wire label looks its level's rank up directly.
_RANK: dict[str, int] = {level: rank for rank, level in enumerate(Tlp)}

# TLP 1.0 used WHITE where 2.0 says CLEAR; imports from older tools still carry it.
_ALIASES = {"white": Tlp.CLEAR}


def rank_of(label: str) -> int | None:
    """The rank of a level in its wire form (``"amber"`` → 2), or None when ``label`` is not
    exactly a TLP 2.0 level. For labels already on the wire (evidence, clearances); what
    partners write goes through ``parse_tlp``."""
    return _RANK.get(label)


def parse_tlp(text: str) -> Tlp:
    """Read a TLP label as partners and tools write it: ``amber``, ``TLP:AMBER+STRICT``,
    ``tlp:clear``, ``TLP:WHITE`` (1.0, read as clear). Raises ValueError for anything else."""
    label = text.strip().lower().removeprefix("tlp:").strip()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        return Tlp(label)
    except ValueError:
        raise ValueError(f"unknown TLP level {text!r}") from None


def most_restrictive(*levels: Tlp) -> Tlp:
    """The most restrictive of the given levels (clear when none is given)."""
    return max(levels, key=_RANK.__getitem__, default=Tlp.CLEAR)
