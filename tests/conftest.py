"""Shared fixtures. The end-to-end demo run is made once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("GEOSUFF_CACHE_DIR", str(REPO / ".geosuff-cache"))


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory: pytest.TempPathFactory):
    """The whole pipeline on the SYNTHETIC Rutland demo (written to a temp folder)."""
    from geosuff.pipeline import run_demo

    out = tmp_path_factory.mktemp("demo")
    return run_demo(out)


@pytest.fixture(scope="session")
def demo_restricted_results(tmp_path_factory: pytest.TempPathFactory):
    """The demo run again in restricted mode (record-level files in RESTRICTED/)."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    out = tmp_path_factory.mktemp("demo_restricted")
    syn = synthesise("E06000017", out / "E06000017" / "inputs")
    sc = load_config(syn.config)
    sc = sc.model_copy(update={"output": sc.output.model_copy(update={"restricted": True})})
    return run(sc)


@pytest.fixture(scope="session")
def postgis():
    """A temporary PostgreSQL + PostGIS server (tests/postgis_server.py), stopped at the end.

    Skipped with a message when the server binaries or PostGIS are missing, unless
    GEOSUFF_REQUIRE_POSTGIS=1 (as `make test` sets), when that fails the test instead.
    """
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import postgis_server

    bindir, why = postgis_server.find_bindir()
    if bindir is None:
        if os.environ.get("GEOSUFF_REQUIRE_POSTGIS"):
            pytest.fail(why + "; `make test` requires it")
        pytest.skip(why)
    server = postgis_server.start()
    yield server
    server.stop()
