"""The traffic simulator: realistic partner reports with cross-sector campaigns and a ground
truth, as a pure generator (``generate``) and as a sender (``run``, ``confianza simulate``)."""

from confianza.producers.simulate.traffic import (
    ConfigError,
    SimRecord,
    SimulationConfig,
    Traffic,
    generate,
)
from confianza.producers.simulate.truth import GroundTruth

__all__ = ["ConfigError", "GroundTruth", "SimRecord", "SimulationConfig", "Traffic", "generate"]
