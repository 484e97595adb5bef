# Taskdeck: `make run` serves the app with demo data, `make test` runs the whole suite.
# Everything is installed inside the project (.venv, node_modules, static/vendor).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi

.PHONY: setup setup-dev run serve bench bench-peer bench-venv test test-sqlite test-postgres lint assets clean

# `make run` installs what running needs (requirements.txt, the npm dependencies); the test
# tools (requirements-dev.txt, npm devDependencies such as axe-core) come with `make test`.
setup: $(VENV)/.installed-runtime assets
setup-dev: $(VENV)/.installed-dev node_modules/.installed-dev assets

$(VENV)/.installed-runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

node_modules/.installed: package.json package-lock.json
	test -f node_modules/.installed-dev -a node_modules/.installed-dev -nt package-lock.json || \
	  npm ci --omit=dev --no-audit --no-fund
	touch $@

node_modules/.installed-dev: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@ node_modules/.installed

# Third-party front-end files are copied from node_modules, never committed.
assets: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/htmx-ext-sse/dist/sse.min.js static/vendor/htmx-ext-sse.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
	cp node_modules/sortablejs/Sortable.min.js static/vendor/Sortable.min.js
	mkdir -p static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js \
	  static/vendor/swagger-ui/

# Migrate, load the demo data once, then serve: the demo logins are printed last, once the
# server listens, and each request logs one JSON line.
run: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed --quiet
	$(FLASK) demo serve --host $(HOST) --port $(PORT)

# Production serving: gunicorn against DATABASE_URL (and REDIS_URL when set), with SECRET_KEY
# from the environment; the same command as the Dockerfile and compose.yaml.
serve: setup
	APP_ENV=production $(FLASK) db upgrade
	HOST=$(HOST) PORT=$(PORT) APP_ENV=production $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Load 1,000 then 100,000 tasks into BENCH_DATABASE_URL (default: the td_bench database, reset)
# and measure the main pages under gunicorn with wrk; writes docs/BENCHMARKS.md. Not in `make test`.
bench: setup-dev bench-venv
	$(BIN)/python bench/run.py

# bench/.venv (bench/requirements.txt): the reference server of bench-peer and the chart of
# the scale series, kept out of the app's environment.
bench-venv:
	test -x bench/.venv/bin/python || $(PYTHON) -m venv bench/.venv
	bench/.venv/bin/pip install --quiet -r bench/requirements.txt

# Taskdeck's GET /api/tasks against the in-memory FastAPI reference (bench/peer.py), which runs
# from its own environment bench/.venv (bench/requirements.txt). Not in `make test`.
bench-peer: setup-dev bench-venv
	$(BIN)/python bench/peer.py

# The suite runs on SQLite, then once more on PostgreSQL when TEST_POSTGRES_URL is set
# (.ci/run sets it to the machine's database).
test: setup-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$${TEST_POSTGRES_URL:-}" ]; then \
	  echo "== The suite again on PostgreSQL ($$TEST_POSTGRES_URL)"; \
	  TEST_DATABASE_URL="$$TEST_POSTGRES_URL" $(BIN)/python -m pytest $(PYTEST_ARGS); \
	fi

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) bench/.venv node_modules static/vendor .pytest_cache
