# The two commands a new user needs: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test demo bench setup clean

run: setup ## Azurite + ACS emulator + the function app on http://127.0.0.1:7071 (USE_FUNC=1: func start)
	USE_FUNC=$(USE_FUNC) $(PY) -m tools.localstack

demo: setup ## against a running `make run`: record a call, archive it, show the blobs
	$(PY) -m tools.demo

bench: setup ## quick benchmarks (archive throughput and memory, cold start, control latency)
	$(PY) -m benchmarks --quick

test: setup ## ruff, mypy and the whole test suite (starts Azurite and the emulator itself)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
