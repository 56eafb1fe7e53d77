"""Worker processes of a benchmark and what they cost: CPU seconds, resident memory, disk.

``Workers`` starts the processes a benchmark measures (streams workers, the pass-through relay,
a delivery worker) through the demo's ``Supervisor`` (own session each, output in a log file,
all stopped at the end with SIGTERM then SIGKILL). ``cpu_seconds``, ``rss_bytes`` and
``dir_bytes`` read /proc and the file system, so a benchmark can report events per CPU second
of a process -- a figure the other load on a shared machine does not change much;
``machine_busy_seconds`` tells whether the machine's cores were the limit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.lib.kafka import BenchKafka
from bench.lib.results import ROOT
from confianza.demo.processes import Child, Supervisor, confianza
from confianza.dev.kafka import free_port

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (user, nice, system, irq,
    softirq, steal; not idle or iowait): whatever ran, measured or not."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def rss_bytes(pid: int) -> int:
    """Resident set size of the process now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def dir_bytes(path: Path) -> int:
    """Bytes of the files below ``path`` (0 when it does not exist)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class Workers:
    """The processes of one benchmark session; ``stop_all`` ends every one of them."""

    def __init__(self, kafka: BenchKafka, workdir: Path) -> None:
        self.kafka = kafka
        self.workdir = workdir
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANZA_")}
        base |= {
            "PYTHONPATH": str(ROOT),
            "CONFIANZA_LOG__LEVEL": "WARNING",
            "CONFIANZA_LOG__FORMAT": "json",
        }
        self.supervisor = Supervisor(workdir / "logs", base)
        self.metrics_ports: dict[str, int] = {}

    def streams(self, name: str, store: str, app_id: str = "confianza-streams") -> Child:
        """A ``confianza worker streams`` process (as deployed, with its own state dir; no
        admission budget: the benchmarks send far more per partner than it allows)."""
        self.metrics_ports[name] = free_port()
        return self.supervisor.start(
            name,
            confianza("worker", "streams", "--store", store, "--admission-budget", "0"),
            self.kafka.service_env("streams")
            | {
                "CONFIANZA_METRICS__PORT": str(self.metrics_ports[name]),
                "CONFIANZA_DATA_DIR": str(self.state_dir(name)),
                "CONFIANZA_STREAMS_APP_ID": app_id,
            },
        )

    def state_dir(self, name: str) -> Path:
        return self.workdir / f"{name}-state"

    def delivery(self, name: str, subscriptions: Path, env: dict[str, str]) -> Child:
        """A ``confianza worker deliver --channel webhook`` process."""
        self.metrics_ports[name] = free_port()
        return self.supervisor.start(
            name,
            confianza(
                "worker", "deliver", "--channel", "webhook", "--subscriptions", str(subscriptions)
            ),
            self.kafka.service_env("deliver")
            | {
                "CONFIANZA_METRICS__PORT": str(self.metrics_ports[name]),
                "CONFIANZA_DATA_DIR": str(self.workdir / f"{name}-state"),
            }
            | env,
        )

    def relay(
        self, name: str, source: str, target: str, group: str, go: Path | None = None
    ) -> Child:
        """The pass-through relay (``bench.lib.relay``) from ``source`` to ``target``; it
        starts relaying once ``go`` exists, when given."""
        extra = [str(go)] if go is not None else []
        return self.supervisor.start(
            name,
            [sys.executable, "-m", "bench.lib.relay", source, target, group, *extra],
            self.kafka.admin_env(),
        )

    def dead(self) -> list[Child]:
        return self.supervisor.dead()

    def stop(self, child: Child) -> None:
        """Stop one process (SIGTERM, then SIGKILL after a grace period)."""
        Supervisor(self.supervisor.log_dir, {}, [child]).stop_all()

    def stop_all(self) -> None:
        self.supervisor.stop_all()
