"""The partner roster: the shipped file, every way a roster can be wrong, and registry sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from confianza.provision import registry, roster
from confianza.provision.partners import PARTNER_SECTORS
from confianza.provision.roster import PartnerEntry, RosterError, load_roster, sync_registry
from confianza.settings import KafkaSettings
from tests.deploy.conftest import DEPLOY

BANKS = {"bcp", "interbank", "bbva", "scotiabank", "banbif"}
TELECOMS = {"claro", "movistar", "entel", "bitel"}
AGENCIES = {"pnp-divindat", "fiscalia-ciberdelincuencia", "indecopi", "osiptel", "pcm-cnsd"}


def test_the_shipped_roster_is_the_realistic_one() -> None:
    entries = load_roster(DEPLOY / "partners.yaml")
    by_sector: dict[str, set[str]] = {}
    for entry in entries:
        by_sector.setdefault(entry.sector, set()).add(entry.id)
    assert by_sector["banking"] == BANKS
    assert by_sector["telecom"] == TELECOMS
    assert by_sector["justice"] | by_sector["government"] == AGENCIES
    assert all(entry.sector in PARTNER_SECTORS and entry.name for entry in entries)
    assert next(e for e in entries if e.id == "bcp").name == "Banco de Crédito del Perú"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "partners.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  - {id: BCP, sector: banking, name: B}\n", "partners.yaml:3: invalid partner id 'BCP'"),
        ("  - {id: ingest.x, sector: banking, name: B}\n", "invalid partner id 'ingest.x'"),
        ("  - {id: bcp, sector: banks, name: B}\n", "partners.yaml:3: unknown sector 'banks'"),
        ("  - {id: bcp, sector: banking}\n", "partners.yaml:3: missing name"),
        ("  - {id: bcp, sector: banking, name: '  '}\n", "name must be a non-empty string"),
        ("  - {id: bcp, sector: banking, name: B, tlp: red}\n", "unknown key(s) tlp"),
        ("  - bcp\n", "partners.yaml:3: expected a mapping"),
        (
            "  - {id: bcp, sector: banking, name: B}\n  - {id: bcp, sector: telecom, name: C}\n",
            "partners.yaml:4: partner bcp is listed twice (first at ",
        ),
    ],
)
def test_a_bad_entry_is_named_with_its_line(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, "version: 1\npartners:\n" + body)
    with pytest.raises(RosterError) as raised:
        load_roster(path)
    assert expected in str(raised.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\npartners:\n  - {id: X, sector: banking, name: A}\n"
        "  - {id: ok, sector: nope, name: B}\n",
    )
    with pytest.raises(RosterError) as raised:
        load_roster(path)
    assert [line.split(": ", 1)[0][-1] for line in str(raised.value).splitlines()] == ["3", "4"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("partners: []\n", "expected a mapping with `version: 1`"),
        ("version: 2\npartners: []\n", "expected a mapping with `version: 1`"),
        ("version: 1\npartners: []\n", "must be a non-empty list"),
        ("version: 1\npartners: {bcp: 1}\n", "must be a non-empty list"),
        ("version: 1\nextra: 1\npartners: []\n", "unknown top-level key(s) extra"),
        ("version: 1\npartners: [\n", "not a readable YAML file"),
    ],
)
def test_a_bad_file_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(RosterError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_roster(_write(tmp_path, text))


def test_unreadable_and_oversized_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="cannot read roster"):
        load_roster(tmp_path / "missing.yaml")
    big = _write(tmp_path, "#" * (roster.MAX_ROSTER_BYTES + 1))
    with pytest.raises(RosterError, match="larger than"):
        load_roster(big)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(RosterError, match="not a readable YAML file"):
        load_roster(binary)


class FakeRegistry:
    """The registry topic as a dict: what read_all returns and publish appends to."""

    def __init__(self, records: list[registry.PartnerRecord]) -> None:
        self.records = {r.partner: r for r in records}
        self.published: list[registry.PartnerRecord] = []

    def read_all(self, settings: KafkaSettings) -> dict[str, registry.PartnerRecord]:
        return dict(self.records)

    def publish(self, settings: KafkaSettings, record: registry.PartnerRecord) -> None:
        self.published.append(record)
        self.records[record.partner] = record


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    fake = FakeRegistry(
        [
            registry.PartnerRecord("bcp", "banking", "Banco de Crédito del Perú", "active", "t"),
            registry.PartnerRecord("claro", "telecom", "Claro", "active", "t"),
            registry.PartnerRecord("entel", "telecom", "Entel Perú", "removed", "t"),
            registry.PartnerRecord("old-bank", "banking", "Old", "active", "t"),
        ]
    )
    monkeypatch.setattr(registry, "read_all", fake.read_all)
    monkeypatch.setattr(registry, "publish", fake.publish)
    return fake


ROSTER = [
    PartnerEntry("bcp", "banking", "Banco de Crédito del Perú"),
    PartnerEntry("claro", "telecom", "Claro Perú"),
    PartnerEntry("entel", "telecom", "Entel Perú"),
    PartnerEntry("osiptel", "government", "OSIPTEL"),
]


def test_sync_publishes_only_what_differs(fake_registry: FakeRegistry) -> None:
    report = sync_registry(KafkaSettings(), ROSTER)
    assert report.unchanged == ["bcp"]
    assert report.added == ["osiptel"]
    assert report.updated == ["claro", "entel"]  # renamed; re-activated
    assert report.not_in_roster == ["old-bank"]
    assert report.removed == []
    assert {r.partner: r.status for r in fake_registry.published} == {
        "claro": "active",
        "entel": "active",
        "osiptel": "active",
    }
    assert fake_registry.records["claro"].name == "Claro Perú"
    again = sync_registry(KafkaSettings(), ROSTER)
    assert again.unchanged == ["bcp", "claro", "entel", "osiptel"]
    assert again.added == []


def test_sync_with_prune_removes_partners_the_roster_lacks(fake_registry: FakeRegistry) -> None:
    report = sync_registry(KafkaSettings(), ROSTER, prune=True)
    assert report.removed == ["old-bank"]
    assert report.not_in_roster == []
    removed = fake_registry.records["old-bank"]
    assert (removed.status, removed.sector, removed.name) == ("removed", "banking", "Old")


def test_partners_sync_command(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from confianza.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["partners", "sync", str(DEPLOY / "partners.yaml"), "--prune"])
    assert result.exit_code == 0, result.output
    assert "removed  old-bank" in result.output
    assert "11 added, 2 updated, 1 removed, 1 unchanged" in result.output
    bad = _write(tmp_path, "version: 1\npartners:\n  - {id: X, sector: banking, name: A}\n")
    result = runner.invoke(app, ["partners", "sync", str(bad)])
    assert result.exit_code == 2
    assert "invalid partner id 'X'" in result.output
