"""Figures of ``tables/care_leavers.csv`` and ``tables/projection.csv``.

Care leavers are records of their own in the ledger (added after the run's children, so the
siting's care-leaver demand rows point at them): every cell of the care-leavers table is
registered with its young people, each measure's categories as a block with its total, so no
withheld cell can be worked out from the totals, the age bands or other tables.

The projection's base counts are registered too; a projected figure is published rounded to the
nearest :data:`PROJECTION_ROUND_TO`, and only for a series whose every year counts at least
``min_count`` children and whose base count is shown (else ``"c"``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geosuff.analysis import care_leavers as cl
from geosuff.analysis import projection as pj
from geosuff.publication.ledger.core import SUPPRESSED, Ledger, Published

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

TABLE = "care_leavers"
PROJECTION_TABLE = "projection"
#: Projected figures (children) are published rounded to this.
PROJECTION_ROUND_TO = 5
#: Ledger key of the first care-leaver record (see :func:`add_leaver_records`).
START_KEY = "care_leavers_start"


def add_leaver_records(led: Ledger, results: Results) -> None:
    """Add one ledger record per care-leaver row (right after the run's own records)."""
    t = results.care_leavers
    if t is None or len(t) == 0:
        return
    start = led.add_records(len(t))
    if start != len(results.measures):
        raise RuntimeError("care-leaver records must follow the run's own records")
    led.row_positions["care_leavers"] = {
        int(r): start + i for i, r in enumerate(pd.to_numeric(t["row"]).to_numpy())
    }
    led.row_positions[START_KEY] = {0: start}


def register_care_leavers(led: Ledger, results: Results) -> list[Any] | None:
    """Register every cell of the care-leavers table (a block per age band and measure)."""
    t = results.care_leavers
    if t is None or len(t) == 0 or START_KEY not in led.row_positions:
        return None
    start = led.row_positions[START_KEY][0]
    a = results.scenario.analysis
    blocks = cl.care_leaver_blocks(
        t.reset_index(drop=True),
        min_age=a.care_leaver_min_age,
        max_age=a.care_leaver_max_age,
        far_miles=a.far_miles,
    )
    out = []
    for b in blocks:
        label = f"{b.age_band} {b.measure}"
        cells, totals = led.block(
            f"{TABLE}:{b.measure}",
            [[start + np.flatnonzero(c) for c in b.cells]],
            [start + np.flatnonzero(b.total)],
            labels=[label],
        )
        out.append((b, cells[0], totals[0]))
    return out


def fill_care_leavers(
    pub: Published, led: Ledger, items: list[Any] | None, results: Results
) -> None:
    """``pub.care_leavers`` from the solved ledger (counts or ``"c"``, percent 1 dp)."""
    if items is None:
        return
    far = results.scenario.analysis.far_miles
    rows = []
    for b, hs, ht in items:
        for c, h in zip(b.categories, hs, strict=True):
            rows.append(
                {
                    "age_band": b.age_band,
                    "measure": b.measure,
                    "category": cl.distance_label(c, far),
                    "count": led.text(h),
                    "denominator": led.text(ht),
                    "percent": led.percent(h, ht),
                }
            )
    pub.care_leavers = pd.DataFrame(rows, columns=list(cl.CARE_LEAVER_TABLE_COLUMNS))


def _series_masks(results: Results) -> dict[tuple[str, str], np.ndarray]:
    """Trend-frame masks of each projected series' base year (last snapshot)."""
    rec = results.trend_records
    if rec is None or len(rec.frame) == 0:
        return {}
    f = rec.frame
    base = f["year"].to_numpy() == max(rec.years)
    out = {("all", "all"): base}
    for breakdown in ("place_group", "home_district"):
        if breakdown in f.columns:
            v = f[breakdown].fillna("").astype(str).to_numpy()
            for g in sorted(set(v[base]) - {""}):
                out[(breakdown, g)] = base & (v == g)
    return out


def register_projection(led: Ledger, results: Results, positions: np.ndarray | None) -> Any:
    """Register the base count of every projected series (``positions``: the trend rows'
    ledger records, from :func:`geosuff.publication.ledger.trend.record_positions`).
    """
    p = results.projection
    if p is None or len(p) == 0 or positions is None:
        return None
    handles = {}
    for key, mask in _series_masks(results).items():
        handles[key] = led.add(
            positions[mask], table=PROJECTION_TABLE, label=f"{key[0]} {key[1]} base"
        )
    return handles


def _rounded(v: float) -> str:
    if not np.isfinite(v):
        return ":"
    return str(int(PROJECTION_ROUND_TO * round(float(v) / PROJECTION_ROUND_TO)))


def fill_projection(pub: Published, led: Ledger, handles: Any, results: Results) -> None:
    """``pub.projection``: base counts from the ledger, projected figures rounded or ``"c"``."""
    p = results.projection
    if p is None or handles is None:
        return
    counts = pj.series_counts(results.trend_records.frame) if results.trend_records else {}
    mc = led.min_count
    rows = []
    for r in p.itertuples(index=False):
        key = (str(r.breakdown), str(r.group))
        h = handles.get(key)
        by_year = counts.get(key, {})
        ok = h is not None and led.shown(h) and all(v >= mc for v in by_year.values())
        row = {
            "breakdown": r.breakdown,
            "group": r.group,
            "base_year": int(r.base_year),
            "base_count": led.text(h) if h is not None else SUPPRESSED,
            "year": int(r.year),
        }
        for col in ("projected", "lower_80", "upper_80", "lower_95", "upper_95"):
            row[col] = _rounded(getattr(r, col)) if ok else SUPPRESSED
        row["annual_change_pct"] = (
            f"{r.annual_change_pct:.1f}"
            if ok and np.isfinite(r.annual_change_pct)
            else ("" if ok else SUPPRESSED)  # "": no trend (one year)
        )
        row["years_fitted"] = int(r.years_fitted)
        rows.append(row)
    pub.projection = pd.DataFrame(rows, columns=list(pj.PROJECTION_COLUMNS))
