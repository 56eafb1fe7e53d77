"""Indicator normalization: canonical values, correlation keys, registered domains and the
reasons given for invalid values, on the spellings partners really send."""

from __future__ import annotations

import socket

import pytest

from confianza.schemas.indicators import (
    Indicator,
    IndicatorError,
    InvalidIndicator,
    normalize,
    normalize_all,
    refang,
)
from confianza.schemas.indicators.accounts import cci_check_digits
from confianza.schemas.indicators.hosts import registered_domain
from confianza.schemas.taxonomy import INDICATOR_KINDS
from confianza.schemas.validate import FieldError

CCI = "002191001234567890" + cci_check_digits("002191001234567890")  # BCP, branch 191
ASSERT_CCI = "00219100123456789053"
HOMOGRAPH = "http://\u0430\u0440\u0440\u04cf\u0435.com/"  # "apple" in Cyrillic letters
P2PKH = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"

# (kind, value as reported, canonical value, registered domain)
VALID: list[tuple[str, str, str, str | None]] = [
    # URLs: refanging, case, default ports, percent-encoding, dot segments, IDNA, fragments
    ("url", "hxxps://bcp-com[.]pe/login", "https://bcp-com.pe/login", "bcp-com.pe"),
    ("url", "hXXps[:]//bcp-com(.)pe/login", "https://bcp-com.pe/login", "bcp-com.pe"),
    ("url", "hxxp://interbank-pe[.]online", "http://interbank-pe.online/", "interbank-pe.online"),
    ("url", "HTTP://EXAMPLE.com:80", "http://example.com/", "example.com"),
    ("url", "https://Login.BCP-com.PE:443/", "https://login.bcp-com.pe/", "bcp-com.pe"),
    ("url", "https://example.com:8443/x", "https://example.com:8443/x", "example.com"),
    ("url", "ftp://files.example.com:21/x", "ftp://files.example.com/x", "example.com"),
    ("url", "http://example.com/%7Euser/%41%2fb", "http://example.com/~user/A%2Fb", "example.com"),
    ("url", "http://example.com/?q=%e2%82%ac", "http://example.com/?q=%E2%82%AC", "example.com"),
    ("url", "http://example.com/a b/ñ", "http://example.com/a%20b/%C3%B1", "example.com"),
    ("url", "http://example.com/a/./b/../../c/", "http://example.com/c/", "example.com"),
    ("url", "http://example.com/100%", "http://example.com/100%25", "example.com"),
    ("url", "http://example.com./x#frag", "http://example.com/x", "example.com"),
    ("url", "http://example.com/P?B=2&a=1", "http://example.com/P?B=2&a=1", "example.com"),
    ("url", "www.viabcp.com.pe/app", "http://www.viabcp.com.pe/app", "viabcp.com.pe"),
    ("url", "http://bücher.de/", "http://xn--bcher-kva.de/", "xn--bcher-kva.de"),
    ("url", HOMOGRAPH, "http://xn--80ak6aa92e.com/", "xn--80ak6aa92e.com"),
    ("url", "http://www.bcp.com.pe@evil.xyz/", "http://www.bcp.com.pe@evil.xyz/", "evil.xyz"),
    ("url", "http://fake.gob.pe/bono", "http://fake.gob.pe/bono", "fake.gob.pe"),
    ("url", "http://a.b.fake.gob.pe/", "http://a.b.fake.gob.pe/", "fake.gob.pe"),
    ("url", "https://evil.github.io/bcp", "https://evil.github.io/bcp", "evil.github.io"),
    ("url", "http://a_b.example.com/", "http://a_b.example.com/", "example.com"),
    ("url", "http://1.2.3.4:80/x", "http://1.2.3.4/x", None),
    ("url", "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/", None),
    # domains
    ("domain", "WWW.BCP.COM.PE", "www.bcp.com.pe", "bcp.com.pe"),
    ("domain", "Fake.GOB.pe.", "fake.gob.pe", "fake.gob.pe"),
    ("domain", "bcp-com[.]pe", "bcp-com.pe", "bcp-com.pe"),
    ("domain", "mañana.com.pe", "xn--maana-pta.com.pe", "xn--maana-pta.com.pe"),
    ("domain", "gob.pe", "gob.pe", None),  # a public suffix itself
    # IP addresses
    ("ipv4", "185.234.72[.]19", "185.234.72.19", None),
    ("ipv4", " 8.8.8.8 ", "8.8.8.8", None),
    ("ipv6", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1", None),
    ("ipv6", "[2001:db8::1]", "2001:db8::1", None),
    ("ipv6", "::FFFF:1.2.3.4", "::ffff:1.2.3.4", None),
    # email
    ("email", "Soporte.BCP[@]gmail[.]com", "soporte.bcp@gmail.com", "gmail.com"),
    ("email", "mailto:Info@BCP.com.pe", "info@bcp.com.pe", "bcp.com.pe"),
    ("email", "<juan@Bücher.de>", "juan@xn--bcher-kva.de", "xn--bcher-kva.de"),
    # phones (default region PE)
    ("phone", "+51 987654321", "+51987654321", None),
    ("phone", "987 654 321", "+51987654321", None),
    ("phone", "987-654-321", "+51987654321", None),
    ("phone", "0051 987 654 321", "+51987654321", None),
    ("phone", "tel:+51987654321", "+51987654321", None),
    ("phone", "(01) 411-1111", "+5114111111", None),
    ("phone", "+51 1 411 1111", "+5114111111", None),
    ("phone", "+1 202 555 0100", "+12025550100", None),
    # banking
    ("iban", "GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", None),
    ("iban", "iban de89 3704 0044 0532 0130 00", "DE89370400440532013000", None),
    ("bank-account", ASSERT_CCI, ASSERT_CCI, None),
    ("bank-account", "CCI 002-191-001234567890-53", ASSERT_CCI, None),
    ("bank-account", "cci: 00219100123456789053", ASSERT_CCI, None),
    ("bank-account", "002:191-12345678-0-11", "002:19112345678011", None),
    ("bank-account", "BCP:19112345678011", "002:19112345678011", None),
    ("bank-account", "interbank: 200 3001234567", "003:2003001234567", None),
    ("bank-account", "002:" + ASSERT_CCI, ASSERT_CCI, None),  # a CCI written under its bank
    # wallets
    ("crypto-wallet", P2PKH, P2PKH, None),
    ("crypto-wallet", P2SH, P2SH, None),
    (
        "crypto-wallet",
        "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        None,
    ),
    (
        "crypto-wallet",
        "0xAbC0000000000000000000000000000000000001",
        "0xabc0000000000000000000000000000000000001",
        None,
    ),
    ("crypto-wallet", TRON, TRON, None),
    # hashes
    ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", None),
    ("sha1", SHA1.upper(), SHA1, None),
    (
        "sha256",
        " E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 ",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        None,
    ),
]

# (kind, value, a fragment of the reason)
INVALID: list[tuple[str, str, str]] = [
    ("url", "javascript:alert(1)", "scheme"),
    # found by fuzzing: 1,019 characters that percent-encode to 6,019, over the value bound
    ("url", "https://fraude.com/" + "ñ" * 1000, "canonical form longer than 2048"),
    ("url", "mailto:a@b.pe", "scheme"),
    ("url", "http://localhost/", "two labels"),
    ("url", "http://ex ample.com/", "invalid label"),
    ("url", "http://-a.example.com/", "invalid label"),
    ("url", "http://xn--zz.com/", "punycode"),
    ("url", "http://example.com:99999/", "Port out of range"),
    ("url", "http://192.168.001.1/", "IPv4"),
    ("url", "http://bcp-login.zzzz/", "public suffix"),
    ("url", "http://example.com/\nx", "control characters"),
    ("url", "   ", "empty"),
    ("domain", "https://x.com/a", "use kind url"),
    ("domain", "*.evil.com", "wildcard"),
    ("domain", "bcp-login.zzzz", "public suffix"),
    ("ipv4", "1.2.3.4/32", "not an IPv4"),
    ("ipv4", "01.2.3.4", "not an IPv4"),
    ("ipv4", "256.1.1.1", "not an IPv4"),
    ("ipv6", "fe80::1%eth0", "zone"),
    ("ipv6", "2001:db8:::1", "not an IPv6"),
    ("email", "a@b", "two labels"),
    ("email", "@b.com", "local part"),
    ("email", "a b@c.com", "local part"),
    ("phone", "887654321", "not a valid phone number"),  # no such Peruvian range
    ("phone", "98765432", "not a valid phone number"),  # a digit short
    ("phone", "1-800-FLOWERS", "only digits"),
    ("phone", "call 987654321", "only digits"),
    ("iban", "GB82WEST12345698765433", "mod 97"),
    ("iban", "DE89370400440532013001", "mod 97"),
    ("iban", "XX89370400440532013000", "not a country"),
    ("iban", "PE12345", "not an IBAN"),
    ("bank-account", "00219100123456789050", "check digits are 50, expected 53"),
    ("bank-account", "12345678", "bank-code:number"),
    ("bank-account", "xyz:123456789", "unknown bank code"),
    ("bank-account", "002:12-34", "6 to 20 digits"),
    ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "checksum"),
    ("crypto-wallet", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "checksum"),
    ("crypto-wallet", "0x123", "not a valid"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427", "32 hex digits, not 31"),
    ("sha256", "z" * 64, "hexadecimal"),
    ("url", "x" * 2049, "longer than 2048"),
]


@pytest.mark.parametrize(("kind", "value", "canonical", "domain"), VALID)
def test_canonical_value_key_and_registered_domain(
    kind: str, value: str, canonical: str, domain: str | None
) -> None:
    indicator = normalize(kind, value, "phishing")
    assert indicator == Indicator(kind, canonical, "phishing", f"{kind}:{canonical}", domain)


@pytest.mark.parametrize(("kind", "value", "canonical", "domain"), VALID)
def test_normalization_is_idempotent(
    kind: str, value: str, canonical: str, domain: str | None
) -> None:
    assert normalize(kind, canonical).value == canonical


@pytest.mark.parametrize(("kind", "value", "reason"), INVALID)
def test_invalid_value_has_a_reason(kind: str, value: str, reason: str) -> None:
    with pytest.raises(IndicatorError) as info:
        normalize(kind, value)
    assert reason in info.value.reason
    assert isinstance(info.value, ValueError)


def test_every_kind_has_valid_cases() -> None:
    assert {case[0] for case in VALID} == set(INDICATOR_KINDS)


def test_cci_check_digits() -> None:
    assert CCI == ASSERT_CCI
    # bank+branch 003200: 0 0 3 2*2 0 0 -> 7 -> 3; account 003000123456: weights 1,2,1,2...
    # -> 0 0 3 0 0 0 1 4 3 8 5 (12 -> 1+2) = 27 -> 3
    assert cci_check_digits("003200003000123456") == "33"


def test_url_and_domain_share_the_registered_domain() -> None:
    url = normalize("url", "hxxps://login.bcp-com[.]pe/x")
    domain = normalize("domain", "bcp-com.pe")
    assert url.registered_domain == domain.registered_domain == domain.value


def test_unknown_kind_and_role() -> None:
    with pytest.raises(IndicatorError, match="unknown indicator kind"):
        normalize("btc", "x")
    with pytest.raises(IndicatorError, match="unknown indicator role"):
        normalize("md5", "d41d8cd98f00b204e9800998ecf8427e", "boss")


def test_refang() -> None:
    assert refang(" hxxps[://]bcp[.]com(.)pe[/]x ") == "https://bcp.com.pe/x"
    assert refang("user[at]mail[dot]pe") == "user@mail.pe"


def test_normalize_all_reports_every_invalid_value_with_its_index() -> None:
    indicators = [
        {"kind": "phone", "value": "987 654 321", "role": "scam-contact"},
        {"kind": "phone", "value": "12"},
        {"kind": "url", "value": "hxxps://bcp-com[.]pe/login"},
        {"kind": "iban", "value": "GB82WEST12345698765433"},
        {"kind": "phone", "value": "+51987654321"},
        "not an object",
        {"kind": "md5"},
    ]
    valid, invalid = normalize_all(indicators)  # type: ignore[arg-type]
    assert [i.key for i in valid] == [
        "phone:+51987654321",
        "url:https://bcp-com.pe/login",
        "phone:+51987654321",  # duplicates are kept
    ]
    assert valid[0].role == "scam-contact"
    assert valid[1].role == "unspecified"
    assert [(i.index, i.kind) for i in invalid] == [
        (1, "phone"),
        (3, "iban"),
        (5, "None"),
        (6, "md5"),
    ]
    assert invalid[1] == InvalidIndicator(
        3, "iban", "GB82WEST12345698765433", "IBAN check digits (mod 97) do not match"
    )
    assert invalid[1].field_error() == FieldError(
        "/indicators/3/value", "invalid iban: IBAN check digits (mod 97) do not match"
    )


def test_suffix_list_is_the_bundled_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network at run time: a fresh extractor works with sockets disabled."""
    import tldextract

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    assert extract("x.fake.gob.pe").top_domain_under_public_suffix == "fake.gob.pe"
    assert registered_domain("login.bcp-com.pe") == "bcp-com.pe"
