"""Measures at each 31 March of an episodes history: the trend of far, outside-LA and local placements.

Each year's snapshot is the children whose episode is open on 31 March of that year, under 18 then
(the placements loader's snapshot rule with that reference date). This module works on the
per-year placement measures (arrays and frames only; the pipeline loads and measures each year).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geosuff.reference import (
    SECTOR_EXTERNAL as EXTERNAL,
)
from geosuff.reference import (
    SECTOR_IN_HOUSE,
    SECTOR_PARENT,
    needs,
)
from geosuff.reference import (
    SECTOR_NOT_KNOWN as NOT_KNOWN,
)

logger = logging.getLogger(__name__)


#: Columns of the trend table, in order.
TREND_COLUMNS: tuple[str, ...] = (
    "year",
    "measure",
    "breakdown",
    "group",
    "count",
    "denominator",
    "percent",
)
#: Measures of the trend (booleans per child): placed more than ``far_miles`` (straight line),
#: placed outside the council, placed within ``local_minutes`` (road or estimated travel time).
TREND_MEASURES: tuple[str, ...] = ("far", "outside_la", "within_local_minutes")
#: Breakdowns: every child, children who are not UASC, each placement group; where the data
#: has them, the district and sub-area of the home, each need and disability
#: (:mod:`geosuff.analysis.subgroups`; groups "not_known" where not known).
TREND_BREAKDOWNS: tuple[str, ...] = (
    "all",
    "excluding_uasc",
    "place_group",
    "district",
    "subarea",
    "need",
    "disabled",
)
#: Optional breakdown columns of :attr:`TrendRecords.frame` (None/NA: not known).
_OPTIONAL = ("district", "subarea", "needs", "disabled")
#: Only when the placements have ``PLACE_PROVIDER``: the measure "placed with an external
#: provider" (PR2-PR5) and the breakdown by provider sector (in_house, external, parent, not_known).
PROVIDER_MEASURE = "external"
PROVIDER_BREAKDOWN = "provider"
ALL = "all"
#: Groups of the provider breakdown.
PROVIDER_SECTORS: tuple[str, ...] = (SECTOR_IN_HOUSE, EXTERNAL, SECTOR_PARENT, NOT_KNOWN)


def snapshot_date(year: int) -> dt.date:
    """The snapshot date of a year: 31 March."""
    return dt.date(int(year), 3, 31)


def snapshot_years(decom: pd.Series, dec: pd.Series, *, until: dt.date) -> list[int]:
    """Every year whose 31 March (on or before ``until``) some episode is open on.

    Parameters
    ----------
    decom, dec : Series of datetime64
        Episode start and end dates (NaT: not given; an episode without an end is open).
    until : date
        Latest snapshot date (the run's reference date).

    Returns
    -------
    list of int
        Years, ascending; only the year of ``until`` when no episode has an end date (a
        snapshot file, not a history).
    """
    start = pd.to_datetime(decom, errors="coerce")
    end = pd.to_datetime(dec, errors="coerce")
    last = until.year if until >= snapshot_date(until.year) else until.year - 1
    if not end.notna().any() or not start.notna().any():
        return [last]
    first = int(start.min().year)
    years = []
    for y in range(first, last + 1):
        d = pd.Timestamp(snapshot_date(y))
        if bool(((start <= d) & (end.isna() | (end > d))).any()):
            years.append(y)
    return years or [last]


@dataclass(frozen=True)
class TrendRecords:
    """The children of every year's snapshot, one row per child and year.

    Attributes
    ----------
    frame : DataFrame
        ``year`` (int), ``row`` (input row, int), ``far``, ``outside_la``,
        ``within_local_minutes``, ``uasc`` (bool; False where not known), ``place_group`` and
        ``home_district`` (lower-tier LA of the home; "" where not known).
    minutes_years : tuple of int
        Years whose every child has a travel time: ``within_local_minutes`` is measured only
        for these.
    reference_year : int or None
        The year whose snapshot is the run's own (its reference date is that 31 March): its
        rows are the same children as the run's measures.
    """

    frame: pd.DataFrame
    minutes_years: tuple[int, ...]
    reference_year: int | None = None

    @property
    def years(self) -> list[int]:
        """The years, ascending."""
        return sorted({int(y) for y in self.frame["year"]})

    @property
    def has_providers(self) -> bool:
        """True when some child has a known provider sector (``PLACE_PROVIDER`` given)."""
        f = self.frame
        return "provider_sector" in f.columns and bool((f["provider_sector"] != NOT_KNOWN).any())


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    out: np.ndarray = pd.array(df[col], dtype="boolean").fillna(False).to_numpy(dtype=bool)
    return out


def year_records(measures: pd.DataFrame, year: int, *, local_minutes: float) -> pd.DataFrame:
    """One year's counted children (``status`` not excluded) with the trend's booleans.

    Parameters
    ----------
    measures : DataFrame
        Placement measures of the year's snapshot (:func:`geosuff.analysis.distance.placement_measures`
        on the placements loaded with reference date 31 March of ``year``, plus ``status``).
    year : int
        The snapshot year.
    local_minutes : float
        Travel-time line (minutes).

    Returns
    -------
    DataFrame
        Columns of :attr:`TrendRecords.frame` plus ``minutes_known`` (bool).
    """
    m = measures
    if "status" in m.columns:
        m = m[m["status"].astype(str) != "excluded"]
    mins = pd.to_numeric(m.get("road_minutes", pd.Series(np.nan, index=m.index)), errors="coerce")
    mins_a = mins.to_numpy(dtype=float)
    inside = pd.array(m["inside_la"], dtype="boolean")
    return pd.DataFrame(
        {
            "year": int(year),
            "row": pd.to_numeric(m["row"]).to_numpy(dtype=np.int64),
            "far": _bool(m, "far"),
            "outside_la": (inside == False).fillna(False).to_numpy(dtype=bool),  # noqa: E712
            "within_local_minutes": np.isfinite(mins_a) & (mins_a <= local_minutes),
            "uasc": _bool(m, "uasc"),
            "place_group": m["place_group"].astype(str).to_numpy()
            if "place_group" in m
            else "unknown",
            "minutes_known": np.isfinite(mins_a),
            "provider_sector": m["provider_sector"].astype(str).to_numpy()
            if "provider_sector" in m
            else NOT_KNOWN,
            # the child's home district (lower-tier LA; "" = not known), for the projection
            "home_district": m["home_district"].fillna("").astype(str).to_numpy()
            if "home_district" in m
            else "",
            **{
                col: pd.array(m[col], dtype="boolean" if col == "disabled" else "string")
                for col in _OPTIONAL
                if col in m.columns
            },
        }
    )


def trend_records(
    by_year: Mapping[int, pd.DataFrame],
    *,
    local_minutes: float,
    routed_rows: set[int],
    reference_year: int | None = None,
) -> TrendRecords:
    """The children of every year, and the years whose travel times are all computed.

    Parameters
    ----------
    by_year : mapping of int to DataFrame
        Each year's placement measures (see :func:`year_records`).
    local_minutes : float
        Travel-time line (minutes).
    routed_rows : set of int
        Input rows the run computed travel times for (the reference snapshot's): a year with
        a child outside them has no ``within_local_minutes``.
    reference_year : int, optional
        See :attr:`TrendRecords.reference_year`.

    Returns
    -------
    TrendRecords
    """
    frames = [year_records(m, y, local_minutes=local_minutes) for y, m in sorted(by_year.items())]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["year", "row"])
    minutes_years = []
    for y, f in zip(sorted(by_year), frames, strict=True):
        if len(f) and f["row"].isin(routed_rows).all():
            minutes_years.append(int(y))
        elif len(f):
            logger.info("trend %d: travel times not computed for every child; not measured", y)
    return TrendRecords(
        frame=df.drop(columns="minutes_known", errors="ignore"),
        minutes_years=tuple(minutes_years),
        reference_year=reference_year,
    )


@dataclass(frozen=True)
class TrendCell:
    """One row of the trend: the children counted and the children of its base (masks).

    Attributes
    ----------
    year : int
    measure, breakdown, group : str
    count, denominator : ndarray of bool
        Masks over :attr:`TrendRecords.frame` rows.
    """

    year: int
    measure: str
    breakdown: str
    group: str
    count: np.ndarray
    denominator: np.ndarray


def _groups(
    f: pd.DataFrame, year_mask: np.ndarray, *, providers: tuple[str, ...] = ()
) -> Iterator[tuple[str, str, np.ndarray]]:
    yield "all", ALL, year_mask
    yield "excluding_uasc", ALL, year_mask & ~f["uasc"].to_numpy(dtype=bool)
    pg = f["place_group"].astype(str).to_numpy()
    for g in sorted(set(pg[year_mask])):
        yield "place_group", g, year_mask & (pg == g)
    if providers:
        sec = f["provider_sector"].astype(str).to_numpy()
        for s in providers:
            yield PROVIDER_BREAKDOWN, s, year_mask & (sec == s)
    yield from _optional_groups(f, year_mask)


def _optional_groups(
    f: pd.DataFrame, year_mask: np.ndarray
) -> Iterator[tuple[str, str, np.ndarray]]:
    """District, sub-area, need and disability groups (only for columns the records have)."""
    for breakdown in ("district", "subarea"):
        if breakdown in f.columns and f[breakdown].notna().any():
            v = f[breakdown].astype("string").fillna(NOT_KNOWN).to_numpy(dtype=object)
            for g in sorted(set(v[year_mask]) - {NOT_KNOWN}) + [NOT_KNOWN]:
                sel = year_mask & (v == g)
                if sel.any() or g != NOT_KNOWN:
                    yield breakdown, str(g), sel
    if "needs" in f.columns and f["needs"].notna().any():
        text = f["needs"].astype("string").fillna("<not known>").to_numpy(dtype=object)
        sets = [set() if t in ("", "<not known>") else set(str(t).split(";")) for t in text]
        for code in needs():
            sel = year_mask & np.array([code in x for x in sets], dtype=bool)
            if sel.any():
                yield "need", code, sel
        for g, m in (("none_recorded", text == ""), (NOT_KNOWN, text == "<not known>")):
            if (year_mask & m).any():
                yield "need", g, year_mask & m
    if "disabled" in f.columns and f["disabled"].notna().any():
        d = pd.array(f["disabled"], dtype="boolean")
        known = ~d.isna()
        yes = d.fillna(False).to_numpy(dtype=bool)
        for g, m in (("disabled", yes), ("not_disabled", known & ~yes), (NOT_KNOWN, ~known)):
            if (year_mask & m).any():
                yield "disabled", g, year_mask & m


def trend_cells(records: TrendRecords) -> list[TrendCell]:
    """Every row of the trend table, as masks (years, then measures, then breakdowns)."""
    f = records.frame
    year = f["year"].to_numpy(dtype=np.int64)
    prov: tuple[str, ...] = ()
    if records.has_providers:  # the sectors some child of some year has, in a fixed order
        sec = f["provider_sector"].astype(str).to_numpy()
        prov = tuple(s for s in PROVIDER_SECTORS if (sec == s).any())
    measures = (*TREND_MEASURES, PROVIDER_MEASURE) if prov else TREND_MEASURES
    cells = []
    for y in records.years:
        ym = year == y
        for measure in measures:
            if measure == "within_local_minutes" and y not in records.minutes_years:
                continue
            if measure == PROVIDER_MEASURE:
                flag = f["provider_sector"].astype(str).to_numpy() == EXTERNAL
            else:
                flag = f[measure].to_numpy(dtype=bool)
            for breakdown, group, sel in _groups(f, ym, providers=prov):
                if measure == PROVIDER_MEASURE and breakdown == PROVIDER_BREAKDOWN:
                    continue  # the share of external placements among the external ones
                cells.append(TrendCell(y, measure, breakdown, group, sel & flag, sel))
    return cells


def trend_table(records: TrendRecords) -> pd.DataFrame:
    """The raw (unsuppressed) trend: :data:`TREND_COLUMNS`, ``percent`` 0-100 (NaN: no base).

    Parameters
    ----------
    records : TrendRecords

    Returns
    -------
    DataFrame
        One row per year, measure, breakdown and group; counts of children.
    """
    rows = []
    for c in trend_cells(records):
        n, d = int(c.count.sum()), int(c.denominator.sum())
        rows.append((c.year, c.measure, c.breakdown, c.group, n, d, 100.0 * n / d if d else np.nan))
    return pd.DataFrame(rows, columns=list(TREND_COLUMNS))
