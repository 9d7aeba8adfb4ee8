# Two commands for a fresh machine (Python 3.11+):
#   make demo   - create .venv, install geosuff, run the whole job on the shipped Rutland demo
#   make test   - create .venv, install geosuff with test extras (+ Debian chromium and
#                 PostgreSQL 15 + PostGIS 3), run the tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/geosuff: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/geosuff

.PHONY: install demo test bench browser postgis qgis lint councils peers
install: $(BIN)/geosuff

demo: install
	$(BIN)/geosuff demo

# Browser tests need Debian's chromium (playwright drives it; no browser download). make test
# installs it with apt when missing (as root, as CI runs) and fails if it cannot.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || (echo "make test: could not install Debian chromium (apt-get install chromium, as root)"; exit 1)

# Database tests start a throw-away PostgreSQL 15 server with PostGIS (tests/postgis_server.py), so
# they need Debian's postgresql-15-postgis-3, whose extension files are where the server binaries
# in /usr/lib/postgresql/15/bin look. make test installs it with apt when missing (as root) and
# fails if it cannot.
PG_BIN := /usr/lib/postgresql/15/bin
# The QGIS-project test opens geosuff.qgs in headless QGIS (Debian python3-qgis, system Python).
qgis:
	@/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 \
	  || (apt-get update -qq && apt-get install -y -qq python3-qgis qgis-providers >/dev/null) \
	  || (echo "make test: could not install Debian python3-qgis (apt-get install python3-qgis qgis-providers, as root)"; exit 1)

postgis:
	@(test -x $(PG_BIN)/postgres && test -f "$$($(PG_BIN)/pg_config --sharedir)/extension/postgis.control") \
	  || (apt-get update -qq && apt-get install -y -qq postgresql-15-postgis-3 >/dev/null) \
	  || (echo "make test: could not install Debian postgresql-15-postgis-3 (apt-get install postgresql-15-postgis-3, as root)"; exit 1)
	@test -f "$$($(PG_BIN)/pg_config --sharedir)/extension/postgis.control" \
	  || (echo "make test: PostGIS is not installed for the server in $(PG_BIN) (no postgis.control in its extension folder)"; exit 1)

# The DfE 903 validator (csc-validator-be-903) pins pandas 1.5 / numpy 1.24, so it lives in its own
# venv; tests/analysis/test_distance.py cross-checks geosuff's DfE distance and IN/OUT against it.
V903 := .venv-v903
$(V903)/bin/python:
	$(PY) -m venv $(V903)
	$(V903)/bin/pip install --quiet csc-validator-be-903 || (rm -rf $(V903); echo "make test: could not install csc-validator-be-903"; exit 1)

# The cross-checks and the database tests are required here: a missing browser, validator or
# PostGIS fails the run (plain `pytest` outside make skips them with a message instead).
test: install browser postgis qgis $(V903)/bin/python
	GEOSUFF_V903_PYTHON=$(CURDIR)/$(V903)/bin/python GEOSUFF_REQUIRE_V903=1 GEOSUFF_REQUIRE_BROWSER=1 \
	  GEOSUFF_REQUIRE_POSTGIS=1 GEOSUFF_REQUIRE_QGIS=1 GEOSUFF_PG_BINDIR=$(PG_BIN) $(BIN)/python -m pytest -q

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
