"""Where a worker's time goes: py-spy samples of a running process, summed by area.

``py_spy(pid, seconds, out)`` records the process for ``seconds`` (py-spy ``record --format
raw``, 200 Hz, without stopping it); ``summarize(out)`` gives the share of samples whose
innermost frame falls in each area (Faust, aiokafka, the event loop, Confianza's stages, ...)
and in each function, top 15 of each. The raw stacks stay in ``out`` for a flame graph. py-spy is
optional (``pip install py-spy``; it needs ptrace permission): without it the answer is
``{"error": ...}`` and the benchmark goes on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

AREAS = (
    ("/streams/", "confianza streams"),
    ("/schemas/", "confianza schemas (validation, normalization)"),
    ("/consumers/", "confianza consumers"),
    ("/confianza/", "confianza core"),
    ("/faust/", "faust"),
    ("/mode/", "mode (faust services)"),
    ("/aiokafka/", "aiokafka"),
    ("/kafka/", "kafka-python"),
    ("/asyncio/", "asyncio event loop"),
    ("/selectors.py", "waiting in select (idle or I/O)"),
    ("rocksdict", "rocksdict"),
    ("jsonschema", "jsonschema"),
    ("tldextract", "tldextract"),
    ("phonenumbers", "phonenumbers"),
    ("/logging/", "logging"),
    ("structlog", "structlog"),
    ("prometheus_client", "prometheus-client"),
    ("orjson", "orjson"),
)
LOOP_RUNNERS = {"Worker.execute_from_commandline", "ServiceThread._start_thread"}
"""Frames that run a uvloop loop (the worker's, and the Faust consumer thread's): a sample
whose innermost Python frame is one of them was in uvloop's native code."""
NATIVE_LOOP = "uvloop, native (socket I/O, callbacks, waiting)"


def py_spy(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    """Sample ``pid`` for ``seconds``; self-time share by area and by function (top 15)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return {"error": "py-spy is not installed (pip install py-spy)"}
    done = subprocess.run(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--full-filenames",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if not out.exists():
        return {"error": f"py-spy recorded nothing: {done.stderr.strip()[-300:]}"}
    return summarize(out)


def summarize(out: Path) -> dict[str, Any]:
    """Self-time share by area and by function (top 15) of py-spy's raw stacks in ``out``."""
    by_area: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.split(";")[-1]
        samples = int(count)
        total += samples
        function, _, where = leaf.partition(" (")
        path = where.split(":")[0]
        if function in LOOP_RUNNERS:
            area = NATIVE_LOOP
        else:
            area = next((name for marker, name in AREAS if marker in path), "other")
        by_area[area] += samples
        by_function[f"{function} ({Path(path).name})"] += samples

    def top(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"what": k, "share": round(v / total, 3)} for k, v in counter.most_common(15)]

    return {
        "samples": total,
        "raw": str(out),
        "by_area": top(by_area),
        "by_function": top(by_function),
    }
