"""Travel times on a :class:`~geosuff.network.RoadGraph`: snapping, OD matrices, node times.

Model
-----
A point (site, home, postcode centroid) joins the network at the nearest point of the nearest road
*segment* (not the nearest node): it lies on segment ``(a, b)`` at fraction ``t`` from ``a``.
The straight gap between the point and the road, ``snap_m``, is travelled at
:data:`ACCESS_SPEED_KPH` (a private drive, car park or farm track). Along the segment, travel
follows the directed edges that exist:

* leaving the point: to ``b`` costs ``(1 - t) * time(a->b)`` if ``a->b`` exists, to ``a`` costs
  ``t * time(b->a)`` if ``b->a`` exists;
* reaching the point: from ``a`` costs ``t * time(a->b)``, from ``b`` costs
  ``(1 - t) * time(b->a)``;
* two points on the same segment may also drive directly along it (in an allowed direction);
* a point projected exactly onto a node (``t == 0`` or ``1``) *is* that node.

Each searched point becomes a virtual node with these legs as edges, and
:func:`scipy.sparse.csgraph.dijkstra` runs from the virtual nodes (in chunks of points, with
``limit=`` for cutoffs), on the reversed graph when the destinations are the smaller side.

Road distance (km) of a pair is the length of its *fastest* path: the shortest-path tree of each
search (``return_predecessors``) is re-weighted by edge length and summed by a second, cheap
Dijkstra over the tree (a tree has one path per node, so this is exact and compiled).

Points further than ``max_snap_m`` (:data:`MAX_SNAP_M`) from any drivable road are not snapped:
their reason is recorded and their times are *estimated* as straight-line distance x
:data:`CIRCUITY_FACTOR` at :data:`FALLBACK_SPEED_KPH`, flagged ``estimated=True``. Points without
coordinates are kept with a reason and no time. Nothing is dropped.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geosuff._errors import ConfigError, InputFileError
from geosuff.network import RoadGraph

logger = logging.getLogger(__name__)

#: Speed of the off-network leg between a point and its snapped road position, km/h
#: (driving slowly along a private drive, car park or farm track).
ACCESS_SPEED_KPH = 20.0
#: Points further than this from any drivable road (m) are not snapped but estimated.
MAX_SNAP_M = 1000.0
#: Ratio of road distance to straight-line distance used for estimated pairs. UK road networks
#: typically give 1.2-1.4 (shorter trips higher); 1.3 is the usual planning value.
CIRCUITY_FACTOR = 1.3
#: Average door-to-door car speed used for estimated pairs, km/h (typical of mixed urban and
#: rural English trips, well below speed limits).
FALLBACK_SPEED_KPH = 40.0
#: Smallest edge weight (s) given to csgraph, as in :meth:`RoadGraph.csr`.
MIN_EDGE_S = 1e-9
#: Memory budget (bytes) of one chunk of dense per-source distance rows.
CHUNK_BYTES = 64 * 2**20

REASON_NO_COORDS = "no coordinates"


@dataclass(frozen=True)
class SnapSettings:
    """How points join the road network.

    Attributes
    ----------
    max_snap_m : float
        Largest distance (m) from a point to the nearest drivable road for it to be snapped.
        Default :data:`MAX_SNAP_M`.
    access_speed_kph : float
        Speed of the point-to-road leg, km/h. Default :data:`ACCESS_SPEED_KPH`.
    circuity_factor : float
        Road / straight-line distance ratio for estimated pairs. Default :data:`CIRCUITY_FACTOR`.
    fallback_speed_kph : float
        Speed of estimated pairs, km/h. Default :data:`FALLBACK_SPEED_KPH`.
    """

    max_snap_m: float = MAX_SNAP_M
    access_speed_kph: float = ACCESS_SPEED_KPH
    circuity_factor: float = CIRCUITY_FACTOR
    fallback_speed_kph: float = FALLBACK_SPEED_KPH

    def __post_init__(self) -> None:
        checks = {
            "max_snap_m": (0.0, 1e6),
            "access_speed_kph": (0.1, 200.0),
            "circuity_factor": (1.0, 5.0),
            "fallback_speed_kph": (1.0, 200.0),
        }
        for name, (lo, hi) in checks.items():
            val = getattr(self, name)
            if not isinstance(val, int | float) or not (lo <= float(val) <= hi):
                raise ConfigError(
                    f"Snap setting {name} must be a number in [{lo:g}, {hi:g}], got {val!r}.",
                    fix=f"Use the default {getattr(SnapSettings, name)!r} unless you have a reason.",
                )


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points joined to the network (one entry per input point, in input order).

    Attributes
    ----------
    edge : ndarray of int64
        Index of the graph edge the point lies on (-1 for points without coordinates). For a
        two-way road this is the edge whose direction exists; ``frac`` is measured from its ``u``.
    frac : ndarray of float64
        Position along ``edge`` from ``graph.u[edge]`` (0) to ``graph.v[edge]`` (1).
    snap_m : ndarray of float64
        Straight distance (m) from the point to the nearest road (NaN without coordinates),
        reported also for points beyond ``max_snap_m``.
    on_network : ndarray of bool
        True where the point is snapped (has coordinates and ``snap_m <= max_snap_m``).
    reason : ndarray of str (object)
        "" for snapped points, else why not ("no coordinates", "off network: ...").
    x, y : ndarray of float64
        Input coordinates (m, graph CRS).
    snap_x, snap_y : ndarray of float64
        Snapped position on the road (m).
    segment : ndarray of int64
        Internal undirected segment index (-1 without coordinates).
    seg_frac : ndarray of float64
        Position along the segment from its lower-numbered node.
    """

    edge: np.ndarray
    frac: np.ndarray
    snap_m: np.ndarray
    on_network: np.ndarray
    reason: np.ndarray
    x: np.ndarray
    y: np.ndarray
    snap_x: np.ndarray
    snap_y: np.ndarray
    segment: np.ndarray
    seg_frac: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def has_coords(self) -> np.ndarray:
        """True where the input point has finite coordinates."""
        return np.isfinite(self.x) & np.isfinite(self.y)


@dataclass(frozen=True, eq=False)
class ODResult:
    """Origin-destination travel times.

    Attributes
    ----------
    minutes : ndarray of float64, shape (n_origins, n_destinations)
        Car travel time in minutes; NaN where there is no route, a point has no coordinates, or
        the time is beyond ``max_minutes``.
    km : ndarray of float64, shape (n_origins, n_destinations)
        Road distance of the fastest path in km (straight line x circuity for estimated pairs);
        NaN wherever ``minutes`` is NaN.
    estimated : ndarray of bool, shape (n_origins, n_destinations)
        True where a point of the pair is off the network and the pair is estimated.
    reason : ndarray of str (object), shape (n_origins, n_destinations)
        Per pair: "" for routed pairs; otherwise "estimated: origin off network (...)",
        "beyond max_minutes", "no route" (graphs that are not strongly connected; with a cutoff
        "no route within max_minutes"), "origin has no coordinates", ... (parts joined by "; ").
    origins, destinations : Snapped
        How each side joined the network (per-point reasons).
    max_minutes : float or None
        The cutoff used.
    """

    minutes: np.ndarray
    km: np.ndarray
    estimated: np.ndarray
    reason: np.ndarray
    origins: Snapped
    destinations: Snapped
    max_minutes: float | None = None


# ------------------------------------------------------------------------------ router cache


class _CSR:
    """A CSR adjacency with time and length data aligned (min time per node pair)."""

    def __init__(self, n: int, tail: np.ndarray, head: np.ndarray, time_s: np.ndarray, length_m: np.ndarray) -> None:
        self.n = n
        key = tail.astype(np.int64) * n + head.astype(np.int64)
        order = np.lexsort((time_s, key))
        ks = key[order]
        first = np.ones(ks.shape[0], dtype=bool)
        first[1:] = ks[1:] != ks[:-1]
        keep = order[first]  # sorted by key = (tail, head)
        self.edge = keep
        self.tail = tail[keep].astype(np.int64)
        self.head = head[keep].astype(np.int64)
        self.time = np.maximum(time_s[keep], MIN_EDGE_S)
        self.length = length_m[keep].astype(np.float64)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(self.tail, minlength=n))]).astype(np.int64)


class _Router:
    """Per-graph routing structures, built once and cached (weakly) per graph object."""

    def __init__(self, graph: RoadGraph) -> None:
        n = graph.n_nodes
        self.n = n
        self.x = graph.x
        self.y = graph.y
        self.fwd = _CSR(n, graph.u, graph.v, graph.time_s, graph.length_m)
        self.rev = _CSR(n, graph.v, graph.u, graph.time_s, graph.length_m)
        # undirected segments a < b with the min-time directed edge of each direction
        f = self.fwd
        mask = f.tail != f.head
        tail, head, eid = f.tail[mask], f.head[mask], f.edge[mask]
        t, L = f.time[mask], f.length[mask]
        a = np.minimum(tail, head)
        b = np.maximum(tail, head)
        skey, seg = np.unique(a * n + b, return_inverse=True)
        ns = skey.shape[0]
        self.seg_a = (skey // n).astype(np.int64)
        self.seg_b = (skey % n).astype(np.int64)
        self.T_ab = np.full(ns, np.inf)
        self.T_ba = np.full(ns, np.inf)
        self.L_ab = np.full(ns, np.nan)
        self.L_ba = np.full(ns, np.nan)
        self.e_ab = np.full(ns, -1, dtype=np.int64)
        self.e_ba = np.full(ns, -1, dtype=np.int64)
        fwd_dir = tail < head
        for sel, T, Ln, E in ((fwd_dir, self.T_ab, self.L_ab, self.e_ab), (~fwd_dir, self.T_ba, self.L_ba, self.e_ba)):
            T[seg[sel]] = t[sel]
            Ln[seg[sel]] = L[sel]
            E[seg[sel]] = eid[sel]
        self._tree: Any = None
        self._node_tree: cKDTree | None = None
        n_comp, _ = connected_components(
            sp.csr_matrix((np.ones(f.tail.shape[0], dtype=np.int8), (f.tail, f.head)), shape=(n, n)),
            directed=True,
            connection="strong",
        )
        self.strongly_connected = bool(n_comp == 1)

    @property
    def seg_tree(self) -> Any:
        if self._tree is None:
            import shapely

            coords = np.stack(
                [
                    np.stack([self.x[self.seg_a], self.y[self.seg_a]], axis=1),
                    np.stack([self.x[self.seg_b], self.y[self.seg_b]], axis=1),
                ],
                axis=1,
            )
            self._tree = shapely.STRtree(shapely.linestrings(coords))
        return self._tree

    @property
    def node_tree(self) -> cKDTree:
        if self._node_tree is None:
            self._node_tree = cKDTree(np.column_stack([self.x, self.y]))
        return self._node_tree


_ROUTERS: weakref.WeakKeyDictionary[RoadGraph, _Router] = weakref.WeakKeyDictionary()


def _router(graph: RoadGraph) -> _Router:
    r = _ROUTERS.get(graph)
    if r is None:
        r = _Router(graph)
        _ROUTERS[graph] = r
    return r


# ----------------------------------------------------------------------------------- snapping


def _as_xy(x: Any, y: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Accept (x, y) arrays or one (n, 2) array."""
    if y is None:
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InputFileError(
                f"Point coordinates must be an (n, 2) array of easting, northing; got shape {arr.shape}.",
                fix="Pass np.column_stack([easting, northing]).",
            )
        return arr[:, 0].copy(), arr[:, 1].copy()
    xa = np.atleast_1d(np.asarray(x, dtype=np.float64)).copy()
    ya = np.atleast_1d(np.asarray(y, dtype=np.float64)).copy()
    if xa.shape != ya.shape or xa.ndim != 1:
        raise InputFileError(
            f"x and y must be 1-D arrays of the same length, got {xa.shape} and {ya.shape}.",
            fix="Pass one easting and one northing per point.",
        )
    return xa, ya


def snap_points(graph: RoadGraph, x: Any, y: Any, *, settings: SnapSettings | None = None) -> Snapped:
    """Join points to the nearest road segment of ``graph``.

    Parameters
    ----------
    graph : RoadGraph
    x, y : array-like of float
        Easting / northing in metres (graph CRS, EPSG:27700). NaN for unknown locations.
    settings : SnapSettings, optional

    Returns
    -------
    Snapped
        One entry per point, in order. The nearest segment is exact (GEOS STRtree nearest query
        over straight segments), ties broken arbitrarily.
    """
    settings = settings or SnapSettings()
    r = _router(graph)
    xa, ya = _as_xy(x, y)
    n = xa.shape[0]
    has = np.isfinite(xa) & np.isfinite(ya)
    seg = np.full(n, -1, dtype=np.int64)
    if has.any():
        import shapely

        pts = shapely.points(xa[has], ya[has])
        idx = r.seg_tree.query_nearest(pts, all_matches=False)
        found = np.full(int(has.sum()), -1, dtype=np.int64)
        found[idx[0]] = idx[1]
        seg[has] = found
    ok = seg >= 0
    s = np.where(ok, seg, 0)
    ax, ay = r.x[r.seg_a[s]], r.y[r.seg_a[s]]
    bx, by = r.x[r.seg_b[s]], r.y[r.seg_b[s]]
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(l2 > 0, ((xa - ax) * dx + (ya - ay) * dy) / np.where(l2 > 0, l2, 1.0), 0.0)
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    sx, sy = ax + t * dx, ay + t * dy
    snap_m = np.hypot(xa - sx, ya - sy)
    snap_m[~ok] = np.nan
    t[~ok] = np.nan
    sx[~ok] = np.nan
    sy[~ok] = np.nan
    on = ok & (snap_m <= settings.max_snap_m)
    reason = np.full(n, "", dtype=object)
    reason[~ok] = REASON_NO_COORDS
    far = ok & ~on
    for i in np.nonzero(far)[0]:
        reason[i] = f"off network: {snap_m[i]:.0f} m from the nearest road (> max_snap_m {settings.max_snap_m:g} m)"
    # representative directed edge and fraction along it
    has_ab = np.isfinite(r.T_ab[s])
    edge = np.where(has_ab, r.e_ab[s], r.e_ba[s])
    frac = np.where(has_ab, t, 1.0 - t)
    edge[~ok] = -1
    return Snapped(
        edge=edge.astype(np.int64),
        frac=frac,
        snap_m=snap_m,
        on_network=on,
        reason=reason,
        x=xa,
        y=ya,
        snap_x=sx,
        snap_y=sy,
        segment=seg,
        seg_frac=t,
    )


def _access_s(snapped: Snapped, settings: SnapSettings) -> np.ndarray:
    return snapped.snap_m / (settings.access_speed_kph / 3.6)


def _legs(r: _Router, sn: Snapped, settings: SnapSettings, *, arrive: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Legs between on-network points and the two nodes of their segment.

    Returns nodes (k, 2) = (a, b), times (k, 2) in s (inf where the leg does not exist) including
    the access leg, lengths (k, 2) in m including the access leg; rows follow
    ``np.nonzero(sn.on_network)``. ``arrive=False``: point -> node; ``arrive=True``: node -> point.
    """
    idx = np.nonzero(sn.on_network)[0]
    s = sn.segment[idx]
    t = sn.seg_frac[idx]
    acc = _access_s(sn, settings)[idx]
    accm = sn.snap_m[idx]
    Tab, Tba, Lab, Lba = r.T_ab[s], r.T_ba[s], r.L_ab[s], r.L_ba[s]
    at_a = t <= 0.0
    at_b = t >= 1.0
    with np.errstate(invalid="ignore"):
        if arrive:
            ta = np.where(at_a, 0.0, t * Tab)  # from a along a->b
            tb = np.where(at_b, 0.0, (1.0 - t) * Tba)  # from b along b->a
            la = np.where(at_a, 0.0, t * Lab)
            lb = np.where(at_b, 0.0, (1.0 - t) * Lba)
        else:
            ta = np.where(at_a, 0.0, t * Tba)  # to a along b->a
            tb = np.where(at_b, 0.0, (1.0 - t) * Tab)  # to b along a->b
            la = np.where(at_a, 0.0, t * Lba)
            lb = np.where(at_b, 0.0, (1.0 - t) * Lab)
    times = np.stack([ta, tb], axis=1)
    times = np.where(np.isnan(times), np.inf, times)
    lengths = np.stack([la, lb], axis=1)
    lengths = np.where(np.isfinite(times), lengths, np.nan)
    times = times + acc[:, None]
    lengths = lengths + accm[:, None]
    nodes = np.stack([r.seg_a[s], r.seg_b[s]], axis=1)
    return nodes, times, lengths


def _along(r: _Router, s: np.ndarray, t_from: np.ndarray, t_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) and length (m) driving along segment ``s`` from fraction ``t_from`` to ``t_to``
    (broadcasting); inf/NaN where the needed direction does not exist."""
    d = t_to - t_from
    with np.errstate(invalid="ignore"):
        fwd_t = np.where(d >= 0, d * r.T_ab[s], np.inf)
        bwd_t = np.where(d <= 0, -d * r.T_ba[s], np.inf)
        fwd_t = np.where(np.isnan(fwd_t), np.inf, fwd_t)
        bwd_t = np.where(np.isnan(bwd_t), np.inf, bwd_t)
        use_f = fwd_t <= bwd_t
        time = np.where(use_f, fwd_t, bwd_t)
        length = np.where(use_f, np.abs(d) * r.L_ab[s], np.abs(d) * r.L_ba[s])
    length = np.where(np.isfinite(time), length, np.nan)
    return time, length


# ---------------------------------------------------------------------------------- searching


class _Augmented:
    """Routing CSR (forward or reverse) plus one virtual source node per point."""

    def __init__(self, base: _CSR, nodes: np.ndarray, times: np.ndarray, lengths: np.ndarray) -> None:
        n = base.n
        k = nodes.shape[0]
        self.n = n
        self.N = n + k
        ok = np.isfinite(times)
        # sort each virtual row's entries by column for a sorted CSR
        order = np.argsort(np.where(ok, nodes, np.iinfo(np.int64).max), axis=1, kind="stable")
        vn = np.take_along_axis(nodes, order, axis=1)
        vt = np.take_along_axis(times, order, axis=1)
        vl = np.take_along_axis(lengths, order, axis=1)
        vok = np.take_along_axis(ok, order, axis=1)
        counts = vok.sum(axis=1)
        indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
        indices = np.concatenate([base.head, vn[vok]])
        data = np.concatenate([base.time, np.maximum(vt[vok], MIN_EDGE_S)])
        self.length = np.concatenate([base.length, vl[vok]])
        tails = np.concatenate([base.tail, np.repeat(np.arange(n, n + k), counts)])
        self.key = tails * self.N + indices
        self.matrix = sp.csr_matrix((data, indices.astype(np.int32), indptr.astype(np.int32)), shape=(self.N, self.N))
        self.matrix.has_sorted_indices = True

    def search(self, rows: np.ndarray, *, limit: float, lengths: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Dijkstra from virtual nodes ``rows`` (0-based point rows): times (k, n) and tree lengths."""
        idx = self.n + rows
        if not lengths:
            dist = dijkstra(self.matrix, directed=True, indices=idx, limit=limit)
            return np.atleast_2d(dist)[:, : self.n], None
        dist, pred = dijkstra(self.matrix, directed=True, indices=idx, limit=limit, return_predecessors=True)
        dist = np.atleast_2d(dist)
        pred = np.atleast_2d(pred)
        return dist[:, : self.n], self._tree_lengths(pred, idx)[:, : self.n]

    def _tree_lengths(self, pred: np.ndarray, roots: np.ndarray) -> np.ndarray:
        """Length (m) of the tree path root -> node for each row of a predecessor matrix."""
        k, N = pred.shape
        row, col = np.nonzero(pred >= 0)
        p = pred[row, col].astype(np.int64)
        pos = np.searchsorted(self.key, p * N + col)
        w = np.maximum(self.length[pos], MIN_EDGE_S)
        off = row.astype(np.int64) * N
        tree = sp.csr_matrix((w, (off + p, off + col)), shape=(k * N, k * N))
        tl = dijkstra(tree, directed=True, indices=np.arange(k) * N + roots, min_only=True)
        return np.asarray(tl).reshape(k, N)


def _chunk_size(n_cols: int, *, factor: int = 1) -> int:
    return max(1, int(CHUNK_BYTES // (8 * max(n_cols, 1) * factor)))


def _limit_s(max_minutes: float | None) -> float:
    if max_minutes is None:
        return np.inf
    if not (float(max_minutes) > 0):
        raise ConfigError(f"max_minutes must be positive, got {max_minutes!r}.", fix="Use e.g. 30.")
    return float(max_minutes) * 60.0


def _estimate_s(dist_m: np.ndarray, settings: SnapSettings) -> np.ndarray:
    return dist_m * settings.circuity_factor / (settings.fallback_speed_kph / 3.6)


# ----------------------------------------------------------------------------------- OD matrix


def od_matrix(
    graph: RoadGraph,
    origins_xy: Any,
    destinations_xy: Any,
    *,
    max_minutes: float | None = None,
    settings: SnapSettings | None = None,
) -> ODResult:
    """Car travel time (minutes) and road distance (km) between every origin and destination.

    Parameters
    ----------
    graph : RoadGraph
    origins_xy, destinations_xy : array-like, shape (n, 2) / (m, 2)
        Easting, northing in metres (graph CRS). Rows with NaN are kept with a reason.
    max_minutes : float, optional
        Cutoff: pairs slower than this get NaN minutes (reason "beyond max_minutes"); searches stop
        there, which makes large matrices much faster.
    settings : SnapSettings, optional

    Returns
    -------
    ODResult
        Dijkstra runs from the smaller side (on the reversed graph from destinations).
    """
    settings = settings or SnapSettings()
    r = _router(graph)
    ox, oy = _as_xy(origins_xy)
    dx, dy = _as_xy(destinations_xy)
    so = snap_points(graph, ox, oy, settings=settings)
    sd = snap_points(graph, dx, dy, settings=settings)
    n, m = ox.shape[0], dx.shape[0]
    limit = _limit_s(max_minutes)
    secs = np.full((n, m), np.inf)
    metres = np.full((n, m), np.nan)

    io_ = np.nonzero(so.on_network)[0]
    id_ = np.nonzero(sd.on_network)[0]
    if io_.size and id_.size:
        dep_nodes, dep_t, dep_l = _legs(r, so, settings, arrive=False)
        arr_nodes, arr_t, arr_l = _legs(r, sd, settings, arrive=True)
        forward = io_.size <= id_.size
        if forward:
            aug = _Augmented(r.fwd, dep_nodes, dep_t, dep_l)
            other_nodes, other_t, other_l = arr_nodes, arr_t, arr_l
        else:
            aug = _Augmented(r.rev, arr_nodes, arr_t, arr_l)
            other_nodes, other_t, other_l = dep_nodes, dep_t, dep_l
        n_src = aug.N - aug.n
        chunk = _chunk_size(aug.N, factor=4)
        for start in range(0, n_src, chunk):
            rows = np.arange(start, min(start + chunk, n_src))
            D, TL = aug.search(rows, limit=limit, lengths=True)
            assert TL is not None
            ca = D[:, other_nodes[:, 0]] + other_t[None, :, 0]
            cb = D[:, other_nodes[:, 1]] + other_t[None, :, 1]
            use_a = ca <= cb
            best = np.where(use_a, ca, cb)
            blen = np.where(use_a, TL[:, other_nodes[:, 0]] + other_l[None, :, 0], TL[:, other_nodes[:, 1]] + other_l[None, :, 1])
            if forward:
                oi, di = io_[rows], id_
                secs[np.ix_(oi, di)] = best
                metres[np.ix_(oi, di)] = blen
            else:
                oi, di = io_, id_[rows]
                secs[np.ix_(oi, di)] = best.T
                metres[np.ix_(oi, di)] = blen.T
        # pairs on the same segment may drive directly along it
        _same_segment_od(r, so, sd, io_, id_, settings, secs, metres)

    estimated = np.zeros((n, m), dtype=bool)
    reason = np.full((n, m), "", dtype=object)
    o_has, d_has = so.has_coords, sd.has_coords
    both = o_has[:, None] & d_has[None, :]
    off = both & ~(so.on_network[:, None] & sd.on_network[None, :])
    if off.any():
        straight = np.hypot(ox[:, None] - dx[None, :], oy[:, None] - dy[None, :])
        secs = np.where(off, _estimate_s(straight, settings), secs)
        metres = np.where(off, straight * settings.circuity_factor, metres)
        estimated = off
        o_off = o_has & ~so.on_network
        d_off = d_has & ~sd.on_network
        for i in np.nonzero(o_off)[0]:
            reason[i, d_has] = f"estimated: origin {so.reason[i]}"
        for j in np.nonzero(d_off)[0]:
            rows = np.nonzero(o_has)[0]
            prefix = np.where(o_off[rows], reason[rows, j].astype(str) + "; ", "estimated: ")
            reason[rows, j] = np.char.add(prefix.astype(str), f"destination {sd.reason[j]}").astype(object)
    no_o = ~o_has
    no_d = ~d_has
    if no_o.any() or no_d.any():
        reason[no_o, :] = "origin has no coordinates"
        for j in np.nonzero(no_d)[0]:
            col = reason[:, j]
            reason[:, j] = np.where(col == "", "destination has no coordinates", col + "; destination has no coordinates")
    routed = both & ~off
    unreachable = routed & ~np.isfinite(secs)
    if np.isfinite(limit):
        # a search stopped by the cutoff cannot tell "slower than the cutoff" from "no route";
        # in a strongly connected graph (as built from OSM) every pair has a route
        beyond = np.isfinite(secs) & (secs > limit)
        beyond |= unreachable & r.strongly_connected
        unreachable &= ~beyond
        reason[unreachable] = "no route within max_minutes"
    else:
        beyond = np.zeros_like(unreachable)
        reason[unreachable] = "no route"
    if beyond.any():
        reason[beyond] = np.where(reason[beyond] == "", "beyond max_minutes", reason[beyond] + "; beyond max_minutes")
    minutes = np.where(np.isfinite(secs) & ~beyond, secs / 60.0, np.nan)
    km = np.where(np.isfinite(secs) & ~beyond, metres / 1000.0, np.nan)
    return ODResult(
        minutes=minutes,
        km=km,
        estimated=estimated,
        reason=reason,
        origins=so,
        destinations=sd,
        max_minutes=None if max_minutes is None else float(max_minutes),
    )


def _same_segment_od(
    r: _Router,
    so: Snapped,
    sd: Snapped,
    io_: np.ndarray,
    id_: np.ndarray,
    settings: SnapSettings,
    secs: np.ndarray,
    metres: np.ndarray,
) -> None:
    """Improve ``secs``/``metres`` in place for pairs snapped onto the same segment."""
    seg_o = so.segment[io_]
    seg_d = sd.segment[id_]
    order = np.argsort(seg_d, kind="stable")
    sd_sorted = seg_d[order]
    lo = np.searchsorted(sd_sorted, seg_o, side="left")
    hi = np.searchsorted(sd_sorted, seg_o, side="right")
    cnt = hi - lo
    if not cnt.any():
        return
    oi = np.repeat(io_, cnt)
    pos = np.repeat(lo - np.cumsum(np.concatenate([[0], cnt[:-1]])), cnt) + np.arange(cnt.sum())
    di = id_[order[pos]]
    s = so.segment[oi]
    t_along, l_along = _along(r, s, so.seg_frac[oi], sd.seg_frac[di])
    acc_o = _access_s(so, settings)[oi]
    acc_d = _access_s(sd, settings)[di]
    direct = t_along + acc_o + acc_d
    dlen = l_along + so.snap_m[oi] + sd.snap_m[di]
    better = direct < secs[oi, di]
    secs[oi[better], di[better]] = direct[better]
    metres[oi[better], di[better]] = dlen[better]


# ----------------------------------------------------------------------------------- node times


def _off_network_node_seconds(r: _Router, sn: Snapped, rows: np.ndarray, settings: SnapSettings) -> np.ndarray:
    d = np.hypot(sn.x[rows, None] - r.x[None, :], sn.y[rows, None] - r.y[None, :])
    return _estimate_s(d, settings)


def node_times(
    graph: RoadGraph,
    x: Any,
    y: Any,
    *,
    max_minutes: float | None = None,
    reverse: bool = False,
    settings: SnapSettings | None = None,
    return_snapped: bool = False,
) -> Any:
    """Seconds from each point to every node (or every node to each point with ``reverse=True``).

    Parameters
    ----------
    graph : RoadGraph
    x, y : array-like of float
        Point easting / northing (m).
    max_minutes : float, optional
        Cutoff: nodes slower than this are ``inf`` (and the search stops there).
    reverse : bool
        False: point -> node times. True: node -> point times (reversed graph).
    settings : SnapSettings, optional
    return_snapped : bool
        Also return the :class:`Snapped` of the points.

    Returns
    -------
    ndarray of float64, shape (n_points, n_nodes)
        Seconds including the point's access leg; ``inf`` where unreachable or beyond the cutoff.
        Rows of off-network points are estimated (straight line x circuity at the fallback speed;
        ``snapped.on_network`` is False there); rows of points without coordinates are all ``inf``.
        With ``return_snapped=True`` a tuple ``(times, snapped)``.
    """
    settings = settings or SnapSettings()
    r = _router(graph)
    sn = snap_points(graph, x, y, settings=settings)
    limit = _limit_s(max_minutes)
    out = np.full((len(sn), r.n), np.inf)
    on = np.nonzero(sn.on_network)[0]
    if on.size:
        nodes, t, L = _legs(r, sn, settings, arrive=reverse)
        aug = _Augmented(r.rev if reverse else r.fwd, nodes, t, L)
        chunk = _chunk_size(aug.N)
        for start in range(0, on.size, chunk):
            rows = np.arange(start, min(start + chunk, on.size))
            D, _ = aug.search(rows, limit=limit, lengths=False)
            out[on[rows]] = D
    off = np.nonzero(sn.has_coords & ~sn.on_network)[0]
    if off.size:
        out[off] = _off_network_node_seconds(r, sn, off, settings)
    if np.isfinite(limit):
        out[out > limit] = np.inf
    return (out, sn) if return_snapped else out


def reachable(
    graph: RoadGraph,
    x: Any,
    y: Any,
    *,
    max_minutes: float,
    reverse: bool = False,
    settings: SnapSettings | None = None,
) -> sp.csr_array:
    """Nodes reachable from each point within ``max_minutes``, as a sparse matrix of seconds.

    Memory-light alternative to :func:`node_times` for big graphs (catchment input).

    Returns
    -------
    scipy.sparse.csr_array, shape (n_points, n_nodes)
        Stored entries are the reached nodes with their time in seconds (> 0; a node reached at
        exactly 0 s is stored as :data:`MIN_EDGE_S`). Same conventions as :func:`node_times`.
    """
    settings = settings or SnapSettings()
    r = _router(graph)
    sn = snap_points(graph, x, y, settings=settings)
    limit = _limit_s(max_minutes)
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    vals_out: list[np.ndarray] = []
    on = np.nonzero(sn.on_network)[0]
    if on.size:
        nodes, t, L = _legs(r, sn, settings, arrive=reverse)
        aug = _Augmented(r.rev if reverse else r.fwd, nodes, t, L)
        chunk = _chunk_size(aug.N)
        for start in range(0, on.size, chunk):
            rows = np.arange(start, min(start + chunk, on.size))
            D, _ = aug.search(rows, limit=limit, lengths=False)
            rr, cc = np.nonzero(D <= limit)
            rows_out.append(on[rows][rr])
            cols_out.append(cc)
            vals_out.append(D[rr, cc])
    off = np.nonzero(sn.has_coords & ~sn.on_network)[0]
    if off.size:
        radius = limit * (settings.fallback_speed_kph / 3.6) / settings.circuity_factor
        hits = r.node_tree.query_ball_point(np.column_stack([sn.x[off], sn.y[off]]), r=radius)
        for i, nodes_hit in zip(off, hits, strict=True):
            cc = np.asarray(nodes_hit, dtype=np.int64)
            secs = _off_network_node_seconds(r, sn, np.array([i]), settings)[0, cc]
            rows_out.append(np.full(cc.shape[0], i))
            cols_out.append(cc)
            vals_out.append(secs)
    if rows_out:
        rr = np.concatenate(rows_out)
        cc = np.concatenate(cols_out)
        vv = np.maximum(np.concatenate(vals_out), MIN_EDGE_S)
    else:
        rr = cc = np.zeros(0, dtype=np.int64)
        vv = np.zeros(0)
    return sp.csr_array((vv, (rr, cc)), shape=(len(sn), r.n))


def nearest_minutes(
    graph: RoadGraph,
    source_xy: Any,
    target_xy: Any | None = None,
    *,
    max_minutes: float | None = None,
    settings: SnapSettings | None = None,
    return_estimated: bool = False,
) -> Any:
    """Minutes from every node (or every target point) to the *nearest* source point.

    One multi-source Dijkstra on the reversed graph (``min_only``), whatever the number of sources.

    Parameters
    ----------
    graph : RoadGraph
    source_xy : array-like, shape (k, 2)
        Source points (e.g. provision sites), easting/northing in m.
    target_xy : array-like, shape (m, 2), optional
        Target points (e.g. homes). None gives one value per graph node.
    max_minutes : float, optional
        Cutoff; slower values are NaN.
    settings : SnapSettings, optional
    return_estimated : bool
        Also return a bool array: True where the value is an estimate (an off-network point on the
        nearest pair).

    Returns
    -------
    ndarray of float64, shape (n_nodes,) or (m,)
        Minutes; NaN where no source is reachable, beyond the cutoff, or the target has no
        coordinates. With ``return_estimated=True`` a tuple ``(minutes, estimated)``.
    """
    settings = settings or SnapSettings()
    r = _router(graph)
    sx, sy = _as_xy(source_xy)
    ss = snap_points(graph, sx, sy, settings=settings)
    limit = _limit_s(max_minutes)
    on = np.nonzero(ss.on_network)[0]
    D = np.full(r.n, np.inf)
    if on.size:
        nodes, t, L = _legs(r, ss, settings, arrive=True)
        aug = _Augmented(r.rev, nodes, t, L)
        dist = dijkstra(aug.matrix, directed=True, indices=aug.n + np.arange(on.size), limit=limit, min_only=True)
        D = np.asarray(dist)[: r.n]
    s_off = np.nonzero(ss.has_coords & ~ss.on_network)[0]
    s_all = np.nonzero(ss.has_coords)[0]
    if target_xy is None:
        secs = D
        est = np.zeros(r.n, dtype=bool)
        if s_off.size:
            d, _ = cKDTree(np.column_stack([sx[s_off], sy[s_off]])).query(np.column_stack([r.x, r.y]))
            e = _estimate_s(d, settings)
            est = e < secs
            secs = np.where(est, e, secs)
    else:
        tx, ty = _as_xy(target_xy)
        st = snap_points(graph, tx, ty, settings=settings)
        secs = np.full(len(st), np.inf)
        est = np.zeros(len(st), dtype=bool)
        ton = np.nonzero(st.on_network)[0]
        if ton.size:
            nodes, t, _ = _legs(r, st, settings, arrive=False)
            secs[ton] = np.minimum(t[:, 0] + D[nodes[:, 0]], t[:, 1] + D[nodes[:, 1]])
            if on.size:
                direct = np.full(len(st), np.inf)
                _same_segment_nearest(r, st, ss, ton, on, settings, direct)
                secs = np.minimum(secs, direct)
            if s_off.size:
                d, _ = cKDTree(np.column_stack([sx[s_off], sy[s_off]])).query(np.column_stack([tx[ton], ty[ton]]))
                e = _estimate_s(d, settings)
                better = e < secs[ton]
                secs[ton[better]] = e[better]
                est[ton[better]] = True
        t_off = np.nonzero(st.has_coords & ~st.on_network)[0]
        if t_off.size and s_all.size:
            d, _ = cKDTree(np.column_stack([sx[s_all], sy[s_all]])).query(np.column_stack([tx[t_off], ty[t_off]]))
            secs[t_off] = _estimate_s(d, settings)
            est[t_off] = True
    minutes = np.where(np.isfinite(secs) & (secs <= limit), secs / 60.0, np.nan)
    return (minutes, est) if return_estimated else minutes


def _same_segment_nearest(
    r: _Router,
    st: Snapped,
    ss: Snapped,
    ton: np.ndarray,
    son: np.ndarray,
    settings: SnapSettings,
    out: np.ndarray,
) -> None:
    """Best direct along-segment time (s) from each on-network target to a source on its segment."""
    seg_s = ss.segment[son]
    order = np.argsort(seg_s, kind="stable")
    sorted_s = seg_s[order]
    seg_t = st.segment[ton]
    lo = np.searchsorted(sorted_s, seg_t, side="left")
    hi = np.searchsorted(sorted_s, seg_t, side="right")
    cnt = hi - lo
    if not cnt.any():
        return
    ti = np.repeat(ton, cnt)
    pos = np.repeat(lo - np.cumsum(np.concatenate([[0], cnt[:-1]])), cnt) + np.arange(cnt.sum())
    si = son[order[pos]]
    tm, _ = _along(r, st.segment[ti], st.seg_frac[ti], ss.seg_frac[si])
    direct = tm + _access_s(st, settings)[ti] + _access_s(ss, settings)[si]
    np.minimum.at(out, ti, direct)


# ---------------------------------------------------------------------------------- tables


def od_table(od: ODResult, from_ids: Sequence[Any], to_ids: Sequence[Any], *, decimals: int | None = 2) -> pd.DataFrame:
    """Long table of an OD result: one row per (origin, destination) pair, none dropped.

    Columns ``from_id, to_id, minutes, km, estimated, reason``; ``minutes``/``km`` are empty
    (NaN) where there is no value, with the reason saying why. ``decimals`` rounds minutes and km
    (None keeps full precision).
    """
    n, m = od.minutes.shape
    fid = np.asarray(from_ids, dtype=object)
    tid = np.asarray(to_ids, dtype=object)
    if fid.shape[0] != n or tid.shape[0] != m:
        raise InputFileError(
            f"od_table got {fid.shape[0]} origin ids and {tid.shape[0]} destination ids for a {n}x{m} matrix.",
            fix="Pass one id per origin and per destination, in the same order as the points.",
        )
    minutes = od.minutes.ravel()
    km = od.km.ravel()
    if decimals is not None:
        minutes = np.round(minutes, decimals)
        km = np.round(km, decimals)
    return pd.DataFrame(
        {
            "from_id": np.repeat(fid, m),
            "to_id": np.tile(tid, n),
            "minutes": minutes,
            "km": km,
            "estimated": od.estimated.ravel(),
            "reason": od.reason.ravel().astype(str),
        }
    )


def read_points(path: str | Path, *, postcodes: Any = None) -> pd.DataFrame:
    """Read a point file for travel times: ``id`` plus ``postcode``, ``lon``/``lat`` (WGS84) or
    ``easting``/``northing`` (EPSG:27700), located with :func:`geosuff.inputs.locate_points`.

    Parameters
    ----------
    path : str or Path
        CSV or Excel file.
    postcodes : PostcodeLookup, str or Path, optional
        Postcode lookup (or its file); None uses :func:`geosuff.inputs.default_lookup`.

    Returns
    -------
    pandas.DataFrame
        New frame with ``id``, ``easting``, ``northing`` (m; NaN where not located) and ``reason``
        ("" or why the point has no location). Every input row is kept.
    """
    from geosuff import inputs

    p = Path(path)
    df = inputs.read_table(p, name="point")
    id_col = next((c for c in df.columns if c.lower() == "id"), None)
    if id_col is None:
        raise InputFileError(
            f"The point file {p.name} has no 'id' column (it has: {', '.join(map(str, df.columns[:12]))}).",
            fix="Add an id column identifying each point.",
        )
    lookup = postcodes
    if not isinstance(lookup, inputs.PostcodeLookup):
        has_pc = any(c.lower() in {"postcode", "post_code", "pcd"} for c in df.columns)
        lookup = inputs.default_lookup(lookup) if has_pc else None
    located, issues = inputs.locate_points(df, lookup, file=p.name)
    for issue in issues:
        logger.warning("%s", issue)
    return pd.DataFrame(
        {
            "id": df[id_col].astype(str).to_numpy(),
            "easting": located["easting"].to_numpy(dtype=float),
            "northing": located["northing"].to_numpy(dtype=float),
            "reason": located["location_reason"].fillna("").astype(str).to_numpy(),
        }
    )


def od_table_from_files(
    network_path: str | Path,
    from_csv: str | Path,
    to_csv: str | Path,
    *,
    postcodes: Any = None,
    max_minutes: float | None = None,
    speeds: Any = None,
    snap: SnapSettings | None = None,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """OD table between two point files over the road network of an OSM extract.

    Backs ``geosuff traveltime --network OSMFILE --from A.csv --to B.csv [--max-minutes N]``.

    Parameters
    ----------
    network_path : str or Path
        OSM extract (.osm.pbf / .osm / .osm.bz2); the built graph is cached.
    from_csv, to_csv : str or Path
        Point files with ``id`` and ``easting``/``northing`` (EPSG:27700), ``lon``/``lat`` (WGS84)
        or ``postcode`` (located with :mod:`geosuff.inputs`).
    postcodes : PostcodeLookup or path, optional
        Postcode lookup for files with a ``postcode`` column.
    max_minutes : float, optional
    speeds : SpeedSettings, optional
    snap : SnapSettings, optional
    cache_dir : str or Path, optional

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, minutes, km, estimated, reason``, one row per pair (no coordinates are
        written: point locations may be personal data). A point that could not be located keeps its
        rows with the location reason.
    """
    from geosuff.network import build_graph

    graph = build_graph(network_path, speeds=speeds, cache_dir=cache_dir)
    a = read_points(from_csv, postcodes=postcodes)
    b = read_points(to_csv, postcodes=postcodes)
    od = od_matrix(
        graph,
        np.column_stack([a["easting"], a["northing"]]),
        np.column_stack([b["easting"], b["northing"]]),
        max_minutes=max_minutes,
        settings=snap,
    )
    table = od_table(od, a["id"].to_numpy(), b["id"].to_numpy())
    # say why a point was not located (e.g. unknown postcode) instead of "has no coordinates"
    n, m = len(a), len(b)
    reasons = table["reason"].to_numpy(dtype=object)
    for side, why in (("origin", np.repeat(a["reason"].to_numpy(dtype=object), m)), ("destination", np.tile(b["reason"].to_numpy(dtype=object), n))):
        for k in np.flatnonzero(why != ""):
            reasons[k] = reasons[k].replace(f"{side} has no coordinates", f"{side} not located: {why[k]}")
    table["reason"] = reasons
    return table
