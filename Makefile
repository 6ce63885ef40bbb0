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

.PHONY: help setup synth deploy destroy test snapshot-update guard-update lint typecheck check bench lock clean diff report

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

setup: $(PY_STAMP) $(NODE_STAMP)  ## Create .venv and node_modules (pinned); no AWS access needed

$(PY_STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[cdk,local]' --group dev
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup  ## Synthesize the app for ENV (default dev) into cdk.out/, offline
	cdk synth --quiet -c env=$(ENV)

# `make deploy` goes to the local emulator (constructs_lib/local: a patched moto server on
# 127.0.0.1:$(PORT), fake credentials, no AWS account) unless TARGET=aws is given explicitly, so
# nobody spends money by accident. Local: start the emulator (or reuse the running one), cdk
# bootstrap + cdk deploy --all with the real CDK CLI, then `ecskit status`; the emulator keeps
# running until `make destroy`. TARGET=aws: plain `cdk deploy` with PROFILE (or AWS_PROFILE).
TARGET ?= local
PORT ?= 4566
PROFILE ?=
ifeq ($(filter $(TARGET),local aws),)
$(error TARGET: got '$(TARGET)'; use local (the default, the emulator) or aws)
endif

# The first line printed names the target, before set-up (pip/npm) output on a fresh clone.
deploy:  ## Deploy ENV (default dev) into the local AWS emulator (no account); TARGET=aws [PROFILE=p] for AWS
	@echo "make deploy: TARGET=$(TARGET) ENV=$(ENV)$(if $(filter local,$(TARGET)), (local emulator, no AWS account; TARGET=aws deploys to AWS))"
	@$(MAKE) -s --no-print-directory setup
ifeq ($(TARGET),aws)
	@echo "ecskit deploy: target aws (profile $(or $(PROFILE),$(AWS_PROFILE),default), env $(ENV))"
	cdk deploy --all -c env=$(ENV) $(if $(PROFILE),--profile $(PROFILE))
else
	@$(BIN)/python -m constructs_lib.local deploy --env $(ENV) --port $(PORT)
endif

destroy:  ## Tear down ENV: local -> cdk destroy + stop the emulator; TARGET=aws [PROFILE=p] -> cdk destroy on AWS
	@echo "make destroy: TARGET=$(TARGET) ENV=$(ENV)"
	@$(MAKE) -s --no-print-directory setup
ifeq ($(TARGET),aws)
	@echo "ecskit destroy: target aws (profile $(or $(PROFILE),$(AWS_PROFILE),default), env $(ENV))"
	cdk destroy --all -c env=$(ENV) $(if $(PROFILE),--profile $(PROFILE))
else
	@$(BIN)/python -m constructs_lib.local destroy --env $(ENV)
endif

test: setup  ## Run the whole test suite (offline: synth, assertions, moto)
	$(BIN)/python -m pytest

snapshot-update: setup  ## Re-record the dev and prod template snapshots (tests/__snapshots__) after an intended change
	$(BIN)/python -m pytest -n 0 --snapshot-update tests/test_app.py tests/test_app_prod.py

guard-update: setup  ## Re-record the replacement-guard baselines (replacement-guard/<env>/) of dev and prod
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for env in dev prod; do \
		cdk synth --quiet -c env=$$env --output "$$tmp/$$env" >"$$tmp/$$env.log" 2>&1 \
			|| { cat "$$tmp/$$env.log"; exit 1; }; \
		$(BIN)/python -m constructs_lib.replacement_guard update "$$tmp/$$env" --env $$env; \
	done

# The synth report: every environment of cdk.json synthesized into $(REPORT_DIR)/<env>/ (not the
# plain cdk.out of `make synth`), then constructs_lib/report.py writes $(REPORT_DIR)/<env>/report.md
# (+ report.svg when Graphviz `dot` is installed) and appends it to $GITHUB_STEP_SUMMARY when set.
# Every environment is reported; exit 1 at the end when a gate failed in any of them.
REPORT_DIR ?= cdk.out
REPORT_ENVS ?= $(shell $(PYTHON) -c "import json; print(' '.join(json.load(open('cdk.json'))['context']['ecskit']['environments']))")

report: setup  ## Synth report per environment: cdk.out/<env>/report.md (resources, cdk-nag, cfn-lint, replacement guard, diagram); exit 1 when a gate failed
	@status=0; for env in $(REPORT_ENVS); do \
		out="$(REPORT_DIR)/$$env"; rm -rf "$$out"; mkdir -p "$$out"; \
		cdk synth --quiet -c env=$$env --output "$$out" >"$$out/synth.log" 2>&1 \
			|| { cat "$$out/synth.log"; status=1; }; \
		if [ -f "$$out/manifest.json" ]; then \
			$(BIN)/python -m constructs_lib.report "$$out" --env $$env --out "$$out/report.md" \
				--svg "$$out/report.svg" $${GITHUB_STEP_SUMMARY:+--step-summary} || status=1; \
			echo "wrote $$out/report.md"; \
		else echo "$$env: synth wrote no assembly, no report" >&2; status=1; fi; \
	done; exit $$status

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

diff: setup  ## cdk diff of ENV's stacks against the real account (needs AWS credentials; CI runs it only with an OIDC role)
	@test -f cdk.out/$(ENV)/manifest.json || cdk synth --quiet -c env=$(ENV) --output cdk.out/$(ENV)
	cdk diff --app cdk.out/$(ENV)
