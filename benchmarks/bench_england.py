"""England-scale benchmark (SYNTHETIC road network): chunked routing on 1 and 2 local Dask workers.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_england.py               # ~10^6 nodes
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_england.py --nodes 100000

What it builds (all SYNTHETIC, labelled so in the file name and the .osm.pbf header/tags):

* a road network of about ``--nodes`` nodes over England's EPSG:27700 extent: a perturbed grid of
  junctions, every road between two junctions bent through 3 pass-through nodes (OSM-like: most
  nodes are bends), road classes trunk / primary / secondary / tertiary / unclassified by grid
  line, written as an ``.osm.pbf`` with pyosmium and read by ``geosuff.network.build_graph``
  exactly as a real England extract would be;
* a cohort for every council in the DfE children-looked-after table (~83,000 children, each
  council's count and share placed over 20 miles from the DfE figures): homes at random LSOA
  centroids of the council weighted by 0-17 population, placements within or beyond 20 miles as
  the DfE share says; both moved to the nearest network node;
* sites of each geosuff site type at population-weighted LSOA centroids; the 32,844 LSOA
  centroids (2011, package data) are the origins of the nearest-site job.

Timed on a ``dask.distributed.LocalCluster`` of 1 and then 2 worker processes (1 thread each):
(a) all children's home -> placement road times (``pair_times_chunked``, minutes only), (b) LSOA
-> nearest site of each type (``nearest_by_type``). The graph is loaded once per worker before the
timings (load time shown separately). Peak memory is each worker's peak RSS (``getrusage``).
Targets: (a)+(b) <= 60 s on 2 workers; >= 1.7x from 1 to 2 workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geosuff.network import build_graph  # noqa: E402
from geosuff.routing.chunked import (  # noqa: E402
    GraphSource,
    graph_loads,
    nearest_by_type,
    pair_times_chunked,
    warm_workers,
)

SYNTHETIC = "SYNTHETIC"
#: England's extent in EPSG:27700 (m)
ENGLAND_BBOX_M = (82_000.0, 5_000.0, 656_000.0, 658_000.0)
BENDS_PER_ROAD = 3
MILES_20_M = 20 * 1609.344
TARGET_TOTAL_S = 60.0
TARGET_SPEEDUP = 1.7
#: synthetic sites per geosuff site type (England-scale orders of magnitude)
SITES_PER_TYPE = {
    "childrens_home": 2_900,
    "secure_home": 14,
    "foster_cluster": 2_000,
    "supported_accommodation": 1_500,
    "care_leaver_unit": 300,
    "short_breaks": 150,
}


# ------------------------------------------------------------------------------ network
def _road_class(i: int) -> str:
    if i % 40 == 0:
        return "trunk"
    if i % 10 == 0:
        return "primary"
    if i % 5 == 0:
        return "secondary"
    if i % 2 == 0:
        return "tertiary"
    return "unclassified"


def synthetic_grid(
    n_nodes: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, np.ndarray]]]:
    """Node ids, node xy (EPSG:27700, m) and ways (highway class, node ids) of the SYNTHETIC grid."""
    rng = np.random.default_rng(seed)
    g = max(3, int(round(np.sqrt(n_nodes / (1 + 2 * BENDS_PER_ROAD)))))
    x0, y0, x1, y1 = ENGLAND_BBOX_M
    sx, sy = (x1 - x0) / (g - 1), (y1 - y0) / (g - 1)
    jx = x0 + np.arange(g)[None, :] * sx + rng.uniform(-0.25, 0.25, (g, g)) * sx
    jy = y0 + np.arange(g)[:, None] * sy + rng.uniform(-0.25, 0.25, (g, g)) * sy
    jid = 1 + np.arange(g * g).reshape(g, g)
    xs, ys, ids = [jx.ravel()], [jy.ravel()], [jid.ravel()]
    next_id = g * g + 1
    ways: list[tuple[str, np.ndarray]] = []
    k = BENDS_PER_ROAD
    frac = np.arange(1, k + 1) / (k + 1)
    for horizontal in (True, False):
        for line in range(g):
            if horizontal:
                ax, ay, aid = jx[line], jy[line], jid[line]
            else:
                ax, ay, aid = jx[:, line], jy[:, line], jid[:, line]
            bx = ax[:-1, None] + (ax[1:] - ax[:-1])[:, None] * frac[None, :]
            by = ay[:-1, None] + (ay[1:] - ay[:-1])[:, None] * frac[None, :]
            bx += rng.normal(0, 0.04 * sx, bx.shape)
            by += rng.normal(0, 0.04 * sy, by.shape)
            bid = next_id + np.arange(bx.size).reshape(bx.shape)
            next_id += bx.size
            xs.append(bx.ravel())
            ys.append(by.ravel())
            ids.append(bid.ravel())
            seq = np.concatenate([np.column_stack([aid[:-1], bid]).ravel(), aid[-1:]])
            ways.append((_road_class(line), seq))
    return np.concatenate(ids), np.column_stack([np.concatenate(xs), np.concatenate(ys)]), ways


def write_pbf(
    path: Path, ids: np.ndarray, xy: np.ndarray, ways: list[tuple[str, np.ndarray]]
) -> None:
    import osmium

    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1]
    )
    h = osmium.io.Header()
    h.set(
        "generator",
        f"geosuff benchmarks/bench_england.py - {SYNTHETIC} road network, not real roads",
    )
    h.add_box(
        osmium.osm.Box(float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    )
    tmp = path.with_suffix(".tmp.osm.pbf")
    w = osmium.SimpleWriter(str(tmp), header=h, overwrite=True)
    try:
        order = np.argsort(ids)
        for i, lo, la in zip(
            ids[order].tolist(), lon[order].tolist(), lat[order].tolist(), strict=True
        ):
            w.add_node(osmium.osm.mutable.Node(id=i, location=(lo, la), version=1))
        for wid, (hw, seq) in enumerate(ways, start=1):
            tags = {"highway": hw, "name": f"{SYNTHETIC} road {wid}", "note": SYNTHETIC}
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=seq.tolist(), tags=tags, version=1))
    finally:
        w.close()
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ cohort
def _lsoas() -> pd.DataFrame:
    return pd.read_csv(ROOT / "geosuff" / "data" / "lsoa11_pop0_17_mid2020_england.csv.gz")


def synthetic_cohort(lsoa: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Homes and placements (xy, m) of SYNTHETIC children for every council, by DfE counts."""
    from geosuff import synth

    rng = np.random.default_rng(seed)
    d = synth._dfe_31mar()
    councils = sorted(
        d.loc[d["geographic_level"] == "Local authority", "new_la_code"].dropna().unique()
    )
    exy = lsoa[["easting", "northing"]].to_numpy(float)
    w_all = lsoa["pop_0_17"].to_numpy(float)
    p_all = w_all / w_all.sum()
    homes, places = [], []
    unmatched = 0
    for c in councils:
        try:
            t = synth.dfe_targets(c)
        except Exception:  # councils without figures in the latest year
            continue
        n = int(t["total"])
        if n <= 0:
            continue
        m = (lsoa["UTLA23CD"] == c).to_numpy()
        if not m.any():
            unmatched += n
            m = np.ones(len(lsoa), dtype=bool)
        w = w_all[m] / w_all[m].sum()
        h = exy[m][rng.choice(int(m.sum()), n, p=w)]
        far = rng.random(n) < float(t["p_over20"])
        p = np.empty_like(h)
        todo = np.arange(n)
        while todo.size:
            cand = exy[rng.choice(len(lsoa), todo.size, p=p_all)]
            dist = np.hypot(*(cand - h[todo]).T)
            ok = np.where(far[todo], dist > MILES_20_M, dist <= MILES_20_M)
            # near placements: draw around the home when random draws are slow to land near
            near_fb = ~far[todo] & ~ok
            cand[near_fb] = h[todo][near_fb] + rng.uniform(-20_000, 20_000, (int(near_fb.sum()), 2))
            ok |= near_fb
            p[todo[ok]] = cand[ok]
            todo = todo[~ok]
        homes.append(h)
        places.append(p)
    return np.vstack(homes), np.vstack(places), unmatched


# ------------------------------------------------------------------------------ timing
def _run_workers(
    n_workers: int,
    source: GraphSource,
    homes: np.ndarray,
    places: np.ndarray,
    origins: np.ndarray,
    sites: np.ndarray,
    kinds: np.ndarray,
    chunk: int,
) -> dict[str, float]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit=0,
    )
    client = Client(cluster)
    try:
        t0 = time.perf_counter()
        warm_workers(source, client=client)
        load_s = time.perf_counter() - t0
        cpu0 = {k: v["cpu_s"] for k, v in client.run(graph_loads).items()}
        t0 = time.perf_counter()
        od = pair_times_chunked(
            source, homes, places, client=client, chunk_size=chunk, with_km=False
        )
        a_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        nb = nearest_by_type(source, origins, sites, kinds, client=client)
        b_s = time.perf_counter() - t0
        info = client.run(graph_loads)
        peak = max(i["peak_rss_mb"] for i in info.values())
        loads = sorted(sum(i["loads"].values()) for i in info.values())
        cpu = sorted(round(i["cpu_s"] - cpu0[k], 1) for k, i in info.items())
    finally:
        client.close()
        cluster.close()
    print(
        f"  {n_workers} worker(s): graph load {load_s:6.1f} s (loads per worker {loads}); "
        f"(a) pairs {a_s:7.1f} s; (b) nearest {b_s:6.1f} s; total {a_s + b_s:7.1f} s; "
        f"peak RSS per worker {peak:,.0f} MiB; CPU s per worker for (a)+(b) {cpu}",
        flush=True,
    )
    print(
        f"    (a) routed {np.isfinite(od.minutes).sum():,}/{od.minutes.size:,} pairs, median "
        f"{np.nanmedian(od.minutes):.1f} min; (b) {nb.minutes.shape} finite "
        f"{np.isfinite(nb.minutes).mean():.1%}",
        flush=True,
    )
    return {
        "load": load_s,
        "a": a_s,
        "b": b_s,
        "peak": peak,
        "sum_a": float(np.nansum(od.minutes)),
        "sum_b": float(np.nansum(nb.minutes)),
    }


def _commit() -> str:
    r = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return r.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=1_000_000, help="network nodes (default 10^6)")
    ap.add_argument(
        "--children",
        type=int,
        default=0,
        help="time only a random subset of this many children (0 = all; the figure is then labelled)",
    )
    ap.add_argument("--workers", default="1,2", help="worker counts to time (default 1,2)")
    ap.add_argument("--chunk", type=int, default=256, help="unique homes per task (default 256)")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "geosuff-bench-england",
    )
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args(argv)

    print(
        f"England-scale benchmark ({SYNTHETIC} network and cohort); "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {_commit()}; "
        f"{platform.machine()} {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    args.workdir.mkdir(parents=True, exist_ok=True)
    pbf = args.workdir / f"england-{SYNTHETIC}-{args.nodes}-seed{args.seed}.osm.pbf"
    t0 = time.perf_counter()
    ids, xy, ways = synthetic_grid(args.nodes, args.seed)
    if not pbf.is_file():
        write_pbf(pbf, ids, xy, ways)
        print(
            f"wrote {pbf.name}: {ids.size:,} nodes, {len(ways):,} ways, "
            f"{pbf.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    source = GraphSource(str(pbf), cache_dir=str(args.workdir / "cache"))
    t0 = time.perf_counter()
    graph = build_graph(source.osm_path, cache_dir=source.cache_dir)
    print(
        f"graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} directed edges "
        f"({'from cache' if graph.meta.get('from_cache') else 'built'} in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    tree = cKDTree(np.column_stack([graph.x, graph.y]))
    del graph

    def on_net(p: np.ndarray) -> np.ndarray:
        return xy_nodes[tree.query(p)[1]]

    lsoa = _lsoas()
    xy_nodes = np.column_stack([tree.data[:, 0], tree.data[:, 1]])
    homes, places, unmatched = synthetic_cohort(lsoa, args.seed)
    homes, places = on_net(homes), on_net(places)
    n_all = homes.shape[0]
    print(
        f"full cohort: {n_all:,} children, {len(np.unique(homes, axis=0)):,} unique homes "
        f"(network nodes), {len(np.unique(places, axis=0)):,} unique placements",
        flush=True,
    )
    label = "all"
    if args.children and args.children < n_all:
        pick = np.random.default_rng(args.seed).choice(n_all, args.children, replace=False)
        homes, places = homes[pick], places[pick]
        label = f"SUBSET of {args.children:,} of {n_all:,}"
    rng = np.random.default_rng(args.seed + 1)
    exy = lsoa[["easting", "northing"]].to_numpy(float)
    p = lsoa["pop_0_17"].to_numpy(float)
    p /= p.sum()
    kinds = np.concatenate([[t] * n for t, n in SITES_PER_TYPE.items()])
    sites = on_net(exy[rng.choice(len(lsoa), kinds.size, p=p)])
    origins = on_net(exy)
    print(
        f"cohort: {n_all:,} {SYNTHETIC} children over all councils ({unmatched:,} in councils without "
        f"LSOAs, homes drawn nationally); timing {label}: {len(np.unique(homes, axis=0)):,} unique homes, "
        f"{len(np.unique(places, axis=0)):,} unique placements",
        flush=True,
    )
    print(
        f"nearest job: {origins.shape[0]:,} LSOA origins x {kinds.size:,} sites of {len(SITES_PER_TYPE)} types",
        flush=True,
    )

    res = {}
    for w in [int(v) for v in args.workers.split(",") if v.strip()]:
        res[w] = _run_workers(w, source, homes, places, origins, sites, kinds, args.chunk)
    if 1 in res and 2 in res:
        r1, r2 = res[1], res[2]
        same = r1["sum_a"] == r2["sum_a"] and r1["sum_b"] == r2["sum_b"]
        tot2 = r2["a"] + r2["b"]
        sp_ = (r1["a"] + r1["b"]) / tot2
        print(f"results identical on 1 and 2 workers: {same}")
        print(
            f"speed-up 1 -> 2 workers: (a) {r1['a'] / r2['a']:.2f}x, (b) {r1['b'] / r2['b']:.2f}x, "
            f"(a)+(b) {sp_:.2f}x  [target >= {TARGET_SPEEDUP}x: {'MET' if sp_ >= TARGET_SPEEDUP else 'NOT MET'}]"
        )
        print(
            f"(a)+(b) on 2 workers: {tot2:.1f} s  [target <= {TARGET_TOTAL_S:.0f} s "
            f"({label} children): {'MET' if tot2 <= TARGET_TOTAL_S else 'NOT MET'}]"
        )
    print(
        f"(machine shared with other jobs: load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
