"""Host names and IP addresses: refanging, canonical text, registered domain.

The registered domain comes from tldextract with the Public Suffix List snapshot bundled in
the package: no suffix list is downloaded and nothing is cached on disk. Private suffixes
(``github.io``, ``blogspot.com``...) count as suffixes, so two unrelated sites on one hosting
platform do not share a registered domain and are not linked by correlation.
"""

from __future__ import annotations

import ipaddress
import re

import idna
import tldextract

from confianza.schemas.indicators.errors import IndicatorError

_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)

# Defanging conventions seen in reports, MISP and STIX exports.
_REFANG = [
    (re.compile(r"^\s*h(?:xx|\*\*)p(s?)(?=\[?:)", re.IGNORECASE), r"http\1"),
    (re.compile(r"^\s*fxp(?=\[?:)", re.IGNORECASE), "ftp"),
    (re.compile(r"\[:\]//|\[://\]"), "://"),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE), "."),
    (re.compile(r"\[@\]|\(@\)|\[at\]|\(at\)", re.IGNORECASE), "@"),
    (re.compile(r"\[/\]"), "/"),
]

_ASCII_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.ASCII)


def refang(value: str) -> str:
    """Undo defanging: ``hxxps://bcp-com[.]pe`` -> ``https://bcp-com.pe``, ``a[@]b[.]pe``
    -> ``a@b.pe``, also ``(.)``, ``[:]``, ``[dot]``, ``[at]``. Surrounding space removed."""
    for pattern, replacement in _REFANG:
        value = pattern.sub(replacement, value)
    return value.strip()


def canonical_ipv4(text: str) -> str:
    """Dotted-quad text of an IPv4 address; leading zeros, ranges and ports are errors."""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise IndicatorError(f"not an IPv4 address: {text[:80]!r}") from None


def canonical_ipv6(text: str) -> str:
    """RFC 5952 text (compressed, lower case, IPv4-mapped in dotted form) of an IPv6
    address; brackets are accepted."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        raise IndicatorError("IPv6 zone identifiers are local to a host: remove the %zone")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise IndicatorError(f"not an IPv6 address: {text[:80]!r}") from None
    if address.ipv4_mapped is not None:  # RFC 5952 section 5: ::ffff:192.0.2.1
        return f"::ffff:{address.ipv4_mapped}"
    return address.compressed


def canonical_host(text: str) -> str:
    """Lower-case ASCII form of a domain name: IDNA (UTS 46) A-labels, no trailing dot.

    ASCII labels may hold underscores (seen in real phishing hosts); internationalized labels
    must pass IDNA 2008. At least two labels, each 1-63 characters, 253 in total."""
    host = text[:-1] if text.endswith(".") else text
    if not host:
        raise IndicatorError("empty host name")
    if host.isascii():
        host = host.lower()
        labels = host.split(".")
        if any(label.startswith("xn--") for label in labels):
            try:
                idna.decode(host)
            except idna.IDNAError as exc:
                raise IndicatorError(f"invalid punycode label in host name: {exc}") from None
        for label in labels:
            if not _ASCII_LABEL.fullmatch(label):
                raise IndicatorError(f"invalid label {label[:70]!r} in host name")
    else:
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise IndicatorError(f"invalid internationalized host name: {exc}") from None
        labels = host.split(".")
    if len(labels) < 2:
        raise IndicatorError("a host name needs at least two labels (e.g. example.pe)")
    if len(host) > 253:
        raise IndicatorError("host name longer than 253 characters")
    return host


def registered_domain(host: str) -> str | None:
    """The registrable domain (public suffix + one label) of a canonical host, e.g.
    ``login.bcp-com.pe`` -> ``bcp-com.pe``, ``fake.gob.pe`` -> ``fake.gob.pe``. None when the
    host is itself a public suffix. IndicatorError when its suffix is unknown."""
    parts = _EXTRACT(host)
    if not parts.suffix:
        raise IndicatorError(f"{host[:80]!r} does not end in a known public suffix")
    return parts.top_domain_under_public_suffix or None


def ip_address(host: str) -> str | None:
    """Canonical text if ``host`` is an IP literal (``1.2.3.4`` or ``[::1]``), else None."""
    if host.startswith("["):
        return canonical_ipv6(host)
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return None
