"""Tests for geosuff.siting.joint: several councils choosing properties together.

The matrices are small and hand-made (or seeded random, synthetic); optima are worked out in the
docstrings or checked against an independent brute force (every k-subset, assignment by
``scipy.optimize.linear_sum_assignment``), not against HiGHS itself.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from geosuff._errors import ConfigError, InputFileError
from geosuff.config.siting import SitingSettings
from geosuff.siting import from_cost_matrix, select_sites
from geosuff.siting.joint import (
    JOINT_COUNCIL_COLUMNS,
    JOINT_SITING_COLUMNS,
    JOINT_SITING_LONG_COLUMNS,
    REGION_TABLES,
    CouncilSiting,
    joint_council_summary,
    joint_from_cost_matrix,
    joint_siting_long,
    joint_siting_table,
    select_joint,
)

# ---------------------------------------------------------------------------------------------
# The hand-made region: councils A (0) and B (1), 4 children x 3 candidates + 1 existing site
# ---------------------------------------------------------------------------------------------

#: minutes from homes d0, d1 (council A) and d2, d3 (council B) to a0 (owned by A), b0 (owned by
#: B, near the border) and b1 (owned by B); within 30 minutes: a0 -> d0; b0 -> d0, d1, d2;
#: b1 -> d3.
COST = np.array(
    [
        [10.0, 20.0, 90.0],
        [90.0, 25.0, 90.0],
        [80.0, 20.0, 90.0],
        [90.0, 90.0, 28.0],
    ]
)
CAND_COUNCIL = np.array([0, 1, 1])
DEM_COUNCIL = np.array([0, 0, 1, 1])
PLACES = np.array([2.0, 3.0, 1.0])
#: existing site e0 in A, 1 spare place, within reach of d0 only
EX_COST = np.array([[5.0], [90.0], [90.0], [90.0]])
EX_PLACES = np.array([1.0])


def _hand(k: int) -> object:
    return joint_from_cost_matrix(
        COST,
        max_minutes=30,
        k=k,
        candidate_council=CAND_COUNCIL,
        demand_council=DEM_COUNCIL,
        capacities=PLACES,
        existing_minutes=EX_COST,
        existing_places=EX_PLACES,
    )


def test_hand_matrix_known_optimum() -> None:
    """Today e0's spare place takes d0 (before: A 1, B 0).

    k = 2, every pair: {b0, b1} brings home d1, d2 (b0) and d3 (b1): gain 3; {a0, b0}: d1, d2:
    gain 2 (a0 reaches only d0, who already has e0's place); {a0, b1}: d3: gain 1. Optimum
    {b0, b1}, gain 3, b0 first (gain 2: one child of A, d1, and one of B, d2) then b1 (gain 1:
    d3 of B). After: A 2, B 2.

    With the new sites alone (e0 left as it is), b0 takes d0, d1, d2 (3 places: A 2, B 1) and b1
    takes d3 (B 1): 4 children, the 4 places added; that is more than the gain (3), because d0
    could have had e0's place anyway.

    k = 1: b0 alone (gain 2) beats b1 (1) and a0 (0).
    """
    j = _hand(2)
    assert j.chosen.tolist() == [1, 2]
    assert j.owner.tolist() == [1, 1]
    assert j.gain == 3.0 and j.objective == 4.0
    assert j.addition_gain.tolist() == [2.0, 1.0]
    assert j.gain_by_council.tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert j.before_by_council.tolist() == [1.0, 0.0]
    assert j.after_by_council.tolist() == [2.0, 2.0]
    assert j.new_sites_serve.tolist() == [[2.0, 1.0], [0.0, 1.0]]
    assert j.new_sites_effect.tolist() == [2.0, 2.0]
    assert j.places.tolist() == [3.0, 1.0]
    # leave-one-out: without b0 only d3 comes home (lose 2), without b1 lose d3
    assert j.marginal_gain.tolist() == [2.0, 1.0]
    one = _hand(1)
    assert one.chosen.tolist() == [1] and one.gain == 2.0
    assert one.gain_by_council.tolist() == [[1.0, 1.0]]
    # the table of the array core: ids are the candidate columns, councils their numbers
    t = joint_siting_table(j)
    assert t["candidate_id"].tolist() == ["1", "2"] and t["council"].tolist() == ["1", "1"]
    assert t[["gain_0", "gain_1"]].to_numpy().tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert t["new_sites_serve"].tolist() == [3.0, 1.0]
    assert (t["new_sites_serve"] <= t["places"]).all()


def test_hand_matrix_highs_certificate() -> None:
    """HiGHS proves the joint optimum: status Optimal, gap 0, dual bound = objective."""
    j = _hand(2)
    assert j.optimal and j.selection.status == "Optimal"
    assert j.selection.mip_gap == 0.0
    assert j.selection.bound == pytest.approx(j.objective)
    assert j.selection.fixed_objective == 1.0


def test_pooling_beats_separate_selections() -> None:
    """Each council alone, with the same k = 2 shared out every way.

    A alone (d0, d1; candidate a0; e0): e0 takes d0, a0 reaches only d0: gain 0 whatever its k.
    B alone (d2, d3; b0, b1; no existing site): b0 reaches only d2 of B's children, b1 d3: gain
    1 with k_B = 1, 2 with k_B = 2. Best split: k_A = 0, k_B = 2, gain 2. Together b0, across
    the border from A's d1, also brings d1 home: gain 3.
    """
    joint = _hand(2)
    best_separate = -1.0
    for k_a in range(3):
        total = 0.0
        for council, k_c in ((0, k_a), (1, 2 - k_a)):
            rows = DEM_COUNCIL == council
            cols = CAND_COUNCIL == council
            ex = np.zeros((rows.sum(), 0)) if council else EX_COST[rows]
            cost = np.hstack([COST[np.ix_(rows, cols)], ex])
            n_c = int(cols.sum())
            s = from_cost_matrix(
                cost,
                max_minutes=30,
                k=min(k_c, n_c),
                capacities=np.concatenate([PLACES[cols], EX_PLACES[: ex.shape[1]]]),
                fixed=np.arange(cost.shape[1]) >= n_c,
            )
            total += s.objective - s.fixed_objective
        best_separate = max(best_separate, total)
    assert best_separate == 2.0
    assert joint.gain == 3.0 > best_separate


def _brute_force(
    cost: np.ndarray,
    caps: np.ndarray,
    fixed: np.ndarray,
    k: int,
    max_minutes: float,
) -> float:
    """Best number of children (weight 1) within reach of a place, over every k-subset of the
    free columns (fixed ones open): each open column's places as slots, maximum assignment."""
    free = np.flatnonzero(~fixed)
    best = 0.0
    for subset in itertools.combinations(free.tolist(), min(k, free.size)):
        cols = np.concatenate([np.flatnonzero(fixed), subset]).astype(int)
        slots = np.concatenate([np.full(int(caps[c]), c) for c in cols]).astype(int)
        if slots.size == 0:
            continue
        reach = (cost[:, slots] <= max_minutes).astype(float)
        r, c = linear_sum_assignment(-reach)
        best = max(best, float(reach[r, c].sum()))
    return best


def _random_region(seed: int, n_dem: int = 9, n_cand: int = 6, n_ex: int = 2) -> dict[str, object]:
    """A synthetic region of 3 councils: points on a line, minutes = distance, small places."""
    rng = np.random.default_rng(seed)
    dem_x = rng.uniform(0, 90, n_dem)
    cand_x = rng.uniform(0, 90, n_cand)
    ex_x = rng.uniform(0, 90, n_ex)
    return {
        "cost_minutes": np.abs(dem_x[:, None] - cand_x[None, :]),
        "existing_minutes": np.abs(dem_x[:, None] - ex_x[None, :]),
        "demand_council": (dem_x // 30).astype(np.int64),
        "candidate_council": (cand_x // 30).astype(np.int64),
        "capacities": rng.integers(1, 4, n_cand).astype(float),
        "existing_places": rng.integers(0, 2, n_ex).astype(float),
        "n_councils": 3,
        # not an argument of the core (existing sites are the region's): for separate runs
        "existing_council": (ex_x // 30).astype(np.int64),
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_regions_optimal_against_brute_force(seed: int) -> None:
    """On synthetic regions the joint optimum equals an independent brute force, HiGHS proves it,
    the split by council sums to the gains, and every site holds at most its places."""
    reg = _random_region(seed)
    reg.pop("existing_council")
    k = 2
    j = joint_from_cost_matrix(max_minutes=12, k=k, **reg)  # type: ignore[arg-type]
    cost = np.hstack([reg["cost_minutes"], reg["existing_minutes"]])  # type: ignore[list-item]
    caps = np.concatenate([reg["capacities"], reg["existing_places"]])  # type: ignore[list-item]
    fixed = np.arange(cost.shape[1]) >= 6
    assert j.objective == _brute_force(cost, caps, fixed, k, 12)
    assert j.selection.fixed_objective == _brute_force(cost, caps, fixed, 0, 12)
    assert j.optimal and j.selection.mip_gap == 0.0
    assert j.selection.bound == pytest.approx(j.objective)
    # the split: never negative, rows sum to each property's gain, all to the total gain
    assert np.all(j.gain_by_council >= 0)
    assert np.allclose(j.gain_by_council.sum(axis=1), j.addition_gain)
    assert j.gain_by_council.sum() == pytest.approx(j.gain)
    assert j.gain == pytest.approx(j.objective - j.selection.fixed_objective)
    assert np.allclose(j.after_by_council - j.before_by_council, j.gain_by_council.sum(axis=0))
    assert j.before_by_council.sum() == pytest.approx(j.selection.fixed_objective)
    assert j.after_by_council.sum() == pytest.approx(j.objective)
    # no council gets more children home than it has
    dem_n = np.bincount(reg["demand_council"], minlength=3)  # type: ignore[call-overload]
    assert np.all(j.after_by_council <= dem_n)
    # capacity: each site at most its places, in the joint allocation and with the new sites alone
    assert np.all(j.selection.site_load <= caps + 1e-9)
    assert np.all(j.new_sites_serve.sum(axis=1) <= j.places + 1e-9)
    assert j.new_sites_effect.sum() <= j.places.sum() + 1e-9
    assert j.owner.tolist() == np.asarray(reg["candidate_council"])[j.chosen].tolist()


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_joint_at_least_the_best_separate_split(seed: int) -> None:
    """The councils' separate choices together are one joint option (each child served as
    before), so the joint objective is at least the separate ones summed, however k is shared."""
    reg = _random_region(seed, n_dem=10, n_cand=6)
    k = 3
    joint = joint_from_cost_matrix(
        max_minutes=12, k=k, **{a: v for a, v in reg.items() if a != "existing_council"}
    )  # type: ignore[arg-type]
    dc = np.asarray(reg["demand_council"])
    cc = np.asarray(reg["candidate_council"])
    ec = np.asarray(reg["existing_council"])
    best = 0.0
    for split in itertools.product(range(k + 1), repeat=3):
        if sum(split) != k:
            continue
        total = 0.0
        for c, k_c in enumerate(split):
            rows, cols, exc = dc == c, cc == c, ec == c
            cost = np.hstack(
                [
                    np.asarray(reg["cost_minutes"])[np.ix_(rows, cols)],
                    np.asarray(reg["existing_minutes"])[np.ix_(rows, exc)],
                ]
            )
            n_c = int(cols.sum())
            if cost.shape[1] == 0:  # a council with no property and no existing site
                continue
            s = from_cost_matrix(
                cost,
                max_minutes=12,
                k=min(k_c, n_c),
                capacities=np.concatenate(
                    [np.asarray(reg["capacities"])[cols], np.asarray(reg["existing_places"])[exc]]
                ),
                fixed=np.arange(cost.shape[1]) >= n_c,
            )
            total += s.objective
        best = max(best, total)
    assert best > 0
    assert joint.objective >= best - 1e-9


@pytest.mark.parametrize("capacitated", [True, False])
def test_one_council_equals_the_single_council_selection(capacitated: bool) -> None:
    """With every row in one council the joint core is the single-council selection."""
    reg = _random_region(11, n_dem=12, n_cand=7)
    one_d = np.zeros(12, dtype=np.int64)
    one_c = np.zeros(7, dtype=np.int64)
    j = joint_from_cost_matrix(
        max_minutes=12,
        k=3,
        cost_minutes=reg["cost_minutes"],
        existing_minutes=reg["existing_minutes"],
        capacities=reg["capacities"],
        existing_places=reg["existing_places"],
        demand_council=one_d,
        candidate_council=one_c,
        capacitated=capacitated,
    )
    s = from_cost_matrix(
        np.hstack([reg["cost_minutes"], reg["existing_minutes"]]),  # type: ignore[list-item]
        max_minutes=12,
        k=3,
        capacities=np.concatenate([reg["capacities"], reg["existing_places"]]),  # type: ignore[list-item]
        fixed=np.arange(9) >= 7,
        capacitated=capacitated,
    )
    assert j.chosen.tolist() == s.chosen.tolist()
    assert j.objective == s.objective and j.gain == s.objective - s.fixed_objective
    assert j.addition_gain.tolist() == s.addition_gain.tolist()
    assert j.gain_by_council[:, 0] == pytest.approx(s.addition_gain)
    assert j.new_sites_effect[0] == pytest.approx(float(s.new_allocation.sum()))
    assert j.n_councils == 1 and j.councils == ("0",)


def test_uncapacitated_split_counts_newly_covered_children() -> None:
    """MCLP: b0 covers d1 and d2 not covered by e0 (A 1, B 1), then b1 covers d3 (B 1);
    a0 would cover only d0 (already covered by e0)."""
    j = joint_from_cost_matrix(
        COST,
        max_minutes=30,
        k=2,
        candidate_council=CAND_COUNCIL,
        demand_council=DEM_COUNCIL,
        existing_minutes=EX_COST,
    )
    assert not j.selection.capacitated
    assert j.chosen.tolist() == [1, 2]
    assert j.gain_by_council.tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert j.places.tolist() == [np.inf, np.inf]


def test_weights_and_compatibility() -> None:
    """d1 weighs 2 (two children at one home); b0 cannot serve d2 (need not served). Then
    {b0, b1}: b0 takes d1's 2 children (3 places, d0 has e0), b1 d3: gain 3, split b0 (A 2),
    b1 (B 1)."""
    compat = np.ones((4, 4), dtype=bool)
    compat[2, 1] = False
    j = joint_from_cost_matrix(
        COST,
        max_minutes=30,
        k=2,
        candidate_council=CAND_COUNCIL,
        demand_council=DEM_COUNCIL,
        weights=[1.0, 2.0, 1.0, 1.0],
        capacities=PLACES,
        existing_minutes=EX_COST,
        existing_places=EX_PLACES,
        compatible=compat,
    )
    assert j.chosen.tolist() == [1, 2]
    assert j.gain == 3.0
    assert j.gain_by_council.tolist() == [[2.0, 0.0], [0.0, 1.0]]


def test_array_core_errors_say_how_to_fix() -> None:
    with pytest.raises(InputFileError, match="council index"):
        joint_from_cost_matrix(
            COST, max_minutes=30, k=1, candidate_council=[0, 1], demand_council=DEM_COUNCIL
        )
    with pytest.raises(InputFileError, match="council index"):
        joint_from_cost_matrix(
            COST,
            max_minutes=30,
            k=1,
            candidate_council=CAND_COUNCIL,
            demand_council=[0.5, 0, 1, 1],
        )
    with pytest.raises(InputFileError, match="no candidate"):
        joint_from_cost_matrix(
            np.zeros((4, 0)), max_minutes=30, k=1, candidate_council=[], demand_council=DEM_COUNCIL
        )
    with pytest.raises(ConfigError, match="k must be"):
        joint_from_cost_matrix(
            COST, max_minutes=30, k=-1, candidate_council=CAND_COUNCIL, demand_council=DEM_COUNCIL
        )
    with pytest.raises(InputFileError, match="existing_places"):
        joint_from_cost_matrix(
            COST,
            max_minutes=30,
            k=1,
            candidate_council=CAND_COUNCIL,
            demand_council=DEM_COUNCIL,
            existing_minutes=EX_COST,
            existing_places=[1.0, 2.0],
        )


# ---------------------------------------------------------------------------------------------
# The DataFrame wrapper over the per-council tables of the siting stage
# ---------------------------------------------------------------------------------------------


def _council_tables() -> list[CouncilSiting]:
    """Synthetic councils: A (x < 30 km) and B (x >= 30 km) along a road at 1 km/min.

    Small homes: 3 bedrooms -> 2 places, 2 bedrooms -> 1 place. Both councils call a property
    "P1" (ids are per council).
    """
    demand_a = pd.DataFrame(
        {
            "weight": 1.0,
            "over_20_miles": [True, True, False],
            "outside_la": [True, True, False],
            "need": "childrens_home",
            "age": [14, 15, 13],
            "easting": [2000.0, 26000.0, 10000.0],
            "northing": 0.0,
        }
    )
    demand_b = pd.DataFrame(
        {
            "weight": 1.0,
            "over_20_miles": [True, True],
            "outside_la": [False, True],
            "need": "childrens_home",
            "age": [12, 16],
            "easting": [38000.0, 80000.0],
            "northing": 0.0,
        }
    )
    cands_a = pd.DataFrame(
        {
            "candidate_id": ["P1", "P2"],
            "easting": [1000.0, 60000.0],  # P2 owned by A but far away (an out-of-area asset)
            "northing": 0.0,
            "bedrooms": [2, 2],
            "uses": "small_home",
        }
    )
    cands_b = pd.DataFrame(
        {
            "candidate_id": ["P1", "P3"],
            "easting": [32000.0, 79000.0],  # B's P1 is just across the border from A's child
            "northing": 0.0,
            "bedrooms": [3, 2],
            "uses": "small_home",
        }
    )
    existing_b = pd.DataFrame(
        {"site_type": ["childrens_home"], "vacancies": [0], "easting": [50000.0], "northing": 0.0}
    )
    return [
        CouncilSiting("E0600000A", cands_a, demand_a),
        CouncilSiting("E0600000B", cands_b, demand_b, existing=existing_b),
    ]


def _road(origins: np.ndarray, dests: np.ndarray) -> np.ndarray:
    """Synthetic 'road' minutes: 1 km per minute along the easting."""
    return np.abs(origins[:, None, 0] - dests[None, :, 0]) / 1000.0


def test_wrapper_two_councils_table() -> None:
    """Far children: A's a0 (2 km), a1 (26 km); B's b0 (38 km), b1 (80 km); a2 is not far.

    Within 10 min: A's P1 (1 km, 1 place) -> a0; B's P1 (32 km, 2 places) -> a1 (6 min) and b0
    (6 min); B's P3 (79 km, 1 place) -> b1; A's P2 (60 km) -> nobody. k = 2: B's P1 (gain 2:
    A 1, B 1), then A's P1 or B's P3 (1 each; tie).
    """
    settings = SitingSettings(max_minutes=10.0)
    councils = _council_tables()
    before = [c.demand.copy() for c in councils]
    j = select_joint(councils, settings=settings, minutes=_road, k=2)
    assert j.councils == ("E0600000A", "E0600000B")
    assert j.gain == 3.0 and j.optimal
    t = j.sites
    assert t is not None
    assert list(t.columns) == [
        *JOINT_SITING_COLUMNS,
        "gain_E0600000A",
        "gain_E0600000B",
        "new_sites_serve_E0600000A",
        "new_sites_serve_E0600000B",
    ]
    assert t.dtypes[list(JOINT_SITING_COLUMNS)].astype(str).tolist() == list(
        JOINT_SITING_COLUMNS.values()
    )
    first = t.iloc[0]
    assert (first["rank"], first["council"], first["candidate_id"], first["use"]) == (
        1,
        "E0600000B",
        "P1",
        "small_home",
    )
    assert (first["places"], first["gain"]) == (2.0, 2.0)
    assert (first["gain_E0600000A"], first["gain_E0600000B"]) == (1.0, 1.0)
    assert t["gain"].sum() == 3.0
    assert (t[["gain_E0600000A", "gain_E0600000B"]].sum(axis=1) == t["gain"]).all()
    # the far children rows used, as positions in the stacked demand tables (a2 is not far)
    assert j.demand_rows is not None and j.demand_rows.tolist() == [0, 1, 3, 4]
    long = joint_siting_long(j)
    assert list(long.columns) == list(JOINT_SITING_LONG_COLUMNS)
    assert len(long) == 4 and long["gain"].sum() == 3.0
    assert long.groupby("rank")["gain"].sum().tolist() == t["gain"].tolist()
    assert set(REGION_TABLES) == {
        "joint_siting",
        "joint_siting_by_council",
        "joint_siting_councils",
    }
    summary = joint_council_summary(j)
    assert list(summary.columns) == list(JOINT_COUNCIL_COLUMNS)
    assert summary.dtypes.astype(str).tolist() == list(JOINT_COUNCIL_COLUMNS.values())
    # B's P1 (2 places) plus A's P1 or B's P3 (1 place each): 3 places, 3 children
    assert summary["properties_chosen"].sum() == 2 and summary["places_added"].sum() == 3.0
    assert summary["gain"].tolist() == (summary["after"] - summary["before"]).tolist()
    assert summary["gain"].sum() == 3.0 and summary["before"].sum() == 0.0
    assert REGION_TABLES["joint_siting"](j).equals(joint_siting_table(j))
    for c, b in zip(councils, before, strict=True):  # inputs never modified
        pd.testing.assert_frame_equal(c.demand, b)


def test_wrapper_given_matrices_equal_the_minutes_function() -> None:
    councils = _council_tables()
    settings = SitingSettings(max_minutes=10.0)
    home = np.vstack([c.demand[["easting", "northing"]].to_numpy(float) for c in councils])
    cand = np.vstack([c.candidates[["easting", "northing"]].to_numpy(float) for c in councils])
    ex = np.array([[50000.0, 0.0]])
    a = select_joint(
        councils,
        settings=settings,
        demand_minutes=_road(home, cand),
        existing_minutes=_road(home, ex),
        k=2,
    )
    b = select_joint(councils, settings=settings, minutes=_road, k=2)
    assert a.chosen.tolist() == b.chosen.tolist() and a.gain == b.gain
    with pytest.raises(InputFileError, match="demand_minutes has shape"):
        select_joint(councils, settings=settings, demand_minutes=np.zeros((5, 3)), k=1)


def test_wrapper_one_council_equals_select_sites() -> None:
    """One council through the joint wrapper chooses what select_sites chooses."""
    settings = SitingSettings(max_minutes=30.0)
    rng = np.random.default_rng(3)
    n_d, n_c = 14, 6
    demand = pd.DataFrame(
        {
            "weight": 1.0,
            "over_20_miles": rng.random(n_d) < 0.7,
            "outside_la": rng.random(n_d) < 0.5,
            "need": rng.choice(["childrens_home", "care_leaver"], n_d),
            "age": rng.integers(10, 21, n_d),
            "easting": rng.uniform(0, 40000, n_d),
            "northing": rng.uniform(0, 40000, n_d),
        }
    )
    cands = pd.DataFrame(
        {
            "candidate_id": [f"C{i}" for i in range(n_c)],
            "easting": rng.uniform(0, 40000, n_c),
            "northing": rng.uniform(0, 40000, n_c),
            "bedrooms": rng.integers(2, 5, n_c),
            "uses": "small_home; care_leaver_unit",
        }
    )
    existing = pd.DataFrame(
        {
            "site_type": ["childrens_home", "childrens_home"],
            "vacancies": [1, 1],
            "easting": [10000.0, 30000.0],
            "northing": [10000.0, 30000.0],
        }
    )
    hx = demand[["easting", "northing"]].to_numpy(float)
    t_c = np.hypot(*(hx[:, None, :] - cands[["easting", "northing"]].to_numpy()[None]).T).T / 500
    t_e = np.hypot(*(hx[:, None, :] - existing[["easting", "northing"]].to_numpy()[None]).T).T / 500
    prefer = dict(zip(cands["candidate_id"], rng.random(n_c), strict=True))
    single = select_sites(
        cands,
        demand,
        t_c,
        settings=settings,
        existing=existing,
        existing_minutes=t_e,
        k=3,
        prefer=prefer,
    )
    joint = select_joint(
        [CouncilSiting("E06000047", cands, demand, existing=existing, prefer=prefer)],
        settings=settings,
        demand_minutes=t_c,
        existing_minutes=t_e,
        k=3,
    )
    assert single.sites is not None and joint.sites is not None
    assert tuple(joint.sites["candidate_id"]) == single.chosen_ids
    assert joint.sites["use"].tolist() == single.sites["use"].tolist()
    assert joint.sites["places"].tolist() == single.sites["places"].astype(float).tolist()
    assert joint.objective == single.objective
    assert joint.gain == single.objective - single.fixed_objective
    assert joint.sites["gain"].tolist() == single.sites["addition_gain"].tolist()
    assert (joint.sites["council"] == "E06000047").all()


def test_wrapper_errors() -> None:
    with pytest.raises(ConfigError, match="at least one council"):
        select_joint([])
    c = _council_tables()
    with pytest.raises(ConfigError, match="its own code"):
        select_joint([c[0], CouncilSiting("E0600000A", c[1].candidates, c[1].demand)])


def test_council_and_region_exclusion_zones() -> None:
    """A zone of council A's own around its P1 (1 km) and a region zone around B's P3 (79 km):
    neither can be chosen, so B's P1 alone brings a1 and b0 home (gain 2)."""
    import geopandas as gpd
    import shapely

    c = _council_tables()
    own = gpd.GeoDataFrame(
        {"name": ["A's flood zone"]}, geometry=[shapely.Point(1000, 0).buffer(50)], crs=27700
    )
    region = gpd.GeoDataFrame(
        {"name": ["region"]}, geometry=[shapely.Point(79000, 0).buffer(50)], crs=27700
    )
    councils = [
        CouncilSiting("E0600000A", c[0].candidates, c[0].demand, exclusion_zones=own),
        c[1],
    ]
    j = select_joint(
        councils,
        settings=SitingSettings(max_minutes=10.0),
        minutes=_road,
        k=2,
        exclusion_zones=region,
    )
    assert j.sites is not None
    chosen = set(zip(j.sites["council"], j.sites["candidate_id"], strict=True))
    assert ("E0600000A", "P1") not in chosen and ("E0600000B", "P3") not in chosen
    assert ("E0600000B", "P1") in chosen
    assert j.gain == 2.0
