"""Observability of Confianza workers: the metrics endpoint, consumer lag, a real Prometheus.

``server`` serves ``/metrics``, ``/healthz`` and ``/readyz`` from every worker process; ``lag``
measures consumer lag of every Confianza group and exports it; ``prometheus`` starts a real
Prometheus on 127.0.0.1 and checks the committed dashboards' queries against it.
"""
