"""Canonical form of a URL, the identity of a phishing or malware URL across reports.

Rules (RFC 3986 section 6 normalization, plus what makes two reports of one page match):
scheme and host lower case, host in IDNA A-labels without trailing dot, default port removed,
percent-escapes of unreserved characters decoded and the others upper-cased, characters that
must be escaped escaped (UTF-8), dot segments removed, empty path ``/``, fragment dropped (it
never reaches the server). A URL without a scheme is read as ``http://``. Query order and
path case are kept: they can tell two phishing kits apart.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from confianza.schemas.indicators.errors import IndicatorError
from confianza.schemas.indicators.hosts import canonical_host, ip_address, registered_domain

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_OTHER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])")  # mailto:, javascript:...
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_CHARS = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_CHARS = _PATH_CHARS | frozenset("?")
_USER_CHARS = _UNRESERVED | frozenset("!$&'()*+,;=:")
_NUMERIC_HOST = re.compile(r"[0-9.]+", re.ASCII)
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _escape_char(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _normalize_escapes(part: str, allowed: frozenset[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(part):
        char = part[i]
        if char == "%":
            m = _ESCAPE.match(part, i)
            if m is None:  # a stray '%' is data
                out.append("%25")
            else:
                decoded = chr(int(m.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + m.group(1).upper())
                i += 3
                continue
        elif char in allowed:
            out.append(char)
        else:
            out.append(_escape_char(char))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")[1:]
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments and segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


def canonical_url(text: str) -> tuple[str, str | None]:
    """``(canonical URL, registered domain or None for an IP host)`` of a refanged URL."""
    if any(c in text for c in "\r\n\t\x00"):
        raise IndicatorError("URL holds control characters")
    if not _HAS_SCHEME.match(text):
        if _OTHER_SCHEME.match(text):
            raise IndicatorError("unsupported URL scheme (http, https or ftp)")
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise IndicatorError(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise IndicatorError(f"unsupported URL scheme {scheme[:20]!r} (http, https or ftp)")
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    host_text = hostport
    if host_text.startswith("["):
        host_text = host_text[: host_text.index("]") + 1]
    elif ":" in host_text:
        host_text = host_text.rsplit(":", 1)[0]
    if not host_text:
        raise IndicatorError("URL has no host")
    ip = ip_address(host_text)
    if ip is None and _NUMERIC_HOST.fullmatch(host_text):
        raise IndicatorError(f"invalid IPv4 address {host_text[:40]!r} in URL host")
    if ip is not None:
        host, domain = (f"[{ip}]" if ":" in ip else ip), None
    else:
        host = canonical_host(host_text)
        domain = registered_domain(host)
    authority = host
    if userinfo:
        authority = _normalize_escapes(userinfo, _USER_CHARS) + "@" + host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        authority += f":{port}"
    path = _remove_dot_segments(_normalize_escapes(parts.path or "/", _PATH_CHARS))
    url = f"{scheme}://{authority}{path}"
    if parts.query:
        url += "?" + _normalize_escapes(parts.query, _QUERY_CHARS)
    return url, domain
