# Two commands on a fresh machine:
#   make run   - the service (HTTP + scheduler + dispatcher) on embedded defaults: SQLite in var/,
#                messages to the local file outbox var/outbox/, no credentials needed.
#   make test  - lint, type-check and the whole test suite on SQLite and PostgreSQL.
# Each sets itself up (virtual environment, dependencies, PostgreSQL, Chromium) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run demo test lint bench setup postgres chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py serve

demo: $(STAMP)
	$(BIN)/python main.py demo

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

test: $(STAMP) postgres chromium lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/matching.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
