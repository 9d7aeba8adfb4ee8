"""Chunked routing on a real 2-process Dask LocalCluster equals the unchunked functions exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from geosuff.network import RoadGraph, build_graph
from geosuff.routing import nearest_minutes, od_matrix
from geosuff.routing.chunked import (
    GraphSource,
    clear_graphs,
    graph_loads,
    nearest_by_type,
    od_matrix_chunked,
    pair_times_chunked,
    warm_workers,
)

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
RUTLAND = ROOT / "geosuff" / "data" / "rutland-latest.osm.pbf"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> GraphSource:
    cache = tmp_path_factory.mktemp("graph-cache")
    return GraphSource(str(RUTLAND), cache_dir=str(cache))


@pytest.fixture(scope="module")
def graph(source: GraphSource) -> RoadGraph:
    # builds the graph and writes the cache the workers then read
    return build_graph(source.osm_path, cache_dir=source.cache_dir)


@pytest.fixture(scope="module")
def client(source: GraphSource, graph: RoadGraph) -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _points(g: RoadGraph, n: int, seed: int) -> np.ndarray:
    """Points near random graph nodes (within ~40 m), plus one far off-network and one NaN."""
    rng = np.random.default_rng(seed)
    i = rng.choice(g.n_nodes, n - 2, replace=False)
    xy = np.column_stack([g.x[i], g.y[i]]) + rng.uniform(-40, 40, (n - 2, 2))
    far = [[g.x.min() - 5000.0, g.y.min() - 5000.0]]
    return np.vstack([xy, far, [[np.nan, np.nan]]])


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("chunk", [7, 10, 1000])
@pytest.mark.parametrize("use_client", [False, True])
def test_od_matrix_chunked_equals_od_matrix(
    source: GraphSource, graph: RoadGraph, client: object, chunk: int, use_client: bool
) -> None:
    src = _points(graph, 40, 1)  # 40 origins: chunks of 10 divide them, 7 do not
    dst = _points(graph, 60, 2)
    ref = od_matrix(graph, src, dst)  # "auto" searches from the 40 origins
    got = od_matrix_chunked(
        source, src, dst, client=client if use_client else None, chunk_size=chunk
    )
    _assert_same(got.minutes, ref.minutes)
    _assert_same(got.km, ref.km)
    _assert_same(got.estimated, ref.estimated)
    assert np.isfinite(got.minutes[:38, :58]).all()
    assert got.estimated[38, :58].all() and np.isnan(got.minutes[39]).all()


@pytest.mark.parametrize("chunk", [9, 10])
def test_pair_times_chunked_equals_od_matrix(
    source: GraphSource, graph: RoadGraph, client: object, chunk: int
) -> None:
    rng = np.random.default_rng(3)
    homes = _points(graph, 50, 4)
    places = _points(graph, 70, 5)
    a = rng.integers(0, 50, 300)  # 300 pairs over 50 homes (several children per home)
    b = rng.integers(0, 70, 300)
    got = pair_times_chunked(source, homes[a], places[b], client=client, chunk_size=chunk)
    local = pair_times_chunked(source, homes[a], places[b], client=None, chunk_size=chunk)
    ok = np.isfinite(homes[a]).all(axis=1) & np.isfinite(places[b]).all(axis=1)
    hu, hi = np.unique(homes[a][ok], axis=0, return_inverse=True)
    pu, pi = np.unique(places[b][ok], axis=0, return_inverse=True)
    ref = od_matrix(graph, hu, pu)  # 49 unique homes <= 69 places: searches from the homes
    want = np.full(300, np.nan)
    want[ok] = ref.minutes[hi.ravel(), pi.ravel()]
    want_km = np.full(300, np.nan)
    want_km[ok] = ref.km[hi.ravel(), pi.ravel()]
    for res in (got, local):
        _assert_same(res.minutes, want)
        _assert_same(res.km, want_km)
    assert np.isnan(got.minutes[~ok]).all() and np.isfinite(got.minutes[ok]).all()
    assert got.minutes[ok].max() > 5.0  # real routes, not zeros


@pytest.mark.parametrize("chunk", [None, 3, 5])
def test_nearest_by_type_equals_nearest_minutes(
    source: GraphSource, graph: RoadGraph, client: object, chunk: int | None
) -> None:
    origins = _points(graph, 300, 6)
    sites = _points(graph, 27, 7)[:-1]  # 26 sites, the last off the network
    kinds = np.array(["home"] * 10 + ["foster"] * 10 + ["school"] * 6)
    got = nearest_by_type(source, origins, sites, kinds, client=client, chunk_size=chunk)
    assert got.types == ("foster", "home", "school")
    for j, t in enumerate(got.types):
        m, e = nearest_minutes(graph, sites[kinds == t], origins, return_estimated=True)
        _assert_same(got.minutes[:, j], m)
        _assert_same(got.estimated[:, j], e)
    assert np.isfinite(got.minutes[:-1]).all() and np.isnan(got.minutes[-1]).all()
    local = nearest_by_type(source, origins, sites, kinds, client=None, chunk_size=chunk)
    _assert_same(local.minutes, got.minutes)


def test_graph_loaded_once_per_worker(source: GraphSource, client: object) -> None:
    info = warm_workers(source, client=client)
    pids = {i["pid"] for i in info}
    assert len(pids) == 2  # two worker processes
    src = np.array([[490000.0, 305000.0], [495000.0, 310000.0]])
    for _ in range(3):
        od_matrix_chunked(source, src, src[::-1], client=client, chunk_size=1)
    loads = client.run(graph_loads)  # type: ignore[attr-defined]
    assert len(loads) == 2
    path = str(Path(source.osm_path).resolve())
    for w in loads.values():
        assert w["loads"] == {path: 1}
        assert w["peak_rss_mb"] > 0
    # in process: also one load, however many calls
    clear_graphs()
    for _ in range(2):
        od_matrix_chunked(source, src, src, client=None, chunk_size=1)
    assert graph_loads()["loads"] == {path: 1}
