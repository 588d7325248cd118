# Everything a newcomer needs: `make run` (the main job) and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch==2.13.0 from constraints.txt: a CPU build, never a multi-GB CUDA one
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,ray,video,zoo,tensorboard,offline,browser]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/gtmgym run

# Debian's Chromium, for the HTML report's browser test: as root or through
# sudo, nothing done when a chromium is there; where none can be installed
# the test skips and says so (NO BROWSER in the summary)
browser:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
	else echo "WARNING: neither root nor sudo: chromium not installed"; exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "WARNING: no apt-get: chromium not installed"; exit 0; fi; \
	$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null \
		|| echo "WARNING: apt-get could not install chromium"

# one pytest worker per core (pytest-xdist): the suite is about 25 min on one
test: setup browser
	$(BIN)/python -m pytest -q -n auto

lint: setup
	$(BIN)/ruff check gtmgym tests
