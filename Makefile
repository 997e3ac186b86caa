# Two commands on a fresh machine:
#   make run   - the service (HTTP + scheduler + dispatcher) on embedded defaults: SQLite in var/,
#                messages to the local file outbox var/outbox/, no credentials needed.
#   make test  - lint, type-check and the three test lanes: every test once on each backend,
#                PostgreSQL on today's date, SQLite with the system clock moved (400 days, 6 years
#                ahead; libfaketime).
#   make unit / make integration / make acceptance - one lane (see "Tests in three lanes" below).
# Each sets itself up (virtual environment, dependencies, PostgreSQL, Chromium) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the service's own dependencies only (make run, make demo); STAMP adds the test and bench extras
RUN_STAMP := $(VENV)/.service-stamp
PYTEST_ARGS ?=

.PHONY: run demo test test-now test-postgres unit integration acceptance test-moved-clocks lint bench simulate \
        setup postgres chromium axe clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

setup: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/python main.py serve

demo: $(RUN_STAMP)
	$(BIN)/python main.py demo $(DEMO_ARGS)

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1

# Debian's Chromium and the fonts a real phone has (Noto for Latin, Arabic and the rest; Noto CJK
# for Chinese), so that screenshots show every language as it is rather than as boxes.
BROWSER_PACKAGES := chromium fonts-noto-core fonts-noto-cjk
chromium:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; }

# axe-core (accessibility rules) for the browser tests, into a folder the tests own
AXE := tests/.axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	npm install --no-audit --no-fund --silent --prefix tests/.axe axe-core@4

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

# Tests in three lanes (CONTRIBUTING.md says where a new test goes):
#   unit/        pure code and fakes: no database server, no other server; well under a minute.
#   integration/ SQLite and PostgreSQL, Radicale, the Twilio/SendGrid emulator, the webhooks.
#   acceptance/  the browser (Chromium), real processes (dispatchers, leader election, serve), the demo.
# Each lane runs on TEST_WORKERS pytest-xdist workers: one pytest process spends much of its time
# waiting (PostgreSQL clones, servers, child processes), so two keep both cores busy. Every worker has its own
# template databases, Radicale and emulator on free ports, and tmp folders; the browser tests stay
# on one worker (--dist loadgroup) because they write the same screenshots.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadgroup

# make test runs each test once per backend: PostgreSQL on today's date (with the tests that need no
# database), SQLite on a moved date (test-moved-clocks, below), so that every test meets two dates
# without the suite running each lane three times. `make test-now` runs both backends today.
test: lint unit test-postgres test-moved-clocks

test-now: lint unit integration acceptance

test-postgres: $(STAMP) postgres chromium axe
	CMP_TEST_BACKENDS=postgres $(BIN)/python -m pytest tests/integration tests/acceptance $(XDIST) $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(XDIST) $(PYTEST_ARGS)

integration: $(STAMP) postgres
	$(BIN)/python -m pytest tests/integration $(XDIST) $(PYTEST_ARGS)

acceptance: $(STAMP) postgres chromium axe
	$(BIN)/python -m pytest tests/acceptance $(XDIST) $(PYTEST_ARGS)

# The suite must pass on any date: a test that mixes the real clock with a fixed one passes on the
# day it is written and fails later. So the SQLite half of every lane runs with the system clock
# moved (the date arithmetic is ours, not the database's; PostgreSQL runs on today's date above):
# the unit and integration lanes 400 days ahead (next year, across a year end and both DST
# changes), the unit and acceptance lanes 6 years ahead (past a leap day). A test with no database
# runs today and moved; one with a database, on PostgreSQL today and on SQLite moved.
# `MOVED_CLOCK_RUNS` lists "offset:lanes" runs (lanes joined by ","). Tests marked `own_clock`
# (the simulations, on their own 2027 clock) and needing no database already ran today and are
# left out; their SQLite runs (the simulated month) run here, and the short simulation that prints
# its replay command stays in, as the probe that the simulation reads no system clock.
# tests/moved_clock.py preloads libfaketime (see its docstring); under an outer faketime (FAKETIME
# set) the clock is already moved, so this step is skipped.
MOVED_CLOCK_RUNS ?= +400d:tests/unit,tests/integration +6y:tests/unit,tests/acceptance
test-moved-clocks: $(STAMP) chromium axe
	@if [ -n "$$FAKETIME" ]; then echo "clock already moved ($$FAKETIME): skipping test-moved-clocks"; else \
	  for run in $(MOVED_CLOCK_RUNS); do \
	    offset=$${run%%:*}; lanes=$$(echo $${run#*:} | tr , ' '); \
	    echo "== $$lanes on SQLite with the clock moved $$offset"; \
	    CMP_TEST_BACKENDS=sqlite $(BIN)/python tests/moved_clock.py $$offset -m pytest -q $(XDIST) \
	      -m "sqlite or not own_clock" $$lanes $(PYTEST_ARGS) || exit 1; \
	  done; fi

bench: $(STAMP)
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/matching.py

# A seeded simulated year of the program (sim/) on SQLite and on PostgreSQL, every invariant
# checked after every step; exits non-zero (printing the replay command) on any violation.
SIM_SEED ?= 2027
SIM_DAYS ?= 365
simulate: $(STAMP) postgres
	$(BIN)/python -m sim --backend sqlite --backend postgres --seed $(SIM_SEED) --days $(SIM_DAYS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
