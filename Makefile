# The two commands of the README:
#   make serve   set up and run the service (sandbox mode, embedded SQLite, no other server needed)
#   make test    set up and run every check: lint, format, types, import layers, unit and integration tests
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup serve test lint typecheck unit bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

serve: setup
	$(BIN)/epidural-cds serve --no-auth --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

test: setup lint typecheck
	scripts/postgres install
	scripts/fhir-server install
	scripts/browser install
	$(BIN)/python -m pytest

unit: setup
	$(BIN)/python -m pytest -m "not integration"

bench: setup
	bench/run --quick
