# trialkit: every target creates or refreshes the local virtualenv (.venv) from PyPI first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The application's own dependencies (demo, serve), then the test and lint tools on top.
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev

.PHONY: demo serve test lint typecheck format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "trialkit needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(DEV)

demo: $(STAMP)
	$(BIN)/trialkit demo

# Demo mode (a local demo database, printed logins) unless a secret is configured.
serve: $(STAMP)
	$(BIN)/trialkit serve $(if $(TRIALKIT_SECRET_KEY),,--demo)

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(DEV)
	$(BIN)/mypy

# The suite under coverage.py (line and branch, following the `trialkit` subprocesses), then
# the totals and the modules below 90 %: a list to read, not a gate. pytest's status is kept.
# `make test NOCOV=1` runs the suite without coverage (about 1.6 times less CPU).
# The suite runs on every core (pytest-xdist), a test file's tests together on one worker
# (module fixtures such as the browser tests' server, and the property tests' tallies, stay
# whole); `make test XDIST=0` runs it in one process.
XDIST ?= auto
XDIST_ARGS := $(if $(filter 0,$(XDIST)),,-n $(XDIST) --dist loadfile)
test: lint typecheck
ifdef NOCOV
	$(BIN)/python -m pytest $(XDIST_ARGS) $(PYTEST_ARGS)
else
	$(BIN)/python -m coverage erase
	@status=0; $(BIN)/python -m coverage run -m pytest $(XDIST_ARGS) $(PYTEST_ARGS) || status=$$?; \
	$(BIN)/python -m coverage combine -q; \
	$(BIN)/python scripts/coverage_summary.py 90; \
	exit $$status
endif

format: $(DEV)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

bench: $(DEV)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist .coverage .coverage.*
