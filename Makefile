# Every target installs what it needs first; the stamps make a second run a fast no-op.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
MUTATION_STAMP := $(VENV)/.installed-mutation
JS_STAMP := node_modules/.installed
ARGS ?=

.PHONY: install demo run test lint bench mutation clean help

help:
	@echo "make demo   install, start a persisted Anvil + the platform, seed demo data"
	@echo "make test   install and run the whole test suite"
	@echo "make run    install and run the server (CHAINPROOF_* settings apply)"
	@echo "make lint   ruff format --check, ruff check, mypy"
	@echo "make bench  benchmarks, printed beside baselines measured in the same run"
	@echo "make mutation  mutation testing of the proof and rules kernels (slow; ARGS=merkle ...)"

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# `npm install` and not `npm ci`: @foundry-rs/anvil lists an optional binary package per
# platform, and the registry reachable here serves only linux-amd64's, so the lockfile holds
# just that one and `npm ci` refuses it as out of sync. With the lockfile present,
# `npm install` installs exactly its versions and integrity hashes and leaves it unchanged.
$(JS_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(JS_STAMP)

$(MUTATION_STAMP): $(PY_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,mutation]'
	@touch $@

demo: install
	$(BIN)/chainproof demo $(ARGS)

run: install
	$(BIN)/chainproof serve $(ARGS)

test: install
	$(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python scripts/bench.py $(ARGS)

# Not part of .ci/run: one worker, niced, about half an hour on a shared machine. The table
# and the mutants judged equivalent are in docs/testing.md.
mutation: install $(MUTATION_STAMP)
	$(BIN)/python scripts/mutation.py $(ARGS)

clean:
	rm -rf $(VENV) node_modules .cache .mypy_cache .ruff_cache .pytest_cache
