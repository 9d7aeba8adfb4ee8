"""Catchment polygons with the true shape of the reached roads, served areas and 2SFCA coverage.

Method ("road-sample raster")
-----------------------------
A catchment for threshold ``T`` is the set of places within ``access_m`` (straight line) of a point
of road that can be driven to within ``T`` — the buffered union of the reached roads, with roads
cut part-way where the threshold falls inside an edge, and holes left wherever no reached road is
within ``access_m``. Buffering every reached edge and dissolving (:func:`buffered_edge_union`)
gives exactly that shape but costs seconds per polygon. Here it is computed on a raster instead:

1. Once per graph (cached): every undirected road segment is sampled every ``cell_m / 2`` metres
   (plus every node), and for each raster cell of size ``cell_m`` the samples whose distance to
   the *cell centre* is at most ``access_m`` are listed (a sparse cell x sample incidence).
2. Per source, the arrival time at each sample is ``min(t_a + s * time(a->b), t_b + (1 - s) *
   time(b->a))`` from the node times (one-way roads only from their tail; the snapped source
   segment from the source position), and each cell gets the *earliest* time of the samples
   within ``access_m`` of its centre (one sparse min-reduction).
3. The catchment for ``T`` is the union of cells whose time is ``<= T``, polygonised with
   :func:`rasterio.features.shapes` (collinear vertices dropped, no other simplification).

A cell is therefore in the polygon exactly when its centre is within ``access_m`` of reached road
(to within the sample spacing), which is the buffered union sampled at cell centres: the area
agrees with the buffered-edge union within about 1% (benchmarks/bench_catchments.py). Thresholds
of one source come from the same cell-time field, so ``reached(T1) ⊆ reached(T2)`` and the
polygons nest exactly. Every reached node lies inside its polygon by construction (its own cell
and all cells touching it are within ``access_m`` because ``cell_m <= access_m / 2``).

Network edge: an OSM extract is clipped, so a catchment that reaches the extract's edge may in
truth extend beyond it. :func:`network_edge_nodes` marks the *edge nodes* of a graph, by a cheap
rule: (1) every node within :data:`EDGE_BAND_M` (1 km) of the convex hull of all the graph's
nodes, where the extract was cut; and (2) every dead end (a node with one neighbour) of a through
road (:data:`THROUGH_ROADS`: motorway to tertiary and their links) within :data:`EDGE_BAND_M` of a
concave hull of the nodes (:data:`EDGE_CONCAVE_RATIO`): a through road ends where the extract's
polygon cut it, and this catches the clipped roads in the concave parts of an extract's polygon,
which the convex hull misses, but not a road ending at an inland lake. On the shipped Rutland
extract that is 982 + 10 of 25,655 nodes. Each catchment row has a boolean
``touches_network_edge``: True when any node reached within its threshold is an edge node.

Coverage: :func:`population_coverage` sums a demand weight inside each polygon and
:func:`two_step_fca` computes the two-step floating catchment area ratio (places per 1,000
children reachable) from a demand x site travel-time matrix.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geosuff._errors import ConfigError, InputFileError
from geosuff.network import MAIN_HIGHWAYS, RoadGraph
from geosuff.reference import BNG

logger = logging.getLogger(__name__)

#: Default straight-line distance (m) either side of a reached road counted as served.
ACCESS_DISTANCE_M = 250.0
#: Default catchment thresholds (minutes).
DEFAULT_MINUTES: tuple[float, ...] = (15.0, 30.0, 45.0, 60.0)
#: Default raster cell as a fraction of the access distance (cell = access_m / 3).
CELL_PER_ACCESS = 1.0 / 3.0
#: Largest allowed cell as a fraction of the access distance (keeps reached nodes inside).
MAX_CELL_PER_ACCESS = 0.5
#: Road sample spacing as a fraction of the cell size.
SAMPLE_PER_CELL = 0.5
#: Multiplier from places-per-child to places per 1,000 children (2SFCA output unit).
PER_CHILDREN = 1000.0
#: Name of the method written into outputs.
METHOD = "road-sample raster"
#: Name of the reference method.
METHOD_REFERENCE = "buffered-edge union"

#: Distance (m) from the outline (convex hull) of a network's nodes within which a node counts as
#: on the network's edge (see :func:`network_edge_nodes`).
EDGE_BAND_M = 1000.0
#: OSM road classes whose dead ends count as the network's edge wherever they lie: a through road
#: does not end in a cul-de-sac, so its dead end is where the extract was clipped.
THROUGH_ROADS: frozenset[str] = MAIN_HIGHWAYS

#: ``ratio`` of the concave hull (:func:`shapely.concave_hull`) that outlines an extract's polygon
#: for the dead ends of :data:`THROUGH_ROADS` (0: tightest, 1: the convex hull).
EDGE_CONCAVE_RATIO = 0.1

_SECONDS_PER_MINUTE = 60.0


# ------------------------------------------------------------------------------------ settings


def _check_access_cell(access_m: float, cell_m: float | None) -> tuple[float, float]:
    try:
        access = float(access_m)
    except (TypeError, ValueError):
        raise ConfigError(
            f"access_m must be a number of metres, got {access_m!r}.", fix="Use e.g. 250."
        ) from None
    if not (math.isfinite(access) and access > 0):
        raise ConfigError(
            f"access_m must be a positive number of metres, got {access_m!r}.", fix="Use e.g. 250."
        )
    cell = access * CELL_PER_ACCESS if cell_m is None else float(cell_m)
    if not (math.isfinite(cell) and 0 < cell <= access * MAX_CELL_PER_ACCESS):
        raise ConfigError(
            f"cell_m must be positive and at most half of access_m ({access * MAX_CELL_PER_ACCESS:g} m), got {cell_m!r}.",
            fix=f"Leave cell_m unset (default access_m / 3 = {access * CELL_PER_ACCESS:g} m) or pick a smaller cell.",
        )
    return access, cell


def _check_minutes(minutes: float | Iterable[float]) -> np.ndarray:
    vals = (
        [minutes] if isinstance(minutes, int | float | np.floating | np.integer) else list(minutes)
    )
    try:
        arr = np.asarray(vals, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Catchment minutes must be numbers, got {minutes!r}.", fix="Use e.g. 15,30,45,60."
        ) from None
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ConfigError(
            f"Catchment minutes must be positive numbers, got {minutes!r}.",
            fix="Use e.g. 15,30,45,60.",
        )
    return np.unique(arr)


# -------------------------------------------------------------------------------------- layout


@dataclass(frozen=True, eq=False)
class _Layout:
    """Graph-level raster structures for one (access_m, cell_m): built once, cached per graph."""

    access_m: float
    cell_m: float
    xmin: float
    ymax: float
    nx: int
    ny: int
    # undirected segments a < b: min time each way (inf where the direction does not exist)
    seg_key: np.ndarray
    seg_a: np.ndarray
    seg_b: np.ndarray
    seg_t_ab: np.ndarray
    seg_t_ba: np.ndarray
    seg_first: np.ndarray  # index of the segment's first interior sample
    seg_n: np.ndarray  # number of parts; samples at s = k / n, k = 1..n-1
    # samples: time = min(t[sa] + ca, t[sb] + cb)
    sa: np.ndarray
    sb: np.ndarray
    ca: np.ndarray
    cb: np.ndarray
    # cell x sample incidence, cells sorted: samples nbr[starts[i]:starts[i+1]] are within access_m
    nbr: np.ndarray
    starts: np.ndarray
    cells: np.ndarray
    node_cellpos: np.ndarray  # position in ``cells`` of each node's own cell
    full: list[shapely.Geometry] = field(default_factory=list)  # polygon of all cells, once made

    @property
    def n_samples(self) -> int:
        return int(self.sa.shape[0])


_LAYOUTS: weakref.WeakKeyDictionary[RoadGraph, dict[tuple[float, float], _Layout]] = (
    weakref.WeakKeyDictionary()
)


_EDGES: weakref.WeakKeyDictionary[RoadGraph, dict[float, np.ndarray]] = weakref.WeakKeyDictionary()


def network_edge_nodes(graph: RoadGraph, band_m: float = EDGE_BAND_M) -> np.ndarray:
    """Which nodes lie on the edge of the road network extract (cached per graph).

    Parameters
    ----------
    graph : RoadGraph
    band_m : float
        Distance (m) from the convex hull of all nodes within which a node is on the edge.
        Default :data:`EDGE_BAND_M`.

    Returns
    -------
    ndarray of bool, shape (n_nodes,)
        True for a node within ``band_m`` of the convex hull of the graph's nodes, or a dead end
        (one neighbour) of a through road (:data:`THROUGH_ROADS`) within ``band_m`` of their
        concave hull (see the module docstring). A graph whose nodes span no area (fewer than
        three, or all in a line) is all edge.
    """
    per_graph = _EDGES.setdefault(graph, {})
    edge = per_graph.get(float(band_m))
    if edge is None:
        edge = _edge_nodes(graph, float(band_m))
        per_graph[float(band_m)] = edge
    return edge


def _edge_nodes(graph: RoadGraph, band_m: float) -> np.ndarray:
    n = graph.n_nodes
    if n == 0:
        return np.zeros(0, dtype=bool)
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([graph.x, graph.y])))
    if not isinstance(hull, shapely.Polygon) or hull.area <= 0:
        return np.ones(n, dtype=bool)
    pts = shapely.points(graph.x, graph.y)
    near = shapely.distance(pts, hull.exterior) <= band_m
    _, seg_a, seg_b, _, _ = _segments(graph)
    degree = np.bincount(seg_a, minlength=n) + np.bincount(seg_b, minlength=n)
    through = np.isin(graph.highway.astype(str), sorted(THROUGH_ROADS))
    on_through = np.zeros(n, dtype=bool)
    on_through[graph.u[through]] = True
    on_through[graph.v[through]] = True
    ends = (degree == 1) & on_through & ~near
    if ends.any():  # only those at the extract's outline (a road ending at a lake is no edge)
        outline = shapely.concave_hull(shapely.multipoints(pts), ratio=EDGE_CONCAVE_RATIO)
        if isinstance(outline, shapely.Polygon) and outline.area > 0:
            ends &= shapely.distance(pts, outline.exterior) <= band_m
    return np.asarray(near | ends, dtype=bool)


def _segments(
    graph: RoadGraph,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Undirected segments (a < b) with the minimum time of each direction."""
    n = graph.n_nodes
    u = graph.u.astype(np.int64)
    v = graph.v.astype(np.int64)
    keep = u != v
    u, v, t = u[keep], v[keep], graph.time_s[keep]
    a = np.minimum(u, v)
    b = np.maximum(u, v)
    key, inv = np.unique(a * n + b, return_inverse=True)
    t_ab = np.full(key.shape[0], np.inf)
    t_ba = np.full(key.shape[0], np.inf)
    fwd = u < v
    np.minimum.at(t_ab, inv[fwd], t[fwd])
    np.minimum.at(t_ba, inv[~fwd], t[~fwd])
    return key, key // n, key % n, t_ab, t_ba


def _layout(graph: RoadGraph, access_m: float, cell_m: float) -> _Layout:
    per_graph = _LAYOUTS.setdefault(graph, {})
    lay = per_graph.get((access_m, cell_m))
    if lay is None:
        lay = _build_layout(graph, access_m, cell_m)
        per_graph[(access_m, cell_m)] = lay
    return lay


def _build_layout(graph: RoadGraph, access_m: float, cell_m: float) -> _Layout:
    if graph.n_nodes == 0:
        raise InputFileError(
            "The road graph has no nodes.",
            fix="Build the graph from an OSM extract with drivable roads.",
        )
    key, seg_a, seg_b, t_ab, t_ba = _segments(graph)
    x, y = graph.x, graph.y
    h = cell_m
    length = np.hypot(x[seg_b] - x[seg_a], y[seg_b] - y[seg_a])
    seg_n = np.maximum(1, np.ceil(length / (h * SAMPLE_PER_CELL))).astype(np.int64)
    m = seg_n - 1
    seg_first = (
        np.concatenate([[0], np.cumsum(m)[:-1]]).astype(np.int64)
        if m.size
        else np.zeros(0, np.int64)
    )
    rep = np.repeat(np.arange(key.shape[0]), m)
    k = np.arange(rep.shape[0]) - seg_first[rep] + 1
    s = k / seg_n[rep]
    n_nodes = graph.n_nodes
    nodes = np.arange(n_nodes, dtype=np.int64)
    sa = np.concatenate([seg_a[rep], nodes])
    sb = np.concatenate([seg_b[rep], nodes])
    with np.errstate(invalid="ignore"):
        ca = np.concatenate([s * t_ab[rep], np.zeros(n_nodes)])
        cb = np.concatenate([(1.0 - s) * t_ba[rep], np.zeros(n_nodes)])
    px = np.concatenate([x[seg_a[rep]] + s * (x[seg_b] - x[seg_a])[rep], x])
    py = np.concatenate([y[seg_a[rep]] + s * (y[seg_b] - y[seg_a])[rep], y])

    pad = access_m + 2 * h
    xmin = math.floor((float(x.min()) - pad) / h) * h
    ymax = math.ceil((float(y.max()) + pad) / h) * h
    nx = int(math.ceil((float(x.max()) + pad - xmin) / h))
    ny = int(math.ceil((ymax - (float(y.min()) - pad)) / h))
    col = np.floor((px - xmin) / h).astype(np.int64)
    row = np.floor((ymax - py) / h).astype(np.int64)
    fx = px - (xmin + (col + 0.5) * h)  # offset of the sample from its cell centre
    fy = py - (ymax - (row + 0.5) * h)
    reach = int(math.ceil(access_m / h)) + 1
    r2 = access_m * access_m
    cell_parts: list[np.ndarray] = []
    samp_parts: list[np.ndarray] = []
    sample_idx = np.arange(px.shape[0], dtype=np.int32)
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            # centre of cell (row + dr, col + dc) relative to the sample
            d2 = (dc * h - fx) ** 2 + (-dr * h - fy) ** 2
            ok = d2 <= r2
            if not ok.any():
                continue
            cell_parts.append((row[ok] + dr) * nx + (col[ok] + dc))
            samp_parts.append(sample_idx[ok])
    cells_all = np.concatenate(cell_parts)
    samp_all = np.concatenate(samp_parts)
    order = np.argsort(cells_all, kind="stable")
    cells_all = cells_all[order]
    nbr = samp_all[order]
    first = np.ones(cells_all.shape[0], dtype=bool)
    first[1:] = cells_all[1:] != cells_all[:-1]
    starts = np.flatnonzero(first)
    cells = cells_all[starts]
    node_cell = row[-n_nodes:] * nx + col[-n_nodes:]
    node_cellpos = np.searchsorted(cells, node_cell)
    logger.debug(
        "catchment layout: %d segments, %d samples, %d cells, %d cell-sample pairs (access %g m, cell %g m)",
        key.shape[0],
        px.shape[0],
        cells.shape[0],
        nbr.shape[0],
        access_m,
        cell_m,
    )
    return _Layout(
        access_m=access_m,
        cell_m=cell_m,
        xmin=float(xmin),
        ymax=float(ymax),
        nx=nx,
        ny=ny,
        seg_key=key,
        seg_a=seg_a,
        seg_b=seg_b,
        seg_t_ab=t_ab,
        seg_t_ba=t_ba,
        seg_first=seg_first,
        seg_n=seg_n,
        sa=sa,
        sb=sb,
        ca=ca,
        cb=cb,
        nbr=nbr,
        starts=starts,
        cells=cells,
        node_cellpos=node_cellpos,
    )


# ------------------------------------------------------------------------------------- origins


@dataclass(frozen=True, eq=False)
class SourceOrigins:
    """Where each source joins the network (from :func:`geosuff.traveltime.snap_points`).

    Attributes
    ----------
    edge : ndarray of int64, shape (n_sources,)
        Graph edge the source is snapped onto (-1: none; the source then is its node times only).
    frac : ndarray of float64
        Position along ``edge`` from ``graph.u[edge]`` (0) to ``graph.v[edge]`` (1).
    start_s : ndarray of float64
        Time (s) at the snapped position, i.e. the off-network access leg.
    """

    edge: np.ndarray
    frac: np.ndarray
    start_s: np.ndarray

    @classmethod
    def from_snapped(cls, snapped: Any, *, access_speed_kph: float) -> SourceOrigins:
        """From a :class:`geosuff.traveltime.Snapped` and the access-leg speed (km/h)."""
        on = np.asarray(snapped.on_network, dtype=bool)
        edge = np.where(on, np.asarray(snapped.edge, dtype=np.int64), -1)
        frac = np.where(on, np.asarray(snapped.frac, dtype=np.float64), 0.0)
        start = np.where(
            on, np.asarray(snapped.snap_m, dtype=np.float64) / (access_speed_kph / 3.6), 0.0
        )
        return cls(edge=edge, frac=frac, start_s=start)

    def __len__(self) -> int:
        return int(self.edge.shape[0])


def _origin_segment(graph: RoadGraph, lay: _Layout, edge: int, frac: float) -> tuple[int, float]:
    """Layout segment index and position (from the segment's lower node) of a point on ``edge``."""
    u, v = int(graph.u[edge]), int(graph.v[edge])
    if u == v:
        return -1, 0.0
    a, b = min(u, v), max(u, v)
    k = int(np.searchsorted(lay.seg_key, a * graph.n_nodes + b))
    p = float(frac) if u == a else 1.0 - float(frac)
    return k, min(max(p, 0.0), 1.0)


def _origin_times(lay: _Layout, seg: int, p: float, t0: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices of segment ``seg`` and their times (s) driving from position ``p``."""
    n = int(lay.seg_n[seg])
    idx = lay.seg_first[seg] + np.arange(n - 1)
    s = np.arange(1, n) / n
    with np.errstate(invalid="ignore"):
        fwd = np.where(s >= p, t0 + (s - p) * lay.seg_t_ab[seg], np.inf)
        bwd = np.where(s <= p, t0 + (p - s) * lay.seg_t_ba[seg], np.inf)
    t = np.fmin(fwd, bwd)
    return idx, np.where(np.isnan(t), np.inf, t)


# ------------------------------------------------------------------------------------ polygons


def _rings_to_polygon(
    rings: list[Any], ring_poly: list[int], x0: float, y0: float, h: float
) -> shapely.Geometry:
    """Pixel-corner rings (closed, from GDAL) -> (Multi)Polygon in metres.

    Collinear vertices of the axis-aligned rings are dropped (a lossless simplification).
    """
    lens = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    flat = np.fromiter(
        chain.from_iterable(chain.from_iterable(rings)), dtype=np.float64, count=int(2 * lens.sum())
    ).reshape(-1, 2)
    ring_start = np.concatenate([[0], np.cumsum(lens)[:-1]])
    n_open = lens - 1  # drop each ring's closing vertex
    ring_id = np.repeat(np.arange(len(rings)), n_open)
    pos = np.arange(ring_id.shape[0]) - np.repeat(np.cumsum(n_open) - n_open, n_open)
    base = ring_start[ring_id]
    m = n_open[ring_id]
    cur = flat[base + pos]
    prev = flat[base + (pos - 1) % m]
    nxt = flat[base + (pos + 1) % m]
    straight = ((prev[:, 0] == cur[:, 0]) & (cur[:, 0] == nxt[:, 0])) | (
        (prev[:, 1] == cur[:, 1]) & (cur[:, 1] == nxt[:, 1])
    )
    keep = ~straight
    xy = np.column_stack([x0 + cur[keep, 0] * h, y0 - cur[keep, 1] * h])
    lrings = shapely.linearrings(xy, indices=ring_id[keep])
    polys = shapely.polygons(lrings, indices=np.asarray(ring_poly, dtype=np.int64))
    return polys[0] if polys.shape[0] == 1 else shapely.MultiPolygon(list(polys))


def _cells_polygon(lay: _Layout, cell_ids: np.ndarray) -> shapely.Geometry:
    """Union of raster cells (flat ids) as a (Multi)Polygon in metres, holes kept.

    GDAL's 4-connected polygoniser gives valid polygons (diagonal pinches become separate parts
    or holes touching at a point), so no repair step is needed (checked in the tests).
    """
    from rasterio.features import shapes

    if cell_ids.shape[0] == 0:
        return shapely.Polygon()
    rows = cell_ids // lay.nx
    cols = cell_ids % lay.nx
    r0, c0 = int(rows.min()) - 1, int(cols.min()) - 1
    mask = np.zeros((int(rows.max()) - r0 + 2, int(cols.max()) - c0 + 2), dtype=np.uint8)
    mask[rows - r0, cols - c0] = 1
    rings: list[Any] = []
    ring_poly: list[int] = []
    for k, (geom, _val) in enumerate(shapes(mask, mask=mask.astype(bool), connectivity=4)):
        coords = geom["coordinates"]
        rings.extend(coords)
        ring_poly.extend([k] * len(coords))
    return _rings_to_polygon(
        rings, ring_poly, lay.xmin + c0 * lay.cell_m, lay.ymax - r0 * lay.cell_m, lay.cell_m
    )


def _sample_times(lay: _Layout, t: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.minimum(t[lay.sa] + lay.ca, t[lay.sb] + lay.cb)
    return result


def _cell_times(lay: _Layout, sample_t: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(sample_t[lay.nbr], lay.starts)


def _as_rows(node_time_s: Any, n_nodes: int) -> tuple[int, Any]:
    if sp.issparse(node_time_s):
        arr = sp.csr_array(node_time_s)
        if arr.shape[1] != n_nodes:
            raise InputFileError(
                f"node_time_s has {arr.shape[1]} columns but the graph has {n_nodes} nodes.",
                fix="Compute node times on the same graph.",
            )
        return int(arr.shape[0]), arr
    arr = np.asarray(node_time_s, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_nodes:
        raise InputFileError(
            f"node_time_s must have shape (n_sources, {n_nodes}), got {arr.shape}.",
            fix="Pass seconds from each source to every graph node (geosuff.traveltime.node_times).",
        )
    return int(arr.shape[0]), arr


def _row(arr: Any, i: int, n_nodes: int) -> np.ndarray:
    if sp.issparse(arr):
        out = np.full(n_nodes, np.inf)
        lo, hi = arr.indptr[i], arr.indptr[i + 1]
        out[arr.indices[lo:hi]] = arr.data[lo:hi]
        return out
    r = np.asarray(arr[i], dtype=np.float64)
    return np.where(np.isnan(r), np.inf, r)


def catchment_polygons(
    graph: RoadGraph,
    node_time_s: Any,
    minutes: float | Iterable[float] = DEFAULT_MINUTES,
    *,
    access_m: float = ACCESS_DISTANCE_M,
    cell_m: float | None = None,
    source_ids: Sequence[Any] | None = None,
    origins: SourceOrigins | None = None,
) -> gpd.GeoDataFrame:
    """True-shape catchment polygons of each source for each threshold.

    Parameters
    ----------
    graph : RoadGraph
    node_time_s : array-like, shape (n_sources, n_nodes), or scipy sparse
        Seconds from each source to every node (``inf``/NaN unreachable); a 1-D array is one
        source. A sparse matrix (:func:`geosuff.traveltime.reachable`) stores reached nodes only.
    minutes : float or iterable of float
        Thresholds in minutes (default 15, 30, 45, 60).
    access_m : float
        Distance (m) either side of a reached road counted as inside. Default
        :data:`ACCESS_DISTANCE_M`.
    cell_m : float, optional
        Raster cell (m); default ``access_m / 3``; at most ``access_m / 2``.
    source_ids : sequence, optional
        One id per source (default 0..n-1), written to ``site_id``.
    origins : SourceOrigins, optional
        Snapped position of each source so that the road the source stands on is drawn from the
        source outwards (without it only roads leaving reached nodes are drawn).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per source x threshold (EPSG:27700): ``site_id``, ``minutes``, ``area_km2``,
        ``nodes_reached`` (nodes with time <= threshold), ``share_reached_inside`` (share of those
        inside the polygon; 1.0 by construction), ``nodes_unreached_inside`` and
        ``share_unreached_inside`` (of the nodes *not* reached, the share lying inside: the
        polygon's over-reach; 0.0 when every node is reached), ``touches_network_edge`` (True
        when a reached node is on the network's edge, :func:`network_edge_nodes`: the catchment
        may extend beyond the extract), ``method``, ``access_m``,
        ``cell_m``, ``geometry``. ``attrs`` holds ``method``, ``access_m``, ``cell_m``.
    """
    access, cell = _check_access_cell(access_m, cell_m)
    mins = _check_minutes(minutes)
    n_src, arr = _as_rows(node_time_s, graph.n_nodes)
    ids = list(range(n_src)) if source_ids is None else list(source_ids)
    if len(ids) != n_src:
        raise InputFileError(
            f"Got {len(ids)} source ids for {n_src} sources.",
            fix="Pass one id per row of node_time_s.",
        )
    if origins is not None and len(origins) != n_src:
        raise InputFileError(
            f"Got {len(origins)} origins for {n_src} sources.", fix="Pass one origin per source."
        )
    lay = _layout(graph, access, cell)
    records: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []
    for i in range(n_src):
        t = _row(arr, i, graph.n_nodes)
        for rec, geom in _source_catchments(graph, lay, t, mins, origins, i):
            rec["site_id"] = ids[i]
            records.append(rec)
            geoms.append(geom)
    return _frame(records, geoms, access, cell)


def _source_catchments(
    graph: RoadGraph,
    lay: _Layout,
    t: np.ndarray,
    mins: np.ndarray,
    origins: SourceOrigins | None,
    i: int,
) -> list[tuple[dict[str, Any], shapely.Geometry]]:
    st = _sample_times(lay, t)
    if origins is not None and origins.edge[i] >= 0:
        seg, p = _origin_segment(graph, lay, int(origins.edge[i]), float(origins.frac[i]))
        if seg >= 0:
            idx, ot = _origin_times(lay, seg, p, float(origins.start_s[i]))
            st[idx] = np.minimum(st[idx], ot)
    ct = _cell_times(lay, st)
    node_ct = ct[lay.node_cellpos]
    edge = network_edge_nodes(graph)
    out = []
    prev_n, prev_geom = -1, None
    for m in mins:
        lim = m * _SECONDS_PER_MINUTE
        sel = ct <= lim
        n_sel = int(sel.sum())
        # thresholds nest, so the same cell count means the same cells: reuse the polygon;
        # a catchment reaching every cell near a road is the same polygon for every source
        if n_sel == prev_n and prev_geom is not None:
            geom = prev_geom
        elif n_sel == lay.cells.shape[0]:
            if not lay.full:
                lay.full.append(_cells_polygon(lay, lay.cells))
            geom = lay.full[0]
        else:
            geom = _cells_polygon(lay, lay.cells[sel])
        prev_n, prev_geom = n_sel, geom
        reached = t <= lim
        inside = node_ct <= lim
        n_reached = int(reached.sum())
        n_unreached = int(reached.shape[0] - n_reached)
        un_in = int((inside & ~reached).sum())
        rec = {
            "minutes": float(m),
            "area_km2": float(geom.area) / 1e6,
            "nodes_reached": n_reached,
            "share_reached_inside": float((inside & reached).sum() / n_reached)
            if n_reached
            else np.nan,
            "nodes_unreached_inside": un_in,
            "share_unreached_inside": un_in / n_unreached if n_unreached else 0.0,
            "touches_network_edge": bool((reached & edge).any()),
        }
        out.append((rec, geom))
    return out


_COLUMNS = [
    "site_id",
    "minutes",
    "area_km2",
    "nodes_reached",
    "share_reached_inside",
    "nodes_unreached_inside",
    "share_unreached_inside",
    "touches_network_edge",
    "method",
    "access_m",
    "cell_m",
]


def _frame(
    records: list[dict[str, Any]], geoms: list[shapely.Geometry], access: float, cell: float
) -> gpd.GeoDataFrame:
    df = pd.DataFrame.from_records(
        records, columns=[c for c in _COLUMNS if c not in ("method", "access_m", "cell_m")]
    )
    df["touches_network_edge"] = df["touches_network_edge"].astype(bool)
    df["method"] = METHOD
    df["access_m"] = access
    df["cell_m"] = cell
    gdf = gpd.GeoDataFrame(df[_COLUMNS], geometry=gpd.GeoSeries(geoms, crs=BNG), crs=BNG)
    gdf.attrs.update({"method": METHOD, "access_m": access, "cell_m": cell})
    return gdf


# ---------------------------------------------------------------------------- reference recipe


def reached_pieces(
    graph: RoadGraph,
    node_time_s_row: Any,
    minutes: float,
    *,
    origin: tuple[int, float, float] | None = None,
) -> np.ndarray:
    """Reached road pieces for one source and threshold, exactly cut at the threshold.

    Each directed edge ``u->v`` with ``t_u <= T`` is reached from ``u`` up to fraction
    ``min(1, (T - t_u) / time(u->v))`` (the opposite direction of a two-way road is its own edge,
    so a road is reached from both ends). ``origin = (edge, frac, start_s)`` adds the snapped
    source's own edge driven from the source position.

    Returns
    -------
    ndarray, shape (k, 2, 2)
        Segments ``[[x0, y0], [x1, y1]]`` in metres (zero-length where only a node is reached).
    """
    t = np.asarray(node_time_s_row, dtype=np.float64)
    t = np.where(np.isnan(t), np.inf, t)
    lim = float(minutes) * _SECONDS_PER_MINUTE
    x, y = graph.x, graph.y
    tu = t[graph.u]
    ok = tu <= lim
    u, v = graph.u[ok], graph.v[ok]
    f = np.clip((lim - tu[ok]) / np.maximum(graph.time_s[ok], 1e-12), 0.0, 1.0)
    x0, y0 = x[u], y[u]
    x1, y1 = x0 + f * (x[v] - x0), y0 + f * (y[v] - y0)
    pieces = [np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)]
    if origin is not None and origin[0] >= 0:
        e, p, t0 = int(origin[0]), float(origin[1]), float(origin[2])
        ue, ve = int(graph.u[e]), int(graph.v[e])
        px, py = x[ue] + p * (x[ve] - x[ue]), y[ue] + p * (y[ve] - y[ue])
        rev = np.flatnonzero((graph.u == ve) & (graph.v == ue))
        if t0 <= lim:
            # forward along u->v from p, and backward along v->u if that edge exists
            span = (lim - t0) / max(float(graph.time_s[e]), 1e-12)
            q = min(1.0, p + span)
            pieces.append(
                np.array([[[px, py], [x[ue] + q * (x[ve] - x[ue]), y[ue] + q * (y[ve] - y[ue])]]])
            )
            if rev.size:
                span_b = (lim - t0) / max(float(graph.time_s[rev].min()), 1e-12)
                q = max(0.0, p - span_b)
                pieces.append(
                    np.array(
                        [[[px, py], [x[ue] + q * (x[ve] - x[ue]), y[ue] + q * (y[ve] - y[ue])]]]
                    )
                )
    return np.concatenate(pieces, axis=0)


def buffered_edge_union(
    graph: RoadGraph,
    node_time_s_row: Any,
    minutes: float,
    access_m: float = ACCESS_DISTANCE_M,
    *,
    origin: tuple[int, float, float] | None = None,
    quad_segs: int = 8,
) -> shapely.Geometry:
    """Reference catchment: buffer every reached road piece by ``access_m`` and dissolve.

    The obvious (slow) recipe, used to validate and benchmark :func:`catchment_polygons`: same
    reached pieces (:func:`reached_pieces`), each buffered with :func:`shapely.buffer` and merged
    with :func:`shapely.union_all`. Seconds per polygon on a county graph.
    """
    seg = reached_pieces(graph, node_time_s_row, minutes, origin=origin)
    if seg.shape[0] == 0:
        return shapely.Polygon()
    length = np.hypot(seg[:, 1, 0] - seg[:, 0, 0], seg[:, 1, 1] - seg[:, 0, 1])
    lines = shapely.linestrings(seg[length > 0])
    pts = shapely.points(seg[length <= 0, 0, :])
    geoms = np.concatenate([lines, pts])
    return shapely.union_all(shapely.buffer(geoms, float(access_m), quad_segs=quad_segs))


# --------------------------------------------------------------------------------- site wrapper

#: Sources per chunk of node-time rows (memory: chunk x n_nodes x 8 bytes).
SITE_CHUNK = 64


def _site_frame(sites: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(sites, pd.DataFrame):
        raise InputFileError(
            "sites must be a table (DataFrame) with site_id, easting, northing.",
            fix="Load it with geosuff.inputs.load_sites.",
        )
    missing = [c for c in ("site_id", "easting", "northing") if c not in sites.columns]
    if missing:
        raise InputFileError(
            f"The sites table has no {', '.join(missing)} column(s) (columns: {', '.join(map(str, sites.columns))}).",
            fix="Give each site a site_id and its easting and northing (British National Grid metres).",
        )
    return sites.reset_index(drop=True)


def site_catchments(
    graph: RoadGraph,
    sites: pd.DataFrame,
    minutes: float | Iterable[float] = DEFAULT_MINUTES,
    *,
    access_m: float = ACCESS_DISTANCE_M,
    cell_m: float | None = None,
    settings: Any = None,
) -> gpd.GeoDataFrame:
    """Catchment polygons for provision sites (drive *from* each site).

    Parameters
    ----------
    graph : RoadGraph
    sites : pandas.DataFrame
        ``site_id``, ``easting``, ``northing`` (m, EPSG:27700); ``type``, ``places`` and
        ``available_places`` are carried to the output when present. Not modified.
    minutes : float or iterable of float
        Thresholds (minutes).
    access_m, cell_m : float
        See :func:`catchment_polygons`.
    settings : geosuff.traveltime.SnapSettings, optional
        How sites join the network (snap distance limit, access-leg speed).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`catchment_polygons`, plus ``type``/``places``/``available_places``. Sites
        without coordinates or further than ``max_snap_m`` from a road get no rows; their ids are
        listed in ``attrs["skipped_sites"]`` (and logged).
    """
    from geosuff import routing as tt

    access, cell = _check_access_cell(access_m, cell_m)
    mins = _check_minutes(minutes)
    s = _site_frame(sites)
    snap = settings or tt.SnapSettings()
    x = pd.to_numeric(s["easting"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(s["northing"], errors="coerce").to_numpy(dtype=float)
    lay = _layout(graph, access, cell)
    records: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []
    skipped: list[Any] = []
    for start in range(0, len(s), SITE_CHUNK):
        sl = slice(start, min(start + SITE_CHUNK, len(s)))
        times, sn = tt.node_times(
            graph, x[sl], y[sl], max_minutes=float(mins.max()), settings=snap, return_snapped=True
        )
        org = SourceOrigins.from_snapped(sn, access_speed_kph=snap.access_speed_kph)
        for j in range(times.shape[0]):
            sid = s["site_id"].iloc[start + j]
            if not sn.on_network[j]:
                skipped.append(sid)
                logger.warning(
                    "site %s gets no catchment: %s", sid, sn.reason[j] or "not on the road network"
                )
                continue
            for rec, geom in _source_catchments(graph, lay, times[j], mins, org, j):
                rec["site_id"] = sid
                records.append(rec)
                geoms.append(geom)
    gdf = _frame(records, geoms, access, cell)
    extra = [c for c in ("type", "places", "available_places") if c in s.columns]
    if extra:
        info = s.drop_duplicates("site_id").set_index("site_id")[extra]
        for c in extra:
            gdf.insert(1 + extra.index(c), c, gdf["site_id"].map(info[c]).to_numpy())
    gdf.attrs["skipped_sites"] = skipped
    gdf.attrs["minutes"] = [float(m) for m in mins]
    return gdf


def served_areas(
    catchments_gdf: gpd.GeoDataFrame, sites: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """One dissolved "served area" per provision type and threshold.

    Parameters
    ----------
    catchments_gdf : geopandas.GeoDataFrame
        From :func:`site_catchments` / :func:`catchment_polygons` (``site_id``, ``minutes``).
    sites : pandas.DataFrame, optional
        ``site_id`` and ``type`` (and ``places``/``available_places``), used when the catchments
        have no ``type`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        ``type``, ``minutes``, ``n_sites``, ``places``/``available_places`` (sums, when known),
        ``area_km2``, ``touches_network_edge`` (when the catchments have it: True if any of the
        type's catchments touches the network's edge), ``method``, ``access_m``, geometry
        (EPSG:27700).
    """
    c = catchments_gdf
    if "type" not in c.columns:
        if sites is None or "type" not in sites.columns:
            raise InputFileError(
                "served_areas needs a site type for each catchment.",
                fix="Pass the sites table with site_id and type.",
            )
        info = sites.drop_duplicates("site_id").set_index("site_id")
        c = c.assign(type=c["site_id"].map(info["type"]).to_numpy())
        for col in ("places", "available_places"):
            if col in info.columns and col not in c.columns:
                c = c.assign(**{col: c["site_id"].map(info[col]).to_numpy()})
    rows: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []
    for (typ, m), grp in c.groupby(["type", "minutes"], sort=True, dropna=False):
        geom = shapely.union_all(grp.geometry.to_numpy())
        rec: dict[str, Any] = {
            "type": typ,
            "minutes": float(m),
            "n_sites": int(grp["site_id"].nunique()),
        }
        for col in ("places", "available_places"):
            if col in grp.columns:
                rec[col] = float(
                    pd.to_numeric(grp.drop_duplicates("site_id")[col], errors="coerce").sum()
                )
        rec["area_km2"] = float(geom.area) / 1e6
        if "touches_network_edge" in grp.columns:
            rec["touches_network_edge"] = bool(grp["touches_network_edge"].fillna(False).any())
        rows.append(rec)
        geoms.append(geom)
    df = pd.DataFrame.from_records(
        rows, columns=None if rows else ["type", "minutes", "n_sites", "area_km2"]
    )
    df["method"] = c.attrs.get("method", METHOD)
    df["access_m"] = c.attrs.get(
        "access_m", float(c["access_m"].iloc[0]) if "access_m" in c.columns and len(c) else np.nan
    )
    out = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=BNG), crs=BNG)
    out.attrs.update({k: v for k, v in c.attrs.items() if k in ("method", "access_m", "cell_m")})
    return out


# ------------------------------------------------------------------------------------ coverage


def population_coverage(
    catchments_gdf: gpd.GeoDataFrame, demand_gdf: gpd.GeoDataFrame, *, weight_col: str = "pop_0_17"
) -> gpd.GeoDataFrame:
    """Demand (e.g. children aged 0-17) inside each catchment or served area.

    Parameters
    ----------
    catchments_gdf : geopandas.GeoDataFrame
        Polygons (EPSG:27700), e.g. from :func:`site_catchments` or :func:`served_areas`.
    demand_gdf : geopandas.GeoDataFrame
        Demand points (counted when inside) or polygons (apportioned by the share of their area
        inside) with a numeric ``weight_col``. Reprojected to EPSG:27700 if needed.
    weight_col : str
        Demand weight column (default ``pop_0_17``).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``catchments_gdf`` with ``{weight_col}_covered`` (weight inside) and
        ``{weight_col}_share`` (covered / total demand).
    """
    if weight_col not in demand_gdf.columns:
        raise InputFileError(
            f"The demand layer has no {weight_col!r} column.",
            fix="Pass weight_col= naming its population column.",
        )
    d = (
        demand_gdf
        if demand_gdf.crs is None or demand_gdf.crs == catchments_gdf.crs
        else demand_gdf.to_crs(catchments_gdf.crs or BNG)
    )
    w = pd.to_numeric(d[weight_col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    dg = d.geometry.to_numpy()
    polys = catchments_gdf.geometry.to_numpy()
    covered = np.zeros(len(polys))
    kinds = shapely.get_type_id(dg)
    is_area = np.isin(kinds, [3, 6])
    tree = shapely.STRtree(dg)
    ci, di = tree.query(polys, predicate="intersects")
    if ci.size:
        pt = ~is_area[di]
        covered += np.bincount(ci[pt], weights=w[di[pt]], minlength=len(polys))
        ar = is_area[di]
        if ar.any():
            a_ci, a_di = ci[ar], di[ar]
            inter = shapely.area(shapely.intersection(polys[a_ci], dg[a_di]))
            zone = shapely.area(dg[a_di])
            frac = np.where(zone > 0, inter / np.where(zone > 0, zone, 1.0), 0.0)
            covered += np.bincount(a_ci, weights=w[a_di] * frac, minlength=len(polys))
    total = float(w.sum())
    out = catchments_gdf.copy()
    out[f"{weight_col}_covered"] = covered
    out[f"{weight_col}_share"] = covered / total if total > 0 else np.nan
    return out


def two_step_fca(
    minutes_matrix: Any,
    demand_weights: Any,
    site_places: Any,
    *,
    max_minutes: float,
    return_ratios: bool = False,
) -> Any:
    """Two-step floating catchment area (2SFCA) accessibility: places per 1,000 children.

    Step 1, for each site ``j``: ``R_j = places_j / sum(pop_k for demand k with t_kj <= T)``.
    Step 2, for each demand area ``i``: ``A_i = 1000 * sum(R_j for sites j with t_ij <= T)``.
    Pass *available* places to make full homes contribute nothing, so areas served only by
    full homes show as gaps (``A_i = 0``).

    Parameters
    ----------
    minutes_matrix : array-like, shape (n_demand, n_sites)
        Travel time (minutes) from each demand area to each site; NaN/inf where unreachable.
    demand_weights : array-like, shape (n_demand,)
        Demand (e.g. children aged 0-17) per area; NaN counts as 0.
    site_places : array-like, shape (n_sites,)
        Places per site (use available places); NaN counts as 0.
    max_minutes : float
        The catchment threshold ``T`` (minutes, inclusive).
    return_ratios : bool
        Also return the site ratios ``R_j`` (places per child; 0 where a site reaches no demand).

    Returns
    -------
    ndarray, shape (n_demand,)
        ``A_i`` in places per 1,000 children (0 where no site is within ``T``). With
        ``return_ratios=True`` a tuple ``(A, R)``.
    """
    t = np.asarray(minutes_matrix, dtype=np.float64)
    pop = np.nan_to_num(np.asarray(demand_weights, dtype=np.float64).ravel(), nan=0.0)
    places = np.nan_to_num(np.asarray(site_places, dtype=np.float64).ravel(), nan=0.0)
    if t.ndim != 2 or t.shape != (pop.shape[0], places.shape[0]):
        raise InputFileError(
            f"two_step_fca needs a (n_demand, n_sites) matrix; got {t.shape} for {pop.shape[0]} demand weights and {places.shape[0]} sites.",
            fix="Pass minutes with one row per demand area and one column per site.",
        )
    if not (np.isfinite(max_minutes) and max_minutes > 0):
        raise ConfigError(
            f"max_minutes must be a positive number, got {max_minutes!r}.", fix="Use e.g. 30."
        )
    if np.any(pop < 0) or np.any(places < 0):
        raise InputFileError(
            "Demand weights and places must not be negative.",
            fix="Check the population and places columns.",
        )
    within = np.nan_to_num(t, nan=np.inf) <= float(max_minutes)
    demand_j = within.T.astype(np.float64) @ pop
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand_j > 0, places / np.where(demand_j > 0, demand_j, 1.0), 0.0)
    access = (within.astype(np.float64) @ ratio) * PER_CHILDREN
    return (access, ratio) if return_ratios else access
