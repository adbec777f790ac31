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

# The main job for now: synthetic MICO data, then validate and score it as organizers would.
demo: $(BIN)/mia-arena
	$(BIN)/mia-arena demo-data $(DEMO) --track cifar10
	$(BIN)/mia-arena validate $(DEMO)/submissions/cifar10-strong.zip --track cifar10
	@for attack in strong medium weak random; do \
		echo; echo "== cifar10-$$attack.zip"; \
		$(BIN)/mia-arena score $(DEMO)/submissions/cifar10-$$attack.zip --truth $(DEMO)/truth; \
	done

lint: $(BIN)/mia-arena
	$(BIN)/ruff check app workers tests benchmarks migrations
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

benchmark: $(BIN)/mia-arena
	$(BIN)/python benchmarks/scoring.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache *.egg-info
