"""The DfE's published children-looked-after statistics shipped with geosuff (2021–2025).

Two tables from "Children looked after in England including adoptions" (explore-education-
statistics.service.gov.uk), kept in ``geosuff/data/dfe``:

* ``cla_31mar_placement_type_and_distance_2021_2025.csv.gz`` — children looked after at
  31 March by placement type and by distance between home and placement, for England, regions,
  every LA and the median of each LA's statistical neighbours;
* ``cla_new_placements_location_2021_2025.csv.gz`` — new placements during the year, inside/outside
  the LA boundary × less/more than 20 miles from home.

Published cells can be symbols instead of numbers (see :data:`SYMBOLS`); most often "c": a small
number suppressed to protect confidentiality. Readers here keep every row, with the number as
float (NaN for a symbol) and the symbol in a separate column, so callers can say *why* a figure is
missing. Nothing here ever tries to recover a suppressed value.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

DISTANCE_FILE = "cla_31mar_placement_type_and_distance_2021_2025.csv.gz"
NEW_PLACEMENTS_FILE = "cla_new_placements_location_2021_2025.csv.gz"

#: Source titles, for report footnotes.
DISTANCE_SOURCE = (
    "DfE, Children looked after in England including adoptions: children looked after at 31 March "
    "by placement type and distance between home and placement"
)
NEW_PLACEMENTS_SOURCE = (
    "DfE, Children looked after in England including adoptions: location of new placements during "
    "the year"
)

#: Explore-education-statistics symbols that stand in for a number.
SYMBOLS = {
    "c": "suppressed to protect confidentiality",
    "z": "not applicable",
    "k": "less than 0.5%",
    "x": "not available",
    "low": "rounds to zero but is not zero",
    "u": "low reliability",
    ":": "not available",
}

LEVEL_NATIONAL = "National"
LEVEL_REGIONAL = "Regional"
LEVEL_LA = "Local authority"
LEVEL_SN = "Statistical neighbours (median)"

# 31 March table (cla_group "Distance between home and placement")
DISTANCE_GROUP = "Distance between home and placement"
PLACEMENT_GROUP = "Placement"
NEAR = "Placed 20 miles or less from home"
FAR = "Placed more than 20 miles from home"
UNKNOWN = "Distance not known or not recorded"
TOTAL = "Total"

# New placements table (breakdown)
NEW_INSIDE_NEAR = "Placed inside LA boundary less than 20 miles from home"
NEW_INSIDE_FAR = "Placed inside LA boundary more than 20 miles from home"
NEW_OUTSIDE_NEAR = "Placed outside LA boundary less than 20 miles from home"
NEW_OUTSIDE_FAR = "Placed outside LA boundary more than 20 miles from home"
NEW_UNKNOWN = "Distance not known or not recorded"
NEW_TOTAL = "Total new placements"

TIDY_COLUMNS = [
    "year",
    "level",
    "la_code",
    "la_name",
    "old_la_code",
    "table",
    "characteristic",
    "number",
    "number_symbol",
    "percentage",
    "percentage_symbol",
]


def describe_symbol(symbol: str | None) -> str:
    """Plain-English meaning of a published symbol ("c" → "suppressed ..."), "" for none."""
    if symbol is None or symbol == "" or pd.isna(symbol):
        return ""
    return SYMBOLS.get(str(symbol), f"published as '{symbol}'")


def _split(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers (float, NaN for symbols/blank) and symbols ("" for numbers/blank)."""
    text = values.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    sym = text.fillna("").to_numpy(dtype=object)
    sym[np.isfinite(num)] = ""
    return num, sym


def _open(name: str) -> pd.DataFrame:
    ref = resources.files("geosuff") / "data" / "dfe" / name
    with ref.open("rb") as fh:
        return pd.read_csv(fh, compression="gzip", dtype=str, keep_default_na=False)


def _old_code(values: pd.Series) -> pd.Series:
    # "857.0" → "857"
    return values.str.replace(r"\.0$", "", regex=True).replace("", pd.NA).astype("string")


@cache
def _distance_tidy() -> pd.DataFrame:
    raw = _open(DISTANCE_FILE)
    num, num_sym = _split(raw["number"])
    pct, pct_sym = _split(raw["percentage"])
    sn = raw["geographic_level"] == LEVEL_SN
    df = pd.DataFrame(
        {
            "year": raw["time_period"].astype(int),
            "level": raw["geographic_level"].astype("string"),
            "la_code": raw["new_la_code"].replace("", pd.NA).astype("string"),
            "la_name": raw["geo_breakdown"]
            .where(~sn, raw["geo_breakdown_sn"])
            .where(raw["geographic_level"] != LEVEL_NATIONAL, "England")
            .astype("string"),
            "old_la_code": _old_code(raw["old_la_code"]),
            "table": raw["cla_group"].astype("string"),
            "characteristic": raw["characteristic"].astype("string"),
            "number": num,
            "number_symbol": pd.array(num_sym, dtype="string"),
            "percentage": pct,
            "percentage_symbol": pd.array(pct_sym, dtype="string"),
        }
    )
    # statistical-neighbour rows name the LA but carry only its old code: add the new code
    la = df[df["level"] == LEVEL_LA][["year", "old_la_code", "la_code"]].drop_duplicates()
    key = dict(zip(zip(la["year"], la["old_la_code"], strict=True), la["la_code"], strict=True))
    is_sn = (df["level"] == LEVEL_SN).to_numpy()
    codes = [
        key.get((y, o))
        for y, o in zip(df.loc[is_sn, "year"], df.loc[is_sn, "old_la_code"], strict=True)
    ]
    df.loc[is_sn, "la_code"] = pd.array(codes, dtype="string")
    return df


@cache
def _new_placements_tidy() -> pd.DataFrame:
    raw = _open(NEW_PLACEMENTS_FILE)
    num, num_sym = _split(raw["children_count"])
    pct, pct_sym = _split(raw["children_percent"])
    level = raw["geographic_level"]
    name = raw["la_name"].where(
        level == LEVEL_LA, raw["region_name"].where(level == LEVEL_REGIONAL, "England")
    )
    return pd.DataFrame(
        {
            "year": raw["time_period"].astype(int),
            "level": level.astype("string"),
            "la_code": raw["new_la_code"].replace("", pd.NA).astype("string"),
            "la_name": name.astype("string"),
            "old_la_code": _old_code(raw["old_la_code"]),
            "table": raw["characteristic"].astype("string"),
            "characteristic": raw["breakdown"].astype("string"),
            "number": num,
            "number_symbol": pd.array(num_sym, dtype="string"),
            "percentage": pct,
            "percentage_symbol": pd.array(pct_sym, dtype="string"),
        }
    )


TableName = Literal["distance", "placement", "new_placements"]


def load_table(table: TableName) -> pd.DataFrame:
    """One shipped DfE table in tidy form (a new frame each call).

    Parameters
    ----------
    table : {"distance", "placement", "new_placements"}
        "distance": children at 31 March by distance between home and placement; "placement":
        the same children by placement type; "new_placements": location of new placements during
        the year.

    Returns
    -------
    DataFrame
        Columns :data:`TIDY_COLUMNS`: ``year`` (int, the year ending 31 March), ``level``,
        ``la_code`` (new GSS code; for statistical-neighbour rows the LA whose neighbours they
        are), ``la_name``, ``old_la_code``, ``table``, ``characteristic``, ``number`` (float, NaN
        when a symbol was published), ``number_symbol``, ``percentage`` (0–100),
        ``percentage_symbol``.
    """
    if table == "new_placements":
        return _new_placements_tidy().copy()
    if table not in ("distance", "placement"):
        raise ValueError(f"unknown DfE table {table!r}")
    df = _distance_tidy()
    group = DISTANCE_GROUP if table == "distance" else PLACEMENT_GROUP
    return df[df["table"] == group].reset_index(drop=True)


def years(table: TableName = "distance") -> list[int]:
    """Years (ending 31 March) available in a shipped table, ascending."""
    return sorted(int(y) for y in load_table(table)["year"].unique())


def latest_year(table: TableName = "distance") -> int:
    """The most recent year (ending 31 March) in a shipped table."""
    return years(table)[-1]


def year_ending(reference_date: dt.date) -> int:
    """The DfE year of a date: the year of the latest 31 March on or before it.

    Parameters
    ----------
    reference_date : datetime.date
        E.g. ``[analysis] reference_date``.

    Returns
    -------
    int
        Year ending 31 March (2024 for 31/03/2024 and for 30/03/2025; 2025 for 31/03/2025).
    """
    d = pd.Timestamp(reference_date)
    return int(d.year) if (d.month, d.day) >= (3, 31) else int(d.year) - 1


def year_for(reference_date: dt.date, table: TableName = "distance") -> tuple[int, int]:
    """The DfE year to compare with a reference date, and the year actually shipped.

    Parameters
    ----------
    reference_date : datetime.date
        The analysis' reference (snapshot) date.
    table : {"distance", "placement", "new_placements"}
        Which shipped table.

    Returns
    -------
    (int, int)
        ``(year_requested, year_used)``: the year ending 31 March of ``reference_date``
        (:func:`year_ending`) and the year used: the requested year when shipped, else the
        nearest earlier shipped year (e.g. 2025 for a 2026 reference date: not published yet),
        else (a date before the first shipped year) the earliest shipped year. Callers say so
        when the two differ.
    """
    requested = year_ending(reference_date)
    available = years(table)
    earlier = [y for y in available if y <= requested]
    used = earlier[-1] if earlier else available[0]
    if used != requested:
        logger.info(
            "DfE %s figures for %d are not shipped; using %d (shipped: %d-%d)",
            table,
            requested,
            used,
            available[0],
            available[-1],
        )
    return requested, used


def published(
    table: TableName,
    *,
    la_code: str | None = None,
    level: str = LEVEL_LA,
    year: int | None = None,
) -> pd.DataFrame:
    """Published figures for one area and year, indexed by characteristic.

    Parameters
    ----------
    table : {"distance", "placement", "new_placements"}
        Which shipped table (see :func:`load_table`).
    la_code : str, optional
        LA GSS code (for ``level`` "Local authority" or "Statistical neighbours (median)").
    level : str, default "Local authority"
        "National" (England; ``la_code`` ignored), "Local authority" or
        "Statistical neighbours (median)".
    year : int, optional
        Year ending 31 March; default the latest in the table.

    Returns
    -------
    DataFrame
        Index ``characteristic``; columns ``number``, ``number_symbol``, ``percentage``,
        ``percentage_symbol``, ``year``, ``la_name``. Empty if the area is not published for the
        year (e.g. an LA created after it).
    """
    df = load_table(table)
    yr = latest_year(table) if year is None else int(year)
    sel = (df["year"] == yr) & (df["level"] == level)
    if level != LEVEL_NATIONAL:
        if la_code is None:
            raise ValueError("la_code is needed below national level")
        sel &= df["la_code"] == la_code.strip().upper()
    out = df.loc[
        sel,
        [
            "characteristic",
            "number",
            "number_symbol",
            "percentage",
            "percentage_symbol",
            "year",
            "la_name",
        ],
    ]
    if out.empty:
        logger.info("no published %s figures for %s (%s) in %d", table, la_code, level, yr)
    return out.set_index("characteristic")
