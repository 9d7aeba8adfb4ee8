"""Compiled bounded Dijkstra (Numba) over the contracted core graph: touches only reached nodes.

scipy's ``csgraph.dijkstra`` fills a dense row of core-node times per source, so a reachable set of
a few thousand nodes on a 10^6-node graph still costs O(n) memory traffic per source. The kernel
here is a binary-heap Dijkstra that resets only the nodes it touched, stops at the cutoff, and
expands the reached core nodes to the pass-through nodes of their chains in the same pass. It
returns sparse (node, seconds) lists.

Numba compiles the kernel on first use (cached on disk next to this module, or in Numba's user
cache when that is not writable). If Numba cannot be imported, :data:`HAVE_NUMBA` is False and the
callers use the pure scipy path, which gives the same times.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from geosuff.routing.csgraph import MIN_EDGE_S

logger = logging.getLogger(__name__)

#: Set ``GEOSUFF_NO_NUMBA=1`` to force the pure scipy path (tests, debugging).
_DISABLED = os.environ.get("GEOSUFF_NO_NUMBA", "") not in ("", "0")

try:  # pragma: no cover - depends on the environment
    if _DISABLED:
        raise ImportError("disabled by GEOSUFF_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except Exception as exc:  # pragma: no cover - numba missing or broken
    numba = None  # type: ignore[assignment]
    HAVE_NUMBA = False
    logger.debug("numba not available (%s): using the scipy csgraph path", exc)


def _jit(fn: Any) -> Any:
    if numba is None:
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


@_jit
def _sift_up(hd: Any, hv: Any, hp: Any, i: int, d: float, v: int) -> None:
    """Place node ``v`` with key ``d`` at heap slot ``i`` or above (indexed heap)."""
    while i > 0:
        p = (i - 1) >> 1
        if hd[p] <= d:
            break
        hd[i] = hd[p]
        hv[i] = hv[p]
        hp[hv[i]] = i
        i = p
    hd[i] = d
    hv[i] = v
    hp[v] = i


@_jit
def _pop_min(hd: Any, hv: Any, hp: Any, nh: int) -> tuple[int, int]:
    """Remove the minimum of the indexed heap; returns (node, new size). ``hp[node] = -2``."""
    top = hv[0]
    hp[top] = -2
    nh -= 1
    if nh > 0:
        last_d = hd[nh]
        last_v = hv[nh]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= nh:
                break
            if c + 1 < nh and hd[c + 1] < hd[c]:
                c += 1
            if hd[c] >= last_d:
                break
            hd[i] = hd[c]
            hv[i] = hv[c]
            hp[hv[i]] = i
            i = c
        hd[i] = last_d
        hv[i] = last_v
        hp[last_v] = i
    return top, nh


@_jit
def _grow(nodes: Any, secs: Any, need: int) -> tuple[Any, Any]:
    cap = nodes.shape[0]
    while cap < need:
        cap *= 2
    n2 = np.empty(cap, dtype=np.int32)
    s2 = np.empty(cap, dtype=np.float64)
    n2[: nodes.shape[0]] = nodes
    s2[: secs.shape[0]] = secs
    return n2, s2


@_jit
def _search(
    s: int,
    indptr: Any,
    head: Any,
    wt: Any,
    src_J: Any,
    src_T: Any,
    limit: float,
    min_edge: float,
    dist: Any,
    touched: Any,
    settled: Any,
    hd: Any,
    hv: Any,
    hp: Any,
) -> tuple[int, int]:
    """Bounded Dijkstra from source row ``s`` with an indexed binary heap (decrease-key).

    ``hp[v]`` is -1 (not seen), the heap slot of ``v``, or -2 (settled). Returns (touched count,
    settled count); the caller resets ``dist`` and ``hp`` of the touched nodes.
    """
    nt = 0
    nh = 0
    ns = 0
    for e in range(2):
        v = src_J[s, e]
        t = max(src_T[s, e], min_edge)
        if v >= 0 and t <= limit and t < dist[v]:
            if hp[v] == -1:
                touched[nt] = v
                nt += 1
                hp[v] = nh
                nh += 1
            dist[v] = t
            _sift_up(hd, hv, hp, hp[v], t, v)
    while nh > 0:
        u, nh = _pop_min(hd, hv, hp, nh)
        d = dist[u]
        settled[ns] = u
        ns += 1
        for j in range(indptr[u], indptr[u + 1]):
            v = head[j]
            nd = d + wt[j]
            if nd < dist[v] and nd <= limit:
                if hp[v] == -1:
                    touched[nt] = v
                    nt += 1
                    hp[v] = nh
                    nh += 1
                dist[v] = nd
                _sift_up(hd, hv, hp, hp[v], nd, v)
    return nt, ns


@_jit
def _via_ends(q: int, dist: Any, jA: Any, tA: Any, jB: Any, tB: Any) -> float:
    t = dist[jA[q]] + tA[q]
    t2 = dist[jB[q]] + tB[q]
    return t2 if t2 < t else t  # type: ignore[no-any-return]


@_jit
def _direct(
    q: int,
    c: int,
    key: float,
    cf: float,
    cb: float,
    reverse: bool,
    ch: Any,
    pos: Any,
    icf: Any,
    icb: Any,
) -> float:
    """Time along the point's own chain to/from pass-through node ``q`` (without access)."""
    tf = np.inf
    tb = np.inf
    p = pos[q]
    if reverse:
        if ch[0, c] and p <= key:
            tf = cf - icf[q]
        if ch[1, c] and p >= key:
            tb = cb - icb[q]
    else:
        if ch[0, c] and p >= key:
            tf = icf[q] - cf
        if ch[1, c] and p <= key:
            tb = icb[q] - cb
    return tf if tf < tb else tb  # type: ignore[no-any-return]


@_jit
def _reach_kernel(
    indptr: Any,
    head: Any,
    wt: Any,
    src_J: Any,
    src_T: Any,
    limit: float,
    min_edge: float,
    core_nodes: Any,
    inc_ptr: Any,
    inc_chain: Any,
    ch_int_start: Any,
    ch_int_count: Any,
    ch: Any,
    int_nodes: Any,
    int_pos: Any,
    int_cf: Any,
    int_cb: Any,
    jA: Any,
    tA: Any,
    jB: Any,
    tB: Any,
    own: Any,
    own_key: Any,
    reverse: bool,
) -> tuple[Any, Any, Any]:
    """One bounded search per source row; returns (counts per row, nodes, seconds).

    ``ch`` is (2, n_chains) bool: driven J1 -> J2, driven J2 -> J1. ``own`` is (4, k) float:
    own chain id, cf, cb and access seconds of each source point.
    """
    nc = indptr.shape[0] - 1
    k = src_J.shape[0]
    dist = np.full(nc, np.inf)
    touched = np.empty(nc, dtype=np.int64)
    settled = np.empty(nc, dtype=np.int64)
    stamp = np.zeros(ch_int_count.shape[0], dtype=np.int64)
    hd = np.empty(nc, dtype=np.float64)
    hv = np.empty(nc, dtype=np.int32)
    hp = np.full(nc, -1, dtype=np.int32)
    counts = np.zeros(k, dtype=np.int64)
    out_n = np.empty(max(1024, 16 * k), dtype=np.int32)
    out_s = np.empty(out_n.shape[0], dtype=np.float64)
    m = 0
    for s in range(k):
        nt, ns = _search(
            s, indptr, head, wt, src_J, src_T, limit, min_edge, dist, touched, settled, hd, hv, hp
        )
        start = m
        if m + ns > out_n.shape[0]:
            out_n, out_s = _grow(out_n, out_s, m + ns)
        for i in range(ns):  # reached core nodes
            out_n[m] = core_nodes[settled[i]]
            out_s[m] = dist[settled[i]]
            m += 1
        # the point's own chain: via its ends or driving along it directly
        c = int(own[0, s])
        stamp[c] = s + 1
        cnt = ch_int_count[c]
        if m + cnt > out_n.shape[0]:
            out_n, out_s = _grow(out_n, out_s, m + cnt)
        for q in range(ch_int_start[c], ch_int_start[c] + cnt):
            t = _via_ends(q, dist, jA, tA, jB, tB)
            d = _direct(
                q, c, own_key[s], own[1, s], own[2, s], reverse, ch, int_pos, int_cf, int_cb
            )
            t = min(t, d + own[3, s])
            if t <= limit:
                out_n[m] = int_nodes[q]
                out_s[m] = t
                m += 1
        # pass-through nodes of the other chains at reached core nodes
        for i in range(ns):
            u = settled[i]
            for j in range(inc_ptr[u], inc_ptr[u + 1]):
                c = inc_chain[j]
                if stamp[c] == s + 1:
                    continue
                stamp[c] = s + 1
                cnt = ch_int_count[c]
                if m + cnt > out_n.shape[0]:
                    out_n, out_s = _grow(out_n, out_s, m + cnt)
                for q in range(ch_int_start[c], ch_int_start[c] + cnt):
                    t = _via_ends(q, dist, jA, tA, jB, tB)
                    if t <= limit:
                        out_n[m] = int_nodes[q]
                        out_s[m] = t
                        m += 1
        counts[s] = m - start
        for i in range(nt):
            dist[touched[i]] = np.inf
            hp[touched[i]] = -1
    return counts, out_n[:m], out_s[:m]


def reach_sparse(r: Any, legs: Any, *, limit: float, reverse: bool) -> tuple[Any, Any, Any]:
    """Nodes within ``limit`` seconds of each leg row (to it with ``reverse``), sparse.

    Parameters
    ----------
    r : geosuff.routing.csgraph._Router
    legs : geosuff.routing.snap._Legs
        On-network points joined to their chains.
    limit : float
        Cutoff in seconds (``inf`` for none).
    reverse : bool
        False: point -> node times; True: node -> point times.

    Returns
    -------
    counts : ndarray of int64, shape (k,)
        Number of reached nodes per leg row.
    nodes : ndarray of int32
        Reached node ids, row after row (unsorted within a row, no duplicates).
    seconds : ndarray of float64
        Their times (s), access legs included.
    """
    g = r.core_rev if reverse else r.core_fwd
    cached = getattr(g, "_kernel_csr", None)
    if cached is None:
        cached = (g.indptr.astype(np.int64), g.head.astype(np.int32), g.time.astype(np.float64))
        g._kernel_csr = cached
    indptr, head, wt = cached
    if reverse:
        jA, tA, jB, tB = r.int_j2, r.int_xf, r.int_j1, r.int_xb
        src_T = legs.arr
    else:
        jA, tA, jB, tB = r.int_j1, r.int_cf, r.int_j2, r.int_cb
        src_T = legs.dep
    return _reach_kernel(  # type: ignore[no-any-return]
        indptr,
        head,
        wt,
        np.ascontiguousarray(legs.J, dtype=np.int64),
        np.ascontiguousarray(src_T, dtype=np.float64),
        float(limit),
        float(MIN_EDGE_S),
        r.core_nodes,
        r.inc_ptr,
        r.inc_chain,
        r.ch_int_start,
        r.ch_int_count,
        np.stack([r.ch_fwd, r.ch_bwd]),
        r.int_nodes,
        r.int_pos,
        r.int_cf,
        r.int_cb,
        jA,
        tA,
        jB,
        tB,
        np.stack([legs.chain.astype(np.float64), legs.cf, legs.cb, legs.acc]).astype(np.float64),
        np.ascontiguousarray(legs.key, dtype=np.float64),
        bool(reverse),
    )
