"""Breakdowns beyond the DfE's: excluding UASC, district and sub-area of the home, needs.

Hand-made placements with real postcodes (the packaged ONSPD: its LTLA is the district) and
answers worked out by hand from the postcodes' grid references.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geosuff._errors import ConfigError, InputFileError
from geosuff.analysis import distance, gaps, subgroups
from geosuff.inputs import default_lookup, load_placements
from geosuff.inputs.subareas import load_subareas
from geosuff.reference import BNG

RUTLAND = "E06000017"
KENT = "E10000016"


def _csv(tmp_path: Path, rows: list[dict[str, str]], name: str = "p.csv") -> Path:
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def _measures(path: Path, council: str) -> pd.DataFrame:
    pt = load_placements(path, lookup=default_lookup()).table
    return distance.placement_measures(pt, council=council)


def _miles(a: str, b: str) -> float:
    r = default_lookup().resolve(pd.Series([a, b]))
    e, n = r["easting"].to_numpy(float), r["northing"].to_numpy(float)
    return round(math.hypot(e[0] - e[1], n[0] - n[1]) / 1000 / 1.6093, 1)


# ----------------------------------------------------------------------------------------------
def test_excluding_uasc_counts_children_not_known_to_be_uasc(tmp_path: Path) -> None:
    rows = [
        ("A1", "LE15 6AA", "LE15 7AA", "N"),  # near, inside
        ("A2", "LE15 6AA", "LE15 8AA", "N"),  # near, inside
        ("A3", "LE15 6AA", "CT1 2RH", "Y"),  # UASC, far, outside
        ("A4", "LE15 6AA", "ME14 1XQ", "1"),  # UASC, far, outside
        ("A5", "LE15 6AA", "LE15 9AA", ""),  # blank UASC: not UASC; Leicestershire, near
        ("A6", "LE15 7AA", "PE9 3SB", "N"),  # inside, near
        ("A7", "LE15 6AA", "SW1A 1AA", "N"),  # far, outside
    ]
    p = _csv(
        tmp_path,
        [
            {"CHILD": c, "PLACE": "K2", "HOME_POST": h, "PL_POST": pl, "UASC": u}
            for c, h, pl, u in rows
        ],
    )
    m = _measures(p, RUTLAND)
    assert _miles("LE15 6AA", "SW1A 1AA") > 20 and _miles("LE15 6AA", "LE15 9AA") <= 20
    t = gaps.indicator_table(m, by="excluding_uasc").set_index("group")
    assert list(t.index) == ["excluding_uasc", "all"]
    ex, al = t.loc["excluding_uasc"], t.loc["all"]
    assert (ex["n"], ex["n_over_miles"], ex["n_inside_la"]) == (5, 1, 3)
    assert (al["n"], al["n_over_miles"], al["n_inside_la"]) == (7, 3, 3)
    assert ex["label"] == "Excluding UASC" and ex["pct_inside_la"] == pytest.approx(60.0)
    # the DfE distance itself is untouched by the breakdown
    a7 = m[m["CHILD"] == "A7"].iloc[0]
    assert a7["dfe_miles"] == _miles("LE15 6AA", "SW1A 1AA")


# ----------------------------------------------------------------------------------------------
def _kent(tmp_path: Path) -> pd.DataFrame:
    rows = [
        {"CHILD": "K1", "HOME_POST": "CT1 2RH", "PL_POST": "ME14 1XQ"},
        {"CHILD": "K2", "HOME_POST": "CT1 2RH", "PL_POST": "SW1A 1AA"},
        {"CHILD": "K3", "HOME_POST": "ME14 1XQ", "PL_POST": "TN1 1RS"},
        {"CHILD": "K4", "HOME_POST": "SW1A 1AA", "PL_POST": "CT20 1JR"},
        {
            "CHILD": "K5",
            "HOME_POST": "",
            "PL_POST": "CT20 1JR",
            "HOME_EASTING": "600000",
            "HOME_NORTHING": "150000",
        },
        {"CHILD": "K6", "HOME_POST": "DA1 1DR", "PL_POST": "DA1 1DR"},
    ]
    for r in rows:
        r.setdefault("HOME_EASTING", "")
        r.setdefault("HOME_NORTHING", "")
        r["PLACE"] = "U1"
    return _measures(_csv(tmp_path, rows), KENT)


def test_district_is_the_ltla_of_the_home_postcode_in_a_county(tmp_path: Path) -> None:
    assert subgroups.council_districts(RUTLAND) == {}  # a unitary: no district breakdown
    kent = subgroups.council_districts(KENT)
    assert len(kent) == 12 and kent["E07000106"] == "Canterbury"
    m = subgroups.add_home_breakdowns(_kent(tmp_path), council=KENT)
    got = dict(
        zip(
            m["CHILD"], m["district"].astype(object).where(m["district"].notna(), None), strict=True
        )
    )
    assert got == {
        "K1": "E07000106",
        "K2": "E07000106",
        "K3": "E07000110",
        "K4": subgroups.DISTRICT_OUTSIDE,  # a home in Westminster
        "K5": None,  # a home given by coordinates: no postcode, so no district
        "K6": "E07000107",
    }
    t = gaps.indicator_table(m, by="district").set_index("group")
    assert list(t["label"]) == [
        "Canterbury",
        "Dartford",
        "Maidstone",
        "Home outside the council",
        "Home district not known",
        "All children",
    ]
    far_k1 = _miles("CT1 2RH", "ME14 1XQ") > 20
    assert t.loc["E07000106", "n"] == 2
    assert t.loc["E07000106", "n_over_miles"] == 1 + int(far_k1)
    assert t.loc["E07000107", "n_over_miles"] == 0 and t.loc["E07000107", "n_inside_la"] == 1
    # the DfE inside/outside measure is the placement's council, whatever the home district
    assert m.set_index("CHILD").loc["K2", "inside_la"] == False  # noqa: E712
    assert "district" in subgroups.available_breakdowns(m)


def _subarea_file(tmp_path: Path, *, name_col: str = "name", crs: str | None = BNG) -> Path:
    gdf = gpd.GeoDataFrame(
        {name_col: ["West Kent", "East Kent"]},
        geometry=[
            shapely.box(540_000, 100_000, 590_000, 200_000),
            shapely.box(590_000, 100_000, 650_000, 200_000),
        ],
        crs=crs,
    )
    p = tmp_path / "localities.gpkg"
    gdf.to_file(p, driver="GPKG")
    return p


def test_subarea_layer_from_a_hand_made_gpkg(tmp_path: Path) -> None:
    layer = load_subareas(_subarea_file(tmp_path))
    assert list(layer["name"]) == ["West Kent", "East Kent"] and layer.crs == BNG
    m = subgroups.add_home_breakdowns(_kent(tmp_path), council=KENT, subareas=layer)
    got = dict(
        zip(m["CHILD"], m["subarea"].astype(object).where(m["subarea"].notna(), None), strict=True)
    )
    # K4's home (Westminster, easting 529090) is west of both boxes; K5 is the point 600000,150000
    assert got == {
        "K1": "East Kent",
        "K2": "East Kent",
        "K3": "West Kent",
        "K4": None,
        "K5": "East Kent",
        "K6": "West Kent",
    }
    t = gaps.indicator_table(m, by="subarea").set_index("group")
    assert list(t.index) == ["East Kent", "West Kent", "Not known", "all"]
    assert (t.loc["East Kent", "n"], t.loc["West Kent", "n"], t.loc["Not known", "n"]) == (3, 2, 1)
    assert t.loc["Not known", "label"] == "Home in no sub-area, or not known"


def test_subarea_layer_errors_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(
        InputFileError, match=r"no column 'name' \(its columns: locality\).*subareas_name"
    ):
        load_subareas(_subarea_file(tmp_path, name_col="locality"))
    assert list(
        load_subareas(_subarea_file(tmp_path, name_col="locality"), name_column="locality")["name"]
    ) == [
        "West Kent",
        "East Kent",
    ]
    bad = tmp_path / "nocrs.geojson"
    bad.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A"},'
        '"geometry":{"type":"Point","coordinates":[1,2]}}]}'
    )
    with pytest.raises(InputFileError, match="not polygons"):
        load_subareas(bad)
    with pytest.raises(InputFileError, match="does not exist"):
        load_subareas(tmp_path / "missing.gpkg")


def test_config_subareas_keys(tmp_path: Path) -> None:
    from geosuff.config import scenario_from_dict

    base = {
        "council": KENT,
        "inputs": {
            "placements": "p.csv",
            "sites": "s.csv",
            "subareas": "localities.gpkg",
            "subareas_name": "locality",
        },
        "analysis": {"travel": "estimate"},
    }
    sc = scenario_from_dict(base, base_dir=tmp_path)
    assert sc.inputs.subareas == (tmp_path / "localities.gpkg").resolve()
    assert sc.inputs.subareas_name == "locality"  # a column name, not made into a path
    with pytest.raises(ConfigError, match="subareas_name"):
        scenario_from_dict(
            {**base, "inputs": {**base["inputs"], "subareas_name": 3}}, base_dir=tmp_path
        )


# ----------------------------------------------------------------------------------------------
def test_disabled_and_need_columns_every_row_accounted(tmp_path: Path) -> None:
    rows = [
        ("N1", "Y", "complex;SEMH"),
        ("N2", "N", ""),
        ("N3", "", "wizardry, siblings"),
        ("N4", "maybe", "semh"),
        ("N5", "yes", ""),
    ]
    p = _csv(
        tmp_path,
        [
            {
                "CHILD": c,
                "PLACE": "K2",
                "HOME_POST": "LE15 6AA",
                "PL_POST": "LE15 7AA",
                "DISABLED": d,
                "NEED": nd,
            }
            for c, d, nd in rows
        ],
    )
    loaded = load_placements(p, lookup=default_lookup())
    t = loaded.table.set_index("CHILD")
    assert list(t["needs"]) == ["disabled;complex;semh", "", "sibling_group", "semh", "disabled"]
    assert t["disabled"].tolist() == [True, False, pd.NA, pd.NA, True]
    assert (t["status"] == "used").all() and len(t) == 5  # every row used, none dropped
    assert "NEED 'wizardry' not a known need" in t.loc["N3", "reason"]
    assert "DISABLED not Y/N" in t.loc["N4", "reason"]
    codes = {i.code: i for i in loaded.issues}
    assert (
        codes["need.unknown"].row == 3 and "use disabled, complex" in codes["need.unknown"].problem
    )
    assert codes["disabled.invalid"].row == 4


def test_needs_indicators_overlap_and_name_every_group(tmp_path: Path) -> None:
    rows = [
        ("D1", "LE15 6AA", "SW1A 1AA", "Y", "complex"),  # far
        ("D2", "LE15 6AA", "LE15 7AA", "Y", ""),
        ("D3", "LE15 6AA", "CT1 2RH", "N", "semh;complex"),  # far
        ("D4", "LE15 6AA", "LE15 8AA", "N", ""),
        ("D5", "LE15 6AA", "LE15 8AA", "", ""),
    ]
    p = _csv(
        tmp_path,
        [
            {"CHILD": c, "PLACE": "K2", "HOME_POST": h, "PL_POST": pl, "DISABLED": d, "NEED": nd}
            for c, h, pl, d, nd in rows
        ],
    )
    m = _measures(p, RUTLAND)
    t = gaps.indicator_table(m, by="need").set_index("group")
    assert list(t.index) == ["disabled", "complex", "semh", "none_recorded", "all"]
    assert (t.loc["disabled", "n"], t.loc["disabled", "n_over_miles"]) == (2, 1)
    assert (t.loc["complex", "n"], t.loc["complex", "n_over_miles"]) == (2, 2)  # D1 and D3
    assert (t.loc["semh", "n"], t.loc["none_recorded", "n"], t.loc["all", "n"]) == (1, 2, 5)
    d = gaps.indicator_table(m, by="disabled").set_index("group")
    assert (d.loc["disabled", "n"], d.loc["not_disabled", "n"], d.loc["Not known", "n"]) == (
        2,
        2,
        1,
    )


def test_no_need_columns_no_need_breakdown(tmp_path: Path) -> None:
    p = _csv(
        tmp_path, [{"CHILD": "A", "PLACE": "K2", "HOME_POST": "LE15 6AA", "PL_POST": "LE15 7AA"}]
    )
    m = _measures(p, RUTLAND)
    assert m["needs"].isna().all() and subgroups.available_breakdowns(m) == ["excluding_uasc"]
    with pytest.raises(InputFileError, match="NEED"):
        gaps.indicator_table(m, by="need")


# ----------------------------------------------------------------------------------------------
def test_site_types_and_candidate_uses_declare_the_needs_they_serve() -> None:
    from geosuff.config.siting import EligibilityRules, SitingSettings
    from geosuff.reference import site_types

    assert site_types()["short_breaks"].serves_need_codes == ("disabled",)
    assert subgroups.site_types_serving_need("disabled") == ["short_breaks"]
    assert SitingSettings().rules["short_breaks"].serves_need_codes == ("disabled",)
    assert EligibilityRules(serves_need_codes=("SEMH",)).serves_need_codes == ("semh",)
    with pytest.raises(ConfigError, match="'telepathy' is not known"):
        EligibilityRules(serves_need_codes=("telepathy",))


def test_short_breaks_serve_disabled_children_only_when_needs_are_recorded() -> None:
    from geosuff.config.siting import SitingSettings
    from geosuff.siting.demand import _demand_arrays

    s = SitingSettings()
    demand = pd.DataFrame(
        {
            "need": ["childrens_home"] * 4,
            "age": [10.0] * 4,
            "need_codes": ["disabled", "semh", "", None],
        }
    )
    dem = _demand_arrays(demand, s)
    # disabled child yes, semh and none-recorded no, not recorded: not ruled out
    assert dem.compatible(s.rules["short_breaks"]).tolist() == [True, False, False, True]
    assert dem.compatible(s.rules["care_leaver_unit"]).tolist() == [False] * 4  # ages 18-26
    without = _demand_arrays(demand.drop(columns="need_codes"), s)
    assert without.compatible(s.rules["short_breaks"]).all()  # no needs data: the usual demand


def test_gap_areas_say_which_needs_lack_provision() -> None:
    # one gap area of 8 far-placed children: 5 disabled (2 also complex), 3 semh
    idx = np.arange(100, 108)
    needs = [
        "disabled",
        "disabled",
        "disabled",
        "disabled;complex",
        "disabled;complex",
        "semh",
        "semh",
        "semh",
    ]
    m = pd.DataFrame(
        {"needs": pd.array(needs, dtype="string"), "home_area": ["A"] * 4 + ["B"] * 4}, index=idx
    )
    gap = gpd.GeoDataFrame({"area_id": ["X"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=BNG)
    gap.attrs.update({"members": [idx], "publish_columns": ["area_id", "geometry"]})
    # short breaks 50 min from A, 10 from B: the disabled children's median (A, A, A, A, B) is 50
    mins = pd.DataFrame(
        {"short_breaks": [50.0, 10.0], "childrens_home": [12.0, 12.0]}, index=["A", "B"]
    )
    out = subgroups.gap_needs(gap, m, mins, minutes=30, min_count=5)
    assert (
        out.loc[0, "children_needs"]
        == "Disabled children; other needs (each of fewer than 5 children)"
    )
    assert (
        out.loc[0, "needs_lacking"]
        == "Disabled children: no short breaks home with spare places within 30 min"
    )
    assert {"children_needs", "needs_lacking"} <= set(out.attrs["publish_columns"])
    assert out.attrs["members"][0] is idx or np.array_equal(out.attrs["members"][0], idx)
    near = subgroups.gap_needs(
        gap, m, mins.assign(short_breaks=[20.0, 10.0]), minutes=30, min_count=5
    )
    assert near.loc[0, "needs_lacking"] == ""
    # with min_count 3, semh (3 children) is named; its children's homes are 12 min away
    three = subgroups.gap_needs(gap, m, mins, minutes=30, min_count=3)
    assert (
        three.loc[0, "children_needs"]
        == "Disabled children; Social, emotional and mental health; other needs (each of fewer than 3 children)"
    )
    assert "Social" not in three.loc[0, "needs_lacking"]


def test_validate_checks_the_subareas_layer(tmp_path: Path) -> None:
    from geosuff.config import load_config
    from geosuff.inputs.validate import validate_scenario
    from geosuff.synth import synthesise

    syn = synthesise(RUTLAND, tmp_path / "in", seed=5, n_children=20)
    sc = load_config(syn.config)
    good = _subarea_file(tmp_path)
    ok = validate_scenario(
        sc.model_copy(update={"inputs": sc.inputs.model_copy(update={"subareas": good})}),
        check_network=False,
    )
    assert any(c.startswith("subareas: localities.gpkg (2 sub-area(s))") for c in ok.checked)
    bad = validate_scenario(
        sc.model_copy(
            update={
                "inputs": sc.inputs.model_copy(update={"subareas": good, "subareas_name": "ward"})
            }
        ),
        check_network=False,
    )
    probs = bad.issues[bad.issues["file"] == "localities.gpkg"]["problem"].astype(str)
    assert len(probs) == 1 and "no column 'ward'" in probs.iloc[0]


def test_an_unknown_need_code_in_the_data_files_is_an_error_naming_it() -> None:
    from geosuff.reference import _need_codes_of, normalise_need

    assert _need_codes_of("SEMH; disability", "site type 'x'") == ("semh", "disabled")
    assert normalise_need("Parent & child") == "parent_and_child"
    with pytest.raises(
        InputFileError, match=r"site type 'x': need 'telepathy' is not in needs.csv"
    ):
        _need_codes_of("semh;telepathy", "site type 'x'")
