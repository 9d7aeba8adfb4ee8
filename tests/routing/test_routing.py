"""Tests of geosuff.traveltime against networkx on real and generated graphs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from geosuff.network import RoadGraph, build_graph, to_networkx
from geosuff.routing import (
    Snapped,
    SnapSettings,
    nearest_minutes,
    node_times,
    od_matrix,
    od_table,
    od_table_from_files,
    reachable,
    snap_points,
)
from geosuff.routing.csgraph import _router

ROOT = Path(__file__).resolve().parents[2]
RUTLAND = ROOT / "geosuff" / "data" / "rutland-latest.osm.pbf"
LEEDS = ROOT / "tests" / "data" / "its-example-leeds.osm.pbf"


def _load_synthetic() -> Any:
    spec = importlib.util.spec_from_file_location(
        "synthetic_graphs", ROOT / "benchmarks" / "synthetic_graphs.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_graphs"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rutland() -> RoadGraph:
    return build_graph(RUTLAND, use_cache=False)


@pytest.fixture(scope="module")
def leeds() -> RoadGraph:
    return build_graph(LEEDS, use_cache=False)


@pytest.fixture(scope="module")
def synthetic() -> RoadGraph:
    return _load_synthetic().road_grid(3_000, seed=7)


GRAPHS = ["rutland", "leeds", "synthetic"]


def _graph(request: pytest.FixtureRequest, name: str) -> RoadGraph:
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def _nx_times(
    G: nx.MultiDiGraph, src: int, n: int, *, cutoff: float | None = None, reverse: bool = False
) -> np.ndarray:
    H = G.reverse(copy=False) if reverse else G
    d = nx.single_source_dijkstra_path_length(H, src, cutoff=cutoff, weight="travel_time")
    out = np.full(n, np.inf)
    out[list(d)] = list(d.values())
    return out


# ---------------------------------------------------------------------- node-to-node times


@pytest.mark.parametrize("name", GRAPHS)
def test_node_times_equal_networkx(request: pytest.FixtureRequest, name: str) -> None:
    g = _graph(request, name)
    G = to_networkx(g)
    rng = np.random.default_rng(42)
    src = rng.choice(g.n_nodes, size=6, replace=False)
    times = node_times(g, g.x[src], g.y[src])  # points exactly on nodes: no access leg
    back = node_times(g, g.x[src], g.y[src], reverse=True)
    cut = node_times(g, g.x[src], g.y[src], max_minutes=5)
    for k, s in enumerate(src):
        ref = _nx_times(G, int(s), g.n_nodes)
        np.testing.assert_allclose(times[k], ref, rtol=0, atol=1e-6)
        np.testing.assert_allclose(
            back[k], _nx_times(G, int(s), g.n_nodes, reverse=True), rtol=0, atol=1e-6
        )
        np.testing.assert_allclose(
            cut[k], _nx_times(G, int(s), g.n_nodes, cutoff=300.0), rtol=0, atol=1e-6
        )
    assert np.isfinite(times).all()  # one strongly connected component


def test_random_node_pairs_od_equal_networkx(rutland: RoadGraph) -> None:
    G = to_networkx(rutland)
    rng = np.random.default_rng(3)
    a = rng.choice(rutland.n_nodes, 25, replace=False)
    b = rng.choice(rutland.n_nodes, 40, replace=False)
    od = od_matrix(
        rutland,
        np.column_stack([rutland.x[a], rutland.y[a]]),
        np.column_stack([rutland.x[b], rutland.y[b]]),
    )
    assert not od.estimated.any() and (od.reason == "").all()
    for i in range(0, 25, 4):
        dist, paths = nx.single_source_dijkstra(G, int(a[i]), weight="travel_time")
        for j in range(40):
            assert od.minutes[i, j] * 60 == pytest.approx(dist[int(b[j])], abs=1e-6)
            p = paths[int(b[j])]
            km = (
                sum(min(d["length"] for d in G[p[k]][p[k + 1]].values()) for k in range(len(p) - 1))
                / 1000
            )
            assert od.km[i, j] == pytest.approx(km, abs=1e-6)


def test_one_way_streets_respected(rutland: RoadGraph) -> None:
    g = rutland
    pairs = set(zip(g.u.tolist(), g.v.tolist(), strict=True))
    oneway = [(a, b) for a, b in pairs if (b, a) not in pairs]
    assert oneway
    a, b = oneway[0]
    pts = np.array([[g.x[a], g.y[a]], [g.x[b], g.y[b]]])
    od = od_matrix(g, pts, pts)
    G = to_networkx(g)
    ab = nx.dijkstra_path_length(G, a, b, weight="travel_time")
    ba = nx.dijkstra_path_length(G, b, a, weight="travel_time")
    assert od.minutes[0, 1] * 60 == pytest.approx(ab, abs=1e-6)
    assert od.minutes[1, 0] * 60 == pytest.approx(ba, abs=1e-6)
    assert ba > ab + 1.0  # going against the one-way needs a detour
    assert od.minutes[0, 0] == 0 and od.minutes[1, 1] == 0


# ------------------------------------------------------------------ snapped points: brute force


def _brute_force(
    g: RoadGraph, groups: dict[str, Snapped], settings: SnapSettings
) -> tuple[nx.DiGraph, dict[str, list[Any]]]:
    """networkx graph with every snapped point inserted as a virtual node splitting its segment."""
    r = _router(g)
    H = nx.DiGraph()
    for a, b, t, L in zip(
        g.u.tolist(), g.v.tolist(), g.time_s.tolist(), g.length_m.tolist(), strict=True
    ):
        if not H.has_edge(a, b) or H[a][b]["travel_time"] > t:
            H.add_edge(a, b, travel_time=t, length=L)
    on_seg: dict[int, list[tuple[float, Any]]] = {}
    ids: dict[str, list[Any]] = {}
    for tag, sn in groups.items():
        ids[tag] = []
        for i in range(len(sn)):
            v = (tag, i)
            ids[tag].append(v)
            if not sn.on_network[i]:
                continue
            s, t = int(sn.segment[i]), float(sn.seg_frac[i])
            if t <= 0:
                p: Any = int(r.seg_a[s])
            elif t >= 1:
                p = int(r.seg_b[s])
            else:
                p = (tag, i, "p")
                on_seg.setdefault(s, []).append((t, p))
            acc = sn.snap_m[i] / (settings.access_speed_kph / 3.6)
            if tag == "o":
                H.add_edge(v, p, travel_time=acc, length=sn.snap_m[i])
            else:
                H.add_edge(p, v, travel_time=acc, length=sn.snap_m[i])
    for s, pts in on_seg.items():
        a, b = int(r.seg_a[s]), int(r.seg_b[s])
        chain = [(0.0, a), *sorted(pts, key=lambda q: q[0]), (1.0, b)]
        for (t0, p0), (t1, p1) in zip(chain[:-1], chain[1:], strict=True):
            if t1 == t0:  # coinciding points (e.g. the same point as origin and destination)
                H.add_edge(p0, p1, travel_time=0.0, length=0.0)
                H.add_edge(p1, p0, travel_time=0.0, length=0.0)
                continue
            if np.isfinite(r.T_ab[s]):
                H.add_edge(p0, p1, travel_time=(t1 - t0) * r.T_ab[s], length=(t1 - t0) * r.L_ab[s])
            if np.isfinite(r.T_ba[s]):
                H.add_edge(p1, p0, travel_time=(t1 - t0) * r.T_ba[s], length=(t1 - t0) * r.L_ba[s])
    return H, ids


def _random_points(g: RoadGraph, k: int, rng: np.random.Generator, spread: float) -> np.ndarray:
    i = rng.integers(0, g.n_nodes, k)
    return np.column_stack([g.x[i] + rng.normal(0, spread, k), g.y[i] + rng.normal(0, spread, k)])


@pytest.mark.parametrize("name", GRAPHS)
def test_point_to_point_times_equal_brute_force(request: pytest.FixtureRequest, name: str) -> None:
    g = _graph(request, name)
    rng = np.random.default_rng(11)
    settings = SnapSettings()
    orig_pts = _random_points(g, 14, rng, 60.0)
    D = _random_points(g, 17, rng, 60.0)
    # points on the same segment, both orders, and one exactly on a node
    D[0] = orig_pts[0] + [3.0, 2.0]
    D[1] = orig_pts[1] - [4.0, 1.0]
    orig_pts[2] = [g.x[5], g.y[5]]
    for orig, dest in (
        (orig_pts, D),
        (D[:6], orig_pts),
    ):  # forward (n <= m) and reverse (n > m) searches
        od = od_matrix(g, orig, dest, settings=settings)
        H, ids = _brute_force(g, {"o": od.origins, "d": od.destinations}, settings)
        for i, v in enumerate(ids["o"]):
            dist, paths = nx.single_source_dijkstra(H, v, weight="travel_time")
            for j, w in enumerate(ids["d"]):
                assert od.minutes[i, j] * 60 == pytest.approx(dist[w], abs=1e-6), (i, j)
                p = paths[w]
                km = sum(H[p[k]][p[k + 1]]["length"] for k in range(len(p) - 1)) / 1000
                assert od.km[i, j] == pytest.approx(km, abs=1e-6), (i, j)
    # same point as origin and destination: only the two access legs
    od = od_matrix(g, orig_pts[:1], orig_pts[:1], settings=settings)
    assert od.minutes[0, 0] * 60 == pytest.approx(
        2 * od.origins.snap_m[0] / (settings.access_speed_kph / 3.6)
    )


def test_node_times_from_points_equal_brute_force(rutland: RoadGraph) -> None:
    g = rutland
    rng = np.random.default_rng(5)
    settings = SnapSettings()
    P = _random_points(g, 5, rng, 80.0)
    fwd, sn = node_times(g, P[:, 0], P[:, 1], settings=settings, return_snapped=True)
    back = node_times(g, P[:, 0], P[:, 1], reverse=True, settings=settings)
    H, ids = _brute_force(g, {"o": sn}, settings)
    H2, ids2 = _brute_force(g, {"d": sn}, settings)
    for i in range(len(sn)):
        d = nx.single_source_dijkstra_path_length(H, ids["o"][i], weight="travel_time")
        ref = np.array([d[n] for n in range(g.n_nodes)])
        np.testing.assert_allclose(fwd[i], ref, rtol=0, atol=1e-6)
        d2 = nx.single_source_dijkstra_path_length(
            H2.reverse(copy=False), ids2["d"][i], weight="travel_time"
        )
        np.testing.assert_allclose(
            back[i], np.array([d2[n] for n in range(g.n_nodes)]), rtol=0, atol=1e-6
        )
    sp_ = reachable(g, P[:, 0], P[:, 1], max_minutes=8, settings=settings).toarray()
    within = np.where(fwd <= 480, fwd, 0.0)
    np.testing.assert_allclose(sp_, within, rtol=0, atol=1e-9)


def test_snap_is_to_nearest_segment_not_node() -> None:
    # a long straight road: the nearest node is 500 m away but the road passes 10 m away
    g = RoadGraph.from_arrays(
        [0.0, 1000.0, 1000.0],
        [0.0, 0.0, 1000.0],
        [0, 1, 1, 2],
        [1, 0, 2, 1],
        time_s=[100.0, 100.0, 100.0, 100.0],
    )
    sn = snap_points(g, [500.0], [10.0])
    assert sn.snap_m[0] == pytest.approx(10.0)
    assert sn.frac[0] == pytest.approx(0.5)
    assert sn.on_network[0] and sn.reason[0] == ""
    assert (sn.snap_x[0], sn.snap_y[0]) == pytest.approx((500.0, 0.0))
    s = SnapSettings(access_speed_kph=36.0)  # 10 m/s
    t = node_times(g, [500.0], [10.0], settings=s)[0]
    np.testing.assert_allclose(t, [1.0 + 50.0, 1.0 + 50.0, 1.0 + 150.0])


def test_one_way_edge_fraction_costs() -> None:
    # single one-way edge 0 -> 1 (100 s) plus a slow way back 1 -> 2 -> 0 (500 s each)
    g = RoadGraph.from_arrays(
        [0, 100, 50], [0, 0, 100], [0, 1, 2], [1, 2, 0], time_s=[100.0, 500.0, 500.0]
    )
    pts = np.array([[25.0, 0.0], [75.0, 0.0]])
    od = od_matrix(g, pts, pts)
    assert od.minutes[0, 1] * 60 == pytest.approx(50.0)  # along the edge
    assert od.minutes[1, 0] * 60 == pytest.approx(25.0 + 500 + 500 + 25.0)  # round the loop
    assert od.km[0, 1] == pytest.approx(0.05)


# ------------------------------------------------------------------------ off network, cutoffs


def test_off_network_and_missing_points_are_reported_not_dropped(rutland: RoadGraph) -> None:
    g = rutland
    settings = SnapSettings()
    on = np.array([[g.x[10], g.y[10]], [g.x[500], g.y[500]]])
    far = np.array([[g.x[10] - 30_000.0, g.y[10]]])  # 30 km west of Rutland's roads
    nan = np.array([[np.nan, np.nan]])
    orig_pts = np.vstack([on, far, nan])
    D = np.vstack([on[::-1], far])
    od = od_matrix(g, orig_pts, D, settings=settings)
    assert od.minutes.shape == (4, 3)
    assert od.origins.on_network.tolist() == [True, True, False, False]
    assert "off network" in od.origins.reason[2] and "max_snap_m" in od.origins.reason[2]
    assert od.origins.reason[3] == "no coordinates"
    assert od.origins.snap_m[2] > 1000
    # on-network pairs routed
    assert not od.estimated[:2, :2].any() and np.isfinite(od.minutes[:2, :2]).all()
    # pairs with an off-network end estimated from the straight line
    straight = np.hypot(orig_pts[2, 0] - D[0, 0], orig_pts[2, 1] - D[0, 1])
    assert od.estimated[2, 0]
    assert od.minutes[2, 0] == pytest.approx(straight * 1.3 / (40 / 3.6) / 60)
    assert od.km[2, 0] == pytest.approx(straight * 1.3 / 1000)
    assert od.reason[2, 0].startswith("estimated: origin off network")
    assert od.estimated[0, 2] and "destination off network" in od.reason[0, 2]
    assert od.estimated[2, 2] and "origin" in od.reason[2, 2] and "destination" in od.reason[2, 2]
    assert od.minutes[2, 2] == pytest.approx(0.0)
    # no coordinates: no value, not estimated, reason given
    assert np.isnan(od.minutes[3]).all() and not od.estimated[3].any()
    assert (od.reason[3] == "origin has no coordinates").all()
    table = od_table(od, ["a", "b", "far", "nowhere"], ["x", "y", "far"])
    assert len(table) == 12
    assert list(table.columns) == ["from_id", "to_id", "minutes", "km", "estimated", "reason"]
    row = table[(table.from_id == "nowhere") & (table.to_id == "x")].iloc[0]
    assert np.isnan(row.minutes) and row.reason == "origin has no coordinates"


def test_larger_snap_limit_snaps_far_points(rutland: RoadGraph) -> None:
    g = rutland
    p = np.array([[g.x[10] - 3_000.0, g.y[10] + 4_000.0]])
    default = snap_points(g, p[:, 0], p[:, 1])
    wide = snap_points(g, p[:, 0], p[:, 1], settings=SnapSettings(max_snap_m=1e5))
    assert wide.on_network[0]
    assert default.on_network[0] == (default.snap_m[0] <= 1000)


def test_unreachable_pairs_reported() -> None:
    # two separate two-way roads: no route between them
    g = RoadGraph.from_arrays(
        [0, 100, 0, 100], [0, 0, 500, 500], [0, 1, 2, 3], [1, 0, 3, 2], time_s=[10.0] * 4
    )
    od = od_matrix(g, [[50, 1]], [[50, 499], [60, 1]])
    assert np.isnan(od.minutes[0, 0]) and od.reason[0, 0] == "no route" and not od.estimated[0, 0]
    assert od.minutes[0, 1] * 60 == pytest.approx(1.0 + 1 / (20 / 3.6) * 2)
    t = node_times(g, [50.0], [1.0])[0]
    assert np.isinf(t[2:]).all() and np.isfinite(t[:2]).all()


def test_cutoff_marks_pairs_beyond(synthetic: RoadGraph) -> None:
    g = synthetic
    rng = np.random.default_rng(2)
    orig_pts = _random_points(g, 6, rng, 30.0)
    D = _random_points(g, 9, rng, 30.0)
    full = od_matrix(g, orig_pts, D)
    cut = od_matrix(g, orig_pts, D, max_minutes=4.0)
    inside = full.minutes <= 4.0
    assert inside.any() and (~inside).any()
    np.testing.assert_allclose(cut.minutes[inside], full.minutes[inside], rtol=0, atol=1e-9)
    np.testing.assert_allclose(cut.km[inside], full.km[inside], rtol=0, atol=1e-9)
    assert np.isnan(cut.minutes[~inside]).all()
    assert (cut.reason[~inside] == "beyond max_minutes").all()


def test_search_direction_does_not_change_results(synthetic: RoadGraph) -> None:
    g = synthetic
    rng = np.random.default_rng(9)
    orig_pts = _random_points(g, 40, rng, 30.0)
    D = _random_points(g, 12, rng, 30.0)
    small = od_matrix(g, orig_pts[:5], D)  # forward from origins
    big = od_matrix(g, orig_pts, D)  # reverse from destinations
    np.testing.assert_allclose(small.minutes, big.minutes[:5], rtol=0, atol=1e-9)
    np.testing.assert_allclose(small.km, big.km[:5], rtol=0, atol=1e-9)


@pytest.mark.parametrize("n_orig", [5, 40])  # forward from origins / reverse from destinations
def test_od_without_km_has_the_same_minutes(rutland: RoadGraph, n_orig: int) -> None:
    g = rutland
    rng = np.random.default_rng(11)
    orig_pts = _random_points(g, n_orig, rng, 300.0)
    orig_pts[0] = [g.x.min() - 50_000, g.y.min()]  # off the network: an estimated pair
    orig_pts[1] = [np.nan, np.nan]
    D = _random_points(g, 12, rng, 300.0)
    for cutoff in (None, 20.0):
        full = od_matrix(g, orig_pts, D, max_minutes=cutoff)
        fast = od_matrix(g, orig_pts, D, max_minutes=cutoff, with_km=False)
        np.testing.assert_array_equal(fast.minutes, full.minutes)
        np.testing.assert_array_equal(fast.estimated, full.estimated)
        np.testing.assert_array_equal(fast.reason, full.reason)
        assert np.isnan(fast.km).all() and np.isfinite(full.km).any()


# ------------------------------------------------------------------------------ nearest


def test_nearest_minutes(rutland: RoadGraph) -> None:
    g = rutland
    rng = np.random.default_rng(21)
    S = _random_points(g, 4, rng, 100.0)
    S = np.vstack([S, [[g.x[0] - 50_000, g.y[0]]]])  # an off-network source, far away
    T = _random_points(g, 30, rng, 100.0)
    T[0] = S[1] + [2.0, -3.0]  # shares the source's segment (most likely)
    per_node = nearest_minutes(g, S)
    ref = node_times(g, S[:4, 0], S[:4, 1], reverse=True).min(axis=0) / 60
    np.testing.assert_allclose(per_node, ref, rtol=0, atol=1e-8)
    per_target, est = nearest_minutes(g, S, T, return_estimated=True)
    od = od_matrix(g, T, S)
    np.testing.assert_allclose(per_target, np.nanmin(od.minutes, axis=1), rtol=0, atol=1e-8)
    assert not est.any()
    cut = nearest_minutes(g, S, T, max_minutes=3)
    np.testing.assert_allclose(cut, np.where(per_target <= 3, per_target, np.nan))
    # a target far from every road gets an estimate to the nearest source
    far = nearest_minutes(g, S, [[S[4, 0] + 1000.0, S[4, 1]]], return_estimated=True)
    assert far[1][0] and far[0][0] == pytest.approx(1000 * 1.3 / (40 / 3.6) / 60)


# ------------------------------------------------------------------------------ files


def test_od_table_from_files(tmp_path: Path, leeds: RoadGraph) -> None:
    from pyproj import Transformer

    g = leeds
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(g.x[[3, 40, 80]], g.y[[3, 40, 80]])
    pd.DataFrame({"id": ["s1", "s2", "s3"], "lon": lon, "lat": lat}).to_csv(
        tmp_path / "from.csv", index=False
    )
    pd.DataFrame(
        {
            "id": ["h1", "h2", "h3"],
            "easting": [g.x[10], g.x[60], np.nan],
            "northing": [g.y[10], g.y[60], np.nan],
        }
    ).to_csv(tmp_path / "to.csv", index=False)
    table = od_table_from_files(
        LEEDS, tmp_path / "from.csv", tmp_path / "to.csv", cache_dir=tmp_path / "c"
    )
    assert len(table) == 9
    assert table.from_id.tolist() == ["s1"] * 3 + ["s2"] * 3 + ["s3"] * 3
    assert table[table.to_id == "h3"].minutes.isna().all()
    assert (
        table[table.to_id == "h3"].reason.str.startswith("destination not located: no location")
    ).all()
    od = od_matrix(
        g,
        np.column_stack([g.x[[3, 40, 80]], g.y[[3, 40, 80]]]),
        np.column_stack([g.x[[10, 60]], g.y[[10, 60]]]),
    )
    got = table[table.to_id != "h3"].minutes.to_numpy().reshape(3, 2)
    np.testing.assert_allclose(got, np.round(od.minutes, 2), atol=0.011)
    assert "easting" not in table.columns and "lon" not in table.columns


def test_od_table_from_postcode_files(tmp_path: Path) -> None:
    pcs = pd.read_csv(ROOT / "geosuff" / "data" / "postcodes_rutland_codepoint2014.csv", nrows=400)
    pcs = pcs.drop_duplicates(["easting", "northing"]).iloc[[0, 50, 100]]
    lookup = tmp_path / "lookup.csv"
    pcs[["postcode", "easting", "northing"]].to_csv(lookup, index=False)
    pd.DataFrame({"id": ["a", "b"], "postcode": [pcs.postcode.iloc[0], "ZZ99 9ZZ"]}).to_csv(
        tmp_path / "f.csv", index=False
    )
    pd.DataFrame(
        {"id": ["c", "d"], "postcode": [pcs.postcode.iloc[1], pcs.postcode.iloc[2]]}
    ).to_csv(tmp_path / "t.csv", index=False)
    table = od_table_from_files(
        RUTLAND, tmp_path / "f.csv", tmp_path / "t.csv", postcodes=lookup, cache_dir=tmp_path / "c"
    )
    assert len(table) == 4
    g = build_graph(RUTLAND, cache_dir=tmp_path / "c")
    assert g.meta["from_cache"] is True
    od = od_matrix(
        g,
        pcs[["easting", "northing"]].to_numpy(float)[:1],
        pcs[["easting", "northing"]].to_numpy(float)[1:],
    )
    np.testing.assert_allclose(table.minutes.to_numpy()[:2], np.round(od.minutes[0], 2))
    bad = table[table.from_id == "b"]
    assert bad.minutes.isna().all()
    assert bad.reason.str.startswith("origin not located").all()


def _ring(k: int, *, oneway: bool) -> tuple[list[float], list[float], list[int], list[int]]:
    ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
    xs = (1000 * np.cos(ang)).tolist()
    ys = (1000 * np.sin(ang)).tolist()
    u = list(range(k))
    v = [(i + 1) % k for i in range(k)]
    if not oneway:
        u, v = u + v, v + u
    return xs, ys, u, v


def _small_graphs() -> dict[str, RoadGraph]:
    out = {}
    for name, oneway in (("ring", False), ("oneway_ring", True)):
        xs, ys, u, v = _ring(7, oneway=oneway)
        out[name] = RoadGraph.from_arrays(xs, ys, u, v, time_s=np.linspace(20, 80, len(u)))
    # lollipop: a one-way loop J -> a -> b -> c -> J hanging off a two-way stem K - J - L
    xs = [0.0, 100.0, 200.0, 200.0, 100.0, -300.0, 0.0]
    ys = [0.0, 100.0, 100.0, -100.0, -100.0, 0.0, -400.0]
    u = [0, 1, 2, 3, 4, 0, 5, 0, 6]
    v = [1, 2, 3, 4, 0, 5, 0, 6, 0]
    out["lollipop"] = RoadGraph.from_arrays(
        xs, ys, u, v, time_s=[10.0, 12, 9, 15, 11, 30, 31, 25, 26]
    )
    return out


@pytest.mark.parametrize("name", ["ring", "oneway_ring", "lollipop"])
def test_chain_contraction_edge_cases_equal_brute_force(name: str) -> None:
    g = _small_graphs()[name]
    rng = np.random.default_rng(4)
    settings = SnapSettings()
    pts = np.column_stack(
        [
            rng.uniform(g.x.min() - 50, g.x.max() + 50, 12),
            rng.uniform(g.y.min() - 50, g.y.max() + 50, 12),
        ]
    )
    pts[0] = [g.x[0], g.y[0]]  # on a node
    od = od_matrix(g, pts, pts, settings=settings)
    H, ids = _brute_force(g, {"o": od.origins, "d": od.destinations}, settings)
    for i, v in enumerate(ids["o"]):
        dist = nx.single_source_dijkstra_path_length(H, v, weight="travel_time")
        for j, w in enumerate(ids["d"]):
            assert od.minutes[i, j] * 60 == pytest.approx(dist[w], abs=1e-6), (i, j)
    fwd = node_times(g, pts[:, 0], pts[:, 1], settings=settings)
    back = node_times(g, pts[:, 0], pts[:, 1], settings=settings, reverse=True)
    Hr = H.reverse(copy=False)
    for i in range(len(pts)):
        d = nx.single_source_dijkstra_path_length(H, ids["o"][i], weight="travel_time")
        np.testing.assert_allclose(fwd[i], [d[k] for k in range(g.n_nodes)], rtol=0, atol=1e-6)
        d2 = nx.single_source_dijkstra_path_length(Hr, ids["d"][i], weight="travel_time")
        np.testing.assert_allclose(back[i], [d2[k] for k in range(g.n_nodes)], rtol=0, atol=1e-6)
    near = nearest_minutes(g, pts[:3])
    np.testing.assert_allclose(near, back[:3].min(axis=0) / 60, rtol=0, atol=1e-9)


def test_parallel_edges_use_the_fastest() -> None:
    g = RoadGraph.from_arrays(
        [0.0, 100.0, 50.0],
        [0.0, 0.0, 80.0],
        [0, 0, 1, 1, 2],
        [1, 1, 0, 2, 0],
        time_s=[100.0, 40.0, 50.0, 30.0, 30.0],
    )
    t = node_times(g, [0.0], [0.0])[0]
    assert t[1] == pytest.approx(40.0)
    od = od_matrix(g, [[0.0, 0.0]], [[100.0, 0.0]])
    assert od.km[0, 0] == pytest.approx(0.1)


@pytest.mark.parametrize("fraction", [0.0, 2.0])  # always dense / always sparse expansion
def test_reachable_expansion_paths_agree(
    rutland: RoadGraph, fraction: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geosuff.routing as tt

    rng = np.random.default_rng(8)
    P = _random_points(rutland, 7, rng, 60.0)
    P[0] = [rutland.x[3], rutland.y[3]]
    monkeypatch.setattr(tt, "SPARSE_REACH_FRACTION", fraction)
    for reverse in (False, True):
        R = reachable(rutland, P[:, 0], P[:, 1], max_minutes=6, reverse=reverse).toarray()
        full = node_times(rutland, P[:, 0], P[:, 1], reverse=reverse)
        np.testing.assert_allclose(R, np.where(full <= 360, full, 0.0), rtol=0, atol=1e-9)
