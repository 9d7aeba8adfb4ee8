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

.PHONY: install demo test bench browser lint councils peers
install: $(BIN)/geosuff

demo: install
	$(BIN)/geosuff demo

# Browser tests need Debian's chromium (playwright drives it; no browser download). make test
# installs it with apt when missing (as root, as CI runs) and fails if it cannot.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || (echo "make test: could not install Debian chromium (apt-get install chromium, as root)"; exit 1)

# The DfE 903 validator (csc-validator-be-903) pins pandas 1.5 / numpy 1.24, so it lives in its own
# venv; tests/analysis/test_distance.py cross-checks geosuff's DfE distance and IN/OUT against it.
V903 := .venv-v903
$(V903)/bin/python:
	$(PY) -m venv $(V903)
	$(V903)/bin/pip install --quiet csc-validator-be-903 || (rm -rf $(V903); echo "make test: could not install csc-validator-be-903"; exit 1)

# Both cross-checks are required here: a missing browser or validator fails the run (plain
# `pytest` outside make skips them with a message instead).
test: install browser $(V903)/bin/python
	GEOSUFF_V903_PYTHON=$(CURDIR)/$(V903)/bin/python GEOSUFF_REQUIRE_V903=1 GEOSUFF_REQUIRE_BROWSER=1 \
	  $(BIN)/python -m pytest -q

# Peer routers for benchmarks/bench_peers.py (pandana, Valhalla via pyvalhalla), in their own venv
# so that their pins never touch geosuff's. pyvalhalla-weekly is the newest wheel for Python 3.11
# that ships valhalla_build_tiles (pyvalhalla 3.9 has no cp311 wheel; its source build needs libcurl
# and more). The benchmark skips a peer with a message when it is missing.
PEERS := .venv-peers
$(PEERS)/bin/python:
	$(PY) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet --only-binary :all: pandana pyvalhalla-weekly || (rm -rf $(PEERS); echo "make peers: could not install pandana / pyvalhalla"; exit 1)

peers: $(PEERS)/bin/python

bench: install
	$(BIN)/python benchmarks/run_all.py

lint: install
	$(BIN)/ruff check geosuff tests benchmarks scripts
	$(BIN)/ruff format --check geosuff tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/mypy geosuff

# Soak run (not part of make test; several minutes): synthetic reviews of Rutland, County Durham,
# Dorset, Derby and Kent for three seeds each (straight-line estimates where no network is shipped).
councils: install
	$(BIN)/python scripts/councils.py
