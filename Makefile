# Two commands on a fresh machine: `make run` (smoke profile end to end on CPU)
# and `make test`. Both set the environment up from the committed uv.lock.
SHELL := /bin/bash
UV_VERSION := 0.13.8
# uv runs as a Python module so it is found wherever pip put it.
UV := python3 -m uv
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= smoke
ARGS ?=

.PHONY: setup run test lint bench clean-runs

# The stamp makes `make` re-sync only when the lockfile or pyproject changes.
$(VENV)/.synced: pyproject.toml uv.lock
	$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --python 3.11
	touch $@

setup: $(VENV)/.synced

run: setup
	$(PY) -m glov.cli run --config $(PROFILE) $(ARGS)

test: setup
	$(VENV)/bin/pytest -q --timeout=900

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(PY) -m bench.run --out bench/results.json
