# Every target installs what it needs first; the stamps make a second run a fast no-op.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
MUTATION_STAMP := $(VENV)/.installed-mutation
JS_STAMP := node_modules/.installed
ARGS ?=

.PHONY: install lock demo run test lint bench mutation clean help

help:
	@echo "make demo   install, start a persisted Anvil + the platform, seed demo data"
	@echo "make test   install and run the whole test suite"
	@echo "make run    install and run the server (CHAINPROOF_* settings apply)"
	@echo "make lint   ruff format --check, ruff check, mypy, ReDoS check of every regex"
	@echo "make bench  benchmarks, printed beside baselines measured in the same run"
	@echo "make lock   re-lock the Python dependencies (requirements.lock) after editing pyproject.toml"
	@echo "make mutation  mutation testing of the proof and rules kernels (slow; ARGS=merkle ...)"

# requirements.lock pins every package, transitive ones included, with their hashes (the
# runtime, the `embedded` chain's extra and the dev tools): pip installs exactly those, then
# ChainProof itself without resolving anything again. `make lock` regenerates it after a change
# to pyproject.toml (tests/unit/test_dependencies.py fails until then).
$(PY_STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# uv (pinned in the dev extra, so in the lock) resolves for every platform and Python >= 3.11.
# The server image (Dockerfile) installs requirements-server.lock: the runtime alone (the base
# and the `server` extra), at the versions of the full lock.
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 --quiet
lock: $(PY_STAMP)
	$(UV_COMPILE) --extra server --extra dev --extra embedded -o requirements.lock
	$(UV_COMPILE) --extra server --constraint requirements.lock -o requirements-server.lock

# `npm install` and not `npm ci`: @foundry-rs/anvil lists an optional binary package per
# platform, and the registry reachable here serves only linux-amd64's, so the lockfile holds
# just that one and `npm ci` refuses it as out of sync. With the lockfile present,
# `npm install` installs exactly its versions and integrity hashes and leaves it unchanged.
$(JS_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(JS_STAMP)

$(MUTATION_STAMP): $(PY_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[server,dev,mutation]'
	@touch $@

demo: install
	$(BIN)/chainproof demo --two-chains $(ARGS)

run: install
	$(BIN)/chainproof serve $(ARGS)

test: install
	$(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/redos_check.py

bench: install
	$(BIN)/python scripts/bench.py $(ARGS)

# Not part of .ci/run: one worker, niced, about half an hour on a shared machine. The table
# and the mutants judged equivalent are in docs/testing.md.
mutation: install $(MUTATION_STAMP)
	$(BIN)/python scripts/mutation.py $(ARGS)

clean:
	rm -rf $(VENV) node_modules .cache .mypy_cache .ruff_cache .pytest_cache
