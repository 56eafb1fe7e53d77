"""The metric catalog: every Prometheus metric Confianza exports is declared here, once.

Workers import the objects they update; dashboards, alert rules and the lint test read the same
names. Conventions: ``confianza_`` prefix, base units (seconds, bytes), ``_total`` counters, and
only the bounded labels in ``ALLOWED_LABELS`` — never an event uid or an alert id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ALLOWED_LABELS = frozenset(
    {
        "partner",
        "sector",
        "stage",
        "channel",
        "outcome",
        "severity",
        "transition",
        "reason",
        "topic",
        "group",
        "state",
        "role",
        "kind",
        "subscriber",
    }
)

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
E2E_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# --- ingest (streams) -------------------------------------------------------------------
EVENTS_RECEIVED = Counter(
    "confianza_events_received_total", "Records read from partner ingest topics.", ["partner"]
)
EVENTS_ACCEPTED = Counter(
    "confianza_events_accepted_total", "Events accepted (valid, first sighting).", ["partner"]
)
EVENTS_DUPLICATE = Counter(
    "confianza_events_duplicate_total",
    "Events re-sent with a known (reporter, event_id).",
    ["partner"],
)
EVENTS_REJECTED = Counter(
    "confianza_events_rejected_total",
    "Records rejected, by reason (oversize, not-utf8, not-json, schema, unknown-partner, "
    "over-budget).",
    ["partner", "reason"],
)
INDICATORS_INVALID = Counter(
    "confianza_indicators_invalid_total",
    "Indicator values that failed normalization.",
    ["partner", "kind"],
)
STAGE_SECONDS = Histogram(
    "confianza_stage_duration_seconds",
    "Processing time of one record in one stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)

# --- correlation, scoring, alerts (streams) ---------------------------------------------
TRACKED_INDICATORS = Gauge(
    "confianza_tracked_indicators", "Indicators held in correlation state by this worker."
)
OPEN_CAMPAIGNS = Gauge("confianza_open_campaigns", "Campaigns held in state by this worker.")
ROCKSDB_MEMORY = Gauge(
    "confianza_rocksdb_memory_bytes",
    "Memory held by this worker's RocksDB table databases, by kind: memtables, block_cache, "
    "table_readers (each bounded per database by the worker's RocksDB options).",
    ["kind"],
)
STATE_EVICTIONS = Counter(
    "confianza_state_evictions_total", "State entries dropped by a cap or TTL.", ["kind"]
)
ALERTS_EMITTED = Counter(
    "confianza_alerts_total",
    "Alert versions emitted, by severity and transition.",
    ["severity", "transition"],
)
E2E_ALERT_SECONDS = Histogram(
    "confianza_event_to_alert_seconds",
    "From an event's reported_at to the alert version it contributed to being emitted.",
    buckets=E2E_BUCKETS,
)

# --- delivery (consumers) ---------------------------------------------------------------
DELIVERIES = Counter(
    "confianza_deliveries_total",
    "Delivery attempts by channel and outcome.",
    ["channel", "outcome"],
)
DELIVERY_RETRIES = Counter(
    "confianza_delivery_retries_total",
    "Retries scheduled after a retryable outcome.",
    ["channel"],
)
SUBSCRIBERS_DISABLED = Counter(
    "confianza_subscribers_disabled_total", "Subscribers disabled (HTTP 410 Gone).", ["channel"]
)
CIRCUIT_STATE = Gauge(
    "confianza_circuit_state",
    "Per-channel count of subscriber circuit breakers in each state (closed, open, half_open).",
    ["channel", "state"],
)
DELIVERY_SECONDS = Histogram(
    "confianza_delivery_duration_seconds",
    "Time one send took on a channel.",
    ["channel"],
    buckets=STAGE_BUCKETS,
)
E2E_DELIVERED_SECONDS = Histogram(
    "confianza_event_to_delivery_seconds",
    "From the newest evidence's reported_at to the alert being delivered.",
    ["channel"],
    buckets=E2E_BUCKETS,
)

# --- shared -------------------------------------------------------------------------------
DLQ_RECORDS = Counter(
    "confianza_dlq_records_total", "Records written to a dead-letter topic.", ["topic"]
)
CONSUMER_LAG = Gauge(
    "confianza_consumer_lag_messages",
    "End offset minus committed offset, summed over a topic's partitions.",
    ["group", "topic"],
)
GC_FULL_PAUSE_SECONDS = Histogram(
    "confianza_gc_full_pause_seconds",
    "Pause of each full (oldest-generation) garbage collection in this worker process.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
