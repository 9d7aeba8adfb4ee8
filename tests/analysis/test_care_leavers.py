"""Care leavers on a hand-made OC3 table with known answers; the projection on made-up series."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geosuff.analysis import care_leavers as cl
from geosuff.analysis import projection as pj
from geosuff.inputs import Boundaries, PostcodeLookup
from geosuff.inputs.care_leavers import load_care_leavers
from geosuff.reference import DFE_KM_PER_MILE, oc3_codes

REF = dt.date(2025, 3, 31)
RUTLAND = "E06000017"
# Rutland's easternmost boundary vertex (EPSG:27700, shipped boundaries): a point due east of it
# at d metres is exactly d metres from the boundary (every boundary point lies west of it)
EAST_X, EAST_Y = 506145.80069266, 313127.82288304
INSIDE = (490524.0, 305891.0)  # Rutland's representative point (Oakham area)


def test_oc3_code_lists_match_the_dfe_903_validator() -> None:
    c = oc3_codes()
    # lac_validator rule 131 (IN_TOUCH) and rule 133 (ACCOM) of csc-validator-be-903
    assert set(c["IN_TOUCH"]) == {"YES", "NO", "DIED", "REFU", "NREQ", "RHOM"}
    valid = {f"{a.code}{d}" for a in c["ACCOM"].values() if a.code != "0" for d in a.suitability}
    assert valid == {
        *(f"{x}{d}" for x in "BCDEGHKRTUVWYZ" for d in "12"),
        "S2",
        "X2",
    }
    assert set(c["ACCOM_SUITABLE"]) == {"1", "2"}


def test_miles_to_a_square_dfe_style() -> None:
    sq = shapely.box(0, 0, 10000, 10000)
    x = np.array([5000.0, 10000.0 + 16093.0, 3000.0, np.nan, 10000.0 + 1609.3 * 0.04])
    y = np.array([5000.0, 5000.0, -8046.5, 0.0, 5000.0])
    m = cl.miles_to_area(x, y, sq)
    assert m[0] == 0.0 and m[1] == 10.0 and m[2] == 5.0 and np.isnan(m[3])
    assert m[4] == 0.0  # 0.04 miles rounds to 0.0 (1 dp)
    assert DFE_KM_PER_MILE == 1.6093


def _dob(age: int) -> str:
    return f"01/01/{REF.year - age}"  # birthday passed by 31 March: exactly ``age``


@pytest.fixture()
def oc3(tmp_path: Path) -> tuple[Path, PostcodeLookup]:
    lk = tmp_path / "lookup.csv"
    pd.DataFrame(
        {
            "postcode": ["LE15 6HE", "PE9 1AA", "PE9 9ZZ"],
            "easting": [INSIDE[0], EAST_X + 16093.0, EAST_X + 40232.5],  # 0, 10.0, 25.0 miles
            "northing": [INSIDE[1], EAST_Y, EAST_Y],
        }
    ).to_csv(lk, index=False)
    rows = [
        ("A1", _dob(19), "YES", "D1", "", "LE15 6HE"),
        ("A2", _dob(18), "NO", "U2", "", "PE9 1AA"),
        ("A3", _dob(21), "REFU", "B1", "", "pe9 9zz"),
        ("A4", _dob(20), "YES", "Q1", "", "LE15 6HE"),  # unknown ACCOM
        ("A5", _dob(20), "MAYBE", "S1", "", "LE15 6HE"),  # unknown IN_TOUCH; S only with 2
        ("A6", _dob(22), "YES", "Z1", "", "LE15 6HE"),  # 22: only with max age 25
        ("A7", _dob(17), "YES", "D1", "", "LE15 6HE"),  # 17: too young
        ("A8", _dob(19), "DIED", "0", "", ""),
        ("A1", _dob(19), "YES", "D1", "", "LE15 6HE"),  # duplicate CHILD
        ("A10", _dob(19), "YES", "E", "2", "LE15 6HE"),  # letter + ACCOM_SUITABLE
        ("A11", "not a date", "YES", "D1", "", "LE15 6HE"),
    ]
    path = tmp_path / "care_leavers.csv"
    pd.DataFrame(
        rows, columns=["CHILD", "DOB", "IN_TOUCH", "ACCOM", "ACCOM_SUITABLE", "ACCOM_POST"]
    ).to_csv(path, index=False)
    return path, PostcodeLookup.from_file(lk, fallback=False)


def _measures(path: Path, lookup: PostcodeLookup, max_age: int = 21) -> pd.DataFrame:
    b = Boundaries.load()
    loaded = load_care_leavers(
        path, lookup=lookup, boundaries=b, reference_date=REF, min_age=18, max_age=max_age
    )
    geom = b.gdf[b.gdf["code"] == RUTLAND].geometry.iloc[0]
    return cl.care_leaver_measures(loaded.table, council=RUTLAND, boundary=geom).set_index(
        "CHILD", drop=False
    )


def test_every_row_is_accounted_for_with_known_answers(oc3) -> None:
    path, lookup = oc3
    m = _measures(path, lookup)
    assert len(m) == 11 and m["row"].tolist() == list(range(1, 12))
    st = m["status"].tolist()
    excluded = [r for r, s in zip(m["row"], st, strict=True) if s == "excluded"]
    assert excluded == [6, 7, 9, 11]
    by_row = m.set_index("row")
    assert "outside the care-leaver ages 18-21" in by_row.loc[6, "reason"]
    assert "aged 17" in by_row.loc[7, "reason"]
    assert "duplicate CHILD" in by_row.loc[9, "reason"]
    assert by_row.loc[11, "reason"] == "DOB is not a date"
    # unknown codes: used, counted as not known, with the reason
    assert (
        by_row.loc[4, "accom_type"] == "not_known"
        and "'Q1' is not an OC3 code" in by_row.loc[4, "reason"]
    )
    assert by_row.loc[4, "status"] == "used-with-estimate"
    assert (
        by_row.loc[5, "in_touch"] == "not_known" and "IN_TOUCH 'MAYBE'" in by_row.loc[5, "reason"]
    )
    assert "suitability '1' is not allowed with ACCOM S" in by_row.loc[5, "reason"]
    assert pd.isna(by_row.loc[5, "suitable"]) and by_row.loc[5, "accom_type"] == "homeless"
    # in touch, suitable, inside / outside, miles (1 dp) to the boundary
    a1, a2, a3 = by_row.loc[1], by_row.loc[2], by_row.loc[3]
    assert (a1["in_touch"], bool(a1["suitable"]), bool(a1["inside_la"]), a1["miles_to_la"]) == (
        "in_touch",
        True,
        True,
        0.0,
    )
    assert (a2["in_touch"], bool(a2["suitable"]), bool(a2["inside_la"]), a2["miles_to_la"]) == (
        "not_in_touch",
        False,
        False,
        10.0,
    )
    assert (a3["accom_type"], bool(a3["suitable"]), a3["miles_to_la"], a3["distance_band"]) == (
        "with_family",
        True,
        25.0,
        "outside_far",
    )
    assert a2["distance_band"] == "outside_near"
    assert (
        bool(by_row.loc[10, "suitable"]) is False
        and by_row.loc[10, "accom_type"] == "supported_lodgings"
    )
    a8 = by_row.loc[8]
    assert a8["in_touch"] == "died" and a8["accom_type"] == "not_applicable" and a8["reason"] == ""
    # demand: unsuitable (A2, A10) or outside (A2, A3); never an excluded row
    assert sorted(m.loc[m["demand"], "row"]) == [2, 3, 10]


def test_table_counts_and_the_age_range_setting(oc3) -> None:
    path, lookup = oc3
    t = cl.care_leaver_table(_measures(path, lookup), min_age=18, max_age=21)
    a = t[t["age_band"] == "all"].set_index(["measure", "category"])
    assert a.loc[("in_touch", "in_touch"), "count"] == 3  # A1, A4, A10
    assert a.loc[("in_touch", "not_in_touch"), "count"] == 2  # A2 (NO), A3 (REFU)
    assert a.loc[("in_touch", "died"), "count"] == 1
    assert a.loc[("in_touch", "not_known"), "count"] == 1
    assert (a.loc["in_touch", "denominator"] == 7).all()
    assert a.loc[("accommodation_suitable", "suitable"), "count"] == 2  # A1, A3
    assert a.loc[("accommodation_suitable", "unsuitable"), "count"] == 2  # A2, A10
    assert a.loc[("accommodation_suitable", "not_known"), "count"] == 2  # A4, A5
    assert a.loc[("accommodation_suitable", "not_applicable"), "count"] == 1  # A8
    assert a.loc[("location", "outside_la"), "count"] == 2
    assert a.loc[("distance", "outside_la_20_miles_or_less"), "count"] == 1
    assert a.loc[("distance", "outside_la_over_20_miles"), "count"] == 1
    assert a.loc[("care_leaver_unit_demand", "demand"), "count"] == 3
    # each measure partitions its age band: cells sum to the denominator
    for (band, measure), g in t.groupby(["age_band", "measure"]):
        assert g["count"].sum() == g["denominator"].iloc[0], (band, measure)
    assert set(t["age_band"]) == {"all", "18", "19-21"}
    bands = t[t["measure"] == "in_touch"].groupby("age_band")["denominator"].first()
    assert bands["18"] + bands["19-21"] == bands["all"]
    # to 25: A6 (22) is counted, in its own band
    t25 = cl.care_leaver_table(_measures(path, lookup, max_age=25), min_age=18, max_age=25)
    d25 = t25[t25["measure"] == "in_touch"].groupby("age_band")["denominator"].first()
    assert d25["all"] == 8 and d25["22-25"] == 1
    assert (
        t25.set_index(["age_band", "measure", "category"]).loc[
            ("22-25", "accommodation_type", "staying_put"), "count"
        ]
        == 1
    )


def test_demand_points_stand_inside_or_at_the_centre(oc3) -> None:
    path, lookup = oc3
    m = _measures(path, lookup).reset_index(drop=True)
    pts = cl.demand_points(m, centre=(1.0, 2.0))
    assert pts["position"].tolist() == [1, 2, 9]
    # A2, A3 live outside: at the council's centre; A10 inside: at their accommodation
    assert pts["easting"].tolist()[:2] == [1.0, 1.0]
    assert pts["easting"].iloc[2] == INSIDE[0] and pts["outside_la"].tolist() == [True, True, False]


# ---------------------------------------------------------------------------------------------
# Projection
# ---------------------------------------------------------------------------------------------
def test_exact_exponential_growth_recovers_the_rate() -> None:
    years = [2021, 2022, 2023, 2024, 2025]
    counts = [100 * 1.1**k for k in range(5)]
    f = pj.fit_log_linear(years, counts, horizon=3)
    assert f.rate == pytest.approx(0.1, abs=1e-9)
    truth = np.array([100 * 1.1 ** (4 + h) for h in (1, 2, 3)])
    assert f.years == (2026, 2027, 2028)
    np.testing.assert_allclose(f.projected, truth, rtol=1e-9)
    for lv in (0.8, 0.95):
        assert (f.lower[lv] <= truth + 1e-6).all() and (f.upper[lv] >= truth - 1e-6).all()
    # child population growth on top: 2% a year
    g = pj.fit_log_linear(years, counts, horizon=3, growth=0.02)
    np.testing.assert_allclose(g.projected, truth * 1.02 ** np.arange(1, 4), rtol=1e-9)


def test_intervals_contain_the_truth_and_widen_with_noise() -> None:
    years = np.arange(2016, 2026)
    noise = np.array([1.03, 0.97, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.0, 1.0])
    counts = 50 * 0.95 ** (years - 2016) * noise
    f = pj.fit_log_linear(years, counts, horizon=3)
    truth = 50 * 0.95 ** (np.array(f.years) - 2016)
    assert f.rate == pytest.approx(-0.05, abs=0.01)
    assert ((f.lower[0.95] < truth) & (truth < f.upper[0.95])).all()
    assert ((f.lower[0.95] < f.lower[0.8]) & (f.upper[0.8] < f.upper[0.95])).all()
    width = f.upper[0.95] - f.lower[0.95]
    assert (np.diff(width / f.projected) > 0).all()  # further ahead, wider (relative)
    # two years: a trend but no interval; one year: no trend
    two = pj.fit_log_linear([2024, 2025], [10, 12], horizon=1)
    assert two.projected[0] == pytest.approx(14.4) and np.isnan(two.lower[0.8]).all()
    one = pj.fit_log_linear([2025], [10], horizon=2, growth=0.1)
    assert np.isnan(one.rate) and one.projected.tolist() == pytest.approx([11.0, 12.1])


def _trend_frame() -> pd.DataFrame:
    rows = []
    for k, y in enumerate(range(2021, 2026)):
        foster = int(round(10 * 1.2**k))
        rows += [(y, "foster", "E07000001")] * foster + [(y, "childrens_home", "E07000002")] * 10
    return pd.DataFrame(rows, columns=["year", "place_group", "home_district"])


def test_projection_table_and_demand_ratio() -> None:
    t = pj.projection_table(_trend_frame(), horizon=3)
    assert list(t.columns) == list(pj.PROJECTION_COLUMNS)
    assert set(t["breakdown"]) == {"all", "place_group", "home_district"}
    ch = t[(t["group"] == "childrens_home")]
    assert np.allclose(ch["projected"], 10.0) and (ch["annual_change_pct"].abs() < 1e-9).all()
    fo = t[(t["breakdown"] == "place_group") & (t["group"] == "foster")]
    assert fo["base_count"].iloc[0] == 21 and fo["annual_change_pct"].iloc[0] == pytest.approx(
        20, abs=1
    )
    ratio = pj.demand_ratio(t)
    assert ratio["childrens_home"] == pytest.approx(1.0)
    assert ratio["foster"] == pytest.approx(fo["projected"].iloc[-1] / 21)
    assert 1.6 < ratio["foster"] < 1.9
    w = pj.scale_weights(["foster", "childrens_home", "secure"], ratio)
    assert w.tolist() == pytest.approx([ratio["foster"], 1.0, 1.0])
