"""Benchmark: optimal site selection (geosuff.siting) against spopt's MCLP on the same matrices.

Target (issue #6): 2,000 demand points x 300 candidates, k = 10, solved to proven optimality; the
same objective as ``spopt.locate.MCLP`` solved by HiGHS through PuLP, and >= 5x faster end to end
(spopt's time = building its PuLP model + solving; ours = the whole ``from_cost_matrix`` call,
which also runs the greedy heuristic, the swap search, leave-one-out gains and the assignment).
Greedy's gap to the optimum is reported for the same cases.

Cost matrices are straight-line minutes at 40 km/h between
* clustered random points over a 60 x 50 km county (25 towns, 3 km spread), seeds 0-2, and
* real geography: the 2,000 English LSOAs nearest Maidstone (Kent) weighted by their population
  aged 0-17 (ONS mid-2020, shipped in geosuff/data), with 300 other LSOA points as candidates,
at radii of 10, 15 and 20 minutes. Capacitated cases (small homes, 1-6 places) follow, with no
spopt counterpart (spopt's MCLP has no capacities).

Run: ``.venv/bin/python benchmarks/bench_siting.py [--quick]``. Timings on a shared 2-core
machine are noisy: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geosuff import siting
from geosuff.siting import from_cost_matrix, straight_line_minutes  # noqa: E402

N_DEMAND = 2000
N_SITES = 300
K = 10
RADII_MIN = (10.0, 15.0, 20.0)
MAIDSTONE_BNG = (575_900.0, 155_800.0)


def clustered_case(seed: int) -> tuple[str, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    towns = rng.uniform([0, 0], [60_000, 50_000], (25, 2))

    def pts(n: int) -> np.ndarray:
        return towns[rng.integers(0, len(towns), n)] + rng.normal(0, 3000, (n, 2))

    demand, sites = pts(N_DEMAND), pts(N_SITES)
    weights = rng.integers(1, 4, N_DEMAND).astype(float)
    return f"clustered seed {seed}", straight_line_minutes(demand, sites), weights


def lsoa_case() -> tuple[str, np.ndarray, np.ndarray]:
    path = Path(siting.__file__).parent / "data" / "lsoa11_pop0_17_mid2020_england.csv.gz"
    lsoa = pd.read_csv(path, usecols=["easting", "northing", "pop_0_17"])
    xy = lsoa[["easting", "northing"]].to_numpy(float)
    d = np.hypot(*(xy - np.array(MAIDSTONE_BNG)).T)
    near = np.argsort(d)[: N_DEMAND + N_SITES]
    rng = np.random.default_rng(7)
    pick = rng.permutation(near)
    dem, sites = pick[:N_DEMAND], pick[N_DEMAND:]
    weights = lsoa["pop_0_17"].to_numpy(float)[dem]
    return "LSOAs near Maidstone, pop 0-17", straight_line_minutes(xy[dem], xy[sites]), weights


def run_spopt(cost: np.ndarray, w: np.ndarray, radius: float) -> tuple[float, float, float]:
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, w, service_radius=radius, p_facilities=K)
    build = time.perf_counter() - t0
    # pulp.HiGHS drives the installed highspy in-process (HiGHS_CMD needs a `highs` binary,
    # which highspy does not install); gapRel=0 asks it for proven optimality as we do.
    model = model.solve(pulp.HiGHS(msg=False, gapRel=0))
    total = time.perf_counter() - t0
    return float(pulp.value(model.problem.objective)), build, total


def bench_mclp(
    cases: list[tuple[str, np.ndarray, np.ndarray]], radii: tuple[float, ...]
) -> list[float]:
    print(f"MCLP: {N_DEMAND} demand x {N_SITES} candidates, k = {K}, straight line at 40 km/h")
    hdr = (
        f"{'case':32} {'T':>4} {'groups':>6} {'nnz':>7} {'optimum':>10} {'spopt':>10} "
        f"{'ours s':>7} {'HiGHS s':>7} {'spopt s':>7} {'build s':>7} {'ratio':>6} "
        f"{'status':>8} {'gap':>5} {'greedy gap':>10}"
    )
    print(hdr)
    ratios: list[float] = []
    for name, cost, w in cases:
        for radius in radii:
            t0 = time.perf_counter()
            sel = from_cost_matrix(cost, max_minutes=radius, k=K, weights=w)
            ours = time.perf_counter() - t0
            obj_spopt, build, total = run_spopt(cost, w, radius)
            same = abs(sel.objective - obj_spopt) <= 1e-6 * max(1.0, obj_spopt)
            ratio = total / ours
            ratios.append(ratio)
            print(
                f"{name:32} {radius:4.0f} {sel.model_size['demand_groups']:6d} "
                f"{sel.model_size['nonzeros']:7d} {sel.objective:10.0f} {obj_spopt:10.0f} "
                f"{ours:7.3f} {sel.solve_time_s:7.3f} {total:7.3f} {build:7.3f} {ratio:5.1f}x "
                f"{sel.status:>8} {sel.mip_gap:5.0e} {100 * sel.greedy_gap:9.2f}%"
                + ("" if same else "  OBJECTIVES DIFFER"),
                flush=True,
            )
            if not same or sel.status != "Optimal":
                raise SystemExit("objective mismatch or not proven optimal")
    print(
        f"speed-up vs spopt end to end: min {min(ratios):.1f}x, median "
        f"{statistics.median(ratios):.1f}x, max {max(ratios):.1f}x over {len(ratios)} cases"
    )
    return ratios


def bench_capacitated(quick: bool) -> None:
    print(
        "\nCapacitated (each child to at most one site within T, each site <= its places), k = 10"
    )
    print(
        f"{'case':40} {'T':>4} {'cols':>6} {'nnz':>7} {'optimum':>8} {'greedy':>8} "
        f"{'greedy gap':>10} {'MCLP':>6} {'s':>6} {'status':>8} {'MIP gap':>7}"
    )
    # council scale: tens to hundreds of children placed far, small homes of 1-8 places; then two
    # stress cases with large capacities (loose capacities make this MILP much harder)
    specs = [(60, 50, 10.0, (1, 6)), (150, 100, 8.0, (2, 8)), (300, 300, 10.0, (1, 2))]
    if not quick:
        specs += [
            (1000, 300, 10.0, (1, 6)),
            (2000, 300, 15.0, (20, 100)),
            (2000, 300, 15.0, (100, 400)),
        ]
    for n_dem, n_sites, radius, (lo, hi) in specs:
        rng = np.random.default_rng(11)
        towns = rng.uniform([0, 0], [60_000, 50_000], (25, 2))

        def pts(n: int, rng: np.random.Generator = rng, towns: np.ndarray = towns) -> np.ndarray:
            return towns[rng.integers(0, len(towns), n)] + rng.normal(0, 3000, (n, 2))

        cost = straight_line_minutes(pts(n_dem), pts(n_sites))
        caps = rng.integers(lo, hi + 1, n_sites).astype(float)
        t0 = time.perf_counter()
        sel = from_cost_matrix(cost, max_minutes=radius, k=K, capacities=caps, time_limit_s=30.0)
        took = time.perf_counter() - t0
        mclp = from_cost_matrix(cost, max_minutes=radius, k=K).objective
        label = f"{n_dem} children x {n_sites}, places {lo}-{hi}"
        print(
            f"{label:40} {radius:4.0f} {sel.model_size['cols']:6d} {sel.model_size['nonzeros']:7d} "
            f"{sel.objective:8.0f} {sel.greedy_objective:8.0f} {100 * sel.greedy_gap:9.2f}% "
            f"{mclp:6.0f} {took:6.2f} {sel.status[:8]:>8} {sel.mip_gap:7.1%}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one clustered seed, one radius")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # PuLP 3 -> 4 notices
    if args.quick:
        cases, radii = [clustered_case(0)], (15.0,)
    else:
        cases, radii = [clustered_case(s) for s in (0, 1, 2)] + [lsoa_case()], RADII_MIN
    bench_mclp(cases, radii)
    bench_capacitated(args.quick)


if __name__ == "__main__":
    main()
