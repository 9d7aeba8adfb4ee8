"""The CLI: clear one-sentence errors, no traceback unless --debug."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from geosuff.cli import app

runner = CliRunner()


def test_missing_config_is_one_clear_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["review", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2
    text = res.output
    assert "does not exist" in text
    assert "Traceback" not in text


def test_bad_key_names_the_key(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('council = "E06000017"\ncouncill = 1\n[inputs]\nplacements="a"\nsites="b"\nnetwork="c"\n')
    res = runner.invoke(app, ["review", str(p)])
    assert res.exit_code == 2
    assert "councill" in res.output
    assert "Traceback" not in res.output


def test_version_and_help() -> None:
    assert "geosuff" in runner.invoke(app, ["--version"]).output
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("demo", "review", "validate", "synth", "network", "traveltime", "catchments", "distances", "sites"):
        assert cmd in res.output


# ---------------------------------------------------------------------------------------------
# The analyst commands on real data (the shipped Rutland extract; graph cached per session)
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from geosuff.inputs import DEMO_NETWORK  # noqa: E402


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    a = d / "from.csv"
    b = d / "to.csv"
    s = d / "sites.csv"
    # Oakham, Uppingham (lon/lat) and a point off the network in Leicester (easting/northing)
    pd.DataFrame({"id": ["oakham", "uppingham"], "lon": [-0.7276, -0.7230], "lat": [52.6703, 52.5868]}).to_csv(a, index=False)
    pd.DataFrame({"id": ["oakham_e", "leicester"], "easting": [486000, 458600], "northing": [308700, 304400]}).to_csv(b, index=False)
    pd.DataFrame({"site_id": ["S1", "S2"], "type": ["childrens_home", "care_leaver_unit"], "places": [2, 3], "easting": [486000, 486700], "northing": [308700, 299900]}).to_csv(s, index=False)
    p = d / "903.csv"
    pd.DataFrame({"CHILD": ["A1", "A2", "A3"], "PLACE": ["U4", "K2", "H5"], "HOME_POST": ["LE15 6AB", "LE15 9AE", "LE15 6AB"], "PL_POST": ["LE15 9AE", "NG1 1AA", ""]}).to_csv(p, index=False)
    return {"from": a, "to": b, "sites": s, "903": p, "dir": d}


def test_traveltime_command_writes_every_pair(points: dict[str, Path]) -> None:
    out = points["dir"] / "od.csv"
    res = runner.invoke(app, ["traveltime", "--network", str(DEMO_NETWORK), "--from", str(points["from"]), "--to", str(points["to"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    od = pd.read_csv(out)
    assert list(od.columns[:5]) == ["from_id", "to_id", "minutes", "km", "estimated"]
    assert len(od) == 4
    oak = od[(od.from_id == "uppingham") & (od.to_id == "oakham_e")].iloc[0]
    assert 8 < oak["minutes"] < 25 and 8 < oak["km"] < 16  # Uppingham -> Oakham is about 11 km by road
    assert od.loc[od.to_id == "leicester", "estimated"].all()  # off the Rutland extract: estimated


def test_catchments_command(points: dict[str, Path]) -> None:
    import geopandas as gpd

    out = points["dir"] / "c.gpkg"
    res = runner.invoke(app, ["catchments", "--network", str(DEMO_NETWORK), "--sites", str(points["sites"]), "--minutes", "10,20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    g = gpd.read_file(out)
    assert len(g) == 4 and set(g["minutes"]) == {10.0, 20.0}
    assert g.crs.to_epsg() == 27700


def test_distances_command(points: dict[str, Path]) -> None:
    out = points["dir"] / "dist.csv"
    res = runner.invoke(app, ["distances", "--placements", str(points["903"]), "--council", "E06000017", "--out", str(out)])
    assert res.exit_code == 0, res.output
    d = pd.read_csv(out)
    assert len(d) == 3
    assert d.loc[1, "dfe_category"] == "Over 20 miles" and d.loc[1, "inside_la"] == False  # noqa: E712
    assert d.loc[2, "dfe_category"] == "Not known or not recorded"
    assert "OFFICIAL-SENSITIVE" in res.output


def test_network_command_exports_graphml(points: dict[str, Path]) -> None:
    out = points["dir"] / "g.graphml"
    res = runner.invoke(app, ["network", str(DEMO_NETWORK), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 100_000
    assert "travel_time" in out.read_text()[:5000]


def test_validate_command_reports(tmp_path: Path) -> None:
    from geosuff.synth import synthesise

    syn = synthesise("E06000017", tmp_path / "in", seed=3)
    res = runner.invoke(app, ["validate", str(syn.config)])
    assert res.exit_code in (0, 1), res.output
    assert "placements" in res.output.lower()
    assert "Traceback" not in res.output
