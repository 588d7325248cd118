# Everything a newcomer needs: `make run` (the main job) and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch==2.13.0 from constraints.txt: a CPU build, never a multi-GB CUDA one
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,ray,video,zoo,tensorboard,offline]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/gtmgym run

# one pytest worker per core (pytest-xdist): the suite is about 25 min on one
test: setup
	$(BIN)/python -m pytest -q -n auto

lint: setup
	$(BIN)/ruff check gtmgym tests
