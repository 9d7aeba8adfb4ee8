"""Tests of geosuff.network: OSM parsing, speeds, strong connectivity, cache, exports."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from geosuff._errors import ConfigError, NetworkError
from geosuff.network import (
    MPH_TO_KPH,
    RoadGraph,
    SpeedSettings,
    build_graph,
    edges_gdf,
    load_speed_table,
    parse_maxspeed,
    save_graphml,
    to_networkx,
)

ROOT = Path(__file__).resolve().parents[1]
RUTLAND = ROOT / "geosuff" / "data" / "rutland-latest.osm.pbf"
LEEDS = ROOT / "tests" / "data" / "its-example-leeds.osm.pbf"


# ------------------------------------------------------------------------------ maxspeed


@pytest.mark.parametrize(
    ("value", "highway", "expected_kph"),
    [
        ("30 mph", None, 30 * MPH_TO_KPH),
        ("30mph", None, 30 * MPH_TO_KPH),
        ("20 MPH", None, 20 * MPH_TO_KPH),
        ("50", None, 50.0),
        ("50 km/h", None, 50.0),
        ("48.3", None, 48.3),
        ("national", "motorway", 70 * MPH_TO_KPH),
        ("national", "primary", 60 * MPH_TO_KPH),
        ("GB:nsl_single", None, 60 * MPH_TO_KPH),
        ("GB:nsl_dual", None, 70 * MPH_TO_KPH),
        ("GB:motorway", None, 70 * MPH_TO_KPH),
        ("UK:nsl_single", None, 60 * MPH_TO_KPH),
        ("GB:zone20", None, 20 * MPH_TO_KPH),
        ("GB:nsl_restricted", None, 30 * MPH_TO_KPH),
        ("30;40", None, 30.0),
        ("40 mph;30 mph", None, 30 * MPH_TO_KPH),
        ("10 knots", None, 18.52),
        ("walk", None, 8.0),
        ("DE:urban", None, 50.0),
        ("none", None, None),
        ("signals", None, None),
        ("", None, None),
        (None, None, None),
        ("fast", None, None),
        ("0", None, None),
    ],
)
def test_parse_maxspeed(value: str | None, highway: str | None, expected_kph: float | None) -> None:
    got = parse_maxspeed(value, highway=highway)
    if expected_kph is None:
        assert got is None
    else:
        assert got == pytest.approx(expected_kph)


def test_speed_table_is_shipped_data() -> None:
    table = load_speed_table()
    assert table["motorway"] == pytest.approx(70 * MPH_TO_KPH)
    assert table["residential"] == pytest.approx(25 * MPH_TO_KPH)
    assert {"service", "living_street", "unclassified", "trunk_link"} <= set(table)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"congestion_factor": 0.0},
        {"urban_congestion_factor": 2.0},
        {"min_speed_kph": -1.0},
        {"speed_table": "/no/such.csv"},
    ],
)
def test_speed_settings_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SpeedSettings(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- hand-made OSM

_NODES = {
    1: (52.650, -0.700),
    2: (52.650, -0.698),
    3: (52.650, -0.696),
    4: (52.652, -0.696),
    5: (52.654, -0.696),
    6: (52.655, -0.697),
    7: (52.654, -0.698),
    8: (52.653, -0.700),
    11: (52.649, -0.698),
    12: (52.649, -0.696),
    13: (52.652, -0.695),
    14: (52.656, -0.697),
    15: (52.655, -0.699),
    16: (52.649, -0.701),
    17: (52.651, -0.698),
}
_WAYS = [
    (100, [1, 2, 3], {"highway": "residential", "maxspeed": "20 mph"}),
    (101, [3, 4], {"highway": "primary", "oneway": "yes", "maxspeed": "40 mph"}),
    (102, [5, 4], {"highway": "secondary", "oneway": "-1", "maxspeed": "GB:nsl_single"}),
    (103, [5, 6, 7, 5], {"highway": "tertiary", "junction": "roundabout"}),
    (104, [7, 8], {"highway": "motorway"}),
    (105, [8, 1], {"highway": "unclassified", "maxspeed": "national"}),
    (
        106,
        [1, 16],
        {"highway": "living_street", "access": "private", "motor_vehicle": "destination"},
    ),
    (107, [2, 17], {"highway": "service"}),
    (108, [2, 99], {"highway": "residential"}),  # node 99 missing: cut at the extract edge
    # excluded:
    (200, [2, 11], {"highway": "footway"}),
    (201, [3, 12], {"highway": "service", "service": "driveway"}),
    (202, [4, 13], {"highway": "residential", "access": "private"}),
    (203, [6, 14], {"highway": "track"}),
    (204, [7, 15], {"highway": "unclassified", "motor_vehicle": "no"}),
]


def _osm_xml() -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="geosuff-test">',
    ]
    for nid, (lat, lon) in _NODES.items():
        parts.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in _WAYS:
        parts.append(f'<way id="{wid}" version="1">')
        parts += [f'<nd ref="{r}"/>' for r in refs]
        parts += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        parts.append("</way>")
    parts.append("</osm>")
    return "\n".join(parts)


@pytest.fixture()
def handmade(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.osm"
    p.write_text(_osm_xml(), encoding="utf-8")
    return p


def _edge_set(g: RoadGraph) -> set[tuple[int, int]]:
    return {(int(g.osmid[a]), int(g.osmid[b])) for a, b in zip(g.u, g.v, strict=True)}


def test_handmade_drivable_filter_and_oneways(handmade: Path) -> None:
    g = build_graph(handmade, use_cache=False)
    assert set(g.osmid.tolist()) == {1, 2, 3, 4, 5, 6, 7, 8, 16, 17}
    expected = {
        (1, 2), (2, 1), (2, 3), (3, 2),  # two-way residential
        (3, 4),  # oneway=yes
        (4, 5),  # oneway=-1 on a way drawn 5 -> 4
        (5, 6), (6, 7), (7, 5),  # roundabout implies one-way
        (7, 8),  # motorway implies one-way
        (8, 1), (1, 8),
        (1, 16), (16, 1),  # access=private overridden by motor_vehicle=destination
        (2, 17), (17, 2),  # plain service road kept
    }  # fmt: skip
    assert _edge_set(g) == expected


def test_handmade_speeds_and_times(handmade: Path) -> None:
    s = SpeedSettings()
    g = build_graph(handmade, use_cache=False, speeds=s)
    osm = {
        (int(g.osmid[a]), int(g.osmid[b])): i for i, (a, b) in enumerate(zip(g.u, g.v, strict=True))
    }
    urban, rural = s.urban_congestion_factor, s.congestion_factor
    assert g.speed_kph[osm[(1, 2)]] == pytest.approx(20 * MPH_TO_KPH * urban)
    assert g.speed_kph[osm[(3, 4)]] == pytest.approx(40 * MPH_TO_KPH * rural)
    assert g.speed_kph[osm[(4, 5)]] == pytest.approx(60 * MPH_TO_KPH * rural)  # GB:nsl_single
    assert g.speed_kph[osm[(7, 8)]] == pytest.approx(70 * MPH_TO_KPH * rural)  # motorway table
    assert g.speed_kph[osm[(8, 1)]] == pytest.approx(
        60 * MPH_TO_KPH * rural
    )  # national, not motorway
    assert g.speed_kph[osm[(5, 6)]] == pytest.approx(
        35 * MPH_TO_KPH * rural
    )  # tertiary table 35 mph
    assert g.speed_kph[osm[(2, 17)]] == pytest.approx(10 * MPH_TO_KPH * urban)  # service table
    np.testing.assert_allclose(g.time_s, g.length_m / (g.speed_kph / 3.6))
    np.testing.assert_allclose(g.length_m, np.hypot(g.x[g.v] - g.x[g.u], g.y[g.v] - g.y[g.u]))
    # ~137 m between nodes 1 and 2 (0.002 deg of longitude at 52.65 N)
    assert 125 < g.length_m[osm[(1, 2)]] < 145
    assert g.meta["crs"] == "EPSG:27700"
    assert 480_000 < g.x.mean() < 500_000 and 295_000 < g.y.mean() < 320_000


def test_maxspeed_can_be_ignored(handmade: Path) -> None:
    g = build_graph(handmade, use_cache=False, speeds=SpeedSettings(use_maxspeed=False))
    i = int(np.nonzero((g.osmid[g.u] == 1) & (g.osmid[g.v] == 2))[0][0])
    assert g.speed_kph[i] == pytest.approx(25 * MPH_TO_KPH * 0.70)  # residential table speed


def test_formats_give_the_same_graph(handmade: Path, tmp_path: Path) -> None:
    ref = build_graph(handmade, use_cache=False)
    xml = handmade.read_text(encoding="utf-8")
    for name, data in (("a.osm.xml", xml.encode()), ("b.osm.bz2", bz2.compress(xml.encode()))):
        p = tmp_path / name
        p.write_bytes(data)
        g = build_graph(p, use_cache=False)
        assert _edge_set(g) == _edge_set(ref)
        np.testing.assert_array_equal(g.osmid, ref.osmid)
        np.testing.assert_allclose(g.time_s, ref.time_s)


def test_bad_files_raise_network_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="not found"):
        build_graph(tmp_path / "missing.osm.pbf", use_cache=False)
    bad = tmp_path / "garbage.osm.pbf"
    bad.write_bytes(b"this is not a pbf file at all" * 10)
    with pytest.raises(NetworkError):
        build_graph(bad, use_cache=False)
    wrong = tmp_path / "roads.shp"
    wrong.write_bytes(b"x")
    with pytest.raises(NetworkError, match="Unrecognised"):
        build_graph(wrong, use_cache=False)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    with pytest.raises(NetworkError, match="No drivable"):
        build_graph(empty, use_cache=False)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def rutland() -> RoadGraph:
    return build_graph(RUTLAND, use_cache=False)


def test_rutland_graph_is_strongly_connected_drive_network(rutland: RoadGraph) -> None:
    g = rutland
    assert 20_000 < g.n_nodes < 40_000
    assert g.n_edges > 1.8 * g.n_nodes
    n_comp, _ = connected_components(g.csr(), directed=True, connection="strong")
    assert n_comp == 1
    assert g.meta["scc_nodes_dropped"] > 0
    hw = set(np.unique(g.highway).tolist())
    assert {"trunk", "primary", "residential", "service"} <= hw
    assert not hw & {"footway", "path", "track", "cycleway", "bridleway", "steps", "pedestrian"}
    assert (g.length_m >= 0).all() and (g.time_s >= 0).all()
    assert np.isfinite(g.time_s).all()
    # Rutland lies roughly at E 480-500 km, N 295-320 km
    assert 470_000 < np.median(g.x) < 505_000 and 290_000 < np.median(g.y) < 325_000
    # total drivable road length (both directions) is of the order of 1,600 km
    assert 1_000_000 < g.length_m.sum() < 2_500_000
    # one-way edges exist (u->v without v->u)
    fwd = set(zip(g.u.tolist(), g.v.tolist(), strict=True))
    assert any((b, a) not in fwd for a, b in fwd)


def test_leeds_graph(tmp_path: Path) -> None:
    g = build_graph(LEEDS, cache_dir=tmp_path)
    assert g.n_nodes > 50
    n_comp, _ = connected_components(g.csr(), directed=True, connection="strong")
    assert n_comp == 1
    assert g.meta["sha256"] and g.meta["from_cache"] is False


# --------------------------------------------------------------------------------- cache


def test_cache_reused_invalidated_and_repaired(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    g1 = build_graph(LEEDS, cache_dir=cache)
    assert g1.meta["from_cache"] is False
    files = sorted(cache.glob("*.npz"))
    assert len(files) == 1
    g2 = build_graph(LEEDS, cache_dir=cache)
    assert g2.meta["from_cache"] is True
    for name in ("x", "y", "osmid", "u", "v", "length_m", "time_s", "speed_kph"):
        np.testing.assert_array_equal(getattr(g1, name), getattr(g2, name))
    assert g2.highway.tolist() == g1.highway.tolist()
    assert g2.meta["sha256"] == g1.meta["sha256"]

    # other speed settings: a different cache entry, built afresh
    g3 = build_graph(LEEDS, cache_dir=cache, speeds=SpeedSettings(congestion_factor=0.6))
    assert g3.meta["from_cache"] is False
    assert len(list(cache.glob("*.npz"))) == 2
    assert not np.allclose(g3.time_s, g1.time_s)
    assert (
        build_graph(LEEDS, cache_dir=cache, speeds=SpeedSettings(congestion_factor=0.6)).meta[
            "from_cache"
        ]
        is True
    )

    # a corrupt cache file is detected and rebuilt
    files[0].write_bytes(files[0].read_bytes()[:200])
    g4 = build_graph(LEEDS, cache_dir=cache)
    assert g4.meta["from_cache"] is False
    np.testing.assert_array_equal(g4.time_s, g1.time_s)
    assert build_graph(LEEDS, cache_dir=cache).meta["from_cache"] is True

    # flipped bytes inside the archive (CRC mismatch) are detected too
    data = bytearray(files[0].read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    files[0].write_bytes(bytes(data))
    g5 = build_graph(LEEDS, cache_dir=cache)
    assert g5.meta["from_cache"] is False
    np.testing.assert_array_equal(g5.time_s, g1.time_s)


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOSUFF_CACHE_DIR", str(tmp_path / "envcache"))
    build_graph(LEEDS)
    assert len(list((tmp_path / "envcache").glob("graph-*.npz"))) == 1
    assert build_graph(LEEDS).meta["from_cache"] is True


def test_use_cache_false_writes_nothing(tmp_path: Path) -> None:
    g = build_graph(LEEDS, cache_dir=tmp_path, use_cache=False)
    assert g.meta["from_cache"] is False
    assert not list(tmp_path.iterdir())


def test_cache_invalidated_by_speed_table_contents(tmp_path: Path) -> None:
    table = tmp_path / "speeds.csv"
    table.write_text(
        (ROOT / "geosuff" / "data" / "uk_speeds.csv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    s = SpeedSettings(speed_table=str(table))
    assert build_graph(LEEDS, cache_dir=tmp_path, speeds=s).meta["from_cache"] is False
    assert build_graph(LEEDS, cache_dir=tmp_path, speeds=s).meta["from_cache"] is True
    table.write_text("highway,speed_mph\nresidential,15\nservice,5\n", encoding="utf-8")
    g = build_graph(LEEDS, cache_dir=tmp_path, speeds=s)
    assert g.meta["from_cache"] is False
    json.dumps(g.meta)  # meta stays JSON-serialisable


# ------------------------------------------------------------------------------- exports


def test_graphml_roundtrip_with_osmnx(tmp_path: Path) -> None:
    import networkx as nx
    import osmnx as ox

    g = build_graph(LEEDS, use_cache=False)
    path = save_graphml(g, tmp_path / "leeds.graphml")
    G = ox.load_graphml(path)
    assert G.graph["crs"] == "EPSG:27700"
    assert G.number_of_nodes() == g.n_nodes
    assert G.number_of_edges() == g.n_edges
    for i in (0, g.n_nodes // 2, g.n_nodes - 1):
        assert G.nodes[i]["x"] == g.x[i] and G.nodes[i]["y"] == g.y[i]
        assert G.nodes[i]["osmid"] == g.osmid[i]
    got = sorted((u, v, d["travel_time"], d["length"]) for u, v, d in G.edges(data=True))
    want = sorted(
        zip(g.u.tolist(), g.v.tolist(), g.time_s.tolist(), g.length_m.tolist(), strict=True)
    )
    assert got == want  # exact: floats round-trip through GraphML text
    # the same shortest times through osmnx's graph
    src = 0
    d_loaded = nx.single_source_dijkstra_path_length(G, src, weight="travel_time")
    d_ours = nx.single_source_dijkstra_path_length(to_networkx(g), src, weight="travel_time")
    assert d_loaded == pytest.approx(d_ours)


def test_to_networkx_and_edges_gdf(rutland: RoadGraph) -> None:
    G = to_networkx(rutland)
    assert G.number_of_nodes() == rutland.n_nodes and G.number_of_edges() == rutland.n_edges
    gdf = edges_gdf(rutland)
    assert gdf.crs.to_epsg() == 27700
    assert len(gdf) == rutland.n_edges
    np.testing.assert_allclose(gdf.geometry.length.to_numpy(), rutland.length_m, atol=1e-6)
    assert list(gdf.columns[:6]) == ["u", "v", "length_m", "time_s", "speed_kph", "highway"]
