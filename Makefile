# Everything runs from a project-local virtual environment that these targets create.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export EMONEV_DATABASE_URL ?= sqlite:///var/emonev.sqlite3

LINT_TOOLS := tools/openapi-lint

.PHONY: run test check lint typecheck pytest bench clean openapi-lint-tools

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

## run: set up, migrate the SQLite database, import the bundled templates, serve on http://127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/emonev db upgrade
	$(BIN)/emonev templates import
	$(BIN)/emonev serve --host 127.0.0.1 --port 8000

## test: set up the test extra, then lint, type-check and run the whole suite
test: $(VENV)/.installed-test openapi-lint-tools check pytest

# Redocly CLI for tests/test_openapi_lint.py, exactly as package-lock.json pins it. Without npm the test is
# skipped (a failure under CI=true, where .ci/run installs npm).
openapi-lint-tools:
	@if command -v npm >/dev/null; then \
	  [ $(LINT_TOOLS)/node_modules/.installed -nt $(LINT_TOOLS)/package-lock.json ] || { \
	    npm ci --prefix $(LINT_TOOLS) --no-audit --no-fund --loglevel=error && \
	    touch $(LINT_TOOLS)/node_modules/.installed; }; \
	else echo "NOTE: npm is not installed: the OpenAPI lint test (Redocly CLI) is SKIPPED."; fi

check: $(VENV)/.installed-test lint typecheck

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy scoring
	$(BIN)/mypy app

pytest:
	@if [ -z "$$EMONEV_TEST_POSTGRES_URL" ]; then \
	  echo "NOTE: EMONEV_TEST_POSTGRES_URL is not set: the PostgreSQL suite is SKIPPED, only SQLite runs."; fi
	$(BIN)/python -m pytest -n 2 --dist worksteal -p no:cacheprovider

bench: $(VENV)/.installed-test
	$(BIN)/python bench/scoring.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(LINT_TOOLS)/node_modules
