"""Joining points to the network: nearest edge, access legs, off-network estimates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geosuff._errors import InputFileError
from geosuff.config.sections import SnapSettings
from geosuff.network import RoadGraph
from geosuff.routing.csgraph import _CSR, MIN_EDGE_S, REASON_NO_COORDS, Snapped, _Router, _router

logger = logging.getLogger(__name__)


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


def snap_points(
    graph: RoadGraph, x: Any, y: Any, *, settings: SnapSettings | None = None
) -> Snapped:
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
        reason[i] = (
            f"off network: {snap_m[i]:.0f} m from the nearest road (> max_snap_m {settings.max_snap_m:g} m)"
        )
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


@dataclass(frozen=True, eq=False)
class _Legs:
    """How on-network points connect to the core graph (rows follow ``idx``)."""

    idx: np.ndarray  # point indices
    chain: np.ndarray
    key: np.ndarray  # position along the chain (node index + fraction)
    J: np.ndarray  # (k, 2) core ids of the chain ends J1, J2
    dep: np.ndarray  # (k, 2) s, point -> J1 / J2, access included (inf: not allowed)
    arr: np.ndarray  # (k, 2) s, J1 / J2 -> point, access included
    dep_m: np.ndarray  # (k, 2) m
    arr_m: np.ndarray  # (k, 2) m
    cf: np.ndarray  # s, J1 -> point along the chain (inf if the chain is not driven J1 -> J2)
    cb: np.ndarray  # s, J2 -> point along the chain (inf if not driven J2 -> J1)
    lcf: np.ndarray  # m
    lcb: np.ndarray  # m
    acc: np.ndarray  # s, access leg
    acc_m: np.ndarray  # m, access leg


def _point_legs(r: _Router, sn: Snapped, settings: SnapSettings) -> _Legs:
    """Connect on-network points to their chain's ends.

    A point on segment ``lo -> hi`` of chain ``J1 ... J2`` at fraction ``u`` from ``lo`` reaches
    ``J2`` driving forward (if the chain is driven J1 -> J2) and ``J1`` driving backward (if driven
    J2 -> J1), and is reached the same way; a point exactly on a chain end *is* that node.
    """
    idx = np.nonzero(sn.on_network)[0]
    s = sn.segment[idx]
    t = sn.seg_frac[idx]
    u = np.where(r.seg_lo[s] == r.seg_a[s], t, 1.0 - t)
    c = r.seg_chain[s]
    fw = r.ch_fwd[c]
    bw = r.ch_bwd[c]

    def lin(base: np.ndarray, frac: np.ndarray, step: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return np.where(ok, np.where(ok, base, 0.0) + frac * np.where(ok, step, 0.0), np.inf)

    cf = lin(r.seg_cf_lo[s], u, r.seg_tf[s], fw)  # J1 -> P
    xf = lin(r.seg_xf_hi[s], 1.0 - u, r.seg_tf[s], fw)  # P -> J2
    cb = lin(r.seg_cb_hi[s], 1.0 - u, r.seg_tb[s], bw)  # J2 -> P
    xb = lin(r.seg_xb_lo[s], u, r.seg_tb[s], bw)  # P -> J1
    lcf = lin(r.seg_lcf_lo[s], u, r.seg_lf[s], fw)
    lxf = lin(r.seg_lxf_hi[s], 1.0 - u, r.seg_lf[s], fw)
    lcb = lin(r.seg_lcb_hi[s], 1.0 - u, r.seg_lb[s], bw)
    lxb = lin(r.seg_lxb_lo[s], u, r.seg_lb[s], bw)
    at1 = (r.seg_pos_lo[s] == 0) & (u <= 0.0)
    at2 = (r.seg_pos_lo[s] + 2 == r.ch_len[c]) & (u >= 1.0)
    acc = _access_s(sn, settings)[idx]
    accm = sn.snap_m[idx]
    dep = np.stack([np.where(at1, 0.0, xb), np.where(at2, 0.0, xf)], axis=1) + acc[:, None]
    arr = np.stack([np.where(at1, 0.0, cf), np.where(at2, 0.0, cb)], axis=1) + acc[:, None]
    dep_m = np.stack([np.where(at1, 0.0, lxb), np.where(at2, 0.0, lxf)], axis=1) + accm[:, None]
    arr_m = np.stack([np.where(at1, 0.0, lcf), np.where(at2, 0.0, lcb)], axis=1) + accm[:, None]
    J = np.stack([r.core_id[r.ch_J1[c]], r.core_id[r.ch_J2[c]]], axis=1)
    return _Legs(
        idx=idx,
        chain=c,
        key=r.seg_pos_lo[s] + u,
        J=J,
        dep=dep,
        arr=arr,
        dep_m=dep_m,
        arr_m=arr_m,
        cf=cf,
        cb=cb,
        lcf=lcf,
        lcb=lcb,
        acc=acc,
        acc_m=accm,
    )


def _chain_direct(
    r: _Router, lp: _Legs, ip: np.ndarray, lq: _Legs, iq: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) and length (m) driving along their shared chain from points ``lp[ip]`` to
    ``lq[iq]``, access legs included; inf where the direction is not allowed.
    """
    c = lp.chain[ip]
    kp, kq = lp.key[ip], lq.key[iq]
    with np.errstate(invalid="ignore"):
        tf = np.where(r.ch_fwd[c] & (kq >= kp), lq.cf[iq] - lp.cf[ip], np.inf)
        tb = np.where(r.ch_bwd[c] & (kq <= kp), lq.cb[iq] - lp.cb[ip], np.inf)
        use_f = tf <= tb
        time = np.where(use_f, tf, tb)
        length = np.where(use_f, lq.lcf[iq] - lp.lcf[ip], lq.lcb[iq] - lp.lcb[ip])
    time = time + lp.acc[ip] + lq.acc[iq]
    length = np.where(np.isfinite(time), length + lp.acc_m[ip] + lq.acc_m[iq], np.nan)
    return time, length


def _same_chain_pairs(chain_a: np.ndarray, chain_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i, j) with ``chain_a[i] == chain_b[j]``."""
    order = np.argsort(chain_b, kind="stable")
    sb = chain_b[order]
    lo = np.searchsorted(sb, chain_a, side="left")
    hi = np.searchsorted(sb, chain_a, side="right")
    cnt = hi - lo
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ia = np.repeat(np.arange(chain_a.shape[0]), cnt)
    pos = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt) + np.arange(total)
    return ia, order[pos]


def _own_chain(
    r: _Router, legs: _Legs, rows: np.ndarray, out: np.ndarray, *, reverse: bool
) -> None:
    """Lower ``out[i]`` (times from/to point ``rows[i]`` at every node) on the nodes of the point's
    own chain, which it reaches without passing a chain end.
    """
    with np.errstate(invalid="ignore"):
        for i, p in enumerate(rows):
            c = legs.chain[p]
            cnt = r.ch_int_count[c]
            if cnt == 0:
                continue
            sl = slice(r.ch_int_start[c], r.ch_int_start[c] + cnt)
            pos = r.int_pos[sl]
            k = legs.key[p]
            if reverse:
                tf = np.where(r.ch_fwd[c] & (pos <= k), legs.cf[p] - r.int_cf[sl], np.inf)
                tb = np.where(r.ch_bwd[c] & (pos >= k), legs.cb[p] - r.int_cb[sl], np.inf)
            else:
                tf = np.where(r.ch_fwd[c] & (pos >= k), r.int_cf[sl] - legs.cf[p], np.inf)
                tb = np.where(r.ch_bwd[c] & (pos <= k), r.int_cb[sl] - legs.cb[p], np.inf)
            nodes = r.int_nodes[sl]
            out[i, nodes] = np.minimum(out[i, nodes], np.minimum(tf, tb) + legs.acc[p])


# ---------------------------------------------------------------------------------- searching


class _Augmented:
    """Core graph (forward or reverse) plus one virtual source node per point."""

    def __init__(
        self, base: _CSR, nodes: np.ndarray, times: np.ndarray, lengths: np.ndarray
    ) -> None:
        n = base.n
        k = nodes.shape[0]
        self.n = n
        self.N = n + k
        times = times.copy()
        same = nodes[:, 0] == nodes[:, 1]  # a chain from a junction back to itself
        worse = np.where(times[:, 0] <= times[:, 1], 1, 0)
        times[np.nonzero(same)[0], worse[same]] = np.inf
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
        self.base = base
        self.v_nodes = nodes
        self.v_len = np.where(ok, lengths, np.nan)
        self.matrix = sp.csr_matrix(
            (data, indices.astype(np.int32), indptr.astype(np.int32)), shape=(self.N, self.N)
        )
        self.matrix.has_sorted_indices = True

    def search(
        self, rows: np.ndarray, *, limit: float, lengths: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Dijkstra from virtual nodes ``rows``: times (k, n_core) and tree path lengths."""
        idx = self.n + rows
        if not lengths:
            dist = dijkstra(self.matrix, directed=True, indices=idx, limit=limit)
            return np.atleast_2d(dist)[:, : self.n], None
        dist, pred = dijkstra(
            self.matrix, directed=True, indices=idx, limit=limit, return_predecessors=True
        )
        dist = np.atleast_2d(dist)
        pred = np.atleast_2d(pred)
        return dist[:, : self.n], self._tree_lengths(pred, idx)

    def _tree_lengths(self, pred: np.ndarray, roots: np.ndarray) -> np.ndarray:
        """Length (m) of the tree path root -> node for each row of a predecessor matrix.

        Each node's tree-edge length is found among its (few) in-edges, then path lengths are
        summed by pointer jumping (``acc += acc[parent]; parent = parent[parent]``), which needs
        only log2(tree depth) vectorised passes.
        """
        k = pred.shape[0]
        n = self.n
        P = pred[:, :n].astype(np.int64)
        w = np.zeros((k, n))
        in_ptr, in_tail, in_len = self.base.in_edges()
        indeg = np.diff(in_ptr)
        maxdeg = int(indeg.max(initial=0))
        real = (P >= 0) & (P < n)
        if maxdeg <= 16:
            for j in range(maxdeg):
                has = indeg > j
                pos = np.where(has, in_ptr[:-1] + j, 0)
                tj = np.where(has, in_tail[pos], -1)
                match = P == tj[None, :]
                w = np.where(match, in_len[pos][None, :], w)
        else:
            rr, cc = np.nonzero(real)
            pos = np.searchsorted(self.key, P[rr, cc] * self.N + cc)
            w[rr, cc] = self.length[pos]
        vr, vc = np.nonzero(P >= n)
        if vr.size:
            vi = P[vr, vc] - n
            first = (self.v_nodes[vi, 0] == vc) & np.isfinite(self.v_len[vi, 0])
            w[vr, vc] = np.where(first, self.v_len[vi, 0], self.v_len[vi, 1])
        # nodes hanging off a virtual source (and unreached nodes) point to a zero sentinel
        sentinel = k * n
        base = (np.arange(k, dtype=np.int64) * n)[:, None]
        anc = np.append(np.where(real, P + base, sentinel).ravel(), sentinel)
        acc = np.append(w.ravel(), 0.0)
        while True:
            nxt = anc[anc]
            acc += acc[anc]
            if np.array_equal(nxt, anc):
                break
            anc = nxt
        return acc[:-1].reshape(k, n)
