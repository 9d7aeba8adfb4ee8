"""Small-count suppression of single tables and blocks (cell suppression with an LP audit)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


SUPPRESSED = "c"
DEFAULT_MIN_COUNT = 5
#: A suppressed cell must have at least this range (children) of values consistent with the
#: published table; 1 means "not uniquely determined".
DEFAULT_PROTECTION = 1.0
#: Published points closer than this (metres) to a child's or carer's point are disclosures.
POINT_TOLERANCE_M = 3.0
_EPS = 1e-6


# ----------------------------------------------------------------------------------------------
# Tables: primary and secondary suppression with an LP audit
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suppression:
    """Which cells of a table to publish as ``"c"``.

    Attributes
    ----------
    cells : ndarray of bool, shape (R, C)
        Body cells.
    row_totals : ndarray of bool, shape (R,)
        Row totals (all False when the table has none, or they are published elsewhere).
    col_totals : ndarray of bool, shape (C,)
        Column totals.
    grand_total : bool
        The grand total (only with both row and column totals).
    primary : ndarray of bool, shape (R, C)
        Body cells suppressed because they are small (the rest of ``cells`` is secondary).
    """

    cells: np.ndarray
    row_totals: np.ndarray
    col_totals: np.ndarray
    grand_total: bool
    primary: np.ndarray


class _Table:
    """A count table with its margins as one (R+1) x (C+1) matrix and the linear relations
    between them that a reader of the published table knows.
    """

    def __init__(
        self,
        counts: np.ndarray,
        *,
        row_totals: bool,
        col_totals: bool,
        margins_in_table: bool | tuple[bool, bool],
    ) -> None:
        c = np.asarray(counts, dtype=float)
        c = np.where(np.isfinite(c), c, 0.0)
        self.R, self.C = c.shape
        R, C = self.R, self.C
        self.row_totals = row_totals
        self.col_totals = col_totals
        self.margins_in_table = margins_in_table
        m = np.zeros((R + 1, C + 1))
        m[:R, :C] = c
        m[:R, C] = c.sum(axis=1)
        m[R, :C] = c.sum(axis=0)
        m[R, C] = c.sum()
        self.values = m
        exists = np.zeros((R + 1, C + 1), dtype=bool)
        exists[:R, :C] = True
        if row_totals:
            exists[:R, C] = True
        if col_totals:
            exists[R, :C] = True
        if row_totals and col_totals:
            exists[R, C] = True
        self.exists = exists
        # margins that may be suppressed (part of this table); others are known constants
        rows_in, cols_in = (
            (margins_in_table, margins_in_table)
            if isinstance(margins_in_table, bool)
            else margins_in_table
        )
        self.suppressible = np.zeros_like(exists)
        self.suppressible[:R, :C] = True
        if rows_in and row_totals:
            self.suppressible[:R, C] = True
        if cols_in and col_totals:
            self.suppressible[R, :C] = True
        if rows_in and cols_in and row_totals and col_totals:
            self.suppressible[R, C] = True
        # lines: (cells with coefficient +1, the total cell with coefficient -1)
        lines: list[tuple[list[tuple[int, int]], tuple[int, int]]] = []
        if row_totals:
            lines += [([(i, j) for j in range(C)], (i, C)) for i in range(R)]
        if col_totals:
            lines += [([(i, j) for i in range(R)], (R, j)) for j in range(C)]
        if row_totals and col_totals:
            lines.append(([(i, C) for i in range(R)], (R, C)))
            lines.append(([(R, j) for j in range(C)], (R, C)))
        self.lines = lines
        self._line_cells = [[*parts, total] for parts, total in lines]
        self._cell_lines: dict[tuple[int, int], list[int]] = {}
        for k, cells in enumerate(self._line_cells):
            for ij in cells:
                self._cell_lines.setdefault(ij, []).append(k)

    def line_cells(self, k: int) -> list[tuple[int, int]]:
        return self._line_cells[k]

    def lines_of(self, cell: tuple[int, int]) -> list[int]:
        return self._cell_lines.get(cell, [])

    # -- the audit ------------------------------------------------------------------------------
    def bounds(
        self, mask: np.ndarray, cells: Sequence[tuple[int, int]] | None = None
    ) -> dict[tuple[int, int], tuple[float, float]]:
        """Smallest and largest value of each suppressed cell consistent with the published ones."""
        from scipy.optimize import linprog

        unknown = [(int(i), int(j)) for i, j in np.argwhere(mask & self.exists)]
        if not unknown:
            return {}
        index = {ij: k for k, ij in enumerate(unknown)}
        rows, rhs = [], []
        for parts, total in self.lines:
            coef = np.zeros(len(unknown))
            b = 0.0
            any_unknown = False
            for ij, sign in [*((p, 1.0) for p in parts), (total, -1.0)]:
                if ij in index:
                    coef[index[ij]] += sign
                    any_unknown = True
                else:
                    b -= sign * self.values[ij]
            if any_unknown:
                rows.append(coef)
                rhs.append(b)
        targets = list(cells) if cells is not None else unknown
        out: dict[tuple[int, int], tuple[float, float]] = {}
        if not rows:
            return {ij: (0.0, np.inf) for ij in targets}
        a_eq, b_eq = np.array(rows), np.array(rhs)
        n = len(unknown)
        for ij in targets:
            k = index[ij]
            c = np.zeros(n)
            c[k] = 1.0
            lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n, method="highs")
            hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n, method="highs")
            if (
                lo.status == 2 or hi.status == 2
            ):  # infeasible: the relations do not hold (bad input)
                raise ValueError("the table's cells do not add up to its totals")
            low = float(lo.fun) if lo.status == 0 else 0.0
            high = float(-hi.fun) if hi.status == 0 else np.inf
            out[ij] = (max(low, 0.0), high)
        return out

    def exposed(self, mask: np.ndarray, protection: float) -> list[tuple[int, int]]:
        b = self.bounds(mask)
        return [ij for ij, (lo, hi) in b.items() if hi - lo < protection - _EPS]

    # -- the heuristic ----------------------------------------------------------------------------
    def partner(self, mask: np.ndarray, line: int) -> tuple[int, int] | None:
        """The cell to suppress with a lone suppressed cell of ``line``: the smallest non-zero
        suppressible cell (body cells before totals; among equals, one whose other line already
        has suppressed cells), else the smallest zero one.
        """
        cand = [
            ij
            for ij in self.line_cells(line)
            if not mask[ij] and self.suppressible[ij] and self.exists[ij]
        ]
        if not cand:
            return None

        def key(ij: tuple[int, int]) -> tuple[int, int, float, int]:
            v = float(self.values[ij])
            margin = int(ij[0] == self.R or ij[1] == self.C)
            others = sum(
                int(mask[c]) for k in self.lines_of(ij) if k != line for c in self.line_cells(k)
            )
            return (int(v <= 0), margin, v, -others)

        return min(cand, key=key)

    def lone_cell_rule(self, mask: np.ndarray) -> np.ndarray:
        mask = mask.copy()
        changed = True
        while changed:
            changed = False
            for k in range(len(self.lines)):
                cells = self.line_cells(k)
                sup = [ij for ij in cells if mask[ij]]
                if len(sup) == 1:
                    p = self.partner(mask, k)
                    if p is not None:
                        mask[p] = True
                        changed = True
        return mask


def suppress_table(  # noqa: C901
    counts: Any,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    row_totals: bool = True,
    col_totals: bool = True,
    margins_in_table: bool | tuple[bool, bool] = True,
    protection: float = DEFAULT_PROTECTION,
    whole_row_if_total_suppressed: bool = False,
) -> Suppression:
    """Primary and secondary suppression of a 2-D table of counts, audited by linear programming.

    Parameters
    ----------
    counts : array-like, shape (R, C)
        Counts (children). NaN is taken as 0.
    min_count : int, keyword-only, default 5
        Counts from 1 to ``min_count - 1`` are suppressed (primary).
    row_totals, col_totals : bool, keyword-only, default True
        Whether the reader knows each row's / column's total (published in this table or
        elsewhere). With both, the grand total is known too.
    margins_in_table : bool or (bool, bool), keyword-only, default True
        The totals are cells of this table, so small totals are suppressed and totals may be
        suppressed to protect cells. With False they are published elsewhere and are known
        constants. A pair gives (row totals, column totals) separately; the grand total is in the
        table only when both are.
    protection : float, keyword-only, default 1
        Each suppressed cell's range of possible values (given everything published, cells ≥ 0)
        must be at least this wide; 1 means no suppressed cell is uniquely determined.
    whole_row_if_total_suppressed : bool, keyword-only
        Also suppress every cell of a row whose total is suppressed.

    Returns
    -------
    Suppression
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2:
        raise ValueError("counts must be a 1-D or 2-D table")
    t = _Table(c, row_totals=row_totals, col_totals=col_totals, margins_in_table=margins_in_table)
    R, C = t.R, t.C
    v = t.values
    primary_full = (v > 0) & (v < min_count) & t.suppressible & t.exists

    def heuristic(m: np.ndarray) -> np.ndarray:
        while True:
            before = m.copy()
            if whole_row_if_total_suppressed and row_totals:
                for i in range(R):
                    if m[i, C]:
                        m[i, :C] |= t.exists[i, :C]
            m = t.lone_cell_rule(m)
            if (m == before).all():
                return m

    def cells_of(m: np.ndarray) -> list[tuple[int, int]]:
        return [(int(i), int(j)) for i, j in np.argwhere(m & t.exists)]

    mask = heuristic(primary_full.copy())
    # Suppressing one more cell only relaxes the constraints on the others, so a cell once
    # shown to be protected stays protected: audit only cells not yet verified.
    todo = cells_of(mask)
    for _ in range((R + 1) * (C + 1) + 1):
        if not todo:
            break
        b = t.bounds(mask, todo)
        exposed = [ij for ij in todo if b[ij][1] - b[ij][0] < protection - _EPS]
        if not exposed:
            break
        ij = exposed[0]
        cand = sorted(
            {
                c2
                for k in t.lines_of(ij)
                for c2 in t.line_cells(k)
                if not mask[c2] and t.suppressible[c2] and t.exists[c2]
            },
            key=lambda x: (int(v[x] <= 0), int(x[0] == R or x[1] == C), float(v[x]), x),
        )
        if not cand:
            # nothing left in its lines: any suppressible cell (rare, tiny tables)
            cand = sorted(
                cells_of(~mask & t.suppressible), key=lambda x: (int(v[x] <= 0), float(v[x]), x)
            )
        if not cand:
            logger.warning(
                "suppression cannot protect cell %s: every cell is already suppressed", ij
            )
            break
        chosen = cand[0]
        for c2 in cand:
            trial = mask.copy()
            trial[c2] = True
            lo, hi = t.bounds(trial, [ij])[ij]
            if hi - lo >= protection - _EPS:
                chosen = c2
                break
        before = mask.copy()
        mask[chosen] = True
        mask = heuristic(mask)
        todo = exposed + cells_of(mask & ~before)
    else:  # pragma: no cover - every round suppresses a cell, so the loop ends before this
        logger.warning("suppression stopped before every cell was verified")
    return Suppression(
        cells=mask[:R, :C].copy(),
        row_totals=mask[:R, C] & t.suppressible[:R, C],
        col_totals=mask[R, :C] & t.suppressible[R, :C],
        grand_total=bool(mask[R, C] and t.suppressible[R, C]),
        primary=primary_full[:R, :C].copy(),
    )


def audit_suppression(
    counts: Any,
    cells: np.ndarray,
    *,
    row_totals: bool = True,
    col_totals: bool = True,
    row_total_mask: np.ndarray | None = None,
    col_total_mask: np.ndarray | None = None,
    grand_total_mask: bool = False,
) -> pd.DataFrame:
    """What a reader can work out about each suppressed cell from the published table.

    Returns
    -------
    DataFrame
        One row per suppressed cell or total: ``kind`` ("cell", "row_total", "col_total",
        "grand_total"), ``row``, ``col``, ``value`` (the true count), ``lower``, ``upper`` (its
        smallest and largest value consistent with everything published; ``upper`` may be inf).
    """
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    t = _Table(c, row_totals=row_totals, col_totals=col_totals, margins_in_table=True)
    R, C = t.R, t.C
    mask = np.zeros((R + 1, C + 1), dtype=bool)
    mask[:R, :C] = np.asarray(cells, dtype=bool).reshape(R, C)
    if row_total_mask is not None and row_totals:
        mask[:R, C] = row_total_mask
    if col_total_mask is not None and col_totals:
        mask[R, :C] = col_total_mask
    if grand_total_mask and row_totals and col_totals:
        mask[R, C] = True
    rows = []
    for (i, j), (lo, hi) in t.bounds(mask).items():
        kind = (
            "cell"
            if i < R and j < C
            else (
                "row_total"
                if j == C and i < R
                else ("col_total" if i == R and j < C else "grand_total")
            )
        )
        rows.append(
            {"kind": kind, "row": i, "col": j, "value": t.values[i, j], "lower": lo, "upper": hi}
        )
    return pd.DataFrame(rows, columns=["kind", "row", "col", "value", "lower", "upper"])


def suppress_matrix(
    counts: np.ndarray,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    row_totals: bool = True,
    col_totals: bool = True,
) -> np.ndarray:
    """Boolean mask of cells to suppress in a 2-D table of counts whose row and/or column totals
    are published elsewhere (known to the reader; never suppressed here).

    Primary: ``0 < count < min_count``. Secondary: as :func:`suppress_table` (lone-cell rule,
    then an LP audit until no suppressed cell is uniquely determined by the totals). A 1-D array
    is one row with a known total.
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim == 1:
        result: np.ndarray = suppress_table(
            c[None, :],
            min_count=min_count,
            row_totals=True,
            col_totals=False,
            margins_in_table=False,
        ).cells[0]
        return result
    return suppress_table(
        c, min_count=min_count, row_totals=row_totals, col_totals=col_totals, margins_in_table=False
    ).cells


def total_suppressed(
    counts: np.ndarray, mask: np.ndarray, *, min_count: int = DEFAULT_MIN_COUNT
) -> bool:
    """Whether a total of ``counts`` must itself be suppressed (it is small)."""
    t = float(np.nansum(counts))
    return 0 < t < min_count


def publish_counts(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    total_col: str | None = None,
    total_row: bool = False,
) -> pd.DataFrame:
    """A copy of ``df`` with ``count_cols`` suppressed for publication (values become str).

    Parameters
    ----------
    df : DataFrame
        One row per category; ``count_cols`` hold counts.
    count_cols : sequence of str
        The count columns (not the total column).
    total_col : str, optional
        A column holding each row's total, published in this table. When the count columns add up
        to it (they partition it), it takes part in the suppression (a small total is "c"; a total
        may be suppressed to protect a cell). Otherwise it is treated as a separate count.
    total_row : bool
        The table has published column totals: the last row, if its first column starts with
        "Total" (its cells take part in the suppression), else implied (published elsewhere).

    Notes
    -----
    With several count columns that do not add up to ``total_col`` (or without one), their row
    sums are assumed known from elsewhere (conservative). A ``total_col`` that is not their sum is
    published on its own rule (small totals are "c"). Every suppressed cell is audited (see
    :func:`suppress_table`).
    """
    out = df.copy()
    cols = list(count_cols)
    vals = df[cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(dtype=float)
    first = df.columns[0]
    has_total_row = bool(
        total_row and len(df) and str(df[first].iloc[-1]).strip().lower().startswith("total")
    )
    body = np.ones(len(df), dtype=bool)
    if has_total_row:
        body[-1] = False
    tv = (
        pd.to_numeric(df[total_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        if total_col is not None
        else None
    )
    b = vals[body]
    partition = tv is not None and len(b) > 0 and np.allclose(b.sum(axis=1), tv[body])
    if has_total_row and len(b) and not np.allclose(b.sum(axis=0), vals[~body][0]):
        logger.warning(
            "publish_counts: the 'Total' row does not equal the column sums; treated as a separate row"
        )
        has_total_row = False
        body[:] = True
        b = vals
        partition = tv is not None and np.allclose(vals.sum(axis=1), tv)
    mask = np.zeros_like(vals, dtype=bool)
    tmask = np.zeros(len(df), dtype=bool)
    if len(b):
        if partition:
            s = suppress_table(
                b, min_count=min_count, row_totals=True, col_totals=total_row, margins_in_table=True
            )
            mask[body] = s.cells
            tmask[body] = s.row_totals
            if has_total_row:
                mask[~body] = s.col_totals
                tmask[~body] = s.grand_total
        else:
            # a separate total (not the sum of the count columns) gives no equation; several
            # count columns are assumed to have their row sums published elsewhere
            row_known = len(cols) > 1
            if has_total_row:
                s = suppress_table(
                    b,
                    min_count=min_count,
                    row_totals=row_known,
                    col_totals=True,
                    margins_in_table=(False, True),
                )
                mask[body] = s.cells
                mask[~body] = s.col_totals
            else:
                mask[body] = suppress_table(
                    b,
                    min_count=min_count,
                    row_totals=row_known,
                    col_totals=total_row,
                    margins_in_table=False,
                ).cells
            if tv is not None:
                tmask = (tv > 0) & (tv < min_count)
    elif has_total_row:
        t = vals[~body]
        mask[~body] = (t > 0) & (t < min_count)
    for j, col in enumerate(cols):
        out[col] = [SUPPRESSED if mask[i, j] else _fmt_int(vals[i, j]) for i in range(len(df))]
    if total_col is not None and tv is not None:
        out[total_col] = [SUPPRESSED if tmask[i] else _fmt_int(t) for i, t in enumerate(tv)]
    return out


def _fmt_int(v: float) -> str:
    return str(int(round(v)))


def publish_count(n: float | int, *, min_count: int = DEFAULT_MIN_COUNT) -> str:
    """One count for publication: ``"c"`` when ``0 < n < min_count``."""
    if n is None or (isinstance(n, float) and np.isnan(n)):
        return ":"
    return SUPPRESSED if 0 < n < min_count else _fmt_int(float(n))


def publish_percent(
    num: float,
    den: float,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    digits: int = 0,
    num_suppressed: bool = False,
) -> str:
    """A percentage for publication; withheld (``"c"``) where numerator or base is suppressed."""
    if den is None or den == 0 or (isinstance(den, float) and np.isnan(den)):
        return ":"
    if num_suppressed or 0 < den < min_count or 0 < num < min_count:
        return SUPPRESSED
    return f"{100.0 * num / den:.{digits}f}%"


def publish_percentages(
    published: pd.DataFrame,
    raw: pd.DataFrame,
    num_cols: Sequence[str],
    base_col: str,
    *,
    digits: int = 0,
    suffix: str = "pct_",
) -> pd.DataFrame:
    """Add ``pct_<num>`` columns to a published table, withheld where the numerator or the base
    is suppressed there (``"c"``), so that no percentage reveals a suppressed count.

    Parameters
    ----------
    published : DataFrame
        Output of :func:`publish_counts` (counts as strings, ``"c"`` where suppressed).
    raw : DataFrame
        The same table with the true counts.
    num_cols : sequence of str
        Numerator columns.
    base_col : str
        The base (denominator) column.
    """
    out = published.copy()
    base = pd.to_numeric(raw[base_col], errors="coerce").to_numpy(dtype=float)
    base_sup = (published[base_col].astype(str) == SUPPRESSED).to_numpy()
    for col in num_cols:
        num = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
        sup = (published[col].astype(str) == SUPPRESSED).to_numpy() | base_sup
        vals = []
        for n, d, s in zip(num, base, sup, strict=True):
            if s:
                vals.append(SUPPRESSED)
            elif not np.isfinite(d) or d == 0:
                vals.append(":")
            else:
                vals.append(f"{100.0 * n / d:.{digits}f}%")
        out[f"{suffix}{col}"] = vals
    return out


def count_band(n: int, *, min_count: int = DEFAULT_MIN_COUNT) -> str:
    """A band for a count of children in an area (e.g. on a map): never the exact small count."""
    if n <= 0:
        return "0"
    if n < min_count:
        return f"fewer than {min_count}"
    for lo, hi in ((min_count, 9), (10, 19), (20, 49), (50, 99)):
        if lo <= n <= hi:
            return f"{lo}-{hi}"
    return "100 or more"


# ----------------------------------------------------------------------------------------------
# Blocks of counts that partition row totals (used by the report)
# ----------------------------------------------------------------------------------------------
def suppress_block(
    cells: np.ndarray,
    totals: np.ndarray,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    total_row: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Suppression masks for a table whose row cells partition a published row total.

    Parameters
    ----------
    cells : ndarray, shape (r, k)
        Counts; each row's cells add up to ``totals`` (a partition, e.g. within / over 20 miles /
        not known).
    totals : ndarray, shape (r,)
        Row totals (published).
    min_count : int
        Counts from 1 to ``min_count - 1`` are suppressed.
    total_row : bool
        The last row is the column total of the rows above (e.g. "All children").

    Returns
    -------
    cell_mask, total_mask : ndarray of bool
        Which cells / totals to publish as ``"c"``: small cells and totals; every cell of a row
        whose total is suppressed; then secondary suppression until no suppressed cell or total
        can be worked out from the published ones (:func:`suppress_table`). Rows whose cells do
        not add up to their total are suppressed on their own (primary + lone-cell rule only).
    """
    c = np.atleast_2d(np.asarray(cells, dtype=float))
    c = np.where(np.isfinite(c), c, 0.0)
    t = np.asarray(totals, dtype=float).reshape(-1)
    t = np.where(np.isfinite(t), t, 0.0)
    r, k = c.shape
    body = c[:-1] if total_row and r > 1 else c
    bt = t[:-1] if total_row and r > 1 else t
    consistent = np.allclose(body.sum(axis=1), bt) and (
        not (total_row and r > 1)
        or (np.allclose(body.sum(axis=0), c[-1]) and np.isclose(bt.sum(), t[-1]))
    )
    if not consistent:
        logger.info("suppress_block: cells do not add up to the totals; suppressing row by row")
        mask = np.zeros_like(c, dtype=bool)
        tmask = (t > 0) & (t < min_count)
        for i in range(r):
            s = suppress_table(
                c[i : i + 1],
                min_count=min_count,
                row_totals=True,
                col_totals=False,
                margins_in_table=False,
            )
            mask[i] = s.cells[0] | (tmask[i] & (c[i] > 0))
        return mask, tmask
    s = suppress_table(
        body,
        min_count=min_count,
        row_totals=True,
        col_totals=bool(total_row and r > 1),
        margins_in_table=True,
        whole_row_if_total_suppressed=True,
    )
    mask = np.zeros_like(c, dtype=bool)
    tmask = np.zeros(r, dtype=bool)
    nb = body.shape[0]
    mask[:nb] = s.cells
    tmask[:nb] = s.row_totals
    if total_row and r > 1:
        mask[-1] = s.col_totals
        tmask[-1] = s.grand_total
    return mask, tmask


def publish_block(
    cells: np.ndarray,
    totals: np.ndarray,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    total_row: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`suppress_block` applied: string arrays of published cells and totals ("c" or the count)."""
    c = np.atleast_2d(np.asarray(cells, dtype=float))
    t = np.asarray(totals, dtype=float).reshape(-1)
    mask, tmask = suppress_block(c, t, min_count=min_count, total_row=total_row)
    cs = np.where(
        mask, SUPPRESSED, np.vectorize(_fmt_int, otypes=[object])(c) if c.size else c.astype(object)
    )
    ts = np.where(
        tmask,
        SUPPRESSED,
        np.vectorize(_fmt_int, otypes=[object])(t) if t.size else t.astype(object),
    )
    return cs.astype(object), ts.astype(object)
