"""The csgraph engine: CSR arrays of the road graph, contracted core graph and its Dijkstra searches."""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geosuff.network import RoadGraph

logger = logging.getLogger(__name__)


#: Smallest edge weight (s) given to csgraph, as in :meth:`RoadGraph.csr`.
MIN_EDGE_S = 1e-9
#: :func:`reachable` expands core times sparsely (touching only reached chains) when fewer than
#: this fraction of core nodes are reached, densely otherwise.
SPARSE_REACH_FRACTION = 0.35
#: Memory budget (bytes) of one chunk of dense per-source distance rows.
CHUNK_BYTES = 64 * 2**20

REASON_NO_COORDS = "no coordinates"


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
        result: np.ndarray = np.isfinite(self.x) & np.isfinite(self.y)
        return result


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
        NaN wherever ``minutes`` is NaN, and everywhere when ``od_matrix(..., with_km=False)``.
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

    def __init__(
        self, n: int, tail: np.ndarray, head: np.ndarray, time_s: np.ndarray, length_m: np.ndarray
    ) -> None:
        self.n = n
        key = tail.astype(np.int64) * n + head.astype(np.int64)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        first = np.ones(ks.shape[0], dtype=bool)
        first[1:] = ks[1:] != ks[:-1]
        if not first.all():  # parallel edges: keep the fastest of each group (first if tied)
            grp = np.cumsum(first) - 1
            ts = time_s[order]
            gmin = np.minimum.reduceat(ts, np.flatnonzero(first))
            cand = np.flatnonzero(ts == gmin[grp])
            firstc = np.concatenate([[True], grp[cand[1:]] != grp[cand[:-1]]])
            first = np.zeros_like(first)
            first[cand[firstc]] = True
        keep = order[first]  # sorted by key = (tail, head)
        ks = ks[first]
        self.key = ks
        self.edge = keep
        self.tail = tail[keep].astype(np.int64)
        self.head = head[keep].astype(np.int64)
        self.time = np.maximum(time_s[keep], MIN_EDGE_S)
        self.length = length_m[keep].astype(np.float64)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(self.tail, minlength=n))]).astype(
            np.int64
        )

    def in_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(in_ptr, tail, length) of the edges grouped by head node (cached)."""
        if not hasattr(self, "_in"):
            o = np.argsort(self.head, kind="stable")
            ptr = np.concatenate([[0], np.cumsum(np.bincount(self.head, minlength=self.n))]).astype(
                np.int64
            )
            self._in = (ptr, self.tail[o], self.length[o])
        return self._in

    def lookup(self, tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Time (inf if no edge) and length (NaN) of edges tail -> head."""
        key = tail.astype(np.int64) * self.n + head.astype(np.int64)
        pos = np.minimum(np.searchsorted(self.key, key), max(self.key.shape[0] - 1, 0))
        found = self.key[pos] == key if self.key.shape[0] else np.zeros(key.shape[0], dtype=bool)
        return np.where(found, self.time[pos], np.inf), np.where(found, self.length[pos], np.nan)


def _segmented_exclusive_cumsum(
    values: np.ndarray, group_start: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Sum of the earlier values of each contiguous group (extended precision)."""
    v = values.astype(np.longdouble)
    c = np.cumsum(v)
    base = c[group_start] - v[group_start]
    return c - v - base[group]  # type: ignore[no-any-return]


class _Router:
    """Per-graph routing structures, built once and cached (weakly) per graph object.

    Searches run on a *core* graph: junctions, dead ends and direction changes. Every maximal
    run of pass-through nodes (exactly two neighbours, traffic passing straight through: a bend
    in a road) between two core nodes ``J1 ... J2`` is a *chain*, replaced in the core graph by
    one edge each way it can be driven. On OSM extracts most nodes are pass-through (Rutland:
    ~80%), so searches touch several times fewer nodes. Times of pass-through nodes are recovered
    exactly from their chain's two ends; points on a chain also reach its nodes directly.
    """

    def __init__(self, graph: RoadGraph) -> None:
        n = graph.n_nodes
        self.n = n
        self.x = graph.x
        self.y = graph.y
        f = _CSR(n, graph.u, graph.v, graph.time_s, graph.length_m)
        self.fwd = f
        # undirected segments a < b with the min-time directed edge of each direction
        mask = f.tail != f.head
        tail, head, eid = f.tail[mask], f.head[mask], f.edge[mask]
        t, L = f.time[mask], f.length[mask]
        a = np.minimum(tail, head)
        b = np.maximum(tail, head)
        skey, seg = np.unique(a * n + b, return_inverse=True)
        ns = skey.shape[0]
        self.seg_key = skey
        self.seg_a = (skey // max(n, 1)).astype(np.int64)
        self.seg_b = (skey % max(n, 1)).astype(np.int64)
        self.T_ab = np.full(ns, np.inf)
        self.T_ba = np.full(ns, np.inf)
        self.L_ab = np.full(ns, np.nan)
        self.L_ba = np.full(ns, np.nan)
        self.e_ab = np.full(ns, -1, dtype=np.int64)
        self.e_ba = np.full(ns, -1, dtype=np.int64)
        fwd_dir = tail < head
        for sel, T, Ln, E in (
            (fwd_dir, self.T_ab, self.L_ab, self.e_ab),
            (~fwd_dir, self.T_ba, self.L_ba, self.e_ba),
        ):
            T[seg[sel]] = t[sel]
            Ln[seg[sel]] = L[sel]
            E[seg[sel]] = eid[sel]
        self._tree: Any = None
        self._node_tree: cKDTree | None = None
        n_comp, _ = connected_components(
            sp.csr_matrix(
                (np.ones(f.tail.shape[0], dtype=np.int8), (f.tail, f.head)), shape=(n, n)
            ),
            directed=True,
            connection="strong",
        )
        self.strongly_connected = bool(n_comp == 1)
        self._build_chains(mask)

    # -------------------------------------------------------------------- contraction
    def _build_chains(self, no_loop: np.ndarray) -> None:
        n, f = self.n, self.fwd
        sa, sb = self.seg_a, self.seg_b
        outd = np.bincount(f.tail[no_loop], minlength=n)
        ind = np.bincount(f.head[no_loop], minlength=n)
        und = np.bincount(sa, minlength=n) + np.bincount(sb, minlength=n)
        self_loop = np.zeros(n, dtype=bool)
        self_loop[f.tail[~no_loop]] = True
        interior = (
            (und == 2) & (((outd == 2) & (ind == 2)) | ((outd == 1) & (ind == 1))) & ~self_loop
        )
        while True:
            ii = interior[sa] & interior[sb]
            adj = sp.csr_matrix((np.ones(int(ii.sum())), (sa[ii], sb[ii])), shape=(n, n))
            n_lab, lab = connected_components(adj, directed=False)
            ideg = np.bincount(sa[ii], minlength=n) + np.bincount(sb[ii], minlength=n)
            ends = interior & (ideg <= 1)
            has_end = np.zeros(n_lab, dtype=bool)
            has_end[lab[ends]] = True
            cyc = np.nonzero(interior & ~has_end[lab])[0]
            if cyc.size == 0:
                break
            # a closed ring of pass-through nodes: make one node per ring a core node
            _, first = np.unique(lab[cyc], return_index=True)
            interior[cyc[first]] = False
        end_nodes = np.nonzero(ends)[0]
        _, first = np.unique(lab[end_nodes], return_index=True)
        starts = end_nodes[first]
        int_nodes = np.nonzero(interior)[0]
        if int_nodes.size:
            hop = np.asarray(
                dijkstra(adj, directed=False, indices=starts, unweighted=True, min_only=True)
            )
            order = np.lexsort((hop[int_nodes], lab[int_nodes]))
            xs = int_nodes[order]
        else:
            xs = int_nodes
        xl = lab[xs]
        new_grp = np.ones(xs.shape[0], dtype=bool)
        new_grp[1:] = xl[1:] != xl[:-1]
        gstart = np.nonzero(new_grp)[0]
        gsize = np.diff(np.concatenate([gstart, [xs.shape[0]]]))
        # core neighbours of interior nodes
        ci = interior[sa] ^ interior[sb]
        cx = np.where(interior[sa], sa, sb)[ci]
        cy = np.where(interior[sa], sb, sa)[ci]
        o = np.lexsort((cy, cx))
        cx, cy = cx[o], cy[o]
        firstx = np.ones(cx.shape[0], dtype=bool)
        firstx[1:] = cx[1:] != cx[:-1]
        nbr1 = np.full(n, -1, dtype=np.int64)
        nbr2 = np.full(n, -1, dtype=np.int64)
        nbr1[cx[firstx]] = cy[firstx]
        nbr2[cx[~firstx]] = cy[~firstx]
        fnode = xs[gstart]
        lnode = xs[gstart + gsize - 1]
        j1_int = nbr1[fnode]
        j2_int = np.where(gsize == 1, nbr2[fnode], nbr1[lnode])
        # chains: interior runs, then core-core segments
        cc = ~interior[sa] & ~interior[sb]
        n_ic = gstart.shape[0]
        J1 = np.concatenate([j1_int, sa[cc]])
        J2 = np.concatenate([j2_int, sb[cc]])
        n_int_per = np.concatenate([gsize, np.zeros(int(cc.sum()), dtype=np.int64)])
        nch = J1.shape[0]
        seq_len = n_int_per + 2
        off = np.concatenate([[0], np.cumsum(seq_len)[:-1]])
        S = int(seq_len.sum())
        seq = np.empty(S, dtype=np.int64)
        seq[off] = J1
        seq[off + seq_len - 1] = J2
        xs_chain = np.repeat(np.arange(n_ic), gsize)
        xs_rank = np.arange(xs.shape[0]) - np.repeat(gstart, gsize)
        seq[off[xs_chain] + 1 + xs_rank] = xs
        seq_chain = np.repeat(np.arange(nch), seq_len)
        seq_pos = np.arange(S) - off[seq_chain]
        last = seq_pos == seq_len[seq_chain] - 1
        p = seq
        q = np.concatenate([seq[1:], [0]])
        st_f, sl_f = f.lookup(p, q)
        st_b, sl_b = f.lookup(q, p)
        st_f[last], st_b[last], sl_f[last], sl_b[last] = 0.0, 0.0, 0.0, 0.0
        bad_f = ~np.isfinite(st_f)
        bad_b = ~np.isfinite(st_b)
        ch_fwd = np.bincount(seq_chain[bad_f], minlength=nch) == 0
        ch_bwd = np.bincount(seq_chain[bad_b], minlength=nch) == 0
        cf = _segmented_exclusive_cumsum(np.where(bad_f, 0.0, st_f), off, seq_chain)  # J1 -> node
        xb = _segmented_exclusive_cumsum(np.where(bad_b, 0.0, st_b), off, seq_chain)  # node -> J1
        lcf = _segmented_exclusive_cumsum(np.where(bad_f, 0.0, sl_f), off, seq_chain)
        lxb = _segmented_exclusive_cumsum(np.where(bad_b, 0.0, sl_b), off, seq_chain)
        end = off + seq_len - 1
        TF, TB, LTF, LTB = cf[end], xb[end], lcf[end], lxb[end]
        xf = TF[seq_chain] - cf  # node -> J2
        cb = TB[seq_chain] - xb  # J2 -> node
        lxf = LTF[seq_chain] - lcf
        lcb = LTB[seq_chain] - lxb
        fw = ch_fwd[seq_chain]
        bw = ch_bwd[seq_chain]

        def _f(v: np.ndarray, ok: np.ndarray) -> np.ndarray:
            return np.where(ok, v.astype(np.float64), np.inf)

        cf, xf, lcf, lxf = _f(cf, fw), _f(xf, fw), _f(lcf, fw), _f(lxf, fw)
        cb, xb, lcb, lxb = _f(cb, bw), _f(xb, bw), _f(lcb, bw), _f(lxb, bw)
        self.ch_J1, self.ch_J2 = J1, J2
        self.ch_fwd, self.ch_bwd = ch_fwd, ch_bwd
        self.ch_len = seq_len
        # per segment (from the chain step that covers it): lo = node nearer J1
        k = np.nonzero(~last)[0]
        sid = np.searchsorted(self.seg_key, np.minimum(p[k], q[k]) * n + np.maximum(p[k], q[k]))
        ns = self.seg_key.shape[0]
        if np.bincount(sid, minlength=ns).max(initial=1) != 1 or sid.shape[0] != ns:
            raise RuntimeError("internal error: road segments not covered exactly once by chains")
        self.seg_chain = np.empty(ns, dtype=np.int64)
        self.seg_lo = np.empty(ns, dtype=np.int64)
        self.seg_pos_lo = np.empty(ns, dtype=np.int64)
        for name, arr in (
            ("seg_chain", seq_chain[k]),
            ("seg_lo", p[k]),
            ("seg_pos_lo", seq_pos[k]),
        ):
            getattr(self, name)[sid] = arr
        self.seg_tf = np.empty(ns)
        self.seg_tb = np.empty(ns)
        self.seg_lf = np.empty(ns)
        self.seg_lb = np.empty(ns)
        self.seg_cf_lo = np.empty(ns)
        self.seg_xb_lo = np.empty(ns)
        self.seg_cb_hi = np.empty(ns)
        self.seg_xf_hi = np.empty(ns)
        self.seg_lcf_lo = np.empty(ns)
        self.seg_lxb_lo = np.empty(ns)
        self.seg_lcb_hi = np.empty(ns)
        self.seg_lxf_hi = np.empty(ns)
        self.seg_tf[sid] = np.where(ch_fwd[seq_chain[k]], st_f[k], np.inf)
        self.seg_tb[sid] = np.where(ch_bwd[seq_chain[k]], st_b[k], np.inf)
        self.seg_lf[sid] = sl_f[k]
        self.seg_lb[sid] = sl_b[k]
        self.seg_cf_lo[sid] = cf[k]
        self.seg_xb_lo[sid] = xb[k]
        self.seg_lcf_lo[sid] = lcf[k]
        self.seg_lxb_lo[sid] = lxb[k]
        self.seg_cb_hi[sid] = cb[k + 1]
        self.seg_xf_hi[sid] = xf[k + 1]
        self.seg_lcb_hi[sid] = lcb[k + 1]
        self.seg_lxf_hi[sid] = lxf[k + 1]
        # core graph
        core = ~interior
        self.core_nodes = np.nonzero(core)[0]
        self.core_id = np.full(n, -1, dtype=np.int64)
        self.core_id[self.core_nodes] = np.arange(self.core_nodes.shape[0])
        nc = self.core_nodes.shape[0]
        TFf, TBf = TF.astype(np.float64), TB.astype(np.float64)
        okf = ch_fwd & (J1 != J2)
        okb = ch_bwd & (J1 != J2)
        tails = np.concatenate([J1[okf], J2[okb]])
        heads = np.concatenate([J2[okf], J1[okb]])
        times = np.concatenate([TFf[okf], TBf[okb]])
        lens = np.concatenate([LTF.astype(np.float64)[okf], LTB.astype(np.float64)[okb]])
        self.core_fwd = _CSR(nc, self.core_id[tails], self.core_id[heads], times, lens)
        self.core_rev = _CSR(nc, self.core_id[heads], self.core_id[tails], times, lens)
        # pass-through nodes in chain order, with their chain coordinates
        sel = np.nonzero((seq_pos > 0) & ~last)[0]
        self.int_nodes = seq[sel]
        self.int_chain = seq_chain[sel]
        self.int_pos = seq_pos[sel]
        self.int_cf, self.int_cb, self.int_xf, self.int_xb = cf[sel], cb[sel], xf[sel], xb[sel]
        self.int_j1 = self.core_id[J1[self.int_chain]]
        self.int_j2 = self.core_id[J2[self.int_chain]]
        # chains with pass-through nodes incident to each core node (for sparse expansion)
        ic = np.nonzero(np.bincount(self.int_chain, minlength=nch) > 0)[0]
        loop = J1[ic] == J2[ic]
        inc_core = np.concatenate([self.core_id[J1[ic]], self.core_id[J2[ic[~loop]]]])
        inc_chain = np.concatenate([ic, ic[~loop]])
        o = np.argsort(inc_core, kind="stable")
        self.inc_chain = inc_chain[o]
        self.inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(inc_core, minlength=nc))]).astype(
            np.int64
        )
        # the same nodes sorted by node id, for expanding core times to all nodes
        by_id = np.argsort(self.int_nodes, kind="stable")
        self.exp_nodes = self.int_nodes[by_id]
        self.exp_j1 = self.core_id[J1[self.int_chain[by_id]]]
        self.exp_j2 = self.core_id[J2[self.int_chain[by_id]]]
        self.exp_cf, self.exp_cb = self.int_cf[by_id], self.int_cb[by_id]
        self.exp_xf, self.exp_xb = self.int_xf[by_id], self.int_xb[by_id]
        counts = np.bincount(self.int_chain, minlength=nch)
        self.ch_int_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.ch_int_count = counts

    def expand(self, Dc: np.ndarray, *, reverse: bool) -> np.ndarray:
        """Times at every node from times at core nodes (k, n_core) -> (k, n)."""
        out = np.empty((Dc.shape[0], self.n))
        out[:, self.core_nodes] = Dc
        if self.exp_nodes.size:
            if reverse:
                a = Dc[:, self.exp_j2]
                a += self.exp_xf
                b = Dc[:, self.exp_j1]
                b += self.exp_xb
            else:
                a = Dc[:, self.exp_j1]
                a += self.exp_cf
                b = Dc[:, self.exp_j2]
                b += self.exp_cb
            np.minimum(a, b, out=a)
            out[:, self.exp_nodes] = a
        return out

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
