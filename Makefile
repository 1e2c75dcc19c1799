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

.PHONY: run install migrate seed serve test lint format schema schema-check ops-lint \
	audit compose-up compose-down clean

## run: install, migrate, load the demo data and serve GraphiQL on http://127.0.0.1:8000/graphql/
run: install migrate seed serve

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups
	@touch $@

## install: create .venv with the locked dependencies (runtime and every tool group)
install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

# A year of history for the dashboard: bulk inserted, about ten seconds on SQLite.
DEMO_ORDERS ?= 3000
DEMO_BOOKINGS ?= 2000
seed: install
	$(PY) manage.py seed_demo --orders $(DEMO_ORDERS) --bookings $(DEMO_BOOKINGS)

serve: install
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(PY) manage.py runserver $(HOST):$(PORT)

## worker: run the background job worker (PostgreSQL: DATABASE_URL=postgres://...)
.PHONY: worker
worker: install
	JOBS_BACKEND=procrastinate $(PY) manage.py jobs_worker

## test: the test suite with coverage (SQLite unless DATABASE_URL is set)
test: install
	$(VENV)/bin/coverage run -m pytest $(PYTEST_ARGS)
	$(VENV)/bin/coverage report

## lint: ruff check and format check, and the import layers (lint-imports)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

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

## docs: serve the documentation on http://127.0.0.1:8001/ (mkdocs serve, rebuilt on every change)
.PHONY: docs docs-build erd erd-check
docs: install
	$(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

## docs-build: build the documentation into site/; any warning (a broken link or anchor) fails
docs-build: install
	$(VENV)/bin/mkdocs build --strict --site-dir site

## erd: rewrite docs/models.md, the entity-relationship diagram of every model, from the models
erd: install
	DJANGO_SETTINGS_MODULE=backend.settings.test $(PY) manage.py erd

## erd-check: fail when docs/models.md is stale
erd-check: install
	DJANGO_SETTINGS_MODULE=backend.settings.test $(PY) manage.py erd --check

## fuzz: generated queries and mutations against /graphql/ (anonymous, customer, staff) on a
## throwaway database; fails on a 5xx, a leak or a non-GraphQL answer (FUZZ_SEED replays a run)
FUZZ_EXAMPLES ?= 5000
.PHONY: fuzz
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) bench/fuzz.py

## graphiql-assets: refresh GraphiQL's vendored files (api/static/graphiql/) from the npm registry
.PHONY: graphiql-assets graphiql-assets-check
graphiql-assets: install
	$(PY) api/static/graphiql/update.py

## graphiql-assets-check: check the vendored GraphiQL files against their integrity hashes
graphiql-assets-check: install
	$(PY) api/static/graphiql/update.py --check

## ops-lint: lint the Dockerfiles, compose files and GitHub workflows, and bandit on the code
ops-lint: install
	$(VENV)/bin/hadolint Dockerfile.dev Dockerfile.prod
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec \
		docker-compose.yml docker-compose.prod.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows
	$(VENV)/bin/bandit -q -c pyproject.toml -r apps api backend schema docker gunicorn.conf.py

## audit: pip-audit of the locked runtime dependencies (queries the advisory database online)
audit: install
	$(UV) export --frozen --no-dev --format requirements-txt --quiet --output-file .audit-requirements.txt
	$(VENV)/bin/pip-audit --requirement .audit-requirements.txt --require-hashes --disable-pip --strict \
		--progress-spinner off; status=$$?; rm -f .audit-requirements.txt; exit $$status

## bench: req/s and latency of the main operations under gunicorn (needs PostgreSQL and Redis)
BENCH_PRODUCTS ?= 1000
BENCH_LARGE_PRODUCTS ?= 50000
BENCH_DURATION ?= 10
BENCH_CONNECTIONS ?= 8
BENCH_CONCURRENCY ?= 50
BENCH_BOOKINGS ?= 100
BENCH_LARGE_BOOKINGS ?= 10000
BENCH_SLOT_BUYERS ?= 50
.PHONY: bench bench-contention bench-realtime
bench: install
	BENCH_PRODUCTS=$(BENCH_PRODUCTS) BENCH_LARGE_PRODUCTS=$(BENCH_LARGE_PRODUCTS) \
		BENCH_BOOKINGS=$(BENCH_BOOKINGS) BENCH_LARGE_BOOKINGS=$(BENCH_LARGE_BOOKINGS) \
		BENCH_DURATION=$(BENCH_DURATION) BENCH_CONNECTIONS=$(BENCH_CONNECTIONS) $(PY) bench/run.py
	$(PY) bench/dashboard.py

## bench-dashboard: the admin's dashboard on 1,000 and 100,000 orders (also the end of `make bench`)
.PHONY: bench-dashboard
bench-dashboard: install
	$(PY) bench/dashboard.py

## bench-contention: 1,000 buyers race for 50 units, then 50 for one slot, through gunicorn; fails on a wrong count
bench-contention: install
	BENCH_CONCURRENCY=$(BENCH_CONCURRENCY) BENCH_SLOT_BUYERS=$(BENCH_SLOT_BUYERS) $(PY) bench/contention.py

## bench-realtime: 1,000 subscribers on one realtime process, 200 order updates through gunicorn and Redis; fails on a lost or stray event
bench-realtime: install
	$(PY) bench/realtime.py

## compose-up: the development stack (web, worker, PostgreSQL, Redis, Mailpit) with Docker
compose-up:
	docker compose up --build

compose-down:
	docker compose down

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache .coverage htmlcov
