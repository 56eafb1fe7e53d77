"""Crypto wallet addresses: Bitcoin, Ethereum (and EVM chains), Tron.

Bitcoin: Base58Check (P2PKH, P2SH) or bech32/bech32m (segwit), checksums verified by
python-stdnum; bech32 is case-insensitive and written lower case. Ethereum: ``0x`` + 40 hex
digits, lower-cased (the EIP-55 mixed-case checksum needs Keccak-256, which the standard
library lacks, so it is not verified). Tron (where most USDT scams settle): Base58Check with
version byte 0x41, 34 characters starting with ``T``.
"""

from __future__ import annotations

import hashlib
import re

from stdnum import bitcoin
from stdnum.exceptions import ValidationError

from confianza.schemas.indicators.errors import IndicatorError

_ETHEREUM = re.compile(r"0[xX][0-9a-fA-F]{40}", re.ASCII)
_TRON = re.compile(r"T[1-9A-HJ-NP-Za-km-z]{33}", re.ASCII)


def _tron(address: str) -> str:
    raw = bitcoin.b58decode(address)
    payload, checksum = raw[:-4], raw[-4:]
    if len(raw) != 25 or raw[0] != 0x41:
        raise IndicatorError("not a Tron address")
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        raise IndicatorError("Tron address checksum does not match")
    return address


def canonical_wallet(text: str) -> str:
    """Canonical address text; IndicatorError for an unknown shape or a bad checksum."""
    address = text.strip()
    if _ETHEREUM.fullmatch(address):
        return address.lower()
    if _TRON.fullmatch(address):
        return _tron(address)
    try:
        return bitcoin.validate(address)
    except ValidationError:
        raise IndicatorError(
            "not a valid Bitcoin, Ethereum or Tron address (shape or checksum)"
        ) from None
