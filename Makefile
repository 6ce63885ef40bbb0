# ecskit: every entry point a developer or CI needs. `make help` lists them.
# Set-up is automatic: each target installs the virtualenv (.venv, pinned by requirements.lock)
# and the Node toolchain (node_modules: Node 22 + the CDK CLI, pinned by package-lock.json).

PYTHON ?= python3
ENV ?= dev
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Node 22 and the pinned `cdk` come first on PATH (system Node 20 is end-of-life for jsii).
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help setup synth test snapshot-update guard-update lint typecheck check bench lock clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

setup: $(PY_STAMP) $(NODE_STAMP)  ## Create .venv and node_modules (pinned); no AWS access needed

$(PY_STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[cdk]' --group dev
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup  ## Synthesize the app for ENV (default dev) into cdk.out/, offline
	cdk synth --quiet -c env=$(ENV)

test: setup  ## Run the whole test suite (offline: synth, assertions, moto)
	$(BIN)/python -m pytest

snapshot-update: setup  ## Re-record the template snapshots (tests/__snapshots__) after an intended change
	$(BIN)/python -m pytest -n 0 --snapshot-update tests/test_app.py

guard-update: setup  ## Re-record the replacement-guard baselines (replacement-guard/<env>/) of dev and prod
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for env in dev prod; do \
		cdk synth --quiet -c env=$$env --output "$$tmp/$$env" >"$$tmp/$$env.log" 2>&1 \
			|| { cat "$$tmp/$$env.log"; exit 1; }; \
		$(BIN)/python -m constructs_lib.replacement_guard update "$$tmp/$$env" --env $$env; \
	done

lint: setup  ## ruff (lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup  ## mypy --strict on constructs_lib and stacks
	$(BIN)/mypy

check: lint typecheck test  ## Everything CI runs

bench: setup  ## Benchmarks: synth time vs an empty CDK app, rollout watcher vs the boto3 waiter
	$(BIN)/python bench/synth.py
	$(BIN)/python bench/rollout.py

lock: $(PY_STAMP)  ## Re-pin requirements.lock from the current .venv (after changing pyproject.toml)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)==' > requirements.lock

clean:  ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache dist build
