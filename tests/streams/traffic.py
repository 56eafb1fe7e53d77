"""Campaign traffic with ground truth, in the simulator's ground-truth format.

Used by the broker tests and the benchmark until the producers' simulator is wired in:
``campaign_traffic`` returns the events to send per partner and the ground truth
``{"campaigns": [{"id", "indicators", "event_ids", "first_event_at"}], "noise_event_ids"}``.
Every campaign is reported by at least three partners of at least two sectors, each event
carrying two of the campaign's indicators (a chain, so the campaign is connected); noise
events each have their own indicators.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from tests.streams.helpers import event

ROSTER = (
    ("bcp", "banking"),
    ("interbank", "banking"),
    ("bbva", "banking"),
    ("claro", "telecom"),
    ("movistar", "telecom"),
    ("pnp-divindat", "justice"),
    ("indecopi", "government"),
)
TYPES = (("fraud", "phishing"), ("fraud", "masquerade"), ("malicious-code", "malware-distribution"))


def _phone(tag: str) -> str:
    """A mobile number (9 digits, starting with 9) unique to ``tag``, so rosters never share."""
    digest = int(hashlib.sha256(tag.encode()).hexdigest(), 16)
    return f"9{digest % 10**8:08d}"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def campaign_traffic(
    prefix: str, campaigns: int = 20, noise: int = 60, seed: int = 7, now: float | None = None
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """``([(partner, event), ...], truth)``; partner ids are ``<prefix>-<roster id>``."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    sent: list[tuple[str, dict[str, Any]]] = []
    truth: dict[str, Any] = {"campaigns": [], "noise_event_ids": []}
    for c in range(campaigns):
        tag = f"{prefix}{c}"
        indicators = [
            ("url", f"https://bcp-verifica-{tag}.com/login", "phishing"),
            ("domain", f"yape-premios-{tag}.com", "phishing"),
            ("phone", _phone(tag), "scam-contact"),
            ("email", f"soporte@banca-{tag}.net", "sender"),
        ]
        rsit = TYPES[c % len(TYPES)]
        reporters = rng.sample(ROSTER, k=rng.randint(3, 5))
        while len({s for _, s in reporters}) < 2:
            reporters = rng.sample(ROSTER, k=4)
        ids = []
        for j, (partner, _) in enumerate(reporters):
            chosen = [indicators[j % len(indicators)], indicators[(j + 1) % len(indicators)]]
            pid = f"{prefix}-{partner}"
            eid = f"{tag}-{j}"
            sent.append((pid, event(eid, chosen, rsit=rsit, reported_at=_iso(now + j))))
            ids.append([pid, eid])
        truth["campaigns"].append(
            {
                "id": tag,
                "indicators": [{"kind": k, "value": v} for k, v, _ in indicators],
                "event_ids": ids,
                "first_event_at": _iso(now),
            }
        )
    for n in range(noise):
        partner, _ = rng.choice(ROSTER)
        pid = f"{prefix}-{partner}"
        eid = f"{prefix}-noise-{n}"
        sent.append(
            (
                pid,
                event(
                    eid,
                    [
                        ("url", f"https://oferta-{prefix}-{n}.com/", "phishing"),
                        ("phone", _phone(eid), "scam-contact"),
                    ],
                    severity=rng.choice(("low", "medium", "high", "critical")),
                    reported_at=_iso(now),
                ),
            )
        )
        truth["noise_event_ids"].append([pid, eid])
    rng.shuffle(sent)
    return sent, truth


def roster(prefix: str) -> list[tuple[str, str]]:
    return [(f"{prefix}-{p}", s) for p, s in ROSTER]
