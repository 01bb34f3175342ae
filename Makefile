# make demo  - create .venv if needed, install recsys, run the main job on the bundled data
# make test  - lint, format check, type check, tests (notebooks included), docs build
# make bench - run the benchmark scripts (figures go to benchmarks/RESULTS.md by hand)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= recsys-demo

.PHONY: demo test lint typecheck pytest docs docs-build base-install bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "recsys needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per set of extras, redone when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	@touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/recsys demo --out $(OUT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check recsys tests benchmarks scripts $(wildcard examples)
	$(BIN)/ruff format --check recsys tests benchmarks scripts $(wildcard examples)

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy recsys

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q --durations=10 --doctest-modules --nbmake recsys tests examples

docs-build: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# A base install (no extras) in its own environment: pandas in and out must work there.
BASE_VENV ?= .venv-base
base-install: pyproject.toml
	$(PYTHON) -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BASE_VENV)/bin/python -m pip install --quiet . pandas
	cd scripts && ../$(BASE_VENV)/bin/python check_base_install.py

test: lint typecheck pytest docs-build base-install

docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: $(VENV)/.installed-dev
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(BASE_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache site
