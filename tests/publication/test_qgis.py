"""geosuff.qgs: a QGIS project that references every GeoPackage layer by a relative path."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

from geosuff.publication import qgis
from geosuff.publication.files import QGIS_PROJECT
from geosuff.publication.maps import site_style

SYSTEM_PYTHON = "/usr/bin/python3"


def _project(out: Path) -> tuple[ET.Element, list[str]]:
    path = out / QGIS_PROJECT
    assert path.is_file()
    root = ET.parse(path).getroot()  # valid XML
    assert root.tag == "qgis"
    return root, [str(n) for n, _ in pyogrio.list_layers(out / "geosuff.gpkg")]


def test_demo_project_references_every_layer_relatively(demo_results) -> None:
    out = demo_results.out_dir
    root, gpkg_layers = _project(out)
    sources = qgis.layer_sources((out / QGIS_PROJECT).read_text(encoding="utf-8"))
    assert sources
    for file, layer in sources:
        assert file == "./geosuff.gpkg"  # relative: the folder can be moved
        assert (out / file).is_file() and layer in gpkg_layers, (file, layer)
    assert set(gpkg_layers) == {layer for _, layer in sources}
    # the layer tree names only layers the project defines, and every one of them
    ids = {e.text for e in root.iter("id")}
    tree_ids = {e.get("id") for e in root.iter("layer-tree-layer")}
    assert tree_ids == ids and len(ids) == len(sources)
    groups = [g.get("name") for g in root.find("layer-tree-group").findall("layer-tree-group")]
    assert set(groups) <= set(qgis.GROUPS) and {"Provision", "Catchments", "Boundaries"} <= set(
        groups
    )
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:27700"
    assert all(e.text == "EPSG:27700" for e in root.iter("authid"))


def test_demo_project_styles_follow_the_web_map(demo_results) -> None:
    root, _ = _project(demo_results.out_dir)
    layers = {ml.find("layername").text: ml for ml in root.iter("maplayer")}
    sites = next(ml for name, ml in layers.items() if name.startswith("Provision"))
    rend = sites.find("renderer-v2")
    assert rend.get("type") == "categorizedSymbol" and rend.get("attr") == "type"
    symbols = {s.get("name"): s for s in rend.iter("symbol")}
    for cat in rend.iter("category"):
        colour = site_style(cat.get("value"))[1].lstrip("#")
        want = ",".join(str(int(colour[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"
        got = symbols[cat.get("symbol")].find("layer/Option/Option[@name='color']").get("value")
        assert got == want, cat.get("value")
    # one catchment layer per threshold, the local one shown
    mins = demo_results.scenario.analysis.minutes
    catch = [n for n in layers if n.startswith("Catchment: within")]
    assert len(catch) == len(mins)
    shown = {
        e.get("name") for e in root.iter("layer-tree-layer") if e.get("checked") == "Qt::Checked"
    }
    local = demo_results.scenario.analysis.local_minutes
    assert [n for n in catch if n in shown] == [n for n in catch if f"within {local:g} min" in n]
    cands = layers["Candidate properties"].find("renderer-v2")
    assert cands.get("type") == "RuleRenderer"
    assert cands.find("rules/rule[@label='rank 1']") is not None


_OPEN = textwrap.dedent(
    """
    import sys
    from qgis.core import QgsApplication, QgsProject
    app = QgsApplication([], False)
    app.initQgis()
    p = QgsProject.instance()
    assert p.read(sys.argv[1]), "project not read"
    assert p.crs().authid() == "EPSG:27700", p.crs().authid()
    layers = list(p.mapLayers().values())
    bad = [l.name() for l in layers if not l.isValid() or l.featureCount() <= 0]
    assert layers and not bad, bad
    print(len(layers))
    app.exitQgis()
    """
)


def _has_qgis() -> bool:
    if not Path(SYSTEM_PYTHON).is_file():
        return False
    r = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60, check=False
    )
    return r.returncode == 0


def test_demo_project_opens_in_qgis_after_moving(demo_results, tmp_path: Path) -> None:
    """Headless QGIS (python3-qgis) reads the project from another folder: every layer valid."""
    if not _has_qgis():
        if os.environ.get("GEOSUFF_REQUIRE_QGIS"):
            pytest.fail("GEOSUFF_REQUIRE_QGIS is set but QGIS is missing (make qgis)")
        pytest.skip("QGIS not installed (apt-get install python3-qgis qgis-providers)")
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in (QGIS_PROJECT, "geosuff.gpkg"):
        shutil.copy(demo_results.out_dir / name, moved / name)
    script = tmp_path / "open.py"
    script.write_text(_OPEN, encoding="utf-8")
    r = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(moved / QGIS_PROJECT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    n = len(qgis.layer_sources((moved / QGIS_PROJECT).read_text(encoding="utf-8")))
    assert int(r.stdout.strip().splitlines()[-1]) == n


def test_project_must_sit_beside_its_geopackage(demo_results, tmp_path: Path) -> None:
    from geosuff._errors import GeosuffError

    with pytest.raises(GeosuffError, match="next to the GeoPackage"):
        qgis.write_project(
            tmp_path / QGIS_PROJECT,
            demo_results.out_dir / "geosuff.gpkg",
            qgis.ProjectInfo(title="t"),
        )
