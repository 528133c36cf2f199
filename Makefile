# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo ui test install install-dev lint lint-deploy bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runs the main job on the embedded default: SQLite, the sample workspace, the rule extractor.
demo: install
	$(BIN)/slack-events demo

# The Dagster UI (dagster dev) on the demo's runs, events and checks; Ctrl-C stops it.
ui: install
	$(BIN)/slack-events ui

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"

# The whole test suite, PostgreSQL cases included (they skip without a server
# unless SLACK_EVENTS_REQUIRE_POSTGRES=1, as in CI).
# --dist loadgroup is meant to keep the tests of one xdist_group (the deployment's
# processes and the browser test share one deployment) on one worker. With pytest 9.2
# and pytest-xdist 3.8 the group suffix does not reach the scheduler, so each worker
# may start its own deployment: still correct, a little slower.
test: install-dev
	$(BIN)/pytest -n 2 --dist loadgroup -m "not pg_restart" $(PYTEST_ARGS)
	$(BIN)/pytest -m pg_restart $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The deployment files: the compose file against the Compose specification, the Dockerfile.
lint-deploy: install-dev
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/hadolint Dockerfile

bench: install-dev
	$(BIN)/python bench/storage.py

clean:
	rm -rf $(VENV) data output .pytest_cache .mypy_cache .ruff_cache
