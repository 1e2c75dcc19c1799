# SilkCart developer commands. `make run` and `make test` are all a new developer needs.
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run install migrate seed serve test lint format schema schema-check clean

## run: install, migrate, load the demo data and serve GraphiQL on http://127.0.0.1:8000/graphql/
run: install migrate seed serve

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

## install: create .venv with the locked dependencies
install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: install
	$(PY) manage.py seed_demo

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

## test: the test suite with coverage (SQLite unless DATABASE_URL is set)
test: install
	$(VENV)/bin/coverage run -m pytest $(PYTEST_ARGS)
	$(VENV)/bin/coverage report

## lint: ruff check and format check
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## schema: rewrite schema.graphql from the code
schema: install
	DJANGO_SETTINGS_MODULE=backend.settings.test $(PY) manage.py export_schema schema.schema --path schema.graphql

## schema-check: fail when schema.graphql is stale
schema-check: install
	DJANGO_SETTINGS_MODULE=backend.settings.test $(PY) manage.py export_schema schema.schema --path .schema.graphql.new
	@if diff -u schema.graphql .schema.graphql.new; then rm -f .schema.graphql.new; \
	else rm -f .schema.graphql.new; echo "schema.graphql is stale: run 'make schema'"; exit 1; fi

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache .coverage htmlcov
