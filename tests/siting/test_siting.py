"""Tests for geosuff.siting: scoring with hand-computed values, eligibility, exact selection."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geosuff._errors import ConfigError, InputFileError
from geosuff.config.siting import EligibilityRules, SitingSettings, settings_from_dict
from geosuff.siting import (
    SCENARIO_COLUMNS,
    dfe_miles,
    from_cost_matrix,
    from_geodataframe,
    scenario_effects,
    scenario_table,
    score_candidates,
    select_sites,
    straight_line_minutes,
)

INF = np.inf

# ---------------------------------------------------------------------------------------------
# A hand-made 4 children x 3 candidates case (values worked out by hand in the comments)
# ---------------------------------------------------------------------------------------------


def _candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "candidate_id": ["A", "B", "C"],
            "easting": [0.0, 5000.0, 600.0],
            "northing": [0.0, 0.0, 0.0],
            # A: small home, 3 bedrooms -> min(2, 3 - 1) = 2 places
            # B: 2 bedrooms -> small home 1 place, or care-leaver unit 2 places
            # C: 5 bedrooms -> too big for a small home (2-3 bedrooms): ineligible
            "bedrooms": [3, 2, 5],
            "uses": ["small_home", "small_home; care_leaver_unit", ["small_home"]],
        }
    )


def _demand() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "need": ["childrens_home", "childrens_home", "childrens_home", "care_leaver"],
            "age": [14, 12, 15, 19],
            "over_20_miles": [True, True, False, True],
            "outside_la": [False, True, True, False],
            # homes: d0 10 km north of A (6.2 miles), d1 40 km north (24.9 miles)
            "easting": [0.0, 0.0, 5000.0, 5000.0],
            "northing": [10000.0, 40000.0, 3000.0, 2000.0],
        }
    )


# minutes from each child's home (rows) to A, B, C
MINUTES = np.array(
    [
        [10.0, 40.0, 10.0],
        [20.0, 25.0, 5.0],
        [35.0, 15.0, 5.0],
        [50.0, 10.0, 20.0],
    ]
)


def _existing() -> pd.DataFrame:
    # E: a children's home 500 m from A (clustering for A and C, not B 4.5 km away); it covers d0.
    # F: foster households: serves foster placements only, so it covers nobody here.
    return pd.DataFrame(
        {
            "site_type": ["childrens_home", "foster_cluster"],
            "easting": [500.0, 0.0],
            "northing": [0.0, 100.0],
        }
    )


EXISTING_MINUTES = np.array([[5.0, 1.0], [60.0, 1.0], [60.0, 1.0], [60.0, 1.0]])
SERVICES = np.array([5.0, 10.0, 30.0])  # minutes from A, B, C to the nearest school


def _scores(**kw: object) -> pd.DataFrame:
    args: dict[str, object] = dict(
        settings=SitingSettings(max_minutes=30.0),
        existing=_existing(),
        existing_minutes=EXISTING_MINUTES,
        services_minutes=SERVICES,
    )
    args.update(kw)
    return score_candidates(_candidates(), _demand(), MINUTES, **args).set_index("candidate_id")


def test_scores_hand_computed() -> None:
    s = _scores()
    # re-homing: A reaches far children d0, d1 (d2 at 35 min) -> 2, places 2 -> 2.
    # B as small home reaches d1, d2 -> 2 but 1 place -> 1; B as care-leaver unit reaches d3 -> 1.
    assert s.loc["A", "rehoming_reachable"] == 2 and s.loc["A", "rehoming_children"] == 2
    assert s.loc["B", "rehoming_reachable"] == 2 and s.loc["B", "rehoming_children"] == 1
    # coverage gain: d0 is already within 30 min of E; A adds d1 -> 1; B (small home) d1, d2 -> 2
    assert s.loc["A", "coverage_gain"] == 1 and s.loc["B", "coverage_gain"] == 2
    assert s.loc["C", "coverage_gain"] == 2  # raw values are reported for ineligible ones too
    assert list(s["homes_nearby"]) == [1, 0, 1]
    assert list(s["access_minutes"]) == [5.0, 10.0, 30.0]
    # normalised over eligible options (A small, B small, B care-leaver)
    assert s.loc["A", "rehoming_norm"] == 1.0 and s.loc["B", "rehoming_norm"] == 0.5
    assert s.loc["A", "coverage_norm"] == 0.5 and s.loc["B", "coverage_norm"] == 1.0
    assert s.loc["A", "access_norm"] == pytest.approx(0.75)  # 1 - 5/20
    assert s.loc["B", "access_norm"] == pytest.approx(0.5)
    assert s.loc["A", "clustering_norm"] == pytest.approx(1 / 3)
    # totals with weights .5 / .25 / .1 / .15:
    # A = .5*1 + .25*.5 + .1*.75 + .15*(1 - 1/3) = 0.8
    # B small home = .5*.5 + .25*1 + .1*.5 + .15*1 = 0.7 (care-leaver unit: 0.575)
    assert s.loc["A", "total"] == pytest.approx(0.8)
    assert s.loc["B", "total"] == pytest.approx(0.7)
    assert s.loc["B", "use"] == "small_home" and s.loc["B", "places"] == 1
    assert s.loc["B", "eligible_uses"] == "small_home;care_leaver_unit"
    assert s.loc["A", "rank"] == 1 and s.loc["B", "rank"] == 2 and pd.isna(s.loc["C", "rank"])
    assert math.isnan(s.loc["C", "total"])


def test_scores_weights_and_missing_layers() -> None:
    # no services layer, no existing sites: only re-homing and coverage, renormalised
    s = _scores(existing=None, existing_minutes=None, services_minutes=None)
    # without E, d0 counts for coverage: A covers d0, d1 -> 2; B small d1, d2 -> 2; B cl d3 -> 1
    assert s.loc["A", "coverage_gain"] == 2
    assert np.isnan(s.loc["A", "access_norm"]) and np.isnan(s.loc["A", "clustering_norm"])
    # A = (.5*1 + .25*1) / .75 = 1; B small = (.5*.5 + .25*1) / .75 = 2/3
    assert s.loc["A", "total"] == pytest.approx(1.0)
    assert s.loc["B", "total"] == pytest.approx(2 / 3)
    only_cov = _scores(
        settings=SitingSettings(
            weight_rehoming=0, weight_coverage=1, weight_access=0, weight_clustering=0
        )
    )
    assert only_cov.loc["B", "total"] == pytest.approx(1.0)
    assert only_cov.loc["A", "total"] == pytest.approx(0.5)


def test_far_rule_changes_rehoming() -> None:
    # d2 is far only because she is outside the council; with far_rule over_20_miles she is not
    s = _scores(settings=SitingSettings(far_rule="over_20_miles"))
    assert s.loc["B", "rehoming_reachable"] == 1  # only d1 (d2 no longer far)


def test_eligibility_reasons() -> None:
    s = _scores()
    assert not s.loc["C", "eligible"]
    assert "small_home needs 2-3 bedrooms (has 5)" in s.loc["C", "ineligible_reason"]
    assert s.loc["A", "ineligible_reason"] == ""
    cands = _candidates().assign(
        condition=["good", "Poor", "good"],
        cost=[100_000, 50_000, 10],
        tenure=["freehold", "freehold", "leasehold"],
        available_from=["2026-01-01", None, "2027-06-01"],
    )
    settings = SitingSettings(
        excluded_conditions=("poor",),
        max_cost=80_000,
        allowed_tenures=("freehold",),
        available_by="2026-12-31",
    )
    out = score_candidates(cands, _demand(), MINUTES, settings=settings).set_index("candidate_id")
    assert not out["eligible"].any()
    assert "cost 100,000 above max_cost 80,000" in out.loc["A", "ineligible_reason"]
    assert "condition 'Poor' is excluded" in out.loc["B", "ineligible_reason"]
    reason_c = out.loc["C", "ineligible_reason"]
    assert "tenure 'leasehold' not allowed" in reason_c
    assert "available from 2027-06-01, after 2026-12-31" in reason_c
    assert "bedrooms" in reason_c
    assert out["rank"].isna().all()


def test_exclusion_zones_with_buffers() -> None:
    # a flood zone square 50 m east of B (B at 5000, 0), and a zone around nothing
    zones = gpd.GeoDataFrame(
        {"name": ["Flood zone 3", "Far away"], "buffer_m": [0.0, 0.0]},
        geometry=[shapely.box(5050, -100, 5200, 100), shapely.box(90000, 0, 91000, 1000)],
        crs="EPSG:27700",
    )
    s = _scores(exclusion_zones=zones)
    assert s.loc["B", "eligible"]  # 50 m outside, no buffer
    zones["buffer_m"] = [100.0, 0.0]
    s = _scores(exclusion_zones=zones)
    assert not s.loc["B", "eligible"]
    assert s.loc["B", "ineligible_reason"] == "in exclusion zone 'Flood zone 3' (+100 m)"
    # the global buffer adds to each zone's own; zones in WGS84 are reprojected
    s = _scores(
        exclusion_zones=zones.assign(buffer_m=0.0).to_crs("EPSG:4326"),
        settings=SitingSettings(exclusion_buffer_m=60.0),
    )
    assert "Flood zone 3" in s.loc["B", "ineligible_reason"]
    # with B excluded, A is the only eligible candidate and normalisation is over A alone
    assert s.loc["A", "rehoming_norm"] == 1.0 and s.loc["A", "coverage_norm"] == 1.0


def test_bad_inputs_raise_helpful_errors() -> None:
    with pytest.raises(InputFileError, match="unknown use"):
        score_candidates(_candidates().assign(uses=["castle", "", ""]), _demand(), MINUTES)
    with pytest.raises(InputFileError, match="lacks column"):
        score_candidates(_candidates().drop(columns="bedrooms"), _demand(), MINUTES)
    with pytest.raises(InputFileError, match="unique"):
        score_candidates(_candidates().assign(candidate_id=["A", "A", "C"]), _demand(), MINUTES)
    with pytest.raises(InputFileError, match="shape"):
        score_candidates(_candidates(), _demand(), MINUTES[:, :2])


def test_inputs_not_modified() -> None:
    cands, dem, ex = _candidates(), _demand(), _existing()
    before = (cands.copy(), dem.copy(), ex.copy(), MINUTES.copy())
    score_candidates(cands, dem, MINUTES, existing=ex, existing_minutes=EXISTING_MINUTES)
    select_sites(cands, dem, MINUTES, existing=ex, existing_minutes=EXISTING_MINUTES, k=1)
    pd.testing.assert_frame_equal(cands, before[0])
    pd.testing.assert_frame_equal(dem, before[1])
    pd.testing.assert_frame_equal(ex, before[2])
    np.testing.assert_array_equal(MINUTES, before[3])


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


def test_default_rules_from_toml() -> None:
    s = SitingSettings()
    assert set(s.rules) == {
        "small_home",
        "care_leaver_unit",
        "supported_accommodation",
        "short_breaks",
        "lease_to_provider",
    }
    assert s.uses == tuple(s.rules)  # every shipped use is considered by default
    small = s.rules["small_home"]
    assert [small.places(b) for b in (1, 2, 3, 4)] == [0, 1, 2, 2]  # min(2, bedrooms - 1)
    assert s.rules["care_leaver_unit"].places(4) == 4  # places = bedrooms
    assert (
        s.rules["supported_accommodation"].min_age,
        s.rules["supported_accommodation"].max_age,
    ) == (16, 18)


def test_settings_from_dict_maps_toml_table() -> None:
    table = tomllib.loads(
        """
        [siting]
        max_minutes = 45
        weight_access = 0
        excluded_conditions = ["poor", "derelict"]
        available_by = 2026-09-01
        [siting.rules.small_home]
        max_bedrooms = 4
        [siting.rules.short_breaks]
        min_bedrooms = 3
        max_places = 3
        serves_needs = ["childrens_home"]
        [siting.rules.foster_hub]
        max_places = 3
        """
    )["siting"]
    s = settings_from_dict(table)
    assert s.max_minutes == 45.0 and isinstance(s.max_minutes, float)
    assert s.excluded_conditions == ("poor", "derelict")
    assert s.available_by == "2026-09-01"
    assert s.rules["small_home"].max_bedrooms == 4
    assert s.rules["small_home"].staff_bedrooms == 1  # untouched fields keep the defaults
    assert s.rules["short_breaks"] == dataclasses.replace(
        SitingSettings().rules["short_breaks"],
        min_bedrooms=3,
        max_places=3,
        serves_needs=("childrens_home",),
    )
    # a new use: the fields it omits take the EligibilityRules defaults, and it is considered
    assert s.rules["foster_hub"] == EligibilityRules(max_places=3)
    assert "foster_hub" in s.uses
    assert settings_from_dict(None) == SitingSettings()


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"max_minute": 30}, "unknown key 'max_minute' in \\[siting\\]"),
        (
            {"rules": {"small_home": {"bedroomz": 2}}},
            "unknown key 'bedroomz' in \\[siting.rules.small_home\\]",
        ),
        ({"k": 2.5}, "'\\[siting\\] k' must be a whole number"),
        ({"capacitated": "yes"}, "must be true or false"),
        ({"far_rule": "sometimes"}, "far_rule"),
        ({"weight_rehoming": -1}, "non-negative"),
        ({"uses": ["small_home", "castle"]}, "without eligibility rules: castle"),
        ({"rules": {"small_home": {"min_bedrooms": 4}}}, "Bedroom range 4-3"),
        ({"available_by": "soon"}, "not a date"),
    ],
)
def test_settings_errors_name_the_key(table: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        settings_from_dict(table, origin="scenario.toml")


# ---------------------------------------------------------------------------------------------
# Optimiser core
# ---------------------------------------------------------------------------------------------

# Greedy trap: A covers d0 + d1 (7), B covers d2 + d3 (7), C covers d0 + d2 (8).
# Greedy takes C first (8) then adds 3 -> 11; the optimum for k = 2 is A + B = 14.
TRAP = np.array([[10, INF, 10], [10, INF, INF], [INF, 10, 10], [INF, 10, INF]], dtype=float)
TRAP_W = np.array([4.0, 3.0, 4.0, 3.0])


def test_optimum_beats_greedy_on_constructed_case() -> None:
    s = from_cost_matrix(TRAP, max_minutes=15, k=2, weights=TRAP_W)
    assert s.status == "Optimal" and s.mip_gap == 0.0
    assert sorted(s.chosen.tolist()) == [0, 1]
    assert s.objective == 14.0 and s.bound == pytest.approx(14.0)
    assert s.greedy_chosen.tolist() == [2, 0]
    assert s.greedy_objective == 11.0
    assert s.greedy_gap == pytest.approx(3 / 14)
    assert s.addition_gain.tolist() == [7.0, 7.0]
    assert s.marginal_gain.tolist() == [7.0, 7.0]
    assert s.assignment.tolist() == [0, 0, 1, 1]
    # the same under capacities that do not bind (capacitated model, same optimum)
    c = from_cost_matrix(TRAP, max_minutes=15, k=2, weights=TRAP_W, capacities=[10, 10, 10])
    assert c.objective == 14.0 and c.greedy_objective == 11.0


def test_capacity_respected() -> None:
    # each child weight 1; C reaches all 4 children but has 2 places; A and B 1 place each
    cost = np.array([[5, INF, 5], [5, INF, 6], [INF, 5, 7], [INF, 5, 8]], dtype=float)
    caps = np.array([1.0, 1.0, 2.0])
    s = from_cost_matrix(cost, max_minutes=10, k=1, capacities=caps)
    assert s.chosen.tolist() == [2] and s.objective == 2.0
    # MCLP (uncapacitated) would count all 4
    assert (
        from_cost_matrix(cost, max_minutes=10, k=1, capacities=caps, capacitated=False).objective
        == 4.0
    )
    s2 = from_cost_matrix(cost, max_minutes=10, k=2, capacities=caps)
    assert s2.objective == 3.0
    load = s2.site_load
    assert np.all(load <= caps + 1e-9)
    alloc = s2.allocation.toarray()
    assert np.all(alloc.sum(axis=1) <= 1 + 1e-9)  # each child at most once
    assert np.allclose(alloc.sum(axis=0), load)
    assert np.all(alloc[np.isinf(cost)] == 0)  # only within reach
    assert (s2.assignment >= 0).sum() == 3
    # capacity 2 at C and k = 3 (everything open): all 4 children
    assert from_cost_matrix(cost, max_minutes=10, k=3, capacities=caps).objective == 4.0


def test_fixed_sites_respected() -> None:
    # column 0 is an existing site (fixed): always open, not counted in k
    s = from_cost_matrix(TRAP, max_minutes=15, k=1, weights=TRAP_W, fixed=[True, False, False])
    assert s.fixed_objective == 7.0
    assert s.chosen.tolist() == [1]  # B adds d2 + d3 = 7 (C would add only d2 = 4)
    assert s.objective == 14.0
    assert s.k == 1
    # capacitated with an existing site that has 1 vacancy: it still serves one child
    cost = np.array([[5, 5], [5, 5], [5, INF]], dtype=float)
    c = from_cost_matrix(cost, max_minutes=10, k=1, capacities=[1, 1], fixed=[True, False])
    assert c.fixed_objective == 1.0 and c.objective == 2.0
    assert c.site_load[0] == 1.0


def test_exclusive_columns_and_target() -> None:
    # columns 1 and 2 are the same building (two uses): at most one of them opens
    s = from_cost_matrix(TRAP, max_minutes=15, k=2, weights=TRAP_W, exclusive=[-1, 7, 7])
    assert s.objective == 14.0
    s = from_cost_matrix(TRAP, max_minutes=15, k=2, weights=TRAP_W, exclusive=[7, -1, 7])
    assert sorted(s.chosen.tolist()) == [0, 1]
    s = from_cost_matrix(TRAP, max_minutes=15, k=2, weights=TRAP_W, exclusive=[7, 7, -1])
    assert s.objective == 11.0 and 2 in s.chosen  # C + one of A/B
    # fewest sites reaching a target
    t = from_cost_matrix(TRAP, max_minutes=15, target=8, weights=TRAP_W)
    assert t.k == 1 and t.chosen.tolist() == [2]
    t = from_cost_matrix(TRAP, max_minutes=15, target=12, weights=TRAP_W)
    assert t.k == 2 and t.objective == 14.0
    with pytest.raises(ConfigError, match="cannot be reached"):
        from_cost_matrix(TRAP, max_minutes=15, target=15, weights=TRAP_W)
    with pytest.raises(ConfigError, match="exactly one"):
        from_cost_matrix(TRAP, max_minutes=15)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_objective_equals_spopt_mclp(seed: int) -> None:
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, 20000, (80, 2))
    sites_xy = rng.uniform(0, 20000, (20, 2))
    cost = straight_line_minutes(demand_xy, sites_xy)
    w = rng.integers(1, 5, 80).astype(float)
    radius, p = 8.0, 4
    mine = from_cost_matrix(cost, max_minutes=radius, k=p, weights=w)
    model = locate.MCLP.from_cost_matrix(cost, w, service_radius=radius, p_facilities=p)
    model = model.solve(pulp.HiGHS(msg=False, gapRel=0))
    theirs = pulp.value(model.problem.objective)
    assert mine.status == "Optimal"
    assert mine.objective == pytest.approx(theirs)
    # and it is the coverage of the chosen columns, recomputed independently
    covered = (cost[:, mine.chosen] <= radius).any(axis=1)
    assert mine.objective == pytest.approx(w[covered].sum())
    assert mine.greedy_objective <= mine.objective


def test_from_geodataframe_straight_line() -> None:
    demand = gpd.GeoDataFrame(
        {"w": [1.0, 2.0, 3.0]},
        geometry=gpd.points_from_xy([0, 10000, 20000], [0, 0, 0]),
        crs="EPSG:27700",
    )
    sites = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([0, 20000], [1000, 1000]),
        crs="EPSG:27700",
        index=["west", "east"],
    )
    # 40 km/h: 10 km = 15 min; with 5 minutes only the nearby demand counts
    s = from_geodataframe(demand.to_crs("EPSG:4326"), sites, max_minutes=5, k=1, weight_col="w")
    assert s.chosen_ids == ("east",) and s.objective == pytest.approx(3.0)
    assert straight_line_minutes([[0, 0]], [[10000, 0]])[0, 0] == pytest.approx(15.0)


# ---------------------------------------------------------------------------------------------
# Wrappers: select_sites and scenario table on the hand-made case
# ---------------------------------------------------------------------------------------------


def test_select_sites_and_scenario_table() -> None:
    settings = SitingSettings(max_minutes=30.0)
    kw = dict(settings=settings, existing=_existing(), existing_minutes=EXISTING_MINUTES)
    sel = select_sites(_candidates(), _demand(), MINUTES, k=1, **kw)
    # A as a small home takes d0 and d1 (2 places); B could re-home only 1; C is ineligible
    assert sel.chosen_ids == ("A",)
    assert sel.objective == 2.0 and sel.fixed_objective == 0.0  # E has no vacancies
    row = sel.sites.iloc[0]
    assert (row["use"], row["places"], row["children_assigned"]) == ("small_home", 2, 2.0)
    assert sel.assignment[2] == -1 and sel.assignment[3] == -1
    table = scenario_table(_demand(), sel, candidates=_candidates(), demand_minutes=MINUTES, **kw)
    t = table.set_index("indicator")
    # <= 20 miles: before d2 only; after d0 moves to A (10 km = 6.2 miles), d1 stays over (40 km)
    ba = ["before", "after_new_sites", "after_with_spare_places"]
    assert tuple(t.loc["Placed 20 miles or less from home", ba]) == (1.0, 2.0, 2.0)
    # inside the council: before d0 + d3; after d1 comes inside too
    assert tuple(t.loc["Placed inside the council", ba]) == (2.0, 3.0, 3.0)
    assert tuple(t.loc["Home within 30 min of a suitable site", ba]) == (1.0, 2.0, 2.0)
    assert t.loc["Places in new sites", "after_new_sites"] == 2.0
    come_home = "Placed far who could come home within 30 min (within places)"
    assert t.loc[come_home, "change_new_sites"] == 2.0
    assert dfe_miles(40000.0) == 24.9

    # k = 2: B adds one more child whichever use it takes; each building opens for one use
    sel2 = select_sites(_candidates(), _demand(), MINUTES, k=2, **kw)
    assert sel2.objective == 3.0 and set(sel2.chosen_ids) == {"A", "B"}
    assert sel2.status == "Optimal"
    # an existing site with a vacancy is kept open and counts in the before value
    ex = _existing().assign(vacancies=[1, 0])
    sel3 = select_sites(
        _candidates(),
        _demand(),
        MINUTES,
        k=1,
        settings=settings,
        existing=ex,
        existing_minutes=EXISTING_MINUTES,
    )
    assert sel3.fixed_objective == 1.0  # d0 into E's vacancy
    assert sel3.objective == 2.0  # any one new site then re-homes one more child


def test_before_after_separates_the_new_sites_from_todays_spare_places() -> None:
    """One new place, two spare places in an existing home: the new site moves one child.

    Three children placed far (over 20 miles and outside the council), homes 10 km (6.2 miles)
    from both the candidate (a 2-bedroom small home: 1 place) and an existing children's home
    inside the council with 2 vacancies, 10 minutes from each. The joint allocation re-homes all
    three (1 into the new place, 2 into the spare places): reporting that as the effect of the
    new site (+3 inside the council for 1 place) was the overstatement of issue #12.
    """
    cands = pd.DataFrame(
        {"candidate_id": ["N"], "easting": [0.0], "northing": [0.0], "bedrooms": [2]}
    ).assign(uses=["small_home"])
    demand = pd.DataFrame(
        {
            "need": ["childrens_home"] * 3,
            "age": [14, 15, 13],
            "over_20_miles": [True, True, True],
            "outside_la": [True, True, True],
            "easting": [0.0, 0.0, 0.0],
            "northing": [10000.0, 10000.0, 10000.0],
        }
    )
    existing = pd.DataFrame(
        {
            "site_type": ["childrens_home"],
            "vacancies": [2],
            "easting": [0.0],
            "northing": [500.0],
        }
    )
    kw = dict(
        settings=SitingSettings(max_minutes=30.0),
        existing=existing,
        existing_minutes=np.full((3, 1), 10.0),
    )
    minutes = np.full((3, 1), 10.0)
    sel = select_sites(cands, demand, minutes, k=1, **kw)
    assert sel.chosen_ids == ("N",) and sel.objective == 3.0 and sel.fixed_objective == 2.0
    # the new site alone: one child, once, into its one place
    assert sel.new_allocation is not None
    assert sel.new_allocation.sum() == 1.0 and sel.new_allocation.sum(axis=1).max() == 1.0
    effects = {
        e.indicator: e
        for e in scenario_effects(demand, sel, candidates=cands, demand_minutes=minutes, **kw)
    }
    places = effects["Places in new sites"].after_new_sites_only
    assert places == 1.0
    inside = effects["Placed inside the council"]
    assert (inside.before, inside.after_new_sites_only, inside.after_with_spare_places) == (
        0.0,
        1.0,
        3.0,
    )
    near = effects["Placed 20 miles or less from home"]
    assert (near.change_new_sites, near.change_with_spare_places) == (1.0, 3.0)
    # "could come home": 2 into today's spare places, 3 with the new site (+1 = its place)
    home = effects["Placed far who could come home within 30 min (within places)"]
    assert (home.before, home.after_new_sites_only, home.change_new_sites) == (2.0, 3.0, 1.0)
    t = scenario_table(demand, sel, candidates=cands, demand_minutes=minutes, **kw)
    assert list(t.columns) == list(SCENARIO_COLUMNS)
    row = t.set_index("indicator").loc["Placed inside the council"]
    assert (row["change_new_sites"], row["change_with_spare_places"]) == (1.0, 3.0)


def _assert_new_sites_change_within_places(res) -> None:
    """The effect of the new sites alone never exceeds the places they add (issue #12)."""
    t = res.scenario_comparison.set_index("indicator")
    places = float(t.loc["Places in new sites", "after_new_sites"])
    assert places > 0
    placed = [i for i in t.index if i == "Placed inside the council" or "miles or less" in i]
    assert len(placed) == 2
    for label in [*placed, next(i for i in t.index if i.startswith("Placed far who could"))]:
        assert 0 <= t.loc[label, "change_new_sites"] <= places, label
        assert t.loc[label, "change_new_sites"] <= t.loc[label, "change_with_spare_places"]
    # the new-sites-only allocation: each child at most once, each new site at most its places,
    # nothing into existing sites
    sel = res.selection
    na = sel.new_allocation.tocsc()
    assert na.sum(axis=1).max() <= 1.0 + 1e-9
    cols = sel.sites.attrs["columns"]
    load = np.asarray(na.sum(axis=0)).reshape(-1)
    assert (load <= cols["places"].to_numpy(float) + 1e-9).all()
    closed = np.ones(load.size, bool)
    closed[sel.chosen] = False
    assert (load[closed] == 0).all()
    assert load.sum() <= places
    # the published table keeps the two effects apart, as the ledger publishes them
    from geosuff.publication import ledger as publish

    pub = publish.build(res)
    assert list(pub.scenario.columns) == list(SCENARIO_COLUMNS)
    row = pub.scenario.set_index("indicator").loc["Placed inside the council"]
    if row["change_new_sites"] != "c":
        assert int(row["change_new_sites"]) <= places


def test_demo_new_sites_change_at_most_their_places(demo_results) -> None:
    _assert_new_sites_change_within_places(demo_results)


def test_durham_new_sites_change_at_most_their_places(tmp_path) -> None:
    """SYNTHETIC County Durham (travel = "estimate"), 120 children."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    syn = synthesise("E06000047", tmp_path / "in", seed=7, n_children=120)
    res = run(load_config(syn.config), write=False)
    _assert_new_sites_change_within_places(res)


def test_ties_at_the_optimum_go_to_the_better_scored_property() -> None:
    # two far children each reachable by X or Y alone (equal coverage); X and Y tie at the optimum
    cost = np.array([[10.0, 10.0, 50.0], [12.0, 12.0, 50.0]])
    base = dict(max_minutes=30.0, k=1, capacities=np.array([2.0, 2.0, 2.0]))
    plain = from_cost_matrix(cost, **base)
    assert plain.objective == 2.0
    for better in (0, 1):
        prefer = np.array([0.2, 0.2, 0.9])
        prefer[better] = 0.8
        sel = from_cost_matrix(cost, prefer=prefer, **base)
        assert sel.objective == 2.0 and list(sel.chosen) == [better]
    # a preferred column that covers less is never taken: the optimum comes first
    sel = from_cost_matrix(cost, prefer=np.array([0.1, 0.2, 1.0]), **base)
    assert list(sel.chosen) == [1] and sel.objective == 2.0


def test_coverage_gain_counts_areas_without_a_site_of_the_same_kind() -> None:
    """A foster cluster next door does not make a small children's home redundant: coverage gain
    counts population not yet within reach of an existing site of a kind that serves the use."""
    cands = pd.DataFrame(
        {
            "candidate_id": ["A"],
            "easting": [0.0],
            "northing": [0.0],
            "bedrooms": [3],
            "uses": ["small_home"],
        }
    )
    demand = pd.DataFrame(
        {"need": ["childrens_home"], "over_20_miles": [True], "easting": [0.0], "northing": [0.0]}
    )
    existing = pd.DataFrame(
        {
            "site_type": ["foster_cluster", "childrens_home"],
            "easting": [0.0, 0.0],
            "northing": [0.0, 0.0],
        }
    )
    pop = pd.DataFrame({"weight": [100.0, 50.0]})
    pop_minutes = np.array([[5.0], [5.0]])
    # both areas are 2 min from the foster cluster; only the second is near the children's home
    pop_existing = np.array([[2.0, 90.0], [2.0, 10.0]])
    s = score_candidates(
        cands,
        demand,
        np.array([[5.0]]),
        settings=SitingSettings(max_minutes=30.0),
        existing=existing,
        existing_minutes=np.array([[2.0, 10.0]]),
        population=pop,
        population_minutes=pop_minutes,
        population_existing_minutes=pop_existing,
    )
    assert s["coverage_gain"].iloc[0] == 100.0


def test_tied_scores_share_a_rank_and_the_next_rank_follows_on() -> None:
    """Issue #18.9: ties ranked 1, 1, 2 (dense), not 1, 1, 3 - D is A again, at the same spot."""
    cands = pd.concat(
        [_candidates(), _candidates().iloc[[0]].assign(candidate_id="D")], ignore_index=True
    )
    minutes = np.column_stack([MINUTES, MINUTES[:, 0]])
    s = score_candidates(
        cands,
        _demand(),
        minutes,
        settings=SitingSettings(max_minutes=30.0),
        existing=_existing(),
        existing_minutes=EXISTING_MINUTES,
        services_minutes=np.array([5.0, 10.0, 30.0, 5.0]),
    ).set_index("candidate_id")
    assert s.loc["A", "total"] == pytest.approx(s.loc["D", "total"])
    assert s.loc["A", "rank"] == s.loc["D", "rank"] == 1
    assert s.loc["B", "rank"] == 2 and pd.isna(s.loc["C", "rank"])
