"""Children looked after projected ahead: a log-linear trend of each year's count.

For each series (all children, each placement group, each home district) the counts ``c_t`` of
the 31 March snapshots (:mod:`geosuff.analysis.trend`) are fitted by least squares as
``log c_t = a + b t``; the projection ``h`` years after the last year is
``exp(a + b (T + h)) * (1 + g)^h``, where ``g`` is the annual child-population growth
(``[analysis] child_population_growth``, default 0: no growth series is shipped). The 80% and 95%
prediction intervals are the usual ones of the regression,
``exp(fit +- t_{n-2} * s * sqrt(1 + 1/n + (t - mean)^2 / Sxx))`` (Student's t with n - 2 degrees of
freedom), so they need three or more years; a series with a year of 0 children is fitted on
``log(c + 0.5)`` (and 0.5 taken off again). With fewer than two years there is no trend: the
projection is the current count times the population growth, with no interval.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

logger = logging.getLogger(__name__)

#: Prediction-interval levels (shares) of the projection table.
INTERVAL_LEVELS: tuple[float, ...] = (0.80, 0.95)
#: Columns of ``tables/projection.csv``, in order.
PROJECTION_COLUMNS: tuple[str, ...] = (
    "breakdown",
    "group",
    "base_year",
    "base_count",
    "year",
    "projected",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
    "annual_change_pct",
    "years_fitted",
)
#: Breakdowns projected (``home_district`` when the children's home districts are known).
PROJECTION_BREAKDOWNS: tuple[str, ...] = ("all", "place_group", "home_district")


@dataclass(frozen=True)
class Fit:
    """A log-linear fit of one series and its projections.

    Attributes
    ----------
    rate : float
        Fitted annual growth factor minus 1 (0.05: 5% a year), without population growth;
        NaN with fewer than two years.
    years : tuple of int
        Years projected.
    projected : ndarray
        Children projected each year (population growth included).
    lower, upper : dict of float to ndarray
        Prediction interval bounds by level (NaN with fewer than three years).
    n_years : int
        Years fitted.
    """

    rate: float
    years: tuple[int, ...]
    projected: np.ndarray
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    n_years: int


def fit_log_linear(
    years: Sequence[int],
    counts: Sequence[float],
    *,
    horizon: int,
    growth: float = 0.0,
    levels: Sequence[float] = INTERVAL_LEVELS,
) -> Fit:
    """Fit ``log count = a + b year`` and project ``1..horizon`` years after the last year.

    Parameters
    ----------
    years : sequence of int
        Snapshot years (ascending or not).
    counts : sequence of float
        Children at each year's 31 March (>= 0).
    horizon : int
        Years ahead of the last year.
    growth : float
        Annual child-population growth applied on top (0.01 = 1% a year).
    levels : sequence of float
        Prediction-interval levels.

    Returns
    -------
    Fit
    """
    y = np.asarray(years, dtype=float)
    c = np.asarray(counts, dtype=float)
    order = np.argsort(y)
    y, c = y[order], c[order]
    n = y.size
    last = int(y[-1]) if n else 0
    ahead = tuple(last + h for h in range(1, horizon + 1))
    pop = (1.0 + growth) ** np.arange(1, horizon + 1, dtype=float)
    nan = np.full(horizon, np.nan)
    if n < 2 or np.ptp(y) == 0:
        base = float(c[-1]) if n else math.nan
        return Fit(
            math.nan, ahead, base * pop, {lv: nan for lv in levels}, {lv: nan for lv in levels}, n
        )
    shift = 0.5 if (c <= 0).any() else 0.0
    ly = np.log(c + shift)
    ym = y.mean()
    sxx = float(((y - ym) ** 2).sum())
    b = float(((y - ym) * (ly - ly.mean())).sum() / sxx)
    a = float(ly.mean() - b * ym)
    t = np.asarray(ahead, dtype=float)
    fit = a + b * t
    proj = np.maximum(np.exp(fit) - shift, 0.0) * pop
    lower: dict[float, np.ndarray] = {}
    upper: dict[float, np.ndarray] = {}
    for lv in levels:
        if n < 3:
            lower[lv], upper[lv] = nan, nan
            continue
        resid = ly - (a + b * y)
        s = math.sqrt(float((resid**2).sum()) / (n - 2))
        se = s * np.sqrt(1.0 + 1.0 / n + (t - ym) ** 2 / sxx)
        q = float(stats.t.ppf(0.5 + lv / 2.0, n - 2))
        lower[lv] = np.maximum(np.exp(fit - q * se) - shift, 0.0) * pop
        upper[lv] = np.maximum(np.exp(fit + q * se) - shift, 0.0) * pop
    return Fit(math.exp(b) - 1.0, ahead, proj, lower, upper, n)


def series_counts(frame: pd.DataFrame) -> dict[tuple[str, str], dict[int, int]]:
    """Children by (breakdown, group) and year from a trend frame (one row per child and year).

    Parameters
    ----------
    frame : DataFrame
        :attr:`geosuff.analysis.trend.TrendRecords.frame` (``year``, ``place_group`` and, when
        known, ``home_district``; "" = not known, not projected).
    """
    out: dict[tuple[str, str], dict[int, int]] = {}
    years = sorted({int(v) for v in frame["year"]})
    out[("all", "all")] = {y: int((frame["year"] == y).sum()) for y in years}
    for breakdown, col in (("place_group", "place_group"), ("home_district", "home_district")):
        if col not in frame.columns:
            continue
        vals = frame[col].fillna("").astype(str)
        for g in sorted(set(vals) - {""}):
            sel = vals == g
            out[(breakdown, g)] = {y: int((sel & (frame["year"] == y)).sum()) for y in years}
    return out


def projection_table(frame: pd.DataFrame, *, horizon: int, growth: float = 0.0) -> pd.DataFrame:
    """The raw projection: :data:`PROJECTION_COLUMNS`, one row per series and year ahead.

    ``base_year``/``base_count`` are the last snapshot; projected figures and intervals are
    unrounded (publication rounds them); ``annual_change_pct`` is the fitted trend (% a year).
    """
    rows = []
    for (breakdown, group), by_year in series_counts(frame).items():
        ys = sorted(by_year)
        f = fit_log_linear(ys, [by_year[y] for y in ys], horizon=horizon, growth=growth)
        for i, yr in enumerate(f.years):
            rows.append(
                (
                    breakdown,
                    group,
                    ys[-1],
                    by_year[ys[-1]],
                    yr,
                    float(f.projected[i]),
                    float(f.lower[0.80][i]),
                    float(f.upper[0.80][i]),
                    float(f.lower[0.95][i]),
                    float(f.upper[0.95][i]),
                    100.0 * f.rate,
                    f.n_years,
                )
            )
    return pd.DataFrame(rows, columns=list(PROJECTION_COLUMNS))


def demand_ratio(table: pd.DataFrame) -> dict[str, float]:
    """Projected / current children of each placement group at the last year projected.

    The factor ``[siting] demand = "projected"`` scales each far-placed child's weight by; 1
    where the group has no children now.
    """
    if table is None or len(table) == 0:
        return {}
    t = table[table["breakdown"] == "place_group"]
    if len(t) == 0:
        return {}
    last = t[t["year"] == t["year"].max()]
    out = {}
    for g, base, proj in zip(last["group"], last["base_count"], last["projected"], strict=True):
        out[str(g)] = float(proj) / float(base) if float(base) > 0 else 1.0
    return out


def scale_weights(need: Sequence[str], ratio: Mapping[str, float]) -> np.ndarray:
    """Demand weights: each row's ratio by need (1 for a need not projected)."""
    return np.array([float(ratio.get(str(n), 1.0)) for n in need], dtype=float)
