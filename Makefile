# Two commands for a fresh machine (Python 3.11+):
#   make demo   - create .venv, install geosuff, run the whole job on the shipped Rutland demo
#   make test   - create .venv, install geosuff with test extras (+ Debian chromium), run the tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/geosuff: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/geosuff

.PHONY: install demo test bench browser lint
install: $(BIN)/geosuff

demo: install
	$(BIN)/geosuff demo

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped"

test: install browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/run_all.py

lint: install
	$(BIN)/ruff check geosuff tests benchmarks
	$(BIN)/mypy geosuff
