"""Reachable sets of 200 sources: geosuff's compiled bounded search against the C heap Dijkstra,
networkx and geosuff's own scipy csgraph path (the path used without numba), in one run.

    .venv/bin/python benchmarks/bench_kernel.py [--sizes rutland,100000,1000000] [--repeat 3]

Times are medians of ``--repeat`` wall-clock runs (the machine may be shared: compare ratios,
both sides measured a few seconds apart). networkx is timed on a subsample and scaled to 200.
Numba's one-off compile (cached on disk afterwards) is reported separately, not in the times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_traveltime import RUTLAND, CDijkstra  # noqa: E402
from synthetic_graphs import road_grid  # noqa: E402

from geosuff import routing as tt  # noqa: E402
from geosuff.network import build_graph, to_networkx  # noqa: E402
from geosuff.routing import _kernel  # noqa: E402


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    ts = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def bench_graph(name: str, args: argparse.Namespace, cdij: CDijkstra) -> None:
    g = build_graph(RUTLAND, use_cache=False) if name == "rutland" else road_grid(int(name), seed=5)
    rng = np.random.default_rng(1)
    src = rng.choice(g.n_nodes, size=200, replace=False).astype(np.int32)
    A = g.csr()
    tt.csgraph._router(g)
    t0 = time.perf_counter()
    tt.reachable(g, g.x[src[:1]], g.y[src[:1]], max_minutes=1)
    print(
        f"\n== {name}: {g.n_nodes:,} nodes; first call (compile or cache load) {time.perf_counter() - t0:.2f} s"
    )
    G = to_networkx(g) if args.nx_sources and g.n_nodes <= 200_000 else None
    for minutes in (10, 30):
        lim = minutes * 60.0
        t_geo, R = median_time(
            lambda minutes=minutes: tt.reachable(g, g.x[src], g.y[src], max_minutes=minutes),
            args.repeat,
        )
        t_c, counts = median_time(lambda lim=lim: cdij.reach(A, src, lim), args.repeat)
        ok = np.array_equal(counts, np.diff(R.indptr))
        line = (
            f"   {minutes} min: geosuff {t_geo:.3f} s | C {t_c:.3f} s | geosuff/C {t_geo / t_c:.2f}"
            f" | reached mean {np.diff(R.indptr).mean():,.0f}, counts equal C: {ok}"
        )
        if not args.no_scipy_path:
            _kernel.HAVE_NUMBA, was = False, _kernel.HAVE_NUMBA
            t_sp, _ = median_time(
                lambda minutes=minutes: tt.reachable(g, g.x[src], g.y[src], max_minutes=minutes),
                args.repeat,
            )
            _kernel.HAVE_NUMBA = was
            line += f" | scipy path (before) {t_sp:.3f} s, /C {t_sp / t_c:.2f}"
        if G is not None:
            import networkx as nx

            sub = src[: args.nx_sources]
            t_nx, res = median_time(
                lambda sub=sub, lim=lim: [
                    nx.single_source_dijkstra_path_length(
                        G, int(s), cutoff=lim, weight="travel_time"
                    )
                    for s in sub
                ],
                1,
            )
            t_nx *= src.shape[0] / sub.shape[0]
            same = [len(d) for d in res] == np.diff(R.indptr)[: sub.shape[0]].tolist()
            line += f" | networkx {t_nx / t_geo:.1f}x slower ({sub.shape[0]} sources, scaled; counts equal {same})"
        print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="rutland,100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nx-sources", type=int, default=10)
    ap.add_argument("--no-scipy-path", action="store_true")
    args = ap.parse_args()
    print(
        f"bench_kernel: numba {'available' if _kernel.HAVE_NUMBA else 'NOT available'}; "
        f"load average {os.getloadavg()[0]:.1f}; median of {args.repeat}"
    )
    cdij = CDijkstra()
    for name in args.sizes.split(","):
        bench_graph(name, args, cdij)


if __name__ == "__main__":
    main()
