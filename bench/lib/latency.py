"""Latency recording with HdrHistogram: microsecond resolution, 3 significant digits.

A ``Latency`` takes durations in seconds (``record``) and reports the percentiles the
benchmarks publish (``summary``: p50, p90, p99, p99.9, max, mean, in milliseconds), a compact
CDF for plotting (``cdf``), and the histogram itself in HdrHistogram's base64 form
(``encoded``), so any other percentile can be read from a result file later.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is a failure, not a latency
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99_9": 99.9}


class Latency:
    """One distribution of durations (seconds in, milliseconds out)."""

    def __init__(self) -> None:
        self._hist = HdrHistogram(LOWEST_US, HIGHEST_US, 3)

    def record(self, seconds: float) -> None:
        """Add one duration; negative ones (clock granularity) count as 1 us."""
        self._hist.record_value(min(HIGHEST_US, max(LOWEST_US, round(seconds * 1e6))))

    @property
    def count(self) -> int:
        return self._hist.get_total_count()

    def summary(self) -> dict[str, Any]:
        """Count and p50/p90/p99/p99.9/max/mean in ms (None when nothing was recorded)."""
        if not self.count:
            return {"count": 0, **dict.fromkeys([*PERCENTILES, "max", "mean"])}
        values = {
            name: self._hist.get_value_at_percentile(p) / 1000 for name, p in PERCENTILES.items()
        }
        return {
            "count": self.count,
            **values,
            "max": self._hist.get_max_value() / 1000,
            "mean": round(self._hist.get_mean_value() / 1000, 3),
        }

    def cdf(self) -> list[tuple[float, float]]:
        """``(percentile, ms)`` points, denser towards the tail (for the CDF plots)."""
        if not self.count:
            return []
        return [
            (round(step.percentile_level_iterated_to, 4), step.value_iterated_to / 1000)
            for step in self._hist.get_percentile_iterator(5)
        ]

    def encoded(self) -> str:
        """The histogram in HdrHistogram's compressed base64 form."""
        return self._hist.encode().decode("ascii") if self.count else ""

    def report(self) -> dict[str, Any]:
        """Everything a result file keeps of this distribution."""
        return {**self.summary(), "cdf": self.cdf(), "hdr": self.encoded()}
