"""Disclosure control for every publishable output (maps, reports, published CSVs).

Rules (following the DfE/ONS practice for children-looked-after statistics):

* counts from 1 to ``min_count - 1`` are shown as ``"c"`` (primary suppression); 0 is shown;
* secondary suppression: in any row or column with a published total, a lone suppressed cell is
  joined by the next-smallest non-zero cell so that it cannot be recovered by subtraction;
* percentages are withheld (``"c"``) where the numerator or the base is suppressed;
* child locations are published only as aggregates (areas, bands); carers' and homes' addresses
  never; child ids never.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import DisclosureError

SUPPRESSED = "c"
DEFAULT_MIN_COUNT = 5


def suppress_matrix(counts: np.ndarray, *, min_count: int = DEFAULT_MIN_COUNT, row_totals: bool = True, col_totals: bool = True) -> np.ndarray:
    """Boolean mask of cells to suppress in a 2-D table of counts.

    Primary: ``0 < count < min_count``. Secondary: while any row (if its total is published) or
    column (likewise) has exactly one suppressed cell, also suppress its smallest other non-zero
    cell (ties broken by position). The result never leaves a single suppressed cell in a row or
    column whose total is published, so no cell is recoverable by subtraction from that line.
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim == 1:
        c = c[None, :]
        col_totals = False
    mask = (c > 0) & (c < min_count)
    changed = True
    while changed:
        changed = False
        lines: list[tuple[int, int]] = []
        if row_totals:
            lines += [(0, i) for i in range(c.shape[0])]
        if col_totals:
            lines += [(1, j) for j in range(c.shape[1])]
        for axis, k in lines:
            m = mask[k, :] if axis == 0 else mask[:, k]
            v = c[k, :] if axis == 0 else c[:, k]
            if m.sum() == 1:
                cand = np.flatnonzero(~m & (v > 0))
                if cand.size == 0:
                    # only zeros left: the suppressed cell equals the total; suppress the total's
                    # line entirely is not possible here, so suppress a zero cell (can't tell 0)
                    cand = np.flatnonzero(~m)
                    if cand.size == 0:
                        continue
                j = cand[np.argmin(v[cand])]
                if axis == 0:
                    mask[k, j] = True
                else:
                    mask[j, k] = True
                changed = True
    return mask


def total_suppressed(counts: np.ndarray, mask: np.ndarray, *, min_count: int = DEFAULT_MIN_COUNT) -> bool:
    """Whether a total of ``counts`` must itself be suppressed (it is small)."""
    t = float(np.nansum(counts))
    return 0 < t < min_count


def publish_counts(df: pd.DataFrame, count_cols: Sequence[str], *, min_count: int = DEFAULT_MIN_COUNT, total_col: str | None = None, total_row: bool = False) -> pd.DataFrame:
    """A copy of ``df`` with ``count_cols`` suppressed for publication (values become str).

    ``total_col`` names a column holding each row's total (published, itself suppressed if
    small); ``total_row`` says the table has a published column total (the last row is then a
    total row if its first column says "Total", else totals are implied).
    """
    out = df.copy()
    vals = df[list(count_cols)].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(dtype=float)
    body = np.ones(len(df), dtype=bool)
    first = df.columns[0]
    if total_row and len(df) and str(df[first].iloc[-1]).lower().startswith("total"):
        body[-1] = False
    mask = np.zeros_like(vals, dtype=bool)
    mask[body] = suppress_matrix(vals[body], min_count=min_count, row_totals=total_col is not None or len(count_cols) > 1, col_totals=total_row)
    # a total row: suppress its cells that are small
    if not body.all():
        t = vals[~body]
        mask[~body] = (t > 0) & (t < min_count)
    for j, col in enumerate(count_cols):
        out[col] = [SUPPRESSED if mask[i, j] else _fmt_int(vals[i, j]) for i in range(len(df))]
    if total_col is not None:
        tv = pd.to_numeric(df[total_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        out[total_col] = [SUPPRESSED if 0 < t < min_count else _fmt_int(t) for t in tv]
    return out


def _fmt_int(v: float) -> str:
    return str(int(round(v)))


def publish_count(n: float | int, *, min_count: int = DEFAULT_MIN_COUNT) -> str:
    """One count for publication: ``"c"`` when ``0 < n < min_count``."""
    if n is None or (isinstance(n, float) and np.isnan(n)):
        return ":"
    return SUPPRESSED if 0 < n < min_count else _fmt_int(float(n))


def publish_percent(num: float, den: float, *, min_count: int = DEFAULT_MIN_COUNT, digits: int = 0, num_suppressed: bool = False) -> str:
    """A percentage for publication; withheld (``"c"``) where numerator or base is suppressed."""
    if den is None or den == 0 or (isinstance(den, float) and np.isnan(den)):
        return ":"
    if num_suppressed or 0 < den < min_count or 0 < num < min_count:
        return SUPPRESSED
    return f"{100.0 * num / den:.{digits}f}%"


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
# Checks on written files
# ----------------------------------------------------------------------------------------------
def personal_strings(placements: pd.DataFrame, *, extra: Iterable[str] = ()) -> list[str]:
    """Strings that must not appear in published files: child ids, home/placement postcodes and
    their grid references."""
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
    for e, n in (("home_e", "home_n"), ("pl_e", "pl_n")):
        if e in placements:
            pts = placements[[e, n]].dropna().to_numpy()
            for x, y in pts:
                out.add(f"{x:.0f}")
                out.add(f"{y:.0f}")
    return sorted(s for s in out if s)


def check_published_file(path: str | Path, forbidden: Iterable[str]) -> list[str]:
    """The forbidden strings found in a file (case-insensitive; numbers as whole tokens)."""
    text = Path(path).read_text(encoding="utf-8", errors="ignore")
    upper = text.upper()
    found = []
    for s in forbidden:
        if re.fullmatch(r"\d+", s):
            if re.search(rf"(?<![\d.]){s}(?![\d])", text):
                found.append(s)
        elif s.upper() in upper:
            found.append(s)
    return found


def assert_publishable(paths: Iterable[str | Path], forbidden: Iterable[str]) -> None:
    """Raise :class:`DisclosureError` if any published file contains personal data."""
    forb = list(forbidden)
    problems: dict[str, list[str]] = {}
    for p in paths:
        hits = check_published_file(p, forb)
        if hits:
            problems[Path(p).name] = hits[:5]
    if problems:
        raise DisclosureError(
            "Published outputs would contain child-level data: "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items())
            + ".",
            fix="This is a bug in geosuff - please report it; do not publish these files.",
        )


def safe_value(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


# ----------------------------------------------------------------------------------------------
# Blocks of counts that partition row totals (added for the report, issue #7)
# ----------------------------------------------------------------------------------------------
def suppress_block(cells: np.ndarray, totals: np.ndarray, *, min_count: int = DEFAULT_MIN_COUNT, total_row: bool = False) -> tuple[np.ndarray, np.ndarray]:
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
        Which cells / totals to publish as ``"c"``. Rules: primary suppression of small cells and
        totals; a row whose total is suppressed is suppressed whole; no row with a published total
        keeps a single suppressed cell; with a total row, no column (nor the totals column) keeps a
        single suppressed body cell (the next smallest non-zero cell is suppressed with it; for the
        totals column, its whole row). Repeats until stable.
    """
    c = np.atleast_2d(np.asarray(cells, dtype=float))
    t = np.asarray(totals, dtype=float).reshape(-1)
    r, k = c.shape
    body = np.arange(r - 1 if total_row and r > 1 else r)
    mask = (c > 0) & (c < min_count)
    tmask = (t > 0) & (t < min_count)

    def _second(values: np.ndarray, m: np.ndarray) -> int | None:
        cand = np.flatnonzero(~m & (values > 0))
        if cand.size == 0:
            cand = np.flatnonzero(~m)
        return None if cand.size == 0 else int(cand[np.argmin(values[cand])])

    changed = True
    while changed:
        changed = False
        for i in range(r):
            if tmask[i] and not mask[i].all():
                mask[i] = True
                changed = True
        for i in range(r):
            if not tmask[i] and mask[i].sum() == 1:
                j = _second(c[i], mask[i])
                if j is not None:
                    mask[i, j] = True
                    changed = True
        if total_row and body.size < r:
            for j in range(k):
                mb = mask[body, j]
                if mb.sum() == 1:
                    bi = _second(c[body, j], mb)
                    if bi is not None:
                        mask[body[bi], j] = True
                        changed = True
            tb = tmask[body]
            if tb.sum() == 1:
                bt = _second(t[body], tb)
                if bt is not None:
                    tmask[body[bt]] = True
                    changed = True
    return mask, tmask


def publish_block(cells: np.ndarray, totals: np.ndarray, *, min_count: int = DEFAULT_MIN_COUNT, total_row: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`suppress_block` applied: string arrays of published cells and totals ("c" or the count)."""
    c = np.atleast_2d(np.asarray(cells, dtype=float))
    t = np.asarray(totals, dtype=float).reshape(-1)
    mask, tmask = suppress_block(c, t, min_count=min_count, total_row=total_row)
    cs = np.where(mask, SUPPRESSED, np.vectorize(_fmt_int, otypes=[object])(c) if c.size else c.astype(object))
    ts = np.where(tmask, SUPPRESSED, np.vectorize(_fmt_int, otypes=[object])(t) if t.size else t.astype(object))
    return cs.astype(object), ts.astype(object)
