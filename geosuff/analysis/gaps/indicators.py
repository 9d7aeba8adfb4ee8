"""Indicators: the DfE distance and inside/outside measures by breakdown, sensitivity, and the comparison with the DfE published figures."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.analysis.distance import DFE_FAR_MILES, resolve_council
from geosuff.inputs import dfe_stats as ds
from geosuff.inputs.dates import default_reference_date
from geosuff.reference import (
    AGE_BANDS,
    AGE_NOT_KNOWN,
    COUNT_BANDS,
    needs,
    placement_groups,
    site_types,
)

logger = logging.getLogger(__name__)


#: Road minutes for "within T minutes" when none is given (the config's ``local_minutes``).
DEFAULT_LOCAL_MINUTES = 30.0
#: Effective straight-line speed (km/h) of the fallback catchment estimate: a typical 1.3 road
#: detour at ~45 km/h mixed rural/urban driving is ~35 km/h "as the crow flies".
CROW_FLY_SPEED_KPH = 35.0
#: Home points this far (m) or less outside every area polygon snap to the nearest polygon.
AREA_SNAP_TOLERANCE_M = 1_000.0
#: Home points further than this (m) from every area point (representative-point areas) are not
#: assigned to an area.
AREA_POINT_MAX_M = 10_000.0

UASC_LABELS = {True: "UASC", False: "Not UASC"}
NOT_KNOWN = "Not known"
ALL_LABEL = "All children"
#: The one group of the "excluding_uasc" breakdown (children not known to be UASC, as the DfE
#: and councils publish "excluding UASC" figures; a blank UASC flag counts as not UASC).
EXCLUDING_UASC = "excluding_uasc"
EXCLUDING_UASC_LABEL = "Excluding UASC"
#: Groups of the "need" breakdown besides the ``needs.csv`` codes.
NO_NEED_RECORDED = "none_recorded"
NEED_NOT_KNOWN = "not_known"


# ----------------------------------------------------------------------------------------------
# Code lists
# ----------------------------------------------------------------------------------------------
def group_labels() -> dict[str, str]:
    """Placement-group code → label ("childrens_home" → "Children's homes (K2)"), plus unknown."""
    out = {g.group: g.label for g in placement_groups().values()}
    out["unknown"] = "Placement type not known"
    return out


def group_order() -> list[str]:
    """Placement groups in report order, then "unknown"."""
    return [*placement_groups(), "unknown"]


def site_types_serving(group: str) -> list[str]:
    """Site types that serve a placement group (``site_types.csv`` ``serves_groups``)."""
    return [t.type for t in site_types().values() if group in t.serves]


def site_type_labels() -> dict[str, str]:
    """Site type code -> its label (from ``site_types.csv``)."""
    return {t.type: t.label for t in site_types().values()}


def age_band(age: Any) -> np.ndarray:
    """DfE age band label of each age in years ("Under 1", ..., "16 and over", "Not known")."""
    a = pd.to_numeric(pd.Series(age), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = np.full(a.shape, AGE_NOT_KNOWN, dtype=object)
    for lo, hi, label in AGE_BANDS:
        out[(a >= lo) & (a < hi)] = label
    return out


def count_band(n: Any) -> np.ndarray:
    """Publication band of each count: "0", "1–4", "5–9", "10+"."""
    c = np.atleast_1d(np.asarray(n, dtype=float))
    out = np.full(c.shape, "0", dtype=object)
    for lo, hi, label in COUNT_BANDS:
        out[(c >= lo) & (c < hi)] = label
    return out


# ----------------------------------------------------------------------------------------------
# Helpers on the measures frame
# ----------------------------------------------------------------------------------------------
def _col_float(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    result: np.ndarray = pd.to_numeric(df[name], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    return result


def _col_bool(df: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(value, known) boolean arrays of a nullable boolean column."""
    if name not in df.columns:
        z = np.zeros(len(df), dtype=bool)
        return z, z.copy()
    s = df[name].astype("boolean")
    known = s.notna().to_numpy()
    return s.fillna(False).to_numpy(dtype=bool), known


def _require(measures: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in measures.columns]
    if missing:
        raise InputFileError(
            f"The measures table for {what} lacks the column(s) {', '.join(missing)}.",
            fix="Compute it with geosuff.distance.placement_measures.",
        )


def _grouping(measures: pd.DataFrame, by: str) -> tuple[np.ndarray, list[Any], dict[Any, str]]:
    """Group key per row, ordered keys, and labels."""
    n = len(measures)
    if by in ("all", "overall"):
        return np.full(n, "all", dtype=object), ["all"], {"all": ALL_LABEL}
    if by == "place_group":
        _require(measures, ["place_group"], "indicators by placement type")
        keys = measures["place_group"].astype("string").fillna("unknown").to_numpy(dtype=object)
        labels = group_labels()
        order = [g for g in group_order() if g in set(keys)]
        order += sorted(set(keys) - set(order))
        return keys, order, {k: labels.get(k, str(k)) for k in order}
    if by == "age_band":
        if "age" in measures.columns:
            keys = age_band(measures["age"])
        else:
            _require(measures, ["age_band"], "indicators by age band")
            keys = (
                measures["age_band"].astype("string").fillna(AGE_NOT_KNOWN).to_numpy(dtype=object)
            )
        order = [b[2] for b in AGE_BANDS if b[2] in set(keys)]
        order += sorted(set(keys) - set(order) - {AGE_NOT_KNOWN})
        if AGE_NOT_KNOWN in set(keys):
            order.append(AGE_NOT_KNOWN)
        return keys, order, {k: str(k) for k in order}
    if by == "uasc":
        _require(measures, ["uasc"], "indicators by UASC")
        s = measures["uasc"].astype("boolean")
        keys = np.array(
            [NOT_KNOWN if v is pd.NA else UASC_LABELS[bool(v)] for v in s], dtype=object
        )
        order = [k for k in ("UASC", "Not UASC", NOT_KNOWN) if k in set(keys)]
        return keys, order, {k: k for k in order}
    extra = _extra_grouping(measures, by)
    if extra is not None:
        return extra
    _require(measures, [by], f"indicators by {by}")
    keys = measures[by].astype("string").fillna(NOT_KNOWN).to_numpy(dtype=object)
    order = sorted(set(keys) - {NOT_KNOWN}) + ([NOT_KNOWN] if NOT_KNOWN in set(keys) else [])
    return keys, order, {k: str(k) for k in order}


def _extra_grouping(
    measures: pd.DataFrame, by: str
) -> tuple[np.ndarray, list[Any], dict[Any, str]] | None:
    """Groupings of :mod:`geosuff.analysis.subgroups` (None for any other ``by``)."""
    if by == EXCLUDING_UASC:
        _require(measures, ["uasc"], "indicators excluding UASC")
        uasc, _ = _col_bool(measures, "uasc")
        keys = np.where(uasc, "uasc", EXCLUDING_UASC).astype(object)
        return keys, [EXCLUDING_UASC], {EXCLUDING_UASC: EXCLUDING_UASC_LABEL}
    if by == "district":
        _require(measures, ["district", "district_name"], "indicators by district")
        code = measures["district"].astype("string").fillna(NOT_KNOWN).to_numpy(dtype=object)
        name = measures["district_name"].astype("string").to_numpy(dtype=object, na_value=None)
        labels = {str(c): str(nm) for c, nm in zip(code, name, strict=True) if nm is not None}
        labels[NOT_KNOWN] = "Home district not known"
        tail = [k for k in ("outside", NOT_KNOWN) if k in set(code)]
        order = sorted(set(code) - set(tail), key=lambda k: labels[k]) + tail
        return code, order, {k: labels[k] for k in order}
    if by == "subarea":
        _require(measures, ["subarea"], "indicators by sub-area")
        keys = measures["subarea"].astype("string").fillna(NOT_KNOWN).to_numpy(dtype=object)
        order = sorted(set(keys) - {NOT_KNOWN}) + ([NOT_KNOWN] if NOT_KNOWN in set(keys) else [])
        labels = {k: str(k) for k in order}
        labels[NOT_KNOWN] = "Home in no sub-area, or not known"
        return keys, order, {k: labels[k] for k in order}
    if by == "disabled":
        _require(measures, ["disabled"], "indicators by disability")
        s = measures["disabled"].astype("boolean")
        if not s.notna().any():
            raise InputFileError(
                "No placement records DISABLED.",
                fix="Add a DISABLED (Y/N) column to the placements.",
            )
        keys = np.array(
            [NOT_KNOWN if v is pd.NA else ("disabled" if v else "not_disabled") for v in s],
            dtype=object,
        )
        names = {"disabled": "Disabled", "not_disabled": "Not disabled", NOT_KNOWN: NOT_KNOWN}
        order = [k for k in names if k in set(keys)]
        return keys, order, {k: names[k] for k in order}
    return None


def group_masks(
    measures: pd.DataFrame, by: str
) -> tuple[list[Any], dict[Any, str], list[np.ndarray]]:
    """Groups of a breakdown as masks over the rows: (ordered keys, labels, one mask per key).

    Every breakdown of :func:`_grouping` (one group per child), plus "need": one group per
    ``needs.csv`` code any child has (a child with several needs is in several groups), then
    "No need recorded" and "Need not known" (no ``NEED``/``DISABLED`` recorded). The masks of
    "need" may overlap; each group's indicators are still of its own children.
    """
    if by != "need":
        keys, ordered, names = _grouping(measures, by)
        return list(ordered), names, [keys == k for k in ordered]
    _require(measures, ["needs"], "indicators by need")
    codes = measures["needs"].astype("string")
    if not codes.notna().any():
        raise InputFileError(
            "No placement records a need.", fix="Add a NEED (or DISABLED) column to the placements."
        )
    text = codes.fillna("<not known>").to_numpy(dtype=object)
    sets = [set() if t in ("", "<not known>") else set(str(t).split(";")) for t in text]
    order: list[Any] = []
    labels: dict[Any, str] = {}
    masks: list[np.ndarray] = []
    for nd in needs().values():
        m = np.array([nd.code in s for s in sets], dtype=bool)
        if m.any():
            order.append(nd.code)
            labels[nd.code] = nd.label
            masks.append(m)
    for key, label, m in (
        (NO_NEED_RECORDED, "No need recorded", text == ""),
        (NEED_NOT_KNOWN, "Need not known", text == "<not known>"),
    ):
        if m.any():
            order.append(key)
            labels[key] = label
            masks.append(np.asarray(m, dtype=bool))
    return order, labels, masks


def _pct(num: float, den: float) -> float:
    return 100.0 * num / den if den > 0 else math.nan


# ----------------------------------------------------------------------------------------------
# Indicator tables
# ----------------------------------------------------------------------------------------------
#: The counts of an indicator row (``n_<name>`` / ``pct_<name>`` columns), in order.
INDICATOR_COLUMNS: tuple[str, ...] = (
    "within_miles",
    "over_miles",
    "distance_not_known",
    "inside_la",
    "la_not_known",
    "outside_not_adjoining",
    "within_minutes",
    "minutes_not_known",
)


def indicator_flags(
    measures: pd.DataFrame,
    *,
    far_miles: float = DFE_FAR_MILES,
    minutes: float = DEFAULT_LOCAL_MINUTES,
) -> dict[str, np.ndarray]:
    """Which rows each indicator counts: one boolean array per name (rows of ``measures``).

    Names: those of :data:`INDICATOR_COLUMNS` plus ``outside_la`` (known to be outside) and
    ``beyond_minutes`` (road time known and over ``minutes``), so that each measure partitions
    the rows: within / over / not known miles; inside / outside / not known LA; within / beyond /
    not known minutes. :func:`indicator_table` counts them; :mod:`geosuff.publish` publishes them.
    """
    miles = _col_float(measures, "dfe_miles")
    mins = _col_float(measures, "road_minutes")
    inside, inside_known = _col_bool(measures, "inside_la")
    adjoining, adjoining_known = _col_bool(measures, "adjoining_la")
    known_m, known_t = np.isfinite(miles), np.isfinite(mins)
    return {
        "within_miles": known_m & (miles <= far_miles),
        "over_miles": known_m & (miles > far_miles),
        "distance_not_known": ~known_m,
        "inside_la": inside & inside_known,
        "outside_la": ~inside & inside_known,
        "la_not_known": ~inside_known,
        "outside_not_adjoining": inside_known & ~inside & adjoining_known & ~adjoining,
        "within_minutes": known_t & (mins <= minutes),
        "beyond_minutes": known_t & (mins > minutes),
        "minutes_not_known": ~known_t,
    }


def indicator_table(
    measures: pd.DataFrame,
    *,
    by: str = "place_group",
    far_miles: float = DFE_FAR_MILES,
    minutes: float = DEFAULT_LOCAL_MINUTES,
    local_target: float | None = None,
    within_miles_target: float | None = None,
    minutes_target: float | None = None,
) -> pd.DataFrame:
    """Sufficiency indicators per group, with an "All children" row last.

    Parameters
    ----------
    measures : DataFrame
        Output of :func:`geosuff.distance.placement_measures` (needs ``dfe_miles``,
        ``inside_la``; uses ``road_minutes``, ``adjoining_la`` and the grouping column).
    by : str, default "place_group"
        "place_group" (ordered as ``placement_groups.csv``), "age_band" (DfE bands: under 1,
        1 to 4, 5 to 9, 10 to 15, 16 and over; from ``age`` in years), "uasc", "all" or
        "overall" (just the "All children" row), "excluding_uasc" (one row: children not known
        to be UASC), "district", "subarea", "need", "disabled" (see :func:`group_masks` and
        :mod:`geosuff.analysis.subgroups`), or any column of ``measures``.
    far_miles : float, default 20.0
        Miles line: "within" is rounded DfE miles ≤ ``far_miles``.
    minutes : float, default 30.0
        Road-minutes line: "within" is ``road_minutes`` ≤ ``minutes``.
    local_target, within_miles_target, minutes_target : float, optional
        Target shares (0–1) of children placed inside the LA / within the miles line / within
        the minutes line. When given, ``meets_*`` and ``short_of_*`` (children short of the
        target: ``ceil(target × n) − achieved``, ≥ 0) columns are added.

    Returns
    -------
    DataFrame
        ``group`` (key), ``label``, ``n`` and, for each measure, ``n_*`` counts and ``pct_*``
        percentages (0–100, of all ``n`` children): ``within_miles``, ``over_miles``,
        ``distance_not_known``, ``inside_la``, ``la_not_known``, ``outside_not_adjoining``
        (placed outside the LA and not in an adjoining LA: needs DCS approval),
        ``within_minutes``, ``minutes_not_known``. ``pct_within_minutes`` is NaN when no road
        times are known for the group. ``attrs`` record the lines and targets.
    """
    _require(measures, ["dfe_miles"], "indicators")
    order, labels, masks = group_masks(measures, by)
    flags = indicator_flags(measures, far_miles=far_miles, minutes=minutes)

    targets = {
        "inside_la": local_target,
        "within_miles": within_miles_target,
        "within_minutes": minutes_target,
    }
    rows = []
    mask_of = dict(zip(order, masks, strict=True))
    for key in [*([] if by in ("all", "overall") else order), None]:
        sel = np.ones(len(measures), bool) if key is None else mask_of[key]
        n = int(sel.sum())
        counts = {name: int((flags[name] & sel).sum()) for name in INDICATOR_COLUMNS}
        row: dict[str, Any] = {
            "group": "all" if key is None else key,
            "label": ALL_LABEL if key is None else labels[key],
            "n": n,
        }
        for name, c in counts.items():
            row[f"n_{name}"] = c
            row[f"pct_{name}"] = _pct(c, n)
        if counts["minutes_not_known"] == n:
            row["pct_within_minutes"] = math.nan
        for name, target in targets.items():
            if target is None:
                continue
            if not 0 <= target <= 1:
                raise ValueError(f"target for {name} must be a share between 0 and 1, got {target}")
            row[f"meets_{name}_target"] = bool(n > 0 and counts[name] >= target * n - 1e-9)
            row[f"short_of_{name}_target"] = max(0, math.ceil(target * n - 1e-9) - counts[name])
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        {
            "by": by,
            "far_miles": far_miles,
            "minutes": minutes,
            "targets": {k: v for k, v in targets.items() if v is not None},
        }
    )
    return out


def sensitivity_table(
    measures: pd.DataFrame,
    *,
    miles: Sequence[float] = (10.0, 20.0, 30.0),
    minutes: Sequence[float] = (30.0, 45.0, 60.0),
    by: str | None = None,
) -> pd.DataFrame:
    """Share of children within each miles and road-minutes line (optionally per group).

    Parameters
    ----------
    measures : DataFrame
        Output of :func:`geosuff.distance.placement_measures`.
    miles : sequence of float
        Straight-line lines, compared with the rounded DfE miles (``≤``).
    minutes : sequence of float
        Road travel-time lines (``road_minutes ≤``).
    by : str, optional
        Grouping as in :func:`indicator_table`; ``None`` for all children only.

    Returns
    -------
    DataFrame
        ``measure`` ("straight-line miles" / "road minutes"), ``threshold``, ``group``,
        ``label``, ``n``, ``n_within``, ``pct_within``, ``n_not_known``, ``pct_not_known``
        (percent of all ``n``; ``pct_within`` NaN when no value is known).
    """
    _require(measures, ["dfe_miles"], "the sensitivity table")
    keys, order, labels = _grouping(measures, by or "all")
    values = {
        "straight-line miles": _col_float(measures, "dfe_miles"),
        "road minutes": _col_float(measures, "road_minutes"),
    }
    rows = []
    for measure, lines in (("straight-line miles", miles), ("road minutes", minutes)):
        v = values[measure]
        for line in sorted(float(x) for x in lines):
            for key in order if by else ["all"]:
                sel = keys == key
                n = int(sel.sum())
                known = np.isfinite(v[sel])
                n_within = int((known & (v[sel] <= line)).sum())
                rows.append(
                    {
                        "measure": measure,
                        "threshold": line,
                        "group": key,
                        "label": labels[key],
                        "n": n,
                        "n_within": n_within,
                        "pct_within": _pct(n_within, n) if known.any() else math.nan,
                        "n_not_known": int((~known).sum()),
                        "pct_not_known": _pct(int((~known).sum()), n),
                    }
                )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Comparison with the published DfE figures
# ----------------------------------------------------------------------------------------------
_DISTANCE_ROWS = (
    ("20 miles or less", ds.NEAR),
    ("More than 20 miles", ds.FAR),
    ("Distance not known", ds.UNKNOWN),
)
_NEW_ROWS = (
    ("Inside LA, 20 miles or less", ds.NEW_INSIDE_NEAR),
    ("Inside LA, more than 20 miles", ds.NEW_INSIDE_FAR),
    ("Outside LA, 20 miles or less", ds.NEW_OUTSIDE_NEAR),
    ("Outside LA, more than 20 miles", ds.NEW_OUTSIDE_FAR),
    ("Distance or location not known", ds.NEW_UNKNOWN),
)


def _published_cell(pub: pd.DataFrame, characteristic: str) -> tuple[float, float, str]:
    if characteristic not in pub.index:
        return math.nan, math.nan, "not published for this area and year"
    r = pub.loc[characteristic]
    sym = str(r["percentage_symbol"] or r["number_symbol"] or "")
    return float(r["number"]), float(r["percentage"]), ds.describe_symbol(sym) if sym else ""


def dfe_flags(measures: pd.DataFrame) -> dict[str, np.ndarray]:
    """Which rows each computed DfE figure counts, keyed by the DfE characteristic
    (:mod:`geosuff.dfe_stats` names), on the DfE 20-mile line.
    """
    miles = _col_float(measures, "dfe_miles")
    inside, inside_known = _col_bool(measures, "inside_la")
    known = np.isfinite(miles)
    near = known & (miles <= DFE_FAR_MILES)
    far = known & (miles > DFE_FAR_MILES)
    return {
        ds.NEAR: near,
        ds.FAR: far,
        ds.UNKNOWN: ~known,
        ds.NEW_INSIDE_NEAR: near & inside_known & inside,
        ds.NEW_INSIDE_FAR: far & inside_known & inside,
        ds.NEW_OUTSIDE_NEAR: near & inside_known & ~inside,
        ds.NEW_OUTSIDE_FAR: far & inside_known & ~inside,
        ds.NEW_UNKNOWN: ~known | ~inside_known,
    }


#: Rows of the DfE comparison: (table label, measure label, DfE characteristic).
DFE_ROWS: tuple[tuple[str, str, str], ...] = tuple(
    ("At 31 March", m, c) for m, c in _DISTANCE_ROWS
) + tuple(("New placements in year", m, c) for m, c in _NEW_ROWS)

#: Cohort of each DfE comparison table (typed values of the ``cohort`` column): children looked
#: after on the reference date, or placements that started in the 12 months to it.
COHORT_SNAPSHOT = "snapshot"
COHORT_STARTED_IN_YEAR = "started_in_year"
DFE_COHORTS = {"At 31 March": COHORT_SNAPSHOT, "New placements in year": COHORT_STARTED_IN_YEAR}


def snapshot_mask(measures: pd.DataFrame) -> np.ndarray:
    """Rows in the snapshot (open on the reference date): every row not ``status`` "excluded"."""
    if "status" not in measures.columns:
        return np.ones(len(measures), dtype=bool)
    result: np.ndarray = (measures["status"].astype(str) != "excluded").to_numpy(dtype=bool)
    return result


def year_start(reference_date: dt.date) -> dt.date:
    """First day of the 12 months ending on ``reference_date`` (1 April for a 31 March date)."""
    result: dt.date = (
        pd.Timestamp(reference_date) - pd.DateOffset(years=1) + pd.Timedelta(days=1)
    ).date()
    return result


def new_in_year(measures: pd.DataFrame, reference_date: dt.date) -> np.ndarray | None:
    """Placements that started in the 12 months to ``reference_date`` (the DfE "new placements").

    An episode counts when its start (``DECOM``) is in ``year_start(reference_date)`` ..
    ``reference_date`` (both days included) and it is in the snapshot, or was left out of the
    snapshot only because it ended (``DEC``) on or before the reference date: a placement that
    started and ended during the year is a new placement of the year. Rows with the same
    ``CHILD`` and ``DECOM`` count once.

    Parameters
    ----------
    measures : DataFrame
        Every row of :func:`geosuff.distance.placement_measures` on the loader's table (with its
        ``status``; ``DECOM``/``DEC`` as dates, NaT when blank).
    reference_date : datetime.date
        End of the year (the analysis' reference date).

    Returns
    -------
    ndarray of bool or None
        One flag per row; None when no start date is known (no ``DECOM`` column, or all blank):
        the new placements cannot be told apart then.
    """
    if "DECOM" not in measures.columns:
        return None
    decom = pd.to_datetime(measures["DECOM"], errors="coerce")
    if decom.isna().all():
        return None
    ref = pd.Timestamp(reference_date)
    first = pd.Timestamp(year_start(reference_date))
    in_year = ((decom >= first) & (decom <= ref)).fillna(False).to_numpy(dtype=bool)
    if "DEC" in measures.columns:
        dec = pd.to_datetime(measures["DEC"], errors="coerce")
        ended = ((dec <= ref) & (dec >= decom)).fillna(False).to_numpy(dtype=bool)
    else:
        ended = np.zeros(len(measures), dtype=bool)
    out: np.ndarray = in_year & (snapshot_mask(measures) | ended)
    if "CHILD" in measures.columns and out.any():
        idx = np.flatnonzero(out)
        child = measures["CHILD"].astype("string").fillna("").str.strip().iloc[idx].to_numpy()
        key = pd.DataFrame({"child": child, "start": decom.iloc[idx].to_numpy()})
        dup = key.duplicated().to_numpy(dtype=bool) & (child != "")
        out[idx[dup]] = False
    return out


def dfe_comparison(
    measures: pd.DataFrame,
    *,
    council: str,
    year: int | None = None,
    reference_date: dt.date | None = None,
) -> pd.DataFrame:
    """The council's own DfE distance measures next to its and England's published figures.

    Like is compared with like: the "At 31 March" rows count the snapshot (rows not ``status``
    "excluded": children looked after on the reference date) against the DfE's children looked
    after at 31 March; the "New placements in year" rows count the placements that started in
    the 12 months to the reference date (:func:`new_in_year`, ended ones included) against the
    DfE's new placements during the year. The computed figures always use the DfE line (rounded
    miles > 20 is "more than 20 miles") whatever ``far_miles`` the measures were made with.
    New-placement rows: a placement whose distance *or* inside/outside is not known counts as
    "Distance or location not known"; "20 miles or less" is the DfE's "less than 20 miles".

    Parameters
    ----------
    measures : DataFrame
        Every row of :func:`geosuff.distance.placement_measures` (with the loader's ``status``,
        ``DECOM`` and ``DEC``; without ``status`` every row is in the snapshot).
    council : str
        The council's GSS code or name.
    year : int, optional
        Year ending 31 March of the published figures (must be shipped); default the year of
        ``reference_date`` (:func:`geosuff.inputs.dfe_stats.year_for`: the nearest earlier
        shipped year when it is not published yet).
    reference_date : datetime.date, optional
        The analysis' reference date; default 31 March of ``year`` if given, else the latest
        31 March on or before today.

    Returns
    -------
    DataFrame
        One row per measure: ``table`` ("At 31 March" / "New placements in year"), ``measure``,
        ``cohort`` (:data:`COHORT_SNAPSHOT` / :data:`COHORT_STARTED_IN_YEAR`), ``cohort_start``
        (date: first start date counted; None for the snapshot), ``cohort_end`` (date: the
        reference date), ``computed_total`` (rows in the cohort; NaN when start dates are not
        known), ``computed_n``, ``computed_pct`` (0–100 of the cohort; NaN when not known),
        ``council_n``, ``council_pct``, ``council_note`` (e.g. "suppressed to protect
        confidentiality" for "c"), ``sn_median_pct`` (statistical neighbours' median, 31 March
        rows only), ``england_n``, ``england_pct``, ``year_requested`` (year ending 31 March of
        the reference date), ``year`` (DfE year used), ``source``.
    """
    _require(measures, ["dfe_miles"], "the DfE comparison")
    code, name = resolve_council(council)
    if reference_date is None:
        reference_date = dt.date(int(year), 3, 31) if year is not None else default_reference_date()
    ref = pd.Timestamp(reference_date).date()
    flags = dfe_flags(measures)
    snap = snapshot_mask(measures)
    new = new_in_year(measures, ref)
    cohorts: dict[str, np.ndarray | None] = {COHORT_SNAPSHOT: snap, COHORT_STARTED_IN_YEAR: new}
    rows = []
    specs: tuple[tuple[ds.TableName, tuple[tuple[str, str], ...], str], ...] = (
        ("distance", _DISTANCE_ROWS, "At 31 March"),
        ("new_placements", _NEW_ROWS, "New placements in year"),
    )
    for table, spec, label in specs:
        available = ds.years(table)
        if year is None:
            requested, yr = ds.year_for(ref, table)
        else:
            requested = yr = int(year)
        if yr not in available:
            raise InputFileError(
                f"The shipped DfE statistics have no {yr} figures.",
                fix=f"Use a year between {available[0]} and {available[-1]}.",
            )
        cohort = DFE_COHORTS[label]
        sel = cohorts[cohort]
        total = int(sel.sum()) if sel is not None else math.nan
        la_pub = ds.published(table, la_code=code, year=yr)
        eng_pub = ds.published(table, level=ds.LEVEL_NATIONAL, year=yr)
        sn_pub = (
            ds.published(table, la_code=code, level=ds.LEVEL_SN, year=yr)
            if table == "distance"
            else None
        )
        source = ds.DISTANCE_SOURCE if table == "distance" else ds.NEW_PLACEMENTS_SOURCE
        for measure, characteristic in spec:
            c_n, c_pct, c_note = _published_cell(la_pub, characteristic)
            e_n, e_pct, _ = _published_cell(eng_pub, characteristic)
            sn_pct = _published_cell(sn_pub, characteristic)[1] if sn_pub is not None else math.nan
            n_c = int((flags[characteristic] & sel).sum()) if sel is not None else math.nan
            rows.append(
                {
                    "table": label,
                    "measure": measure,
                    "cohort": cohort,
                    "cohort_start": year_start(ref) if cohort == COHORT_STARTED_IN_YEAR else None,
                    "cohort_end": ref,
                    "computed_total": total,
                    "computed_n": n_c,
                    "computed_pct": _pct(n_c, total) if sel is not None else math.nan,
                    "council_n": c_n,
                    "council_pct": c_pct,
                    "council_note": c_note,
                    "sn_median_pct": sn_pct,
                    "england_n": e_n,
                    "england_pct": e_pct,
                    "year_requested": requested,
                    "year": yr,
                    "source": f"{source}, year ending 31 March {yr}",
                }
            )
    out = pd.DataFrame(rows)
    out.attrs.update({"council": code, "council_name": name, "reference_date": ref})
    return out
