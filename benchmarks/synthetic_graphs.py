"""Seeded synthetic road-like graphs for tests and benchmarks.

A perturbed square grid (100 m blocks) with:

* random deletions of local street segments (cul-de-sacs, irregular blocks),
* one-way local streets (random direction),
* a hierarchy of faster roads: every ``arterial_every``-th row/column is an arterial
  (never deleted, two-way, 40-50 mph), every ``trunk_every``-th a trunk road (60-70 mph);
  local streets run at 20-30 mph with per-edge variation,

restricted to its largest strongly connected component. Everything is vectorised, so 10^6 nodes
take a few seconds. Coordinates are metres in a British National Grid-like frame.

Usage: ``python benchmarks/synthetic_graphs.py 100000`` prints the size of a generated graph.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geosuff.network import MPH_TO_KPH, RoadGraph, largest_strong_component  # noqa: E402

BLOCK_M = 100.0


def road_grid(
    n_nodes: int,
    *,
    seed: int = 0,
    delete_frac: float = 0.12,
    oneway_frac: float = 0.10,
    arterial_every: int = 10,
    trunk_every: int = 50,
    jitter_m: float = 20.0,
    origin: tuple[float, float] = (400_000.0, 300_000.0),
) -> RoadGraph:
    """A road-like directed graph with about ``n_nodes`` nodes (largest strong component).

    Parameters
    ----------
    n_nodes : int
        Target node count (the grid side is ``ceil(sqrt(n_nodes))``).
    seed : int
        Random seed: the same arguments give the same graph.
    delete_frac : float
        Fraction of local street segments removed.
    oneway_frac : float
        Fraction of remaining local street segments made one-way.
    arterial_every, trunk_every : int
        Spacing (in blocks) of arterial and trunk rows/columns.
    jitter_m : float
        Standard deviation of the random node displacement (m).
    origin : (float, float)
        Easting/northing of the grid corner (m).

    Returns
    -------
    RoadGraph
        ``highway`` is "trunk", "primary" or "residential"; ``meta['generator']`` records the
        arguments.
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ii = ii.ravel()
    jj = jj.ravel()
    x = origin[0] + jj * BLOCK_M + rng.normal(0.0, jitter_m, ii.shape[0])
    y = origin[1] + ii * BLOCK_M + rng.normal(0.0, jitter_m, ii.shape[0])
    node = ii * side + jj

    # horizontal (along a row) and vertical (along a column) segments
    h = jj < side - 1
    v = ii < side - 1
    a = np.concatenate([node[h], node[v]])
    b = np.concatenate([node[h] + 1, node[v] + side])
    line = np.concatenate([ii[h], jj[v]])  # the row (horizontal) or column (vertical) index
    cls = np.zeros(a.shape[0], dtype=np.int8)  # 0 local, 1 arterial, 2 trunk
    cls[line % arterial_every == 0] = 1
    cls[line % trunk_every == 0] = 2

    local = cls == 0
    keep = ~local | (rng.random(a.shape[0]) >= delete_frac)
    a, b, cls = a[keep], b[keep], cls[keep]
    local = cls == 0
    oneway = local & (rng.random(a.shape[0]) < oneway_frac)
    flip = oneway & (rng.random(a.shape[0]) < 0.5)
    a, b = np.where(flip, b, a), np.where(flip, a, b)

    mph = np.where(
        cls == 2,
        rng.uniform(60, 70, a.shape[0]),
        np.where(cls == 1, rng.uniform(40, 50, a.shape[0]), rng.uniform(20, 30, a.shape[0])),
    )
    kph = mph * MPH_TO_KPH
    two = ~oneway
    u = np.concatenate([a, b[two]])
    w = np.concatenate([b, a[two]])
    speed = np.concatenate([kph, kph[two]])
    c = np.concatenate([cls, cls[two]])
    length = np.hypot(x[w] - x[u], y[w] - y[u])
    highway = np.array(["residential", "primary", "trunk"], dtype=object)[c]
    g = RoadGraph.from_arrays(
        x,
        y,
        u,
        w,
        time_s=length / (speed / 3.6),
        length_m=length,
        highway=highway,
        meta={
            "generator": {
                "kind": "road_grid",
                "n_nodes": n_nodes,
                "seed": seed,
                "delete_frac": delete_frac,
                "oneway_frac": oneway_frac,
                "arterial_every": arterial_every,
                "trunk_every": trunk_every,
            },
            "crs": "EPSG:27700",
        },
    )
    return largest_strong_component(g)


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    g = road_grid(size)
    print(f"road_grid({size}): {g.n_nodes} nodes, {g.n_edges} edges")
