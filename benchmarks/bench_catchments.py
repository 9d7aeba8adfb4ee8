"""Benchmark: true-shape catchment polygons (geosuff.catchments) against the obvious recipes.

Run:  .venv/bin/python benchmarks/bench_catchments.py [--sites 200] [--ref-sites 3] [--hull-sites 10]

On the Rutland drive graph (shipped OSM extract) with ``--sites`` random sites and thresholds
15/30/45/60 minutes it times

* geosuff: node times (engine, once) + all catchment polygons (road-sample raster);
* the buffered-edge union (buffer every reached road piece by the access distance, dissolve with
  ``shapely.union_all``) on the *same reachable sets*, on a subsample of ``--ref-sites`` sites
  (all thresholds) scaled to all sites — it takes seconds per polygon;
* the osmnx isochrone recipe (``networkx.ego_graph`` by travel time from the nearest node + convex
  hull of the reached nodes) on ``--hull-sites`` sites, scaled;

and compares areas: geosuff vs buffered union (must agree within 5%), convex hull vs buffered
union (the area the hull wrongly includes). Absolute times are noisy on a shared 2-core machine;
the ratios are measured in the same run, and all times are CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import shapely

from geosuff import routing as tt
from geosuff.analysis import catchments as C
from geosuff.network import build_graph

#: Timings are CPU seconds of this process: the machine is shared with other jobs, and wall time
#: would count their load (the headline geosuff figure also prints wall time).
_clock = time.process_time

RUTLAND = Path(__file__).resolve().parents[1] / "geosuff" / "data" / "rutland-latest.osm.pbf"
MINUTES = (15.0, 30.0, 45.0, 60.0)


def _random_sites(graph, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random points near the network: a random node moved up to 200 m in a random direction."""
    idx = rng.choice(graph.n_nodes, n, replace=False)
    ang = rng.uniform(0, 2 * np.pi, n)
    r = rng.uniform(0, 200, n)
    return graph.x[idx] + r * np.cos(ang), graph.y[idx] + r * np.sin(ang)


def _osmnx_hull(
    graph, x: np.ndarray, y: np.ndarray, minutes: tuple[float, ...]
) -> tuple[float, float, list[list[shapely.Geometry]]]:
    """osmnx isochrone example: nearest node, ego_graph by time, convex hull of the reached nodes.

    Returns the ego-graph seconds, the hull seconds and the hulls. The hull is taken with
    ``shapely.MultiPoint(...).convex_hull`` (faster than the example's GeoSeries union), so the
    timing favours the recipe.
    """
    import networkx as nx
    import osmnx as ox

    G = nx.MultiDiGraph(crs=graph.meta.get("crs", "EPSG:27700"))
    G.add_nodes_from(
        (i, {"x": float(graph.x[i]), "y": float(graph.y[i])}) for i in range(graph.n_nodes)
    )
    G.add_edges_from(
        (int(a), int(b), {"time": float(t)})
        for a, b, t in zip(graph.u, graph.v, graph.time_s, strict=True)
    )
    t_ego = t_hull = 0.0
    hulls: list[list[shapely.Geometry]] = []
    for xi, yi in zip(x, y, strict=True):
        t0 = _clock()
        node = ox.distance.nearest_nodes(G, xi, yi)
        t_ego += _clock() - t0
        row = []
        for m in minutes:
            t0 = _clock()
            sub = nx.ego_graph(G, node, radius=m * 60, distance="time")
            t1 = _clock()
            nodes = np.fromiter(sub.nodes, dtype=np.int64)
            row.append(
                shapely.MultiPoint(np.column_stack([graph.x[nodes], graph.y[nodes]])).convex_hull
            )
            t_hull += _clock() - t1
            t_ego += t1 - t0
        hulls.append(row)
    return t_ego, t_hull, hulls


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument(
        "--ref-sites", type=int, default=3, help="sites timed with the buffered-edge union"
    )
    ap.add_argument(
        "--hull-sites", type=int, default=10, help="sites timed with the osmnx convex-hull recipe"
    )
    ap.add_argument("--access-m", type=float, default=C.ACCESS_DISTANCE_M)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--osm", type=Path, default=RUTLAND, help="OSM extract (default: shipped Rutland)"
    )
    ap.add_argument(
        "--crs",
        default="EPSG:27700",
        help="projected CRS in metres (e.g. EPSG:31982 for benchmarks/data/porto-alegre-poa.osm.pbf)",
    )
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    graph = build_graph(args.osm, use_cache=False, crs=args.crs)
    n_poly = args.sites * len(MINUTES)
    print(
        f"{args.osm.name} drive graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} directed edges, {graph.length_m.sum() / 2e3:,.0f} km of road (two-way counted once)"
    )
    x, y = _random_sites(graph, args.sites, rng)

    t0 = _clock()
    times, sn = tt.node_times(graph, x, y, max_minutes=max(MINUTES), return_snapped=True)
    t_times = _clock() - t0
    org = C.SourceOrigins.from_snapped(sn, access_speed_kph=tt.SnapSettings().access_speed_kph)

    t0 = _clock()
    lay = C._layout(graph, args.access_m, args.access_m * C.CELL_PER_ACCESS)
    t_layout = _clock() - t0
    print(
        f"raster layout (once per graph): cell {lay.cell_m:.1f} m, {lay.nx} x {lay.ny} grid, {lay.n_samples:,} road samples, "
        f"{lay.cells.shape[0]:,} cells near roads, {lay.nbr.shape[0]:,} cell-sample pairs: {t_layout:.2f} s"
    )
    t0, w0 = _clock(), time.perf_counter()
    gdf = C.catchment_polygons(graph, times, MINUTES, access_m=args.access_m, origins=org)
    t_fast, w_fast = _clock() - t0, time.perf_counter() - w0
    print(f"\n{args.sites} sites x {len(MINUTES)} thresholds = {n_poly} polygons")
    print(f"  engine node times (once, 60-min cutoff):        {t_times:7.2f} CPU s")
    print(
        f"  geosuff catchment polygons (road-sample raster): {t_fast:7.2f} CPU s  ({t_fast / n_poly * 1e3:.1f} ms per polygon; + layout {t_layout:.2f} s; wall {w_fast:.2f} s)"
    )
    print(
        f"  reached nodes inside their polygon: min share {gdf['share_reached_inside'].min():.4f}; unreached nodes inside (median share at 15 min): {gdf.loc[gdf.minutes == 15, 'share_unreached_inside'].median():.4f}"
    )

    # reference: buffered-edge union on the same reachable sets
    ref_idx = rng.choice(args.sites, args.ref_sites, replace=False)
    t_ref = 0.0
    ratios = []
    symd = []
    refs: dict[tuple[int, float], shapely.Geometry] = {}
    for i in ref_idx:
        origin = (int(org.edge[i]), float(org.frac[i]), float(org.start_s[i]))
        for m in MINUTES:
            t0 = _clock()
            ref = C.buffered_edge_union(graph, times[i], m, args.access_m, origin=origin)
            t_ref += _clock() - t0
            refs[(int(i), m)] = ref
            fast = gdf.geometry.iloc[int(i) * len(MINUTES) + MINUTES.index(m)]
            ratios.append(fast.area / ref.area)
            symd.append(shapely.symmetric_difference(fast, ref).area / ref.area)
    n_ref = args.ref_sites * len(MINUTES)
    t_ref_all = t_ref / n_ref * n_poly
    print(
        f"\nbuffered-edge union ({C.METHOD_REFERENCE}) on {n_ref} of the polygons: {t_ref:.1f} s = {t_ref / n_ref:.2f} s per polygon"
    )
    print(
        f"  scaled to {n_poly} polygons: {t_ref_all:,.0f} s  ->  geosuff is {t_ref_all / t_fast:,.0f}x faster (polygons only; {t_ref_all / (t_fast + t_times):,.0f}x incl. node times)"
    )
    r = np.array(ratios)
    print(
        f"  area geosuff / buffered union: min {r.min():.4f}, max {r.max():.4f} (|diff| <= {np.abs(r - 1).max() * 100:.2f}%; target 5%)"
    )
    print(
        f"  symmetric difference / area (raster staircase at the edge): median {np.median(symd):.3f}, max {max(symd):.3f}"
    )

    # osmnx isochrone recipe (convex hull of ego-graph nodes)
    hull_idx = rng.choice(args.sites, args.hull_sites, replace=False)
    t_ego, t_hull, hulls = _osmnx_hull(graph, x[hull_idx], y[hull_idx], MINUTES)
    n_hull = args.hull_sites * len(MINUTES)
    t_recipe = t_ego + t_hull
    t_recipe_all = t_recipe / n_hull * n_poly
    print(
        f"\nosmnx isochrone recipe on {n_hull} polygons: ego_graph {t_ego:.1f} s + convex hull {t_hull:.2f} s "
        f"= {t_recipe / n_hull * 1e3:.0f} ms per polygon"
    )
    print(
        f"  scaled to {n_poly} polygons: {t_recipe_all:,.0f} s  ->  geosuff is {t_recipe_all / t_fast:,.1f}x faster ({t_recipe_all / (t_fast + t_times):,.1f}x incl. node times)"
    )
    over = []
    wrong = []
    for k, i in enumerate(hull_idx):
        for j in range(len(MINUTES)):
            true = gdf.geometry.iloc[int(i) * len(MINUTES) + j]
            hull = hulls[k][j]
            over.append(hull.area / true.area)
            wrong.append(hull.difference(true).area / hull.area)
    over_a, wrong_a = np.array(over), np.array(wrong)
    for j, m in enumerate(MINUTES):
        sel = slice(j, None, len(MINUTES))
        print(
            f"  {m:4.0f} min: hull area / true-shape area median {np.median(over_a[sel]):.2f}; "
            f"share of the hull not within {args.access_m:.0f} m of a reached road: median {np.median(wrong_a[sel]) * 100:.0f}%"
        )
    print(
        "\n(true shape = geosuff polygon; hull ignores holes, road shape and the access distance, and counts lakes/unreached land)"
    )


if __name__ == "__main__":
    main()
