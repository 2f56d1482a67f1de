# Bootstrap for a fresh machine: only python3 (3.10+), pip, venv and make are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev demo test lint clean

$(STAMP): requirements-dev.txt */pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

dev: $(STAMP)  ## Create .venv with the four local packages (editable) and the test tools.

demo: $(STAMP)  ## Simulator -> tap -> mapper -> embedded DuckDB -> dbt, with a summary.
	$(BIN)/python -m tests.demo

test: $(STAMP)  ## The whole test suite (what CI runs).
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .tools .meltano .nox output .bench
