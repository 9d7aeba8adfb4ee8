"""The compiled bounded search behind ``reachable`` against networkx and the scipy path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from geosuff.network import RoadGraph, build_graph, to_networkx
from geosuff.routing import _kernel, reachable

ROOT = Path(__file__).resolve().parents[2]
RUTLAND = ROOT / "geosuff" / "data" / "rutland-latest.osm.pbf"

needs_numba = pytest.mark.skipif(not _kernel.HAVE_NUMBA, reason="numba not installed")


def _road_grid(n: int, seed: int) -> RoadGraph:
    spec = importlib.util.spec_from_file_location(
        "synthetic_graphs", ROOT / "benchmarks" / "synthetic_graphs.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_graphs"] = mod
    spec.loader.exec_module(mod)
    return mod.road_grid(n, seed=seed)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def rutland() -> RoadGraph:
    return build_graph(RUTLAND, use_cache=False)


@pytest.fixture(scope="module")
def grid() -> RoadGraph:
    return _road_grid(4_000, seed=11)


def _nx_reach(G: Any, src: int, limit: float, *, reverse: bool) -> dict[int, float]:
    H = G.reverse(copy=False) if reverse else G
    return dict(nx.single_source_dijkstra_path_length(H, src, cutoff=limit, weight="travel_time"))


def _rows(R: Any) -> list[dict[int, float]]:
    R = R.tocsr()
    out = []
    for i in range(R.shape[0]):
        sl = slice(R.indptr[i], R.indptr[i + 1])
        out.append(dict(zip(R.indices[sl].tolist(), R.data[sl].tolist(), strict=True)))
    return out


def _assert_same_as_networkx(
    g: RoadGraph, G: Any, src: np.ndarray, minutes: float, *, reverse: bool
) -> None:
    limit = minutes * 60.0
    R = reachable(g, g.x[src], g.y[src], max_minutes=minutes, reverse=reverse)
    rows = _rows(R)
    for s, got in zip(src.tolist(), rows, strict=True):
        ref = _nx_reach(G, int(s), limit, reverse=reverse)
        # nodes clearly inside the cutoff are reached, nothing beyond it is
        must = {v for v, t in ref.items() if t < limit - 1e-6}
        assert must <= set(got), (s, len(must - set(got)))
        assert set(got) <= set(ref) | {v for v, t in got.items() if t > limit - 1e-6}
        common = np.array(sorted(set(got) & set(ref)))
        want = np.maximum([ref[v] for v in common], 1e-9)  # a node at 0 s is stored as 1e-9
        np.testing.assert_allclose([got[v] for v in common], want, rtol=0, atol=1e-6)
        assert len(set(got)) == len(got)  # no duplicates


@needs_numba
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("minutes", [3.0, 10.0])
def test_kernel_equals_networkx_on_rutland(
    rutland: RoadGraph, minutes: float, reverse: bool
) -> None:
    G = to_networkx(rutland)
    src = np.random.default_rng(5).choice(rutland.n_nodes, size=12, replace=False)
    _assert_same_as_networkx(rutland, G, src, minutes, reverse=reverse)


@needs_numba
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_equals_networkx_on_grid(grid: RoadGraph, reverse: bool) -> None:
    G = to_networkx(grid)
    src = np.random.default_rng(6).choice(grid.n_nodes, size=12, replace=False)
    _assert_same_as_networkx(grid, G, src, 4.0, reverse=reverse)


@needs_numba
@pytest.mark.parametrize("name", ["rutland", "grid"])
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_equals_scipy_path_for_points_between_nodes(
    request: pytest.FixtureRequest, name: str, reverse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    g: RoadGraph = request.getfixturevalue(name)
    rng = np.random.default_rng(8)
    i = rng.integers(0, g.n_nodes, 40)
    # points off the nodes (mid-chain, own-chain travel), one far off the network, one with no
    # coordinates, and a duplicate: several sources at once
    x = np.concatenate([g.x[i] + rng.normal(0, 60, 40), [g.x[0] + 50_000.0, np.nan, g.x[i[0]]]])
    y = np.concatenate([g.y[i] + rng.normal(0, 60, 40), [g.y[0], np.nan, g.y[i[0]]]])
    fast = reachable(g, x, y, max_minutes=6, reverse=reverse)
    monkeypatch.setattr(_kernel, "HAVE_NUMBA", False)
    slow = reachable(g, x, y, max_minutes=6, reverse=reverse)
    a, b = _rows(fast), _rows(slow)
    assert [len(r) for r in a] == [len(r) for r in b]
    assert sum(len(r) for r in a) > 1000
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        np.testing.assert_allclose(
            [ra[v] for v in sorted(ra)], [rb[v] for v in sorted(rb)], rtol=0, atol=1e-9
        )
    assert len(a[-2]) == 0  # no coordinates: nothing reached


@needs_numba
def test_kernel_unreachable_nodes_and_ties() -> None:
    # a 4 x 4 lattice of equal edges (many equal-time paths) plus a separate road
    xs, ys, u, v = [], [], [], []
    for r in range(4):
        for c in range(4):
            xs.append(100.0 * c)
            ys.append(100.0 * r)
    for r in range(4):
        for c in range(4):
            a = 4 * r + c
            for b in ([a + 1] if c < 3 else []) + ([a + 4] if r < 3 else []):
                u += [a, b]
                v += [b, a]
    xs += [5000.0, 5100.0]
    ys += [0.0, 0.0]
    u += [16, 17]
    v += [17, 16]
    g = RoadGraph.from_arrays(xs, ys, u, v, time_s=[10.0] * len(u))
    G = to_networkx(g)
    src = np.array([0, 5, 16])
    R = reachable(g, g.x[src], g.y[src], max_minutes=1.0)  # 60 s
    rows = _rows(R)
    for s, got in zip(src.tolist(), rows, strict=True):
        ref = _nx_reach(G, s, 60.0, reverse=False)
        assert set(got) == set(ref)
        np.testing.assert_allclose(
            [got[k] for k in sorted(got)], [max(ref[k], 1e-9) for k in sorted(got)], atol=1e-9
        )
    assert set(rows[0]) == set(range(16))  # corner: farthest node 6 edges = 60 s, inside
    assert set(rows[2]) == {16, 17}  # the separate road reaches nothing of the lattice
    # cutoff exactly on a tie: 5 edges from the corner = 50 s reaches the 15 nodes at <= 5 hops
    R50 = _rows(reachable(g, g.x[[0]], g.y[[0]], max_minutes=50 / 60))[0]
    assert set(R50) == set(range(15))
