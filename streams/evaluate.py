"""Detection quality: alerts on ``alerts.v1`` against the simulator's ground truth.

``confianza eval --truth FILE`` calls ``evaluate``. Ground truth is the simulator's file
(``confianza.producers.simulate.truth``): ``{"campaigns": [{"id", "events": [{"partner",
"event_id"}, ...], "first_event_at", ...}], ...}``; a campaign may list its events as
``"event_ids": [[partner, event_id], ...]`` instead (the form the streams tests build).

When the truth lists its ``partners`` (the simulator's does), only alerts whose reporters are
all among them are evaluated, so one simulation can be judged on a shared ``alerts.v1``.
An alert (its latest version) belongs to the campaign that contributed most of its evidence,
matched by event uid (uids are derived from (partner, event_id), exactly as ingest does). An
alert whose evidence is all noise is a false positive. Precision = alerts that belong to a
campaign / all alerts; recall = campaigns with at least one alert / all campaigns;
time-to-detect = first emission of a matching alert minus the campaign's first event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from confianza.streams.clock import epoch
from confianza.streams.ingest import event_uid


@dataclass(frozen=True)
class CampaignResult:
    id: str
    detected: bool
    alerts: list[str]
    time_to_detect_s: float | None
    events: int
    events_in_alerts: int


@dataclass(frozen=True)
class Evaluation:
    alerts: int
    true_positives: int
    false_positives: list[str]
    campaigns: int
    detected: int
    precision: float
    recall: float
    per_campaign: list[CampaignResult]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def latest_versions(alerts: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fold an alert stream into ``alert_id -> {latest, first_emitted_at, uids}``."""
    out: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        entry = out.setdefault(alert["alert_id"], {"latest": alert, "first": alert, "uids": set()})
        entry["uids"].update(e["event_uid"] for e in alert["evidence"])
        if alert["version"] >= entry["latest"]["version"]:
            entry["latest"] = alert
        if alert["emitted_at"] < entry["first"]["emitted_at"]:
            entry["first"] = alert
    return out


def _merged_away(alert: Mapping[str, Any]) -> bool:
    return alert["transition"] == "resolved" and any(
        r["rule"] == "lifecycle" and r["detail"].startswith("merged into") for r in alert["reasons"]
    )


def _event_refs(campaign: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A campaign's (partner, event_id) pairs, from either form of the module docstring."""
    if "events" in campaign:
        return [(ref["partner"], ref["event_id"]) for ref in campaign["events"]]
    return [(partner, event_id) for partner, event_id in campaign["event_ids"]]


def evaluate(alerts: Iterable[Mapping[str, Any]], truth: Mapping[str, Any]) -> Evaluation:
    """Score the alerts against the ground truth (see the module docstring)."""
    owner: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for campaign in truth["campaigns"]:
        uids = {event_uid(p, e) for p, e in _event_refs(campaign)}
        sizes[campaign["id"]] = len(uids)
        for uid in uids:
            owner[uid] = campaign["id"]
    roster = {p["partner"] for p in truth.get("partners", ())}
    if roster:  # a shared alerts topic: only alerts raised by this simulation's partners count
        alerts = (a for a in alerts if set(a.get("reporters", ())) <= roster)
    folded = latest_versions(alerts)
    matches: dict[str, list[tuple[str, float, set[str]]]] = {c: [] for c in sizes}
    false_positives = []
    counted = 0
    for alert_id, entry in sorted(folded.items()):
        if _merged_away(entry["latest"]):
            continue  # its evidence lives on in the alert it was merged into
        counted += 1
        votes = Counter(owner[u] for u in entry["uids"] if u in owner)
        if not votes:
            false_positives.append(alert_id)
            continue
        campaign_id, _ = votes.most_common(1)[0]
        matches[campaign_id].append((alert_id, epoch(entry["first"]["emitted_at"]), entry["uids"]))
    results = []
    for campaign in truth["campaigns"]:
        found = matches[campaign["id"]]
        ttd = None
        if found:
            ttd = min(t for _, t, _ in found) - epoch(campaign["first_event_at"])
        covered = set().union(*(u for _, _, u in found)) if found else set()
        results.append(
            CampaignResult(
                campaign["id"],
                bool(found),
                [a for a, _, _ in found],
                ttd,
                sizes[campaign["id"]],
                sum(1 for u in covered if owner.get(u) == campaign["id"]),
            )
        )
    tp = counted - len(false_positives)
    detected = sum(1 for r in results if r.detected)
    return Evaluation(
        alerts=counted,
        true_positives=tp,
        false_positives=false_positives,
        campaigns=len(results),
        detected=detected,
        precision=tp / counted if counted else 1.0,
        recall=detected / len(results) if results else 1.0,
        per_campaign=results,
    )
