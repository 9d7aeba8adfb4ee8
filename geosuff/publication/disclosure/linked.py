"""Linked suppression: every published figure of a run decided together (differencing rule + LP audit)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geosuff.publication.disclosure.suppression import _EPS, DEFAULT_MIN_COUNT, DEFAULT_PROTECTION

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Linked tables: every figure a run publishes, audited together over the same records
# ----------------------------------------------------------------------------------------------
#: Kinds of figure in :func:`suppress_linked`.
EXACT = 0  #: published as its count, or "c" when suppressed
BAND = 1  #: published as an interval (e.g. "5-9 children"): a known bound, never suppressed
IMPLIED = 2  #: not published, but follows from published figures (e.g. the rest of a total)
FORCED = 3  #: published as its count whatever it is (e.g. not about children)


@dataclass(frozen=True)
class LinkedSuppression:
    """Which figures of a set of linked tables to publish as ``"c"``.

    Attributes
    ----------
    suppressed : ndarray of bool, shape (F,)
        Exact figures published as ``"c"`` (primary, requested and secondary).
    primary : ndarray of bool, shape (F,)
        Figures counting 1 to ``min_count - 1`` records.
    unprotected : ndarray of bool, shape (F,)
        Small figures that stay determined by figures that are always published (``FORCED``) or
        by bands: nothing here can hide them (logged as warnings; normally none).
    lp_solves : int
        Linear programmes solved by the audit.
    reason : ndarray of int, shape (F,)
        Why each suppressed figure is "c": 1 small, 2 asked for (a table's own pattern),
        3 differencing, 4 found by the audit, 5 it differs by 1 to ``min_count - 1`` from the
        same figure of an earlier publication (``sensitive``); 0 shown.
    """

    suppressed: np.ndarray
    primary: np.ndarray
    unprotected: np.ndarray
    lp_solves: int
    reason: np.ndarray


def figure_atoms(members: Sequence[Any], n_records: int) -> tuple[Any, np.ndarray]:
    """Group records by the set of figures they are counted in ("atoms").

    Parameters
    ----------
    members : sequence of int arrays
        For each figure, the indices (0 .. ``n_records - 1``) of the records it counts.
    n_records : int
        Number of records.

    Returns
    -------
    incidence : scipy.sparse.csr_matrix, shape (F, K)
        1 where figure f counts the records of atom k.
    sizes : ndarray of float, shape (K,)
        Records in each atom. Records counted in no figure are left out.
    """
    import scipy.sparse as sp

    F = len(members)
    lens = np.array([len(m) for m in members], dtype=np.int64)
    rec = (
        np.concatenate([np.asarray(m, dtype=np.int64).reshape(-1) for m in members])
        if F
        else np.zeros(0, np.int64)
    )
    fig = np.repeat(np.arange(F, dtype=np.int64), lens)
    inc = sp.csr_matrix((np.ones(rec.size), (rec, fig)), shape=(n_records, F))
    inc.sum_duplicates()
    inc.data[:] = 1.0
    # two independent random projections identify each record's set of figures
    rng = np.random.default_rng(20260401)
    h = inc @ rng.random((F, 2)) if F else np.zeros((n_records, 2))
    used = inc.getnnz(axis=1) > 0
    keys = np.round(h[used], 12)
    _, first, inverse, counts = np.unique(
        keys, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    rows = np.flatnonzero(used)[first]
    atoms = inc[rows].T.tocsr()  # (F, K)
    # a collision of the projections would merge two atoms: check it cannot have happened
    check = inc[np.flatnonzero(used)] - atoms.T[np.asarray(inverse).reshape(-1)]
    if check.count_nonzero():
        raise RuntimeError("figure_atoms: signature collision (report this as a bug)")
    return atoms, counts.astype(float)


def _bands(
    F: int, kind: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which figures carry a published interval, and its bounds (NaN in ``lower``/``upper`` =
    no bound). ``BAND`` figures always do; any other figure may too (e.g. a line width that
    shows a band while the count itself is suppressed).
    """
    lo_in = np.full(F, np.nan) if lower is None else np.asarray(lower, dtype=float).reshape(F)
    hi_in = np.full(F, np.nan) if upper is None else np.asarray(upper, dtype=float).reshape(F)
    band = (kind == BAND) | ~np.isnan(lo_in) | ~np.isnan(hi_in)
    lo = np.where(np.isnan(lo_in), 0.0, lo_in)
    hi = np.where(np.isnan(hi_in), np.inf, hi_in)
    return band, lo, hi


def _lp_ranges(
    A: Any,
    w: np.ndarray,
    shown: np.ndarray,
    band: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    targets: Sequence[int],
) -> tuple[dict[int, tuple[float, float]], dict[int, np.ndarray], int]:
    """Smallest and largest value of each target figure given the shown figures (exact) and the
    bands (intervals), atoms >= 0; with the figures whose equations bind (LP duals).

    One HiGHS model holds the constraints; each target only changes the objective, so every
    solve after the first starts from the previous basis (warm start).
    """
    import highspy
    import scipy.sparse as sp

    from geosuff._highs import new_highs

    K = A.shape[1]
    v = A @ w
    eq = np.flatnonzero(shown)
    bd = np.flatnonzero(band & ~shown)
    rows = np.concatenate([eq, bd])
    out: dict[int, tuple[float, float]] = {}
    binding: dict[int, np.ndarray] = {}
    if not len(targets):
        return out, binding, 0
    M = sp.csc_matrix(A[rows]) if rows.size else sp.csc_matrix((0, K))
    row_lo = np.concatenate([v[eq], lo[bd]])
    row_hi = np.concatenate([v[eq], np.where(np.isfinite(hi[bd]), hi[bd], highspy.kHighsInf)])
    lp = highspy.HighsLp()
    lp.num_col_ = K
    lp.num_row_ = int(rows.size)
    lp.col_cost_ = np.zeros(K)
    lp.col_lower_ = np.zeros(K)
    lp.col_upper_ = np.full(K, highspy.kHighsInf)
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.ascontiguousarray(M.indptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.ascontiguousarray(M.indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.ascontiguousarray(M.data, dtype=np.float64)
    lp.a_matrix_.num_col_ = K
    lp.a_matrix_.num_row_ = int(rows.size)
    h = new_highs()
    h.passModel(lp)
    idx = np.arange(K, dtype=np.int32)
    n_lp = 0
    for t in targets:
        c = np.asarray(A[t].toarray(), dtype=np.float64).reshape(-1)
        h.changeColsCost(K, idx, c)
        vals = []
        marg = np.zeros(A.shape[0])
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            h.changeObjectiveSense(sense)
            h.run()
            n_lp += 1
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                vals.append(float(h.getInfo().objective_function_value))
                if eq.size:
                    duals = np.asarray(h.getSolution().row_dual, dtype=float)[: eq.size]
                    marg[eq] += np.abs(duals)
            elif status == highspy.HighsModelStatus.kInfeasible:
                raise ValueError("the published figures are inconsistent (bad input)")
            else:  # unbounded above (or another outcome): no finite bound
                vals.append(0.0 if sense == highspy.ObjSense.kMinimize else np.inf)
        out[int(t)] = (max(vals[0], 0.0), vals[1])
        binding[int(t)] = np.flatnonzero(marg > 1e-9)
    return out, binding, n_lp


def suppress_linked(  # noqa: C901
    incidence: Any,
    sizes: np.ndarray,
    *,
    kind: np.ndarray,
    min_count: int = DEFAULT_MIN_COUNT,
    suppress: np.ndarray | None = None,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    group: np.ndarray | None = None,
    priority: np.ndarray | None = None,
    protection: float = DEFAULT_PROTECTION,
    keep: np.ndarray | None = None,
    sensitive: np.ndarray | None = None,
) -> LinkedSuppression:
    """Suppression across every table of a run at once, audited by linear programming.

    Every figure counts a set of records (children's placements); figures of different tables
    overlap (the "All children" row of every breakdown, the 20-mile count in the indicator table,
    the distance bands of a chart and the DfE comparison...). A reader may combine them all, so
    the audit does: with each figure written as the sum of the *atoms* it covers (records grouped
    by the figures they are in, see :func:`figure_atoms`), the published figures are linear
    equations (exact figures) and inequalities (bands) over atoms >= 0.

    Rules, in this order:

    1. exact figures counting 1 to ``min_count - 1`` records (and those in ``suppress``) are "c";
    2. *differencing*: where one shown figure's records contain another's, their difference must
       be 0 or at least ``min_count`` (else the less important of the two - not ``keep``, then
       higher ``priority``, then the smaller count - is suppressed; never a ``FORCED`` one); and
       every such small difference is audited in 3 as an implied figure, so it cannot be worked
       out either where one of the two is withheld but follows from the others;
    3. *the audit*, repeated until it passes: every small figure (1 to ``min_count - 1``;
       suppressed exact figures and ``IMPLIED`` ones, which follow from the published ones but are
       not shown) must keep a range of possible values at least ``protection`` wide given
       everything shown. If not, a shown figure whose equation binds (dual value non-zero) is
       suppressed too (a *complement*).

    Complements are chosen to lose as little as possible: never a ``keep`` figure (headline
    figures and totals) while another figure can protect the small one; among the others the
    least important (highest ``priority``), then one of the same ``group`` (table), then the
    smallest count, taking the first of these that restores the range. Where only ``keep``
    figures bind, shown figures overlapping the small one's records are tried first; only if
    none of them restores the range is a ``keep`` figure suppressed (the least important: highest
    ``priority``, then smallest), so the result stays exact. Last, a complement that the shown
    figures determine exactly (it can be worked out by subtraction, so withholding it hides
    nothing) is published again.

    Parameters
    ----------
    incidence : sparse matrix, shape (F, K)
        0/1, figure × atom (from :func:`figure_atoms`).
    sizes : ndarray, shape (K,)
        Records per atom.
    kind : ndarray of int, shape (F,)
        :data:`EXACT`, :data:`BAND`, :data:`IMPLIED` or :data:`FORCED` per figure.
    min_count : int, keyword-only
        Smallest count published.
    suppress : ndarray of bool, optional
        Exact figures to suppress from the start (e.g. a table's own secondary suppression).
    lower, upper : ndarray, optional
        Published interval of each ``BAND`` figure, and of any other figure also shown as a
        band (NaN = no bound; ``upper`` may be inf).
    group : ndarray of int, optional
        Table of each figure (partners are chosen in the same table first).
    priority : ndarray of int, optional
        How much each figure matters (0 = most, e.g. the headline counts): extra suppression
        falls on the figures with the highest number first.
    protection : float
        Smallest range (records) a small figure must keep.
    keep : ndarray of bool, optional
        Figures never chosen as complements unless nothing else protects a small figure (the
        headline figures and every table's totals); they are still suppressed when small.
    sensitive : ndarray of bool, optional
        Figures to protect as if they were small although they are not: those that differ by 1
        to ``min_count - 1`` from the same figure of an earlier publication (so the difference, a
        small count, cannot be worked out). Exact ones are "c" (reason 5) and every one is audited
        like a small figure; never published again by the last step.

    Returns
    -------
    LinkedSuppression
    """
    import scipy.sparse as sp

    A = sp.csr_matrix(incidence, dtype=float)
    w = np.asarray(sizes, dtype=float)
    F = A.shape[0]
    kind = np.asarray(kind, dtype=np.int64).reshape(F)
    v = A @ w
    small = (v > _EPS) & (v < min_count - _EPS)
    exact = kind == EXACT
    primary = exact & small
    sens = np.zeros(F, dtype=bool) if sensitive is None else np.asarray(sensitive, bool).reshape(F)
    sup = primary | (sens & exact)
    if suppress is not None:
        sup |= np.asarray(suppress, dtype=bool) & exact
    band, lo, hi = _bands(F, kind, lower, upper)
    grp = np.zeros(F, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    prio = np.zeros(F, dtype=np.int64) if priority is None else np.asarray(priority, dtype=np.int64)
    kept = np.zeros(F, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).reshape(F)
    reason = np.where(primary, 1, np.where(sens & exact, 5, np.where(sup, 2, 0))).astype(np.int64)
    forced = kind == FORCED
    targets_all = (small | sens) & ((kind == EXACT) | (kind == IMPLIED) | forced)
    unprotected = forced & (small | sens)  # always published: nothing can hide them
    if unprotected.any():
        logger.warning(
            "%d small figure(s) are published whatever the rule (forced)", int(unprotected.sum())
        )

    # containment between figures' atom sets (for the differencing rule)
    Ab = A.copy()
    Ab.data[:] = 1.0
    overlap = (Ab @ Ab.T).tocoo()
    n_atoms = np.asarray(Ab.sum(axis=1)).reshape(-1)
    of, og = overlap.row, overlap.col
    nested = (of != og) & (overlap.data >= n_atoms[og] - 0.5) & (n_atoms[of] > n_atoms[og])
    diff = v[of] - v[og]
    nested &= (diff > _EPS) & (diff < min_count - _EPS)

    def shown() -> np.ndarray:
        result: np.ndarray = (exact & ~sup) | forced
        return result

    # differencing first: it only needs shown pairs, and suppression never makes a new pair
    s = shown()
    for f, g in zip(of[nested].tolist(), og[nested].tolist(), strict=True):
        if not (s[f] and s[g]):
            continue
        pick = g if exact[g] else f
        if exact[f] and exact[g]:
            # the less important of the two; between equals, the smaller count
            pick = min((f, g), key=lambda x: (bool(kept[x]), -int(prio[x]), float(v[x]), x))
        if not exact[pick]:
            continue
        sup[pick] = True
        s[pick] = False
        reason[pick] = 3

    # the records of a figure that are not in a figure inside it (their difference) are a count
    # a reader can work out too wherever both figures can be: audit each small one as implied
    F0 = F
    if nested.any():
        pf, pg = of[nested], og[nested]
        D = (A[pf] - A[pg]).tocsr()
        D.eliminate_zeros()
        A = sp.vstack([A, D], format="csr")
        n_new = int(pf.size)

        def grow(x: np.ndarray, fill: Any) -> np.ndarray:
            return np.concatenate([x, np.full(n_new, fill, dtype=x.dtype)])

        kind, small, exact = grow(kind, IMPLIED), grow(small, True), grow(exact, False)
        primary, sup, forced = grow(primary, False), grow(sup, False), grow(forced, False)
        band, lo, hi = grow(band, False), grow(lo, 0.0), grow(hi, np.inf)
        grp, prio, kept, reason = grow(grp, -1), grow(prio, 0), grow(kept, False), grow(reason, 0)
        targets_all, unprotected = grow(targets_all, True), grow(unprotected, False)
        v = A @ w
        Ab = A.copy()
        Ab.data[:] = 1.0
        F = A.shape[0]

    n_lp = 0
    verified = np.zeros(F, dtype=bool)
    for _ in range(4 * F + 8):
        todo = [int(t) for t in np.flatnonzero(targets_all & ~verified & ~unprotected)]
        if not todo:
            break
        # a figure holding an atom that no shown figure or bounded band contains can be
        # anything from its value up: protected without a linear programme
        bounded = shown() | (band & np.isfinite(hi))
        tied = (
            np.asarray(Ab[np.flatnonzero(bounded)].sum(axis=0)).reshape(-1) > 0
            if bounded.any()
            else np.zeros(A.shape[1], bool)
        )
        free_hits = (
            np.asarray(Ab[todo][:, ~tied].sum(axis=1)).reshape(-1) > 0
            if len(todo)
            else np.zeros(0, bool)
        )
        for t, free in zip(todo, free_hits, strict=True):
            if free:
                verified[t] = True
        todo = [t for t, free in zip(todo, free_hits, strict=True) if not free]
        if not todo:
            continue
        ranges, binding, k = _lp_ranges(A, w, shown(), band, lo, hi, todo)
        n_lp += k
        exposed = [t for t in todo if ranges[t][1] - ranges[t][0] < protection - _EPS]
        verified[todo] = True
        verified[exposed] = False
        if not exposed:
            break
        # fix each exposed figure in turn; a fix for one often protects the next, so check again
        for n_fixed, t in enumerate(exposed):
            if n_fixed:
                r, b, k = _lp_ranges(A, w, shown(), band, lo, hi, [t])
                n_lp += k
                if r[t][1] - r[t][0] >= protection - _EPS:
                    verified[t] = True
                    continue
                binding[t] = b[t]
            s = shown()
            cand = [int(f) for f in binding[t] if s[f] and exact[f]]
            if not cand:
                unprotected[t] = True
                logger.warning(
                    "a small figure (%d records) is determined by figures that are always published",
                    int(round(v[t])),
                )
                continue

            def order(f: int, t: int = t) -> tuple[int, int, int, int, float, int]:
                # least loss first: not a headline figure or total, least important, same
                # table, non-zero, smallest count
                return (
                    int(kept[f]),
                    -int(prio[f]),
                    int(grp[f] != grp[t]),
                    int(v[f] <= _EPS),
                    float(v[f]),
                    f,
                )

            cand.sort(key=order)
            tries = [f for f in cand if not kept[f]][:6]
            if not tries:
                # only headline figures or totals bind here; another certificate may use other
                # figures: try the shown ones sharing records with the small one or the binding
                near = np.asarray(Ab[[t, *cand]].sum(axis=0)).reshape(-1) > 0
                touch = np.asarray(Ab[:, near].sum(axis=1)).reshape(-1) > 0
                others = np.flatnonzero(touch & s & exact & ~kept)
                tries = sorted((int(f) for f in others), key=order)[:8]
            chosen = -1
            for f in tries:
                sup[f] = True
                r, _, k = _lp_ranges(A, w, shown(), band, lo, hi, [t])
                n_lp += k
                sup[f] = False
                if r[t][1] - r[t][0] >= protection - _EPS:
                    chosen = f
                    verified[t] = True  # suppressing more only widens its range
                    break
            if chosen < 0:
                # nothing restores the range alone: suppress the least loss among the binding
                # (a figure that is not kept where there is one), and look again next round
                chosen = cand[0]
                if kept[chosen]:
                    logger.info(
                        "disclosure: a headline figure or total (%d children) is withheld to "
                        "protect a small figure",
                        int(round(v[chosen])),
                    )
            sup[chosen] = True
            reason[chosen] = 4
    else:  # pragma: no cover - each round suppresses a figure or verifies them all
        logger.warning("suppress_linked stopped before every figure was verified")
    # a complement that the shown figures determine exactly (a total minus shown parts, say)
    # hides nothing: publish it (showing a figure already known leaves every range unchanged),
    # unless it would make a shown pair differ by a small number
    partners: dict[int, list[int]] = {}
    for f, g in zip(of[nested].tolist(), og[nested].tolist(), strict=True):
        partners.setdefault(f, []).append(g)
        partners.setdefault(g, []).append(f)
    extra = [int(f) for f in np.flatnonzero(sup & exact & ~primary & (reason >= 3) & (reason <= 4))]
    if extra:
        ranges, _, k = _lp_ranges(A, w, shown(), band, lo, hi, extra)
        n_lp += k
        for f in extra:
            if ranges[f][1] - ranges[f][0] > _EPS:
                continue
            if any(shown()[g] for g in partners.get(f, ())):
                continue
            sup[f] = False
    reason[~(sup & exact)] = 0
    return LinkedSuppression(
        suppressed=(sup & exact)[:F0],
        primary=primary[:F0],
        unprotected=unprotected[:F0],
        lp_solves=n_lp,
        reason=reason[:F0],
    )


def audit_linked(
    incidence: Any,
    sizes: np.ndarray,
    *,
    kind: np.ndarray,
    suppressed: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> pd.DataFrame:
    """What a reader can work out about every figure not shown exactly (suppressed or implied).

    Returns
    -------
    DataFrame
        One row per such figure: ``figure``, ``value`` (true count), ``lower``, ``upper``
        (its range given everything published; ``upper`` may be inf).
    """
    import scipy.sparse as sp

    A = sp.csr_matrix(incidence, dtype=float)
    w = np.asarray(sizes, dtype=float)
    F = A.shape[0]
    kind = np.asarray(kind, dtype=np.int64).reshape(F)
    sup = np.asarray(suppressed, dtype=bool)
    band, lo, hi = _bands(F, kind, lower, upper)
    shown = ((kind == EXACT) & ~sup) | (kind == FORCED)
    targets = np.flatnonzero(((kind == EXACT) & sup) | (kind == IMPLIED))
    ranges, _, _ = _lp_ranges(A, w, shown, band, lo, hi, [int(t) for t in targets])
    v = A @ w
    return pd.DataFrame(
        [
            {"figure": t, "value": float(v[t]), "lower": ranges[t][0], "upper": ranges[t][1]}
            for t in ranges
        ],
        columns=["figure", "value", "lower", "upper"],
    )
