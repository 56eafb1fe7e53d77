"""What a ``ChainRun`` proves: figures for the results table and the problems found.

Each ``*_audit`` function reads one run and returns a dict of figures plus ``problems`` (a list
of sentences; empty when the promise held). The promises:

- receipts: every acknowledged record has a receipt, all receipts of one record are the same
  bytes (re-emissions after a crash are identical, partners dedupe by coordinates), each has
  the status its kind must get, lands on the writer's own receipts topic and names the writer;
  every rejection has its dead letter;
- alerts: no (alert id, version) twice on ``alerts.v1``, versions without gaps, every
  ground-truth campaign detected;
- deliveries: every (alert, version, subscriber) the subscriptions want is settled, at most
  one ``delivered`` ledger record per key, and each receiver holds each delivered key once
  (after deduplication by its id) and nothing the ledger does not call delivered;
- disclosure: what each receiver got is what the TLP policy allows that subscriber, and the
  ledger's disclosed uids are exactly the evidence it got;
- secrets: no password or webhook secret in any log, metric, topic or capture.
"""

from __future__ import annotations

import base64
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from confianza.consumers.subscriptions import Subscriber
from confianza.schemas.topics import DLQ_INGEST, partner_of, receipts_topic
from confianza.streams.evaluate import evaluate
from tests.fuzz.check import PureStreams
from tests.reliability.chain import SETTLED, ChainRun, expected_keys

LEVELS = ("clear", "green", "amber", "amber+strict", "red")


def receipts_audit(run: ChainRun) -> dict[str, Any]:
    distinct: dict[tuple[str, int, int], set[bytes]] = {}
    copies = 0
    problems: list[str] = []
    statuses: dict[tuple[str, int, int], str] = {}
    for partner in run.partners:
        topic = receipts_topic(partner)
        for _, _, _, value in run.topics.get(topic, []):
            receipt = orjson.loads(value or b"{}")
            coord = (receipt["topic"], receipt["partition"], receipt["offset"])
            distinct.setdefault(coord, set()).add(value or b"")
            statuses[coord] = receipt["status"]
            copies += 1
            writer = partner_of(receipt["topic"])
            if writer != partner or receipt["partner"] != partner:
                problems.append(f"receipt of {coord} on {topic} names {receipt['partner']}")
    lost = sorted(set(run.acked) - set(distinct))
    if lost:
        problems.append(f"{len(lost)} acknowledged records have no receipt, e.g. {lost[:3]}")
    conflicting = [c for c, values in distinct.items() if len(values) > 1]
    if conflicting:
        problems.append(f"{len(conflicting)} records have differing receipts: {conflicting[:3]}")
    wrong = [
        (coord, planned.kind, statuses.get(coord))
        for coord, planned in run.acked.items()
        if planned.expect != "any" and coord in statuses and statuses[coord] != planned.expect
    ]
    if wrong:
        problems.append(f"{len(wrong)} receipts with the wrong status, e.g. {wrong[:3]}")
    letters = {(d["topic"], d["partition"], d["offset"]) for d in run.values(DLQ_INGEST)}
    undead = [c for c, s in statuses.items() if s == "rejected" and c not in letters]
    if undead:
        problems.append(f"{len(undead)} rejections without a dead letter, e.g. {undead[:3]}")
    kinds = Counter(p.kind for p in run.acked.values())
    return {
        "records_acknowledged": len(run.acked),
        "records_planned": run.planned,
        "send_failures": len(run.send_failures),
        "kinds": dict(kinds),
        "statuses": dict(Counter(statuses.values())),
        "receipts_lost": len(lost),
        "receipts_conflicting": len(conflicting),
        "receipts_reemitted_identical": copies - len(distinct),
        "dead_letters": len(letters),
        "problems": problems,
    }


def alerts_audit(run: ChainRun) -> dict[str, Any]:
    alerts = run.values("alerts.v1")
    versions = Counter((a["alert_id"], a["version"]) for a in alerts)
    repeated = [k for k, n in versions.items() if n > 1]
    problems: list[str] = []
    if repeated:
        problems.append(f"{len(repeated)} (alert id, version) pairs appear twice: {repeated[:3]}")
    by_id: dict[str, list[int]] = {}
    for alert_id, version in versions:
        by_id.setdefault(alert_id, []).append(version)
    gaps = [a for a, v in by_id.items() if sorted(v) != list(range(1, len(v) + 1))]
    if gaps:
        problems.append(f"{len(gaps)} alerts have version gaps: {gaps[:3]}")
    result = evaluate(alerts, run.truth)
    baseline = evaluate(fault_free_alerts(run), run.truth)
    detectable = {c.id for c in baseline.per_campaign if c.detected}
    missed = sorted(detectable - {c.id for c in result.per_campaign if c.detected})
    if missed:
        problems.append(f"campaigns detected without faults but not in this run: {missed}")
    return {
        "alert_versions": len(alerts),
        "alerts": len(by_id),
        "duplicate_versions": len(repeated),
        "campaigns": result.campaigns,
        "campaigns_detected": result.detected,
        "campaigns_detected_without_faults": baseline.detected,
        "undetected_even_without_faults": sorted(
            c.id for c in baseline.per_campaign if not c.detected
        ),
        "precision": round(result.precision, 3),
        "problems": problems,
    }


def fault_free_alerts(run: ChainRun) -> list[dict[str, Any]]:
    """The alerts the worker's own stages build from the same acknowledged records, in send
    order, with nothing killed (``tests/fuzz/check.PureStreams``): the detection baseline. A
    campaign the pipeline cannot detect even so is a scoring matter, not a fault's effect."""
    streams = PureStreams(dict(run.partners))
    try:
        for planned in sorted(run.acked.values(), key=lambda p: p.at):
            streams.feed(planned.payload, planned.partner)
    finally:
        streams.close()
    return streams.alerts


def _received(run: ChainRun) -> Iterator[tuple[str, str, bytes, dict[str, Any] | None]]:
    """(channel, idempotency key, raw bytes as received, gated alert or None) per capture."""
    for hook in run.webhooks:
        yield "webhook", str(hook.webhook_id), hook.raw, hook.body.get("data")
    for mail in run.mails:
        key = str(mail.message["X-Confianza-Idempotency-Key"]).strip()
        yield "email", key, mail.message.as_bytes(), None
    for lines in run.files.values():
        for line in lines:
            yield "file", line["idempotency_key"], orjson.dumps(line), line["alert"]


def deliveries_audit(run: ChainRun) -> dict[str, Any]:
    alerts = run.values("alerts.v1")
    ledger = run.values("deliveries.v1")
    wanted = expected_keys(alerts, run.subscriptions)
    outcomes: dict[str, Counter[str]] = {}
    notes: dict[str, list[str]] = {}
    for record in ledger:
        outcomes.setdefault(record["idempotency_key"], Counter())[record["outcome"]] += 1
        notes.setdefault(record["idempotency_key"], []).append(
            f"{record['at']} {record['outcome']}: {record['error']}"
        )
    settled = {k for k, c in outcomes.items() if SETTLED & set(c)}
    delivered = {k for k, c in outcomes.items() if c["delivered"]}
    problems: list[str] = []
    unsettled = sorted(set(wanted) - settled)
    if unsettled:
        problems.append(f"{len(unsettled)} wanted deliveries never settled: {unsettled[:3]}")
    stray = sorted(settled - set(wanted))
    if stray:
        problems.append(f"{len(stray)} settled keys nobody wanted: {stray[:3]}")
    twice = sorted(k for k, c in outcomes.items() if c["delivered"] > 1)
    if twice:
        problems.append(f"{len(twice)} keys delivered twice in the ledger: {twice[:3]}")
    both = sorted(k for k, c in outcomes.items() if c["delivered"] and c["filtered"])
    if both:
        problems.append(f"{len(both)} keys both delivered and filtered: {both[:3]}")
    received = Counter((channel, key) for channel, key, _, _ in _received(run))
    got = {key for _, key in received}
    resent = sum(n - 1 for n in received.values()) + run.webhook_duplicates
    missing = sorted(delivered - got)
    if missing:
        problems.append(f"{len(missing)} delivered keys never reached a receiver: {missing[:3]}")
    phantom = sorted(got - delivered)
    if phantom:
        ledger_says = {k: notes.get(k, []) for k in phantom[:3]}
        problems.append(
            f"{len(phantom)} received keys the ledger does not call delivered: {ledger_says}"
        )
    if run.webhook_rejected:
        problems.append(f"{run.webhook_rejected} webhooks failed signature verification")
    seen_twice = sorted(k for (c, k), n in received.items() if n > 1 and c == "webhook")
    if seen_twice:
        problems.append(f"webhook receiver recorded keys twice: {seen_twice[:3]}")
    final = Counter()
    for key in wanted:
        c = outcomes.get(key, Counter())
        final["delivered" if c["delivered"] else next((o for o in SETTLED if c[o]), "none")] += 1
    return {
        "deliveries_wanted": len(wanted),
        "outcomes": dict(final),
        "delivered": len(delivered),
        "ledger_delivered_twice": len(twice),
        "received": sum(received.values()) + run.webhook_duplicates,
        "receiver_resends_deduped": resent,
        "by_channel": dict(Counter(c for c, _ in received)),
        "problems": problems,
    }


def cleared(evidence: Mapping[str, Any], sub: Subscriber) -> bool:
    """The TLP table of docs/DESIGN.md, written out independently of the gate."""
    tlp = evidence["tlp"]
    if LEVELS.index(tlp) > LEVELS.index(sub.tlp_clearance):
        return False
    center = sub.audience == "center"
    return {
        "clear": True,
        "green": sub.audience != "public",
        "amber": center or sub.sector == evidence["sector"],
        "amber+strict": center or sub.organization == evidence["reporter"],
        "red": center and sub.analyst,
    }[tlp]


def withheld(alert: Mapping[str, Any], sub: Subscriber) -> tuple[set[str], set[str]]:
    """(uids the subscriber may see, strings it must never receive) for one alert version."""
    shown = {e["event_uid"] for e in alert["evidence"] if cleared(e, sub)}
    secret = {e["event_uid"] for e in alert["evidence"]} - shown
    for indicator in alert["indicators"]:
        if not shown.intersection(indicator["event_uids"]):
            secret |= {indicator["value"], indicator["key"]}
    disclosed = [
        text
        for indicator in alert["indicators"]
        if shown.intersection(indicator["event_uids"])
        for text in (indicator["value"], indicator["key"])
    ]
    # a withheld domain inside a disclosed URL is disclosed by that URL, not leaked
    return shown, {s for s in secret if not any(s in text for text in disclosed)}


def disclosure_audit(run: ChainRun) -> dict[str, Any]:
    alerts = {(a["alert_id"], a["version"]): a for a in run.values("alerts.v1")}
    ledger = {
        r["idempotency_key"]: r for r in run.values("deliveries.v1") if r["outcome"] == "delivered"
    }
    problems: list[str] = []
    checked = 0
    withheld_events = 0
    for channel, key, raw, gated in _received(run):
        alert_id, version, sub_id = key.rsplit(":", 2)
        sub = run.subscriptions.get(sub_id)
        alert = alerts.get((alert_id, int(version)))
        if sub is None or alert is None:
            problems.append(f"{channel} {key}: no such subscriber or alert version")
            continue
        checked += 1
        shown, secret = withheld(alert, sub)
        withheld_events += len(alert["evidence"]) - len(shown)
        if not shown:
            problems.append(f"{key}: sent although the subscriber is cleared for nothing")
        leaked = sorted(s for s in secret if s.encode() in raw)
        if leaked:
            problems.append(f"{channel} {key} carries withheld values: {leaked[:3]}")
        record = ledger.get(key)
        if record is None:
            continue
        if set(record["disclosed_event_uids"]) != shown:
            problems.append(
                f"{key}: ledger disclosed {record['disclosed_event_uids']}, policy {shown}"
            )
        if gated is not None:
            got = {e["event_uid"] for e in gated["evidence"]}
            if got != set(record["disclosed_event_uids"]):
                problems.append(f"{key}: received evidence {got} differs from the ledger")
            beyond = [e for e in gated["evidence"] if not cleared(e, sub)]
            if beyond:
                problems.append(f"{key}: evidence above clearance {beyond[:1]}")
    return {
        "deliveries_checked": checked,
        "evidence_withheld": withheld_events,
        "problems": problems,
    }


def _texts(run: ChainRun) -> Iterator[tuple[str, bytes]]:
    for name, text in run.logs.items():
        yield f"log {name}", text.encode()
    for name, text in run.metrics.items():
        yield f"metrics {name}", text.encode()
    for topic, records in run.topics.items():
        for partition, offset, key, value in records:
            yield f"topic {topic}[{partition}]@{offset}", (key or b"") + b"\x00" + (value or b"")
    for channel, key, raw, _ in _received(run):
        yield f"{channel} {key}", raw
    for hook in run.webhooks:
        headers = "\n".join(f"{k}: {v}" for k, v in hook.headers.items())
        yield f"webhook headers {hook.webhook_id}", headers.encode()
    for path in run.workdir.glob("*.yaml"):
        yield f"file {path.name}", path.read_bytes()


def secret_forms(secrets: Mapping[str, str]) -> dict[bytes, str]:
    """Each secret as it could appear: itself, and a webhook secret's base64 key."""
    forms: dict[bytes, str] = {}
    for name, value in secrets.items():
        forms[value.encode()] = name
        if value.startswith("whsec_"):
            forms[value.removeprefix("whsec_").encode()] = name
            forms[base64.b64decode(value.removeprefix("whsec_")).hex().encode()] = name
    return forms


def secrets_audit(run: ChainRun, extra: Iterable[tuple[str, bytes]] = ()) -> dict[str, Any]:
    forms = secret_forms(run.secrets)
    hits = []
    scanned = 0
    for where, data in [*_texts(run), *extra]:
        scanned += len(data)
        hits.extend(f"{name} in {where}" for form, name in forms.items() if form in data)
    return {
        "secrets": len(run.secrets),
        "bytes_scanned": scanned,
        "problems": hits[:20],
    }


def max_pause(run: ChainRun) -> float:
    """The longest time the receipt flow stood still while records were still to be answered."""
    changes = [run.load_started]
    last_total = None
    final = run.receipt_timeline[-1][1] if run.receipt_timeline else 0
    for at, total in run.receipt_timeline:
        if last_total is not None and total != last_total:
            changes.append(at)
        last_total = total
        if total >= final:
            break
    return round(max((b - a for a, b in itertools.pairwise(changes)), default=0.0), 1)
