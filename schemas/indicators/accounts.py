"""Bank identifiers: IBAN, Peruvian CCI and ``bank-code:number`` accounts.

CCI (código de cuenta interbancario, 20 digits): 3-digit bank code, 3-digit branch,
12-digit account, then two check digits: the first over bank+branch, the second over the
account. Each check digit: weight the digits 1, 2, 1, 2, ... from the left, add the digits of
each product, and take ``(10 - sum % 10) % 10`` -- the rule Peruvian banks publish for turning
an account number into its CCI. Bank codes are the clearing-house codes (002 BCP, 003
Interbank, 009 Scotiabank, 011 BBVA, 018 Banco de la Nación, 038 BanBif).
"""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban
from stdnum import numdb
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from confianza.schemas.indicators.errors import IndicatorError

# Names partners write instead of the clearing-house code.
BANK_CODES = {
    "bcp": "002",
    "interbank": "003",
    "scotiabank": "009",
    "bbva": "011",
    "nacion": "018",
    "banbif": "038",
}
_SEPARATORS = re.compile(r"[\s.\-/]+")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_BANK = re.compile(r"[0-9]{3}", re.ASCII)
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}", re.ASCII)
_IBAN_COUNTRIES = numdb.get("iban")


def _check_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(digits):
        product = int(char) * (1 if position % 2 == 0 else 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def cci_check_digits(first18: str) -> str:
    """The two check digits of a CCI from its first 18 digits (bank, branch, account)."""
    return f"{_check_digit(first18[:6])}{_check_digit(first18[6:18])}"


def canonical_cci(digits: str) -> str:
    """A 20-digit CCI with valid check digits, unchanged; IndicatorError otherwise."""
    if len(digits) != 20 or not _DIGITS.fullmatch(digits):
        raise IndicatorError("a CCI has exactly 20 digits")
    expected = cci_check_digits(digits[:18])
    if digits[18:] != expected:
        raise IndicatorError(f"CCI check digits are {digits[18:]}, expected {expected}")
    return digits


def canonical_iban(text: str) -> str:
    """Compact upper-case IBAN, checked for its country's length and format and mod 97."""
    compact = _SEPARATORS.sub("", text).upper().removeprefix("IBAN")
    if not _IBAN_SHAPE.fullmatch(compact):
        raise IndicatorError("not an IBAN (country code, 2 check digits, up to 30 letters/digits)")
    if not _IBAN_COUNTRIES.info(compact)[0][1]:
        raise IndicatorError(f"{compact[:2]} is not a country that issues IBANs")
    try:
        return stdnum_iban.validate(compact)
    except InvalidChecksum:
        raise IndicatorError("IBAN check digits (mod 97) do not match") from None
    except (InvalidLength, InvalidFormat, InvalidComponent):
        raise IndicatorError(f"wrong length or format for an IBAN of {compact[:2]}") from None
    except ValidationError as exc:
        raise IndicatorError(f"invalid IBAN: {exc.message}") from None


def canonical_bank_account(text: str) -> str:
    """``<3-digit bank code>:<digits>``, or the bare 20-digit CCI.

    Accepted input: a CCI (``002-191-001234567890-52``, optionally prefixed ``CCI``) or
    ``bank:number`` where bank is a 3-digit code or a name in BANK_CODES; separators (space,
    dot, dash, slash) are removed. A 20-digit number under a bank code that is a valid CCI
    of that bank becomes the CCI."""
    value = text.strip()
    if value.lower().startswith("cci"):
        return canonical_cci(_SEPARATORS.sub("", value[3:].lstrip(": ")))
    bank, sep, number = value.partition(":")
    if not sep:
        digits = _SEPARATORS.sub("", value)
        if len(digits) == 20:
            return canonical_cci(digits)
        raise IndicatorError(
            "write a bank account as 'bank-code:number' (e.g. 002:19112345678901) "
            "or as the 20-digit CCI"
        )
    bank = bank.strip().lower()
    code = BANK_CODES.get(bank, bank)
    if not _BANK.fullmatch(code):
        raise IndicatorError(f"unknown bank code {bank[:20]!r}: use the 3-digit code (002 = BCP)")
    digits = _SEPARATORS.sub("", number)
    if not _DIGITS.fullmatch(digits) or not 6 <= len(digits) <= 20:
        raise IndicatorError("an account number has 6 to 20 digits")
    if len(digits) == 20 and digits.startswith(code):
        try:
            return canonical_cci(digits)
        except IndicatorError:
            pass  # a 20-digit account number that is not a CCI
    return f"{code}:{digits}"
