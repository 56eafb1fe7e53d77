"""The whole chain as separate processes, under load and faults, and everything it left behind.

``run_chain(plan, cluster, workdir)`` provisions a broker (topics, the three services, the
plan's partners), starts in-process receivers (a verifying webhook receiver, an SMTP sink with
a password, JSON-lines files for the file channel), the streams worker and one delivery worker
per channel as real ``confianza`` processes (each in its own process group), then:

1. sends simulator traffic plus hostile, spoofed and borrowed-id records, each with the
   partner's own principal, paced in a thread that records every acknowledged record by its
   coordinates (topic, partition, offset);
2. meanwhile kills processes with SIGKILL at the plan's moments and restarts them, and, if
   the plan says so, SIGKILLs the broker leading the busiest partitions and restarts it later;
3. waits until every acknowledged record has a receipt, alerts have stopped changing and every
   (alert, version, subscriber) the subscriptions want is settled in the ledger;
4. scrapes every worker's ``/metrics``, stops everything (SIGTERM, then SIGKILL), and reads
   every topic of the cluster, every log and every receiver's capture into a ``ChainRun``.

Nothing is judged here: ``audit.py`` turns a ``ChainRun`` into figures and problems. Every
process started is stopped in ``finally`` blocks, whatever happens.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml
from kafka import TopicPartition

from confianza import provision
from confianza.consumers.email.sink import Mail, SmtpSink
from confianza.consumers.subscriptions import Subscriptions, load_subscriptions
from confianza.consumers.webhook.receiver import Received, WebhookReceiver
from confianza.consumers.webhook.signing import generate_secret
from confianza.demo.processes import Child, Supervisor, confianza
from confianza.dev.kafka import Cluster, free_port
from confianza.kafka import admin, consumer
from confianza.producers.sdk import Reporter
from confianza.producers.simulate import SimulationConfig, generate
from confianza.schemas.topics import ALERTS, receipts_topic
from confianza.settings import KafkaSettings
from tests.eventually import eventually
from tests.fuzz.corpus import hostile_records
from tests.lag import end_offsets, group_lag

Coord = tuple[str, int, int]
CHANNELS = ("webhook", "email", "file")
SMTP_USER = "confianza"
WEBHOOK_PATHS = ("bcp", "telecom", "public")
DELIVERY_ENV = {
    "CONFIANZA_DELIVERY_INITIAL_BACKOFF": "0.2",
    "CONFIANZA_DELIVERY_MAX_BACKOFF": "2",
    "CONFIANZA_DELIVERY_BREAKER_RESET": "2",
    "CONFIANZA_DELIVERY_SHUTDOWN_GRACE": "5",
}


@dataclass(frozen=True)
class Plan:
    """What one run does: load, hostile extras, and the faults with their moments."""

    name: str
    partners: int = 8
    rate: float = 12.0
    duration: float = 30.0
    campaigns: int = 4
    seed: int = 7
    hostile: int = 44
    kills: tuple[tuple[float, str], ...] = ()
    """(seconds after the load started, process name): SIGKILL it, restart it shortly after."""
    restart_after: float = 1.0
    broker_kill_at: float | None = None
    """Seconds after the load started: SIGKILL the broker leading the busiest partitions."""
    broker_down_for: float = 20.0
    settle_timeout: float = 300.0


@dataclass(frozen=True)
class Planned:
    """One record to send, and the receipt status it must get ("any" for hostile bytes)."""

    partner: str
    payload: bytes
    key: bytes | None
    at: float
    kind: str
    expect: str


@dataclass
class ChainRun:
    """Everything one run produced (see the module docstring)."""

    plan: Plan
    workdir: Path
    partners: dict[str, str]
    secrets: dict[str, str]
    subscriptions: Subscriptions
    truth: dict[str, Any]
    planned: int = 0
    acked: dict[Coord, Planned] = field(default_factory=dict)
    send_failures: list[str] = field(default_factory=list)
    topics: dict[str, list[tuple[int, int, bytes | None, bytes | None]]] = field(
        default_factory=dict
    )
    webhooks: list[Received] = field(default_factory=list)
    webhook_duplicates: int = 0
    webhook_rejected: int = 0
    mails: list[Mail] = field(default_factory=list)
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    exits: dict[str, list[int | None]] = field(default_factory=dict)
    kills: list[tuple[float, str]] = field(default_factory=list)
    broker_fault: dict[str, Any] = field(default_factory=dict)
    receipt_timeline: list[tuple[float, int]] = field(default_factory=list)
    fault_error: BaseException | None = None
    lag: dict[str, int] = field(default_factory=dict)
    lag_zero_at: float = 0.0
    load_started: float = 0.0
    load_ended: float = 0.0
    settled_at: float = 0.0

    def values(self, topic: str) -> list[dict[str, Any]]:
        """The JSON values of one topic, in partition/offset order."""
        return [orjson.loads(v) for _, _, _, v in self.topics.get(topic, []) if v is not None]


# --- the broker side ------------------------------------------------------------------------
def read_topics(settings: KafkaSettings, names: list[str]) -> dict[str, list[Any]]:
    """Every record of ``names`` now (admin, no group): (partition, offset, key, value)."""
    client = consumer(settings)
    try:
        tps = [
            TopicPartition(t, p)
            for t in names
            for p in sorted(client.partitions_for_topic(t) or ())
        ]
        out: dict[str, list[Any]] = {name: [] for name in names}
        if not tps:
            return out
        client.assign(tps)
        client.seek_to_beginning(*tps)
        ends = client.end_offsets(tps)
        while any(client.position(tp) < ends[tp] for tp in tps):
            for tp, records in client.poll(timeout_ms=500).items():
                out[tp.topic].extend((r.partition, r.offset, r.key, r.value) for r in records)
        for records in out.values():
            records.sort(key=lambda r: (r[0], r[1]))
        return out
    finally:
        client.close()


GROUPS = (
    "confianza-streams-ingest",
    "confianza-streams",
    *(f"confianza-deliver-{c}" for c in ("webhook", "email", "file")),
)


def _wait_lag_zero(chain: Chain, deadline: float) -> dict[str, int]:
    """Wait until every consumer group of the chain has committed everything; returns the lag
    per group seen last (all zero unless the deadline passed)."""
    while True:
        lags = {group: group_lag(chain.admin, group) for group in GROUPS}
        if not any(lags.values()) or time.monotonic() > deadline:
            return lags
        time.sleep(1.0)


def busiest_leader(settings: KafkaSettings, window: float = 3.0) -> tuple[int, list[str]]:
    """The broker leading most of the partitions written most in the last ``window`` s."""
    client = admin(settings)
    try:
        names = [t for t in client.list_topics() if not t.startswith("__")]
        described = client.describe_topics(names)
    finally:
        client.close()
    leaders = {
        (t["name"], p["partition_index"]): int(p["leader_id"])
        for t in described
        for p in t["partitions"]
    }
    before = end_offsets(settings, names)
    time.sleep(window)
    after = end_offsets(settings, names)
    growth = sorted(
        ((after[tp] - before.get(tp, 0), f"{tp.topic}[{tp.partition}]", tp) for tp in after),
        reverse=True,
    )
    busiest = [g for g in growth if g[0] > 0][:10]
    votes: dict[int, int] = {}
    for grown, _, tp in busiest:
        leader = leaders.get((tp.topic, tp.partition))
        if leader is not None and leader >= 0:
            votes[leader] = votes.get(leader, 0) + grown
    victim = max(votes, key=lambda b: votes[b]) if votes else 1
    return victim, [name for _, name, _ in busiest]


# --- the chain --------------------------------------------------------------------------------
class Chain:
    """Provisioning, receivers and worker processes of one run (see the module docstring)."""

    def __init__(self, plan: Plan, cluster: Cluster, workdir: Path) -> None:
        self.plan = plan
        self.cluster = cluster
        self.workdir = workdir
        self.admin = cluster.admin_settings()
        self.config = SimulationConfig(
            partners=plan.partners,
            rate=plan.rate,
            duration=plan.duration,
            campaigns=plan.campaigns,
            seed=plan.seed,
        )
        self.roster = {p.id: p.sector for p in self.config.roster()}
        self.services: dict[str, provision.Credentials] = {}
        self.partners: dict[str, KafkaSettings] = {}
        self.secrets: dict[str, str] = {"admin": cluster.admin_password}
        self.ports: dict[str, int] = {}
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
        self.supervisor = Supervisor(
            workdir / "logs",
            base | {"CONFIANZA_LOG__FORMAT": "json", "CONFIANZA_LOG__LEVEL": "INFO"},
        )
        self.exits: dict[str, list[int | None]] = {}
        self.webhook_secrets = {path: generate_secret() for path in WEBHOOK_PATHS}
        self.smtp_password = "smtp-" + generate_secret()[6:30]
        self.secrets |= {f"webhook-{p}": s for p, s in self.webhook_secrets.items()}
        self.secrets["smtp"] = self.smtp_password
        self.receiver = WebhookReceiver({f"/{p}": s for p, s in self.webhook_secrets.items()})
        self.sink = SmtpSink(password=self.smtp_password)

    # provisioning and configuration
    def provision(self) -> None:
        provision.apply_topics(self.admin)
        for service in ("streams", "deliver", "ops"):
            creds = provision.add_service(self.admin, service)
            self.services[service] = creds
            self.secrets[f"svc-{service}"] = creds.password
        for partner, sector in self.roster.items():
            creds = provision.add_partner(self.admin, partner, sector)
            self.partners[partner] = self.admin.with_credentials(creds.username, creds.password)
            self.secrets[f"partner-{partner}"] = creds.password

    def subscriptions_file(self) -> Path:
        fast = {"group_wait": "0s", "group_interval": "0s", "repeat_interval": "1h"}
        folding = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"}
        common = {"rate_limit": {"max": 1000, "per": "1s"}, "timeout": "5s"}

        def hook(path: str) -> dict[str, Any]:
            return {
                "channel": "webhook",
                "target": self.receiver.url(f"/{path}"),
                "secrets": {"webhook_secret_env": f"REL_WHSEC_{path.upper()}"},
            }

        subscribers = [
            {"id": "bcp-soc", "audience": "banking", "sector": "banking", "organization": "bcp",
             **hook("bcp"), "min_severity": "low", "tlp_clearance": "amber+strict",
             "grouping": folding},
            {"id": "telecom-soc", "audience": "telecom", "sector": "telecom",
             "organization": "claro", **hook("telecom"), "min_severity": "low",
             "tlp_clearance": "amber", "grouping": fast},
            {"id": "public-feed", "audience": "public", **hook("public"),
             "min_severity": "medium", "tlp_clearance": "clear", "grouping": fast},
            {"id": "gov-cert", "audience": "government", "sector": "government",
             "channel": "email", "target": ["cert@gob.example"], "min_severity": "low",
             "tlp_clearance": "green", "grouping": fast},
            {"id": "justice-unit", "audience": "justice", "sector": "justice",
             "organization": "pnp-divindat", "channel": "email",
             "target": ["unidad@pnp.example"], "min_severity": "high",
             "tlp_clearance": "amber+strict", "grouping": fast},
            {"id": "center-analysts", "audience": "center", "analyst": True, "channel": "file",
             "target": str(self.workdir / "center-analysts.jsonl"), "min_severity": "low",
             "tlp_clearance": "red", "grouping": fast},
            {"id": "center-ops", "audience": "center", "channel": "file",
             "target": str(self.workdir / "center-ops.jsonl"), "min_severity": "medium",
             "tlp_clearance": "amber+strict", "grouping": folding},
        ]  # fmt: skip
        document = {
            "version": 1,
            "smtp": {
                "host": "127.0.0.1",
                "port": self.sink.port,
                "sender": "alertas@cnsd.example",
                "username": SMTP_USER,
                "password_env": "REL_SMTP_PASSWORD",
                "timeout": "5s",
            },
            "subscribers": [orjson.loads(orjson.dumps({**s, **common})) for s in subscribers],
        }
        path = self.workdir / "subscriptions.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    # processes
    def _service_env(self, service: str) -> dict[str, str]:
        creds = self.services[service]
        return {
            "CONFIANZA_KAFKA__BOOTSTRAP_SERVERS": self.cluster.bootstrap_servers,
            "CONFIANZA_KAFKA__USERNAME": creds.username,
            "CONFIANZA_KAFKA__PASSWORD": creds.password,
            "CONFIANZA_KAFKA__REPLICATION_FACTOR": str(self.admin.replication_factor),
        }

    def start(self, name: str) -> Child:
        """Start (or restart) the process ``name``: streams or deliver-<channel>."""
        port = self.ports.setdefault(name, free_port())
        env = {"CONFIANZA_METRICS__PORT": str(port)}
        if name == "streams":
            args = confianza("worker", "streams", "--tick", "5")
            env |= self._service_env("streams") | {
                "CONFIANZA_DATA_DIR": str(self.workdir / "streams-state")
            }
        else:
            channel = name.removeprefix("deliver-")
            args = confianza(
                "worker", "deliver", "--channel", channel, "--subscriptions", str(self.subs)
            )
            env |= self._service_env("deliver") | DELIVERY_ENV
            env |= {f"REL_WHSEC_{p.upper()}": s for p, s in self.webhook_secrets.items()}
            env |= {"REL_SMTP_PASSWORD": self.smtp_password}
        self.exits.setdefault(name, [])
        return self.supervisor.start(name, args, env)

    def child(self, name: str) -> Child:
        return next(c for c in reversed(self.supervisor.children) if c.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL the process group of ``name``, as a crash would."""
        child = self.child(name)
        with suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait(timeout=30)
        self.exits[name].append(child.process.returncode)

    def wait_ready(self, names: list[str], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                self.check_alive()
                with suppress(httpx.HTTPError):
                    url = f"http://127.0.0.1:{self.ports[name]}/readyz"
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name} not ready:\n{self.child(name).log_tail(30)}")
                time.sleep(0.5)

    def check_alive(self) -> None:
        """Fail with the log tail of any worker that exited without being killed."""
        dead = [c for c in self.supervisor.dead() if c.process.returncode != -signal.SIGKILL]
        if dead:
            raise AssertionError(
                "\n".join(
                    f"{c.name} exited {c.process.returncode}:\n{c.log_tail(40)}" for c in dead
                )
            )

    def scrape(self) -> dict[str, str]:
        out = {}
        for name, port in self.ports.items():
            with suppress(httpx.HTTPError):
                out[name] = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return out

    @property
    def subs(self) -> Path:
        return self.workdir / "subscriptions.yaml"

    # traffic
    def plan_records(self) -> tuple[list[Planned], dict[str, Any]]:
        """Simulator traffic, then hostile, spoofed and borrowed-id records spread over it."""
        traffic = generate(self.config)
        expect = {
            "event": "accepted",
            "duplicate": "duplicate",
            "malformed": "rejected",
            "oversize": "rejected",
        }
        records = [
            Planned(
                r.partner,
                r.payload,
                r.event_id.encode() if r.event_id else None,
                r.at,
                r.kind,
                expect[r.kind],
            )
            for r in traffic
        ]
        rng = random.Random(self.plan.seed)
        names = sorted(self.roster)
        for family, raw in hostile_records(rng, self.plan.hostile):
            kind = "spoof" if family == "spoofed-reporter" else "hostile"
            records.append(
                Planned(
                    rng.choice(names),
                    raw,
                    None,
                    rng.uniform(0, self.plan.duration),
                    kind,
                    "rejected" if kind == "spoof" else "any",
                )
            )
        events = [r for r in traffic if r.kind == "event" and r.event is not None]
        for n in range(4):  # another partner's event id, sent as one's own: a different event
            original = events[n * 7 % len(events)]
            borrower = next(p for p in names if p != original.partner)
            assert original.event is not None
            payload = orjson.dumps(original.event)
            at = min(self.plan.duration, original.at + 1)
            key = original.event["event_id"].encode()
            records.append(Planned(borrower, payload, key, at, "borrowed-id", "accepted"))
        records.sort(key=lambda r: r.at)
        return records, traffic.truth.as_dict()


class Load(threading.Thread):
    """Sends planned records at their offsets with each partner's own principal."""

    def __init__(self, records: list[Planned], partners: dict[str, KafkaSettings]) -> None:
        super().__init__(name="load", daemon=True)
        self.records = records
        self.partners = partners
        self.acked: dict[Coord, Planned] = {}
        self.failures: list[str] = []
        self.error: BaseException | None = None
        self.halt = threading.Event()
        self._lock = threading.Lock()

    def _done(self, record: Planned) -> Callable[[Any], None]:
        def ok(metadata: Any) -> None:
            with self._lock:
                self.acked[(metadata.topic, metadata.partition, metadata.offset)] = record

        return ok

    def _failed(self, record: Planned) -> Callable[[BaseException], None]:
        def failed(exc: BaseException) -> None:
            with self._lock:
                self.failures.append(f"{record.partner} {record.kind}: {type(exc).__name__}")

        return failed

    def run(self) -> None:
        try:
            with ExitStack() as stack:
                reporters = {
                    p: stack.enter_context(
                        eventually(lambda s=s, p=p: Reporter(s, p, receipts=False))
                    )
                    for p, s in self.partners.items()
                }
                started = time.monotonic()
                for record in self.records:
                    delay = started + record.at - time.monotonic()
                    if self.halt.wait(max(0.0, delay)):
                        return
                    future = reporters[record.partner].send_raw(record.payload, record.key)
                    future.add_callback(self._done(record))
                    future.add_errback(self._failed(record))
                for reporter in reporters.values():
                    reporter.flush(timeout=120)
        except BaseException as exc:  # reported by the run, never swallowed
            self.error = exc


class Monitor(threading.Thread):
    """Samples the total number of receipts every half second (the ingest flow)."""

    def __init__(self, settings: KafkaSettings, topics: list[str]) -> None:
        super().__init__(name="monitor", daemon=True)
        self.settings = settings
        self.topics = topics
        self.timeline: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with suppress(Exception):  # a broker being killed: the gap is what is measured
                total = sum(end_offsets(self.settings, self.topics).values())
                self.timeline.append((time.time(), total))
            self.stop.wait(0.5)


def _faults(chain: Chain, run: ChainRun, started: float, stop: threading.Event) -> None:
    """The plan's kills (and broker fault) at their moments; runs in its own thread and
    keeps its failure in ``run.fault_error`` for the run to raise."""
    try:
        _inject(chain, run, started, stop)
    except BaseException as exc:
        run.fault_error = exc


def _inject(chain: Chain, run: ChainRun, started: float, stop: threading.Event) -> None:
    events: list[tuple[float, str]] = list(chain.plan.kills)
    if chain.plan.broker_kill_at is not None:
        events.append((chain.plan.broker_kill_at, "broker"))
    for at, name in sorted(events):
        if stop.wait(max(0.0, started + at - time.monotonic())):
            return
        if name == "broker":
            victim_id, busiest = busiest_leader(chain.admin)
            victim = next(b for b in chain.cluster.brokers if b.node_id == victim_id)
            killed = time.time()
            victim.kill()
            run.broker_fault = {"node": victim_id, "busiest": busiest, "killed_at": killed}
            if stop.wait(chain.plan.broker_down_for):
                victim.start()
                return
            victim.start()
            chain.cluster.wait_ready()
            run.broker_fault["restarted_at"] = time.time()
            continue
        chain.kill(name)
        run.kills.append((time.time(), name))
        if stop.wait(chain.plan.restart_after):
            return
        chain.start(name)


def _wait_receipts(chain: Chain, run: ChainRun, deadline: float) -> None:
    names = [receipts_topic(p) for p in chain.roster]
    while True:
        chain.check_alive()
        got = read_topics(chain.admin, names)
        seen = set()
        for records in got.values():
            for _, _, _, value in records:
                receipt = orjson.loads(value)
                seen.add((receipt["topic"], receipt["partition"], receipt["offset"]))
        missing = set(run.acked) - seen
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(missing)} acknowledged records have no receipt")
        time.sleep(2.0)


def _wait_alerts_quiet(chain: Chain, deadline: float, quiet: float = 8.0) -> list[dict[str, Any]]:
    last, since = -1, time.monotonic()
    while True:
        chain.check_alive()
        count = sum(end_offsets(chain.admin, [ALERTS]).values())
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return [orjson.loads(v) for _, _, _, v in read_topics(chain.admin, [ALERTS])[ALERTS]]
        if time.monotonic() > deadline:
            raise AssertionError("alerts kept changing")
        time.sleep(1.0)


def expected_keys(alerts: list[dict[str, Any]], subscriptions: Subscriptions) -> dict[str, str]:
    """Every (alert, version, subscriber) key the subscriptions want -> its channel."""
    keys = {}
    for alert in alerts:
        for sub in subscriptions.subscribers:
            if sub.wants(alert["severity"], alert["classification"]["class"]):
                keys[f"{alert['alert_id']}:{alert['version']}:{sub.id}"] = sub.channel
    return keys


SETTLED = {"delivered", "permanent", "disabled", "dead-lettered", "filtered"}


def _wait_settled(
    chain: Chain, alerts: list[dict[str, Any]], subs: Subscriptions, deadline: float
) -> None:
    wanted = set(expected_keys(alerts, subs))
    while True:
        chain.check_alive()
        ledger = read_topics(chain.admin, ["deliveries.v1"])["deliveries.v1"]
        settled = {
            record["idempotency_key"]
            for record in (orjson.loads(v) for _, _, _, v in ledger)
            if record["outcome"] in SETTLED
        }
        missing = wanted - settled
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(missing)} deliveries never settled, e.g. {sorted(missing)[:3]}"
            )
        time.sleep(2.0)


def run_chain(plan: Plan, cluster: Cluster, workdir: Path) -> ChainRun:
    """One run of the chain under ``plan`` (see the module docstring)."""
    chain = Chain(plan, cluster, workdir)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    with ExitStack() as cleanup:
        cleanup.callback(chain.supervisor.stop_all)
        cleanup.enter_context(chain.receiver)
        cleanup.enter_context(chain.sink)
        chain.provision()
        chain.subscriptions_file()
        subscriptions = load_subscriptions(chain.subs)
        records, truth = chain.plan_records()
        run = ChainRun(plan, workdir, dict(chain.roster), chain.secrets, subscriptions, truth)
        run.planned = len(records)
        workers = ["streams", *(f"deliver-{c}" for c in CHANNELS)]
        for name in workers:
            chain.start(name)
        chain.wait_ready(workers)
        monitor = Monitor(chain.admin, [receipts_topic(p) for p in chain.roster])
        load = Load(records, chain.partners)
        started = time.monotonic()
        run.load_started = time.time()
        faults = threading.Thread(
            target=_faults, args=(chain, run, started, stop), name="faults", daemon=True
        )
        threads = [monitor, load, faults]
        cleanup.callback(stop.set)
        cleanup.callback(monitor.stop.set)
        cleanup.callback(load.halt.set)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + plan.duration + plan.settle_timeout
        while load.is_alive() or faults.is_alive():
            chain.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError("the load or the fault schedule did not finish in time")
            time.sleep(0.5)
        run.load_ended = time.time()
        for error in (load.error, run.fault_error):
            if error is not None:
                raise error
        run.acked, run.send_failures = dict(load.acked), list(load.failures)
        _wait_receipts(chain, run, deadline)
        alerts = _wait_alerts_quiet(chain, deadline)
        _wait_settled(chain, alerts, subscriptions, deadline)
        run.settled_at = time.time()
        run.lag = _wait_lag_zero(chain, time.monotonic() + 120)
        run.lag_zero_at = time.time()
        monitor.stop.set()
        monitor.join(timeout=10)
        run.receipt_timeline = list(monitor.timeline)
        run.metrics = chain.scrape()
        chain.supervisor.stop_all()
        for child in chain.supervisor.children:
            chain.exits.setdefault(child.name, []).append(child.process.returncode)
        client = admin(chain.admin)
        try:
            names = sorted(client.list_topics())
        finally:
            client.close()
        run.topics = read_topics(chain.admin, names)
        run.webhooks = chain.receiver.deliveries
        run.webhook_duplicates = chain.receiver.duplicates
        run.webhook_rejected = chain.receiver.rejected
        run.mails = chain.sink.mails
        for sub in subscriptions.for_channel("file"):
            path = Path(str(sub.target))
            lines = path.read_bytes().splitlines() if path.exists() else []
            run.files[sub.id] = [orjson.loads(line) for line in lines if line.strip()]
        run.logs = {p.name: p.read_text(errors="replace") for p in (workdir / "logs").iterdir()}
        run.exits = chain.exits
        return run
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack re-raises
