"""The vocabulary: RSIT taxonomy, TLP 2.0 order, sectors, severities, kinds."""

from __future__ import annotations

import pytest

from confianza.schemas.taxonomy import (
    ASSET_TYPES,
    INDICATOR_KINDS,
    INDICATOR_ROLES,
    RSIT,
    SECTORS,
    SEVERITIES,
    is_rsit_pair,
    severity_rank,
)
from confianza.schemas.tlp import Tlp, most_restrictive, parse_tlp, rank_of


def test_rsit_has_every_class_and_type_with_descriptions() -> None:
    assert list(RSIT) == [
        "abusive-content",
        "malicious-code",
        "information-gathering",
        "intrusion-attempts",
        "intrusions",
        "availability",
        "information-content-security",
        "fraud",
        "vulnerable",
        "other",
        "test",
    ]
    assert sum(len(c.types) for c in RSIT.values()) == 39
    assert all(c.description and all(c.types.values()) for c in RSIT.values())
    assert is_rsit_pair("fraud", "phishing")
    assert not is_rsit_pair("fraud", "ddos")
    assert not is_rsit_pair("phishing", "fraud")


def test_vocabularies() -> None:
    assert list(SECTORS) == ["banking", "telecom", "government", "justice", "other"]
    assert list(SEVERITIES) == ["low", "medium", "high", "critical"]
    assert severity_rank("low") < severity_rank("high") < severity_rank("critical")
    assert len(INDICATOR_KINDS) == 12
    assert "unspecified" in INDICATOR_ROLES
    assert "other" in ASSET_TYPES
    with pytest.raises(TypeError):
        SECTORS["x"] = "y"  # type: ignore[index]


def test_tlp_order_and_parsing() -> None:
    assert [t.value for t in Tlp] == ["clear", "green", "amber", "amber+strict", "red"]
    assert [t.rank for t in Tlp] == [0, 1, 2, 3, 4]
    assert Tlp.AMBER == "amber"
    assert Tlp.GREEN.allows(Tlp.AMBER)
    assert not Tlp.RED.allows(Tlp.AMBER_STRICT)
    assert most_restrictive(Tlp.GREEN, Tlp.AMBER_STRICT, Tlp.CLEAR) is Tlp.AMBER_STRICT
    assert most_restrictive() is Tlp.CLEAR
    assert parse_tlp("TLP:AMBER+STRICT") is Tlp.AMBER_STRICT
    assert parse_tlp(" tlp:clear ") is Tlp.CLEAR
    assert parse_tlp("TLP:WHITE") is Tlp.CLEAR
    with pytest.raises(ValueError, match="unknown TLP"):
        parse_tlp("orange")


def test_rank_of_reads_wire_labels_only() -> None:
    assert [rank_of(t.value) for t in Tlp] == [0, 1, 2, 3, 4]
    assert rank_of(Tlp.RED) == 4
    for label in ("AMBER", "tlp:amber", "white", "", "orange"):
        assert rank_of(label) is None
