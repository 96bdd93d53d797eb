# Every target sets itself up: a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/kefu serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check server signaling translation tests bench
	$(BIN)/ruff format --check server signaling translation tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format server signaling translation tests bench
	$(BIN)/ruff check --fix server signaling translation tests bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
