"""The subscriptions file: the example is valid; every kind of bad file is refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from confianza.consumers.subscriptions import (
    SubscriptionError,
    load_subscriptions,
    parse_duration,
    parse_subscriptions,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "subscriptions.example.yaml"

GOOD = """\
version: 1
subscribers:
  - id: bcp-soc
    audience: banking
    sector: banking
    organization: bcp
    channel: webhook
    target: https://soc.bcp.example/hook
    min_severity: medium
    tlp_clearance: amber
    secrets: {webhook_secret_env: WHSEC_BCP}
"""


def test_example_covers_the_audiences_and_every_channel() -> None:
    subs = load_subscriptions(EXAMPLE)
    assert {"banking", "telecom", "government", "public"} <= {s.audience for s in subs.subscribers}
    assert {s.channel for s in subs.subscribers} == {"webhook", "email", "chat", "syslog", "file"}
    analysts = [s for s in subs.subscribers if s.tlp_clearance == "red"]
    assert analysts
    assert all(s.audience == "center" and s.analyst for s in analysts)
    email = next(s for s in subs.subscribers if s.channel == "email")
    assert email.smtp is not None
    assert email.smtp.starttls
    assert email.smtp.password_env


def test_a_good_file_builds_subscribers_with_defaults() -> None:
    (sub,) = parse_subscriptions(GOOD).subscribers
    assert sub.id == "bcp-soc"
    assert sub.line == 3
    assert sub.webhook_secret_env == "WHSEC_BCP"
    assert sub.grouping.group_wait == 5.0
    assert sub.rate_limit.max == 50.0
    assert sub.wants("high", "fraud")
    assert not sub.wants("low", "fraud")


@pytest.mark.parametrize(
    ("change", "line", "fragment"),
    [
        (("min_severity: medium", "min_severity: severe"), 9, "/subscribers/0/min_severity"),
        (("https://soc.bcp.example/hook", "ftp://soc.bcp.example/x"), 8, "not an http(s) URL"),
        (("https://soc.bcp.example/hook", "file:///etc/passwd"), 8, "not an http(s) URL"),
        (("    secrets: {webhook_secret_env: WHSEC_BCP}\n", ""), 3, "'secrets' is a required"),
        (("sector: banking", "sector: retail"), 5, "not a sector"),
        (("tlp_clearance: amber", "tlp_clearance: amber\n    colour: blue"), 3, "colour"),
        (("channel: webhook", "channel: pager"), 7, "/subscribers/0/channel"),
        (("audience: banking", "audience: banking\n    analyst: true"), 4, "center"),
        (
            ("tlp_clearance: amber", "tlp_clearance: amber\n    rsit_classes: [spam]"),
            11,
            "not RSIT classes",
        ),
        (
            ("tlp_clearance: amber", "tlp_clearance: amber\n    grouping: {group_wait: soon}"),
            11,
            "group_wait",
        ),
    ],
)
def test_a_bad_field_is_reported_with_its_line(
    change: tuple[str, str], line: int, fragment: str
) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(SubscriptionError) as info:
        parse_subscriptions(text, "subs.yaml")
    assert f"subs.yaml:{line}:" in str(info.value)
    assert fragment in str(info.value)


def test_duplicate_ids_name_both_lines() -> None:
    body = GOOD.split("subscribers:\n")[1]
    with pytest.raises(
        SubscriptionError,
        match=r"subs.yaml:12: .*duplicate subscriber id 'bcp-soc' "
        r"\(first on line 3\)",
    ):
        parse_subscriptions(GOOD + body, "subs.yaml")


def test_broken_yaml_and_aliases_are_refused_with_the_line() -> None:
    with pytest.raises(SubscriptionError, match=r"subs.yaml:5: not valid YAML"):
        parse_subscriptions(
            GOOD.replace("    audience: banking", "    audience: [banking"), "subs.yaml"
        )
    aliased = GOOD + "  - &x {id: a}\n  - *x\n"
    with pytest.raises(SubscriptionError, match=r"subs.yaml:13: YAML aliases are not allowed"):
        parse_subscriptions(aliased, "subs.yaml")


def test_email_needs_a_relay_and_recipient_addresses() -> None:
    email = GOOD.replace("channel: webhook", "channel: email").replace(
        "target: https://soc.bcp.example/hook", "target: [soc@bcp.example]"
    )
    with pytest.raises(SubscriptionError, match="needs an smtp relay"):
        parse_subscriptions(email)
    relay = "smtp: {host: 127.0.0.1, sender: alertas@cnsd.example}\n"
    (sub,) = parse_subscriptions(email.replace("subscribers:", relay + "subscribers:")).subscribers
    assert sub.target == ("soc@bcp.example",)
    assert sub.smtp is not None
    with pytest.raises(SubscriptionError, match="target"):
        parse_subscriptions(
            email.replace("[soc@bcp.example]", "[not-an-address]").replace(
                "subscribers:", relay + "subscribers:"
            )
        )


def test_a_missing_secret_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    (sub,) = parse_subscriptions(GOOD).subscribers
    monkeypatch.delenv("WHSEC_BCP", raising=False)
    with pytest.raises(SubscriptionError, match="WHSEC_BCP is not set"):
        sub.secret(sub.webhook_secret_env)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SubscriptionError, match="cannot read"):
        load_subscriptions(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("version: 1 # año\n".encode("latin-1"))
    with pytest.raises(SubscriptionError, match="not UTF-8"):
        load_subscriptions(latin)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SubscriptionError, match="empty"):
        load_subscriptions(empty)


def test_durations() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("4h") == 14400.0
    assert parse_duration(3) == 3.0
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")
