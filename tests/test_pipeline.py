"""End to end on the SYNTHETIC Rutland demo: every stage real, every input row accounted for."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

pytestmark = pytest.mark.slow


def test_demo_writes_map_report_and_data_files(demo_results) -> None:
    out = demo_results.out_dir
    for name in ("map.html", "report.html", "geosuff.gpkg", "manifest.json"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 1000
    layers = {name for name, _ in pyogrio.list_layers(out / "geosuff.gpkg")}
    assert {"council_boundary", "sites", "catchments", "areas_access"} <= layers
    tables = {p.name for p in (out / "tables").glob("*.csv")}
    assert {
        "indicators_place_group.csv",
        "reconciliation_summary.csv",
        "candidates_ranked.csv",
        "gap_areas.csv",
        "scenario_comparison.csv",
        "distance_bands.csv",
    } <= tables
    # row-level quality lists are kept apart from the published tables
    assert (out / "qa" / "reconciliation.csv").is_file() and (out / "qa" / "README.txt").is_file()
    assert "reconciliation.csv" not in tables and "issues.csv" not in tables
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["council"] == "E06000017"
    assert manifest["synthetic"] is True
    assert manifest["graph"]["nodes"] > 1000
    assert set(manifest["inputs"]) >= {"placements", "sites", "candidates", "network"}
    assert len(manifest["inputs"]["network"]["sha256"]) == 64


def test_every_input_row_is_accounted_for(demo_results) -> None:
    rec = demo_results.reconciliation
    sc = demo_results.scenario
    for table, path in (
        ("placements", sc.inputs.placements),
        ("sites", sc.inputs.sites),
        ("candidates", sc.inputs.candidates),
    ):
        n_rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
        got = rec[rec["table"] == table]
        assert len(got) == n_rows, table
        assert sorted(got["row"]) == list(range(1, n_rows + 1))
        assert set(got["status"]) <= {"used", "used-with-estimate", "excluded"}
        # every row that is not plainly used says why
        assert (got.loc[got["status"] != "used", "reason"].astype(str).str.len() > 0).all()


def test_placements_off_the_rutland_network_are_estimated_not_dropped(demo_results) -> None:
    m = demo_results.measures
    assert len(m) == len(pd.read_csv(demo_results.scenario.inputs.placements, dtype=str))
    outside = m["inside_la"].fillna(True) == False  # noqa: E712
    # the Rutland extract stops at the county edge: placements elsewhere come out estimated
    assert outside.sum() > 0
    assert m.loc[outside, "road_estimated"].fillna(False).all()
    assert m.loc[outside, "road_minutes"].notna().all()
    # DfE measure uses the straight line on the postcodes' grid references
    known = m["dfe_miles"].notna()
    d = np.round(np.hypot(m["home_e"] - m["pl_e"], m["home_n"] - m["pl_n"]) / 1000 / 1.6093, 1)
    assert np.allclose(m.loc[known, "dfe_miles"], d[known])


def test_catchments_and_ranking_are_real(demo_results) -> None:
    c = demo_results.catchments
    assert isinstance(c, gpd.GeoDataFrame) and c.crs.to_epsg() == 27700
    assert set(c["minutes"]) == {15.0, 30.0, 45.0, 60.0}
    # nested thresholds: the 60-minute area is at least the 15-minute one for each site
    for _, g in c.groupby("site_id"):
        a = g.set_index("minutes")["area_km2"]
        assert a.is_monotonic_increasing
    cand = demo_results.candidates
    assert cand is not None and "rank" in cand and cand["rank"].notna().any()
    assert demo_results.selection is not None


def test_demo_childrens_homes_have_catchments_a_raster_and_edge_flags(demo_results) -> None:
    """The demo's children's homes stand on the Rutland extract, so they get catchments and an
    access raster; catchments that reach the extract's edge say so in the map, report and
    GeoPackage."""
    from geosuff.publication.maps import NETWORK_EDGE_NOTE

    c = demo_results.catchments
    homes = c[c["type"] == "childrens_home"]
    assert homes["site_id"].nunique() == 3 and (homes["area_km2"] > 1.0).all()
    assert not c.attrs.get("skipped_sites")
    assert demo_results.access_rasters is not None
    assert "minutes_to_childrens_home" in demo_results.access_rasters
    out = demo_results.out_dir
    assert (out / "rasters" / "minutes_to_childrens_home.tif").is_file()
    # Rutland is small: the 60-minute catchments reach all of the extract, so its edge too
    assert c["touches_network_edge"].dtype == bool
    assert c.loc[c["minutes"] == 60.0, "touches_network_edge"].all()
    layer = gpd.read_file(out / "geosuff.gpkg", layer="catchments")
    flagged = layer["touches_network_edge"].astype(bool)
    assert (layer.loc[flagged, "network_extent"] == NETWORK_EDGE_NOTE).all()
    assert (layer.loc[~flagged, "network_extent"] != NETWORK_EDGE_NOTE).all()
    served = gpd.read_file(out / "geosuff.gpkg", layer="served_areas")
    assert (served.loc[served["minutes"] == 60.0, "network_extent"] == NETWORK_EDGE_NOTE).all()
    assert NETWORK_EDGE_NOTE in (out / "map.html").read_text(encoding="utf-8")
    assert NETWORK_EDGE_NOTE in (out / "report.html").read_text(encoding="utf-8")


def test_published_files_hold_no_child_level_data(demo_results) -> None:
    """Every file the demo writes (bar its own synthetic inputs): no child id, postcode or grid
    reference, and no coordinate - text pairs at any precision, every vertex of every GeoPackage
    layer - within 3 m of a child's home, a placement or a children's home / foster cluster."""
    from geosuff.publication import disclosure

    forb = disclosure.personal_strings(demo_results.measures, sites=demo_results.sites)
    pts = disclosure.personal_points(demo_results.measures, sites=demo_results.sites)
    assert len(forb) > 20 and len(pts) > 20
    checked = set()
    for p in demo_results.out_dir.rglob("*"):
        if (
            p.suffix in {".csv", ".html", ".json", ".gpkg"}
            and "RESTRICTED" not in p.parts
            and "inputs" not in p.parts
        ):
            assert disclosure.check_published_file(p, forb, points=pts, strict=True) == [], p.name
            checked.add(p.suffix)
    assert checked == {".csv", ".html", ".json", ".gpkg"}


def test_report_says_synthetic(demo_results) -> None:
    html = (demo_results.out_dir / "report.html").read_text()
    assert "SYNTHETIC" in html.upper()
    # so does every published table and GeoPackage layer of the demo
    for p in (demo_results.out_dir / "tables").glob("*.csv"):
        t = pd.read_csv(p, dtype=str, keep_default_na=False)
        assert "data_note" in t and (t["data_note"] == "SYNTHETIC").all(), p.name
    for name, _ in pyogrio.list_layers(demo_results.out_dir / "geosuff.gpkg"):
        layer = pyogrio.read_dataframe(demo_results.out_dir / "geosuff.gpkg", layer=name)
        assert (layer["data_note"] == "SYNTHETIC").all(), name


def test_demo_gap_areas_name_band_and_what_they_lack(demo_results) -> None:
    """Issue 5: on the synthetic Rutland demo each gap area names the children-count band and the
    provision it lacks (published table, map layer and report)."""
    g = pd.read_csv(
        demo_results.out_dir / "tables" / "gap_areas.csv", dtype=str, keep_default_na=False
    )
    assert len(g) >= 1
    for r in g.itertuples(index=False):
        assert r.count_band in {"5–9", "10+"}
        # the demo's sites are on the network (#18.8): a gap may lack nothing within reach
        if r.lacks:
            assert r.lacks.startswith("no ") and "within 30 min" in r.lacks
            assert r.outside_catchment == "True"
        else:
            assert r.evidence.endswith("Provision with spare places is within reach for each need.")
            assert r.outside_catchment == "False"
        assert r.evidence.startswith(r.count_band)
    html = (demo_results.out_dir / "report.html").read_text(encoding="utf-8")
    said = g["lacks"].iloc[0] or "Provision with spare places is within reach for each need."
    assert g["area_name"].iloc[0] in html and said in html
    assert g["area_name"].iloc[0] in (demo_results.out_dir / "map.html").read_text(encoding="utf-8")


def test_demo_tables_report_and_map_show_the_same_figures(demo_results) -> None:
    out = demo_results.out_dir
    ov = pd.read_csv(
        out / "tables" / "indicators_overall.csv", dtype=str, keep_default_na=False
    ).iloc[-1]
    html = (out / "report.html").read_text(encoding="utf-8")
    if ov["n_over_miles"] != "c":
        assert f"{ov['n_over_miles']} of {ov['n']} children" in html
    pg = pd.read_csv(
        out / "tables" / "indicators_place_group.csv", dtype=str, keep_default_na=False
    ).iloc[-1]
    assert (
        pg[["n", "n_over_miles", "n_inside_la"]] == ov[["n", "n_over_miles", "n_inside_la"]]
    ).all()


def test_exclusion_zones_and_services_reach_the_ranking(demo_results, tmp_path) -> None:
    """[inputs] exclusions (polygons with a buffer) and services (points) are used by the run:
    a candidate inside a zone is ineligible with the reason, every candidate gets an access
    time, and both layers' rows are in the reconciliation."""
    import shapely

    from geosuff.pipeline import run

    sc = demo_results.scenario
    cands = demo_results.candidates
    first = cands[cands["eligible"].fillna(False).astype(bool)].iloc[0]
    zone = gpd.GeoDataFrame(
        {"name": ["flood zone (test)", "broken"], "buffer_m": [50.0, 0.0]},
        geometry=[
            shapely.Point(first["easting"], first["northing"]).buffer(100),
            shapely.Polygon(),
        ],
        crs="EPSG:27700",
    )
    zpath = tmp_path / "zones.gpkg"
    zone.to_file(zpath, layer="zones", driver="GPKG")
    spath = tmp_path / "services.csv"
    pd.DataFrame(
        {
            "id": ["school-oakham", "gp-uppingham", "nowhere"],
            "lon": [-0.7276, -0.7230, None],
            "lat": [52.6703, 52.5868, None],
        }
    ).to_csv(spath, index=False)
    sc2 = sc.model_copy(
        update={
            "inputs": sc.inputs.model_copy(update={"exclusions": zpath, "services": spath}),
            "output": sc.output.model_copy(update={"dir": tmp_path / "out"}),
        }
    )
    res = run(sc2, write=False)
    c = res.candidates.set_index("candidate_id")
    assert not bool(c.loc[first["candidate_id"], "eligible"])
    assert "flood zone (test)" in c.loc[first["candidate_id"], "ineligible_reason"]
    ok = c["eligible"].fillna(False).astype(bool)
    assert c.loc[ok, "access_minutes"].notna().all() and (c.loc[ok, "access_minutes"] < 60).all()
    assert c.loc[ok, "access_norm"].between(0, 1).all()
    assert first["candidate_id"] not in set(res.selection.chosen_ids)
    rec = res.reconciliation
    assert sorted(rec.loc[rec["table"] == "exclusions", "status"]) == ["excluded", "used"]
    srv = rec[rec["table"] == "services"].set_index("id")
    assert (
        srv.loc["nowhere", "status"] == "excluded" and srv.loc["school-oakham", "status"] == "used"
    )


def test_messy_10k_cohort_end_to_end(demo_results, tmp_path) -> None:
    """Issue 8: a messy 10 000-row council export runs through the whole pipeline (network, gaps,
    siting, every output); every input row comes out with the status its fault calls for (or
    "used-with-estimate" where a road time had to be estimated), the published files pass the
    disclosure check, and a rerun writes byte-identical tables."""
    import shutil

    from geosuff.pipeline import run
    from geosuff.testing import make_messy_cohort

    df = make_messy_cohort(10_000, 2026)
    src = demo_results.scenario.inputs
    folder = tmp_path / "in"
    folder.mkdir()
    df.to_csv(folder / "placements.csv", index=False, lineterminator="\n")
    for name in ("sites", "candidates"):
        shutil.copy(getattr(src, name), folder / f"{name}.csv")
    sc = demo_results.scenario
    runs = []
    for k in (1, 2):
        inputs = src.model_copy(
            update={
                "placements": folder / "placements.csv",
                "sites": folder / "sites.csv",
                "candidates": folder / "candidates.csv",
            }
        )
        sck = sc.model_copy(
            update={
                "inputs": inputs,
                "analysis": sc.analysis.model_copy(
                    update={"reference_date": df.attrs["reference_date"]}
                ),
                "output": sc.output.model_copy(update={"dir": tmp_path / f"out{k}"}),
            }
        )
        runs.append(run(sck))
    res = runs[0]
    rec = res.reconciliation
    pl = rec[rec["table"] == "placements"].sort_values("row")
    assert pl["row"].tolist() == list(range(1, 10_001))
    want = df.attrs["expected_status"]
    got = pl["status"].tolist()
    wrong = [
        (i + 1, df.attrs["fault"][i], got[i], want[i])
        for i in range(len(df))
        if not (got[i] == want[i] or (want[i] == "used" and got[i] == "used-with-estimate"))
    ]
    assert wrong == []
    assert (pl.loc[pl["status"] != "used", "reason"].astype(str).str.len() > 0).all()
    summary = pd.read_csv(res.out_dir / "tables" / "reconciliation_summary.csv", dtype=str)
    shown = summary[(summary["table"] == "placements") & (summary["rows"] != "c")]
    assert shown["rows"].astype(int).sum() <= 10_000 and len(shown) >= 2
    # indicators count every row that is not excluded, once
    n_counted = int((pl["status"] != "excluded").sum())
    assert res.indicators["overall"]["n"].iloc[-1] == n_counted
    # a rerun writes the same published tables, byte for byte
    for p in sorted((runs[0].out_dir / "tables").glob("*.csv")):
        assert p.read_bytes() == (runs[1].out_dir / "tables" / p.name).read_bytes(), p.name
    assert (runs[0].out_dir / "qa" / "reconciliation.csv").read_bytes() == (
        runs[1].out_dir / "qa" / "reconciliation.csv"
    ).read_bytes()


def test_restricted_mode_keeps_record_level_tables_apart(
    demo_restricted_results, demo_results
) -> None:
    """--restricted: record-level tables (with child ids, postcodes) go to RESTRICTED/, marked
    OFFICIAL-SENSITIVE in their names and README.txt; the published files stay as they are."""
    from geosuff.publication import disclosure

    out = demo_restricted_results.out_dir
    rdir = out / "RESTRICTED"
    files = sorted(p.name for p in rdir.iterdir())
    assert "README.txt" in files and "OFFICIAL-SENSITIVE_placement_measures.csv" in files
    for p in rdir.glob("*.csv"):
        assert p.name.startswith("OFFICIAL-SENSITIVE_")
        assert not p.read_text(encoding="utf-8").startswith("#")  # notice in README.txt
    m = (rdir / "OFFICIAL-SENSITIVE_placement_measures.csv").read_text(encoding="utf-8")
    child = str(demo_restricted_results.measures["CHILD"].iloc[0])
    assert child in m  # record level, as asked
    forb = disclosure.personal_strings(
        demo_restricted_results.measures, sites=demo_restricted_results.sites
    )
    pts = disclosure.personal_points(
        demo_restricted_results.measures, sites=demo_restricted_results.sites
    )
    for p in out.rglob("*"):
        if (
            p.suffix in {".csv", ".html", ".json", ".gpkg"}
            and "RESTRICTED" not in p.parts
            and "inputs" not in p.parts
        ):
            assert disclosure.check_published_file(p, forb, points=pts) == [], p.name
    assert not (demo_results.out_dir / "RESTRICTED").exists()


def test_demo_indicators_match_the_dfe_figures_it_was_made_from(demo_results) -> None:
    """Issue 5: the synthetic demo's own indicators (the real pipeline's DfE measures) agree with
    the published DfE shares for Rutland the cohort was generated from, within sampling error."""
    from geosuff.synth import dfe_targets

    t = dfe_targets("E06000017")
    ov = demo_results.indicators["overall"].iloc[-1]
    n = int(ov["n"])
    assert n == int(t["total"])
    for got, p in (
        (ov["n_over_miles"], t["p_over20"]),
        (ov["n_distance_not_known"], t["p_unknown"]),
    ):
        sd = (p * (1 - p) / n) ** 0.5
        assert abs(got / n - p) <= 3 * sd + 1 / n, (got, n, p)
    # and the chosen set and ranked candidates are in the report and on the map
    html = (demo_results.out_dir / "report.html").read_text(encoding="utf-8")
    mp = (demo_results.out_dir / "map.html").read_text(encoding="utf-8")
    for cid in demo_results.selection.chosen_ids:
        assert f"{cid} " in html and "★ chosen" in html
        assert f"Candidate {cid}" in mp and "CHOSEN" in mp
    for cid in demo_results.candidates["candidate_id"]:
        assert str(cid) in html and f"Candidate {cid}" in mp


def test_far_miles_25_still_counts_far_children_in_flows_and_rehoming(
    tmp_path, monkeypatch
) -> None:
    """With ``[analysis] far_miles = 25`` the category label becomes "Over 25 miles"; the stages
    use the boolean ``far`` column, so far-placed children still count in the placement flows and
    as re-homing demand (the count equals the children with dfe_miles > 25)."""
    from geosuff import siting
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    syn = synthesise("E06000017", tmp_path / "E06000017" / "inputs")
    sc = load_config(syn.config)
    sc = sc.model_copy(update={"analysis": sc.analysis.model_copy(update={"far_miles": 25.0})})
    captured = {}
    real = siting.score_candidates

    def spy(candidates, demand, *args, **kwargs):
        captured["demand"] = demand.copy()
        return real(candidates, demand, *args, **kwargs)

    monkeypatch.setattr(siting, "score_candidates", spy)
    res = run(sc, write=False)
    m = res.measures
    miles = m["dfe_miles"].to_numpy(float)
    over = np.isfinite(miles) & (miles > 25.0)
    assert over.sum() > 0
    assert (m.loc[over, "dfe_category"] == "Over 25 miles").all()
    # flows: far counts are the children over 25 miles (among those with a placement LA)
    counted = (m["status"] != "excluded").to_numpy()
    in_flows = counted & m["placement_la"].notna().to_numpy()
    assert int(res.flows["far"].sum()) == int((over & in_flows).sum()) > 0
    # re-homing demand: every located child over 25 miles is flagged far
    demand = captured["demand"]
    # the synthetic care leavers in unsuitable accommodation or living outside are demand rows
    # too (need "care_leaver", counted as placed far): the children's rows come first
    leavers = demand["need"] == "care_leaver"
    assert int(leavers.sum()) == int(res.care_leavers["demand"].sum())
    assert demand.loc[leavers, "over_20_miles"].all()
    demand = demand[~leavers]
    home_ok = counted & (m["home_e"].notna() & m["home_n"].notna()).to_numpy()
    assert int(demand["over_20_miles"].sum()) == int((over & home_ok).sum())
    assert int(demand["within_20_miles"].sum()) == int((np.isfinite(miles) & ~over & home_ok).sum())
    # the boolean column: True over the line, False within it, NA where the distance is unknown
    assert m["far"].dtype == "boolean"
    assert m.loc[over, "far"].all() and not m.loc[np.isfinite(miles) & ~over, "far"].any()
    assert m.loc[~np.isfinite(miles), "far"].isna().all()
    assert (m.loc[~np.isfinite(miles), "dfe_category"] == "Not known or not recorded").all()


def test_estimated_travel_run_labels_minutes_estimated_not_by_road(tmp_path) -> None:
    """A council without a road network: travel = "estimate", and the published labels say so."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    syn = synthesise("E06000047", tmp_path / "in", seed=4, n_children=80)
    res = run(load_config(syn.config))
    out = res.scenario.output.dir
    assert out == (tmp_path / "in" / "outputs" / "E06000047").resolve()
    assert res.measures.loc[res.measures["road_minutes"].notna(), "road_estimated"].all()
    assert (res.gap_areas["minutes_source"].isin(["straight-line estimate", ""])).all()
    report = (out / "report.html").read_text(encoding="utf-8")
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "by road" not in report and "by road" not in page
    assert "min estimated" in report and "Minutes (estimated)" in report
    assert "Estimated, not measured on roads" in report
    assert "Road minutes" not in report
    sens = pd.read_csv(out / "tables" / "sensitivity.csv")
    assert set(sens["measure"]) == {"straight-line miles", "estimated minutes"}
    for name in ("sensitivity", "indicators_overall", "distance_bands", "gap_areas"):
        text = (out / "tables" / f"{name}.csv").read_text(encoding="utf-8").lower()
        assert "road minutes" not in text and "by road" not in text
