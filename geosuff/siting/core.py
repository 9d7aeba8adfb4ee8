"""The covering MILP on a cost matrix (array core): exact selection with HiGHS, greedy, swap search, allocation."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geosuff._errors import ConfigError, InputFileError
from geosuff._highs import new_highs as _new_highs
from geosuff.siting._constants import (
    _COVER_LINKS,
    _EPS,
    _INF,
    _K_CONT,
    _K_INT,
    _STRONG_VUB,
    HIGHS_MIP_OPTIONS,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Optimiser core (numpy + HiGHS)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Selection:
    """Result of an optimal site selection.

    Column indices refer to the columns of the cost matrix given to :func:`from_cost_matrix`
    (candidates and fixed existing sites together). Weights are in demand units (children).

    Attributes
    ----------
    chosen : ndarray of int
        Columns of the chosen new sites, in order of addition (each added where it gains most).
    objective : float
        Demand weight covered (MCLP) or assigned within capacity, fixed sites included.
    fixed_objective : float
        The same with the fixed (existing) sites alone: the "before" value.
    bound : float
        HiGHS's dual bound on the objective (equals ``objective`` when proven optimal).
    mip_gap : float
        HiGHS's relative MIP gap (0 = proven optimal).
    status : str
        HiGHS model status ("Optimal", "Time limit reached", ...).
    solve_time_s, build_time_s, total_time_s : float
        HiGHS run time, model build time, and the whole call including greedy and gains (s).
    greedy_chosen : ndarray of int
        Columns the greedy heuristic chose, in order.
    greedy_objective : float
        Exact objective of the greedy set.
    greedy_gap : float
        ``(objective - greedy_objective) / objective`` (0 when equal).
    addition_gain : ndarray of float
        Gain of each chosen site when added in the order of ``chosen``.
    marginal_gain : ndarray of float
        Leave-one-out loss: ``objective - objective(chosen without this site)``.
    site_load : ndarray of float, shape (n_columns,)
        Demand weight assigned to each open column (0 for closed ones).
    assignment : ndarray of int, shape (n_demand,)
        Column carrying the largest share of each demand row, ``-1`` if none.
    allocation : scipy.sparse.csr_matrix, shape (n_demand, n_columns)
        Demand weight of each row assigned to each column (rows may split only when a row weighs
        more than one child). Child-level: for scenario tables, never publish.
    fixed_allocation : scipy.sparse.csr_matrix, shape (n_demand, n_columns), or None
        The same with the fixed (existing) sites alone (the "before" of ``fixed_objective``).
    new_allocation : scipy.sparse.csr_matrix, shape (n_demand, n_columns), or None
        The same with the chosen new sites alone (fixed sites closed): the effect of the new
        sites without also filling today's spare places. Each row is assigned at most once and
        each column at most its capacity, so (capacitated) its total never exceeds the new
        places. Child-level: never publish.
    capacitated : bool
        Whether capacities were enforced.
    k : int
        Number of new sites allowed (after a target search, the fewest that reach it).
    model_size : dict
        ``rows``, ``cols``, ``nonzeros``, ``demand_groups`` of the MILP.
    chosen_ids : tuple
        Identifiers of the chosen sites (column indices for the core; candidate ids in wrappers).
    sites : DataFrame or None
        One row per chosen site (wrappers only).
    """

    chosen: np.ndarray
    objective: float
    fixed_objective: float
    bound: float
    mip_gap: float
    status: str
    solve_time_s: float
    build_time_s: float
    total_time_s: float
    greedy_chosen: np.ndarray
    greedy_objective: float
    greedy_gap: float
    addition_gain: np.ndarray
    marginal_gain: np.ndarray
    site_load: np.ndarray
    assignment: np.ndarray
    allocation: sp.csr_matrix
    capacitated: bool
    k: int
    model_size: dict[str, int]
    chosen_ids: tuple[Any, ...] = ()
    sites: pd.DataFrame | None = None
    fixed_allocation: sp.csr_matrix | None = None
    new_allocation: sp.csr_matrix | None = None

    @property
    def optimal(self) -> bool:
        """Whether HiGHS proved the selection optimal (within ``mip_rel_gap``)."""
        return self.status == "Optimal"

    def summary(self) -> dict[str, Any]:
        """Scalar figures for reports and manifests."""
        return {
            "k": self.k,
            "capacitated": self.capacitated,
            "chosen": list(self.chosen_ids),
            "objective": self.objective,
            "before": self.fixed_objective,
            "gain": self.objective - self.fixed_objective,
            "bound": self.bound,
            "mip_gap": self.mip_gap,
            "status": self.status,
            "greedy_objective": self.greedy_objective,
            "greedy_gap": self.greedy_gap,
            "solve_time_s": self.solve_time_s,
            "total_time_s": self.total_time_s,
        }


@dataclass(frozen=True, eq=False)
class _Problem:
    """The covering structure of one selection problem, after aggregating demand."""

    cover: sp.csc_matrix  # (n_groups, n_cols) 1 where group is served by column
    weight: np.ndarray  # (n_groups,) aggregated demand weight
    group_of: np.ndarray  # (n_demand,) group index of each demand row, -1 if served by none
    capacity: np.ndarray  # (n_cols,) places (inf = uncapacitated)
    fixed: np.ndarray  # (n_cols,) bool
    exclusive: np.ndarray  # (n_cols,) int, -1 = none; columns sharing a value are exclusive
    capacitated: bool
    cost: np.ndarray  # (n_demand, n_cols) minutes with non-serving pairs = inf
    dominated: np.ndarray  # (n_cols,) bool: never needed in an optimum (kept closed)


def _solve_highs(
    *,
    cost: np.ndarray,
    a: sp.csc_matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    n_int: int,
    maximise: bool,
    offset: float = 0.0,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
    start: np.ndarray | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[str, np.ndarray, float, float, float, float]:
    """Solve ``opt cost@x s.t. row_lower <= A x <= row_upper`` with the first ``n_int`` columns integer.

    Returns (status, x, objective, dual bound, mip gap, run time in s).
    """
    n_row, n_col = a.shape
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = np.ascontiguousarray(cost, dtype=np.float64)
    lp.col_lower_ = np.ascontiguousarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.ascontiguousarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.ascontiguousarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.ascontiguousarray(row_upper, dtype=np.float64)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = n_row
    lp.a_matrix_.start_ = np.ascontiguousarray(a.indptr, dtype=np.int32)
    lp.a_matrix_.index_ = np.ascontiguousarray(a.indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.ascontiguousarray(a.data, dtype=np.float64)
    if n_int:
        lp.integrality_ = [_K_INT] * n_int + [_K_CONT] * (n_col - n_int)
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    if n_int:
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        for key, value in {**HIGHS_MIP_OPTIONS, **(options or {})}.items():
            h.setOptionValue(key, value)
    h.passModel(lp)
    if start is not None and n_int:
        # partial MIP start: the integer columns only; HiGHS completes the continuous ones
        idx = np.arange(start.size, dtype=np.int32)
        h.setSolution(int(start.size), idx, np.ascontiguousarray(start, dtype=np.float64))
    t0 = time.perf_counter()
    h.run()
    run_s = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64) if sol.value_valid else np.full(n_col, np.nan)
    obj = float(info.objective_function_value) if sol.value_valid else math.nan
    if n_int:
        bound, gap = float(info.mip_dual_bound), float(info.mip_gap)
    else:
        bound, gap = obj, 0.0
    if not math.isfinite(gap) and status == "Optimal":
        gap = 0.0
    return status, x, obj, bound, gap, run_s


def _prepare(
    cost_minutes: Any,
    *,
    max_minutes: float,
    weights: Any,
    capacities: Any,
    fixed: Any,
    compatible: Any,
    exclusive: Any,
    capacitated: bool,
) -> _Problem:
    cost = np.array(cost_minutes, dtype=np.float64)
    if cost.ndim != 2:
        raise InputFileError(
            f"cost_minutes must be a 2-D (demand x sites) array, got shape {cost.shape}."
        )
    n_dem, n_col = cost.shape
    w = np.ones(n_dem) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n_dem,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputFileError(
            f"weights must be {n_dem} finite values >= 0 (one per demand row).",
            fix="Give one weight per row of the cost matrix.",
        )
    fix_mask = np.zeros(n_col, bool) if fixed is None else np.asarray(fixed, dtype=bool).reshape(-1)
    if fix_mask.shape != (n_col,):
        raise InputFileError(f"fixed must be a boolean mask of the {n_col} columns.")
    if capacities is None:
        cap = np.full(n_col, np.inf)
    else:
        cap = np.asarray(capacities, dtype=np.float64).reshape(-1)
        if cap.shape != (n_col,) or np.any(np.isnan(cap)) or np.any(cap < 0):
            raise InputFileError(f"capacities must be {n_col} values >= 0 (inf = no limit).")
    if not capacitated:
        cap = np.full(n_col, np.inf)
    excl = (
        np.full(n_col, -1)
        if exclusive is None
        else np.asarray(exclusive, dtype=np.int64).reshape(-1)
    )
    if excl.shape != (n_col,):
        raise InputFileError(f"exclusive must give one group id per column ({n_col}).")
    with np.errstate(invalid="ignore"):
        serve = np.isfinite(cost) & (cost <= max_minutes)
    if compatible is not None:
        comp = np.asarray(compatible, dtype=bool)
        if comp.shape != cost.shape:
            raise InputFileError(f"compatible must have the cost matrix's shape {cost.shape}.")
        serve &= comp
    serve &= (w > 0)[:, None]
    serve[:, cap <= 0] = False
    # Aggregate demand rows that are served by exactly the same columns: their weights add up and
    # (with continuous assignment variables) the model is unchanged, but much smaller.
    served_any = serve.any(axis=1)
    rows = np.flatnonzero(served_any)
    group_of = np.full(n_dem, -1, dtype=np.int64)
    if rows.size:
        packed = np.packbits(serve[rows], axis=1)
        _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        group_of[rows] = inverse
        weight: np.ndarray = np.bincount(inverse, weights=w[rows], minlength=first.size)
        cover = sp.csc_matrix(serve[rows[first]].astype(np.float64))
    else:
        weight = np.zeros(0)
        cover = sp.csc_matrix((0, n_col))
    cost = np.where(serve, cost, np.inf)
    dominated = (
        _dominated_columns(cover, fix_mask, excl) if not capacitated else np.zeros(n_col, bool)
    )
    return _Problem(cover, weight, group_of, cap, fix_mask, excl, capacitated, cost, dominated)


def _dominated_columns(
    cover: sp.csc_matrix, fixed: np.ndarray, exclusive: np.ndarray
) -> np.ndarray:
    """MCLP columns whose served groups are a subset of another free column's (or empty).

    Swapping such a column for its dominator never lowers coverage, so an optimum exists without
    it; closing it up front shrinks the branch-and-bound (HiGHS's own presolve is off, see
    :data:`HIGHS_MIP_OPTIONS`). Only free columns outside exclusive groups take part.
    """
    size = np.asarray(cover.sum(axis=0)).reshape(-1)
    cand = ~fixed & (exclusive < 0)
    out: np.ndarray = cand & (size == 0)
    idx = np.flatnonzero(cand & (size > 0))
    if idx.size < 2:
        return out
    sub = cover[:, idx]
    overlap = (sub.T @ sub).toarray()
    sz = size[idx]
    # i is dominated by j if every group of i is served by j, and j is strictly larger or an
    # identical column with a lower index (so exactly one of a set of twins survives)
    contains = overlap >= sz[:, None] - 0.5
    np.fill_diagonal(contains, False)
    bigger = sz[None, :] > sz[:, None]
    twin_first = (sz[None, :] == sz[:, None]) & (
        np.arange(idx.size)[None, :] < np.arange(idx.size)[:, None]
    )
    dom = (contains & (bigger | twin_first)).any(axis=1)
    out[idx[dom]] = True
    return out


def _exclusive_rows(excl: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    """Rows ``sum x_j <= 1`` over columns sharing an exclusive-group id (only groups of 2+)."""
    ids = excl[cols]
    valid = ids >= 0
    if not valid.any():
        return sp.csr_matrix((0, cols.size))
    uniq, inv, counts = np.unique(ids[valid], return_inverse=True, return_counts=True)
    keep = counts[inv] > 1
    pos = np.flatnonzero(valid)[keep]
    _, row = np.unique(inv[keep], return_inverse=True)
    n_rows = int(row.max()) + 1 if row.size else 0
    return sp.csr_matrix((np.ones(pos.size), (row, pos)), shape=(n_rows, cols.size))


def _build_model(
    prob: _Problem, *, k: float | None, target: float | None, cols: np.ndarray | None = None
) -> dict[str, Any]:
    """Arrays of the MILP over columns ``cols`` (default: all). ``target`` switches to min #sites.

    Variables: ``x_j`` (binary, open column j) for j in cols, then

    * MCLP: ``y_g`` in [0, 1] (group g covered) for groups not covered by fixed columns;
      rows ``y_g - sum_{j covers g} x_j <= 0``.
    * capacitated: ``z_gj`` in [0, 1] (share of group g assigned to j) for each serving pair;
      rows ``sum_j z_gj <= 1``, ``sum_g W_g z_gj - cap_j x_j <= 0`` (finite cap) and
      ``z_gj - min(1, cap_j / W_g) x_j <= 0`` (a valid strengthening; the only link if cap is inf).

    Plus ``sum_{free j} x_j <= k`` (or, for a target, objective >= target and minimise that sum)
    and ``sum x_j <= 1`` over each exclusive group. Fixed columns have ``x_j = 1``.
    """
    cols = np.arange(prob.cover.shape[1]) if cols is None else np.asarray(cols)
    nx = cols.size
    cover = prob.cover[:, cols]
    fixed = prob.fixed[cols]
    cap = prob.capacity[cols]
    W = prob.weight
    col_lo = fixed.astype(np.float64)
    col_hi = (~prob.dominated[cols]).astype(np.float64)
    free = (~fixed).astype(np.float64)
    offset = 0.0
    if not prob.capacitated:
        by_fixed = np.asarray(cover[:, fixed].sum(axis=1)).reshape(-1) > 0
        offset = float(W[by_fixed].sum())
        keep = np.flatnonzero(~by_fixed)
        A = cover[keep].tocsr()
        ng = keep.size
        obj = np.concatenate([np.zeros(nx), W[keep]])
        link = sp.hstack([-A, sp.identity(ng, format="csr")], format="csr")
        blocks = [link]
        lo = [np.full(ng, -_INF)]
        hi = [np.zeros(ng)]
        n_y = ng
        col_lo = np.concatenate([col_lo, np.zeros(ng)])
        col_hi = np.concatenate([col_hi, np.ones(ng)])
    else:
        coo = cover.tocoo()
        g, j = coo.row, coo.col  # pairs, sorted by column (CSC)
        npair = g.size
        ng = cover.shape[0]
        pid = np.arange(npair)
        obj = np.concatenate([np.zeros(nx), W[g]])
        # demand rows: sum_j z_gj <= 1
        dem = sp.csr_matrix((np.ones(npair), (g, nx + pid)), shape=(ng, nx + npair))
        # capacity rows only where capacity can bind: a column whose places are at least all the
        # weight it could serve is effectively uncapacitated (linked by VUBs instead)
        reachable = np.asarray(cover.T @ W).reshape(-1)
        fin = np.isfinite(cap) & (cap < reachable - _EPS)
        cap_cols = np.flatnonzero(fin)
        rowpos = np.full(nx, -1)
        rowpos[cap_cols] = np.arange(cap_cols.size)
        pm = fin[j]
        capm = sp.csr_matrix(
            (
                np.concatenate([W[g[pm]], -cap[cap_cols]]),
                (
                    np.concatenate([rowpos[j[pm]], np.arange(cap_cols.size)]),
                    np.concatenate([nx + pid[pm], cap_cols]),
                ),
            ),
            shape=(cap_cols.size, nx + npair),
        )
        # variable upper bounds z_gj <= x_j: needed where a column that may close has no
        # capacity row (infinite capacity); everywhere if _STRONG_VUB (tighter, but a much bigger,
        # degenerate LP: HiGHS took 45 s on a 300 x 300 root LP).
        vm = (~fin[j] & ~fixed[j]) | _STRONG_VUB
        nv = int(vm.sum())
        with np.errstate(divide="ignore"):
            coef = np.minimum(1.0, cap[j[vm]] / W[g[vm]])
        vub = sp.csr_matrix(
            (
                np.concatenate([np.ones(nv), -coef]),
                (np.tile(np.arange(nv), 2), np.concatenate([nx + pid[vm], j[vm]])),
            ),
            shape=(nv, nx + npair),
        )
        # cover links sum_j z_gj - sum_{j serves g} x_j <= 0 (the MCLP link, implied by the VUBs):
        # one row per group keeps the MCLP bound when capacities are loose
        link = sp.csr_matrix(
            (
                np.concatenate([np.ones(npair), -np.ones(npair)]),
                (np.concatenate([g, g]), np.concatenate([nx + pid, j])),
            ),
            shape=(ng, nx + npair),
        )
        blocks = [dem, capm, vub] + ([link] if _COVER_LINKS else [])
        lo = [np.full(ng, -_INF), np.full(cap_cols.size, -_INF), np.full(nv, -_INF)] + (
            [np.full(ng, -_INF)] if _COVER_LINKS else []
        )
        hi = [np.ones(ng), np.zeros(cap_cols.size), np.zeros(nv)] + (
            [np.zeros(ng)] if _COVER_LINKS else []
        )
        n_y = npair
        col_lo = np.concatenate([col_lo, np.zeros(npair)])
        col_hi = np.concatenate([col_hi, np.ones(npair)])
    excl = _exclusive_rows(prob.exclusive, cols)
    if excl.shape[0]:
        blocks.append(sp.hstack([excl, sp.csr_matrix((excl.shape[0], n_y))], format="csr"))
        lo.append(np.full(excl.shape[0], -_INF))
        hi.append(np.ones(excl.shape[0]))
    count = sp.csr_matrix(np.concatenate([free, np.zeros(n_y)])[None, :])
    if target is None:
        blocks.append(count)
        lo.append(np.array([-_INF]))
        hi.append(np.array([float(k if k is not None else nx)]))
        cost, maximise = obj, True
    else:
        blocks.append(sp.csr_matrix(obj[None, :]))
        lo.append(np.array([target - offset - 1e-6]))
        hi.append(np.array([_INF]))
        cost, maximise, offset = count.toarray().reshape(-1), False, 0.0
    A_all = sp.vstack(blocks, format="csc")
    A_all.sort_indices()
    return {
        "cost": cost,
        "a": A_all,
        "row_lower": np.concatenate(lo),
        "row_upper": np.concatenate(hi),
        "col_lower": col_lo,
        "col_upper": col_hi,
        "n_int": nx,
        "maximise": maximise,
        "offset": offset,
        "n_x": nx,
    }


_MODEL_ARGS = (
    "cost",
    "a",
    "row_lower",
    "row_upper",
    "col_lower",
    "col_upper",
    "n_int",
    "maximise",
    "offset",
)


def _model_args(m: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`_solve_highs` arguments held in a :func:`_build_model` result."""
    return {key: m[key] for key in _MODEL_ARGS}


def _evaluate(
    prob: _Problem, open_cols: np.ndarray, *, with_flows: bool = True
) -> tuple[float, sp.csc_matrix]:
    """Exact objective of opening ``open_cols`` (plus fixed), and the flow of weight per group/site.

    Returns (objective, flows) where flows is a sparse (n_groups, n_cols) matrix of weight assigned
    (MCLP: empty unless ``with_flows``; the capacitated LP always gives them).
    """
    n_col = prob.cover.shape[1]
    cols = np.union1d(np.flatnonzero(prob.fixed), np.asarray(open_cols, dtype=np.int64))
    ng = prob.cover.shape[0]
    if cols.size == 0 or ng == 0:
        return 0.0, sp.csc_matrix((ng, n_col))
    sub = prob.cover[:, cols]
    if not prob.capacitated:
        served = np.asarray(sub.sum(axis=1)).reshape(-1) > 0
        if not with_flows:
            return float(prob.weight[served].sum()), sp.csc_matrix((ng, n_col))
        # assign each group to the first serving column (nearest is resolved per demand row later)
        sub_r = sub.tocsr()
        g = np.flatnonzero(served)
        first = sub_r.indices[sub_r.indptr[g]]
        flows = sp.csc_matrix((prob.weight[g], (g, cols[first])), shape=(ng, n_col))
        return float(prob.weight[served].sum()), flows
    # Transportation LP with the sites fixed open: a plain LP (integral for integral data).
    fixed_prob = dataclasses.replace(prob, fixed=np.ones(n_col, bool), exclusive=np.full(n_col, -1))
    m = _build_model(fixed_prob, k=0, target=None, cols=cols)
    status, x, obj, *_ = _solve_highs(**{**_model_args(m), "n_int": 0})
    if status != "Optimal":  # pragma: no cover - an LP with x fixed is always feasible (z = 0)
        raise RuntimeError(f"HiGHS could not evaluate a site set: {status}")
    coo = sub.tocoo()
    z = x[cols.size :]
    flows = sp.csc_matrix((prob.weight[coo.row] * z, (coo.row, cols[coo.col])), shape=(ng, n_col))
    flows.eliminate_zeros()
    return float(obj), flows


def _greedy(prob: _Problem, k: int) -> np.ndarray:
    """Greedy: repeatedly open the free column with the largest marginal gain.

    MCLP: the gain is the uncovered weight the column covers (exact). Capacitated: the gain is
    ``min(places, weight it could serve that is not yet assigned)``, with assignments re-optimised
    exactly (transportation LP) after each addition.
    """
    ng, n_col = prob.cover.shape
    cover_csr = prob.cover.tocsr()
    free = ~prob.fixed
    allowed = free & ~prob.dominated
    chosen: list[int] = []
    open_cols = np.flatnonzero(prob.fixed)
    if prob.capacitated:
        _, flows = _evaluate(prob, open_cols)
        residual = prob.weight - np.asarray(flows.sum(axis=1)).reshape(-1)
    else:
        residual = prob.weight * (
            np.asarray(prob.cover[:, prob.fixed].sum(axis=1)).reshape(-1) == 0
        )
    for _ in range(k):
        gains = np.asarray(cover_csr.T @ np.maximum(residual, 0.0)).reshape(-1)
        gains = np.minimum(gains, prob.capacity)
        gains[~allowed] = -1.0
        j = int(np.argmax(gains))
        if gains[j] <= _EPS:
            break
        chosen.append(j)
        allowed[j] = False
        if prob.exclusive[j] >= 0:
            allowed[prob.exclusive == prob.exclusive[j]] = False
        if prob.capacitated:
            _, flows = _evaluate(prob, np.array(chosen))
            residual = prob.weight - np.asarray(flows.sum(axis=1)).reshape(-1)
        else:
            residual[prob.cover[:, j].indices] = 0.0
    return np.array(chosen, dtype=np.int64)


def _swap_search(prob: _Problem, chosen: np.ndarray, *, max_swaps: int = 200) -> np.ndarray:
    """Improve an MCLP solution by best single swaps (Teitz-Bart interchange), vectorised.

    The gain of swapping open column ``a`` for closed column ``b`` is
    ``add_b + both_ab - loss_a``: weight only ``b`` would newly cover, plus weight covered only
    by ``a`` that ``b`` also covers, minus weight covered only by ``a``. Used as the MIP start.
    """
    A = prob.cover
    W = prob.weight
    cur = [int(c) for c in chosen]
    if not cur or prob.capacitated:
        return np.array(cur, dtype=np.int64)
    fixed_cols = np.flatnonzero(prob.fixed)
    for _ in range(max_swaps):
        open_cols = np.concatenate([fixed_cols, cur]).astype(np.int64)
        count = np.asarray(A[:, open_cols].sum(axis=1)).reshape(-1)
        u0 = W * (count == 0)
        u1 = W * (count == 1)
        add = np.asarray(A.T @ u0).reshape(-1)
        a_cur = A[:, cur]
        loss = np.asarray(a_cur.T @ u1).reshape(-1)
        both = (a_cur.multiply(u1[:, None])).T.tocsr() @ A
        gain = both.toarray() + add[None, :] - loss[:, None]
        gain[:, open_cols] = -np.inf
        gain[:, prob.dominated] = -np.inf
        for r, a in enumerate(cur):
            others = {int(prob.exclusive[c]) for c in cur if c != a and prob.exclusive[c] >= 0}
            if others:
                gain[r, np.isin(prob.exclusive, list(others))] = -np.inf
        rr, bb = np.unravel_index(int(np.argmax(gain)), gain.shape)
        r, b = int(rr), int(bb)
        if gain[r, b] <= _EPS * max(1.0, float(W.sum())):
            break
        cur[int(r)] = int(b)
    return np.array(cur, dtype=np.int64)


def _prefer_ties(
    prob: _Problem, chosen: np.ndarray, prefer: np.ndarray, *, top: int = 20
) -> np.ndarray:
    """Swap chosen columns for better-preferred ones while the objective stays the same."""
    n_col = prob.cover.shape[1]
    if prefer.size != n_col:
        raise InputFileError(f"prefer has {prefer.size} values for {n_col} columns.")
    pref = np.where(np.isfinite(prefer), prefer, -np.inf)

    def f(cols: list[int]) -> float:
        return _evaluate(prob, np.asarray(cols, dtype=np.int64), with_flows=False)[0]

    cur = [int(c) for c in chosen]
    base = f(cur)
    free = np.flatnonzero(~prob.fixed)
    for _ in range(len(cur) * top + 1):
        swapped = False
        for j in sorted(cur, key=lambda c: (pref[c], c)):
            others = [c for c in cur if c != j]
            used = {int(prob.exclusive[c]) for c in others if prob.exclusive[c] >= 0}
            better = [
                int(c)
                for c in free
                if c not in cur
                and pref[c] > pref[j] + 1e-12
                and (prob.exclusive[c] < 0 or int(prob.exclusive[c]) not in used)
            ]
            for c in sorted(better, key=lambda c: (-pref[c], c))[:top]:
                if f([*others, c]) >= base - 1e-9:
                    cur = [*others, c]
                    swapped = True
                    break
            if swapped:
                break
        if not swapped:
            break
    return np.array(sorted(cur), dtype=np.int64)


def _order_and_gains(
    prob: _Problem, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Order chosen columns by exact best-next gain; leave-one-out gains; return objective too."""
    chosen = np.asarray(chosen, dtype=np.int64)

    def f(cols: Sequence[int] | np.ndarray) -> float:
        return _evaluate(prob, np.asarray(cols, dtype=np.int64), with_flows=False)[0]

    full = f(chosen)
    remaining = list(chosen)
    order: list[int] = []
    add_gain: list[float] = []
    current = f([])
    while remaining:
        vals = [f([*order, j]) for j in remaining]
        b = int(np.argmax(vals))
        order.append(remaining.pop(b))
        add_gain.append(vals[b] - current)
        current = vals[b]
    loo = np.array([full - f(chosen[chosen != j]) for j in order])
    return np.array(order, dtype=np.int64), np.array(add_gain), loo, full


def _allocate_rows(
    prob: _Problem, flows: sp.csc_matrix, weights: np.ndarray, open_cols: np.ndarray
) -> sp.csr_matrix:
    """Turn group-level flows into weight per (demand row, column).

    MCLP: every served row goes wholly to its nearest open column. Capacitated: the rows of a
    group (all served by the same columns) take the group's flows in order of their best travel
    time; with integral weights and capacities every assigned child gets exactly one site.
    """
    n_dem, n_col = prob.cost.shape
    if not prob.capacitated:
        cols = np.union1d(np.flatnonzero(prob.fixed), open_cols).astype(np.int64)
        if cols.size == 0:
            return sp.csr_matrix((n_dem, n_col))
        sub = prob.cost[:, cols]
        best = np.argmin(sub, axis=1)
        rows = np.flatnonzero(np.isfinite(sub[np.arange(n_dem), best]))
        return sp.csr_matrix((weights[rows], (rows, cols[best[rows]])), shape=(n_dem, n_col))
    fl = flows.tocsr()
    order = np.argsort(prob.group_of, kind="stable")
    g_sorted = prob.group_of[order]
    ids = np.arange(fl.shape[0])
    starts = np.searchsorted(g_sorted, ids)
    ends = np.searchsorted(g_sorted, ids, side="right")
    out_r: list[int] = []
    out_c: list[int] = []
    out_v: list[float] = []
    for g in np.flatnonzero(np.diff(fl.indptr) > 0):
        rows = order[starts[g] : ends[g]]
        cols = fl.indices[fl.indptr[g] : fl.indptr[g + 1]]
        amount = fl.data[fl.indptr[g] : fl.indptr[g + 1]].copy()
        sub = prob.cost[np.ix_(rows, cols)]
        cols_sorted = np.argsort(sub.mean(axis=0))
        rows_sorted = rows[np.argsort(sub.min(axis=1), kind="stable")]
        ci = 0
        for r in rows_sorted:
            need = float(weights[r])
            while need > 1e-9 and ci < cols_sorted.size:
                c = cols_sorted[ci]
                take = min(need, amount[c])
                if take > 1e-9:
                    out_r.append(int(r))
                    out_c.append(int(cols[c]))
                    out_v.append(take)
                    need -= take
                    amount[c] -= take
                if amount[c] <= 1e-9:
                    ci += 1
            if ci == cols_sorted.size:
                break
    return sp.csr_matrix((out_v, (out_r, out_c)), shape=(n_dem, n_col))


def from_cost_matrix(
    cost_minutes: Any,
    *,
    max_minutes: float,
    k: int | None = None,
    target: float | None = None,
    weights: Any | None = None,
    capacities: Any | None = None,
    fixed: Any | None = None,
    compatible: Any | None = None,
    exclusive: Any | None = None,
    capacitated: bool | None = None,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
    prefer: Any | None = None,
) -> Selection:
    """Choose ``k`` sites maximising (capacitated) coverage of demand, solved exactly with HiGHS.

    Parameters
    ----------
    cost_minutes : array_like, shape (n_demand, n_columns)
        Travel time in minutes from each demand point (child's home) to each column (candidate
        or fixed existing site). ``inf``/``nan`` = unreachable.
    max_minutes : float
        A column serves demand within this many minutes (inclusive, as spopt's MCLP).
    k : int, optional
        Number of new (non-fixed) columns to open. Exactly one of ``k`` / ``target``.
    target : float, optional
        Open the fewest columns whose objective reaches ``target`` (demand weight), then maximise
        the objective for that number of sites.
    weights : array_like, shape (n_demand,), optional
        Demand weight (children); default 1 each.
    capacities : array_like, shape (n_columns,), optional
        Places per column (``inf`` = unlimited). Required for a meaningful capacitated model.
    fixed : array_like of bool, shape (n_columns,), optional
        Existing sites: always open, not counted in ``k``.
    compatible : array_like of bool, shape (n_demand, n_columns), optional
        False where a column cannot serve a demand row (need or age not served).
    exclusive : array_like of int, shape (n_columns,), optional
        Columns sharing an id >= 0 are alternatives (the same building for different uses): at
        most one opens.
    capacitated : bool, optional
        Enforce capacities (default: whether ``capacities`` was given). False gives the classic
        maximal covering location problem (MCLP).
    mip_rel_gap : float
        Relative gap at which HiGHS may stop; 0 proves optimality.
    time_limit_s : float
        HiGHS time limit (s). If reached, the best solution found is returned with its gap.
    prefer : array_like, shape (n_columns,), optional
        A tie-break (e.g. each candidate's total score): where other sets reach the same optimum,
        columns with a higher value are preferred (a swap search after the MILP that never lowers
        the objective).

    Returns
    -------
    Selection
        Chosen columns, optimum and bound, greedy comparison, gains, assignment.
    """
    t_start = time.perf_counter()
    if (k is None) == (target is None):
        raise ConfigError("Give exactly one of k (number of sites) or target (children to reach).")
    if k is not None and (isinstance(k, bool) or int(k) != k or k < 0):
        raise ConfigError(f"k must be a whole number >= 0 (got {k!r}).")
    if capacitated is None:
        capacitated = capacities is not None
    prob = _prepare(
        cost_minutes,
        max_minutes=max_minutes,
        weights=weights,
        capacities=capacities,
        fixed=fixed,
        compatible=compatible,
        exclusive=exclusive,
        capacitated=capacitated,
    )
    n_col = prob.cover.shape[1]
    fixed_objective, fixed_flows = _evaluate(prob, np.array([], dtype=np.int64))
    build_s = 0.0
    solve_s = 0.0
    if target is not None:
        t0 = time.perf_counter()
        m = _build_model(prob, k=None, target=float(target))
        build_s += time.perf_counter() - t0
        status, x, obj, _, _, run_s = _solve_highs(
            **_model_args(m),
            mip_rel_gap=0.0,
            time_limit_s=time_limit_s,
        )
        solve_s += run_s
        if status == "Infeasible":
            best = _build_model(prob, k=None, target=None)
            _, _, most, *_ = _solve_highs(
                **_model_args(best),
                mip_rel_gap=mip_rel_gap,
                time_limit_s=time_limit_s,
            )
            raise ConfigError(
                f"The target of {target:g} children cannot be reached: opening every eligible "
                f"candidate reaches {most:g}.",
                fix="Lower the target, add candidates or raise max_minutes.",
            )
        if status != "Optimal":
            logger.warning(
                "Fewest-sites search stopped with status %s; using its best count.", status
            )
        k = int(round(obj))
    assert k is not None
    g_chosen = _greedy(prob, k)
    start_cols = _swap_search(prob, g_chosen)
    t0 = time.perf_counter()
    m = _build_model(prob, k=k, target=None)
    build_s += time.perf_counter() - t0
    start = prob.fixed.astype(np.float64)
    start[start_cols] = 1.0
    status, x, obj, bound, gap, run_s = _solve_highs(
        **_model_args(m),
        mip_rel_gap=mip_rel_gap,
        time_limit_s=time_limit_s,
        start=start,
    )
    solve_s += run_s
    if not np.isfinite(x).all():
        raise RuntimeError(f"HiGHS found no solution: {status}.")
    xs = x[: m["n_x"]]
    chosen = np.flatnonzero((xs > 0.5) & ~prob.fixed)
    if prefer is not None:
        chosen = _prefer_ties(prob, chosen, np.asarray(prefer, dtype=np.float64).reshape(-1))
    order, add_gain, loo, exact = _order_and_gains(prob, chosen)
    if abs(exact - obj) > 1e-6 * max(1.0, abs(obj)):
        logger.debug("MILP objective %.6f, exact re-evaluation %.6f", obj, exact)
    g_obj, _ = _evaluate(prob, g_chosen)
    _, flows = _evaluate(prob, order)
    load = np.asarray(flows.sum(axis=0)).reshape(-1)
    w = (
        np.ones(prob.group_of.size)
        if weights is None
        else np.asarray(weights, dtype=np.float64).reshape(-1)
    )
    allocation = _allocate_rows(prob, flows, w, order)
    fixed_allocation = _allocate_rows(prob, fixed_flows, w, np.array([], dtype=np.int64))
    # the chosen new sites alone (existing sites' spare places left as they are)
    new_prob = dataclasses.replace(prob, fixed=np.zeros(n_col, bool))
    _, new_flows = _evaluate(new_prob, order)
    new_allocation = _allocate_rows(new_prob, new_flows, w, order)
    assignment = np.where(
        allocation.getnnz(axis=1) > 0, np.asarray(allocation.argmax(axis=1)).reshape(-1), -1
    )
    a = m["a"]
    return Selection(
        chosen=order,
        objective=exact,
        fixed_objective=fixed_objective,
        bound=bound,
        mip_gap=gap,
        status=status,
        solve_time_s=solve_s,
        build_time_s=build_s,
        total_time_s=time.perf_counter() - t_start,
        greedy_chosen=g_chosen,
        greedy_objective=g_obj,
        greedy_gap=(exact - g_obj) / exact if exact > 0 else 0.0,
        addition_gain=add_gain,
        marginal_gain=loo,
        site_load=load,
        assignment=assignment,
        allocation=allocation,
        fixed_allocation=fixed_allocation,
        new_allocation=new_allocation,
        capacitated=bool(capacitated),
        k=int(k),
        model_size={
            "rows": int(a.shape[0]),
            "cols": int(a.shape[1]),
            "nonzeros": int(a.nnz),
            "demand_groups": int(prob.cover.shape[0]),
            "columns": int(n_col),
        },
        chosen_ids=tuple(int(c) for c in order),
    )
