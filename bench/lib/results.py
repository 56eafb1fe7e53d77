"""Result files: one JSON per benchmark run, with the machine, versions, settings and figures.

Every benchmark calls ``Run(name, smoke=..., settings=...)`` when it starts and ``write()`` when
it is done. The file records the load average of the machine at the start and at the end (the
machine is shared, so a figure taken under load says so), the git commit and whether the tree
had changes, and every figure the benchmark put into ``run.figures``. Files go to
``bench/results/`` (``BENCH_RESULTS_DIR`` overrides it) as ``<name>[-smoke]-<run id>.json``;
the run id (``BENCH_RUN_ID``, set once by ``python -m bench``) groups the files of one
``make bench`` so the report can put them side by side.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = (
    "confianza",
    "faust-streaming",
    "aiokafka",
    "kafka-python",
    "orjson",
    "jsonschema-rs",
    "jsonschema",
    "aiohttp",
    "rocksdict",
    "hdrhistogram",
)


def results_dir() -> Path:
    """Where result files go (created on demand)."""
    path = Path(os.environ.get("BENCH_RESULTS_DIR", ROOT / "bench" / "results"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_id() -> str:
    """The id shared by the files of one ``python -m bench`` (else a fresh UTC stamp)."""
    return os.environ.get("BENCH_RUN_ID") or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def load_average() -> dict[str, Any]:
    """The 1/5/15-minute load averages and the CPU count (``uptime``'s view)."""
    one, five, fifteen = os.getloadavg()
    return {"at": now(), "1m": one, "5m": five, "15m": fifteen, "cpus": os.cpu_count()}


def machine() -> dict[str, Any]:
    """CPU model and count, memory, kernel, Python."""
    model = platform.processor() or platform.machine()
    memory_kb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1) if memory_kb else None,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def versions() -> dict[str, Any]:
    """The commit, whether the tree had changes, the libraries, Java and Kafka."""
    found: dict[str, Any] = {}
    for lib in LIBRARIES:
        try:
            found[lib] = version(lib)
        except PackageNotFoundError:
            found[lib] = None
    try:
        java = subprocess.run(
            ["java", "-version"], capture_output=True, text=True, timeout=10, check=False
        ).stderr.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        java = None
    from confianza.dev.kafka import lib_dir

    status = _git("status", "--porcelain")
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "tree_changed": bool(status) if status is not None else None,
        "libraries": found,
        "java": java,
        "kafka": lib_dir().parent.name,
    }


@dataclass
class Run:
    """One benchmark's record: fill ``figures`` (and ``settings``), then ``write()``."""

    name: str
    smoke: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=now)
    load_start: dict[str, Any] = field(default_factory=load_average)

    def write(self) -> Path:
        """Write the JSON file and return its path."""
        document = {
            "benchmark": self.name,
            "run_id": run_id(),
            "smoke": self.smoke,
            "started_at": self.started_at,
            "finished_at": now(),
            "load": {"start": self.load_start, "end": load_average()},
            "machine": machine(),
            "versions": versions(),
            "settings": self.settings,
            "targets": self.targets,
            "figures": self.figures,
            "notes": self.notes,
        }
        suffix = "-smoke" if self.smoke else ""
        path = results_dir() / f"{self.name}{suffix}-{run_id()}.json"
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        return path


def latest(name: str, smoke: bool = False, directory: Path | None = None) -> dict[str, Any] | None:
    """The newest result of benchmark ``name`` (by run id), or None."""
    suffix = "-smoke" if smoke else ""
    files = sorted((directory or results_dir()).glob(f"{name}{suffix}-2*.json"))
    return orjson.loads(files[-1].read_bytes()) if files else None
