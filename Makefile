# cf-pages-ops developer commands. `make test` and `make demo` work from a fresh clone: each target
# creates the virtual environment it needs from the pinned requirements.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The AWS SAM CLI and the template checkers (cfn-lint, checkov) get their own virtual environments from
# pinned requirements: the SAM CLI pins boto3 and click versions that clash with the development ones.
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
SAM := $(SAM_VENV)/bin/sam
CHECKS_VENV := .venv-tools
CHECKS_STAMP := $(CHECKS_VENV)/.installed
# sam build looks python3.13 up by name on PATH. When the interpreter tools/find-python313 chose has
# another name (PYTHON313=/path/to/python), a link named python3.13 to it goes in this directory.
PYTHON313_LINK_DIR := .aws-sam/python313
# No SAM CLI usage telemetry. The template checks read no AWS account, but sam validate needs a region.
SAM_ENV := SAM_CLI_TELEMETRY=0
CHECK_REGION := us-east-1

.DEFAULT_GOAL := help
.PHONY: help venv test lint typecheck pytest demo bench build deploy clean sam-venv checks-venv check-template \
	smoke

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

test: lint typecheck pytest check-template smoke  ## Run every check and test (what CI runs)

# The handlers run in this process with shared/ and functions/ on the path, as Lambda lays out the layer
# (/opt/python) and the function code (/var/task). Pass options with ARGS, e.g. make demo ARGS="--dry-run".
demo: $(STAMP)  ## Run the trigger and the pruner on the local sandbox, then serve the status page
	PYTHONPATH=shared:functions:. $(BIN)/python -m sandbox.demo $(ARGS)

$(SAM_STAMP): tools/requirements-sam.txt
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r tools/requirements-sam.txt
	touch $@

$(CHECKS_STAMP): tools/requirements-checks.txt
	rm -rf $(CHECKS_VENV)
	$(PYTHON) -m venv $(CHECKS_VENV)
	$(CHECKS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKS_VENV)/bin/python -m pip install --quiet -r tools/requirements-checks.txt
	touch $@

sam-venv: $(SAM_STAMP)  ## Create the AWS SAM CLI virtual environment

checks-venv: $(CHECKS_STAMP)  ## Create the cfn-lint and checkov virtual environment

# Offline: cfn-lint reads .cfnlintrc, checkov reads .checkov.yaml (no platform download), and checkov's
# PyPI update check is off.
check-template: $(SAM_STAMP) $(CHECKS_STAMP)  ## Check template.yaml with sam validate --lint, cfn-lint and checkov
	$(SAM_ENV) AWS_DEFAULT_REGION=$(CHECK_REGION) $(SAM) validate --lint --template-file template.yaml
	$(CHECKS_VENV)/bin/cfn-lint
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKS_VENV)/bin/checkov

# No Docker: sam build uses the python3.13 found here, and shared/Makefile compiles the layer with it.
# MAKEFLAGS and friends are dropped so the layer's make, started by sam, never joins this make's job server.
build: $(SAM_STAMP)  ## Build the functions and the layer with sam build (python3.13, no Docker)
	@set -e; \
	interpreter="$$(tools/find-python313)"; \
	if [ "$$(basename "$$interpreter")" = python3.13 ]; then \
		bindir="$$(dirname "$$interpreter")"; \
	else \
		bindir="$(CURDIR)/$(PYTHON313_LINK_DIR)"; \
		mkdir -p "$$bindir"; \
		ln -sfn "$$interpreter" "$$bindir/python3.13"; \
	fi; \
	echo "sam build with $$interpreter"; \
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$$bindir:$$PATH" $(SAM_ENV) \
		$(SAM) build --template-file template.yaml

deploy: build  ## Deploy to your AWS account with sam deploy --guided (asks for every parameter)
	$(SAM_ENV) $(SAM) deploy --guided

# `make bench` runs the functions under a python3.13 virtual environment that stands in for the Lambda
# runtime: boto3 is installed there because the runtime ships it and the layer leaves it out.
BENCH_VENV := .venv-bench313
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements-runtime313.txt
	rm -rf $(BENCH_VENV)
	@set -e; interpreter="$$(tools/find-python313)"; echo "creating $(BENCH_VENV) with $$interpreter"; \
		"$$interpreter" -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements-runtime313.txt
	touch $@

# Cold start, memory, pruning throughput and convergence, status page latency and package size, written to
# docs/benchmarks.md. Pass options with ARGS, e.g. make bench ARGS="--only coldstart --rounds 5".
bench: build $(STAMP) $(BENCH_STAMP)  ## Run the benchmarks (about 7 minutes on 2 cores) and write docs/benchmarks.md
	PYTHONPATH=shared:functions:. $(BIN)/python -m bench --runtime-python $(BENCH_VENV)/bin/python $(ARGS)

# The `sam build` output, imported and invoked exactly as Lambda lays it out (function code, then the layer's
# python/ folder, then the runtime's boto3), against the local stand-ins.
smoke: build $(STAMP) $(BENCH_STAMP)  ## Smoke-test the built functions and layer under python3.13
	RUNTIME_PYTHON=$(CURDIR)/$(BENCH_VENV)/bin/python $(BIN)/pytest -m sam tests/smoke

clean:  ## Remove virtual environments and build output
	rm -rf $(VENV) .venv-* .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
