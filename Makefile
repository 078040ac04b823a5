# Two commands on a fresh machine: `make run` (the default experiment) and `make test` (the whole suite).
# Both create the virtual environment .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= experiments/thon_dong.toml

.PHONY: run test test-fast bench app lab clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,viz]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/diffusion run $(CONFIG)

# Lint, the layer contract (imports only point down; see docs/design.md), then every test.
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not integration"

# The interactive app (Mesa SolaraViz) on http://127.0.0.1:8765; PLACE=dam_buon or commune for another place.
app: $(BIN)/.installed
	$(BIN)/diffusion app --place $(or $(PLACE),thon_dong)

# JupyterLab on the tutorial notebooks (installs the jupyter extra the first time).
$(BIN)/.jupyter: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,viz,jupyter]"
	touch $@

lab: $(BIN)/.jupyter
	$(BIN)/jupyter lab notebooks/

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) .pytest_cache
