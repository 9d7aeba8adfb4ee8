"""Catchment polygons, served areas, population coverage and 2SFCA (geosuff.catchments)."""

from __future__ import annotations

import types
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from geosuff._errors import ConfigError, InputFileError
from geosuff.analysis import catchments as C
from geosuff.network import RoadGraph
from geosuff.pipeline import catchments_from_files

RUTLAND_PBF = Path(__file__).resolve().parents[2] / "geosuff" / "data" / "rutland-latest.osm.pbf"
SPEED_MPS = 10.0  # 36 km/h on the synthetic graphs


def _graph(
    xy: list[tuple[float, float]], edges: list[tuple[int, int]], *, two_way: bool
) -> RoadGraph:
    x = np.array([p[0] for p in xy], dtype=float)
    y = np.array([p[1] for p in xy], dtype=float)
    u = [a for a, _ in edges] + ([b for _, b in edges] if two_way else [])
    v = [b for _, b in edges] + ([a for a, _ in edges] if two_way else [])
    u_a, v_a = np.array(u), np.array(v)
    length = np.hypot(x[v_a] - x[u_a], y[v_a] - y[u_a])
    return RoadGraph.from_arrays(x, y, u_a, v_a, time_s=length / SPEED_MPS)


def _times(graph: RoadGraph, source: int) -> np.ndarray:
    return np.asarray(dijkstra(graph.csr("time_s"), indices=source))


def _straight(n: int = 11, step: float = 100.0) -> RoadGraph:
    return _graph(
        [(i * step, 0.0) for i in range(n)], [(i, i + 1) for i in range(n - 1)], two_way=True
    )


# ------------------------------------------------------------------------- small known answers


def test_straight_road_is_a_buffered_segment_cut_at_the_threshold() -> None:
    g = _straight()
    access = 50.0
    t = _times(g, 0)
    minutes = 33.0 / 60.0  # 33 s at 10 m/s: 330 m of road, cut a third of the way into edge 3->4
    gdf = C.catchment_polygons(g, t, minutes, access_m=access)
    assert len(gdf) == 1 and gdf.crs.to_epsg() == 27700
    row = gdf.iloc[0]
    cell = access / 3
    expected = shapely.LineString([(0, 0), (330, 0)]).buffer(access)
    assert row["area_km2"] * 1e6 == pytest.approx(expected.area, rel=0.03)
    assert shapely.hausdorff_distance(row.geometry, expected) <= cell * 1.5
    assert row["nodes_reached"] == 4  # x = 0, 100, 200, 300
    assert row["share_reached_inside"] == 1.0
    assert row["nodes_unreached_inside"] == 0 and row["share_unreached_inside"] == 0.0
    assert row["method"] == C.METHOD and row["access_m"] == access
    assert gdf.attrs["method"] == C.METHOD and gdf.attrs["access_m"] == access
    # the reference recipe draws the same road
    ref = C.buffered_edge_union(g, t, minutes, access)
    assert ref.area == pytest.approx(expected.area, rel=0.01)


def test_site_on_a_road_reaches_both_ways_from_its_snapped_position() -> None:
    """Engine snapping: a site 20 m off the road at x=150 spends 3.6 s on its drive (20 km/h)."""
    g = _straight()
    sites = pd.DataFrame(
        {
            "site_id": ["a"],
            "type": ["childrens_home"],
            "places": [3],
            "easting": [150.0],
            "northing": [20.0],
        }
    )
    gdf = C.site_catchments(g, sites, [0.5], access_m=50.0)
    reach = (30.0 - 20.0 / (20 / 3.6)) * SPEED_MPS  # metres of road either way
    expected = shapely.LineString([(0, 0), (150 + reach, 0)]).buffer(50.0)
    geom = gdf.geometry.iloc[0]
    assert shapely.hausdorff_distance(geom, expected) <= 50.0 / 3 * 1.5
    assert list(gdf.columns[:4]) == ["site_id", "type", "places", "minutes"]
    assert gdf["type"].iloc[0] == "childrens_home" and gdf["places"].iloc[0] == 3


def test_one_way_loop_is_only_reached_in_its_direction() -> None:
    # square loop 400 m a side, a node every 100 m, one-way anticlockwise from (0, 0)
    side = [(float(i * 100), 0.0) for i in range(4)] + [(400.0, float(i * 100)) for i in range(4)]
    side += [(float(400 - i * 100), 400.0) for i in range(4)] + [
        (0.0, float(400 - i * 100)) for i in range(4)
    ]
    n = len(side)
    g = _graph(side, [(i, (i + 1) % n) for i in range(n)], two_way=False)
    t = _times(g, 0)
    access = 50.0
    gdf = C.catchment_polygons(g, t, 1.0, access_m=access)  # 600 m of road
    geom = gdf.geometry.iloc[0]
    expected = shapely.LineString([(0, 0), (400, 0), (400, 200)]).buffer(access)
    assert shapely.hausdorff_distance(geom, expected) <= access / 3 * 1.5
    assert not geom.covers(shapely.Point(0, 150))  # 150 m "behind" the source, against the flow
    two_way = _graph(side, [(i, (i + 1) % n) for i in range(n)], two_way=True)
    geom2 = C.catchment_polygons(two_way, _times(two_way, 0), 1.0, access_m=access).geometry.iloc[0]
    assert geom2.covers(shapely.Point(0, 150))


def test_unreachable_cul_de_sac_and_island_are_left_out() -> None:
    main = [(float(i * 100), 0.0) for i in range(11)]  # nodes 0..10
    spur = [(500.0, float(j * 100)) for j in range(1, 5)]  # nodes 11..14, exit-only spur
    island = [(200.0, 600.0), (300.0, 600.0)]  # nodes 15, 16, not connected
    xy = main + spur + island
    u = [i for i in range(10)] + [i + 1 for i in range(10)] + [11, 12, 13, 14] + [15, 16]
    v = [i + 1 for i in range(10)] + [i for i in range(10)] + [5, 11, 12, 13] + [16, 15]
    x = np.array([p[0] for p in xy])
    y = np.array([p[1] for p in xy])
    length = np.hypot(x[v] - x[u], y[v] - y[u])
    g = RoadGraph.from_arrays(x, y, u, v, time_s=length / SPEED_MPS)
    t = _times(g, 0)
    assert np.isinf(t[11:]).all()
    access = 50.0
    row = C.catchment_polygons(g, t, 10.0, access_m=access).iloc[0]
    expected = shapely.LineString([(0, 0), (1000, 0)]).buffer(access)
    assert shapely.hausdorff_distance(row.geometry, expected) <= access / 3 * 1.5
    assert not row.geometry.intersects(shapely.Point(500, 300).buffer(40))
    assert not row.geometry.intersects(shapely.LineString([(200, 600), (300, 600)]))
    assert row["nodes_reached"] == 11
    assert row["nodes_unreached_inside"] == 0 and row["share_unreached_inside"] == 0.0
    # with a wider access distance the first spur node (100 m away) falls inside: reported
    row2 = C.catchment_polygons(g, t, 10.0, access_m=150.0).iloc[0]
    assert row2["nodes_unreached_inside"] == 1
    assert row2["share_unreached_inside"] == pytest.approx(1 / 6)


def test_holes_where_the_network_does_not_reach_stay_holes() -> None:
    corners = [(0, 0), (2000, 0), (2000, 2000), (0, 2000)]
    pts: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        pts += [(x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10) for k in range(10)]
    n = len(pts)
    g = _graph(pts, [(i, (i + 1) % n) for i in range(n)], two_way=True)
    access = 100.0
    geom = C.catchment_polygons(g, _times(g, 0), 60.0, access_m=access).geometry.iloc[0]
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    assert not geom.covers(shapely.Point(1000, 1000))
    expected = shapely.LinearRing(corners).buffer(access)
    assert geom.area == pytest.approx(expected.area, rel=0.02)
    assert shapely.hausdorff_distance(geom, expected) <= access / 3 * 1.5


def test_nested_thresholds_and_quality_columns_on_a_small_graph() -> None:
    g = _straight(21)
    gdf = C.catchment_polygons(g, _times(g, 0), [1.0, 0.5, 2.0], access_m=60.0, source_ids=["s"])
    assert list(gdf["minutes"]) == [0.5, 1.0, 2.0]  # sorted, one row per threshold
    assert (gdf["site_id"] == "s").all()
    geoms = list(gdf.geometry)
    for small, big in zip(geoms, geoms[1:], strict=False):
        assert shapely.covers(big.buffer(1e-6), small)


def test_polygonised_cells_are_valid_and_exact() -> None:
    """The raster-to-polygon step is the union of the selected cells, valid, holes and all."""
    rng = np.random.default_rng(7)
    h = 10.0
    lay = types.SimpleNamespace(nx=20, ny=15, xmin=1000.0, ymax=5000.0, cell_m=h)
    cx = lay.xmin + (np.arange(lay.nx) + 0.5) * h
    cy = lay.ymax - (np.arange(lay.ny) + 0.5) * h
    for _ in range(60):
        mask = rng.random((lay.ny, lay.nx)) < rng.uniform(0.3, 0.8)
        ids = np.flatnonzero(mask)
        geom = C._cells_polygon(lay, ids)  # type: ignore[arg-type]
        assert geom.is_valid
        assert geom.area == pytest.approx(ids.size * h * h)
        X, Y = np.meshgrid(cx, cy)
        assert np.array_equal(shapely.contains_xy(geom, X, Y), mask)


def test_sparse_node_times_give_the_same_polygons() -> None:
    import scipy.sparse as sp

    g = _straight()
    t = _times(g, 3)
    dense = C.catchment_polygons(g, t, 0.5, access_m=60.0)
    reached = np.isfinite(t) & (t <= 30)
    sparse_t = sp.csr_array(
        (np.maximum(t[reached], 1e-9), (np.zeros(reached.sum(), int), np.flatnonzero(reached))),
        shape=(1, g.n_nodes),
    )
    sparse = C.catchment_polygons(g, sparse_t, 0.5, access_m=60.0)
    assert dense.geometry.iloc[0].equals(sparse.geometry.iloc[0])


def test_bad_settings_raise_with_a_fix() -> None:
    g = _straight()
    t = _times(g, 0)
    with pytest.raises(ConfigError, match="cell_m"):
        C.catchment_polygons(g, t, 15, access_m=100, cell_m=80)
    with pytest.raises(ConfigError, match="minutes"):
        C.catchment_polygons(g, t, [15, -5])
    with pytest.raises(ConfigError, match="access_m"):
        C.catchment_polygons(g, t, 15, access_m=0)
    with pytest.raises(InputFileError, match="shape"):
        C.catchment_polygons(g, t[:5], 15)
    with pytest.raises(InputFileError, match="northing"):
        C.site_catchments(g, pd.DataFrame({"site_id": [1], "easting": [0.0]}), 15)


# --------------------------------------------------------------------------------- real graph


@pytest.fixture(scope="module")
def rutland() -> RoadGraph:
    from geosuff.network import build_graph

    return build_graph(RUTLAND_PBF, use_cache=False)


@pytest.fixture(scope="module")
def rutland_sites(rutland: RoadGraph) -> pd.DataFrame:
    # three real places in Rutland (BNG): Oakham centre, Uppingham centre, Empingham
    return pd.DataFrame(
        {
            "site_id": ["oakham", "uppingham", "empingham"],
            "type": ["childrens_home", "childrens_home", "supported_accommodation"],
            "places": [4, 3, 6],
            "available_places": [0, 3, 2],
            "easting": [486100.0, 486700.0, 495100.0],
            "northing": [308700.0, 299800.0, 308500.0],
        }
    )


@pytest.fixture(scope="module")
def rutland_catchments(rutland: RoadGraph, rutland_sites: pd.DataFrame) -> gpd.GeoDataFrame:
    return C.site_catchments(rutland, rutland_sites, [10, 20, 30, 45])


def test_rutland_reached_nodes_are_inside_and_overreach_is_reported(
    rutland: RoadGraph, rutland_sites: pd.DataFrame, rutland_catchments: gpd.GeoDataFrame
) -> None:
    from geosuff import routing as tt

    gdf = rutland_catchments
    assert len(gdf) == 12 and gdf.attrs["skipped_sites"] == []
    times = tt.node_times(
        rutland, rutland_sites["easting"], rutland_sites["northing"], max_minutes=45
    )
    for _, row in gdf.iterrows():
        i = int(np.flatnonzero(rutland_sites["site_id"] == row["site_id"])[0])
        reached = times[i] <= row["minutes"] * 60
        inside = shapely.contains_xy(row.geometry, rutland.x, rutland.y)
        assert row.geometry.is_valid
        assert row["nodes_reached"] == int(reached.sum())
        assert inside[reached].all(), "every reached node lies inside its polygon"
        assert row["share_reached_inside"] == 1.0
        n_unreached = int((~reached).sum())
        assert row["nodes_unreached_inside"] == int((inside & ~reached).sum())
        if n_unreached:
            assert row["share_unreached_inside"] == pytest.approx(
                (inside & ~reached).sum() / n_unreached
            )
    small = gdf[gdf["minutes"] == 10]
    assert (small["share_unreached_inside"] < 0.1).all()
    assert (small["share_unreached_inside"] > 0).all()  # neighbours of reached roads within 250 m


def test_rutland_thresholds_nest(rutland_catchments: gpd.GeoDataFrame) -> None:
    for _, grp in rutland_catchments.groupby("site_id"):
        geoms = list(grp.sort_values("minutes").geometry)
        areas = [g.area for g in geoms]
        assert areas == sorted(areas) and areas[0] < areas[-1]
        for small, big in zip(geoms, geoms[1:], strict=False):
            assert shapely.covers(big.buffer(0.01), small)


def test_rutland_area_agrees_with_buffered_edge_union(rutland: RoadGraph) -> None:
    from geosuff import routing as tt

    x, y = np.array([492600.0]), np.array([305200.0])  # a rural point south of Rutland Water
    times, sn = tt.node_times(rutland, x, y, max_minutes=10, return_snapped=True)
    org = C.SourceOrigins.from_snapped(sn, access_speed_kph=tt.SnapSettings().access_speed_kph)
    fast = C.catchment_polygons(rutland, times, 7.0, origins=org).geometry.iloc[0]
    ref = C.buffered_edge_union(
        rutland,
        times[0],
        7.0,
        C.ACCESS_DISTANCE_M,
        origin=(int(org.edge[0]), float(org.frac[0]), float(org.start_s[0])),
    )
    assert fast.area == pytest.approx(ref.area, rel=0.02)
    assert shapely.symmetric_difference(fast, ref).area / ref.area < 0.10
    # the convex hull of the reached nodes (the usual isochrone recipe) is far too big
    reached = times[0] <= 7 * 60
    hull = shapely.MultiPoint(np.column_stack([rutland.x[reached], rutland.y[reached]])).convex_hull
    assert hull.difference(ref).area > 0.3 * ref.area


def test_off_network_site_is_skipped_and_listed(rutland: RoadGraph) -> None:
    sites = pd.DataFrame(
        {
            "site_id": ["far", "ok"],
            "easting": [520000.0, 486100.0],
            "northing": [330000.0, 308700.0],
        }
    )
    gdf = C.site_catchments(rutland, sites, [10])
    assert list(gdf["site_id"]) == ["ok"]
    assert gdf.attrs["skipped_sites"] == ["far"]


def test_served_areas_dissolve_per_type_and_threshold(
    rutland_catchments: gpd.GeoDataFrame, rutland_sites: pd.DataFrame
) -> None:
    served = C.served_areas(rutland_catchments, rutland_sites)
    assert len(served) == 2 * 4
    homes = served[(served["type"] == "childrens_home") & (served["minutes"] == 10)].iloc[0]
    assert homes["n_sites"] == 2 and homes["places"] == 7 and homes["available_places"] == 3
    parts = rutland_catchments[
        (rutland_catchments["type"] == "childrens_home") & (rutland_catchments["minutes"] == 10)
    ]
    assert homes.geometry.area == pytest.approx(shapely.union_all(parts.geometry.to_numpy()).area)
    assert homes.geometry.area >= parts.geometry.area.max()
    assert (served["method"] == C.METHOD).all() and (
        served["access_m"] == C.ACCESS_DISTANCE_M
    ).all()
    # the type can also come from the sites table
    bare = rutland_catchments.drop(columns=["type", "places", "available_places"])
    again = C.served_areas(bare, rutland_sites)
    assert np.allclose(np.sort(again["area_km2"]), np.sort(served["area_km2"]))
    with pytest.raises(InputFileError):
        C.served_areas(bare)


def test_catchment_reaching_the_extract_edge_is_flagged(rutland: RoadGraph) -> None:
    # Oakham centre: 5 minutes stays well inside the Rutland extract, 30 minutes reaches all of it
    sites = pd.DataFrame({"site_id": ["oakham"], "easting": [486100.0], "northing": [308700.0]})
    gdf = C.site_catchments(rutland, sites, [5, 30])
    flags = dict(zip(gdf["minutes"], gdf["touches_network_edge"], strict=True))
    assert flags == {5.0: False, 30.0: True}
    assert gdf["touches_network_edge"].dtype == bool
    edge = C.network_edge_nodes(rutland)
    # the outer rim of the extract (1 km of its convex hull) plus a few clipped through roads
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([rutland.x, rutland.y])))
    rim = shapely.distance(shapely.points(rutland.x, rutland.y), hull.exterior) <= C.EDGE_BAND_M
    assert edge[rim].all() and 0 < int((edge & ~rim).sum()) <= 20
    assert 0.02 < edge.mean() < 0.06
    # the tertiary road that ends on the south shore of Rutland Water (Normanton) is no edge
    normanton = int(np.argmin(np.hypot(rutland.x - 495427.0, rutland.y - 305594.0)))
    assert not edge[normanton]
    served = C.served_areas(gdf.assign(type="childrens_home"))
    assert dict(zip(served["minutes"], served["touches_network_edge"], strict=True)) == flags


def test_every_catchment_on_a_tiny_extract_touches_its_edge() -> None:
    from geosuff.network import build_graph

    # a 0.4 x 0.6 km extract of Leeds: every node is within 1 km of its outline
    leeds = build_graph(
        Path(__file__).resolve().parents[1] / "data" / "its-example-leeds.osm.pbf", use_cache=False
    )
    assert C.network_edge_nodes(leeds).all()
    mid = int(np.argmin(np.hypot(leeds.x - leeds.x.mean(), leeds.y - leeds.y.mean())))
    t = np.asarray(dijkstra(leeds.csr("time_s"), indices=mid))
    gdf = C.catchment_polygons(leeds, t, [0.5, 5])
    assert gdf["touches_network_edge"].all()


def test_edge_flag_on_a_grid_is_reached_within_1_km_of_the_outline() -> None:
    # 5 x 5 km grid, 500 m blocks, 36 km/h; from the centre (2.5 km from every side) the 1 km
    # rim is reached after 1.5 km of road: 2.5 minutes
    xy = [(i * 500.0, j * 500.0) for j in range(11) for i in range(11)]
    edges = [(j * 11 + i, j * 11 + i + 1) for j in range(11) for i in range(10)]
    edges += [(j * 11 + i, (j + 1) * 11 + i) for j in range(10) for i in range(11)]
    grid = _graph(xy, edges, two_way=True)
    edge = C.network_edge_nodes(grid)
    x, y = grid.x, grid.y
    assert (edge == ((np.minimum(np.minimum(x, 5000 - x), np.minimum(y, 5000 - y))) <= 1000)).all()
    gdf = C.catchment_polygons(grid, _times(grid, 60), [2, 2.4, 2.5, 10])
    assert list(gdf["touches_network_edge"]) == [False, False, True, True]


# ---------------------------------------------------------------------------------- coverage


def test_population_coverage_points_and_polygons() -> None:
    square = shapely.box(0, 0, 100, 100)
    catch = gpd.GeoDataFrame(
        {"site_id": ["a"], "minutes": [15.0]}, geometry=[square], crs="EPSG:27700"
    )
    pts = gpd.GeoDataFrame(
        {"pop_0_17": [10, 20, 30]},
        geometry=shapely.points([(50, 50), (99, 1), (150, 50)]),
        crs="EPSG:27700",
    )
    out = C.population_coverage(catch, pts)
    assert out["pop_0_17_covered"].iloc[0] == 30 and out["pop_0_17_share"].iloc[0] == pytest.approx(
        0.5
    )
    zones = gpd.GeoDataFrame(
        {"kids": [40.0, 60.0]},
        geometry=[shapely.box(50, 0, 150, 100), shapely.box(200, 0, 300, 100)],
        crs="EPSG:27700",
    )
    out2 = C.population_coverage(catch, zones, weight_col="kids")
    assert out2["kids_covered"].iloc[0] == pytest.approx(20.0)  # half of the first zone
    assert "kids_covered" not in catch.columns  # input untouched
    with pytest.raises(InputFileError, match="pop_0_17"):
        C.population_coverage(catch, zones)


def test_population_coverage_on_rutland_lsoas(rutland_catchments: gpd.GeoDataFrame) -> None:
    lsoa = gpd.read_file(RUTLAND_PBF.parent / "lsoa11_rutland.geojson")
    served = C.served_areas(rutland_catchments)
    cov = C.population_coverage(served, lsoa)
    total = lsoa["pop_0_17"].sum()
    for _, grp in cov.groupby("type"):
        covered = grp.sort_values("minutes")["pop_0_17_covered"].to_numpy()
        assert np.all(np.diff(covered) >= -1e-6)  # nested areas cover more children
        assert 0 < covered[0] <= total
    assert cov["pop_0_17_share"].max() <= 1.0 + 1e-9


def test_two_step_fca_hand_computed_3x2() -> None:
    minutes = np.array([[10.0, 40.0], [20.0, 25.0], [50.0, 15.0]])
    pop = np.array([100.0, 200.0, 300.0])
    places = np.array([10.0, 5.0])
    a, r = C.two_step_fca(minutes, pop, places, max_minutes=30, return_ratios=True)
    # site 0 reaches demand 0 and 1 (300 children): 10/300; site 1 reaches 1 and 2 (500): 5/500
    assert r == pytest.approx([10 / 300, 5 / 500])
    assert a == pytest.approx([1000 * 10 / 300, 1000 * (10 / 300 + 5 / 500), 1000 * 5 / 500])
    # a full home (no available places) contributes nothing: demand 0 becomes a gap
    full = C.two_step_fca(minutes, pop, np.array([0.0, 5.0]), max_minutes=30)
    assert full == pytest.approx([0.0, 10.0, 10.0])
    # thresholds are inclusive; unreachable (NaN) pairs count as beyond reach
    m2 = minutes.copy()
    m2[0, 0] = np.nan
    m2[2, 1] = 30.0
    a2 = C.two_step_fca(m2, pop, places, max_minutes=30)
    assert a2 == pytest.approx([0.0, 1000 * (10 / 200 + 5 / 500), 1000 * 5 / 500])
    # a site that reaches no demand has ratio 0 (no division by zero)
    a3, r3 = C.two_step_fca(np.full((3, 2), 99.0), pop, places, max_minutes=30, return_ratios=True)
    assert (a3 == 0).all() and (r3 == 0).all()
    with pytest.raises(InputFileError, match="n_demand"):
        C.two_step_fca(minutes.T, pop, places, max_minutes=30)


# ------------------------------------------------------------------------------------- CLI


def test_catchments_from_files_writes_a_geopackage(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,type,places,easting,northing\nA1,childrens_home,4,486100,308700\nB2,supported_accommodation,2,495100,308500\n"
    )
    out = tmp_path / "catchments.gpkg"
    gdf = catchments_from_files(RUTLAND_PBF, sites, [15, 30], out, cache_dir=tmp_path / "cache")
    back = gpd.read_file(out, layer="catchments")
    assert len(back) == len(gdf) == 4
    assert back.crs.to_epsg() == 27700
    assert {"site_id", "minutes", "geometry"} <= set(back.columns)
    assert set(back["site_id"]) == {"A1", "B2"} and set(back["minutes"]) == {15.0, 30.0}
    assert "easting" not in back.columns and "northing" not in back.columns
