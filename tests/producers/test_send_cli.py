"""``confianza send`` round trips to the real broker: NDJSON, CSV, a MISP event and a STIX
bundle are read back from the partner's ingest topic; receipts, dry runs and usage errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from confianza.schemas.validate import encode, validate_event
from confianza.settings import KafkaSettings
from tests.producers.conftest import DATA
from tests.producers.kafka_helpers import (
    Partner,
    confianza_send,
    read_topic,
    receipt,
    write_receipts,
)


def events_on(admin: KafkaSettings, partner: Partner, count: int) -> dict[str, dict[str, Any]]:
    """The events on the partner's ingest topic by key; each must validate."""
    found = {}
    for record in read_topic(admin, f"ingest.{partner.id}.v1", count):
        event = validate_event(record.value)
        assert isinstance(event, dict), event
        assert record.key.decode() == event["event_id"]
        found[event["event_id"]] = event
    return found


def test_ndjson_round_trip_with_a_rejected_line(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings, example: dict[str, Any]
) -> None:
    partner = new_partner()
    second = example | {"event_id": "bcp-2024-000124", "tlp": "red"}
    lines = [encode(example), encode(example | {"event_id": "bcp-bad", "tlp": "x"}), b"",
             orjson.dumps(second, option=orjson.OPT_INDENT_2).replace(b"\n", b" ")]  # fmt: skip
    result = confianza_send(partner, "-", stdin=b"\n".join(lines) + b"\n")
    assert result.returncode == 1, result.stderr
    assert "line 2 (bcp-bad): rejected: /tlp: 'x' is not one of" in result.stderr
    assert "  read             3\n" in result.stdout
    assert "  sent             2\n" in result.stdout
    assert "  rejected locally 1\n" in result.stdout
    assert events_on(admin_settings, partner, 2) == {
        example["event_id"]: example,
        second["event_id"]: second,
    }


def test_csv_round_trip_with_password_file(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings, tmp_path: Path
) -> None:
    partner = new_partner("telecom")
    source = tmp_path / "reportes.csv"
    source.write_text(
        "event_id;occurred_at;class;type;tlp;description;phone;url\n"
        "CLARO-2025-0101;2025-05-10 08:00;fraud;masquerade;amber;"
        "Duplicado de SIM con DNI adulterado en tienda;+51 987 111 222;\n"
        "CLARO-2025-0102;2025-05-10T09:30:00-05:00;abusive-content;spam;green;"
        "SMS masivo con enlace falso de Yape;912 345 678|+51 913 000 111;"
        "hxxps://yape-premio[.]site/cobrar\n",
        encoding="utf-8",
    )
    secret = tmp_path / "password"
    secret.write_text(partner.credentials.password + "\n", encoding="utf-8")
    result = confianza_send(
        partner,
        str(source),
        "--sector",
        "telecom",
        password_file=secret,
    )
    assert result.returncode == 0, result.stderr
    events = events_on(admin_settings, partner, 2)
    first, second = events["CLARO-2025-0101"], events["CLARO-2025-0102"]
    assert first["occurred_at"] == "2025-05-10T13:00:00Z"
    assert first["classification"] == {"class": "fraud", "type": "masquerade"}
    assert first["sector"] == "telecom"
    assert [i["value"] for i in second["indicators"]] == [
        "912 345 678",
        "+51 913 000 111",
        "hxxps://yape-premio[.]site/cobrar",
    ]
    assert partner.credentials.password not in result.stdout + result.stderr


def test_misp_event_round_trip(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings
) -> None:
    partner = new_partner()
    result = confianza_send(
        partner, str(DATA / "misp-smishing-bcp.json"), "--sector", "banking", "--confidence", "70"
    )
    assert result.returncode == 0, result.stderr
    assert "  unsupported      8\n" in result.stdout
    assert "attribute 7 (url): deleted in MISP" in result.stdout
    (event,) = events_on(admin_settings, partner, 1).values()
    assert event["event_id"] == "misp-6b7f3a52-0c1e-4d2a-9f41-7e2d5c8a9b10"
    assert event["classification"] == {"class": "fraud", "type": "phishing"}
    assert event["tlp"] == "red"
    assert event["confidence"] == 70
    assert len(event["indicators"]) == 7


def test_stix_bundle_from_stdin_detected_and_summarised_as_json(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings
) -> None:
    partner = new_partner()
    bundle = (DATA / "stix-sightings-tlp1.json").read_bytes()
    result = confianza_send(partner, "--json", "--sector", "telecom", stdin=bundle)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert {k: summary[k] for k in ("read", "valid", "sent", "rejected_locally", "failed")} == {
        "read": 2, "valid": 2, "sent": 2, "rejected_locally": 0, "failed": 0,
    }  # fmt: skip
    assert len(summary["unsupported"]) == 7
    events = events_on(admin_settings, partner, 2)
    assert set(events) == {
        "stix-sighting--b2c3d4e5-f6a7-4b8c-9d0e-f1a2b3c4d5e6",
        "stix-bundle--9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    }
    assert all(e["sector"] == "telecom" for e in events.values())


def test_wait_receipts_reports_the_servers_verdicts(
    new_partner: Callable[..., Partner], admin_settings: KafkaSettings, example: dict[str, Any]
) -> None:
    partner = new_partner()
    second = example | {"event_id": "bcp-2024-000124"}

    def streams_stand_in() -> None:
        read_topic(admin_settings, f"ingest.{partner.id}.v1", 2, timeout=60)
        write_receipts(admin_settings, partner.id, [
            receipt(partner.id, example["event_id"], "accepted"),
            receipt(partner.id, "someone-else", "accepted"),
            receipt(partner.id, second["event_id"], "rejected",
                    errors=[{"pointer": "/indicators/2/value", "message": "bad CCI check digits"}]),
        ])  # fmt: skip

    worker = threading.Thread(target=streams_stand_in, daemon=True)
    worker.start()
    ndjson = encode(example) + b"\n" + encode(second) + b"\n"
    result = confianza_send(partner, "--wait-receipts", "--receipt-timeout", "40", stdin=ndjson)
    worker.join(timeout=5)
    assert result.returncode == 1, result.stderr
    assert (
        "line 2 (bcp-2024-000124): rejected by the server: /indicators/2/value: "
        "bad CCI check digits"
    ) in result.stderr
    assert (
        "  receipts         accepted 1, duplicate 0, rejected 1, missing 0 (0 with warnings)\n"
    ) in result.stdout


def test_dry_run_and_usage_errors(example: dict[str, Any], tmp_path: Path) -> None:
    result = confianza_send(None, "--dry-run", stdin=encode(example))
    assert result.returncode == 0, result.stderr
    assert "summary (dry run: nothing sent)" in result.stdout
    assert "  valid            1\n" in result.stdout
    for args, message in (
        (("--tlp", "orange"), "--tlp: unknown TLP level 'orange'"),
        (("--class", "fraud", "--type", "spam"), "is not an RSIT class and type"),
        (("--format", "xml"), "--format 'xml' is not one of"),
        ((), "--partner is required"),
        (("--partner", "bcp"), "set CONFIANZA_KAFKA__USERNAME"),
        (("--dry-run", str(tmp_path / "missing.json")), "cannot read"),
    ):
        result = confianza_send(None, *args, stdin=encode(example))
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
