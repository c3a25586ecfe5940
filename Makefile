# ordersync — `make demo` and `make test` work on a fresh machine with only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench emulator clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[postgres]' --group dev  # dev: pyproject's [dependency-groups]
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ordersync demo

# pytest keeps its rewritten test modules as bytecode (collection: 9.0 -> 4.0 s CPU on a rerun),
# which a PYTHONDONTWRITEBYTECODE=1 in the environment would forbid
TEST_ENV := PYTHONDONTWRITEBYTECODE=

test: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  # all but the tests marked slow (SLOW in tests/conftest.py), a worker a core
	$(TEST_ENV) $(BIN)/pytest -m "not slow" -n auto $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/phase1_requests.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

emulator: $(STAMP)
	$(BIN)/ordersync emulator --port 8765

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
