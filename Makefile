# The two commands of the README:
#   make serve   set up and run the service (sandbox mode, embedded SQLite, no other server needed)
#   make test    set up and run every check: lint, format, types, import layers, unit, fuzz and integration tests
# and the quick one while working:
#   make unit    the unit tests only (no fuzzing, no servers), spread over the cores
# Both installs take their versions from constraints.txt, so `make serve` and `make test` run the same set.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: setup serve test lint typecheck unit bench constraints

# What serving needs, nothing more; pip's own progress is shown (the first install takes a minute or two).
$(BIN)/.runtime: pyproject.toml constraints.txt
	@echo "make: installing the service's runtime dependencies into $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --progress-bar on -c constraints.txt -e .
	touch $@

# The runtime plus the test, lint and profiling tools.
$(BIN)/.installed: $(BIN)/.runtime
	@echo "make: installing the test and lint tools into $(VENV)"
	$(PIP) install --progress-bar on -c constraints.txt -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

serve: $(BIN)/.runtime
	$(BIN)/epidural-cds serve --no-auth --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

# Every check. PostgreSQL and the FHIR server are installed first, and their tests must run (never skip) here.
# The switch is not named EPIDURAL_CDS_*: every variable with that prefix is a setting, and unknown ones stop the service.
test: setup lint typecheck
	scripts/postgres install
	scripts/fhir-server install
	scripts/browser install
	EPIDURAL_TESTS_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest

# One pytest worker per core: the selection needs ~45 CPU-seconds, so one process alone would not finish in 30 s.
unit: setup
	$(BIN)/python -m pytest -n auto -m "not integration and not fuzz" -q

bench: setup
	bench/run --quick

# Pin the current working venv's versions (run after a dependency change, once `make test` passes).
constraints: setup
	{ sed -n '1,2p' constraints.txt; $(PIP) freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
