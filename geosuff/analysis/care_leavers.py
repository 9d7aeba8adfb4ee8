"""Care leavers: in touch, suitable accommodation, inside / outside the council, miles away.

Works on the loaded care-leavers table (:func:`geosuff.inputs.care_leavers.load_care_leavers`):
arrays and frames only. The distance is the DfE-style straight line (grid references of the
accommodation postcode, ``sqrt(dE^2 + dN^2) / 1000 / 1.6093`` miles, 1 dp) to the *nearest
point of the council's boundary*: 0 for a care leaver living inside the council.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geosuff.reference import DFE_KM_PER_MILE, oc3_codes

logger = logging.getLogger(__name__)

NOT_KNOWN = "not_known"
NOT_APPLICABLE = "not_applicable"
ALL = "all"

#: Columns of ``tables/care_leavers.csv``, in order.
CARE_LEAVER_TABLE_COLUMNS: tuple[str, ...] = (
    "age_band",
    "measure",
    "category",
    "count",
    "denominator",
    "percent",
)
#: Measures of the table (each partitions the care leavers of an age band).
CARE_LEAVER_MEASURES: tuple[str, ...] = (
    "in_touch",
    "accommodation_suitable",
    "accommodation_type",
    "location",
    "distance",
    "care_leaver_unit_demand",
)


def miles_to_area(x: np.ndarray, y: np.ndarray, area: Any) -> np.ndarray:
    """DfE-style straight-line miles (1 dp) from each point to the nearest point of ``area``.

    Parameters
    ----------
    x, y : ndarray
        Eastings and northings (m, EPSG:27700); NaN where not known.
    area : shapely geometry
        The council's boundary polygon (EPSG:27700).

    Returns
    -------
    ndarray of float
        Miles rounded to 1 decimal; 0 inside the area; NaN where the point is not known.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.full(x.size, np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        metres = shapely.distance(area, shapely.points(x[ok], y[ok]))
        out[ok] = np.round(np.asarray(metres, dtype=float) / 1000.0 / DFE_KM_PER_MILE, 1)
    return out


def care_leaver_measures(
    table: pd.DataFrame, *, council: str, boundary: Any, far_miles: float = 20.0
) -> pd.DataFrame:
    """The loaded table with ``inside_la`` (nullable bool), ``miles_to_la`` (1 dp, 0 inside),
    ``distance_band`` and ``demand`` (bool: counted care leaver in unsuitable accommodation or
    living outside the council: the demand for care-leaver units).

    Parameters
    ----------
    table : DataFrame
        :data:`geosuff.inputs.care_leavers.CARE_LEAVER_COLUMNS`.
    council : str
        GSS code of the responsible council.
    boundary : shapely geometry
        Its boundary (EPSG:27700).
    far_miles : float
        The distance line (miles) of ``distance_band``.
    """
    t = table.copy()
    la = t["accom_la"].astype(object)
    known = la.notna().to_numpy(bool) & (la.astype(str) != "").to_numpy(bool)
    inside = pd.array(
        [bool(v == council) if k else pd.NA for v, k in zip(la, known, strict=True)],
        dtype="boolean",
    )
    t["inside_la"] = inside
    miles = miles_to_area(t["accom_e"].to_numpy(float), t["accom_n"].to_numpy(float), boundary)
    # inside by the LA of the postcode: 0 miles (a postcode centroid may sit over the line)
    ins = inside.fillna(False).to_numpy(bool)
    miles[ins & np.isfinite(miles)] = 0.0
    t["miles_to_la"] = miles
    applicable = t["accom_type"].astype(str).to_numpy() != NOT_APPLICABLE
    outside = (inside == False).fillna(False).to_numpy(bool)  # noqa: E712
    band = np.where(
        ~np.isfinite(miles) | ~known,
        NOT_KNOWN,
        np.where(ins, "inside_la", np.where(miles > far_miles, "outside_far", "outside_near")),
    ).astype(object)
    band[~applicable & ~np.isfinite(miles)] = NOT_APPLICABLE
    t["distance_band"] = band
    unsuitable = (t["suitable"].astype("boolean") == False).fillna(False).to_numpy(bool)  # noqa: E712
    counted = t["status"].astype(str).to_numpy() != "excluded"
    t["demand"] = counted & applicable & (unsuitable | outside)
    return t


def age_bands(min_age: int, max_age: int) -> list[tuple[str, int, int]]:
    """(label, low, high) age bands (inclusive) of the table: 18, 19-21, 22-25 within the range."""
    out = []
    for lo, hi in ((16, 17), (18, 18), (19, 21), (22, 25)):
        a, b = max(lo, min_age), min(hi, max_age)
        if a <= b:
            out.append((str(a) if a == b else f"{a}-{b}", a, b))
    return out


def _categories(measure: str, far_miles: float) -> list[str]:
    codes = oc3_codes()
    if measure == "in_touch":
        cats = [c.category for c in codes.get("IN_TOUCH", {}).values()]
    elif measure == "accommodation_suitable":
        cats = ["suitable", "unsuitable", NOT_APPLICABLE]
    elif measure == "accommodation_type":
        cats = [c.category for c in codes.get("ACCOM", {}).values()]
    elif measure == "location":
        cats = ["inside_la", "outside_la", NOT_APPLICABLE]
    elif measure == "distance":
        cats = ["inside_la", "outside_near", "outside_far", NOT_APPLICABLE]
    else:
        return ["demand", "not_demand"]  # always known
    return [*dict.fromkeys([*cats, NOT_KNOWN])]


def distance_label(category: str, far_miles: float) -> str:
    """The published category of a distance band (``outside_la_20_miles_or_less``...)."""
    return {
        "outside_near": f"outside_la_{far_miles:g}_miles_or_less",
        "outside_far": f"outside_la_over_{far_miles:g}_miles",
    }.get(category, category)


def _values(t: pd.DataFrame, measure: str) -> np.ndarray:
    applicable = t["accom_type"].astype(str).to_numpy() != NOT_APPLICABLE
    out: np.ndarray
    if measure in ("in_touch", "accommodation_type", "distance"):
        col = {"accommodation_type": "accom_type", "distance": "distance_band"}.get(
            measure, measure
        )
        out = t[col].astype(str).to_numpy(dtype=object)
        return out
    if measure == "accommodation_suitable":
        s = t["suitable"].astype("boolean")
        v = np.where(s.isna(), NOT_KNOWN, np.where(s.fillna(False), "suitable", "unsuitable"))
        return np.where(applicable, v, NOT_APPLICABLE).astype(object)
    if measure == "location":
        i = t["inside_la"].astype("boolean")
        v = np.where(i.isna(), NOT_KNOWN, np.where(i.fillna(False), "inside_la", "outside_la"))
        return np.where(applicable | i.notna().to_numpy(), v, NOT_APPLICABLE).astype(object)
    return np.where(t["demand"].to_numpy(bool), "demand", "not_demand").astype(object)


@dataclass(frozen=True)
class CareLeaverBlock:
    """One measure of one age band: its categories' masks (partitioning ``total``).

    Attributes
    ----------
    age_band, measure : str
    categories : tuple of str
    cells : tuple of ndarray of bool
        One mask per category over the rows of the measures table.
    total : ndarray of bool
        The counted care leavers of the age band.
    """

    age_band: str
    measure: str
    categories: tuple[str, ...]
    cells: tuple[np.ndarray, ...]
    total: np.ndarray


def _bands(t: pd.DataFrame, min_age: int, max_age: int) -> Iterator[tuple[str, np.ndarray]]:
    counted = t["status"].astype(str).to_numpy() != "excluded"
    age = pd.to_numeric(t["age"], errors="coerce").to_numpy(float)
    yield ALL, counted
    bands = age_bands(min_age, max_age)
    if len(bands) > 1:
        for label, lo, hi in bands:
            yield label, counted & (age >= lo) & (age <= hi)


def care_leaver_blocks(
    measures: pd.DataFrame, *, min_age: int, max_age: int, far_miles: float = 20.0
) -> list[CareLeaverBlock]:
    """Every block of the table: age bands (all, then each band) x :data:`CARE_LEAVER_MEASURES`.

    Categories with no care leaver in any band are left out (always kept: ``not_known``).
    """
    out = []
    bands = list(_bands(measures, min_age, max_age))
    for measure in CARE_LEAVER_MEASURES:
        vals = _values(measures, measure)
        counted = bands[0][1]
        cats = tuple(
            c
            for c in _categories(measure, far_miles)
            if c == NOT_KNOWN or (counted & (vals == c)).any()
        )
        for label, sel in bands:
            out.append(
                CareLeaverBlock(label, measure, cats, tuple(sel & (vals == c) for c in cats), sel)
            )
    return out


def care_leaver_table(
    measures: pd.DataFrame, *, min_age: int, max_age: int, far_miles: float = 20.0
) -> pd.DataFrame:
    """The raw (unsuppressed) table: :data:`CARE_LEAVER_TABLE_COLUMNS`, percent 0-100."""
    rows = []
    for b in care_leaver_blocks(measures, min_age=min_age, max_age=max_age, far_miles=far_miles):
        d = int(b.total.sum())
        for c, m in zip(b.categories, b.cells, strict=True):
            n = int(m.sum())
            rows.append(
                (
                    b.age_band,
                    b.measure,
                    distance_label(c, far_miles),
                    n,
                    d,
                    100.0 * n / d if d else np.nan,
                )
            )
    return pd.DataFrame(rows, columns=list(CARE_LEAVER_TABLE_COLUMNS))


def demand_points(measures: pd.DataFrame, *, centre: Sequence[float]) -> pd.DataFrame:
    """Siting demand rows of the care leavers in unsuitable accommodation or living outside.

    A care leaver living inside the council stands at their accommodation; one living outside
    (or whose accommodation is not located) stands at the council's centre ``centre``
    (its representative point): they would come back to the council, not to where they live.

    Returns
    -------
    DataFrame
        ``position`` (row position in ``measures``), ``easting``, ``northing``, ``age``,
        ``outside_la`` (bool).
    """
    m = measures.reset_index(drop=True)
    sel = np.flatnonzero(m["demand"].to_numpy(bool))
    sub = m.iloc[sel]
    inside = sub["inside_la"].astype("boolean").fillna(False).to_numpy(bool)
    e = sub["accom_e"].to_numpy(float)
    n = sub["accom_n"].to_numpy(float)
    here = inside & np.isfinite(e)
    return pd.DataFrame(
        {
            "position": sel.astype(np.int64),
            "easting": np.where(here, e, float(centre[0])),
            "northing": np.where(here, n, float(centre[1])),
            "age": pd.to_numeric(sub["age"], errors="coerce").to_numpy(float),
            "outside_la": (sub["inside_la"].astype("boolean") == False)  # noqa: E712
            .fillna(False)
            .to_numpy(bool),
        }
    )
