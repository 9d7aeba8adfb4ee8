"""Road network: OSM file -> routable drive graph in British National Grid with travel times.

The graph is held as plain numpy arrays (:class:`RoadGraph`) so that the travel-time engine
(:mod:`geosuff.traveltime`) can run compiled shortest paths on CSR matrices. Nodes are OSM nodes
of drivable ways (not topologically simplified), so every edge is a straight segment between two
nodes: snapping to the nearest edge and cutting an edge part-way (catchments) need no edge geometry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
import osmium
import scipy.sparse as sp
from pyproj import Transformer
from scipy.sparse import csgraph

from geosuff._errors import NetworkError
from geosuff.config.sections import MAX_SPEED_KPH, SpeedSettings
from geosuff.reference import MPH_TO_KPH, speed_table, speed_table_text

logger = logging.getLogger(__name__)

CRS = "EPSG:27700"


class _SettingsKey(TypedDict):
    """The settings part of a graph's cache key (also copied into its ``meta``)."""

    speeds: dict[str, object]
    speed_table_sha256: str
    crs: str
    format_version: int


class GraphMeta(TypedDict, total=False):
    """A :class:`RoadGraph`'s provenance (``RoadGraph.meta``); every key is optional.

    Set by :func:`build_graph` (``source`` .. ``cache_path``; ``speeds`` is
    ``asdict(SpeedSettings)``), by the OSM reader (``n_ways``, ``nodes_without_location``), by
    :func:`largest_strong_component` (``scc_nodes_dropped``) and by the no-road-graph run
    (``source``, ``travel``). JSON-serialisable (it is stored in the cache file).
    """

    source: str
    sha256: str
    speeds: dict[str, object]
    speed_table_sha256: str
    crs: str
    format_version: int
    built_at: str
    build_seconds: float
    from_cache: bool
    cache_path: str | None
    n_ways: int
    nodes_without_location: int
    scc_nodes_dropped: int
    travel: str


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed drive graph in EPSG:27700, as arrays.

    Attributes
    ----------
    x, y : ndarray of float64, shape (n_nodes,)
        Node easting / northing in metres (EPSG:27700).
    osmid : ndarray of int64, shape (n_nodes,)
        OSM node id of each node (synthetic graphs use 0..n-1).
    u, v : ndarray of int32, shape (n_edges,)
        Edge tail / head node indices. A two-way road is two edges (u->v and v->u).
    length_m : ndarray of float64, shape (n_edges,)
        Edge length in metres (straight segment between its two nodes).
    time_s : ndarray of float64, shape (n_edges,)
        Edge travel time in seconds, calibration applied.
    speed_kph : ndarray of float64, shape (n_edges,)
        Modelled speed in km/h (after calibration) used to compute ``time_s``.
    highway : ndarray of object, shape (n_edges,)
        OSM ``highway`` class of each edge ("" for synthetic graphs).
    meta : GraphMeta
        Provenance: source file, its sha256, speed settings, build time.
    """

    x: np.ndarray
    y: np.ndarray
    osmid: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    speed_kph: np.ndarray
    highway: np.ndarray
    meta: GraphMeta = field(default_factory=lambda: GraphMeta())

    @property
    def n_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.u.shape[0])

    @classmethod
    def from_arrays(
        cls,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        u: npt.ArrayLike,
        v: npt.ArrayLike,
        *,
        time_s: npt.ArrayLike,
        length_m: npt.ArrayLike | None = None,
        osmid: npt.ArrayLike | None = None,
        highway: npt.ArrayLike | None = None,
        meta: GraphMeta | None = None,
    ) -> RoadGraph:
        """Build a graph from node coordinates (m, EPSG:27700) and directed edges.

        ``length_m`` defaults to the straight-line length of each edge.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        u = np.asarray(u, dtype=np.int32)
        v = np.asarray(v, dtype=np.int32)
        t = np.asarray(time_s, dtype=np.float64)
        if length_m is None:
            length = np.hypot(x[v] - x[u], y[v] - y[u])
        else:
            length = np.asarray(length_m, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.where(t > 0, length / np.maximum(t, 1e-12) * 3.6, 0.0)
        return cls(
            x=x,
            y=y,
            osmid=np.arange(x.shape[0], dtype=np.int64)
            if osmid is None
            else np.asarray(osmid, dtype=np.int64),
            u=u,
            v=v,
            length_m=length,
            time_s=t,
            speed_kph=speed,
            highway=np.full(u.shape[0], "", dtype=object)
            if highway is None
            else np.asarray(highway, dtype=object),
            meta=GraphMeta(**(meta or {})),
        )

    def csr(self, weight: str = "time_s", *, reverse: bool = False) -> sp.csr_matrix:
        """Sparse adjacency matrix of ``weight`` ("time_s" or "length_m").

        Parallel edges keep the *minimum* weight (scipy would otherwise sum duplicates).
        Zero weights are stored as a tiny positive value so that csgraph does not drop them.
        With ``reverse=True`` the matrix of the reversed graph (for many-to-one searches).
        """
        w = getattr(self, weight)
        tail, head = (self.v, self.u) if reverse else (self.u, self.v)
        w = np.maximum(w, 1e-9)
        n = self.n_nodes
        key = tail.astype(np.int64) * n + head.astype(np.int64)
        order = np.lexsort((w, key))
        key_sorted = key[order]
        first = np.ones(key_sorted.shape[0], dtype=bool)
        first[1:] = key_sorted[1:] != key_sorted[:-1]
        keep = order[first]
        return sp.csr_matrix((w[keep], (tail[keep], head[keep])), shape=(n, n))


# --------------------------------------------------------------------------------------------
# Building a graph from OpenStreetMap
# --------------------------------------------------------------------------------------------

KNOTS_TO_KPH = 1.852
#: Speed used for ``maxspeed=walk`` (walking pace on shared surfaces), km/h.
MAXSPEED_WALK_KPH = 8.0
#: Bump when the graph arrays or their meaning change, so that old cache files are ignored.
CACHE_FORMAT_VERSION = 1
#: Environment variable naming the cache directory (default ``~/.cache/geosuff``).
CACHE_DIR_ENV = "GEOSUFF_CACHE_DIR"

#: OSM ``highway`` classes a car can drive on. Everything else (footway, path, track, cycleway,
#: bridleway, steps, pedestrian, bus_guideway, construction, proposed, raceway, ...) is excluded.
#: Classified roads, motorway to tertiary with their links (through roads between places).
MAIN_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
    }
)
DRIVABLE_HIGHWAYS = MAIN_HIGHWAYS | frozenset(
    {
        "unclassified",
        "residential",
        "living_street",
        "road",
        "service",
    }
)
#: ``service=*`` values excluded from the drive graph (as osmnx's ``drive_service`` filter):
#: car-park aisles, private driveways, back alleys, drive-throughs and emergency-only links.
#: Sites reached by such roads are joined to the network by the snapping access leg instead.
EXCLUDED_SERVICE = frozenset(
    {
        "parking_aisle",
        "driveway",
        "alley",
        "drive-through",
        "emergency_access",
        "parking",
        "private",
    }
)
#: Access values (``motorcar`` > ``motor_vehicle`` > ``vehicle`` > ``access``) that exclude a way.
EXCLUDED_ACCESS = frozenset(
    {
        "no",
        "private",
        "agricultural",
        "forestry",
        "emergency",
        "military",
        "psv",
        "bus",
        "use_sidepath",
    }
)
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})

_NUMERIC_SPEED = re.compile(
    r"^\s*(\d+(?:[.,]\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$", flags=re.IGNORECASE
)
_GB_ZONE = re.compile(r"^(?:gb|uk):zone\s*(\d+)$")
_GB_NAMED_MPH = {
    "gb:nsl_single": 60.0,
    "uk:nsl_single": 60.0,
    "gb:nsl_dual": 70.0,
    "uk:nsl_dual": 70.0,
    "gb:motorway": 70.0,
    "uk:motorway": 70.0,
    "gb:nsl_restricted": 30.0,
    "uk:nsl_restricted": 30.0,
    "gb:urban": 30.0,
    "uk:urban": 30.0,
}
# Generic implicit values of other countries (``XX:urban`` ...), used for non-UK test extracts.
_GENERIC_ZONE_KPH = {"urban": 50.0, "rural": 90.0, "motorway": 120.0, "living_street": 7.0}
_NO_VALUE = frozenset({"", "none", "signals", "variable", "unknown", "no", "default"})


def parse_maxspeed(value: str | None, *, highway: str | None = None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : str or None
        The tag value. Understood forms: ``"30 mph"`` / ``"30mph"`` (miles per hour, the UK form),
        bare numbers (km/h, the OSM convention: ``"50"`` is 50 km/h), ``"50 km/h"``, ``"10 knots"``,
        ``"national"`` (UK national speed limit: 70 mph on motorways, else 60 mph),
        ``"GB:nsl_single"`` (60 mph), ``"GB:nsl_dual"`` and ``"GB:motorway"`` (70 mph),
        ``"GB:nsl_restricted"`` / ``"GB:urban"`` (30 mph), ``"GB:zone20"`` (20 mph),
        ``"walk"`` (:data:`MAXSPEED_WALK_KPH`), lists ``"30;40"`` (the *lowest* value, so that
        times are never optimistic) and other countries' ``"XX:urban"``/``"XX:rural"``.
    highway : str, optional
        The way's ``highway`` class; only used to resolve ``"national"``.

    Returns
    -------
    float or None
        Speed limit in km/h, or None when the value carries no usable limit (missing, ``"none"``,
        ``"signals"``, ``"variable"``, unparseable): the caller then uses the speed table.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if ";" in text:
        parts = [parse_maxspeed(p, highway=highway) for p in text.split(";")]
        found = [p for p in parts if p is not None]
        return min(found) if found else None
    if text in _NO_VALUE:
        return None
    m = _NUMERIC_SPEED.match(text)
    if m:
        number = float(m.group(1).replace(",", "."))
        unit = (m.group(2) or "km/h").lower()
        if unit == "mph":
            kph = number * MPH_TO_KPH
        elif unit == "knots":
            kph = number * KNOTS_TO_KPH
        else:
            kph = number
        return kph if kph > 0 else None
    if text == "walk":
        return MAXSPEED_WALK_KPH
    if text in {"national", "gb:national", "uk:national", "gb:nsl"}:
        mph = 70.0 if highway in {"motorway", "motorway_link"} else 60.0
        return mph * MPH_TO_KPH
    if text in _GB_NAMED_MPH:
        return _GB_NAMED_MPH[text] * MPH_TO_KPH
    z = _GB_ZONE.match(text)
    if z:
        return float(z.group(1)) * MPH_TO_KPH
    if ":" in text:
        country, _, kind = text.partition(":")
        if len(country) == 2 and kind in _GENERIC_ZONE_KPH:
            return _GENERIC_ZONE_KPH[kind]
        if kind == "walk":
            return MAXSPEED_WALK_KPH
    return None


def load_speed_table(path: str | Path | None = None) -> dict[str, float]:
    """Read a highway-class speed table (km/h per OSM ``highway`` value).

    Parameters
    ----------
    path : str or Path, optional
        CSV with a ``highway`` column and ``speed_mph`` or ``speed_kph``. None reads the shipped UK
        table (:func:`geosuff.reference.uk_speeds`).

    Returns
    -------
    dict of str to float
        Speed in km/h for each highway class.
    """
    return {hw: row.kph for hw, row in speed_table(path).items()}


def calibrate_speeds(base_kph: np.ndarray, speeds: SpeedSettings) -> np.ndarray:
    """Apply the congestion calibration of ``speeds`` to base speeds (km/h)."""
    base = np.minimum(np.asarray(base_kph, dtype=np.float64), MAX_SPEED_KPH)
    factor = np.where(
        base <= speeds.urban_limit_kph + 1e-9,
        speeds.urban_congestion_factor,
        speeds.congestion_factor,
    )
    result: np.ndarray = np.maximum(base * factor, speeds.min_speed_kph)
    return result


def _osm_format(path: Path) -> str:
    """Libosmium format string from the file name (``pbf``, ``osm``, ``osm.bz2``...)."""
    name = path.name.lower()
    for suffix, fmt in (
        (".osm.pbf", "pbf"),
        (".pbf", "pbf"),
        (".osm.bz2", "osm.bz2"),
        (".xml.bz2", "osm.bz2"),
        (".osm.gz", "osm.gz"),
        (".xml.gz", "osm.gz"),
        (".osm.xml", "osm"),
        (".osm", "osm"),
        (".xml", "osm"),
    ):
        if name.endswith(suffix):
            return fmt
    raise NetworkError(
        f"Unrecognised OpenStreetMap file type: {path.name}.",
        fix="Give an .osm.pbf, .osm (XML) or .osm.bz2 file, e.g. a Geofabrik county extract.",
    )


def _access_value(tags: Any) -> str | None:
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        val = tags.get(key)
        if val is not None:
            return str(val).strip().lower()
    return None


def _way_is_drivable(tags: Any) -> str | None:
    """Return the way's highway class if a car may drive on it, else None."""
    hw = tags.get("highway")
    if hw not in DRIVABLE_HIGHWAYS:
        return None
    if tags.get("area") == "yes":
        return None
    if hw == "service" and tags.get("service") in EXCLUDED_SERVICE:
        return None
    access = _access_value(tags)
    if access is not None and all(a.strip() in EXCLUDED_ACCESS for a in access.split(";")):
        return None
    return str(hw)


def _way_directions(tags: Any, hw: str) -> tuple[bool, bool]:
    """(forward allowed, backward allowed) for a drivable way."""
    oneway = tags.get("oneway")
    if oneway is not None:
        ow = str(oneway).strip().lower()
        if ow in _ONEWAY_FORWARD:
            return True, False
        if ow in _ONEWAY_BACKWARD:
            return False, True
        return True, True  # "no", "reversible", "alternating", anything else: both ways
    if tags.get("junction") in {"roundabout", "circular"} or hw == "motorway":
        return True, False
    return True, True


def _way_base_speeds(
    tags: Any, hw: str, table: dict[str, float], use_maxspeed: bool
) -> tuple[float, float]:
    """Base (uncalibrated) speed in km/h, forward and backward."""
    default = table.get(hw, table.get("road", 30.0))
    if not use_maxspeed:
        return default, default
    common = parse_maxspeed(tags.get("maxspeed"), highway=hw)
    if common is None:
        for key in ("maxspeed:type", "source:maxspeed"):
            val = tags.get(key)
            if val is not None and ":" in str(val):
                common = parse_maxspeed(val, highway=hw)
                if common is not None:
                    break
    fwd = parse_maxspeed(tags.get("maxspeed:forward"), highway=hw)
    bwd = parse_maxspeed(tags.get("maxspeed:backward"), highway=hw)
    base = default if common is None else common
    return (base if fwd is None else fwd), (base if bwd is None else bwd)


def _read_osm(path: Path, table: dict[str, float], use_maxspeed: bool) -> dict[str, Any]:
    """Read drivable ways: node refs, lon/lat, and per-way direction and speeds."""
    fmt = _osm_format(path)
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    way_start: list[int] = [0]
    way_hw: list[str] = []
    way_fwd: list[bool] = []
    way_bwd: list[bool] = []
    way_sf: list[float] = []
    way_sb: list[float] = []
    nan = float("nan")
    try:
        fp = (
            osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in fp:
            if not isinstance(way, osmium.osm.Way):
                continue
            tags = way.tags
            hw = _way_is_drivable(tags)
            if hw is None:
                continue
            fwd, bwd = _way_directions(tags, hw)
            sf, sb = _way_base_speeds(tags, hw, table, use_maxspeed)
            for nd in way.nodes:
                refs.append(nd.ref)
                loc = nd.location
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:
                    lons.append(nan)
                    lats.append(nan)
            way_start.append(len(refs))
            way_hw.append(hw)
            way_fwd.append(fwd)
            way_bwd.append(bwd)
            way_sf.append(sf)
            way_sb.append(sb)
    except (RuntimeError, OSError, ValueError) as exc:
        raise NetworkError(
            f"Cannot read the OpenStreetMap file {path}: {exc}.",
            fix="Check the file is a complete .osm.pbf/.osm/.osm.bz2 extract (re-download it if truncated).",
        ) from exc
    return {
        "refs": np.asarray(refs, dtype=np.int64),
        "lon": np.asarray(lons, dtype=np.float64),
        "lat": np.asarray(lats, dtype=np.float64),
        "way_start": np.asarray(way_start, dtype=np.int64),
        "highway": np.asarray(way_hw, dtype=object),
        "fwd": np.asarray(way_fwd, dtype=bool),
        "bwd": np.asarray(way_bwd, dtype=bool),
        "speed_fwd": np.asarray(way_sf, dtype=np.float64),
        "speed_bwd": np.asarray(way_sb, dtype=np.float64),
    }


def largest_strong_component(graph: RoadGraph) -> RoadGraph:
    """Restrict a graph to its largest strongly connected component (nodes renumbered)."""
    n = graph.n_nodes
    if n == 0:
        return graph
    adj = sp.csr_matrix((np.ones(graph.n_edges, dtype=np.int8), (graph.u, graph.v)), shape=(n, n))
    n_comp, labels = csgraph.connected_components(adj, directed=True, connection="strong")
    if n_comp == 1:
        return graph
    biggest = np.argmax(np.bincount(labels))
    keep_node = labels == biggest
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[keep_node] = np.arange(int(keep_node.sum()))
    keep_edge = keep_node[graph.u] & keep_node[graph.v]
    meta = graph.meta.copy()
    meta["scc_nodes_dropped"] = int(n - keep_node.sum())
    return RoadGraph(
        x=graph.x[keep_node],
        y=graph.y[keep_node],
        osmid=graph.osmid[keep_node],
        u=new_id[graph.u[keep_edge]].astype(np.int32),
        v=new_id[graph.v[keep_edge]].astype(np.int32),
        length_m=graph.length_m[keep_edge],
        time_s=graph.time_s[keep_edge],
        speed_kph=graph.speed_kph[keep_edge],
        highway=graph.highway[keep_edge],
        meta=meta,
    )


def _graph_from_osm(path: Path, speeds: SpeedSettings, crs: str) -> RoadGraph:
    table = load_speed_table(speeds.speed_table)
    raw = _read_osm(path, table, speeds.use_maxspeed)
    refs = raw["refs"]
    n_ways = raw["highway"].shape[0]
    if n_ways == 0:
        raise NetworkError(
            f"No drivable roads found in {path}.",
            fix="Check the extract covers your area and contains highway=* ways.",
        )
    # consecutive node pairs inside each way
    way_of_node = np.repeat(np.arange(n_ways), np.diff(raw["way_start"]))
    same_way = way_of_node[1:] == way_of_node[:-1]
    seg_a = np.nonzero(same_way)[0]
    seg_b = seg_a + 1
    seg_way = way_of_node[seg_a]
    valid = np.isfinite(raw["lon"])
    ok = valid[seg_a] & valid[seg_b] & (refs[seg_a] != refs[seg_b])
    seg_a, seg_b, seg_way = seg_a[ok], seg_b[ok], seg_way[ok]
    dropped_missing = int((~valid).sum())
    if dropped_missing:
        logger.info(
            "%d way nodes have no location in %s (cut at the extract edge): skipped",
            dropped_missing,
            path.name,
        )

    used = np.concatenate([seg_a, seg_b])
    osmids, first, inverse = np.unique(refs[used], return_index=True, return_inverse=True)
    node_pos = used[first]
    ia = inverse[: seg_a.shape[0]]
    ib = inverse[seg_a.shape[0] :]
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(raw["lon"][node_pos], raw["lat"][node_pos])
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)

    fwd = raw["fwd"][seg_way]
    bwd = raw["bwd"][seg_way]
    u = np.concatenate([ia[fwd], ib[bwd]]).astype(np.int32)
    v = np.concatenate([ib[fwd], ia[bwd]]).astype(np.int32)
    way = np.concatenate([seg_way[fwd], seg_way[bwd]])
    base = np.concatenate([raw["speed_fwd"][seg_way[fwd]], raw["speed_bwd"][seg_way[bwd]]])
    speed = calibrate_speeds(base, speeds)
    length = np.hypot(x[v] - x[u], y[v] - y[u])
    time = length / (speed / 3.6)
    graph = RoadGraph(
        x=x,
        y=y,
        osmid=osmids.astype(np.int64),
        u=u,
        v=v,
        length_m=length,
        time_s=time,
        speed_kph=speed,
        highway=raw["highway"][way],
        meta={"n_ways": int(n_ways), "nodes_without_location": dropped_missing},
    )
    graph = largest_strong_component(graph)
    if graph.n_nodes < 2:
        raise NetworkError(
            f"The drivable roads in {path} do not form a connected network.",
            fix="Use a larger extract that contains the road network around your area.",
        )
    return graph


# ----------------------------------------------------------------------------------- caching


def default_cache_dir() -> Path:
    """``$GEOSUFF_CACHE_DIR`` if set, else ``~/.cache/geosuff``."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/geosuff").expanduser()


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _settings_key(speeds: SpeedSettings, crs: str) -> _SettingsKey:
    table_sha = hashlib.sha256(speed_table_text(speeds.speed_table).encode("utf-8")).hexdigest()
    return {
        "speeds": asdict(speeds),
        "speed_table_sha256": table_sha,
        "crs": crs,
        "format_version": CACHE_FORMAT_VERSION,
    }


_ARRAYS = ("x", "y", "osmid", "u", "v", "length_m", "time_s", "speed_kph")


def _save_cache(graph: RoadGraph, path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    arrays["highway"] = np.asarray(graph.highway, dtype=str)
    arrays["meta_json"] = np.asarray(json.dumps(graph.meta, default=str))
    arrays["cache_key"] = np.asarray(key)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _load_cache(path: Path, key: str) -> RoadGraph | None:
    """Load a cached graph; None (with a warning) if missing, stale or corrupt."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["cache_key"]) != key:
                logger.warning("Cache file %s belongs to other settings: rebuilding", path)
                return None
            arrays = {name: np.array(data[name]) for name in _ARRAYS}
            highway = np.array(data["highway"]).astype(object)
            meta: GraphMeta = json.loads(str(data["meta_json"]))
        n = arrays["x"].shape[0]
        m = arrays["u"].shape[0]
        checks = [
            arrays["y"].shape == (n,) and arrays["osmid"].shape == (n,),
            all(arrays[k].shape == (m,) for k in ("v", "length_m", "time_s", "speed_kph")),
            highway.shape == (m,),
            arrays["u"].dtype == np.int32 and arrays["v"].dtype == np.int32,
            m == 0 or (arrays["u"].min() >= 0 and arrays["v"].min() >= 0),
            m == 0 or (arrays["u"].max() < n and arrays["v"].max() < n),
            bool(np.isfinite(arrays["x"]).all() and np.isfinite(arrays["y"]).all()),
            bool(np.isfinite(arrays["time_s"]).all() and (arrays["time_s"] >= 0).all()),
        ]
        if not all(checks):
            raise ValueError("inconsistent arrays")
    except Exception as exc:  # any failure to read means a corrupt file: rebuild it
        logger.warning("Cache file %s is corrupt (%s): rebuilding", path, exc)
        return None
    meta["from_cache"] = True
    meta["cache_path"] = str(path)
    return RoadGraph(highway=highway, meta=meta, **arrays)


def build_graph(
    osm_path: str | Path,
    *,
    speeds: SpeedSettings | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    crs: str = CRS,
) -> RoadGraph:
    """Build (or load from cache) the routable drive graph of an OSM extract.

    Steps: read drivable ways (see :data:`DRIVABLE_HIGHWAYS`, :data:`EXCLUDED_SERVICE`,
    :data:`EXCLUDED_ACCESS`), split them into node-to-node segments in both allowed directions
    (``oneway=yes/true/1`` forward only, ``oneway=-1/reverse`` backward only,
    ``junction=roundabout``/``circular`` and ``highway=motorway`` imply one-way), project nodes to
    ``crs`` (EPSG:27700 by default), model speeds (:class:`SpeedSettings`), and keep the largest
    strongly connected component so that every node can reach every other.

    Parameters
    ----------
    osm_path : str or Path
        ``.osm.pbf``, ``.osm``/``.osm.xml`` or ``.osm.bz2`` extract. No internet is needed.
    speeds : SpeedSettings, optional
        Speed modelling; defaults to ``SpeedSettings()``.
    cache_dir : str or Path, optional
        Where built graphs are cached as ``.npz``; default :func:`default_cache_dir`.
        The cache key is the file's sha256, the speed settings (and speed-table contents) and crs.
    use_cache : bool
        Read and write the cache (default True). ``False`` always rebuilds and writes nothing.
    crs : str
        Projected CRS in metres. geosuff works in EPSG:27700; another CRS is only for non-UK
        extracts (benchmarks).

    Returns
    -------
    RoadGraph
        ``meta`` holds ``source``, ``sha256``, ``speeds``, ``crs``, ``built_at``, ``from_cache``
        (True when loaded from the cache) and ``cache_path``.
    """
    path = Path(osm_path).expanduser()
    if not path.is_file():
        raise NetworkError(
            f"OpenStreetMap file not found: {path}.",
            fix="Give the path of an .osm.pbf extract (e.g. from Geofabrik) covering your area.",
        )
    speeds = SpeedSettings() if speeds is None else speeds
    sha = file_sha256(path)
    settings = _settings_key(speeds, crs)
    key_text = json.dumps({"sha256": sha, **settings}, sort_keys=True)
    key = hashlib.sha256(key_text.encode("utf-8")).hexdigest()
    cache_path: Path | None = None
    if use_cache:
        cdir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        cache_path = cdir / f"graph-{sha[:16]}-{key[:16]}.npz"
        cached = _load_cache(cache_path, key)
        if cached is not None:
            logger.info("Loaded road graph from cache %s", cache_path)
            return cached
    t0 = time.perf_counter()
    graph = _graph_from_osm(path, speeds, crs)
    meta = graph.meta.copy()
    meta.update({"source": str(path), "sha256": sha})
    meta["speeds"] = settings["speeds"]
    meta["speed_table_sha256"] = settings["speed_table_sha256"]
    meta["crs"] = settings["crs"]
    meta["format_version"] = settings["format_version"]
    meta.update(
        {
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - t0, 3),
            "from_cache": False,
            "cache_path": str(cache_path) if cache_path else None,
        }
    )
    graph = RoadGraph(
        x=graph.x,
        y=graph.y,
        osmid=graph.osmid,
        u=graph.u,
        v=graph.v,
        length_m=graph.length_m,
        time_s=graph.time_s,
        speed_kph=graph.speed_kph,
        highway=graph.highway,
        meta=meta,
    )
    logger.info(
        "Built road graph from %s: %d nodes, %d edges in %.1f s",
        path.name,
        graph.n_nodes,
        graph.n_edges,
        meta["build_seconds"],
    )
    if cache_path is not None:
        try:
            _save_cache(graph, cache_path, key)
        except OSError as exc:
            logger.warning("Could not write the graph cache %s: %s", cache_path, exc)
    return graph


# ------------------------------------------------------------------------------ exports


def graph_crs(graph: RoadGraph) -> str:
    """The CRS of a graph's coordinates (``meta['crs']``, default EPSG:27700)."""
    return str(graph.meta.get("crs", CRS))


def to_networkx(graph: RoadGraph) -> Any:
    """The graph as an osmnx-style ``networkx.MultiDiGraph``.

    Node keys are node indices (0..n-1) with attributes ``x``, ``y`` (m) and ``osmid``; edges carry
    ``length`` (m), ``travel_time`` (s), ``speed_kph`` and ``highway`` and the key of parallel
    edges. The graph attribute ``crs`` is set, so osmnx functions accept it.
    """
    import networkx as nx

    G = nx.MultiDiGraph(crs=graph_crs(graph))
    xs = graph.x.tolist()
    ys = graph.y.tolist()
    ids = graph.osmid.tolist()
    G.add_nodes_from((i, {"x": xs[i], "y": ys[i], "osmid": ids[i]}) for i in range(graph.n_nodes))
    G.add_edges_from(
        (
            int(a),
            int(b),
            {"length": float(L), "travel_time": float(t), "speed_kph": float(s), "highway": str(h)},
        )
        for a, b, L, t, s, h in zip(
            graph.u.tolist(),
            graph.v.tolist(),
            graph.length_m.tolist(),
            graph.time_s.tolist(),
            graph.speed_kph.tolist(),
            graph.highway.tolist(),
            strict=True,
        )
    )
    return G


def save_graphml(graph: RoadGraph, path: str | Path) -> Path:
    """Write the graph as GraphML readable by ``osmnx.load_graphml`` (edge ``length`` in m,
    ``travel_time`` in s, node ``x``/``y`` in the graph's CRS, graph attribute ``crs``).

    Returns the path written.
    """
    import osmnx as ox

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ox.save_graphml(to_networkx(graph), filepath=out)
    return out


def edges_gdf(graph: RoadGraph) -> Any:
    """Edges as a GeoDataFrame of straight LineStrings in the graph's CRS.

    Columns: ``u``, ``v`` (node indices), ``length_m``, ``time_s``, ``speed_kph``, ``highway``,
    ``geometry``. One row per directed edge (a two-way road gives two rows).
    """
    import geopandas as gpd
    import shapely

    coords = np.stack(
        [
            np.stack([graph.x[graph.u], graph.y[graph.u]], axis=1),
            np.stack([graph.x[graph.v], graph.y[graph.v]], axis=1),
        ],
        axis=1,
    )
    lines = shapely.linestrings(coords)
    return gpd.GeoDataFrame(
        {
            "u": graph.u.astype(np.int64),
            "v": graph.v.astype(np.int64),
            "length_m": graph.length_m,
            "time_s": graph.time_s,
            "speed_kph": graph.speed_kph,
            "highway": graph.highway.astype(str),
        },
        geometry=lines,
        crs=graph_crs(graph),
    )
