"""Phone numbers and email addresses.

Phones: E.164 via phonenumbers, default region PE, so ``987 654 321`` (a mobile: 9 digits
starting with 9, also the key of Yape/Plin transfers), ``+51 987654321`` and
``(01) 411-1111`` (Lima landline) all read as Peruvian numbers. Only digits, spaces and
``+ ( ) - . /`` are accepted: letters (vanity numbers, extensions) are refused rather than
guessed.

Email: domain lower case in IDNA A-labels; the local part is lower-cased too -- every large
provider treats it case-insensitively, and a missed correlation costs more than the rare
mailbox whose case matters. Provider-specific aliasing (dots, +tags) is kept as written.
"""

from __future__ import annotations

import re

import phonenumbers

from confianza.schemas.indicators.errors import IndicatorError
from confianza.schemas.indicators.hosts import canonical_host, registered_domain

DEFAULT_REGION = "PE"
_PHONE_CHARS = re.compile(r"\+?[0-9 ()\-./]+", re.ASCII)
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def canonical_phone(text: str) -> str:
    """E.164 text (``+51987654321``) of a valid phone number."""
    value = text.strip()
    if value.lower().startswith("tel:"):
        value = value[4:].strip()
    if not _PHONE_CHARS.fullmatch(value) or not any(c.isdigit() for c in value):
        raise IndicatorError("a phone number holds only digits, spaces and + ( ) - . /")
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise IndicatorError(f"not a phone number: {exc._msg}") from None
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_country_code(number.country_code)
        code = number.country_code
        raise IndicatorError(f"not a valid phone number for region {region} (+{code})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def canonical_email(text: str) -> tuple[str, str | None]:
    """``(canonical address, registered domain of its domain)`` of a refanged address."""
    value = text.strip().removeprefix("<").removesuffix(">")
    if value.lower().startswith("mailto:"):
        value = value[7:]
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise IndicatorError("an email address needs a local part, '@' and a domain")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise IndicatorError("invalid local part (before '@') of the email address")
    host = canonical_host(domain)
    address = f"{local.lower()}@{host}"
    if len(address) > 254:
        raise IndicatorError("email address longer than 254 characters")
    return address, registered_domain(host)
