"""Indicator normalization: one canonical value and one correlation key per indicator.

Called by the normalize stage on every accepted event (``normalize_all``) and by producers
that want to check values before sending (``normalize``). The key is ``"<kind>:<canonical
value>"`` (``url:https://bcp-com.pe/login``, ``phone:+51987654321``): two reports of the same
thing get the same key whatever the spelling. URLs, domains and emails also carry their
registered domain, so correlation links a URL to its domain.

An invalid value is never dropped silently: ``normalize_all`` returns it with its index and
reason, and the receipt lists it as a warning (``InvalidIndicator.field_error()``).
Per-kind rules live in the modules of this package (hosts, urls, contacts, accounts,
wallets); the kinds are those of ``taxonomy.INDICATOR_KINDS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from confianza.schemas.indicators.accounts import canonical_bank_account, canonical_iban
from confianza.schemas.indicators.contacts import canonical_email, canonical_phone
from confianza.schemas.indicators.errors import IndicatorError
from confianza.schemas.indicators.hosts import (
    canonical_host,
    canonical_ipv4,
    canonical_ipv6,
    refang,
    registered_domain,
)
from confianza.schemas.indicators.urls import canonical_url
from confianza.schemas.indicators.wallets import canonical_wallet
from confianza.schemas.taxonomy import INDICATOR_KINDS, INDICATOR_ROLES
from confianza.schemas.validate import FieldError

__all__ = [
    "MAX_VALUE_LENGTH",
    "Indicator",
    "IndicatorError",
    "InvalidIndicator",
    "normalize",
    "normalize_all",
    "refang",
]

MAX_VALUE_LENGTH = 2048  # the schema's bound on an indicator value


@dataclass(frozen=True)
class Indicator:
    """A normalized indicator. ``key`` is the stable correlation key ``<kind>:<value>``;
    ``registered_domain`` is set for url, domain and email (None for IP hosts)."""

    kind: str
    value: str
    role: str
    key: str
    registered_domain: str | None


@dataclass(frozen=True)
class InvalidIndicator:
    """An indicator of an event that could not be normalized (``index`` in its array)."""

    index: int
    kind: str
    value: str
    reason: str

    def field_error(self) -> FieldError:
        """The receipt warning for this indicator, pointing at its value."""
        return FieldError(f"/indicators/{self.index}/value", f"invalid {self.kind}: {self.reason}")


_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
_HEX = re.compile(r"[0-9a-f]+", re.ASCII)


def _hash(kind: str) -> Callable[[str], tuple[str, str | None]]:
    length = _HASH_LENGTHS[kind]

    def canonical(text: str) -> tuple[str, str | None]:
        value = text.strip().lower()
        if not _HEX.fullmatch(value):
            raise IndicatorError(f"a {kind} hash is hexadecimal")
        if len(value) != length:
            raise IndicatorError(f"a {kind} hash has {length} hex digits, not {len(value)}")
        return value, None

    return canonical


def _domain(text: str) -> tuple[str, str | None]:
    value = refang(text)
    if "/" in value or "@" in value or ":" in value:
        raise IndicatorError("a domain holds no scheme, path, port or '@': use kind url or email")
    if value.startswith("*."):
        raise IndicatorError("wildcards are not domains: report the registered domain")
    host = canonical_host(value)
    return host, registered_domain(host)


def _no_domain(
    canonical: Callable[[str], str], refanged: bool = False
) -> Callable[[str], tuple[str, str | None]]:
    def wrapped(text: str) -> tuple[str, str | None]:
        return canonical(refang(text) if refanged else text), None

    return wrapped


_RULES: dict[str, Callable[[str], tuple[str, str | None]]] = {
    "url": lambda text: canonical_url(refang(text)),
    "domain": _domain,
    "ipv4": _no_domain(canonical_ipv4, refanged=True),
    "ipv6": _no_domain(canonical_ipv6, refanged=True),
    "email": lambda text: canonical_email(refang(text)),
    "phone": _no_domain(canonical_phone),
    "iban": _no_domain(canonical_iban),
    "bank-account": _no_domain(canonical_bank_account),
    "crypto-wallet": _no_domain(canonical_wallet),
    "md5": _hash("md5"),
    "sha1": _hash("sha1"),
    "sha256": _hash("sha256"),
}
assert set(_RULES) == set(INDICATOR_KINDS), "every indicator kind needs a rule"


def normalize(kind: str, value: str, role: str = "unspecified") -> Indicator:
    """Canonical form of one indicator; raises IndicatorError(reason) when it is invalid."""
    if kind not in _RULES:
        raise IndicatorError(f"unknown indicator kind {kind[:40]!r}")
    if role not in INDICATOR_ROLES:
        raise IndicatorError(f"unknown indicator role {role[:40]!r}")
    if not isinstance(value, str) or not value.strip():
        raise IndicatorError("empty value")
    if len(value) > MAX_VALUE_LENGTH:
        raise IndicatorError(f"value longer than {MAX_VALUE_LENGTH} characters")
    outcome = _canonical(kind, value)
    if isinstance(outcome, str):
        raise IndicatorError(outcome)
    canonical, domain = outcome
    if len(canonical) > MAX_VALUE_LENGTH:  # percent-encoding can triple a URL's length
        raise IndicatorError(f"canonical form longer than {MAX_VALUE_LENGTH} characters")
    return Indicator(kind, canonical, role, f"{kind}:{canonical}", domain)


@lru_cache(maxsize=16384)
def _canonical(kind: str, value: str) -> tuple[str, str | None] | str:
    """(canonical value, registered domain), or the reason it is invalid. Cached: campaign
    traffic repeats the same indicators across many events and reporters."""
    try:
        return _RULES[kind](value)
    except IndicatorError as exc:
        return exc.reason


def normalize_all(
    indicators: list[dict[str, Any]],
) -> tuple[list[Indicator], list[InvalidIndicator]]:
    """Normalize the indicators array of an event: the valid ones in order, and every
    invalid one with its index and reason. Duplicates (same key) are kept: correlation
    counts distinct events, not indicator rows."""
    valid: list[Indicator] = []
    invalid: list[InvalidIndicator] = []
    for index, item in enumerate(indicators):
        kind = item.get("kind") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        role = item.get("role", "unspecified") if isinstance(item, dict) else "unspecified"
        try:
            if not isinstance(kind, str) or not isinstance(value, str) or not isinstance(role, str):
                raise IndicatorError("an indicator is an object with string kind and value")
            valid.append(normalize(kind, value, role))
        except IndicatorError as exc:
            invalid.append(
                InvalidIndicator(index, str(kind)[:40], str(value)[:MAX_VALUE_LENGTH], exc.reason)
            )
    return valid, invalid
