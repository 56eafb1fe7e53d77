"""Coverage-guided fuzzing of the ingest path with atheris (libFuzzer for Python).

Drives the same checks as the hypothesis properties (``check.PureStreams``: every input is a
receipt or a dead letter, every output is schema-valid and serialisable, nothing raises), with
the confianza modules instrumented for coverage. The seed corpus is the hostile corpus of
``corpus.py``. Run by ``make fuzz``::

    python -m tests.fuzz.atheris_ingest -atheris_runs=200000 [corpus_dir] [libFuzzer flags]
    python -m tests.fuzz.atheris_ingest -max_total_time=600 .confianza/fuzz-corpus

A crash prints the input and its traceback and leaves ``crash-<sha1>`` in the working
directory: reproduce with ``python -m tests.fuzz.atheris_ingest crash-<sha1>``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["confianza"]):
    from tests.fuzz.check import PureStreams

from tests.fuzz.corpus import hostile_records

RESET_EVERY = 5000  # fresh tables now and then, so a long run measures the code, not the heap

_state: dict[str, PureStreams | int] = {"streams": PureStreams(), "fed": 0}


def test_one(data: bytes) -> None:
    """One input: admitted or rejected, with every promise of ``check`` holding."""
    fed = int(_state["fed"]) + 1
    _state["fed"] = fed
    if fed % RESET_EVERY == 0:
        old = _state["streams"]
        assert isinstance(old, PureStreams)
        old.close()
        _state["streams"] = PureStreams()
    streams = _state["streams"]
    assert isinstance(streams, PureStreams)
    streams.feed(data)


def seed_corpus(directory: Path, count: int = 200) -> None:
    """Write the hostile corpus as seed files (once; libFuzzer adds what it finds)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        return
    for index, (family, raw) in enumerate(hostile_records(random.Random(1), count)):
        (directory / f"seed-{index:04d}-{family}").write_bytes(raw)


def main(argv: list[str]) -> None:
    corpora = [a for a in argv[1:] if not a.startswith("-") and Path(a).is_dir()]
    for corpus in corpora:
        seed_corpus(Path(corpus))
    atheris.Setup(argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
