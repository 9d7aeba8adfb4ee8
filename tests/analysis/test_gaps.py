"""Sufficiency indicators, DfE comparison, sensitivity and gap areas on hand-made cohorts.

Every expected figure is worked out by hand in the comments from real grid references (see
tests/analysis/test_distance.py for their sources) and the shipped DfE statistics.
"""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geosuff._errors import InputFileError
from geosuff.analysis import distance as d
from geosuff.analysis import gaps
from geosuff.inputs import dfe_stats

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
    (
        "foster",
        3.0,
        False,
        LE15_6AA,
        LE13_0AA,
        "E07000133",
        25.0,
        "",
        "",
    ),  # 8.5 mi, Leics (adjoining)
    (
        "foster",
        7.0,
        False,
        LE15_6AA,
        PE1_1AA,
        "E06000031",
        40.0,
        "",
        "",
    ),  # 21.2 mi, Peterborough (adjoining)
    (
        "childrens_home",
        12.0,
        False,
        LE15_6AA,
        B1_1AA,
        "E08000025",
        75.0,
        "",
        "",
    ),  # 51.2 mi, not adjoining
    (
        "childrens_home",
        14.0,
        False,
        LE15_6AA,
        SA1_1AA,
        "W06000011",
        200.0,
        "",
        "",
    ),  # 153.1 mi, Wales
    (
        "childrens_home",
        15.0,
        False,
        LE15_9AE,
        LE15_6AA,
        "E06000017",
        12.0,
        "",
        "",
    ),  # 4.9 mi, inside
    (
        "supported",
        16.5,
        True,
        LE15_6AA,
        PE9_1AA,
        "E07000141",
        20.0,
        "",
        "",
    ),  # 10.5 mi, Lincs (adjoining)
    (
        "supported",
        17.0,
        True,
        NAN2,
        LE15_9AE,
        "E06000017",
        np.nan,
        "missing postcode",
        "",
    ),  # not known, inside
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
    assert measures["dfe_miles"].fillna(-1).tolist() == [
        4.9,
        8.5,
        21.2,
        51.2,
        153.1,
        4.9,
        10.5,
        -1,
        12.7,
        -1,
    ]
    assert measures["inside_la"].tolist()[:9] == [
        True,
        False,
        False,
        False,
        False,
        True,
        False,
        True,
        False,
    ]
    assert measures["adjoining_la"].tolist()[:4] == [False, True, True, False]


def _row(table: pd.DataFrame, group: str) -> pd.Series:
    return table.set_index("group").loc[group]


def test_indicators_by_placement_group(measures: pd.DataFrame) -> None:
    t = gaps.indicator_table(
        measures, by="place_group", far_miles=20, minutes=30, local_target=0.75
    )
    # order of placement_groups.csv, then unknown, then the total
    assert t["group"].tolist() == [
        "foster",
        "childrens_home",
        "supported",
        "adoption",
        "unknown",
        "all",
    ]
    assert t["label"].iloc[1] == "Children's homes (K2)"
    foster = _row(t, "foster")
    assert (
        foster["n"],
        foster["n_within_miles"],
        foster["n_over_miles"],
        foster["n_inside_la"],
    ) == (3, 2, 1, 1)
    assert foster["n_within_minutes"] == 2  # 10 and 25 min; 40 min is over 30
    assert foster["pct_within_miles"] == pytest.approx(200 / 3)
    ch = _row(t, "childrens_home")
    # Birmingham: outside and not adjoining; Wales: adjoining not known (England-only polygons)
    assert (ch["n_within_miles"], ch["n_over_miles"], ch["n_outside_not_adjoining"]) == (1, 2, 1)
    sup = _row(t, "supported")
    assert (
        sup["n_within_miles"],
        sup["n_distance_not_known"],
        sup["n_inside_la"],
        sup["n_minutes_not_known"],
    ) == (1, 1, 1, 1)
    assert sup["pct_distance_not_known"] == 50.0
    unk = _row(t, "unknown")
    assert (unk["n_distance_not_known"], unk["n_la_not_known"]) == (1, 1)
    assert math.isnan(unk["pct_within_minutes"])  # no road time known in the group
    total = _row(t, "all")
    assert total["label"] == "All children"
    assert (
        total["n"],
        total["n_within_miles"],
        total["n_over_miles"],
        total["n_distance_not_known"],
    ) == (10, 5, 3, 2)
    assert (total["n_inside_la"], total["n_la_not_known"], total["n_within_minutes"]) == (3, 1, 5)
    assert total["pct_inside_la"] == 30.0
    # target 75% inside the LA: ceil(7.5) = 8 needed, 3 achieved → 5 short
    assert not total["meets_inside_la_target"]
    assert total["short_of_inside_la_target"] == 5
    # every group's counts add up to the total
    body = t[t["group"] != "all"]
    for c in (
        "n",
        "n_within_miles",
        "n_over_miles",
        "n_distance_not_known",
        "n_inside_la",
        "n_within_minutes",
    ):
        assert body[c].sum() == total[c]


def test_indicators_by_age_band_and_uasc(measures: pd.DataFrame) -> None:
    t = gaps.indicator_table(measures, by="age_band", minutes=30)
    assert t["group"].tolist() == [
        "Under 1",
        "1 to 4",
        "5 to 9",
        "10 to 15",
        "16 and over",
        "Not known",
        "all",
    ]
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
        "Under 1",
        "Under 1",
        "1 to 4",
        "1 to 4",
        "5 to 9",
        "5 to 9",
        "10 to 15",
        "10 to 15",
        "16 and over",
        "16 and over",
        "Not known",
        "Not known",
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
    # no start dates (DECOM): the year's new placements are not known, so not compared
    new_unknown = c[c["table"] == "New placements in year"]
    assert new_unknown["computed_n"].isna().all() and new_unknown["computed_total"].isna().all()
    # every placement started during 2024-25: all ten are new placements of the year
    c = gaps.dfe_comparison(
        measures.assign(DECOM=pd.Timestamp("2024-06-01")), council=RUTLAND, year=2025
    )
    new = c[c["table"] == "New placements in year"].set_index("measure")
    # inside ≤20: rows 1, 6; inside >20: none; outside ≤20: 2, 7, 9; outside >20: 3, 4, 5; not known: 8, 10
    assert new["computed_n"].tolist() == [2, 0, 3, 3, 2]
    assert (new["computed_total"] == 10).all() and (new["cohort"] == "started_in_year").all()
    # Rutland 2025 new placements: inside-LA cells are suppressed ("c")
    assert np.isnan(new.loc["Inside LA, 20 miles or less", "council_pct"])
    assert (
        new.loc["Inside LA, 20 miles or less", "council_note"]
        == "suppressed to protect confidentiality"
    )
    assert new.loc["Outside LA, more than 20 miles", "council_n"] == 11.0
    assert new.loc["Outside LA, more than 20 miles", "england_n"] == 14560.0


def test_dfe_comparison_suppressed_and_missing_years(measures: pd.DataFrame) -> None:
    c = gaps.dfe_comparison(measures, council="Rutland", year=2021)
    row = c[(c["table"] == "At 31 March") & (c["measure"] == "More than 20 miles")].iloc[0]
    assert (
        np.isnan(row["council_n"])
        and row["council_note"] == "suppressed to protect confidentiality"
    )
    assert row["england_n"] == 16860.0
    with pytest.raises(InputFileError, match="2019"):
        gaps.dfe_comparison(measures, council=RUTLAND, year=2019)


def test_dfe_year_follows_the_reference_date() -> None:
    import datetime as dt

    # the year ending 31 March on or before the date
    assert dfe_stats.year_ending(dt.date(2024, 3, 31)) == 2024
    assert dfe_stats.year_ending(dt.date(2024, 3, 30)) == 2023
    assert dfe_stats.year_ending(dt.date(2024, 12, 1)) == 2024
    assert dfe_stats.year_for(dt.date(2024, 3, 31)) == (2024, 2024)
    # not published yet: the latest shipped; before the first shipped year: the earliest
    assert dfe_stats.year_for(dt.date(2026, 3, 31), "new_placements") == (2026, 2025)
    assert dfe_stats.year_for(dt.date(2019, 3, 31)) == (2019, 2021)


def test_dfe_comparison_takes_the_reference_dates_year(measures: pd.DataFrame) -> None:
    import datetime as dt

    c = gaps.dfe_comparison(measures, council=RUTLAND, reference_date=dt.date(2024, 3, 31))
    assert (c["year"] == 2024).all() and (c["year_requested"] == 2024).all()
    at31 = c[c["table"] == "At 31 March"].set_index("measure")
    pub = dfe_stats.published("distance", la_code=RUTLAND, year=2024)
    assert at31.loc["More than 20 miles", "council_pct"] == pub.loc[dfe_stats.FAR, "percentage"]
    assert at31["source"].str.endswith("year ending 31 March 2024").all()
    eng = dfe_stats.published("new_placements", level=dfe_stats.LEVEL_NATIONAL, year=2024)
    new = c[c["table"] == "New placements in year"].set_index("measure")
    assert (
        new.loc["Outside LA, more than 20 miles", "england_n"]
        == eng.loc[dfe_stats.NEW_OUTSIDE_FAR, "number"]
    )
    # a date beyond the shipped statistics: the latest year, and the year asked for is kept
    late = gaps.dfe_comparison(measures, council=RUTLAND, reference_date=dt.date(2026, 9, 30))
    assert (late["year"] == 2025).all() and (late["year_requested"] == 2026).all()


def test_dfe_new_placements_count_only_the_years_starts(tmp_path) -> None:
    """Episodes through the real loader, reference date 31/03/2024 (year 1/4/2023-31/3/2024)."""
    import datetime as dt

    from geosuff.inputs import DEMO_POSTCODES, Boundaries, default_lookup, load_placements

    rows = [
        # CHILD, HOME_POST, PL_POST, PLACE, DECOM, DEC
        ("C1", "LE15 6AA", "LE15 9AE", "U1", "15/06/2023", ""),  # new; open; inside 4.9 mi
        ("C2", "LE15 6AA", "B1 1AA", "K2", "31/03/2019", ""),  # 5 years before: 31 March only
        ("C3", "LE15 6AA", "NN17 1AA", "U4", "01/05/2023", "01/09/2023"),  # new, ended
        ("C3", "LE15 6AA", "LE15 9AE", "U4", "01/09/2023", ""),  # new; open; inside
        ("C4", "LE15 6AA", "LE13 0AA", "U1", "01/04/2023", ""),  # first day of the year: new
        ("C5", "LE15 6AA", "B1 1AA", "K2", "31/03/2023", ""),  # the day before: 31 March only
        ("C6", "LE15 6AA", "PE9 1AA", "U1", "01/10/2023", "01/12/2023"),  # new, ended
        ("C6", "LE15 6AA", "PE9 1AA", "U1", "01/10/2023", "01/12/2023"),  # exact copy: once
        ("C7", "LE15 6AA", "LE15 9AE", "U1", "15/04/2024", ""),  # after the reference date
    ]
    p = tmp_path / "episodes.csv"
    pd.DataFrame(rows, columns=["CHILD", "HOME_POST", "PL_POST", "PLACE", "DECOM", "DEC"]).to_csv(
        p, index=False
    )
    ref = dt.date(2024, 3, 31)
    b = Boundaries.load()
    loaded = load_placements(
        p, lookup=default_lookup(DEMO_POSTCODES), boundaries=b, reference_date=ref
    )
    m = d.placement_measures(loaded.table, council=RUTLAND, boundaries=b)
    assert gaps.snapshot_mask(m).tolist() == [1, 1, 0, 1, 1, 1, 0, 0, 0]
    new_rows = gaps.new_in_year(m, ref)
    assert new_rows is not None and new_rows.tolist() == [1, 0, 1, 1, 1, 0, 1, 0, 0]

    c = gaps.dfe_comparison(m, council=RUTLAND, reference_date=ref)
    at31 = c[c["table"] == "At 31 March"].set_index("measure")
    # C1, C3 (Uppingham), C4 (Melton 8.5 mi) within 20 miles; C2, C5 (Birmingham) beyond
    assert at31["computed_n"].tolist() == [3, 2, 0]
    assert (at31["computed_total"] == 5).all() and (at31["cohort"] == "snapshot").all()
    new = c[c["table"] == "New placements in year"].set_index("measure")
    # inside ≤20: C1, C3 (Uppingham); outside ≤20: C3 (Corby), C4 (Melton), C6 (Stamford);
    # C2, started five years before, is not a new placement: nobody new is placed > 20 miles
    assert new["computed_n"].tolist() == [2, 0, 3, 0, 0]
    assert (new["computed_total"] == 5).all()
    assert new["computed_pct"].tolist() == [40.0, 0.0, 60.0, 0.0, 0.0]
    assert (new["cohort_start"] == dt.date(2023, 4, 1)).all()
    assert (c["cohort_end"] == ref).all() and (c["year"] == 2024).all()


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


def _far_cohort(
    lsoas: gpd.GeoDataFrame, spec: list[tuple[int, str, int]], extra: list[dict] | None = None
) -> pd.DataFrame:
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
        [
            (0, "childrens_home", 10),
            (1, "foster", 5),
            (2, "foster", 3),
            (3, "supported", 4),
            (3, "childrens_home", 3),
        ],
        # a near placement (not counted) and a far child with no home point (unassigned)
        extra=[
            {
                "place_group": "foster",
                "home_e": LE15_6AA[0],
                "home_n": LE15_6AA[1],
                "pl_e": LE15_9AE[0],
                "pl_n": LE15_9AE[1],
                "pl_ltla": "E06000017",
            },
        ],
    )
    minutes = pd.DataFrame(
        {
            "childrens_home": [52.0, 5, 5, 20],
            "foster_cluster": [10.0, 12, 12, 12],
            "care_leaver_unit": [40.0, 40, 40, 45],
        },
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
    # 4 supported + 3 children's homes: no need reaches 5 children, so none is named in the
    # published text (no attribute of fewer than 5 children is published) ...
    assert second["needed_groups"] == "mixed needs (each of fewer than 5 children)"
    assert second["n_by_group"] == "supported 4; childrens_home 3"  # raw, internal
    assert np.isnan(second["minutes_to_suitable"]) and second["suitable_type"] == ""
    assert (
        second["lacks"]
        == "no suitable place with spare places within 30 min for some needs (each of fewer than 5 children)"
    )
    assert (
        "supported" not in second["evidence"].lower()
        and "children's home" not in second["evidence"].lower()
    )
    # ... yet the gap is found from every need: supported has at best a care-leaver unit at
    # 45 min (no supported accommodation), children's homes are 20 min away
    assert second["outside_catchment"] == True  # noqa: E712
    g2 = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=3)
    s2 = g2.set_index("area_id").loc[ids[3]]
    assert s2["needed_groups"] == "Supported / independent living (H5, P2); Children's homes (K2)"
    assert s2["minutes_to_suitable"] == 45.0 and s2["suitable_type"] == "care_leaver_unit"
    assert "care-leaver unit" in s2["lacks"] and "children's home" not in s2["lacks"]  # 20 min
    assert third["lacks"] == "" and third["minutes_to_suitable"] == 12.0
    # population rate and publishable evidence built from bands only
    pop0 = float(rutland_lsoas["pop_0_17"].iloc[0])
    assert first["n_far_per_10k"] == pytest.approx(10 / pop0 * 10_000)
    assert first["evidence"].startswith("10+ children whose home is in")
    assert "52 min" in first["evidence"] and "beyond the 30-minute limit" in first["evidence"]
    assert "7" not in second["evidence"].split("whose")[0]
    assert (
        "n_far" not in g.attrs["publish_columns"] and "n_by_group" not in g.attrs["publish_columns"]
    )
    assert g.attrs["unassigned"] == 0
    # LSOA 2 (Rutland 001B) is the only unpublished member of its MSOA with far children: 3 < 5
    assert g["level"].tolist() == ["LSOA"] * 3 and g.attrs["not_in_gap_areas"] == 3
    assert "level" in g.attrs["publish_columns"]
    only = gaps.gap_areas(
        m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, only_gaps=True
    )
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
        str(
            __import__("importlib").resources.files("geosuff")
            / "data"
            / "lsoa11_pop0_17_mid2020_england.csv.gz"
        )
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
    far_home = _far_cohort(
        rutland_lsoas,
        [],
        extra=[
            {
                "place_group": "foster",
                "home_e": 300000.0,
                "home_n": 300000.0,
                "pl_e": B1_1AA[0],
                "pl_n": B1_1AA[1],
                "pl_ltla": "E08000025",
            }
        ],
    )
    g = gaps.gap_areas(far_home, rutland_lsoas, min_count=1)
    assert g.empty and g.attrs["unassigned"] == 1
    with pytest.raises(InputFileError):
        gaps.gap_areas(m.drop(columns=["place_group"]), rutland_lsoas)
    assert list(gaps.count_band([0, 1, 4, 5, 9, 10, 250])) == [
        "0",
        "1–4",
        "1–4",
        "5–9",
        "5–9",
        "10+",
        "10+",
    ]


# Rutland LSOA positions in lsoa11_rutland.geojson by MSOA (the name less its final letter):
# Rutland 003: 11 (003A), 12 (003B), 15 (003C), 16 (003D); Rutland 002: 6, 13, 14, 22.
R003A, R003B, R003C, R003D = 11, 12, 15, 16
R002A, R002B = 6, 13


def _far_count(m: pd.DataFrame, far_miles: float = 20.0) -> int:
    miles = pd.to_numeric(m["dfe_miles"], errors="coerce")
    return int((miles > far_miles).sum())


def _accounted(g: gpd.GeoDataFrame) -> int:
    return int(g["n_far"].sum()) + g.attrs["not_in_gap_areas"] + g.attrs["unassigned"]


@pytest.fixture(scope="module")
def hier_case(rutland_lsoas: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """6 far children in 003A (published alone), 3 + 2 in its siblings 003B and 003C (published
    together as the rest of MSOA Rutland 003), 2 + 2 in MSOA Rutland 002 (4 < 5: not published),
    one far child with a home outside every area and one child placed near home."""
    m = _far_cohort(
        rutland_lsoas,
        [
            (R003A, "childrens_home", 6),
            (R003B, "foster", 3),
            (R003C, "foster", 2),
            (R002A, "foster", 2),
            (R002B, "supported", 2),
        ],
        extra=[
            {
                "place_group": "foster",
                "home_e": 300000.0,
                "home_n": 300000.0,
                "pl_e": B1_1AA[0],
                "pl_n": B1_1AA[1],
                "pl_ltla": "E08000025",
            },
            {
                "place_group": "foster",
                "home_e": LE15_6AA[0],
                "home_n": LE15_6AA[1],
                "pl_e": LE15_9AE[0],
                "pl_n": LE15_9AE[1],
                "pl_ltla": "E06000017",
            },
        ],
    )
    ids = rutland_lsoas["lsoa11_code"].tolist()
    # foster households: 35 min from 003B, 12 from 003C → median over the 5 children (3 × 35,
    # 2 × 12) is 35, beyond 30 (a mean, 25.8, or the best member area, 12, would hide the gap)
    minutes = pd.DataFrame({"childrens_home": 45.0, "foster_cluster": 20.0}, index=ids)
    minutes.loc[ids[R003B], "foster_cluster"] = 35.0
    minutes.loc[ids[R003C], "foster_cluster"] = 12.0
    return m, minutes


def test_gap_areas_merge_small_areas_into_their_msoa(
    rutland_lsoas: gpd.GeoDataFrame, hier_case: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    m, minutes = hier_case
    ids = rutland_lsoas["lsoa11_code"].tolist()
    g = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=5)
    assert g["area_id"].tolist() == [ids[R003A], "Rutland 003"]
    assert g["level"].tolist() == ["LSOA", "MSOA"]
    assert g["n_far"].tolist() == [6, 5]
    assert g["count_band"].tolist() == ["5–9", "5–9"]
    lsoa, msoa = g.iloc[0], g.iloc[1]
    assert lsoa["area_name"] == "Rutland 003A"
    # the MSOA row leaves out the LSOA published on its own, and says so
    assert msoa["area_name"] == "Rutland 003 (MSOA) excluding Rutland 003A"
    assert msoa["main_need"] == "foster" and msoa["n_by_group"] == "foster 5"
    # geometry: union of the MSOA's members not published alone (003B, 003C and the child-free
    # 003D, so the map does not show which LSOAs hold the children); no overlap with 003A
    rest = rutland_lsoas.geometry.iloc[[R003B, R003C, R003D]].union_all()
    assert msoa.geometry.symmetric_difference(rest).area < 1.0
    assert msoa.geometry.intersection(lsoa.geometry).area < 1.0
    assert lsoa.geometry.equals(rutland_lsoas.geometry.iloc[R003A])
    pop = rutland_lsoas["pop_0_17"].astype(float)
    assert msoa["pop_0_17"] == pop.iloc[[R003B, R003C, R003D]].sum()
    assert msoa["n_far_per_10k"] == pytest.approx(5 / msoa["pop_0_17"] * 10_000)
    # minutes for the merged area: median over its children of their own LSOA's minutes
    assert msoa["minutes_to_suitable"] == 35.0 and msoa["suitable_type"] == "foster_cluster"
    assert msoa["outside_catchment"] == True  # noqa: E712
    assert msoa["lacks"] == "no foster households (aggregated) with spare places within 30 min"
    assert lsoa["minutes_to_suitable"] == 45.0 and lsoa["outside_catchment"] == True  # noqa: E712
    ev = msoa["evidence"]
    assert ev.startswith(
        "5–9 children whose home is in Rutland 003 (MSOA) excluding Rutland 003A are placed more than 20 miles"
    )
    assert "35 min (median over these children's home LSOAs), beyond the 30-minute limit" in ev
    assert lsoa["evidence"].startswith(f"5–9 children whose home is in Rutland 003A ({ids[R003A]})")
    # MSOA Rutland 002 has 4 (< 5): counted, not published; every far child is accounted for
    assert g.attrs["not_in_gap_areas"] == 4 and g.attrs["unassigned"] == 1
    assert _far_count(m) == 6 + 5 + 4 + 1 == _accounted(g)
    assert g["rank"].tolist() == [1, 2]  # both gaps, more children first
    # a longer limit: the merged area's 35 min is within 40, 003A's 45 is not
    g40 = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=40)
    assert g40["outside_catchment"].tolist() == [True, False]
    assert (g40["outside_catchment"] == (g40["minutes_to_suitable"] > 40)).all()
    # publication: raw counts stay internal; the level is published
    assert "n_far" not in g.attrs["publish_columns"] and "level" in g.attrs["publish_columns"]


def test_gap_areas_whole_msoa_and_median_of_an_even_count(rutland_lsoas: gpd.GeoDataFrame) -> None:
    ids = rutland_lsoas["lsoa11_code"].tolist()
    m = _far_cohort(
        rutland_lsoas, [(R003B, "foster", 3), (R003C, "foster", 1), (R003C, "childrens_home", 2)]
    )
    minutes = pd.DataFrame({"childrens_home": np.nan, "foster_cluster": 40.0}, index=ids)
    minutes.loc[ids[R003B], "foster_cluster"] = 10.0
    minutes.loc[ids[R003C], "childrens_home"] = 25.0
    # min_count 4 (so that the 4 foster children's need is named in the published text)
    g = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=4)
    assert len(g) == 1
    r = g.iloc[0]
    # no LSOA of the MSOA published alone: its whole area, named without "excluding"
    assert r["area_id"] == "Rutland 003" and r["area_name"] == "Rutland 003 (MSOA)"
    assert (
        r.geometry.symmetric_difference(
            rutland_lsoas.geometry.iloc[[R003A, R003B, R003C, R003D]].union_all()
        ).area
        < 1.0
    )
    # foster (main need): 10, 10, 10 (003B) and 40 (003C) → median 10
    assert r["minutes_to_suitable"] == 10.0
    # children's homes: both children live in 003C (25 min) → within 30: no gap
    assert r["lacks"] == "" and r["outside_catchment"] == False  # noqa: E712
    # even count: children's home minutes 25 (003C) for two, unreachable (NaN) for the two of
    # 003B → median of (25, 25, inf, inf) is inf → lacking
    m2 = _far_cohort(
        rutland_lsoas,
        [(R003B, "childrens_home", 2), (R003C, "childrens_home", 2), (R003B, "foster", 1)],
    )
    g2 = gaps.gap_areas(m2, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=4)
    r2 = g2.iloc[0]
    assert r2["main_need"] == "childrens_home" and np.isnan(r2["minutes_to_suitable"])
    assert r2["outside_catchment"] == True  # noqa: E712
    assert "for at least half of these children's home LSOAs" in r2["evidence"]
    # (25, 25, 35, 35) gives 30: within the limit (and the foster child in 003B has 10 min)
    minutes.loc[ids[R003B], "childrens_home"] = 35.0
    r3 = gaps.gap_areas(
        m2, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=4
    ).iloc[0]
    assert r3["minutes_to_suitable"] == 30.0 and r3["outside_catchment"] == False  # noqa: E712


def test_gap_areas_without_aggregation_is_small_areas_only(
    rutland_lsoas: gpd.GeoDataFrame, hier_case: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    m, minutes = hier_case
    ids = rutland_lsoas["lsoa11_code"].tolist()
    g = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, aggregate=False)
    assert g["area_id"].tolist() == [ids[R003A]] and g["level"].tolist() == ["LSOA"]
    assert g.attrs["not_in_gap_areas"] == 5 + 4
    assert _accounted(g) == _far_count(m)
    full = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30)
    same = full[full["level"] == "LSOA"].drop(columns="geometry").reset_index(drop=True)
    pd.testing.assert_frame_equal(g.drop(columns="geometry").reset_index(drop=True), same)
    # nothing reaches 5 in any LSOA and aggregation is off: empty, every child still counted
    small = _far_cohort(rutland_lsoas, [(R003B, "foster", 3), (R003C, "foster", 2)])
    e = gaps.gap_areas(small, rutland_lsoas, aggregate=False)
    assert e.empty and "level" in e.columns and e.attrs["not_in_gap_areas"] == 5


def test_gap_areas_explicit_parent_column(rutland_lsoas: gpd.GeoDataFrame) -> None:
    ids = rutland_lsoas["lsoa11_code"].tolist()
    # 005A (pos 0) and 002A (pos 6) are in different MSOAs by name; a parent column overrides
    m = _far_cohort(rutland_lsoas, [(0, "foster", 3), (R002A, "foster", 3)])
    assert gaps.gap_areas(m, rutland_lsoas).empty  # by MSOA name: 3 and 3
    areas = rutland_lsoas.copy()
    areas["parent_id"] = pd.NA
    areas.loc[[0, R002A], "parent_id"] = "W1"
    areas["parent_name"] = np.where(areas["parent_id"].notna(), "West ward", None)
    minutes = pd.DataFrame({"foster_cluster": 20.0}, index=ids)
    minutes.loc[ids[0], "foster_cluster"] = 50.0
    g = gaps.gap_areas(m, areas, area_minutes_to_type=minutes, minutes=30)
    assert g["area_id"].tolist() == ["W1"]
    r = g.iloc[0]
    assert r["level"] == "parent area" and r["area_name"] == "West ward (parent area)"
    # the union of exactly the two members
    assert (
        r.geometry.symmetric_difference(rutland_lsoas.geometry.iloc[[0, R002A]].union_all()).area
        < 1.0
    )
    assert r["minutes_to_suitable"] == 35.0  # median of 50, 50, 50, 20, 20, 20
    assert r["outside_catchment"] == True  # noqa: E712
    assert r["evidence"].startswith(
        "5–9 children whose home is in West ward (parent area) (W1) are placed"
    )
    assert g.attrs["not_in_gap_areas"] == 0 and _accounted(g) == 6
    # MSOA codes as parent ids: level "MSOA"
    areas2 = rutland_lsoas.copy()
    areas2["msoa11_code"] = "E02002000"
    areas2["msoa11_name"] = "Rutland all"
    g2 = gaps.gap_areas(m, areas2, area_minutes_to_type=minutes)
    assert g2["area_id"].tolist() == ["E02002000"] and g2["level"].tolist() == ["MSOA"]
    assert g2["area_name"].iloc[0] == "Rutland all (MSOA)"
    assert (
        g2["evidence"]
        .iloc[0]
        .startswith("5–9 children whose home is in Rutland all (MSOA) (E02002000)")
    )


def test_gap_areas_mixed_needs_evidence_says_it_once(rutland_lsoas: gpd.GeoDataFrame) -> None:
    # 003A: 3 foster + 3 children's home = 6 far children, no need of 5; MSOA 003 holds no
    # others, so no level names a need: published at LSOA level as mixed needs
    m = _far_cohort(rutland_lsoas, [(R003A, "foster", 3), (R003A, "childrens_home", 3)])
    g = gaps.gap_areas(m, rutland_lsoas, min_count=5)
    r = g.iloc[0]
    assert r["needed_groups"] == "mixed needs (each of fewer than 5 children)"
    ev = r["evidence"]
    # one phrase for mixed needs: never "their needs are mixed (mixed needs (...))"
    assert len(re.findall(r"mixed", ev)) == 1
    assert not re.search(r"\([^()]*\(", ev)  # no nested brackets
    assert "; their needs are mixed (no need is shared by 5 or more of them)." in ev
    assert "foster" not in ev.lower() and "children's home" not in ev.lower()
    assert g["area_level"].tolist() == ["LSOA"]


def test_gap_areas_go_coarser_to_name_a_need(rutland_lsoas: gpd.GeoDataFrame) -> None:
    ids = rutland_lsoas["lsoa11_code"].tolist()
    # 003A: 3 foster + 3 children's home (6: enough children, no need of 5); 003B: 2 foster.
    # At LSOA level only "mixed needs" could be said; in MSOA 003 foster reaches 5: named there
    m = _far_cohort(
        rutland_lsoas, [(R003A, "foster", 3), (R003A, "childrens_home", 3), (R003B, "foster", 2)]
    )
    minutes = pd.DataFrame({"childrens_home": 45.0, "foster_cluster": 20.0}, index=ids)
    g = gaps.gap_areas(m, rutland_lsoas, area_minutes_to_type=minutes, minutes=30, min_count=5)
    assert g["area_id"].tolist() == ["Rutland 003"]
    assert g["area_level"].tolist() == ["MSOA"] and "area_level" in g.attrs["publish_columns"]
    r = g.iloc[0]
    assert r["area_name"] == "Rutland 003 (MSOA)" and r["n_far"] == 8
    assert r["main_need"] == "foster"
    assert r["needed_groups"] == (
        "Foster care (U1-U6); other needs (each of fewer than 5 children)"
    )
    assert "main need: Foster care (U1-U6)" in r["evidence"]
    assert r["minutes_to_suitable"] == 20.0
    # the whole MSOA (no member published alone); every far child is in the area
    whole = rutland_lsoas.geometry.iloc[[R003A, R003B, R003C, R003D]].union_all()
    assert r.geometry.symmetric_difference(whole).area < 1.0
    assert g.attrs["not_in_gap_areas"] == 0 and len(g.attrs["not_in_gap_members"]) == 0
    # without aggregation the LSOA is still published, with mixed needs
    g0 = gaps.gap_areas(m, rutland_lsoas, min_count=5, aggregate=False)
    assert g0["area_level"].tolist() == ["LSOA"]
    assert g0["needed_groups"].tolist() == ["mixed needs (each of fewer than 5 children)"]
    assert g0.attrs["not_in_gap_areas"] == 2
    assert sorted(g0.attrs["not_in_gap_members"].tolist()) == [6, 7]  # the two in 003B


def test_gap_areas_ward_and_district_levels(rutland_lsoas: gpd.GeoDataFrame) -> None:
    # MSOA 003 (003B: 3 foster + 2 children's home) and MSOA 002 (002A: 3 foster + 2
    # supported) each have 5 children but no need of 5; together foster reaches 6
    m = _far_cohort(
        rutland_lsoas,
        [
            (R003B, "foster", 3),
            (R003B, "childrens_home", 2),
            (R002A, "foster", 3),
            (R002A, "supported", 2),
        ],
    )
    names = rutland_lsoas["lsoa11_name"].astype(str)
    in_w = names.str.match(r"Rutland 00[23]").to_numpy()
    plain = gaps.gap_areas(m, rutland_lsoas, min_count=5)
    assert plain["area_level"].tolist() == ["LSOA", "LSOA"]  # each LSOA has 5, mixed
    assert set(plain["needed_groups"]) == {"mixed needs (each of fewer than 5 children)"}
    # a ward holding both MSOAs: the need is named there
    wards = rutland_lsoas.assign(
        ward_code=np.where(in_w, "E05000001", "E05000002"),
        ward_name=np.where(in_w, "Oakham North", "Elsewhere"),
    )
    g = gaps.gap_areas(m, wards, min_count=5)
    assert g["area_id"].tolist() == ["E05000001"] and g["area_level"].tolist() == ["ward"]
    r = g.iloc[0]
    assert r["area_name"] == "Oakham North (ward)" and r["main_need"] == "foster"
    assert r["needed_groups"].startswith("Foster care (U1-U6)")
    assert r.geometry.symmetric_difference(rutland_lsoas.geometry[in_w].union_all()).area < 1.0
    # districts (two): the same at district level; a member LSOA published on its own
    # (001A, 5 foster) is listed apart and left out of the district's area
    in_d = in_w | (names == "Rutland 001A").to_numpy()
    dist = rutland_lsoas.assign(
        LTLA23CD=np.where(in_d, "E07000001", "E07000002"),
        LTLA23NM=np.where(in_d, "Northdale", "Southdale"),
    )
    m2 = pd.concat([m, _far_cohort(rutland_lsoas, [(1, "foster", 5)])], ignore_index=True)
    g2 = gaps.gap_areas(m2, dist, min_count=5)
    assert g2["area_level"].tolist() == ["district", "LSOA"]
    assert g2["area_name"].tolist() == [
        "Northdale (district) excluding Rutland 001A",
        "Rutland 001A",
    ]
    assert g2["n_far"].tolist() == [10, 5] and g2.attrs["not_in_gap_areas"] == 0
    assert g2.geometry.iloc[0].intersection(g2.geometry.iloc[1]).area < 1.0
    # a single district is the council itself (a unitary): not used as a gap area
    one = rutland_lsoas.assign(LTLA23CD="E06000017", LTLA23NM="Rutland")
    assert gaps.gap_areas(m, one, min_count=5)["area_level"].tolist() == ["LSOA", "LSOA"]
    cols = {"lsoa11_code": "area_id", "lsoa11_name": "area_name"}
    assert [str(lv[0]) for lv, _, _ in gaps.area_hierarchy(one.rename(columns=cols))] == ["MSOA"]
    levels = gaps.area_hierarchy(dist.rename(columns=cols))
    assert [str(lv[0]) for lv, _, _ in levels] == ["MSOA", "district"]


def test_area_parents_from_lsoa_names() -> None:
    areas = pd.DataFrame(
        {
            "area_id": ["E01013798", "E01011950", "H1", "X"],
            "area_name": ["Rutland 003A", "Hartlepool 009A", "Hex 12", "Somewhere 003"],
        }
    )
    p = gaps.area_parents(areas)
    assert p["parent_id"].tolist() == ["Rutland 003", "Hartlepool 009", "", ""]
    assert p["parent_level"].tolist() == ["MSOA", "MSOA", "", ""]
    assert list(gaps.area_levels(areas)) == ["LSOA", "LSOA", "small area", "small area"]


@pytest.mark.slow
def test_gap_areas_on_the_synthetic_rutland_demo(demo_results) -> None:
    """The SYNTHETIC Rutland demo: far-placed children spread over many LSOAs (none reaching
    5) still give a gap area, at MSOA level, naming its band, need and what it lacks."""
    g = demo_results.gap_areas
    assert len(g) >= 1
    r003 = g[g["area_id"] == "Rutland 003"]
    assert len(r003) == 1
    r = r003.iloc[0]
    assert r["level"] == "MSOA" and r["count_band"] == "5–9"
    assert r["needed_groups"] and r["main_need"]
    assert pd.notna(r["outside_catchment"]) and r["minutes_source"] == "road"
    assert r["evidence"].startswith("5–9 children whose home is in Rutland 003 (MSOA)")
    if r["outside_catchment"]:
        assert r["lacks"].startswith("no ")
    assert (g["n_far"] >= demo_results.scenario.disclosure.min_count).all()
    assert set(g["count_band"]) <= {"5–9", "10+"}
    # published areas do not overlap
    geoms = g.geometry.tolist()
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert geoms[i].intersection(geoms[j]).area < 1.0
    # every far-placed child (of the counted rows) is in a gap area, or counted as not
    counted = demo_results.measures[demo_results.measures["status"] != "excluded"]
    assert _accounted(g) == _far_count(counted, demo_results.scenario.analysis.far_miles)
