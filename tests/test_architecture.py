"""The package layout: layers import only from the layers before them (import-linter contract in
pyproject.toml, also run by ``make lint``), and no import cycle between the layers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str | None:
    exe = Path(sys.executable).parent / "lint-imports"
    if exe.exists():
        return str(exe)
    return shutil.which("lint-imports")


def test_layers_contract_is_kept() -> None:
    exe = _lint_imports()
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)}
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def test_import_geosuff_is_lazy_and_exports_the_api() -> None:
    code = (
        "import sys, geosuff; assert 'geosuff.pipeline' not in sys.modules, 'eager'; "
        "from geosuff import load_config, run, Results, od_matrix, from_cost_matrix; print('ok')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
