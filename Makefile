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
