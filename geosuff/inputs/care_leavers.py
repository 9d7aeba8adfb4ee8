"""The optional care-leavers table: SSDA903 OC3-style rows, every row accounted for.

Columns (names as the 903 return spells them; case and spaces do not matter): ``CHILD``,
``DOB``, ``IN_TOUCH`` (YES / NO / DIED / REFU / NREQ / RHOM), ``ACCOM`` (the 903 code: letter B-Z
and suitability digit, ``D1``; or the letter alone with ``ACCOM_SUITABLE`` 1 / 2; ``0`` when not
applicable) and ``ACCOM_POST`` (postcode of the accommodation; optional). The code lists are
``geosuff/data/oc3_codes.csv`` (:func:`geosuff.reference.oc3_codes`).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.inputs._base import STATUS_ESTIMATE, STATUS_EXCLUDED, STATUS_USED, Issue, Loaded
from geosuff.inputs.boundaries import Boundaries
from geosuff.inputs.dates import parse_uk_dates
from geosuff.inputs.placements import completed_years
from geosuff.inputs.postcodes import PostcodeLookup
from geosuff.inputs.reading import read_raw
from geosuff.reference import oc3_codes

logger = logging.getLogger(__name__)

TABLE = "care_leavers"
REQUIRED = ("CHILD", "DOB", "IN_TOUCH", "ACCOM")
#: Accepted spellings of the accommodation postcode column (lower case, no spaces).
POSTCODE_COLUMNS = ("accom_post", "accom_postcode", "accommodation_postcode", "postcode")
NOT_KNOWN = "not_known"
NOT_APPLICABLE = "not_applicable"
_SUITABLE_WORDS = {"suitable": "1", "yes": "1", "y": "1", "unsuitable": "2", "not suitable": "2"}
_SUITABLE_WORDS |= {"no": "2", "n": "2"}

#: Columns of the loaded table (besides the input's own).
CARE_LEAVER_COLUMNS = (
    "row",
    "CHILD",
    "age",
    "in_touch_code",
    "in_touch",
    "accom_code",
    "accom_type",
    "suitable",
    "accom_e",
    "accom_n",
    "accom_la",
    "ACCOM_POST",
    "status",
    "reason",
)


def _col(df: pd.DataFrame, *names: str) -> str | None:
    low = {str(c).strip().lower().replace(" ", "_"): c for c in df.columns}
    for n in names:
        if n.lower() in low:
            return str(low[n.lower()])
    return None


def _accom(value: str, suitable: str) -> tuple[str, str, float, str]:
    """(letter, type category, suitable 1.0 / 0.0 / nan, problem) of one ACCOM code."""
    codes = oc3_codes()
    acc, suit_codes = codes.get("ACCOM", {}), codes.get("ACCOM_SUITABLE", {})
    v = value.strip().upper()
    if not v:
        return "", NOT_KNOWN, np.nan, "ACCOM not given: accommodation counted as not known"
    if v == "0":
        return "0", NOT_APPLICABLE, np.nan, ""
    letter, digit = v[0], v[1:].strip()
    s = suitable.strip().lower()
    if not digit and s:
        digit = _SUITABLE_WORDS.get(s, s)
    if letter not in acc or letter == "0" or len(digit) > 1:
        return "", NOT_KNOWN, np.nan, f"ACCOM {v!r} is not an OC3 code: counted as not known"
    cat = acc[letter].category
    if not digit:
        return letter, cat, np.nan, "suitability not given: counted as not known"
    if digit not in suit_codes or digit not in acc[letter].suitability:
        return (
            letter,
            cat,
            np.nan,
            f"suitability {digit!r} is not allowed with ACCOM {letter}: counted as not known",
        )
    return letter, cat, 1.0 if suit_codes[digit].category == "suitable" else 0.0, ""


def load_care_leavers(
    path: str | Path,
    *,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None = None,
    reference_date: dt.date,
    min_age: int = 18,
    max_age: int = 21,
) -> Loaded:
    """Read the care-leavers table; every row with ``status`` and ``reason``.

    Parameters
    ----------
    path : str or Path
        CSV or .xlsx (see the module docstring for the columns).
    lookup : PostcodeLookup
        Resolves ``ACCOM_POST`` to a grid reference (EPSG:27700) and upper-tier LA.
    boundaries : Boundaries, optional
        The LA of a resolved point the lookup gives no LA for.
    reference_date : date
        Ages (whole years) are taken on this date.
    min_age, max_age : int
        Ages counted (inclusive); other rows are excluded with the reason.

    Returns
    -------
    Loaded
        ``table`` has :data:`CARE_LEAVER_COLUMNS`: ``in_touch`` and ``accom_type`` are the
        categories of ``oc3_codes.csv`` (or ``not_known``/``not_applicable``), ``suitable`` a
        nullable boolean, ``accom_e``/``accom_n`` metres (NaN: not located), ``accom_la`` the
        upper-tier LA code (None: not known).
    """
    raw = read_raw(path, name="care leavers", expect_columns=REQUIRED)
    df = raw.df
    fname = Path(str(path)).name
    cols = {c: _col(df, c) for c in REQUIRED}
    missing = [c for c, v in cols.items() if v is None]
    if missing:
        raise InputFileError(
            f"The care leavers file {fname} has no column " + ", ".join(missing) + ".",
            fix="Give the SSDA903 OC3 columns CHILD, DOB, IN_TOUCH and ACCOM "
            "(and ACCOM_POST, the accommodation postcode, for where care leavers live).",
        )
    n = len(df)
    text = {c: df[str(v)].astype(str).str.strip() for c, v in cols.items()}
    scol = _col(df, "ACCOM_SUITABLE", "suitable", "accom_suitable")
    suit = df[scol].astype(str).str.strip() if scol else pd.Series("", index=df.index)
    pcol = _col(df, *POSTCODE_COLUMNS)
    reasons: list[list[str]] = [[] for _ in range(n)]
    excluded = np.zeros(n, dtype=bool)
    issues: list[Issue] = list(raw.issues)

    def exclude(i: int, why: str, column: str | None) -> None:
        if not excluded[i]:
            reasons[i] = [why]
            excluded[i] = True
            issues.append(
                Issue(
                    fname,
                    i + 1,
                    column,
                    None,
                    why,
                    "error",
                    "care_leavers." + column if column else "care_leavers.row",
                )
            )

    blank = df.apply(lambda r: all(str(x).strip() == "" for x in r), axis=1).to_numpy(bool)
    for i in np.flatnonzero(blank):
        exclude(int(i), "blank row", None)
    child = text["CHILD"]
    for i in np.flatnonzero((child == "").to_numpy() & ~blank):
        exclude(int(i), "no CHILD id", "CHILD")
    dup = child.duplicated(keep="first").to_numpy() & (child != "").to_numpy()
    for i in np.flatnonzero(dup & ~excluded):
        exclude(int(i), "duplicate CHILD id (the first row is used)", "CHILD")
    dob = parse_uk_dates(text["DOB"])
    age = completed_years(dob, pd.Timestamp(reference_date)).to_numpy(dtype=float)
    for i in np.flatnonzero(~np.isfinite(age) & ~excluded):
        exclude(int(i), "DOB is not a date", "DOB")
    out_of_range = np.isfinite(age) & ((age < min_age) | (age > max_age))
    for i in np.flatnonzero(out_of_range & ~excluded):
        exclude(
            int(i),
            f"aged {int(age[i])} at the reference date: outside the care-leaver ages "
            f"{min_age}-{max_age} ([analysis] care_leaver_min_age / care_leaver_max_age)",
            "DOB",
        )

    it_code, in_touch, accom_code, accom_type, suitable = _codes(
        text["IN_TOUCH"], text["ACCOM"], suit, excluded, reasons
    )
    east, north, la, post = _locate(df, pcol, lookup, boundaries)
    applicable = accom_type != NOT_APPLICABLE
    for j in np.flatnonzero(~np.isfinite(east) & ~excluded & applicable):
        reasons[int(j)].append(
            "accommodation postcode not known: inside / outside and distance not known"
        )
    status = np.where(
        excluded,
        STATUS_EXCLUDED,
        np.where([bool(r) for r in reasons], STATUS_ESTIMATE, STATUS_USED),
    )
    table = pd.DataFrame(
        {
            "row": np.arange(1, n + 1, dtype=np.int64),
            "CHILD": child.to_numpy(dtype=object),
            "age": age,
            "in_touch_code": it_code,
            "in_touch": in_touch,
            "accom_code": accom_code,
            "accom_type": accom_type,
            "suitable": pd.array(
                [pd.NA if np.isnan(s) else bool(s) for s in suitable], dtype="boolean"
            ),
            "accom_e": east,
            "accom_n": north,
            "accom_la": la,
            "ACCOM_POST": post,
            "status": status,
            "reason": ["; ".join(r) for r in reasons],
        }
    )
    logger.info(
        "care leavers %s: %d rows, %d counted, %d excluded",
        fname,
        n,
        int((~excluded).sum()),
        int(excluded.sum()),
    )
    return Loaded(TABLE, Path(str(path)), table, issues, dict(raw.meta))


def _codes(
    in_touch_text: pd.Series,
    accom_text: pd.Series,
    suit: pd.Series,
    excluded: np.ndarray,
    reasons: list[list[str]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IN_TOUCH code and category, ACCOM letter and category, suitability (1 / 0 / NaN) of
    each row; a problem with a code is appended to the row's reasons.
    """
    n = len(in_touch_text)
    touch_codes = oc3_codes().get("IN_TOUCH", {})
    it_code = in_touch_text.str.upper().to_numpy(dtype=object)
    in_touch = np.full(n, NOT_KNOWN, dtype=object)
    accom_code = np.full(n, "", dtype=object)
    accom_type = np.full(n, NOT_KNOWN, dtype=object)
    suitable = np.full(n, np.nan)
    for i in range(n):
        if excluded[i]:
            continue
        c = touch_codes.get(str(it_code[i]))
        if c is not None:
            in_touch[i] = c.category
        else:
            reasons[i].append(
                f"IN_TOUCH {it_code[i]!r} is not an OC3 code: counted as not known"
                if it_code[i]
                else "IN_TOUCH not given: counted as not known"
            )
        accom_code[i], accom_type[i], suitable[i], problem = _accom(
            str(accom_text.iat[i]), str(suit.iat[i])
        )
        if problem:
            reasons[i].append(problem)
    return it_code, in_touch, accom_code, accom_type, suitable


def _locate(
    df: pd.DataFrame, pcol: str | None, lookup: PostcodeLookup, boundaries: Boundaries | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Easting, northing (m; NaN: not located), upper-tier LA (None) and the postcode as given
    ("") of each accommodation.
    """
    n = len(df)
    east = np.full(n, np.nan)
    north = np.full(n, np.nan)
    la = np.full(n, None, dtype=object)
    if pcol is None:
        return east, north, la, np.full(n, "", dtype=object)
    res = lookup.resolve(df[pcol].astype(str).str.strip().replace("", None))
    east = res["easting"].to_numpy(dtype=float).copy()
    north = res["northing"].to_numpy(dtype=float).copy()
    la = np.array(
        [None if pd.isna(v) or str(v) == "" else str(v) for v in res["utla"]], dtype=object
    )
    gone = np.isfinite(east) & np.array([v is None for v in la], dtype=bool)
    if gone.any() and boundaries is not None:
        la[gone] = boundaries.la_at(east[gone], north[gone])
    return east, north, la, df[pcol].astype(str).str.strip().to_numpy(dtype=object)
