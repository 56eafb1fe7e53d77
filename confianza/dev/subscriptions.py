"""Subscriptions files for local runs (tests, benchmarks): webhook subscribers that want
every alert at once."""

from __future__ import annotations

from collections.abc import Mapping

_SUBSCRIBER = """\
  - id: {sid}
    audience: banking
    sector: banking
    channel: webhook
    target: {url}
    min_severity: low
    tlp_clearance: amber
    grouping: {{group_wait: 0s, group_interval: 0s, repeat_interval: 1h}}
    rate_limit: {{max: {per_second}, per: 1s}}
    timeout: 5s
    secrets: {{webhook_secret_env: {secret_env}}}
"""


def webhook_subscriptions(
    targets: Mapping[str, str], secret_env: str, per_second: int = 10_000
) -> str:
    """The text of a subscriptions file: one banking webhook subscriber (TLP:AMBER, every
    severity, no grouping waits, at most ``per_second`` deliveries a second) per ``id → url``
    of ``targets``, each signing with the secret in ``$secret_env``."""
    entries = "".join(
        _SUBSCRIBER.format(sid=sid, url=url, per_second=per_second, secret_env=secret_env)
        for sid, url in targets.items()
    )
    return f"version: 1\nsubscribers:\n{entries}"
