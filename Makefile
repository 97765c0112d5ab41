# `make run` and `make test` are all a newcomer needs: both set up the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODEGEN := $(VENV)/codegen/.installed
DEMO_DB := insights.db
DEMO_SEGMENTS ?= 50000
DEMO_DAYS ?= 14
# `make run` serves on 127.0.0.1:8000 without authentication (say AUTH=on to try tokens locally,
# PORT=8080 or HOST=::1 to listen elsewhere; authentication off is refused off loopback)
AUTH ?= off
HOST ?= 127.0.0.1
PORT ?= 8000
# and plays live demo traffic, so /wallboard moves (DEMO_TRAFFIC=0 for a still warehouse)
DEMO_TRAFFIC ?= 1

.PHONY: install lock run demo test lint schema docs clean explorer chromium

install: $(STAMP) explorer $(CODEGEN)

# ariadne-codegen in a virtual environment of its own (see explorer/codegen-requirements.in)
$(CODEGEN): explorer/codegen-requirements.lock | $(STAMP)
	$(PYTHON) -m venv $(VENV)/codegen
	$(VENV)/codegen/bin/python -m pip install --quiet -r explorer/codegen-requirements.lock
	touch $@

# GraphiQL's assets and the schema linter come from the npm registry (explorer/package-lock.json);
# without npm the page falls back to the CDN and the gateway logs so.
EXPLORER_STAMP := explorer/node_modules/.installed
explorer: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(EXPLORER_STAMP); \
	else echo "npm not found: GraphiQL will load its assets from the CDN (install Node.js for offline)"; fi

$(EXPLORER_STAMP): explorer/package.json explorer/package-lock.json gateway/assets.py gateway/wallboard.py
	cd explorer && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m gateway.assets
	$(BIN)/python -m gateway.wallboard
	touch $@

# Every package at the exact version of requirements-dev.lock (pip and the build backend too);
# the project itself is installed on top, editable, adding nothing.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $$(grep -E '^(pip|setuptools)==' requirements-dev.lock)
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# `make lock` re-resolves the lock files after a change to pyproject.toml (or the codegen input),
# keeping every pin it can; `make lock UPGRADE=1` moves everything to the newest releases.
# requirements.lock: the app alone (deployments); requirements-dev.lock: the app, its dev tools.
COMPILE = $(BIN)/uv pip compile --quiet --python-version 3.11 --custom-compile-command 'make lock' \
	$(if $(UPGRADE),--upgrade)
lock: | $(STAMP)
	$(COMPILE) pyproject.toml -o requirements.lock
	$(COMPILE) pyproject.toml --extra dev --constraint requirements.lock -o requirements-dev.lock
	$(COMPILE) explorer/codegen-requirements.in -o explorer/codegen-requirements.lock

# The demo ends now: kept while it holds these parameters and ended less than an hour ago today,
# else rebuilt beside insights.db and renamed over it (an interrupted build leaves nothing).
demo: $(STAMP)
	$(BIN)/insights-gateway demo --refresh --database sqlite+aiosqlite:///$(DEMO_DB) \
		--segments $(DEMO_SEGMENTS) --days $(DEMO_DAYS)

run: install demo
	$(BIN)/insights-gateway serve --auth $(AUTH) --host $(HOST) --port $(PORT) \
		--database sqlite+aiosqlite:///$(DEMO_DB) $(if $(filter 0,$(DEMO_TRAFFIC)),,--demo-traffic)

# The browser test drives Debian's Chromium (never a browser downloaded by a test tool): installed
# here when missing and we are root, else one line saying how (INSIGHTS_CHROMIUM points elsewhere).
CHROMIUM ?= $(or $(INSIGHTS_CHROMIUM),/usr/bin/chromium)
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$(CHROMIUM)" = /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "make test needs Chromium at $(CHROMIUM): run 'sudo apt-get install chromium' (Debian) or set INSIGHTS_CHROMIUM" >&2; \
		exit 1; \
	fi

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy warehouse resolvers schema gateway
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy warehouse resolvers schema gateway

schema: install
	$(BIN)/insights-gateway export-schema > schema.graphql

docs: install
	$(BIN)/python -m resolvers.metrics.docs > docs/metrics.md

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).building* \
		explorer/node_modules gateway/static test-artifacts
