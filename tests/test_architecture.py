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


#: Code-list files of ``geosuff/data`` that only :mod:`geosuff.reference` may name (and read).
REFERENCE_DATA_FILES = (
    "site_types.csv",
    "placement_codes.csv",
    "placement_groups.csv",
    "ltla_utla_apr23.csv",
    "siting_rules.toml",
    "uk_speeds.csv",
    "oc3_codes.csv",
    "needs.csv",
)


def _data_file_literals(package: Path) -> list[str]:
    """``file:line name`` of every string literal (docstrings aside) outside ``reference.py``
    that is a path to one of :data:`REFERENCE_DATA_FILES` (ends with its name: ``"data/x.csv"``,
    ``DATA / "x.csv"``, an f-string's tail), so that prose naming a file (a report's method
    text) is not a reader."""
    import ast

    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "reference.py" and path.parent == package:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if (
                    body
                    and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                ):
                    docstrings.add(id(body[0].value))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                for name in REFERENCE_DATA_FILES:
                    # a path to the file ends with its name; prose that mentions it does not
                    if node.value.strip().endswith(name):
                        found.append(f"{path.relative_to(package.parent)}:{node.lineno} {name}")
    return found


def test_only_reference_reads_the_code_list_files(tmp_path: Path) -> None:
    # site types, PLACE codes and groups, LTLA -> UTLA, the siting rules and the UK road
    # speeds are read in one place
    # (geosuff.reference): every other module uses its typed readers
    assert _data_file_literals(ROOT / "geosuff") == []
    # the check sees a module that opens one (as gaps.py and demand.py used to), docstrings aside
    pkg = tmp_path / "geosuff"
    pkg.mkdir()
    (pkg / "reference.py").write_text('X = "data/site_types.csv"\n')
    (pkg / "gaps.py").write_text(
        '"""Reads ``site_types.csv``."""\nimport pandas as pd\n'
        'T = pd.read_csv(DATA / "site_types.csv")\n'
        'S = open(f"{DATA}/uk_speeds.csv")\n'
        'M = "speeds of the shipped table (geosuff/data/uk_speeds.csv)"\n'
    )
    assert _data_file_literals(pkg) == [
        "geosuff/gaps.py:3 site_types.csv",
        "geosuff/gaps.py:4 uk_speeds.csv",
    ]
