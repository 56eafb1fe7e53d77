"""RFC 5424 syslog lines and JSON-lines records of a gated alert, for SIEMs.

``syslog_message`` builds ``<PRI>1 TIMESTAMP HOST confianza - alert [SD] BOM JSON``: facility
local0, syslog severity from the alert's (critical→crit, high→err, medium→warning,
low→notice), structured data ``confianza@32473`` with the alert id, version, severity and
idempotency key, and the gated alert as the UTF-8 JSON message. ``octet_framed`` adds the
RFC 6587 octet-counting frame used over TCP. ``json_line`` is one line of the file channel.
"""

from __future__ import annotations

import re
import socket

import orjson

from confianza.consumers.channel import idempotency_key
from confianza.consumers.gate import GatedAlert
from confianza.consumers.ledger import utc_now

FACILITY_LOCAL0 = 16
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5}
SD_ID = "confianza@32473"
BOM = "\ufeff".encode()
_HOST = re.sub(r"[^\x21-\x7e]", "-", socket.gethostname())[:255] or "-"


def _sd_value(value: object) -> str:
    return re.sub(r'(["\\\]])', r"\\\1", str(value))


def syslog_message(alert: GatedAlert, subscriber_id: str) -> bytes:
    """One RFC 5424 message (without transport framing)."""
    severity = str(alert.alert.get("severity"))
    pri = FACILITY_LOCAL0 * 8 + SYSLOG_SEVERITY.get(severity, 5)
    key = idempotency_key(alert.alert_id, alert.version, subscriber_id)
    params = {
        "alert_id": alert.alert_id,
        "version": alert.version,
        "severity": severity,
        "key": key,
    }
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    header = f"<{pri}>1 {utc_now()} {_HOST} confianza - alert {sd} "
    return header.encode() + BOM + orjson.dumps(alert.alert)


def octet_framed(message: bytes) -> bytes:
    """RFC 6587 octet counting: ``<length> <message>``."""
    return str(len(message)).encode() + b" " + message


def json_line(alert: GatedAlert, subscriber_id: str) -> bytes:
    """One JSON-lines record: the key, the subscriber, when, and the gated alert."""
    return (
        orjson.dumps(
            {
                "idempotency_key": idempotency_key(alert.alert_id, alert.version, subscriber_id),
                "subscriber": subscriber_id,
                "delivered_at": utc_now(),
                "alert": alert.alert,
            }
        )
        + b"\n"
    )
