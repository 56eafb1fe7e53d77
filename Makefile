# The two commands of Confianza: `make demo` and `make test`. Both set everything up from a
# fresh clone: a virtualenv in .venv, the project with its dev extras, the system tools
# (Java, Maven, kcat, Prometheus) and the Apache Kafka jars (cached in ~/.cache/confianza).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DURATION ?= 120
PYTEST_ARGS ?=

.PHONY: demo test lint bench bench-smoke reliability fuzz clean setup kafka

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install -q -e '.[dev,rocksdb]'
	touch $(STAMP)

setup: $(STAMP)
	bash deploy/local/system-deps.sh
	$(BIN)/confianza dev kafka fetch

## demo: a local broker, the whole pipeline, simulated partners and live alerts; DURATION seconds
demo: setup
	$(BIN)/confianza demo --duration $(DURATION)

## test: lint, then the whole suite against the real broker (pytest's "no tests" fails too)
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## reliability: the long fault runs (worker and broker kills under load, subscriber outages,
## hostile floods) plus the CI subset; figures in bench/results/reliability-*.json, table in
## docs/RELIABILITY.md
reliability: setup
	CONFIANZA_RESULTS_DIR=bench/results $(BIN)/python -m pytest -m "" --timeout=3600 \
		tests/reliability tests/security tests/fuzz $(PYTEST_ARGS)
	$(BIN)/python -m tests.reliability.table bench/results docs/RELIABILITY.md

## fuzz: a long fuzzing run of the ingest path: hypothesis (FUZZ_EXAMPLES per property), then
## atheris for FUZZ_SECONDS over a corpus kept in .confianza/fuzz-corpus
FUZZ_EXAMPLES ?= 50000
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	CONFIANZA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q --timeout=0 \
		tests/fuzz/test_ingest_fuzz.py
	mkdir -p .confianza/fuzz-corpus
	$(BIN)/python -m tests.fuzz.atheris_ingest -max_total_time=$(FUZZ_SECONDS) \
		-rss_limit_mb=2048 .confianza/fuzz-corpus

## bench: every benchmark against a local broker (under 30 min): JSON, summary table and plots
## in bench/results/ (see bench/README.md); bench-smoke: each for seconds (also run by make test)
bench: setup
	$(BIN)/python -m bench

bench-smoke: setup
	$(BIN)/python -m bench --smoke

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .confianza .pytest_cache .ruff_cache .hypothesis
