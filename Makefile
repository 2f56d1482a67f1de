# Bootstrap for a fresh machine: only python3 (3.10+), pip, venv and make are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev demo test lint clean meltano bench constraints test-oracle test-oracle-down

# constraints.txt pins every distribution of .venv to the versions tested together (reproducible installs);
# each pyproject keeps ranges, so the plugins install anywhere. After changing a dependency: `make constraints`.
CONSTRAINTS := constraints.txt
MELTANO_CONSTRAINTS := constraints-meltano.txt

$(STAMP): requirements-dev.txt $(CONSTRAINTS) */pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip -c $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c $(CONSTRAINTS)
	touch $(STAMP)

# Meltano in its own venv (its dependencies stay apart from the plugins'); `meltano install` then puts each
# plugin (and dbt) in its own venv under .meltano/, with uv, so it takes seconds once the wheels are cached.
MELTANO_VERSION := 4.4.1
MELTANO := .tools/meltano/bin/meltano

$(MELTANO): $(MELTANO_CONSTRAINTS)
	$(PYTHON) -m venv .tools/meltano
	.tools/meltano/bin/python -m pip install --quiet --disable-pip-version-check \
		"meltano==$(MELTANO_VERSION)" -c $(MELTANO_CONSTRAINTS)
	touch $(MELTANO)

meltano: $(MELTANO)  ## Meltano 4.4.1 in .tools/meltano, then `meltano install` (the plugins and dbt in .meltano/).
	$(MELTANO) install

dev: $(STAMP)  ## Create .venv with the four local packages (editable) and the test tools.

demo: $(STAMP) $(MELTANO)  ## Simulator -> tap -> mapper -> embedded DuckDB -> dbt, with a summary.
	$(BIN)/python -m tests.demo

test: $(STAMP) $(MELTANO) airflow postgres  ## The whole test suite (what CI runs), Airflow and PostgreSQL included.
	$(BIN)/python -m pytest

# Airflow (.tools/airflow) and the PostgreSQL pieces of shared state: orchestrate/README.md.
include orchestrate/Makefile.inc

# Oracle Database Free in Docker (docker/compose.yml), then every test marked live_oracle against it: the
# target's live suite and the pipeline with dbt's Oracle target (tests/test_project_oracle.py). Needs Docker
# with Compose v2; not part of `make test`. The container stays up for the next run: `make test-oracle-down`.
ORACLE_COMPOSE := docker compose -f docker/compose.yml
ORACLE_PORT ?= 1521
ORACLE_APP_PASSWORD ?= wms-test-oic
test-oracle: $(STAMP) $(MELTANO)  ## The live Oracle tests against Oracle Database Free in Docker.
	@docker compose version >/dev/null 2>&1 || { echo "make test-oracle: needs Docker with Compose v2" \
		"('docker compose version' fails here); see docker/README.md" >&2; exit 1; }
	ORACLE_PORT=$(ORACLE_PORT) ORACLE_APP_PASSWORD=$(ORACLE_APP_PASSWORD) $(ORACLE_COMPOSE) up --detach --wait oracle
	TARGET_ORACLE_TEST_DSN=localhost:$(ORACLE_PORT)/FREEPDB1 TARGET_ORACLE_TEST_USER=oic \
		TARGET_ORACLE_TEST_PASSWORD=$(ORACLE_APP_PASSWORD) $(BIN)/python -m pytest -m live_oracle

test-oracle-down:  ## Stop and remove the Oracle container of `make test-oracle`.
	$(ORACLE_COMPOSE) down

# Every benchmark suite (bench.simulator, bench.tap, bench.mapper, bench.target,
# bench.pipeline), then BENCHMARKS.md. Not part of
# `make test`. Smaller while developing: make bench BENCH_ARGS="--rows 100000 --repeats 1".
BENCH_ARGS ?=
bench: $(STAMP) $(MELTANO)  ## Run the benchmark suites and write BENCHMARKS.md.
	$(BIN)/python -m bench.report --run $(BENCH_ARGS)

# Fresh venvs without constraints, then their `pip freeze`: what resolves today from each pyproject's ranges.
PIN := .tools/pin
PIN_HEADER = \# Written by make constraints ($(1)): what a fresh install without constraints resolved, tested together.
constraints:  ## Re-pin constraints.txt (.venv) and constraints-meltano.txt (Meltano's venv).
	rm -rf $(PIN)
	$(PYTHON) -m venv $(PIN)/dev
	$(PIN)/dev/bin/python -m pip install --quiet --upgrade pip
	$(PIN)/dev/bin/python -m pip install --quiet -r requirements-dev.txt
	{ echo '$(call PIN_HEADER,make dev)'; $(PIN)/dev/bin/python -m pip freeze --all --exclude-editable; } > $(CONSTRAINTS)
	$(PYTHON) -m venv $(PIN)/meltano
	$(PIN)/meltano/bin/python -m pip install --quiet --disable-pip-version-check "meltano==$(MELTANO_VERSION)"
	{ echo '$(call PIN_HEADER,make meltano)'; $(PIN)/meltano/bin/python -m pip freeze --all; } > $(MELTANO_CONSTRAINTS)
	rm -rf $(PIN)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .tools .meltano .nox output .bench
