"""``confianza eval`` reads the ground truth the simulator writes."""

from __future__ import annotations

from confianza.producers.simulate import SimulationConfig, generate
from confianza.streams.evaluate import evaluate
from confianza.streams.ingest import event_uid


def test_the_simulators_ground_truth_is_read() -> None:
    truth = generate(SimulationConfig(rate=5, duration=20, campaigns=2, seed=3)).truth.as_dict()
    first = truth["campaigns"][0]
    evidence = [
        {"event_uid": event_uid(ref["partner"], ref["event_id"])} for ref in first["events"]
    ]
    alert = {
        "alert_id": "a-1",
        "version": 1,
        "transition": "opened",
        "reasons": [],
        "evidence": evidence,
        "emitted_at": first["first_event_at"],
    }
    result = evaluate([alert], truth)
    assert [c.detected for c in result.per_campaign] == [True, False]
    assert result.precision == 1.0
