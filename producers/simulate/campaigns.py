"""Cross-sector campaigns: who reports them and which indicators each report carries.

``new_campaign`` is called by the planner once per campaign. A campaign has a kind, the brand
it abuses, a pool of malicious indicators (drawn fresh from ``Values``) and 2 to 5 reporters
of at least two sectors, chosen with a preference for the sectors that see that kind of
fraud first. ``indicator_sets`` then decides which pool items each of its reports carries:
every report after the first repeats at least one item an earlier report carried (so the
events form one connected campaign), and every pool item is reported at least once (so the
ground truth lists only values that really appear).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from confianza.producers.simulate.roster import BANKS, ROSTER, SimPartner
from confianza.producers.simulate.values import Values

KINDS = ("phishing", "smishing", "sim-swap", "mule-accounts", "malware")
MAX_REPORTERS = 5

# How likely each sector is to report a campaign of each kind (relative weights).
_SECTOR_WEIGHTS = {
    "phishing": {"banking": 3, "telecom": 1, "justice": 2, "government": 2, "other": 1},
    "smishing": {"banking": 2, "telecom": 3, "justice": 1, "government": 2, "other": 1},
    "sim-swap": {"banking": 2, "telecom": 3, "justice": 2, "government": 1, "other": 1},
    "mule-accounts": {"banking": 3, "telecom": 1, "justice": 3, "government": 1, "other": 1},
    "malware": {"banking": 2, "telecom": 1, "justice": 1, "government": 3, "other": 1},
}


@dataclass(frozen=True)
class PoolItem:
    """One malicious indicator of a campaign, canonical, with the role reports give it."""

    kind: str
    value: str
    role: str


@dataclass(frozen=True)
class Campaign:
    """A planned campaign: id, kind, abused brand and its sector, indicator pool, reporters."""

    id: str
    kind: str
    target: str
    target_sector: str
    pool: tuple[PoolItem, ...]
    reporters: tuple[SimPartner, ...]


def _reporters(
    kind: str, partners: tuple[SimPartner, ...], wanted: int, rng: random.Random
) -> tuple[SimPartner, ...]:
    weights = _SECTOR_WEIGHTS[kind]
    left = list(partners)
    chosen: list[SimPartner] = []
    while len(chosen) < wanted and left:
        pick = rng.choices(left, weights=[weights[p.sector] for p in left])[0]
        chosen.append(pick)
        left.remove(pick)
    if len({p.sector for p in chosen}) < 2:
        other = [p for p in left if p.sector != chosen[0].sector]
        chosen[-1] = rng.choice(other)
    return tuple(chosen)


def _target(kind: str, rng: random.Random) -> tuple[str, str, SimPartner | None]:
    """The abused brand, its sector, and the partner that owns it (None for gob.pe)."""
    if kind == "phishing" and rng.random() < 0.3:
        return "gob.pe", "government", None
    if kind in ("smishing", "sim-swap") and rng.random() < 0.4:
        owner = rng.choice([p for p in ROSTER if p.sector == "telecom"])
        return owner.brand, "telecom", owner
    owner = rng.choice(BANKS)
    brand = "Yape" if owner.id == "bcp" and kind in ("smishing", "malware") else owner.brand
    return brand, "banking", owner


def _pool(kind: str, target: str, owner: SimPartner | None, values: Values) -> list[PoolItem]:
    rng = values.rng
    items: list[PoolItem] = []

    def add(kind_: str, value: str, role: str) -> None:
        items.append(PoolItem(kind_, value, role))

    def phishing_urls(count: int, role: str = "phishing") -> None:
        domain = values.lookalike_domain(target)
        add("domain", domain, role)
        for _ in range(count):
            add("url", values.url(values.host_on(domain, target)), role)

    bank_code = owner.bank_code if owner is not None and owner.bank_code else "002"
    if kind == "phishing":
        for _ in range(rng.randint(1, 2)):
            phishing_urls(rng.randint(1, 3))
        for _ in range(rng.randint(0, 2)):
            add("email", values.email(values.lookalike_domain(target)), "sender")
        if rng.random() < 0.5:
            add("ipv4", values.ipv4(), "phishing")
    elif kind == "smishing":
        for _ in range(rng.randint(2, 4)):
            add("phone", values.mobile(), "sender")
        phishing_urls(rng.randint(1, 3))
    elif kind == "sim-swap":
        for _ in range(rng.randint(1, 2)):
            add("phone", values.mobile(), "attacker")
        for _ in range(rng.randint(1, 2)):
            add(
                "bank-account", values.cci(rng.choice(BANKS).bank_code or bank_code), "mule-account"
            )
        if rng.random() < 0.4:
            add("crypto-wallet", values.wallet(), "mule-account")
    elif kind == "mule-accounts":
        for _ in range(rng.randint(2, 4)):
            add(
                "bank-account", values.cci(rng.choice(BANKS).bank_code or bank_code), "mule-account"
            )
        for _ in range(rng.randint(1, 2)):
            add("phone", values.mobile(), "mule-account")
        if rng.random() < 0.5:
            add("iban", values.iban(), "mule-account")
        if rng.random() < 0.4:
            add("crypto-wallet", values.wallet(), "mule-account")
    else:  # malware: a fake app, where it is downloaded from, where it reports to
        for _ in range(rng.randint(1, 2)):
            add("sha256", values.file_hash("sha256"), "payload")
        if rng.random() < 0.6:
            add("md5", values.file_hash("md5"), "payload")
        domain = values.lookalike_domain(target)
        add("url", values.url(values.host_on(domain, target)), "malware-distribution")
        add("ipv4", values.ipv4(), "c2")
        if rng.random() < 0.5:
            add("domain", values.lookalike_domain(target), "c2")
    return items


def new_campaign(
    number: int,
    kind: str,
    partners: tuple[SimPartner, ...],
    reporters: int,
    values: Values,
) -> Campaign:
    """Campaign ``number`` of ``kind``, reported by ``reporters`` of the given partners."""
    rng = values.rng
    target, target_sector, owner = _target(kind, rng)
    pool = _pool(kind, target, owner, values)
    return Campaign(
        id=f"campaign-{number:02d}-{kind}",
        kind=kind,
        target=target,
        target_sector=target_sector,
        pool=tuple(pool),
        reporters=_reporters(kind, partners, reporters, rng),
    )


def indicator_sets(campaign: Campaign, events: int, rng: random.Random) -> list[list[PoolItem]]:
    """The pool items each of ``events`` reports carries (see the module docstring)."""
    pool = list(campaign.pool)
    sets: list[list[PoolItem]] = []
    reported: list[PoolItem] = []
    for index in range(events):
        size = rng.randint(1, min(4, len(pool)))
        chosen = rng.sample(pool, size)
        if index > 0 and not any(item in reported for item in chosen):
            chosen[0] = rng.choice(reported)
            chosen = list(dict.fromkeys(chosen))
        sets.append(chosen)
        reported.extend(item for item in chosen if item not in reported)
    for item in pool:
        if item not in reported:
            rng.choice(sets).append(item)
            reported.append(item)
    return sets
