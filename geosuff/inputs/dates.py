"""Dates the UK way (31/03/2025, Excel serials, month names) and ages."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from geosuff.inputs._base import _STRIP_CHARS

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Dates and ages
# ----------------------------------------------------------------------------------------------
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
#: Excel's day zero (1900 date system, with its 1900 leap-year bug absorbed): serial 1 = 1900-01-01.
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _dates_from_parts(y: pd.Series, m: pd.Series, d: pd.Series) -> pd.Series:
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(y, errors="coerce"),
            "month": pd.to_numeric(m, errors="coerce"),
            "day": pd.to_numeric(d, errors="coerce"),
        }
    )
    ok = (
        frame.notna().all(axis=1)
        & frame["year"].between(1800, 2200)
        & frame["month"].between(1, 12)
        & frame["day"].between(1, 31)
    )
    out = pd.Series(pd.NaT, index=y.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = pd.to_datetime(frame[ok].astype(int), errors="coerce")
    return out


def parse_uk_dates_detail(
    values: pd.Series, *, pivot_year: int | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse dates written the UK way, saying what was wrong with each.

    Accepted: ``31/03/2025``, ``31-03-2025``, ``31.03.2025``, ``31/3/25`` (two-digit years at or
    before ``pivot_year``'s last two digits are 20xx, later ones 19xx), ``2025-03-31`` (also with a
    time, as Excel writes), ``31 Mar 2025``, ``31-Mar-25``, ``31 March 2025``, ``20250331``, and
    Excel serial day numbers (``45747``).

    Returns
    -------
    (dates, problem)
        ``dates``: datetime64 (NaT when blank or not a date). ``problem``: "" when fine or blank;
        otherwise one of "not a date", "not a real date" (31/02), "US-style date (month/day)"
        (swapped back: the date is returned), "Excel serial day number" (converted).
    """
    s = values.astype("string").str.strip(_STRIP_CHARS).fillna("")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    problem = pd.Series("", index=s.index, dtype=object)
    pivot = (pivot_year or dt.date.today().year) % 100
    todo = s != ""

    def yy(y: pd.Series) -> pd.Series:
        yi = pd.to_numeric(y, errors="coerce")
        short = y.str.len() <= 2
        return yi.where(~short, np.where(yi <= pivot, 2000 + yi, 1900 + yi))

    # ISO (Excel writes dates as 2025-03-31 or 2025-03-31 00:00:00)
    iso = s.str.extract(
        r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
    )
    m_iso = iso[0].notna() & todo
    if m_iso.any():
        d = _dates_from_parts(iso.loc[m_iso, 0], iso.loc[m_iso, 1], iso.loc[m_iso, 2])
        out[m_iso] = d
        problem[m_iso & out.isna()] = "not a real date"
        todo &= ~m_iso
    # day/month/year
    dmy = s.str.extract(
        r"^(\d{1,2})[/\-. ](\d{1,2})[/\-. ](\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
    )
    m_dmy = dmy[0].notna() & todo
    if m_dmy.any():
        day = pd.to_numeric(dmy.loc[m_dmy, 0])
        mon = pd.to_numeric(dmy.loc[m_dmy, 1])
        year = yy(dmy.loc[m_dmy, 2])
        us = (mon > 12) & (day <= 12)
        dd = day.where(~us, mon)
        mm = mon.where(~us, day)
        d = _dates_from_parts(year, mm, dd)
        out[m_dmy] = d
        problem[m_dmy & out.isna()] = "not a real date"
        problem[us[us].index] = "US-style date (month/day)"
        todo &= ~m_dmy
    # 31 Mar 2025 / 31-Mar-25 / 31 March 2025
    txt = s.str.extract(r"^(\d{1,2})(?:st|nd|rd|th)?[ \-/]+([A-Za-z]{3,9})[ \-/,]+(\d{4}|\d{2})$")
    m_txt = txt[0].notna() & todo
    if m_txt.any():
        mon = txt.loc[m_txt, 1].str[:3].str.lower().map(_MONTHS)
        d = _dates_from_parts(yy(txt.loc[m_txt, 2]), mon, txt.loc[m_txt, 0])
        out[m_txt] = d
        problem[m_txt & out.isna()] = "not a date"
        todo &= ~m_txt
    # compact 20250331 or 31032025
    cmp_ = s.str.extract(r"^(\d{8})$")[0]
    m_cmp = cmp_.notna() & todo
    if m_cmp.any():
        c = cmp_[m_cmp]
        ymd = _dates_from_parts(c.str[:4], c.str[4:6], c.str[6:])
        dmy2 = _dates_from_parts(c.str[4:], c.str[2:4], c.str[:2])
        out[m_cmp] = ymd.where(ymd.notna() & c.str[:2].isin(["19", "20"]), dmy2)
        problem[m_cmp & out.isna()] = "not a date"
        todo &= ~m_cmp
    # Excel serial day numbers
    ser = pd.to_numeric(s.where(s.str.fullmatch(r"\d{4,5}(?:\.0+)?") & todo), errors="coerce")
    m_ser = ser.notna() & ser.between(1, 109_574)
    if m_ser.any():
        out[m_ser] = pd.Timestamp(EXCEL_EPOCH) + pd.to_timedelta(ser[m_ser].astype(int), unit="D")
        problem[m_ser] = "Excel serial day number"
        todo &= ~m_ser
    problem[todo] = "not a date"
    return out, problem


def parse_uk_dates(values: pd.Series) -> pd.Series:
    """Parse dates written the UK way (31/03/2025, 31-03-2025, 2025-03-31, 31 Mar 2025).

    US-style dates that can only be month/day (03/31/2025) and Excel serial numbers are
    converted; anything else that is not a date is NaT. See :func:`parse_uk_dates_detail`.
    """
    dates, _ = parse_uk_dates_detail(values)
    return dates


def default_reference_date(today: dt.date | None = None) -> dt.date:
    """The latest 31 March on or before today (the SSDA903 collection date)."""
    today = today or dt.date.today()
    year = today.year if (today.month, today.day) >= (3, 31) else today.year - 1
    return dt.date(year, 3, 31)


_ISO_RE = r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T].*)?$"


def date_style(*columns: pd.Series | None) -> str | None:
    """How an input writes its dates: ``"iso"`` (``2025-03-31``) when most non-blank values are
    ISO, ``"uk"`` (``31/03/2025``, ``31 Mar 2025``...) otherwise; None when there are no dates.

    Outputs write dates back the same way (:func:`geosuff.publication.files.csv_ready`).
    """
    n_iso = n_all = 0
    for c in columns:
        if c is None:
            continue
        s = c.astype("string").str.strip(_STRIP_CHARS).fillna("")
        s = s[s != ""]
        n_all += len(s)
        n_iso += int(s.str.match(_ISO_RE).sum())
    if n_all == 0:
        return None
    return "iso" if n_iso * 2 > n_all else "uk"
