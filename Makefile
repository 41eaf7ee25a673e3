# motion-gateway: `make run` starts the whole stack locally, `make start` runs production from .env,
# `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The Procfile's release step (migrations), run to completion before the long-running processes.
RELEASE := $(shell sed -n 's/^release: *//p' Procfile)
WORKERS ?= 2

.PHONY: run start flask test lint typecheck install install-dev clean bench chaos

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: install
	$(BIN)/python -m devstack.run

# Production: .env configures every process (honcho reads it); the venv's bin is on their PATH.
start: install
	@test -f .env || { echo "make start: no .env here; cp .env.example .env and fill it in" >&2; exit 2; }
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho run $(RELEASE)
	PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start --concurrency worker=$(WORKERS) web worker clock

# Any flask command against the `make run` stack, e.g. make flask ARGS="callers list".
flask: install
	$(BIN)/python -m devstack.cli $(ARGS)

test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The Python client for calling services is typed throughout: mypy --strict (its pyproject.toml) on the package.
typecheck: install-dev
	$(BIN)/mypy --config-file clients/python/pyproject.toml clients/python/src/motion_gateway_client

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

chaos: install-dev
	$(BIN)/python -m chaos
	$(BIN)/python -m chaos.sentinel_failover
	$(BIN)/python -m chaos.two_hosts
	$(BIN)/python -m chaos.two_hosts --sentinel

bench: install-dev
	$(BIN)/python -m bench
