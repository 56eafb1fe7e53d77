"""The benchmark targets, in one place: every benchmark records them in its JSON and
``bench.report`` marks each figure met or not against them. They are reported, never asserted
in a timed test (docs/DESIGN.md, "Performance")."""

from __future__ import annotations

TARGET_EVENTS_PER_S = 20_000
"""Events/s end to end on one streams process (held, no queueing)."""
TARGET_RATIO = 0.5
"""That rate as a share of the raw Kafka pass-through of the same run."""
TARGET_SCALE_OUT = 1.8
"""Two streams processes ÷ one."""
TARGET_P50_MS, TARGET_P99_MS = 5.0, 20.0
"""Event → alert at 50 % of the maximum rate."""
TARGET_FAST = 200_000
"""Validation fast path, events/s per core."""
TARGET_DELIVERIES_PER_S = 5_000
"""Webhook deliveries/s from one delivery process."""
TARGET_DELIVERY_P99_MS = 50.0
"""The delivery stage's added latency below capacity (alert produced → webhook received)."""
TARGET_GROWTH = 0.10
"""Soak: RSS within this share of its level after warm-up."""
TARGET_INDICATORS = 1_000_000
"""Soak: distinct indicators the worker tracks."""
