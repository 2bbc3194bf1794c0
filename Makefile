# Two entry points (see README): `make run` and `make test`. Only python3 and make are assumed.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# the same project on the LOWEST versions pyproject.toml allows (`make test-lowest`)
LOWEST ?= .venv-lowest
# uv does not read pip's configuration: give it the system's CA bundle (pip's
# `cert`), which trusts the registry proxy of a machine like CI's
CA_BUNDLE := $(firstword $(SSL_CERT_FILE) $(wildcard /etc/ssl/certs/ca-certificates.crt))
UV := $(if $(CA_BUNDLE),SSL_CERT_FILE=$(CA_BUNDLE) )$(BIN)/uv
SHELL := /bin/bash

.PHONY: install run check-examples test test-slow test-lowest lint typecheck unit bench clean test-deps bytecode

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## The main job: the daemon on the bundled example corpus, SQLite under ./data
run: install
	$(BIN)/article-monitor run examples/articles --data-dir data

## One-shot report on the examples, without the network
check-examples: install
	$(BIN)/article-monitor check examples/articles --offline --format table

## Test-only tools: the AMP-cache oracle (npm), promtool (Debian), PostgreSQL (started by the tests' script)
test-deps: install
	bash scripts/test-deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

## The package's modules compiled once, as a wheel's install does: where
## PYTHONDONTWRITEBYTECODE is set (CI's machine), every CLI child, daemon and
## checker process of the tests compiled all it imports again (~0.1 CPU-s each,
## ~12% of a CLI-heavy test file's CPU); reading the .pyc files is still allowed
bytecode: install
	PYTHONDONTWRITEBYTECODE= $(PY) -m compileall -q -j 0 monitor >/dev/null

## The whole suite: lint, types, tests (PostgreSQL is started and stopped around pytest)
## (not the soak and scale tests marked slow: `make test-slow`, which CI runs after it);
## the 25 slowest are listed at the end, to keep the run within its 10 minutes
test: install test-deps lint typecheck bytecode
	bash scripts/with-postgres.sh $(BIN)/pytest -q -n 2 --dist loadfile -m "not slow" --durations=25 $(PYTEST_ARGS)
	bash scripts/test-unprivileged.sh  # the tests root skips ("root reads any file"), as a plain user

## Soak and scale tests (marked slow): large corpora in bounded memory, the benchmark
## scripts end to end; minutes more than the 10 `make test` keeps to
test-slow: install test-deps bytecode
	bash scripts/with-postgres.sh $(BIN)/pytest -q -n 2 --dist loadfile -m slow $(PYTEST_ARGS)

## Are the dependency ranges true? The unit and integration tests on the lowest
## version of every direct dependency (uv's lowest-direct resolution); CI runs it
## after `make test`.
test-lowest: install bytecode
	$(PY) -m pip install -q 'uv>=0.5,<1'
	$(UV) venv -q --allow-existing --python $(PY) $(LOWEST)
	$(UV) pip compile -q --python $(LOWEST)/bin/python --resolution lowest-direct \
		--extra dev pyproject.toml -o $(LOWEST)/lowest.txt
	$(UV) pip sync -q --python $(LOWEST)/bin/python $(LOWEST)/lowest.txt
	$(UV) pip install -q --python $(LOWEST)/bin/python --no-deps -e .
	# Only the ranges are judged here: an event loop of the oldest libraries leaks a
	# Unix socket at garbage collection, which `make test` (current versions) holds
	# as an error and this step does not.
	bash scripts/with-postgres.sh $(LOWEST)/bin/pytest -q -n 2 --dist loadfile \
		-W ignore::ResourceWarning -W ignore::pytest.PytestUnraisableExceptionWarning \
		tests/unit tests/integration $(PYTEST_ARGS)

unit: install
	$(BIN)/pytest -q tests/unit

clean:
	rm -rf $(VENV) $(LOWEST) data .pytest_cache .mypy_cache .ruff_cache
