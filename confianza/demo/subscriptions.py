"""The demo's subscriptions: real local receivers standing in for each audience."""

from __future__ import annotations

from pathlib import Path

import yaml

WEBHOOK_SECRET_ENV = "CONFIANZA_DEMO_WHSEC"  # noqa: S105 - a variable name, not a secret
FAST_GROUPING = {"group_wait": "1s", "group_interval": "5s", "repeat_interval": "1h"}


def render(webhook_url: str, smtp_port: int, out_dir: Path) -> Path:
    """Write ``subscriptions.yaml`` for the demo's receivers and return its path.

    Banks get signed webhooks (the receiver verifies every signature), the banking association
    and the public get email through the local SMTP sink, and the center's analysts get every
    alert, TLP:RED included, in a JSON-lines file as a SIEM would.
    """
    document = {
        "version": 1,
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "starttls": False,
            "sender": "alertas@cnsd.example",
        },
        "subscribers": [
            {
                "id": "bcp-soc",
                "audience": "banking",
                "sector": "banking",
                "organization": "bcp",
                "channel": "webhook",
                "target": f"{webhook_url}/bcp",
                "min_severity": "low",
                "tlp_clearance": "amber+strict",
                "grouping": dict(FAST_GROUPING),
                "secrets": {"webhook_secret_env": WEBHOOK_SECRET_ENV},
            },
            {
                "id": "interbank-soc",
                "audience": "banking",
                "sector": "banking",
                "organization": "interbank",
                "channel": "webhook",
                "target": f"{webhook_url}/interbank",
                "min_severity": "medium",
                "tlp_clearance": "amber",
                "grouping": dict(FAST_GROUPING),
                "secrets": {"webhook_secret_env": WEBHOOK_SECRET_ENV},
            },
            {
                "id": "osiptel-telecom",
                "audience": "telecom",
                "sector": "telecom",
                "organization": "osiptel",
                "channel": "webhook",
                "target": f"{webhook_url}/telecom",
                "min_severity": "medium",
                "tlp_clearance": "amber",
                "grouping": dict(FAST_GROUPING),
                "secrets": {"webhook_secret_env": WEBHOOK_SECRET_ENV},
            },
            {
                "id": "asbanc-fraude",
                "audience": "banking",
                "sector": "banking",
                "channel": "email",
                "target": ["fraude@asbanc.example"],
                "min_severity": "high",
                "tlp_clearance": "amber",
                "grouping": dict(FAST_GROUPING),
            },
            {
                "id": "ciudadania",
                "audience": "public",
                "channel": "email",
                "target": ["alertas-ciudadanas@cnsd.example"],
                "min_severity": "high",
                "tlp_clearance": "clear",
                "grouping": dict(FAST_GROUPING),
            },
            {
                "id": "cnsd-analysts",
                "audience": "center",
                "analyst": True,
                "channel": "file",
                "target": str(out_dir / "center-alerts.jsonl"),
                "min_severity": "low",
                "tlp_clearance": "red",
                "grouping": dict(FAST_GROUPING),
            },
        ],
    }
    path = out_dir / "subscriptions.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
