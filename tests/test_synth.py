"""The synthetic cohort generator: seeded, labelled, calibrated to the DfE figures it was given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff.inputs import DEMO_POSTCODES, Boundaries, PostcodeLookup, load_placements
from geosuff.synth import dfe_targets, synthesise


def test_targets_read_from_shipped_dfe_statistics() -> None:
    t = dfe_targets("E06000017", year=2025)
    # Rutland, CLA at 31 March 2025: 32 children; 11 over 20 miles; 6 not known (DfE table)
    assert t["total"] == 32
    assert t["p_over20"] == pytest.approx(11 / 32)
    assert t["p_unknown"] == pytest.approx(6 / 32)
    assert t["placement_mix"]["Foster placements"] == 20


@pytest.fixture(scope="module")
def big_cohort(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth")
    res = synthesise("E06000017", out, seed=7, n_children=600)
    lookup = PostcodeLookup.from_file(DEMO_POSTCODES)
    loaded = load_placements(res.placements, lookup=lookup, boundaries=Boundaries.load())
    return res, loaded.table


def test_every_file_says_synthetic(big_cohort) -> None:
    res, _ = big_cohort
    for p in (res.placements, res.sites, res.candidates):
        df = pd.read_csv(p, dtype=str)
        assert (df["data_note"] == "SYNTHETIC").all()
    assert "SYNTHETIC" in (res.folder / "README_SYNTHETIC.txt").read_text()
    assert "synthetic = true" in res.config.read_text()


def test_calibration_matches_dfe_shares_within_sampling_error(big_cohort) -> None:
    """Shares of the generated cohort, measured with the DfE formula on the resolved postcodes."""
    res, t = big_cohort
    tg = dfe_targets("E06000017")
    n = len(t)
    miles = np.round(np.hypot(t["home_e"] - t["pl_e"], t["home_n"] - t["pl_n"]) / 1000 / 1.6093, 1)
    over = float((miles > 20).sum()) / n
    unknown = float(miles.isna().sum()) / n
    se = lambda p: 3 * np.sqrt(p * (1 - p) / n)  # noqa: E731
    assert abs(over - tg["p_over20"]) <= se(tg["p_over20"]) + 1 / n
    assert abs(unknown - tg["p_unknown"]) <= se(tg["p_unknown"]) + 1 / n
    # inside the council (postcode LA), among known near placements
    known = miles.notna()
    near = known & (miles <= 20)
    inside = t["pl_utla"] == "E06000017"
    p_in_near = float((inside & near).sum() / near.sum())
    assert (
        abs(p_in_near - tg["p_inside_near"])
        <= 3 * np.sqrt(tg["p_inside_near"] * (1 - tg["p_inside_near"]) / near.sum()) + 0.02
    )
    # placement-type mix: foster share
    foster = float(t["PLACE"].str.startswith("U").mean())
    p_foster = tg["placement_mix"]["Foster placements"] / sum(tg["placement_mix"].values())
    assert abs(foster - p_foster) <= se(p_foster) + 1 / n


def test_homes_are_in_the_council(big_cohort) -> None:
    _, t = big_cohort
    b = Boundaries.load()
    la = b.la_at(t["home_e"].to_numpy(float), t["home_n"].to_numpy(float))
    known = t["home_e"].notna().to_numpy()
    assert (la[known] == "E06000017").mean() > 0.97  # generalised boundary: a few edge postcodes


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = synthesise("E06000017", tmp_path / "a", seed=11)
    b = synthesise("E06000017", tmp_path / "b", seed=11)
    for x, y in ((a.placements, b.placements), (a.sites, b.sites), (a.candidates, b.candidates)):
        assert x.read_bytes() == y.read_bytes()
    c = synthesise("E06000017", tmp_path / "c", seed=12)
    assert c.placements.read_bytes() != a.placements.read_bytes()


# ---------------------------------------------------------------------------------------------
# Councils other than Rutland: no Rutland network, own output folder, placements near the council
DURHAM = "E06000047"


@pytest.fixture(scope="module")
def durham(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("durham")
    return synthesise(DURHAM, out, seed=11, n_children=400)


def test_other_council_config_has_no_rutland_network_and_says_estimated(durham) -> None:
    from geosuff.config import load_config, road_times

    text = durham.config.read_text(encoding="utf-8")
    assert durham.network is None
    assert "rutland" not in text.lower().split("[inputs]")[1].split("[analysis]")[0]
    assert "network =" not in text
    assert 'travel = "estimate"' in text
    assert "straight-line estimates" in text
    sc = load_config(durham.config)
    assert sc.inputs.network is None and sc.analysis.travel == "estimate" and not road_times(sc)


def test_output_folder_is_per_council_not_the_parent(durham, tmp_path: Path) -> None:
    from geosuff.config import load_config

    rut = synthesise("E06000017", tmp_path / "rutland", seed=11, n_children=30)
    d_out = load_config(durham.config).output.dir
    r_out = load_config(rut.config).output.dir
    assert 'dir = ".."' not in durham.config.read_text(encoding="utf-8")
    assert d_out == (durham.folder / "outputs" / DURHAM).resolve()
    assert r_out == (rut.folder / "outputs" / "E06000017").resolve()
    assert d_out != r_out
    assert "one folder per council" in durham.config.read_text(encoding="utf-8")


def test_other_council_placements_are_in_and_around_the_council_not_rutland(durham) -> None:
    from geosuff.synth import _england_postcodes

    pl = pd.read_csv(durham.placements, dtype=str, keep_default_na=False)
    posts = pl["PL_POST"][pl["PL_POST"] != ""]
    assert not posts.str.startswith("LE15").any()
    eng = _england_postcodes().set_index("postcode")
    known = posts[posts.isin(eng.index)]
    assert len(known) > 0.7 * len(posts)
    utla = eng.loc[known.to_numpy(), "utla"]
    assert "E06000017" not in set(utla)  # no child of Durham placed in Rutland
    assert (utla == DURHAM).mean() > 0.4
    # truncated ("?") postcodes are in the council's own district
    trunc = posts[posts.str.endswith("?")]
    own_districts = set(
        pd.read_csv(durham.placements, dtype=str)["HOME_POST"].dropna().str.split(" ").str[0]
    )
    assert set(trunc.str.split(" ").str[0]) <= own_districts


def test_network_not_covering_the_council_is_refused(tmp_path: Path) -> None:
    from geosuff._errors import InputFileError
    from geosuff.inputs import DEMO_NETWORK

    with pytest.raises(InputFileError, match="does not cover"):
        synthesise(DURHAM, tmp_path / "d", seed=1, n_children=20, network=DEMO_NETWORK)
    assert not (tmp_path / "d").exists()


def test_rutland_still_gets_its_shipped_network(tmp_path: Path) -> None:
    from geosuff.inputs import DEMO_NETWORK

    res = synthesise("E06000017", tmp_path / "r", seed=3, n_children=20)
    assert res.network == DEMO_NETWORK
    assert DEMO_NETWORK.name in res.config.read_text(encoding="utf-8")
    assert "travel =" not in res.config.read_text(encoding="utf-8")


def test_sites_lie_on_the_network_they_are_given(big_cohort) -> None:
    """With a network (Rutland's shipped extract), every synthetic site - the neighbouring
    children's homes too - is inside the extract, 1 km or more from its outline, and it and the
    centre of its 1 km square (where the map shows it) are within SITE_SNAP_M of a road."""
    import shapely

    from geosuff.config.sections import MAX_SNAP_M
    from geosuff.network import build_graph
    from geosuff.routing import snap_points
    from geosuff.synth import SITE_SNAP_M

    res, _ = big_cohort
    sites = pd.read_csv(res.sites)
    assert {"childrens_home", "foster_cluster", "supported_accommodation"} <= set(sites["type"])
    assert (sites["data_note"] == "SYNTHETIC").all()
    assert sites["name"].str.contains("synthetic").all()
    graph = build_graph(res.network)
    x, y = sites["easting"].to_numpy(float), sites["northing"].to_numpy(float)
    assert SITE_SNAP_M <= MAX_SNAP_M
    assert (snap_points(graph, x, y).snap_m <= SITE_SNAP_M).all()
    cx, cy = np.floor(x / 1000) * 1000 + 500, np.floor(y / 1000) * 1000 + 500
    assert (snap_points(graph, cx, cy).snap_m <= SITE_SNAP_M).all()
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([graph.x, graph.y])))
    assert shapely.contains_xy(shapely.buffer(hull, -1000.0), x, y).all()
    # never on the centre of their square (the map would publish the site's own point)
    assert not (((x % 1000) == 500) & ((y % 1000) == 500)).any()
    # the neighbouring homes are outside Rutland (in the part of Lincolnshire etc. the extract holds)
    b = Boundaries.load()
    nh = sites[sites["site_id"].str.startswith("NH")]
    assert len(nh) == 3
    rutland = b.geometry("E06000017")
    assert not shapely.contains_xy(rutland, nh["easting"], nh["northing"]).any()
