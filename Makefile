# The two commands a new user needs: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The Functions Python worker (azure-functions-runtime) needs Python 3.13: a second venv holds it,
# with the app's runtime requirements; the local host runs the app in it, as Azure does.
# devtools/find_python313.sh finds a 3.13 or gets one (uv from PyPI, pyenv, apt), else says what to install.
WORKER_VENV := .venv-worker
WORKER_PY := $(WORKER_VENV)/bin/python
# checkov (the static scan of infra/) pins packages that clash with ours: it gets a venv of its own.
INFRA_VENV := .venv-infra
INFRA_PY := $(INFRA_VENV)/bin/python

# The control and archive suites, run a second time by `make test` signing in with Entra ID tokens.
IDENTITY_SUITES := tests/integration/test_control_api.py tests/integration/test_archive.py \
	tests/integration/test_chunk_transfer.py tests/integration/test_archive_recovery.py \
	tests/e2e/test_local_stack.py

.PHONY: run test unit demo env bench soak reliability setup run-setup clean

run: run-setup ## Azurite + ACS emulator + the function app on http://127.0.0.1:7071 (USE_FUNC=1: func start)
	USE_FUNC=$(USE_FUNC) $(PY) -m devtools.stack

demo: run-setup ## against a running `make run` (PORT=N: the one on N; else the only one): record a call, archive it, show the blobs
	$(PY) -m devtools.demo

env: ## the running stack's addresses and key as shell variables: eval "$$(make -s env)" (PORT=N: the one on N)
	@test -x $(PY) || { echo "error: no stack is running here: start one with make run" >&2; exit 1; }
	@$(PY) -m devtools.demo --env

bench: setup ## quick benchmarks (archive throughput and memory, cold start, control latency)
	$(PY) -m benchmarks --quick

test: setup $(INFRA_VENV)/.installed ## ruff, mypy and the whole test suite (starts Azurite and the emulator itself)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest
	@echo "== again with a managed identity to ACS instead of the access key (TEST_ACS_AUTH=identity)"
	TEST_ACS_AUTH=identity $(PY) -m pytest -q $(IDENTITY_SUITES)

soak: setup ## the chaos suite at soak size (more recordings, bigger chunks); its report goes to .work/chaos/
	CHAOS_SOAK=1 $(PY) -m pytest tests/chaos

reliability: setup ## run tests/chaos into docs/reliability.json, then render the README's reliability table from it
	CHAOS_REPORT=docs/reliability.json $(PY) -m pytest tests/chaos
	$(PY) -m devtools.reliability_report

unit: $(VENV)/.installed $(WORKER_VENV)/.installed $(INFRA_VENV)/.installed ## the fast tests only: pure functions and the worker's indexer, no servers
	$(PY) -m pytest -m unit

setup: $(VENV)/.installed $(WORKER_VENV)/.installed node_modules/.installed

# `make run` installs only what running needs (requirements-run.txt); `make test` adds the test tools.
run-setup: $(VENV)/.run-installed $(WORKER_VENV)/.installed node_modules/.installed

$(VENV)/.run-installed: requirements.txt requirements-run.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-run.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-run.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(WORKER_VENV)/.installed: requirements.txt requirements-worker.txt
	test -x $(WORKER_PY) || { py="$$(PYTHON=$(PYTHON) devtools/find_python313.sh)" && "$$py" -m venv $(WORKER_VENV); }
	$(WORKER_PY) -m pip install --quiet --upgrade pip
	$(WORKER_PY) -m pip install --quiet -r requirements-worker.txt
	touch $@

$(INFRA_VENV)/.installed: requirements-infra.txt
	test -x $(INFRA_PY) || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_PY) -m pip install --quiet --upgrade pip
	$(INFRA_PY) -m pip install --quiet -r requirements-infra.txt
	touch $@

# Azurite 3.37 needs Node 22 or later; package.json pins it from npm, so any Node that can run npm ci will do.
# The checks say in one line what is missing (npm ci's own engine warnings are hidden by --loglevel=error).
node_modules/.installed: package.json package-lock.json
	@$(PYTHON) -m devtools.azurite check-npm
	npm ci --no-audit --no-fund --loglevel=error
	@$(PYTHON) -m devtools.azurite check-node
	touch $@

clean:
	rm -rf $(VENV) $(WORKER_VENV) $(INFRA_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
