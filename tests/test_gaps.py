"""Sufficiency indicators, DfE comparison, sensitivity and gap areas on hand-made cohorts.

Every expected figure is worked out by hand in the comments from real grid references (see
tests/test_distance.py for their sources) and the shipped DfE statistics.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geosuff import dfe_stats, gaps
from geosuff import distance as d
from geosuff._errors import InputFileError

RUTLAND = "E06000017"
LE15_6AA = (485996.0, 308869.0)  # Oakham, Rutland
LE15_9AE = (486079.0, 301005.0)  # Uppingham, Rutland
LE13_0AA = (475576.0, 317807.0)  # Melton Mowbray, Leicestershire
PE9_1AA = (502890.0, 307278.0)  # Stamford, Lincolnshire
PE1_1AA = (518685.0, 298943.0)  # Peterborough
NN17_1AA = (488375.0, 288571.0)  # Corby, North Northamptonshire
B1_1AA = (406649.0, 286530.0)  # Birmingham
SA1_1AA = (267010.0, 196107.0)  # Swansea

NAN2 = (np.nan, np.nan)

# (place_group, age, uasc, home, placement, pl_ltla, road minutes, home_reason, pl_reason)
COHORT = [
    ("foster", 0.5, False, LE15_6AA, LE15_9AE, "E06000017", 10.0, "", ""),  # 4.9 mi, inside
    ("foster", 3.0, False, LE15_6AA, LE13_0AA, "E07000133", 25.0, "", ""),  # 8.5 mi, Leics (adjoining)
    ("foster", 7.0, False, LE15_6AA, PE1_1AA, "E06000031", 40.0, "", ""),  # 21.2 mi, Peterborough (adjoining)
    ("childrens_home", 12.0, False, LE15_6AA, B1_1AA, "E08000025", 75.0, "", ""),  # 51.2 mi, not adjoining
    ("childrens_home", 14.0, False, LE15_6AA, SA1_1AA, "W06000011", 200.0, "", ""),  # 153.1 mi, Wales
    ("childrens_home", 15.0, False, LE15_9AE, LE15_6AA, "E06000017", 12.0, "", ""),  # 4.9 mi, inside
    ("supported", 16.5, True, LE15_6AA, PE9_1AA, "E07000141", 20.0, "", ""),  # 10.5 mi, Lincs (adjoining)
    ("supported", 17.0, True, NAN2, LE15_9AE, "E06000017", np.nan, "missing postcode", ""),  # not known, inside
    ("adoption", 2.0, False, LE15_6AA, NN17_1AA, "E06000061", 30.0, "", ""),  # 12.7 mi, N Northants
    ("unknown", np.nan, None, LE15_6AA, NAN2, None, np.nan, "", "terminated postcode"),  # not known
]


def _cohort() -> pd.DataFrame:
    rows = []
    for i, (group, age, uasc, home, pl, ltla, _mins, hr, pr) in enumerate(COHORT, start=1):
        rows.append(
            {
                "row": i,
                "CHILD": f"C{i:02d}",
                "PLACE": "",
                "place_group": group,
                "HOME_POST": pd.NA,
                "PL_POST": pd.NA,
                "home_e": home[0],
                "home_n": home[1],
                "pl_e": pl[0],
                "pl_n": pl[1],
                "home_reason": hr,
                "pl_reason": pr,
                "pl_ltla": ltla,
                "age": age,
                "uasc": uasc,
            }
        )
    df = pd.DataFrame(rows)
    df["pl_ltla"] = df["pl_ltla"].astype("string")
    df["uasc"] = df["uasc"].astype("boolean")
    return df


@pytest.fixture(scope="module")
def measures() -> pd.DataFrame:
    return d.placement_measures(_cohort(), council=RUTLAND, road_minutes=[c[6] for c in COHORT])


def test_cohort_measures_are_as_worked_out(measures: pd.DataFrame) -> None:
    assert measures["dfe_miles"].fillna(-1).tolist() == [4.9, 8.5, 21.2, 51.2, 153.1, 4.9, 10.5, -1, 12.7, -1]
    assert measures["inside_la"].tolist()[:9] == [True, False, False, False, False, True, False, True, False]
    assert measures["adjoining_la"].tolist()[:4] == [False, True, True, False]


def _row(table: pd.DataFrame, group: str) -> pd.Series:
    return table.set_index("group").loc[group]


def test_indicators_by_placement_group(measures: pd.DataFrame) -> None:
    t = gaps.indicator_table(measures, by="place_group", far_miles=20, minutes=30, local_target=0.75)
    # order of placement_groups.csv, then unknown, then the total
    assert t["group"].tolist() == ["foster", "childrens_home", "supported", "adoption", "unknown", "all"]
    assert t["label"].iloc[1] == "Children's homes (K2)"
    foster = _row(t, "foster")
    assert (foster["n"], foster["n_within_miles"], foster["n_over_miles"], foster["n_inside_la"]) == (3, 2, 1, 1)
    assert foster["n_within_minutes"] == 2  # 10 and 25 min; 40 min is over 30
    assert foster["pct_within_miles"] == pytest.approx(200 / 3)
    ch = _row(t, "childrens_home")
    # Birmingham: outside and not adjoining; Wales: adjoining not known (England-only polygons)
    assert (ch["n_within_miles"], ch["n_over_miles"], ch["n_outside_not_adjoining"]) == (1, 2, 1)
    sup = _row(t, "supported")
    assert (sup["n_within_miles"], sup["n_distance_not_known"], sup["n_inside_la"], sup["n_minutes_not_known"]) == (1, 1, 1, 1)
    assert sup["pct_distance_not_known"] == 50.0
    unk = _row(t, "unknown")
    assert (unk["n_distance_not_known"], unk["n_la_not_known"]) == (1, 1)
    assert math.isnan(unk["pct_within_minutes"])  # no road time known in the group
    total = _row(t, "all")
    assert total["label"] == "All children"
    assert (total["n"], total["n_within_miles"], total["n_over_miles"], total["n_distance_not_known"]) == (10, 5, 3, 2)
    assert (total["n_inside_la"], total["n_la_not_known"], total["n_within_minutes"]) == (3, 1, 5)
    assert total["pct_inside_la"] == 30.0
    # target 75% inside the LA: ceil(7.5) = 8 needed, 3 achieved → 5 short
    assert not total["meets_inside_la_target"]
    assert total["short_of_inside_la_target"] == 5
    # every group's counts add up to the total
    body = t[t["group"] != "all"]
    for c in ("n", "n_within_miles", "n_over_miles", "n_distance_not_known", "n_inside_la", "n_within_minutes"):
        assert body[c].sum() == total[c]


def test_indicators_by_age_band_and_uasc(measures: pd.DataFrame) -> None:
    t = gaps.indicator_table(measures, by="age_band", minutes=30)
    assert t["group"].tolist() == ["Under 1", "1 to 4", "5 to 9", "10 to 15", "16 and over", "Not known", "all"]
    assert t["n"].tolist() == [1, 2, 1, 3, 2, 1, 10]
    assert _row(t, "10 to 15")["n_over_miles"] == 2
    assert _row(t, "16 and over")["n_inside_la"] == 1
    overall = gaps.indicator_table(measures, by="overall")
    assert overall["group"].tolist() == ["all"] and overall["n"].tolist() == [10]
    assert overall["n_within_miles"].tolist() == [5]
    u = gaps.indicator_table(measures, by="uasc", within_miles_target=0.5)
    assert u["group"].tolist() == ["UASC", "Not UASC", "Not known", "all"]
    assert u["n"].tolist() == [2, 7, 1, 10]
    # UASC: 10.5 mi within, one not known → 1 of 2 = 50% meets a 50% target
    assert _row(u, "UASC")["meets_within_miles_target"]
    assert _row(u, "Not UASC")["n_within_miles"] == 4  # 4.9, 8.5, 4.9, 12.7
    assert _row(u, "all")["short_of_within_miles_target"] == 0  # 5 of 10


def test_age_bands_at_their_edges() -> None:
    got = gaps.age_band([0, 0.99, 1, 4.99, 5, 9.99, 10, 15.99, 16, 17.9, np.nan, None])
    assert list(got) == [
        "Under 1", "Under 1", "1 to 4", "1 to 4", "5 to 9", "5 to 9", "10 to 15", "10 to 15",
        "16 and over", "16 and over", "Not known", "Not known",
    ]


def test_sensitivity_table(measures: pd.DataFrame) -> None:
    s = gaps.sensitivity_table(measures, miles=(10, 20, 30), minutes=(30, 45, 60))
    miles = s[s["measure"] == "straight-line miles"]
    # known miles: 4.9 8.5 21.2 51.2 153.1 4.9 10.5 12.7 → ≤10: 3, ≤20: 5, ≤30: 6 (of 10)
    assert miles["n_within"].tolist() == [3, 5, 6]
    assert miles["pct_within"].tolist() == [30.0, 50.0, 60.0]
    assert (miles["n_not_known"] == 2).all()
    mins = s[s["measure"] == "road minutes"]
    # road: 10 25 40 75 200 12 20 30 → ≤30: 5, ≤45: 6, ≤60: 6
    assert mins["n_within"].tolist() == [5, 6, 6]
    by = gaps.sensitivity_table(measures, miles=(20,), minutes=(), by="place_group")
    assert by.set_index("group").loc["foster", "n_within"] == 2


def test_dfe_comparison_against_published(measures: pd.DataFrame) -> None:
    c = gaps.dfe_comparison(measures, council=RUTLAND, year=2025)
    at31 = c[c["table"] == "At 31 March"].set_index("measure")
    # computed: 5 within, 3 over, 2 not known of 10
    assert at31["computed_n"].tolist() == [5, 3, 2]
    assert at31["computed_pct"].tolist() == [50.0, 30.0, 20.0]
    # published Rutland 2025: 15 (47%), 11 (34%), 6 (19%); England: 56670 (69%), 18120 (22%), 6990 (9%)
    assert at31["council_n"].tolist() == [15.0, 11.0, 6.0]
    assert at31["council_pct"].tolist() == [47.0, 34.0, 19.0]
    assert at31["england_n"].tolist() == [56670.0, 18120.0, 6990.0]
    assert at31["england_pct"].tolist() == [69.0, 22.0, 9.0]
    assert at31["sn_median_pct"].notna().all()
    assert (c["year"] == 2025).all()
    new = c[c["table"] == "New placements in year"].set_index("measure")
    # inside ≤20: rows 1, 6; inside >20: none; outside ≤20: 2, 7, 9; outside >20: 3, 4, 5; not known: 8, 10
    assert new["computed_n"].tolist() == [2, 0, 3, 3, 2]
    # Rutland 2025 new placements: inside-LA cells are suppressed ("c")
    assert np.isnan(new.loc["Inside LA, 20 miles or less", "council_pct"])
    assert new.loc["Inside LA, 20 miles or less", "council_note"] == "suppressed to protect confidentiality"
    assert new.loc["Outside LA, more than 20 miles", "council_n"] == 11.0
    assert new.loc["Outside LA, more than 20 miles", "england_n"] == 14560.0


def test_dfe_comparison_suppressed_and_missing_years(measures: pd.DataFrame) -> None:
    c = gaps.dfe_comparison(measures, council="Rutland", year=2021)
    row = c[(c["table"] == "At 31 March") & (c["measure"] == "More than 20 miles")].iloc[0]
    assert np.isnan(row["council_n"]) and row["council_note"] == "suppressed to protect confidentiality"
    assert row["england_n"] == 16860.0
    with pytest.raises(InputFileError, match="2019"):
        gaps.dfe_comparison(measures, council=RUTLAND, year=2019)


def test_dfe_stats_tables() -> None:
    assert dfe_stats.years() == [2021, 2022, 2023, 2024, 2025]
    t = dfe_stats.load_table("distance")
    la = t[(t["level"] == "Local authority") & (t["year"] == 2025)]
    assert la["la_code"].nunique() == 153
    # published LA rows add up where nothing is suppressed: near + far + not known = total
    wide = la.pivot_table(index="la_code", columns="characteristic", values="number")
    full = wide.dropna()
    assert len(full) > 100
    parts = full[[dfe_stats.NEAR, dfe_stats.FAR, dfe_stats.UNKNOWN]].sum(axis=1)
    assert (parts - full[dfe_stats.TOTAL]).abs().max() <= 15  # DfE rounds large counts to 10
    assert dfe_stats.describe_symbol("c").startswith("suppressed")
    assert dfe_stats.describe_symbol("") == ""


# ----------------------------------------------------------------------------------------------
# Gap areas
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rutland_lsoas() -> gpd.GeoDataFrame:
    from importlib import resources

    path = resources.files("geosuff") / "data" / "lsoa11_rutland.geojson"
    return gpd.read_file(str(path)).to_crs("EPSG:27700")


def _far_cohort(lsoas: gpd.GeoDataFrame, spec: list[tuple[int, str, int]], extra: list[dict] | None = None) -> pd.DataFrame:
    """Children placed in Birmingham (51 miles) from homes inside given LSOAs (by position)."""
    inner = lsoas.geometry.representative_point()
    rows = []
    for pos, group, n in spec:
        for k in range(n):
            rows.append(
                {
                    "place_group": group,
                    "home_e": inner.x.iloc[pos] + k,  # distinct points, same LSOA
                    "home_n": inner.y.iloc[pos],
                    "pl_e": B1_1AA[0],
                    "pl_n": B1_1AA[1],
                    "pl_ltla": "E08000025",
                }
            )
    rows += extra or []
    df = pd.DataFrame(rows)
    df["pl_ltla"] = df["pl_ltla"].astype("string")
    return d.placement_measures(df, council=RUTLAND)


def test_gap_areas_with_road_minutes(rutland_lsoas: gpd.GeoDataFrame) -> None:
    ids = rutland_lsoas["lsoa11_code"].tolist()
    m = _far_cohort(
        rutland_lsoas,
        [(0, "childrens_home", 10), (1, "foster", 5), (2, "foster", 3), (3, "supported", 4), (3, "childrens_home", 3)],
        # a near placement (not counted) and a far child with no home point (unassigned)
        extra=[
            {"place_group": "foster", "home_e": LE15_6AA[0], "home_n": LE15_6AA[1], "pl_e": LE15_9AE[0], "pl_n": LE15_9AE[1], "pl_ltla": "E06000017"},
        ],
    )
    minutes = pd.DataFrame(
        {"childrens_home": [52.0, 5, 5, 20], "foster_cluster": [10.0, 12, 12, 12], "care_leaver_unit": [40.0, 40, 40, 45]},
        index=ids[:4],
    )  # no supported_accommodation column: none with spare places
    g = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=5)
    assert g.crs.to_epsg() == 27700
    # LSOA 2 has 3 far children (< 5): left out
    assert g["area_id"].tolist() == [ids[0], ids[3], ids[1]]
    assert g["rank"].tolist() == [1, 2, 3]
    assert g["n_far"].tolist() == [10, 7, 5]
    assert g["count_band"].tolist() == ["10+", "5–9", "5–9"]
    assert g["outside_catchment"].tolist() == [True, True, False]
    first, second, third = (g.iloc[i] for i in range(3))
    assert first["main_need"] == "childrens_home" and first["minutes_to_suitable"] == 52.0
    assert first["lacks"] == "no children's home with spare places within 30 min"
    # supported: best of supported accommodation (none) and care-leaver unit (45 min)
    assert second["needed_groups"] == "Supported / independent living (H5, P2); Children's homes (K2)"
    assert second["n_by_group"] == "supported 4; childrens_home 3"
    assert second["minutes_to_suitable"] == 45.0 and second["suitable_type"] == "care_leaver_unit"
    assert "care-leaver unit" in second["lacks"] and "children's home" not in second["lacks"]  # 20 min
    assert third["lacks"] == "" and third["minutes_to_suitable"] == 12.0
    # population rate and publishable evidence built from bands only
    pop0 = float(rutland_lsoas["pop_0_17"].iloc[0])
    assert first["n_far_per_10k"] == pytest.approx(10 / pop0 * 10_000)
    assert first["evidence"].startswith("10+ children whose home is in")
    assert "52 min" in first["evidence"] and "beyond the 30-minute limit" in first["evidence"]
    assert "7" not in second["evidence"].split("whose")[0]
    assert "n_far" not in g.attrs["publish_columns"] and "n_by_group" not in g.attrs["publish_columns"]
    assert g.attrs["unassigned"] == 0
    only = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, only_gaps=True)
    assert only["area_id"].tolist() == [ids[0], ids[3]]
    # a longer limit closes the children's-home gap of LSOA 0
    g60 = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=60)
    assert g60.set_index("area_id").loc[ids[0], "outside_catchment"] == False  # noqa: E712


def test_gap_areas_fallback_crow_fly(rutland_lsoas: gpd.GeoDataFrame) -> None:
    ids = rutland_lsoas["lsoa11_code"].tolist()
    m = _far_cohort(rutland_lsoas, [(0, "childrens_home", 6), (1, "foster", 5)])
    sites = pd.DataFrame(
        {
            "type": ["childrens_home", "childrens_home", "foster_cluster"],
            "easting": [LE15_6AA[0], NN17_1AA[0], LE15_9AE[0]],
            "northing": [LE15_6AA[1], NN17_1AA[1], LE15_9AE[1]],
            "available_places": [0, 2, 0],  # the Oakham home is full; no foster capacity
        }
    )
    mt = gaps.minutes_to_types_crow_fly(rutland_lsoas, sites)
    ref = rutland_lsoas.geometry.representative_point().iloc[0]  # = shapely point_on_surface
    expect = math.hypot(ref.x - NN17_1AA[0], ref.y - NN17_1AA[1]) / 1000 / 35 * 60
    assert 20 < expect < 30  # Corby is ~15 km from LSOA 0: about 26 min at 35 km/h
    assert mt.loc[ids[0], "childrens_home"] == pytest.approx(expect)
    assert mt["foster_cluster"].isna().all()
    g = gaps.gap_areas(m, rutland_lsoas, sites=sites, minutes=30)
    assert g["minutes_source"].iloc[0] == "straight-line estimate at 35 km/h"
    row = g.set_index("area_id").loc[ids[0]]
    assert row["minutes_to_suitable"] == pytest.approx(expect)
    assert row["outside_catchment"] == (expect > 30)
    assert g.set_index("area_id").loc[ids[1], "lacks"].startswith("no foster households")


def test_gap_areas_without_site_data_and_with_point_areas(rutland_lsoas: gpd.GeoDataFrame) -> None:
    m = _far_cohort(rutland_lsoas, [(5, "foster", 5)])
    g = gaps.gap_areas(m, rutland_lsoas)
    assert len(g) == 1 and pd.isna(g["outside_catchment"].iloc[0])
    assert "not assessed" in g["evidence"].iloc[0]
    # representative points instead of polygons (the England-wide fallback): nearest point
    pts = pd.read_csv(
        str(__import__("importlib").resources.files("geosuff") / "data" / "lsoa11_pop0_17_mid2020_england.csv.gz")
    )
    pts = pts[pts["UTLA23CD"] == RUTLAND]
    target = pts.iloc[3]
    df = pd.DataFrame(
        {
            "place_group": ["childrens_home"] * 5,
            "home_e": [target["easting"] + 30.0] * 5,
            "home_n": [target["northing"]] * 5,
            "pl_e": [B1_1AA[0]] * 5,
            "pl_n": [B1_1AA[1]] * 5,
        }
    )
    mm = d.placement_measures(df, council=RUTLAND)
    gp = gaps.gap_areas(mm, pts, min_count=5)
    assert gp["area_id"].tolist() == [target["lsoa11_code"]]
    assert gp["area_name"].iloc[0] == target["lsoa11_name"]


def test_gap_areas_edge_cases(rutland_lsoas: gpd.GeoDataFrame) -> None:
    m = _far_cohort(rutland_lsoas, [(0, "foster", 2)])
    assert gaps.gap_areas(m, rutland_lsoas, min_count=5).empty
    # a far child living outside every area is counted as unassigned
    far_home = _far_cohort(rutland_lsoas, [], extra=[{"place_group": "foster", "home_e": 300000.0, "home_n": 300000.0, "pl_e": B1_1AA[0], "pl_n": B1_1AA[1], "pl_ltla": "E08000025"}])
    g = gaps.gap_areas(far_home, rutland_lsoas, min_count=1)
    assert g.empty and g.attrs["unassigned"] == 1
    with pytest.raises(InputFileError):
        gaps.gap_areas(m.drop(columns=["place_group"]), rutland_lsoas)
    assert list(gaps.count_band([0, 1, 4, 5, 9, 10, 250])) == ["0", "1–4", "1–4", "5–9", "5–9", "10+", "10+"]
