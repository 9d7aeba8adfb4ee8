"""Benchmark geosuff's travel-time engine against the obvious alternatives, in one run.

    .venv/bin/python benchmarks/bench_traveltime.py            # full (a few minutes)
    .venv/bin/python benchmarks/bench_traveltime.py --quick    # smaller, ~1 minute

Graphs: Rutland (shipped OSM extract), Porto Alegre (benchmarks/data, ODbL) and seeded synthetic
road-like grids of 10^4, 10^5 and 10^6 nodes (benchmarks/synthetic_graphs.py).

Measured, for reachable sets of 200 sources within 10 and 30 minutes (the catchment workload):

* geosuff ``traveltime.reachable`` (snapping + search + sparse output of node times),
* (a) networkx ``single_source_dijkstra_path_length(cutoff=)`` per source,
* (b) the osmnx isochrone recipe ``nx.ego_graph(G, src, radius=, distance="travel_time")``,
* (c) a plain binary-heap Dijkstra in C (benchmarks/dijkstra_heap.c, compiled with gcc into a
  temporary directory; skipped if gcc is missing), and raw ``scipy.sparse.csgraph.dijkstra`` on
  the full graph for reference.

The networkx baselines are slow, so they run on a subsample of the sources (stated in the output)
and are scaled to 200 sources. Reached-node counts are cross-checked between geosuff, networkx
and C. Then: cost against the number of sources, an OD matrix of 2,000 x 300 points on 10^5
nodes, and peak memory on 10^6 nodes. Timings are wall-clock minima over repeats; the machine is
shared, so compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from scipy.sparse.csgraph import dijkstra  # noqa: E402
from synthetic_graphs import road_grid  # noqa: E402

from geosuff import routing as tt  # noqa: E402
from geosuff.network import RoadGraph, build_graph, to_networkx  # noqa: E402

RUTLAND = HERE.parent / "geosuff" / "data" / "rutland-latest.osm.pbf"
PORTO_ALEGRE = HERE / "data" / "porto-alegre-poa.osm.pbf"
N_SOURCES = 200
MINUTES = (10, 30)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best = np.inf
    out = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ------------------------------------------------------------------------------ C baseline


class CDijkstra:
    """ctypes wrapper of benchmarks/dijkstra_heap.c, compiled on first use."""

    def __init__(self) -> None:
        self.lib: Any = None
        gcc = shutil.which("gcc") or shutil.which("cc")
        if gcc is None:
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="geosuff-bench-")
        so = Path(self._tmp.name) / "libdijkstra_heap.so"
        res = subprocess.run(
            [gcc, "-O3", "-march=native", "-shared", "-fPIC", str(HERE / "dijkstra_heap.c"), "-o", str(so)],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            print("  (gcc failed, C baseline skipped)", res.stderr[:200])
            return
        lib = ctypes.CDLL(str(so))
        P = np.ctypeslib.ndpointer
        lib.reach.argtypes = [
            ctypes.c_int32,
            P(np.int64, flags="C"),
            P(np.int32, flags="C"),
            P(np.float64, flags="C"),
            ctypes.c_int32,
            P(np.int32, flags="C"),
            ctypes.c_double,
            P(np.int64, flags="C"),
            P(np.float64, flags="C"),
        ]
        lib.reach.restype = ctypes.c_int
        self.lib = lib

    def reach(self, A: Any, sources: np.ndarray, limit_s: float) -> np.ndarray:
        n = A.shape[0]
        counts = np.zeros(sources.shape[0], dtype=np.int64)
        totals = np.zeros(sources.shape[0])
        rc = self.lib.reach(
            n,
            np.ascontiguousarray(A.indptr, dtype=np.int64),
            np.ascontiguousarray(A.indices, dtype=np.int32),
            np.ascontiguousarray(A.data, dtype=np.float64),
            sources.shape[0],
            np.ascontiguousarray(sources, dtype=np.int32),
            limit_s,
            counts,
            totals,
        )
        if rc != 0:
            raise MemoryError("C Dijkstra failed to allocate")
        return counts


# ------------------------------------------------------------------------------ sections


def fmt_s(x: float) -> str:
    return f"{x * 1000:8.1f} ms" if x < 1 else f"{x:8.2f} s "


def bench_reachable(name: str, g: RoadGraph, cdij: CDijkstra, *, nx_sources: int, ego_sources: int, rows: list[dict[str, Any]]) -> None:
    rng = np.random.default_rng(1)
    src = rng.choice(g.n_nodes, size=min(N_SOURCES, g.n_nodes), replace=False).astype(np.int32)
    k = src.shape[0]
    t_router, r = timed(lambda: tt.csgraph._router(g))
    print(f"\n== {name}: {g.n_nodes:,} nodes, {g.n_edges:,} edges; core graph {r.core_nodes.size:,} nodes "
          f"({r.core_nodes.size / g.n_nodes:.0%}), {r.core_fwd.tail.size:,} edges; router built in {fmt_s(t_router).strip()}")
    A = g.csr()
    G = None
    if nx_sources or ego_sources:
        t_nx_build, G = timed(lambda: to_networkx(g))
        print(f"   networkx graph built in {fmt_s(t_nx_build).strip()} (not counted)")
    for minutes in MINUTES:
        lim = minutes * 60.0
        xs, ys = g.x[src], g.y[src]
        t_geo, R = timed(lambda xs=xs, ys=ys, minutes=minutes: tt.reachable(g, xs, ys, max_minutes=minutes), repeat=2)
        reached = np.diff(R.indptr)
        row: dict[str, Any] = {"graph": name, "nodes": g.n_nodes, "minutes": minutes, "sources": k, "geosuff_s": t_geo, "reached_mean": reached.mean()}
        t_sp, D = timed(lambda lim=lim: [dijkstra(A, indices=src[i : i + 8], limit=lim) for i in range(0, k, 8)])
        row["scipy_full_s"] = t_sp
        if cdij.lib is not None:
            t_c, counts = timed(lambda lim=lim: cdij.reach(A, src, lim), repeat=2)
            row["c_s"] = t_c
            if not np.array_equal(counts, reached):
                print(f"   !! reached counts differ from C on {np.sum(counts != reached)} sources")
        if G is not None and nx_sources:
            import networkx as nx

            sub = src[:nx_sources]
            t_nx, res = timed(lambda sub=sub, lim=lim, G=G: [nx.single_source_dijkstra_path_length(G, int(s), cutoff=lim, weight="travel_time") for s in sub])
            row["nx_s"] = t_nx * k / sub.shape[0]
            row["nx_n"] = sub.shape[0]
            if [len(d) for d in res] != reached[: sub.shape[0]].tolist():
                print("   !! reached counts differ from networkx")
        if G is not None and ego_sources:
            import networkx as nx

            sub = src[:ego_sources]
            t_ego, _ = timed(lambda sub=sub, lim=lim, G=G: [nx.ego_graph(G, int(s), radius=lim, distance="travel_time") for s in sub])
            row["ego_s"] = t_ego * k / sub.shape[0]
            row["ego_n"] = sub.shape[0]
        rows.append(row)
        line = f"   {minutes:2d} min, {k} sources: geosuff {fmt_s(t_geo)} (mean {reached.mean():,.0f} nodes reached)"
        line += f" | scipy full graph {t_sp / t_geo:5.1f}x slower"
        if "c_s" in row:
            line += f" | C heap Dijkstra {fmt_s(row['c_s']).strip()} (geosuff/C = {t_geo / row['c_s']:.2f})"
        print(line)
        extra = []
        if "nx_s" in row:
            extra.append(f"networkx {row['nx_s'] / t_geo:6.1f}x slower (timed on {row['nx_n']} sources, scaled)")
        if "ego_s" in row:
            extra.append(f"osmnx ego_graph {row['ego_s'] / t_geo:6.0f}x slower (timed on {row['ego_n']} sources, scaled)")
        if extra:
            print("      " + " | ".join(extra))
    del G


def bench_sources(g: RoadGraph, counts: list[int]) -> None:
    print(f"\n== cost against number of sources ({g.n_nodes:,} nodes, 30 min, reachable)")
    rng = np.random.default_rng(2)
    for k in counts:
        src = rng.choice(g.n_nodes, size=k, replace=False)
        t, _ = timed(lambda src=src: tt.reachable(g, g.x[src], g.y[src], max_minutes=30))
        print(f"   {k:5d} sources: {fmt_s(t)}  ({t / k * 1000:.2f} ms per source)")


def bench_od(g: RoadGraph, n: int, m: int) -> None:
    rng = np.random.default_rng(3)

    def pts(k: int) -> np.ndarray:
        i = rng.integers(0, g.n_nodes, k)
        return np.column_stack([g.x[i] + rng.normal(0, 40, k), g.y[i] + rng.normal(0, 40, k)])

    orig, dest = pts(n), pts(m)
    t, od = timed(lambda: tt.od_matrix(g, orig, dest))
    t30, od30 = timed(lambda: tt.od_matrix(g, orig, dest, max_minutes=30))
    print(f"\n== OD matrix {n:,} x {m:,} points on {g.n_nodes:,} nodes (minutes + km of fastest path)")
    print(f"   no cutoff: {fmt_s(t)} ; 30-min cutoff: {fmt_s(t30)} ; median {np.nanmedian(od.minutes):.1f} min,"
          f" {np.isfinite(od30.minutes).mean():.0%} of pairs within 30 min")


def bench_memory(n: int) -> None:
    print(f"\n== memory at {n:,} nodes")
    tracemalloc.start()
    g = road_grid(n, seed=5)
    after_graph = tracemalloc.get_traced_memory()[0]
    tt.csgraph._router(g)
    rng = np.random.default_rng(4)
    src = rng.choice(g.n_nodes, size=N_SOURCES, replace=False)
    tracemalloc.reset_peak()
    R = tt.reachable(g, g.x[src], g.y[src], max_minutes=30)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"   graph arrays {after_graph / 2**20:,.0f} MiB; graph + router + result {cur / 2**20:,.0f} MiB;"
          f" peak during reachable(200 sources, 30 min) {peak / 2**20:,.0f} MiB (tracemalloc);"
          f" {R.nnz:,} reached (source, node) pairs")
    print(f"   process peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:,.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip 10^6 nodes and subsample baselines more")
    args = ap.parse_args()
    t_start = time.perf_counter()
    cdij = CDijkstra()
    print("geosuff travel-time benchmark" + (" (--quick)" if args.quick else ""))
    print(f"C baseline: {'compiled with gcc -O3' if cdij.lib is not None else 'not available'}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as cache:
        rut = build_graph(RUTLAND, cache_dir=cache)
        poa = build_graph(PORTO_ALEGRE, cache_dir=cache, crs="EPSG:31982")  # SIRGAS 2000 / UTM 22S
    nxs, egos = (10, 4) if args.quick else (20, 10)
    bench_reachable("Rutland (OSM)", rut, cdij, nx_sources=nxs, ego_sources=egos, rows=rows)
    bench_reachable("Porto Alegre (OSM)", poa, cdij, nx_sources=nxs, ego_sources=egos, rows=rows)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    g100k = None
    for size in sizes:
        t_gen, g = timed(lambda size=size: road_grid(size, seed=5))
        print(f"\n(synthetic graph of {size:,} nodes generated in {fmt_s(t_gen).strip()})")
        if size <= 10_000:
            bench_reachable(f"synthetic 10^{len(str(size)) - 1}", g, cdij, nx_sources=nxs, ego_sources=egos, rows=rows)
        elif size <= 100_000:
            bench_reachable(f"synthetic 10^{len(str(size)) - 1}", g, cdij, nx_sources=max(nxs // 2, 4), ego_sources=max(egos // 2, 2), rows=rows)
            g100k = g
        else:
            print("   (networkx baselines skipped at 10^6 nodes: building the networkx graph alone needs minutes and GBs)")
            bench_reachable(f"synthetic 10^{len(str(size)) - 1}", g, cdij, nx_sources=0, ego_sources=0, rows=rows)
            del g
    assert g100k is not None
    bench_sources(g100k, [10, 50, 200, 1000] if not args.quick else [10, 50, 200])
    bench_od(g100k, 2000, 300)
    if not args.quick:
        bench_memory(1_000_000)
    print("\n== summary (ratios = baseline time / geosuff time; C column = geosuff time / C time)")
    print(f"   {'graph':22s} {'nodes':>9s} {'min':>4s} {'geosuff':>10s} {'networkx':>9s} {'ego_graph':>10s} {'scipy full':>10s} {'geosuff/C':>9s}")
    for row in rows:
        def ratio(key: str, row: dict[str, Any] = row) -> str:
            return f"{row[key] / row['geosuff_s']:.1f}x" if key in row else "-"

        c = f"{row['geosuff_s'] / row['c_s']:.2f}" if "c_s" in row else "-"
        print(f"   {row['graph']:22s} {row['nodes']:>9,d} {row['minutes']:>4d} {fmt_s(row['geosuff_s']):>10s} {ratio('nx_s'):>9s} {ratio('ego_s'):>10s} {ratio('scipy_full_s'):>10s} {c:>9s}")
    print(f"\ntotal benchmark time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
