"""CSV rows to incident events: the documented column mapping."""

from __future__ import annotations

import pytest

from confianza.producers.converters import Classification, Converted, EventDefaults, csv
from tests.producers.converters.helpers import indicators, split

HEADER = (
    "event_id,occurred_at,class,type,tlp,severity,confidence,sector,asset_type,asset_name,"
    "title,description,url,phone,bank_account,sha256"
)


def test_rows_map_to_events_with_line_numbers(defaults: EventDefaults) -> None:
    lines = [
        HEADER,
        "IBK-2025-0001,2025-05-02T09:15:00-05:00,fraud,phishing,TLP:AMBER,high,80,banking,"
        "web-application,Banca por internet,Phishing Interbank,"
        '"Clientes reportan SMS con enlace, luego transferencias",'
        "hxxps://interbank-pe[.]com/login|https://ibk-clientes.online/,987 654 321,"
        "00310100987654321012,",
        "",  # blank lines are not records
        "IBK-2025-0002,2025-05-02 10:30,malicious-code,malware-distribution,green,medium,,,,,,"
        "APK maliciosa enviada por WhatsApp,,,,"
        "4a1d7c3e9b2f8a6d5c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
    ]
    events, unsupported = split(csv.convert(lines, defaults))
    assert unsupported == []
    assert [e.where for e in events] == ["line 2", "line 4"]
    first, second = (e.event for e in events)
    assert first == {
        "event_id": "IBK-2025-0001",
        "occurred_at": "2025-05-02T09:15:00-05:00",
        "reported_at": "2025-06-03T12:00:00Z",
        "classification": {"class": "fraud", "type": "phishing"},
        "tlp": "amber",
        "severity": "high",
        "confidence": 80,
        "sector": "banking",
        "asset": {"type": "web-application", "name": "Banca por internet"},
        "title": "Phishing Interbank",
        "description": "Clientes reportan SMS con enlace, luego transferencias",
        "indicators": [
            {"kind": "url", "value": "hxxps://interbank-pe[.]com/login", "role": "unspecified"},
            {"kind": "url", "value": "https://ibk-clientes.online/", "role": "unspecified"},
            {"kind": "phone", "value": "987 654 321", "role": "unspecified"},
            {"kind": "bank-account", "value": "00310100987654321012", "role": "mule-account"},
        ],
    }
    # Empty cells take the defaults; a date without offset is Peru time.
    assert second["occurred_at"] == "2025-05-02T15:30:00Z"
    assert second["confidence"] == 50
    assert second["sector"] == "banking"
    assert "title" not in second
    assert indicators(second) == [
        ("sha256", "4a1d7c3e9b2f8a6d5c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e", "payload")
    ]


def test_semicolons_bom_case_and_dashes_in_headers() -> None:
    defaults = EventDefaults(sector="telecom", classification=Classification("fraud", "masquerade"))
    lines = [
        "\ufeffEvent_ID;Occurred_At;Description;Phone;Crypto-Wallet\n",
        "CLARO-77;2025-04-30;SIM swap con DNI falso;+51 912 345 678;"
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq\n",
    ]
    events, _ = split(csv.convert(lines, defaults))
    event = events[0].event
    assert event["classification"] == {"class": "fraud", "type": "masquerade"}
    assert event["occurred_at"] == "2025-04-30T05:00:00Z"
    assert indicators(event) == [
        ("phone", "+51 912 345 678", "unspecified"),
        ("crypto-wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "mule-account"),
    ]


def test_bad_values_are_left_for_validation_to_point_at(defaults: EventDefaults) -> None:
    lines = ["event_id,occurred_at,description,confidence,tlp", "X-1,ayer,algo,alto,naranja"]
    (item,) = list(csv.convert(lines, defaults))
    assert isinstance(item, Converted)
    assert item.event["occurred_at"] == "ayer"
    assert item.event["confidence"] == "alto"
    assert item.event["tlp"] == "naranja"


def test_unknown_columns_ragged_rows_and_repeats_are_listed(defaults: EventDefaults) -> None:
    lines = [
        "event_id,occurred_at,description,domain,canal",
        "A-1,2025-01-01,uno,a.pe|a.pe,SMS",
        "A-2,2025-01-01,dos",
    ]
    items = list(csv.convert(lines, defaults))
    unsupported = [(i.where, i.reason) for i in items if not isinstance(i, Converted)]
    assert unsupported == [
        ("header", "column 'canal' is not mapped; its values are not sent"),
        ("line 2", "repeats the domain 'a.pe' in the same row"),
        ("line 3", "3 cells for 5 columns; row not converted"),
    ]
    assert [i.event["event_id"] for i in items if isinstance(i, Converted)] == ["A-1"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the CSV input is empty"),
        (["occurred_at,description"], "no event_id column"),
    ],
)
def test_layout_errors(lines: list[str], message: str, defaults: EventDefaults) -> None:
    with pytest.raises(csv.CsvLayoutError, match=message):
        list(csv.convert(lines, defaults))


def test_sector_must_come_from_a_column_or_the_defaults() -> None:
    with pytest.raises(csv.CsvLayoutError, match="--sector"):
        list(csv.convert(["event_id,description"], EventDefaults()))
    events, _ = split(
        csv.convert(
            ["event_id,occurred_at,description,sector", "Z-1,2025-01-01,x,justice"],
            EventDefaults(),
        )
    )
    assert events[0].event["sector"] == "justice"
