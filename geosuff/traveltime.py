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

Searches run on a *core* graph (see :class:`_Router`): junctions, dead ends and nodes where the
driving direction changes. Each run of pass-through nodes between two core nodes (a bend in a
road: two neighbours, traffic straight through) is a *chain*, replaced by one shortcut edge per
driving direction; on OSM extracts this removes most nodes (Rutland: 79%). The legs above are
extended along the point's chain to its two ends, each searched point becomes a virtual node with
these legs as edges, and :func:`scipy.sparse.csgraph.dijkstra` runs from the virtual nodes (in
chunks of points, ``limit=`` for cutoffs), on the reversed graph when the destinations are the
smaller side. Times of pass-through nodes are recovered exactly from the two ends of their chain
(``min(D[J1] + time J1->x, D[J2] + time J2->x)``), plus direct travel along the point's own chain.
Results equal Dijkstra on the full graph (tests compare with networkx to 1e-6 s).

Road distance (km) of a pair is the length of its *fastest* path: each search also returns its
shortest-path tree (``return_predecessors``); tree edges are weighted by length and root-to-node
sums are formed by pointer jumping (log2(depth) vectorised passes), so the km belong exactly to
the path whose time is reported.

Points further than ``max_snap_m`` (:data:`MAX_SNAP_M`) from any drivable road are not snapped:
their reason is recorded and their times are *estimated* as straight-line distance x
:data:`CIRCUITY_FACTOR` at :data:`FALLBACK_SPEED_KPH`, flagged ``estimated=True``. Points without
coordinates are kept with a reason and no time. Nothing is dropped.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator, Sequence
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
#: :func:`reachable` expands core times sparsely (touching only reached chains) when fewer than
#: this fraction of core nodes are reached, densely otherwise.
SPARSE_REACH_FRACTION = 0.35
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
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(self.tail, minlength=n))]).astype(np.int64)

    def in_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(in_ptr, tail, length) of the edges grouped by head node (cached)."""
        if not hasattr(self, "_in"):
            o = np.argsort(self.head, kind="stable")
            ptr = np.concatenate([[0], np.cumsum(np.bincount(self.head, minlength=self.n))]).astype(np.int64)
            self._in = (ptr, self.tail[o], self.length[o])
        return self._in

    def lookup(self, tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Time (inf if no edge) and length (NaN) of edges tail -> head."""
        key = tail.astype(np.int64) * self.n + head.astype(np.int64)
        pos = np.minimum(np.searchsorted(self.key, key), max(self.key.shape[0] - 1, 0))
        found = self.key[pos] == key if self.key.shape[0] else np.zeros(key.shape[0], dtype=bool)
        return np.where(found, self.time[pos], np.inf), np.where(found, self.length[pos], np.nan)


def _segmented_exclusive_cumsum(values: np.ndarray, group_start: np.ndarray, group: np.ndarray) -> np.ndarray:
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
        interior = (und == 2) & (((outd == 2) & (ind == 2)) | ((outd == 1) & (ind == 1))) & ~self_loop
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
            hop = np.asarray(dijkstra(adj, directed=False, indices=starts, unweighted=True, min_only=True))
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
        self.inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(inc_core, minlength=nc))]).astype(np.int64)
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


def _chain_direct(r: _Router, lp: _Legs, ip: np.ndarray, lq: _Legs, iq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) and length (m) driving along their shared chain from points ``lp[ip]`` to
    ``lq[iq]``, access legs included; inf where the direction is not allowed."""
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


def _own_chain(r: _Router, legs: _Legs, rows: np.ndarray, out: np.ndarray, *, reverse: bool) -> None:
    """Lower ``out[i]`` (times from/to point ``rows[i]`` at every node) on the nodes of the point's
    own chain, which it reaches without passing a chain end."""
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

    def __init__(self, base: _CSR, nodes: np.ndarray, times: np.ndarray, lengths: np.ndarray) -> None:
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
        self.matrix = sp.csr_matrix((data, indices.astype(np.int32), indptr.astype(np.int32)), shape=(self.N, self.N))
        self.matrix.has_sorted_indices = True

    def search(self, rows: np.ndarray, *, limit: float, lengths: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Dijkstra from virtual nodes ``rows``: times (k, n_core) and tree path lengths."""
        idx = self.n + rows
        if not lengths:
            dist = dijkstra(self.matrix, directed=True, indices=idx, limit=limit)
            return np.atleast_2d(dist)[:, : self.n], None
        dist, pred = dijkstra(self.matrix, directed=True, indices=idx, limit=limit, return_predecessors=True)
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

    lo_ = _point_legs(r, so, settings)
    ld = _point_legs(r, sd, settings)
    io_, id_ = lo_.idx, ld.idx
    if io_.size and id_.size:
        forward = io_.size <= id_.size
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
            D, TL = aug.search(rows, limit=limit, lengths=True)
            assert TL is not None
            ca = D[:, other_J[:, 0]] + other_t[None, :, 0]
            cb = D[:, other_J[:, 1]] + other_t[None, :, 1]
            use_a = ca <= cb
            best = np.where(use_a, ca, cb)
            blen = np.where(use_a, TL[:, other_J[:, 0]] + other_l[None, :, 0], TL[:, other_J[:, 1]] + other_l[None, :, 1])
            if forward:
                oi, di = io_[rows], id_
                secs[np.ix_(oi, di)] = best
                metres[np.ix_(oi, di)] = blen
            else:
                oi, di = io_, id_[rows]
                secs[np.ix_(oi, di)] = best.T
                metres[np.ix_(oi, di)] = blen.T
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


# ----------------------------------------------------------------------------------- node times


def _off_network_node_seconds(r: _Router, sn: Snapped, rows: np.ndarray, settings: SnapSettings) -> np.ndarray:
    d = np.hypot(sn.x[rows, None] - r.x[None, :], sn.y[rows, None] - r.y[None, :])
    return _estimate_s(d, settings)


def _core_chunks(
    r: _Router, legs: _Legs, *, limit: float, reverse: bool, chunk: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (leg rows, core times (k, n_core) in s) chunk by chunk."""
    if legs.idx.size == 0:
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
    for rows, Dc in _core_chunks(r, legs, limit=limit, reverse=reverse, chunk=_chunk_size(r.n, factor=2)):
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
    for rows, Dc in _core_chunks(r, legs, limit=limit, reverse=reverse, chunk=_chunk_size(r.n, factor=2)):
        pts = legs.idx[rows]
        if np.count_nonzero(Dc <= limit) < SPARSE_REACH_FRACTION * Dc.size:
            rr, nodes, secs = _sparse_reach(r, legs, rows, Dc, limit=limit, reverse=reverse)
            order = np.argsort(rr.astype(np.int16 if rows.shape[0] < 2**15 else np.int64), kind="stable")
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
        dist = dijkstra(aug.matrix, directed=True, indices=aug.n + np.arange(ls.idx.size), limit=limit, min_only=True)
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
            d, _ = cKDTree(np.column_stack([sx[s_off], sy[s_off]])).query(np.column_stack([r.x, r.y]))
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
