"""A wheel install (``pip install geosuff``, not the editable clone) carries every shipped file the
package reads: the boundaries once lived outside the package and a wheel install could not run."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import geosuff
from geosuff import inputs, reference

REPO = Path(__file__).resolve().parent.parent


def test_shipped_files_live_inside_the_package() -> None:
    pkg = Path(geosuff.__file__).resolve().parent
    for p in (
        inputs.DEFAULT_BOUNDARIES,
        inputs.DEMO_NETWORK,
        inputs.DEMO_POSTCODES,
        inputs.LSOA_POINTS,
        reference.SITE_TYPES_FILE,
        reference.PLACEMENT_CODES_FILE,
        reference.UK_SPEEDS_FILE,
    ):
        path = Path(p).resolve()
        assert path.is_file(), path
        assert pkg in path.parents, f"{path} is outside the package {pkg}"


def test_the_wheel_contains_the_data_files(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("geosuff-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    pkg = Path(geosuff.__file__).resolve().parent
    shipped = [
        p.relative_to(pkg.parent).as_posix()
        for d in ("data", "templates")
        for p in (pkg / d).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "geosuff/data/england_utla2023_buc.geojson" in shipped
    missing = sorted(set(shipped) - names)
    assert not missing, missing
