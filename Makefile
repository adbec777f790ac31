# The two quick-start commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo-data

.PHONY: demo test lint benchmark clean

$(BIN)/mia-arena: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The main job: MICO with demo data, accounts and scored submissions, served on port 8000
# (a SQLite file in mia-demo/, scoring in the server's threads: no PostgreSQL or Redis).
demo: $(BIN)/mia-arena
	$(BIN)/mia-arena demo

lint: $(BIN)/mia-arena
	$(BIN)/ruff check app workers tests benchmarks migrations
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

benchmark: $(BIN)/mia-arena
	$(BIN)/python benchmarks/scoring.py

clean:
	rm -rf $(VENV) $(DEMO) mia-demo .pytest_cache .mypy_cache .ruff_cache *.egg-info
