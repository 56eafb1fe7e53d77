"""The subset of STIX 2.1 patterning that names indicator values: equality comparisons.

``indicators(pattern)`` is called by the STIX converter for every ``pattern_type: stix``
indicator. It accepts observation expressions joined by ``OR`` (``[a] OR [b]``), whose
comparisons are joined by ``OR``, or by ``AND`` when all of them are hashes of one file, and
whose comparisons are ``<path> = '<string>'`` on these paths:

==============================================  ===========
``url:value``                                   url
``domain-name:value``                           domain
``ipv4-addr:value`` (one address, ``/32``)      ipv4
``ipv6-addr:value`` (one address, ``/128``)     ipv6
``email-addr:value``                            email
``file:hashes.MD5`` / ``'SHA-1'`` / ``'SHA-256'``  md5 / sha1 / sha256
==============================================  ===========

Anything else (other operators, other paths, ``FOLLOWEDBY``, ``AND`` between observations,
qualifiers such as ``WITHIN``, ``NOT``) raises ``UnsupportedPattern`` with the reason: such a
pattern describes behaviour, not a value a partner can report.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<path>[a-z0-9][a-z0-9-]*:(?:[A-Za-z0-9_-]+|'[^']*')
        (?:\.(?:[A-Za-z0-9_-]+|'[^']*')|\[(?:\d+|\*)\])*)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<punct>[\[\]()])
  | (?P<word>[A-Za-z]+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
    """,
    re.VERBOSE,
)

_HASHES = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256"}
_VALUE_PATHS = {
    "url:value": "url",
    "domain-name:value": "domain",
    "ipv4-addr:value": "ipv4",
    "ipv6-addr:value": "ipv6",
    "email-addr:value": "email",
}
_QUALIFIERS = {"WITHIN", "REPEATS", "START", "STOP"}


class UnsupportedPattern(ValueError):
    """The pattern is outside the supported subset; the message says why."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None:
            raise UnsupportedPattern(f"cannot read the pattern at {pattern[position:][:20]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
    return tokens


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _kind_of(path: str) -> str:
    if path in _VALUE_PATHS:
        return _VALUE_PATHS[path]
    if path.startswith("file:hashes."):
        algorithm = path.removeprefix("file:hashes.").strip("'").lower()
        if algorithm in _HASHES:
            return _HASHES[algorithm]
    raise UnsupportedPattern(f"the object path {path} is not a supported indicator")


class _Parser:
    """Recursive descent over the supported subset; raises on anything else."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, text: str | None = None, kind: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            raise UnsupportedPattern("the pattern ends too early")
        if (text is not None and token.text.upper() != text) or (
            kind is not None and token.kind != kind
        ):
            raise UnsupportedPattern(f"unexpected {token.text!r} in the pattern")
        self.position += 1
        return token

    def pattern(self) -> list[tuple[str, str]]:
        found = self.observation()
        while (token := self.peek()) is not None and token.text.upper() == "OR":
            self.take()
            found += self.observation()
        return found

    def observation(self) -> list[tuple[str, str]]:
        token = self.take()
        if token.text == "(":
            found = self.pattern()
            self.take(")")
        elif token.text == "[":
            found, joins = self.comparisons()
            self.take("]")
            if "AND" in joins and not all(kind in _HASHES.values() for kind, _ in found):
                raise UnsupportedPattern(
                    "comparisons joined by AND must hold together, so no single value "
                    "is an indicator"
                )
        else:
            raise UnsupportedPattern(f"unexpected {token.text!r} in the pattern")
        return found

    def comparisons(self) -> tuple[list[tuple[str, str]], set[str]]:
        found, joins = self.comparison_term()
        while (token := self.peek()) is not None and token.text.upper() in {"AND", "OR"}:
            joins.add(self.take().text.upper())
            more, more_joins = self.comparison_term()
            found += more
            joins |= more_joins
        return found, joins

    def comparison_term(self) -> tuple[list[tuple[str, str]], set[str]]:
        if (token := self.peek()) is not None and token.text == "(":
            self.take("(")
            found, joins = self.comparisons()
            self.take(")")
            return found, joins
        path = self.take(kind="path").text
        kind = _kind_of(path)
        operator = self.take()
        if operator.text != "=":
            raise UnsupportedPattern(
                f"the operator {operator.text} is not an equality (only = is supported)"
            )
        literal = self.take()
        if literal.kind != "string":
            raise UnsupportedPattern(f"{path} is compared with {literal.text}, not a string")
        return [(kind, _unquote(literal.text))], set()


def _single_address(kind: str, value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise UnsupportedPattern(f"{value!r} is not an IP address") from None
    if network.num_addresses != 1:
        raise UnsupportedPattern(f"{value!r} is a network range, not one address")
    if f"ipv{network.version}" != kind:
        raise UnsupportedPattern(f"{value!r} is not an {kind} address")
    return str(network.network_address)


def indicators(pattern: str) -> list[tuple[str, str]]:
    """The ``(kind, value)`` pairs a supported pattern names, in pattern order."""
    tokens = _tokens(pattern)
    words = {t.text.upper() for t in tokens if t.kind == "word"}
    if "FOLLOWEDBY" in words:
        raise UnsupportedPattern("FOLLOWEDBY describes a sequence of observations")
    if words & _QUALIFIERS:
        qualifier = sorted(words & _QUALIFIERS)[0]
        raise UnsupportedPattern(f"the {qualifier} qualifier describes behaviour over time")
    if "NOT" in words:
        raise UnsupportedPattern("a negated comparison names no indicator")
    for keyword in ("LIKE", "MATCHES", "IN", "ISSUBSET", "ISSUPERSET", "EXISTS"):
        if keyword in words:
            raise UnsupportedPattern(f"the operator {keyword} is not an equality")
    parser = _Parser(tokens)
    found = parser.pattern()
    leftover = parser.peek()
    if leftover is not None:
        raise UnsupportedPattern(
            f"unexpected {leftover.text!r} after an observation "
            "(observations can only be joined by OR)"
        )
    return [
        (kind, _single_address(kind, value) if kind in {"ipv4", "ipv6"} else value)
        for kind, value in found
    ]
