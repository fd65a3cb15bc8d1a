# `make demo` and `make test` do all the set-up on a fresh machine (a venv in .venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test man bench clean

$(BIN)/flm: pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c .ci/constraints.txt -e '.[serve,dask,test]'
	touch $(BIN)/flm

# The main job on the bundled sample: the Flama tutorial's churn row through the churn model.
demo: $(BIN)/flm
	$(BIN)/flm predict samples/churn.flm data/input.json

test: $(BIN)/flm
	$(BIN)/ruff check flmcli tests bench compat man
	$(BIN)/mypy --strict flmcli
	# Bytecode caches on even where PYTHONDONTWRITEBYTECODE is set: without them every xdist worker and every
	# `flm` the tests start compiles flmcli, the tests and the assert-rewritten pytest plugins again (~4 s each).
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -p no:cacheprovider

man: $(BIN)/flm
	$(BIN)/python man/build.py

clean:
	rm -rf $(VENV)
