"""Disclosure control for every publishable output (maps, reports, published CSVs).

Rules (following the DfE/ONS practice for children-looked-after statistics):

* counts from 1 to ``min_count - 1`` are shown as ``"c"`` (primary suppression); 0 is shown;
* secondary suppression: further cells (and, where they are part of the table, totals) are shown as
  ``"c"`` until **no suppressed cell can be worked out from the published cells and totals**. This
  is checked, not assumed: after a fast heuristic (no row or column with a published total keeps a
  single suppressed cell), every suppressed cell is audited with two linear programmes (its
  smallest and largest value consistent with everything published, cells ≥ 0); a cell whose range
  is narrower than ``protection`` (default 1 child, i.e. uniquely determined) gets another cell
  suppressed with it, and the audit repeats (:func:`suppress_table`, :func:`audit_suppression`);
* percentages are withheld (``"c"``) where the numerator or the base is suppressed;
* child locations are published only as aggregates (areas, bands); carers' and homes' addresses
  never; child ids never. :func:`check_published_file` / :func:`assert_publishable` are the last
  line of defence: they look for child ids, postcodes and grid references in published files -
  including child or carer points drawn on a map in longitude/latitude and geometries inside a
  GeoPackage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import DisclosureError
from geosuff.reference import is_sensitive_site_type

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
    between them that a reader of the published table knows."""

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
        has suppressed cells), else the smallest zero one."""
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


def suppress_table(
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
        return suppress_table(
            c[None, :],
            min_count=min_count,
            row_totals=True,
            col_totals=False,
            margins_in_table=False,
        ).cells[0]
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
        3 differencing, 4 found by the audit; 0 shown.
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
    shows a band while the count itself is suppressed)."""
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


def suppress_linked(
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
    sup = primary.copy()
    if suppress is not None:
        sup |= np.asarray(suppress, dtype=bool) & exact
    band, lo, hi = _bands(F, kind, lower, upper)
    grp = np.zeros(F, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    prio = np.zeros(F, dtype=np.int64) if priority is None else np.asarray(priority, dtype=np.int64)
    kept = np.zeros(F, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).reshape(F)
    reason = np.where(primary, 1, np.where(sup, 2, 0)).astype(np.int64)
    forced = kind == FORCED
    targets_all = small & ((kind == EXACT) | (kind == IMPLIED) | forced)
    unprotected = forced & small  # always published: nothing can hide them
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
        return (exact & ~sup) | forced

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
    extra = [int(f) for f in np.flatnonzero(sup & exact & ~primary & (reason >= 3))]
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


# ----------------------------------------------------------------------------------------------
# Record-level text in tables that are published (issues, reconciliation)
# ----------------------------------------------------------------------------------------------
_POSTCODE_TEXT_RE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b", re.I)
_DISTRICT_RE = re.compile(r"\b(district) [A-Z]{1,2}[0-9][A-Z0-9]?\b", re.I)
_QUOTED_RE = re.compile(r"'[^']*'")
_BIG_NUMBER_RE = re.compile(r"(?<![\d.])\d{5,}(?:\.\d+)?(?![\d])")
_COORD_PAIR_RE = re.compile(r"-?\d+\.\d+, ?-?\d+\.\d+")
REDACTED = "[withheld]"
#: A DfE distance category on any line ("20 miles or less", "Over 25 miles"): never redacted.
_CATEGORY_RE = re.compile(r"(?:\d+(?:\.\d+)? miles or less|over \d+(?:\.\d+)? miles)", re.I)


@cache
def published_labels() -> frozenset[str]:
    """Names that are the DfE's or the code lists' own, never a child's (upper case): the
    distance categories, the DfE statistics' characteristics, PLACE codes with their
    descriptions and groups, placement-type groups and provision site types.

    :func:`redact_text` keeps a quoted value that is one of these (a reason such as "the distance
    is counted as 'Not known or not recorded'" stays a sentence); ids, postcodes and coordinates
    are still redacted.
    """
    from geosuff.analysis import distance
    from geosuff.inputs import codes
    from geosuff.inputs import dfe_stats as ds

    names: set[str] = {distance.CATEGORY_NEAR, distance.CATEGORY_FAR, distance.CATEGORY_UNKNOWN}
    names |= {str(v) for k, v in vars(ds).items() if k.isupper() and isinstance(v, str)}
    for frame, cols in (
        (codes.placement_codes(), ("code", "description", "group", "dfe_group")),
        (codes.placement_groups(), ("group", "label")),
        (codes.site_types(), ("type", "label")),
    ):
        for c in cols:
            if c in frame:
                names |= {str(x) for x in frame[c].dropna()}
    return frozenset(" ".join(x.upper().split()) for x in names if x.strip())


def _redact_quoted(m: re.Match[str]) -> str:
    inner = " ".join(m.group()[1:-1].split())
    if inner and (inner.upper() in published_labels() or _CATEGORY_RE.fullmatch(inner)):
        return m.group()
    return REDACTED


_TOKEN_RE = re.compile(r"[A-Z0-9]+")


class ForbiddenStrings:
    """A set of strings that may not be published (child ids, postcodes, grid references),
    matched in linear time: as whole tokens, or two tokens with white space between (a postcode
    written "LE15 6AB"), case-insensitively; strings with other characters by substring search.

    Checking tens of thousands of strings against a published file one by one is quadratic; a
    council's cohort needs this to be linear in the text.
    """

    def __init__(self, forbidden: Iterable[str], *, min_len: int = 1) -> None:
        self.tokens: set[str] = set()
        self.other: list[str] = []
        for f in forbidden:
            u = " ".join(str(f).upper().split())
            if len(u) < min_len or not u:
                continue
            parts = u.split(" ")
            if len(parts) <= 2 and all(_TOKEN_RE.fullmatch(p) for p in parts):
                self.tokens.add(u)
            else:
                self.other.append(u)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, string) of every forbidden string in ``text``, longest first where they
        overlap."""
        up = text.upper()
        toks = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(up)]
        found: list[tuple[int, int, str]] = []
        for i, (a, b, t) in enumerate(toks):
            if i + 1 < len(toks):
                a2, b2, t2 = toks[i + 1]
                if up[b:a2].isspace() and f"{t} {t2}" in self.tokens:
                    found.append((a, b2, f"{t} {t2}"))
            if t in self.tokens:
                found.append((a, b, t))
        for o in self.other:
            start = up.find(o)
            while start >= 0:
                found.append((start, start + len(o), o))
                start = up.find(o, start + 1)
        found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
        out: list[tuple[int, int, str]] = []
        end = -1
        for a, b, t in found:
            if a >= end:
                out.append((a, b, t))
                end = b
        return out

    def found(self, text: str) -> list[str]:
        """The forbidden strings present in ``text`` (each once)."""
        return sorted({t for _, _, t in self.spans(text)})

    def redact(self, text: str) -> str:
        pieces, last = [], 0
        for a, b, _ in self.spans(text):
            pieces.append(text[last:a])
            pieces.append(REDACTED)
            last = b
        pieces.append(text[last:])
        return "".join(pieces)


def redact_text(text: Any, forbidden: Iterable[str] | ForbiddenStrings = ()) -> str:
    """Text with postcodes, quoted values, coordinates, long numbers and ``forbidden`` strings
    replaced by ``[withheld]`` (for problems and reasons written to published files). A quoted
    value that is a DfE category or a code-list name (:func:`published_labels`) is kept."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ""
    s = str(text)
    matcher = (
        forbidden
        if isinstance(forbidden, ForbiddenStrings)
        else ForbiddenStrings(forbidden, min_len=3)
    )
    s = matcher.redact(s)
    s = _QUOTED_RE.sub(_redact_quoted, s)
    s = _POSTCODE_TEXT_RE.sub(REDACTED, s)
    s = _DISTRICT_RE.sub(r"\1 " + REDACTED, s)
    s = _COORD_PAIR_RE.sub(REDACTED, s)
    s = _BIG_NUMBER_RE.sub(REDACTED, s)
    return s


def redact_issues(issues: pd.DataFrame, forbidden: Iterable[str] = ()) -> pd.DataFrame:
    """A publishable copy of a validation issues table: no ``value`` column, values taken out of
    ``problem`` (see :func:`redact_text`). Row numbers and column names are kept."""
    out = issues.drop(columns=[c for c in ("value",) if c in issues.columns]).copy()
    forb = ForbiddenStrings(forbidden, min_len=3)
    if "problem" in out:
        out["problem"] = [redact_text(p, forb) for p in out["problem"]]
    if "column" in out:
        out["column"] = [
            ("" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c))
            for c in out["column"]
        ]
    return out


def redact_reconciliation(rec: pd.DataFrame, forbidden: Iterable[str] = ()) -> pd.DataFrame:
    """A publishable copy of the reconciliation: no ``id`` column (child ids are never published),
    values taken out of ``reason``."""
    out = rec.drop(columns=[c for c in ("id",) if c in rec.columns]).copy()
    forb = ForbiddenStrings(forbidden, min_len=3)
    if "reason" in out:
        out["reason"] = [redact_text(r, forb) for r in out["reason"]]
    return out


# ----------------------------------------------------------------------------------------------
# Checks on written files
# ----------------------------------------------------------------------------------------------
def sensitive_site_rows(sites: pd.DataFrame) -> np.ndarray:
    """Which sites' exact locations are never published (children live there): boolean array,
    one per row. Fails closed: a type not in ``site_types.csv`` (or missing) counts as sensitive,
    as does every row of a table without a ``type`` column."""
    if "type" not in sites:
        return np.ones(len(sites), dtype=bool)
    return np.array(
        [is_sensitive_site_type(t) for t in sites["type"].astype(str)], dtype=bool
    ).reshape(len(sites))


def personal_strings(
    placements: pd.DataFrame,
    *,
    sites: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    extra: Iterable[str] = (),
) -> list[str]:
    """Strings that must not appear in published files: child ids, home/placement postcodes and
    their grid references (as the pair ``"E N"``, never a lone easting or northing); with ``sites``, the postcodes of homes and foster clusters; with
    ``candidates``, the candidate properties' postcodes."""
    out: set[str] = set(extra)
    for col in ("CHILD",):
        if col in placements:
            out |= {str(v) for v in placements[col].dropna() if len(str(v)) >= 4}
    for col in ("HOME_POST", "PL_POST"):
        if col in placements:
            for v in placements[col].dropna():
                v = str(v).strip()
                if v:
                    out.add(v)
                    out.add(v.replace(" ", ""))
    # Grid references only as the pair "E N": a lone easting or northing is just a number
    # (southern councils' northings, 100 000-300 000, are also property costs, distances and
    # counts). Pairs written any other way are found by the point check
    # (:func:`personal_points` with :func:`check_published_file`).
    for e, n in (("home_e", "home_n"), ("pl_e", "pl_n")):
        if e in placements and n in placements:
            pts = placements[[e, n]].apply(pd.to_numeric, errors="coerce").dropna().to_numpy()
            for x, y in pts:
                out.add(f"{x:.0f} {y:.0f}")
    for frame, only_sensitive in ((sites, True), (candidates, False)):
        if frame is None or "postcode" not in frame:
            continue
        sel = frame
        if only_sensitive:
            sel = frame[sensitive_site_rows(frame)]
        for v in sel["postcode"].dropna():
            v = str(v).strip()
            if v and v.upper() not in {"<NA>", "NAN"}:
                out.add(v)
                out.add(v.replace(" ", ""))
    return sorted(s for s in out if s)


def personal_points(placements: pd.DataFrame, *, sites: pd.DataFrame | None = None) -> np.ndarray:
    """Points (EPSG:27700, shape (n, 2)) that must never be published exactly: children's homes,
    placements (carers' homes) and, with ``sites``, children's homes and foster clusters."""
    parts = []
    for e, n in (("home_e", "home_n"), ("pl_e", "pl_n")):
        if e in placements and n in placements:
            parts.append(
                placements[[e, n]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
            )
    if sites is not None and {"easting", "northing"} <= set(sites.columns):
        sel = sites[sensitive_site_rows(sites)]
        parts.append(
            sel[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        )
    if not parts:
        return np.empty((0, 2))
    pts = np.vstack(parts)
    pts = pts[np.isfinite(pts).all(axis=1)]
    return np.unique(pts, axis=0) if len(pts) else np.empty((0, 2))


_FLOAT_RE = re.compile(r"-?\d+(?:\.\d+)?")
#: Rows with more numbers than this are checked for adjacent pairs only (all pairs is quadratic).
_MAX_ROW_NUMBERS = 200


def _decimals(tokens: Sequence[str]) -> np.ndarray:
    return np.array([len(t.split(".", 1)[1]) if "." in t else 0 for t in tokens], dtype=np.int64)


def _pairs_to_bng(a: np.ndarray, b: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """Candidate points (EPSG:27700) from ordered number pairs ``(a[i], b[i])``: (lat, lon) or
    (lon, lat) in the UK (where ``fine``), easting/northing or northing/easting."""
    out = []
    latlon = fine & (a >= 49) & (a <= 61.5) & (b >= -9) & (b <= 2.5)
    lonlat = fine & (a >= -9) & (a <= 2.5) & (b >= 49) & (b <= 61.5)
    if latlon.any() or lonlat.any():
        from pyproj import Transformer

        to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
        if latlon.any():
            x, y = to_bng.transform(b[latlon], a[latlon])
            out.append(np.c_[x, y])
        if lonlat.any():
            x, y = to_bng.transform(a[lonlat], b[lonlat])
            out.append(np.c_[x, y])
    en = (a >= 1000) & (a <= 700_000) & (b >= 1000) & (b <= 1_300_000)
    if en.any():
        out.append(np.c_[a[en], b[en]])
    ne = (b >= 1000) & (b <= 700_000) & (a >= 1000) & (a <= 1_300_000)
    if ne.any():
        out.append(np.c_[b[ne], a[ne]])
    return np.vstack(out) if out else np.empty((0, 2))


def _points_in_text(text: str, *, min_decimals: int = 0) -> np.ndarray:
    """Candidate points (EPSG:27700) written in a text: consecutive number pairs that look like
    (lat, lon), (lon, lat) in the UK, or easting/northing (either order). With
    ``min_decimals``, degree pairs need at least that many decimals (geosuff rounds every
    published lon/lat to :data:`geosuff.maps.COORD_DECIMALS`, so finer ones can only be a leak).

    A point is always a *pair*: a lone number equal to a child's easting or northing is not a
    location."""
    toks = _FLOAT_RE.findall(text)
    if len(toks) < 2:
        return np.empty((0, 2))
    nums = np.array([float(x) for x in toks], dtype=float)
    a, b = nums[:-1], nums[1:]
    if min_decimals:
        dec = _decimals(toks)
        fine = (dec[:-1] >= min_decimals) & (dec[1:] >= min_decimals)
    else:
        fine = np.ones(a.size, dtype=bool)
    return _pairs_to_bng(a, b, fine)


def _points_in_rows(rows: Iterable[Sequence[Any]], *, min_decimals: int = 0) -> np.ndarray:
    """Candidate points (EPSG:27700) in the rows of a table: every ordered pair of numbers in the
    same row (any two columns, or two numbers in one cell such as ``"POINT (E N)"``), read as
    in :func:`_points_in_text`. Numbers in different rows are never paired."""
    aa, bb, ff = [], [], []
    for row in rows:
        toks = [t for cell in row if cell is not None for t in _FLOAT_RE.findall(str(cell))]
        if len(toks) < 2:
            continue
        nums = np.array([float(x) for x in toks], dtype=float)
        if len(nums) > _MAX_ROW_NUMBERS:
            i, j = np.arange(len(nums) - 1), np.arange(1, len(nums))
        else:
            i, j = np.nonzero(~np.eye(len(nums), dtype=bool))
        aa.append(nums[i])
        bb.append(nums[j])
        if min_decimals:
            dec = _decimals(toks)
            ff.append((dec[i] >= min_decimals) & (dec[j] >= min_decimals))
        else:
            ff.append(np.ones(i.size, dtype=bool))
    if not aa:
        return np.empty((0, 2))
    return _pairs_to_bng(np.concatenate(aa), np.concatenate(bb), np.concatenate(ff))


def _csv_rows(text: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text)))


def _points_in_vector_file(
    path: Path, *, points_only: bool = False, min_decimals: int = 0
) -> tuple[np.ndarray, str]:
    """The coordinates (EPSG:27700) of every layer of a vector file - all vertices, or with
    ``points_only`` those of point features only - plus number pairs in the same attribute row
    (:func:`_points_in_rows`), and the attribute text."""
    import pyogrio
    import shapely

    pts, texts = [], []
    for name, _ in pyogrio.list_layers(path):
        gdf = pyogrio.read_dataframe(path, layer=name)
        attrs = gdf.drop(columns=[c for c in ("geometry",) if c in gdf.columns])
        texts.append(attrs.astype(str).to_csv(index=False))
        if len(attrs.columns) and len(attrs):
            pts.append(
                _points_in_rows(
                    attrs.astype(str).itertuples(index=False, name=None), min_decimals=min_decimals
                )
            )
        if "geometry" in gdf and len(gdf):
            g = gdf.geometry
            if g.crs is not None and g.crs.to_epsg() != 27700:
                g = g.to_crs("EPSG:27700")
            geoms = np.asarray(g.values)
            if points_only:
                geoms = geoms[np.isin(shapely.get_type_id(geoms), [0, 4])]  # Point, MultiPoint
            pts.append(shapely.get_coordinates(geoms))
    pts = [p for p in pts if len(p)]
    return (np.vstack(pts) if pts else np.empty((0, 2))), "\n".join(texts)


def check_published_file(
    path: str | Path,
    forbidden: Iterable[str] | ForbiddenStrings,
    *,
    points: np.ndarray | None = None,
    tolerance_m: float = POINT_TOLERANCE_M,
    strict: bool = True,
) -> list[str]:
    """The personal data found in a file.

    Looks for the ``forbidden`` strings (case-insensitive; numbers as whole tokens) and, with
    ``points`` (EPSG:27700), for any coordinate *pair* within ``tolerance_m`` of one of them:
    written as lat/lon or lon/lat (web maps), as easting/northing (either order) - two adjacent
    numbers in a text, or any two numbers of the same row of a CSV or GeoPackage attribute
    table - or stored as geometry in a GeoPackage. Both coordinates must match the same point:
    a lone number that equals a child's easting or northing (a cost, a distance, a count) is
    not a location. Returns the strings found and ``"point near (E, N)"`` entries.

    ``strict=False`` (the pipeline's own last check, which must not stop a run on a chance
    coincidence) looks only at point features of vector files and at degree pairs written with 4
    or more decimals (every lon/lat geosuff publishes is rounded to 3), not at the vertices of
    catchment or area polygons, which can pass within a few metres of a home by chance.
    """
    p = Path(path)
    found: list[str] = []
    file_pts = np.empty((0, 2))
    min_dec = 0 if strict else 4
    want_points = points is not None and len(points) > 0
    if p.suffix.lower() in {".gpkg", ".shp", ".fgb"}:
        file_pts, text = _points_in_vector_file(p, points_only=not strict, min_decimals=min_dec)
    else:
        text = p.read_text(encoding="utf-8", errors="ignore")
        if p.suffix.lower() in {".html", ".htm"}:  # the report's line-break hints split words
            text = text.replace("<wbr>", "")
        if want_points:
            if (
                p.suffix.lower() == ".csv"
            ):  # pairs within a row (any two columns), never across rows
                file_pts = _points_in_rows(_csv_rows(text), min_decimals=min_dec)
            else:
                file_pts = _points_in_text(text, min_decimals=min_dec)
    matcher = forbidden if isinstance(forbidden, ForbiddenStrings) else ForbiddenStrings(forbidden)
    found += matcher.found(text)
    if want_points and len(file_pts):
        from scipy.spatial import cKDTree

        pts = np.asarray(points, dtype=float)
        tree = cKDTree(pts)
        d, k = tree.query(file_pts, distance_upper_bound=tolerance_m)
        hit = np.isfinite(d)
        for kk in np.unique(k[hit])[:20]:
            x, y = pts[kk]
            found.append(f"point near ({x:.0f}, {y:.0f})")
    return found


def assert_publishable(
    paths: Iterable[str | Path],
    forbidden: Iterable[str] | ForbiddenStrings,
    *,
    points: np.ndarray | None = None,
    tolerance_m: float = POINT_TOLERANCE_M,
    strict: bool = True,
) -> None:
    """Raise :class:`DisclosureError` if any published file contains personal data (see
    :func:`check_published_file`). The message names files, never the data found."""
    forb = forbidden if isinstance(forbidden, ForbiddenStrings) else ForbiddenStrings(forbidden)
    problems: dict[str, int] = {}
    for p in paths:
        hits = check_published_file(p, forb, points=points, tolerance_m=tolerance_m, strict=strict)
        if hits:
            problems[Path(p).name] = len(hits)
    if problems:
        raise DisclosureError(
            "Published outputs would contain child-level data (ids, postcodes or points): "
            + "; ".join(f"{k}: {v} item(s)" for k, v in problems.items())
            + ".",
            fix="This is a bug in geosuff - please report it; do not publish these files.",
        )


def safe_value(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
