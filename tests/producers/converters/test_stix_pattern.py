"""The STIX pattern subset: equality comparisons that name indicator values."""

from __future__ import annotations

import pytest

from confianza.producers.converters.stix_pattern import UnsupportedPattern, indicators


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[url:value = 'https://bcp-zonasegura.online/login']",
         [("url", "https://bcp-zonasegura.online/login")]),
        ("[domain-name:value='consulta-dni.com']", [("domain", "consulta-dni.com")]),
        ("[ipv4-addr:value = '198.51.100.7']", [("ipv4", "198.51.100.7")]),
        ("[ipv4-addr:value = '198.51.100.7/32']", [("ipv4", "198.51.100.7")]),
        ("[ipv6-addr:value = '2001:db8::1/128']", [("ipv6", "2001:db8::1")]),
        ("[email-addr:value = 'soporte@yape-premios.info']",
         [("email", "soporte@yape-premios.info")]),
        ("[file:hashes.MD5 = '9e107d9d372bb6826bd81d3542a419d6']",
         [("md5", "9e107d9d372bb6826bd81d3542a419d6")]),
        ("[file:hashes.'SHA-1' = '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12']",
         [("sha1", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")]),
        ("[file:hashes.SHA256 = 'ab' ]", [("sha256", "ab")]),
        # Hashes of one file joined by AND are all indicators of that file.
        ("[file:hashes.'SHA-256' = 'aa' AND file:hashes.MD5 = 'bb']",
         [("sha256", "aa"), ("md5", "bb")]),
        ("[domain-name:value = 'a.pe' OR domain-name:value = 'b.pe'] OR [url:value = 'http://c.pe/']",
         [("domain", "a.pe"), ("domain", "b.pe"), ("url", "http://c.pe/")]),
        ("([url:value = 'http://x.pe/a'] OR ([url:value = 'http://x.pe/b']))",
         [("url", "http://x.pe/a"), ("url", "http://x.pe/b")]),
        ("[(url:value = 'http://x.pe/a' OR url:value = 'http://x.pe/b')]",
         [("url", "http://x.pe/a"), ("url", "http://x.pe/b")]),
        (r"[url:value = 'http://x.pe/it\'s']", [("url", "http://x.pe/it's")]),
    ],
)  # fmt: skip
def test_supported_patterns(pattern: str, expected: list[tuple[str, str]]) -> None:
    assert indicators(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[url:value LIKE 'http://%.pe']", "the operator LIKE is not an equality"),
        ("[url:value MATCHES '^http']", "the operator MATCHES is not an equality"),
        ("[ipv4-addr:value != '1.2.3.4']", "the operator != is not an equality"),
        ("[ipv4-addr:value = '10.0.0.0/8']", "is a network range, not one address"),
        ("[ipv4-addr:value = '2001:db8::1']", "is not an ipv4 address"),
        ("[network-traffic:dst_port = 443]", "network-traffic:dst_port is not a supported"),
        ("[file:hashes.'SHA-512' = 'aa']", "is not a supported indicator"),
        ("[url:value = 'http://a.pe'] AND [url:value = 'http://b.pe']",
         "observations can only be joined by OR"),
        ("[url:value = 'http://a.pe'] FOLLOWEDBY [url:value = 'http://b.pe']", "FOLLOWEDBY"),
        ("[url:value = 'http://a.pe'] WITHIN 300 SECONDS", "the WITHIN qualifier"),
        ("[url:value = 'http://a.pe' AND domain-name:value = 'a.pe']", "must hold together"),
        ("[url:value NOT = 'http://a.pe']", "negated"),
        ("[url:value = 'unterminated]", "cannot read the pattern"),
        ("[url:value = 'http://a.pe'", "ends too early"),
        ("url:value = 'http://a.pe'", "unexpected"),
    ],
)  # fmt: skip
def test_unsupported_patterns_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(UnsupportedPattern, match=None) as caught:
        indicators(pattern)
    assert reason in str(caught.value)
