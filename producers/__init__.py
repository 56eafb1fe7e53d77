"""The partner side of Confianza: the ``Reporter`` SDK, ``confianza send`` and
``confianza simulate``, and the converters from CSV, MISP and STIX 2.1."""

from confianza.producers.sdk import EventRejected, Reporter, ReporterError

__all__ = ["EventRejected", "Reporter", "ReporterError"]
