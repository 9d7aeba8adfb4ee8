"""OD matrices, node times, reachable sets and nearest-site minutes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geosuff._errors import ConfigError
from geosuff.config.sections import SnapSettings
from geosuff.network import RoadGraph
from geosuff.routing import _kernel
from geosuff.routing.csgraph import (
    CHUNK_BYTES,
    MIN_EDGE_S,
    SPARSE_REACH_FRACTION,
    ODResult,
    Snapped,
    _Router,
    _router,
)
from geosuff.routing.snap import (
    _as_xy,
    _Augmented,
    _chain_direct,
    _Legs,
    _own_chain,
    _point_legs,
    _same_chain_pairs,
    snap_points,
)

logger = logging.getLogger(__name__)


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


def _search_forward(direction: str, n_origins: int, n_destinations: int) -> bool:
    """True to search from the origins (``od_matrix``'s ``direction`` option)."""
    if direction not in ("auto", "forward", "reverse"):
        raise ConfigError(
            f"direction must be 'auto', 'forward' or 'reverse', got {direction!r}.",
            fix="Leave it at 'auto' unless you split a job into chunks.",
        )
    if direction == "auto":
        return n_origins <= n_destinations
    return direction == "forward"


def od_matrix(
    graph: RoadGraph,
    origins_xy: Any,
    destinations_xy: Any,
    *,
    max_minutes: float | None = None,
    settings: SnapSettings | None = None,
    with_km: bool = True,
    direction: str = "auto",
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
    with_km : bool
        Also measure the road distance of each fastest path (default True). ``False`` skips the
        path-length pass (about half the time of a large matrix on OSM graphs) and leaves ``km``
        all NaN; the minutes are the same.
    direction : {"auto", "forward", "reverse"}
        Which side the searches run from: "auto" (default) the smaller side, "forward" the
        origins, "reverse" the destinations (on the reversed graph). Both give the same fastest
        times up to the last bits of floating-point rounding; fixing it makes results of
        split-up jobs (:mod:`geosuff.routing.chunked`) bit-identical to one whole call.

    Returns
    -------
    ODResult
        Dijkstra runs from the smaller side (on the reversed graph from destinations).
    """
    settings = settings or SnapSettings()
    _search_forward(direction, 0, 0)  # check the option before any work
    r = _router(graph)
    ox, oy = _as_xy(origins_xy)
    dx, dy = _as_xy(destinations_xy)
    so = snap_points(graph, ox, oy, settings=settings)
    sd = snap_points(graph, dx, dy, settings=settings)
    n, m = ox.shape[0], dx.shape[0]
    limit = _limit_s(max_minutes)
    secs = np.full((n, m), np.inf)
    metres = np.full((n, m), np.nan)

    lo_ = _point_legs(r, so, settings)
    ld = _point_legs(r, sd, settings)
    io_, id_ = lo_.idx, ld.idx
    if io_.size and id_.size:
        forward = _search_forward(direction, io_.size, id_.size)
        if forward:
            aug = _Augmented(r.core_fwd, lo_.J, lo_.dep, lo_.dep_m)
            other_J, other_t, other_l = ld.J, ld.arr, ld.arr_m
        else:
            aug = _Augmented(r.core_rev, ld.J, ld.arr, ld.arr_m)
            other_J, other_t, other_l = lo_.J, lo_.dep, lo_.dep_m
        n_src = aug.N - aug.n
        chunk = _chunk_size(aug.N, factor=4)
        for start in range(0, n_src, chunk):
            rows = np.arange(start, min(start + chunk, n_src))
            D, TL = aug.search(rows, limit=limit, lengths=with_km)
            ca = D[:, other_J[:, 0]] + other_t[None, :, 0]
            cb = D[:, other_J[:, 1]] + other_t[None, :, 1]
            use_a = ca <= cb
            best = np.where(use_a, ca, cb)
            if forward:
                oi, di = io_[rows], id_
                secs[np.ix_(oi, di)] = best
            else:
                oi, di = io_, id_[rows]
                secs[np.ix_(oi, di)] = best.T
            if TL is not None:
                blen = np.where(
                    use_a,
                    TL[:, other_J[:, 0]] + other_l[None, :, 0],
                    TL[:, other_J[:, 1]] + other_l[None, :, 1],
                )
                metres[np.ix_(oi, di)] = blen if forward else blen.T
        # pairs on the same chain may drive directly along it
        ip, iq = _same_chain_pairs(lo_.chain, ld.chain)
        if ip.size:
            direct, dlen = _chain_direct(r, lo_, ip, ld, iq)
            oi, di = io_[ip], id_[iq]
            better = direct < secs[oi, di]
            secs[oi[better], di[better]] = direct[better]
            metres[oi[better], di[better]] = dlen[better]

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
            reason[rows, j] = np.char.add(prefix.astype(str), f"destination {sd.reason[j]}").astype(
                object
            )
    no_o = ~o_has
    no_d = ~d_has
    if no_o.any() or no_d.any():
        reason[no_o, :] = "origin has no coordinates"
        for j in np.nonzero(no_d)[0]:
            col = reason[:, j]
            reason[:, j] = np.where(
                col == "",
                "destination has no coordinates",
                col + "; destination has no coordinates",
            )
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
        reason[beyond] = np.where(
            reason[beyond] == "", "beyond max_minutes", reason[beyond] + "; beyond max_minutes"
        )
    minutes = np.where(np.isfinite(secs) & ~beyond, secs / 60.0, np.nan)
    # without with_km the lengths were not computed: km is all NaN
    km = np.where(np.logical_and(with_km, np.isfinite(secs) & ~beyond), metres / 1000.0, np.nan)
    return ODResult(
        minutes=minutes,
        km=km,
        estimated=estimated,
        reason=reason,
        origins=so,
        destinations=sd,
        max_minutes=None if max_minutes is None else float(max_minutes),
    )


# ----------------------------------------------------------------------------------- node times


def _off_network_node_seconds(
    r: _Router, sn: Snapped, rows: np.ndarray, settings: SnapSettings
) -> np.ndarray:
    d = np.hypot(sn.x[rows, None] - r.x[None, :], sn.y[rows, None] - r.y[None, :])
    return _estimate_s(d, settings)


def _core_chunks(
    r: _Router, legs: _Legs, *, limit: float, reverse: bool, chunk: int, skip: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (leg rows, core times (k, n_core) in s) chunk by chunk (nothing with ``skip``)."""
    if legs.idx.size == 0 or skip:
        return
    if reverse:
        aug = _Augmented(r.core_rev, legs.J, legs.arr, legs.arr_m)
    else:
        aug = _Augmented(r.core_fwd, legs.J, legs.dep, legs.dep_m)
    for start in range(0, legs.idx.size, chunk):
        rows = np.arange(start, min(start + chunk, legs.idx.size))
        Dc, _ = aug.search(rows, limit=limit, lengths=False)
        yield rows, Dc


def _ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start[i], start[i] + count[i])``."""
    total = int(count.sum())
    steps = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return np.repeat(start, count) + steps  # type: ignore[no-any-return]


def _sparse_reach(
    r: _Router, legs: _Legs, rows: np.ndarray, Dc: np.ndarray, *, limit: float, reverse: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes within ``limit`` from core times, touching only reached chains.

    Returns (row in chunk, node, seconds) triplets without duplicates.
    """
    k, nc = Dc.shape
    nch = r.ch_len.shape[0]
    Dflat = Dc.ravel()
    flat = np.flatnonzero(Dflat <= limit)
    rc = flat // nc
    cc = flat - rc * nc
    core_t = Dflat[flat]
    # (row, chain) pairs: chains with pass-through nodes at a reached core node, and own chains
    deg = r.inc_ptr[cc + 1] - r.inc_ptr[cc]
    mark = np.zeros(k * nch, dtype=bool)
    mark[np.repeat(rc * nch, deg) + r.inc_chain[_ranges(r.inc_ptr[cc], deg)]] = True
    own = legs.chain[rows]
    mark[np.arange(k) * nch + own] |= r.ch_int_count[own] > 0
    pairs = np.flatnonzero(mark)
    pr = pairs // nch
    pc = pairs - pr * nch
    cnt = r.ch_int_count[pc]
    ip = np.repeat(np.arange(pc.shape[0]), cnt)
    pos = np.arange(ip.shape[0]) + (r.ch_int_start[pc] - (np.cumsum(cnt) - cnt))[ip]
    base = (pr * nc)[ip]
    if reverse:
        t = Dflat[base + r.int_j2[pos]]
        t += r.int_xf[pos]
        t2 = Dflat[base + r.int_j1[pos]]
        t2 += r.int_xb[pos]
    else:
        t = Dflat[base + r.int_j1[pos]]
        t += r.int_cf[pos]
        t2 = Dflat[base + r.int_j2[pos]]
        t2 += r.int_cb[pos]
    np.minimum(t, t2, out=t)
    # direct travel along each point's own chain
    own_pair = np.flatnonzero(pc == own[pr])
    if own_pair.size:
        sel = _ranges(np.searchsorted(ip, own_pair), cnt[own_pair])
        p = rows[pr[ip[sel]]]
        c = pc[ip[sel]]
        q = pos[sel]
        kk = legs.key[p]
        posn = r.int_pos[q]
        with np.errstate(invalid="ignore"):
            if reverse:
                tf = np.where(r.ch_fwd[c] & (posn <= kk), legs.cf[p] - r.int_cf[q], np.inf)
                tb = np.where(r.ch_bwd[c] & (posn >= kk), legs.cb[p] - r.int_cb[q], np.inf)
            else:
                tf = np.where(r.ch_fwd[c] & (posn >= kk), r.int_cf[q] - legs.cf[p], np.inf)
                tb = np.where(r.ch_bwd[c] & (posn <= kk), r.int_cb[q] - legs.cb[p], np.inf)
        t[sel] = np.minimum(t[sel], np.minimum(tf, tb) + legs.acc[p])
    keep = np.flatnonzero(t <= limit)
    return (
        np.concatenate([rc, pr[ip[keep]]]),
        np.concatenate([r.core_nodes[cc], r.int_nodes[pos[keep]]]),
        np.concatenate([core_t, t[keep]]),
    )


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
    legs = _point_legs(r, sn, settings)
    for rows, Dc in _core_chunks(
        r, legs, limit=limit, reverse=reverse, chunk=_chunk_size(r.n, factor=2)
    ):
        full = r.expand(Dc, reverse=reverse)
        _own_chain(r, legs, rows, full, reverse=reverse)
        out[legs.idx[rows]] = full
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
    n_pts = len(sn)
    cols: list[np.ndarray | None] = [None] * n_pts
    vals: list[np.ndarray | None] = [None] * n_pts
    legs = _point_legs(r, sn, settings)
    if _kernel.HAVE_NUMBA and legs.idx.size:
        # compiled bounded search: touches only the reached nodes
        counts, nodes, secs = _kernel.reach_sparse(r, legs, limit=limit, reverse=reverse)
        if legs.idx.size == n_pts:  # every point on the network: rows are already in order
            np.maximum(secs, MIN_EDGE_S, out=secs)
            indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            out = sp.csr_array((secs, nodes, indptr), shape=(n_pts, r.n))
            out.has_sorted_indices = False
            return out
        splits = np.cumsum(counts)[:-1]
        for p, cc, vv in zip(
            legs.idx.tolist(), np.split(nodes, splits), np.split(secs, splits), strict=True
        ):
            cols[p], vals[p] = cc, vv
    for rows, Dc in _core_chunks(
        r,
        legs,
        limit=limit,
        reverse=reverse,
        chunk=_chunk_size(r.n, factor=2),
        skip=_kernel.HAVE_NUMBA,
    ):
        pts = legs.idx[rows]
        if np.count_nonzero(Dc <= limit) < SPARSE_REACH_FRACTION * Dc.size:
            rr, nodes, secs = _sparse_reach(r, legs, rows, Dc, limit=limit, reverse=reverse)
            order = np.argsort(
                rr.astype(np.int16 if rows.shape[0] < 2**15 else np.int64), kind="stable"
            )
            splits = np.cumsum(np.bincount(rr, minlength=rows.shape[0]))[:-1]
            node_parts = np.split(nodes[order].astype(np.int32), splits)
            sec_parts = np.split(secs[order], splits)
            for i, p in enumerate(pts):
                cols[p], vals[p] = node_parts[i], sec_parts[i]
            continue
        full = r.expand(Dc, reverse=reverse)
        _own_chain(r, legs, rows, full, reverse=reverse)
        for i, p in enumerate(pts):
            m = full[i] <= limit
            cols[p] = np.flatnonzero(m).astype(np.int32)
            vals[p] = full[i][m]
    off = np.nonzero(sn.has_coords & ~sn.on_network)[0]
    if off.size:
        radius = limit * (settings.fallback_speed_kph / 3.6) / settings.circuity_factor
        hits = r.node_tree.query_ball_point(np.column_stack([sn.x[off], sn.y[off]]), r=radius)
        for q, nodes_hit in zip(off.tolist(), hits, strict=True):
            cc = np.sort(np.asarray(nodes_hit, dtype=np.int64))
            cols[q] = cc.astype(np.int32)
            vals[q] = _off_network_node_seconds(r, sn, np.array([q]), settings)[0, cc]
    empty_i = np.zeros(0, dtype=np.int32)
    empty_f = np.zeros(0)
    counts = np.array([0 if c is None else c.shape[0] for c in cols], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = np.concatenate([empty_i, *[c for c in cols if c is not None]])
    data = np.concatenate([empty_f, *[v for v in vals if v is not None]])
    del cols, vals
    np.maximum(data, MIN_EDGE_S, out=data)
    out = sp.csr_array((data, indices, indptr), shape=(n_pts, r.n))
    out.has_sorted_indices = False
    return out


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
    ls = _point_legs(r, ss, settings)
    Dc = np.full(r.core_nodes.shape[0], np.inf)
    if ls.idx.size:
        aug = _Augmented(r.core_rev, ls.J, ls.arr, ls.arr_m)
        dist = dijkstra(
            aug.matrix,
            directed=True,
            indices=aug.n + np.arange(ls.idx.size),
            limit=limit,
            min_only=True,
        )
        Dc = np.asarray(dist)[: aug.n]
    s_off = np.nonzero(ss.has_coords & ~ss.on_network)[0]
    s_all = np.nonzero(ss.has_coords)[0]
    if target_xy is None:
        secs = r.expand(Dc[None, :], reverse=True)
        for p in range(ls.idx.size):  # nodes on a source's own chain
            _own_chain(r, ls, np.array([p]), secs, reverse=True)
        secs = secs[0]
        est = np.zeros(r.n, dtype=bool)
        if s_off.size:
            d, _ = cKDTree(np.column_stack([sx[s_off], sy[s_off]])).query(
                np.column_stack([r.x, r.y])
            )
            e = _estimate_s(d, settings)
            est = e < secs
            secs = np.where(est, e, secs)
    else:
        tx, ty = _as_xy(target_xy)
        st = snap_points(graph, tx, ty, settings=settings)
        lt = _point_legs(r, st, settings)
        secs = np.full(len(st), np.inf)
        est = np.zeros(len(st), dtype=bool)
        ton = lt.idx
        if ton.size:
            via = np.minimum(lt.dep[:, 0] + Dc[lt.J[:, 0]], lt.dep[:, 1] + Dc[lt.J[:, 1]])
            it, isrc = _same_chain_pairs(lt.chain, ls.chain)
            if it.size:
                direct, _ = _chain_direct(r, lt, it, ls, isrc)
                np.minimum.at(via, it, direct)
            secs[ton] = via
            if s_off.size:
                d, _ = cKDTree(np.column_stack([sx[s_off], sy[s_off]])).query(
                    np.column_stack([tx[ton], ty[ton]])
                )
                e = _estimate_s(d, settings)
                better = e < secs[ton]
                secs[ton[better]] = e[better]
                est[ton[better]] = True
        t_off = np.nonzero(st.has_coords & ~st.on_network)[0]
        if t_off.size and s_all.size:
            d, _ = cKDTree(np.column_stack([sx[s_all], sy[s_all]])).query(
                np.column_stack([tx[t_off], ty[t_off]])
            )
            secs[t_off] = _estimate_s(d, settings)
            est[t_off] = True
    minutes = np.where(np.isfinite(secs) & (secs <= limit), secs / 60.0, np.nan)
    return (minutes, est) if return_estimated else minutes
