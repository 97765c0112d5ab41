# `make run` and `make test` are all a newcomer needs: both set up the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB := insights.db
DEMO_SEGMENTS ?= 50000
DEMO_DAYS ?= 14
# `make run` serves on 127.0.0.1 without authentication (say AUTH=on to try tokens locally)
AUTH ?= off

.PHONY: install run demo test lint schema clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DEMO_DB): | $(STAMP)
	$(BIN)/insights-gateway demo --database sqlite+aiosqlite:///$(DEMO_DB) \
		--segments $(DEMO_SEGMENTS) --days $(DEMO_DAYS)

demo: $(DEMO_DB)

run: install $(DEMO_DB)
	$(BIN)/insights-gateway serve --auth $(AUTH) --database sqlite+aiosqlite:///$(DEMO_DB)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy warehouse resolvers schema gateway
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy warehouse resolvers schema gateway

schema: install
	$(BIN)/insights-gateway export-schema > schema.graphql

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
