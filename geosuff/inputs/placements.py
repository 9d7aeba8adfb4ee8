"""SSDA903 placement episodes: the loader, duplicates and ages."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from geosuff import reference
from geosuff._errors import InputFileError
from geosuff.config.database import DatabaseTable
from geosuff.inputs._base import (
    MAX_CHILD_AGE_YEARS,
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
    Issue,
    Loaded,
)
from geosuff.inputs.boundaries import Boundaries
from geosuff.inputs.codes import placement_codes
from geosuff.inputs.dates import date_style, default_reference_date, parse_uk_dates_detail
from geosuff.inputs.locations import _to_number, locate_points
from geosuff.inputs.needs import read_need_columns
from geosuff.inputs.postcodes import PostcodeLookup
from geosuff.inputs.reading import (
    RawTable,
    _col,
    _map_columns,
    _require,
    _unused_columns_issue,
    _where,
    as_source,
    read_raw,
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Placements
# ----------------------------------------------------------------------------------------------
_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f", ""}

PLACEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "CHILD": (
        "CHILD_ID",
        "CHILDID",
        "CHILD_REF",
        "LA_CHILD_ID",
        "CHILD_NUMBER",
        "PERSON_ID",
        "CLIENT_ID",
    ),
    "HOME_POST": (
        "HOME_POSTCODE",
        "HOME_PC",
        "POSTCODE_HOME",
        "CHILD_HOME_POSTCODE",
        "HOME_POST_CODE",
    ),
    "PL_POST": (
        "PLACEMENT_POSTCODE",
        "PL_POSTCODE",
        "PLACEMENT_POST",
        "PLACEMENT_PC",
        "PL_POST_CODE",
        "PLACEMENT_POST_CODE",
    ),
    "PLACE": ("PLACEMENT_TYPE", "PLACEMENT_CODE", "PL_TYPE", "PLACE_CODE"),
    "URN": ("OFSTED_URN", "PROVIDER_URN"),
    "PLACE_PROVIDER": ("PLACEMENT_PROVIDER", "PROVIDER", "PROVIDER_TYPE", "PL_PROVIDER"),
    "DOB": ("DATE_OF_BIRTH", "BIRTH_DATE", "D_O_B"),
    "AGE": ("AGE_YEARS",),
    "UASC": ("UASC_FLAG", "UNACCOMPANIED"),
    "DISABLED": ("DISABILITY", "DISABLED_FLAG"),
    "NEED": ("NEEDS", "PLACEMENT_NEED", "CHILD_NEED"),
    "DECOM": (
        "START_DATE",
        "PLACEMENT_START",
        "PLACEMENT_START_DATE",
        "EPISODE_START",
        "DATE_EPISODE_COMMENCED",
    ),
    "DEC": ("END_DATE", "PLACEMENT_END", "PLACEMENT_END_DATE", "EPISODE_END"),
    "HOME_EASTING": (),
    "HOME_NORTHING": (),
    "PL_EASTING": (),
    "PL_NORTHING": (),
    "HOME_LON": (),
    "HOME_LAT": (),
    "PL_LON": (),
    "PL_LAT": (),
}
_PLACEMENT_KEYS = (
    "CHILD",
    "HOME_POST",
    "PL_POST",
    "PLACE",
    "PLACEMENT_POSTCODE",
    "HOME_POSTCODE",
    "CHILD_ID",
    "PLACEMENT_TYPE",
)


def _first_rows(raw: RawTable, fname: str) -> list[Issue]:
    """Issues for rows the reader could not split into the header's columns."""
    return [
        Issue(fname, i + 1, None, None, r, "error", "row.ragged")
        for i, r in sorted(raw.bad_rows.items())
    ]


def _join_reasons(*parts: str) -> str:
    seen: list[str] = []
    for p in parts:
        for q in str(p).split("; "):
            q = q.strip()
            if q and q not in seen:
                seen.append(q)
    return "; ".join(seen)


def load_placements(  # noqa: C901
    path: str | Path | DatabaseTable,
    *,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None = None,
    reference_date: dt.date | None = None,
) -> Loaded:
    """Load SSDA903-style placement episodes.

    Required columns: ``CHILD``, ``HOME_POST``, ``PL_POST``, ``PLACE``. Optional: ``URN``,
    ``DOB`` (UK date) or ``AGE`` (years), ``UASC`` (1/0, Y/N, True/False), ``DECOM`` (episode
    start), ``DEC`` (episode end), ``DISABLED`` (Y/N), ``NEED`` (``;``-separated needs). Instead of postcodes, ``HOME_EASTING``/``HOME_NORTHING`` and
    ``PL_EASTING``/``PL_NORTHING`` (EPSG:27700) or ``*_LON``/``*_LAT`` may be given. Common
    alternative column names ("Child ID", "Home postcode", "Placement type", "Date of birth") are
    accepted with a warning; other columns are ignored (never carried into outputs).

    Row outcomes
    ------------
    * excluded: blank row; row that cannot be split into the header's columns; an episode not
      open on ``reference_date`` (the snapshot is ``DECOM <= date`` and ``DEC`` empty or
      ``DEC > date``: an episode ending on the reference date is not counted); a child aged 18 or
      over at the reference date (not a child looked after); and, among the rows left, an exact
      duplicate of an earlier row; an earlier episode of a child whose later episode (``DECOM``)
      is in the file; a second row for a child id with different details and no ``DECOM`` to
      order them;
    * used-with-estimate: a value was corrected (postcode typo, coordinates in the wrong system,
      US-style or Excel-serial date);
    * used: everything else - including placements whose distance is "Not known or not recorded"
      because a postcode is missing or unknown (the DfE counts those too; ``reason`` says why).

    Returns
    -------
    Loaded
        ``table`` has one row per data row: ``row``, ``line``, ``CHILD``, ``PLACE``,
        ``place_group``, ``HOME_POST``/``PL_POST`` (normalised), ``home_e``/``home_n``/``pl_e``/
        ``pl_n`` (EPSG:27700, NaN where not resolved), ``home_reason``/``pl_reason`` ("" when
        located), ``home_source``/``pl_source`` (postcode, easting/northing, lon/lat, ...),
        ``home_utla``, ``pl_ltla``, ``pl_utla``, ``age`` (years at the reference date),
        ``age_band``, ``uasc``, ``home_ltla`` (district of the home postcode; NA for points),
        ``disabled`` (boolean, NA not recorded), ``needs`` (``;``-joined ``needs.csv`` codes, see
        :mod:`geosuff.inputs.needs`), ``DECOM``, ``DEC`` (NaT when blank), ``status`` and ``reason``. Record-level personal data:
        never publish it (see :mod:`geosuff.disclosure`).
    """
    path = as_source(path)
    fname = path.name
    raw = read_raw(path, name="placements", expect_columns=_PLACEMENT_KEYS)
    df, map_issues = _map_columns(raw, PLACEMENT_COLUMNS, fname=fname, name="placements")
    issues: list[Issue] = list(raw.issues) + map_issues
    has_home_pts = {"HOME_EASTING", "HOME_NORTHING"} <= set(df.columns) or {
        "HOME_LON",
        "HOME_LAT",
    } <= set(df.columns)
    has_pl_pts = {"PL_EASTING", "PL_NORTHING"} <= set(df.columns) or {"PL_LON", "PL_LAT"} <= set(
        df.columns
    )
    need = ["CHILD", "PLACE"]
    if not has_home_pts:
        need.append("HOME_POST")
    if not has_pl_pts:
        need.append("PL_POST")
    _require(
        df,
        need,
        name="placements",
        path=path,
        hint="The placements file needs CHILD, PLACE, HOME_POST and PL_POST (SSDA903 names), or HOME_EASTING/HOME_NORTHING and PL_EASTING/PL_NORTHING instead of the postcodes.",
    )
    if len(df) == 0:
        raise InputFileError(
            f"The placements file {fname} has a header but no rows.",
            fix="Export the episodes again.",
        )
    issues += _unused_columns_issue(
        df, PLACEMENT_COLUMNS, fname=fname, keep_ok=("data_note", "NOTE", "NOTES")
    )
    issues += _first_rows(raw, fname)

    n = len(df)
    out = pd.DataFrame({"row": np.arange(1, n + 1), "line": raw.lines}, index=df.index)
    out["CHILD"] = pd.array(df["CHILD"].astype(str).to_numpy(), dtype="string")
    place = df["PLACE"].astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    out["PLACE"] = pd.array(place.to_numpy(), dtype="string")
    if "URN" in df.columns:
        out["URN"] = pd.array(df["URN"].astype(str).to_numpy(), dtype="string")

    blank_row = (df.astype(str) == "").all(axis=1).to_numpy()
    excluded = np.full(n, "", dtype=object)
    estimate = np.full(n, "", dtype=object)
    for i in _where(blank_row):
        excluded[i] = "blank row"
        issues.append(
            Issue(fname, int(i) + 1, None, None, "blank row; excluded", "error", "row.blank")
        )
    for i, r in raw.bad_rows.items():
        excluded[i] = excluded[i] or r

    live = ~blank_row
    live[list(raw.bad_rows)] = False
    codes = placement_codes().set_index("code")["group"]
    out["place_group"] = out["PLACE"].map(codes).fillna("unknown")
    _v_place = _col(df, "PLACE")
    for i in _where((out["place_group"] == "unknown").to_numpy() & live):
        v = str(_v_place[i])
        if v == "":
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "PLACE",
                    "",
                    "missing PLACE code; counted in placement group 'unknown'",
                    "warning",
                    "place.missing",
                )
            )
        else:
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "PLACE",
                    v,
                    f"unknown PLACE code {v[:12]!r} (not an SSDA903 placement type such as U1-U6, K2, H5, P2); counted in placement group 'unknown'",
                    "warning",
                    "place.unknown",
                )
            )
    provider_notes = _provider_columns(df, out, issues, fname, live)
    blank_child = (out["CHILD"].fillna("").str.strip() == "").to_numpy() & live
    for i in _where(blank_child):
        issues.append(
            Issue(
                fname,
                int(i) + 1,
                "CHILD",
                "",
                "missing CHILD id; the placement is still counted, but cannot be checked for duplicates",
                "warning",
                "child.missing",
            )
        )

    # dates: episode start and end; the snapshot is the episodes open on the reference date
    ref = pd.Timestamp(reference_date or default_reference_date())
    ref_txt = f"{ref.date():%d/%m/%Y}"
    decom = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if "DECOM" in df.columns:
        decom, prob = parse_uk_dates_detail(df["DECOM"], pivot_year=ref.year)
        _date_issues(
            issues, estimate, prob, df["DECOM"], fname, "DECOM", "placement start date", live
        )
        after = (decom > ref).fillna(False).to_numpy() & live
        _v_decom = _col(df, "DECOM")
        for i in _where(after):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "DECOM",
                    str(_v_decom[i]),
                    f"placement starts after the reference date {ref_txt}; not in the snapshot, excluded",
                    "warning",
                    "date.after_reference",
                )
            )
            if not excluded[i]:
                excluded[i] = "episode starts after the reference date"
    out["DECOM"] = decom
    dec = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if "DEC" in df.columns:
        dec, prob = parse_uk_dates_detail(df["DEC"], pivot_year=ref.year)
        _date_issues(issues, estimate, prob, df["DEC"], fname, "DEC", "episode end date", live)
        _v_dec = _col(df, "DEC")
        for i in _where((dec < decom).fillna(False).to_numpy() & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "DEC",
                    str(_v_dec[i]),
                    "episode ends before it starts (DEC before DECOM)",
                    "warning",
                    "date.end_before_start",
                )
            )
        # an episode ending on the reference date is not open on it
        ended = (dec <= ref).fillna(False).to_numpy() & live
        dec_v = dec.to_numpy()
        n_ended = 0
        for i in _where(ended):
            if excluded[i]:
                continue
            d = pd.Timestamp(dec_v[i])
            if d < ref:
                excluded[i] = (
                    f"episode ended on {d.date():%d/%m/%Y}, before the reference date {ref_txt}"
                )
            else:
                excluded[i] = (
                    f"episode ended on the reference date {ref_txt}, so it is not open on it"
                )
            n_ended += 1
        if n_ended:
            issues.append(
                Issue(
                    fname,
                    None,
                    "DEC",
                    None,
                    f"{n_ended} episode(s) ended on or before the reference date {ref_txt}; not in the snapshot of children looked after, excluded",
                    "warning",
                    "episode.ended",
                )
            )
    out["DEC"] = dec

    # locations
    for side, pc_col, label in (("home", "HOME_POST", "home"), ("pl", "PL_POST", "placement")):
        up = side.upper()
        cols: dict[str, str | None] = {
            "postcode": pc_col if pc_col in df.columns else None,
            "easting": f"{up}_EASTING" if f"{up}_EASTING" in df.columns else None,
            "northing": f"{up}_NORTHING" if f"{up}_NORTHING" in df.columns else None,
            "lon": f"{up}_LON" if f"{up}_LON" in df.columns else None,
            "lat": f"{up}_LAT" if f"{up}_LAT" in df.columns else None,
        }
        sub = df[[c for c in cols.values() if c is not None]]
        loc, loc_issues = locate_points(
            sub,
            lookup,
            file=fname,
            boundaries=boundaries,
            columns=cols,
            label=label,
            prefer="postcode",
            missing_severity="warning",
            outside_england="warning",
            unlocated_suffix="; the distance is counted as 'Not known or not recorded'",
        )
        issues += [iss for iss in loc_issues if iss.row is None or live[iss.row - 1]]
        out[f"{side}_post"] = (
            loc["postcode"] if "postcode" in loc else pd.array([pd.NA] * n, dtype="string")
        )
        out[f"{side}_e"] = loc["easting"].to_numpy(dtype=float)
        out[f"{side}_n"] = loc["northing"].to_numpy(dtype=float)
        out[f"{side}_reason"] = loc["location_reason"].to_numpy(dtype=object)
        out[f"{side}_source"] = loc["location_source"].to_numpy(dtype=object)
        loc_note = loc["location_note"].to_numpy(dtype=object)
        for i in _where(loc["location_estimated"].to_numpy(dtype=bool)):
            estimate[i] = _join_reasons(estimate[i], str(loc_note[i]))
        if side == "pl":
            out["pl_ltla"] = loc["ltla"]
            out["pl_utla"] = loc["utla"]
        else:
            out["home_utla"] = loc["utla"]
            out["home_ltla"] = loc["ltla"]
    out = out.rename(columns={"home_post": "HOME_POST", "pl_post": "PL_POST"})

    # ages
    if "DOB" in df.columns:
        dob, prob = parse_uk_dates_detail(df["DOB"], pivot_year=ref.year)
        _date_issues(issues, estimate, prob, df["DOB"], fname, "DOB", "date of birth", live)
        age = (ref - dob).dt.days / 365.25
        future = (age < 0).fillna(False).to_numpy() & live
        _v_dob = _col(df, "DOB")
        for i in _where(future):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "DOB",
                    str(_v_dob[i]),
                    f"date of birth is after the reference date {ref.date():%d/%m/%Y}; age not known",
                    "warning",
                    "dob.future",
                )
            )
        years = completed_years(dob, ref)
        old = (years >= MAX_CHILD_AGE_YEARS).fillna(False).to_numpy() & live
        _v_dob = _col(df, "DOB")
        for i in _where(old):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "DOB",
                    str(_v_dob[i]),
                    f"date of birth makes the child {int(years.iat[i])} years old at the reference date (children looked after are under 18); excluded",
                    "warning",
                    "dob.too_old",
                )
            )
            excluded[i] = excluded[i] or TOO_OLD_REASON
        before = (decom < dob).fillna(False).to_numpy() & live
        _v_decom = _col(df, "DECOM")
        for i in _where(before):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "DECOM",
                    str(_v_decom[i]),
                    "placement starts before the date of birth",
                    "warning",
                    "date.before_birth",
                )
            )
        out["age"] = age.where(
            ~(pd.Series(future, index=age.index) | pd.Series(old, index=age.index))
        ).to_numpy(dtype=float)
    elif "AGE" in df.columns:
        age_num, bad = _to_number(df["AGE"])
        _v_age = _col(df, "AGE")
        for i in _where(bad & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "AGE",
                    str(_v_age[i]),
                    "AGE is not a number of years; age not known",
                    "warning",
                    "age.not_a_number",
                )
            )
        implausible = np.isfinite(age_num) & (age_num < 0)
        too_old = np.isfinite(age_num) & (age_num >= MAX_CHILD_AGE_YEARS)
        _v_age = _col(df, "AGE")
        for i in _where(implausible & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "AGE",
                    str(_v_age[i]),
                    "AGE is not a child's age (0-17); age not used",
                    "warning",
                    "age.implausible",
                )
            )
        for i in _where(too_old & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "AGE",
                    str(_v_age[i]),
                    "AGE is 18 or over (children looked after are under 18); excluded",
                    "warning",
                    "age.too_old",
                )
            )
            excluded[i] = excluded[i] or TOO_OLD_REASON
        out["age"] = np.where(implausible | too_old, np.nan, age_num)
    else:
        out["age"] = np.nan
    out["age_band"] = age_band(out["age"])

    # duplicates: one row per child among the rows still in the snapshot
    _dedupe_placements(df, out, decom, excluded, issues, fname, live & ~blank_child)
    if "UASC" in df.columns:
        u = df["UASC"].astype(str).str.strip().str.lower()
        out["uasc"] = pd.array(
            [True if v in _TRUE else (False if v in _FALSE else pd.NA) for v in u], dtype="boolean"
        )
        _v_uasc = _col(df, "UASC")
        for i in _where(~u.isin(_TRUE | _FALSE).to_numpy() & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "UASC",
                    str(_v_uasc[i]),
                    "UASC flag should be 1/0, Y/N or True/False; UASC not known",
                    "warning",
                    "uasc.invalid",
                )
            )
    else:
        out["uasc"] = pd.array([pd.NA] * n, dtype="boolean")
    need_cols = read_need_columns(df, fname=fname, live=live)
    out["disabled"] = need_cols.disabled
    out["needs"] = need_cols.needs
    issues += need_cols.issues
    need_reason = need_cols.reasons

    # status and reason
    reasons: list[str] = []
    status: list[str] = []
    home_reason = out["home_reason"].to_numpy(dtype=object)
    pl_reason = out["pl_reason"].to_numpy(dtype=object)
    for i in range(n):
        parts = []
        h, p = home_reason[i], pl_reason[i]
        if h:
            parts.append(f"home postcode: {h}")
        if p:
            parts.append(f"placement postcode: {p}")
        if need_reason[i]:
            parts.append(str(need_reason[i]))
        if excluded[i]:
            status.append(STATUS_EXCLUDED)
            reasons.append(_join_reasons(excluded[i]))
        elif estimate[i]:
            status.append(STATUS_ESTIMATE)
            reasons.append(_join_reasons(estimate[i], *parts))
        else:
            status.append(STATUS_USED)
            reasons.append("; ".join(parts))
        if provider_notes[i] and not excluded[i]:
            reasons[-1] = _join_reasons(reasons[-1], provider_notes[i])
    out["reason"] = pd.array(reasons, dtype=object)
    out["status"] = pd.array(status, dtype=object)
    both = (out["home_reason"] == "") & (out["pl_reason"] == "")
    logger.info(
        "Placements %s: %d rows, %d with both ends located, %d excluded",
        fname,
        n,
        int(both.sum()),
        int((out["status"] == STATUS_EXCLUDED).sum()),
    )
    meta = dict(raw.meta)
    meta["date_style"] = date_style(*(df[c] for c in ("DECOM", "DEC", "DOB") if c in df))
    return Loaded("placements", path, out, issues, meta)


def _provider_columns(
    df: pd.DataFrame, out: pd.DataFrame, issues: list[Issue], fname: str, live: np.ndarray
) -> np.ndarray:
    """``PLACE_PROVIDER`` (SSDA903 PR0-PR5) and its sector (``placement_providers.csv``) into
    ``out``; the note each row's reason gets (unknown code), one per row ("" for none).

    A row whose code is blank or not in the file keeps its place in every count; its sector is
    ``not_known``. Without the column, every sector is ``not_known`` and no issue is raised.
    """
    n = len(df)
    notes = np.full(n, "", dtype=object)
    codes = reference.provider_codes()
    if "PLACE_PROVIDER" not in df.columns:
        out["PLACE_PROVIDER"] = pd.array([pd.NA] * n, dtype="string")
        out["provider_sector"] = reference.SECTOR_NOT_KNOWN
        return notes
    raw_v = df["PLACE_PROVIDER"].astype(str).str.strip()
    code = raw_v.str.upper().str.replace(r"\s+", "", regex=True)
    out["PLACE_PROVIDER"] = pd.array(code.to_numpy(), dtype="string")
    sector = code.map({c: p.sector for c, p in codes.items()}).fillna(reference.SECTOR_NOT_KNOWN)
    out["provider_sector"] = sector.to_numpy(dtype=object)
    unknown = (sector == reference.SECTOR_NOT_KNOWN).to_numpy() & live
    allowed = ", ".join(codes)
    for i in _where(unknown):
        v = str(raw_v.iat[i])
        if v == "":
            msg = "PLACE_PROVIDER is blank; provider sector not known (the placement is still counted)"
            code_ = "place_provider.missing"
        else:
            msg = (
                f"unknown PLACE_PROVIDER code {v[:12]!r} (SSDA903 codes are {allowed}); "
                "provider sector not known (the placement is still counted)"
            )
            code_ = "place_provider.unknown"
        issues.append(Issue(fname, int(i) + 1, "PLACE_PROVIDER", v, msg, "warning", code_))
        notes[i] = msg
    return notes


TOO_OLD_REASON = "aged 18 or over at the reference date: not a child looked after"


def completed_years(dob: pd.Series, ref: pd.Timestamp) -> pd.Series:
    """Whole years of age on ``ref`` (birthdays counted by the calendar; NaN where ``dob`` is NaT).

    A child born on 29 February turns a year older on 1 March in a non-leap year.
    """
    years = ref.year - dob.dt.year
    before_birthday = (dob.dt.month > ref.month) | (
        (dob.dt.month == ref.month) & (dob.dt.day > ref.day)
    )
    return (years - before_birthday.astype(float)).where(dob.notna())


def _date_issues(
    issues: list[Issue],
    estimate: np.ndarray,
    prob: pd.Series,
    raw: pd.Series,
    fname: str,
    col: str,
    what: str,
    live: np.ndarray,
) -> None:
    pv = prob.to_numpy(dtype=object)
    raw_vals = raw.to_numpy(dtype=object)
    for i in _where((pv != "") & live):
        p = pv[i]
        v = str(raw_vals[i])
        if p == "US-style date (month/day)":
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    col,
                    v,
                    f"{what} looks like a US-style date (month/day/year); read as day {v.split('/')[1] if '/' in v else '?'} - use DD/MM/YYYY",
                    "warning",
                    "date.us_format",
                )
            )
            estimate[i] = _join_reasons(estimate[i], f"{what} read as a US-style date")
        elif p == "Excel serial day number":
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    col,
                    v,
                    f"{what} is an Excel serial day number; converted to a date - format the column as a date (DD/MM/YYYY)",
                    "warning",
                    "date.excel_serial",
                )
            )
            estimate[i] = _join_reasons(estimate[i], f"{what} converted from an Excel day number")
        elif p == "not a real date":
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    col,
                    v,
                    f"{what} is not a real calendar date (e.g. 31/02); not known",
                    "warning",
                    "date.invalid",
                )
            )
        else:
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    col,
                    v,
                    f"{what} is not a date (use DD/MM/YYYY); not known",
                    "warning",
                    "date.invalid",
                )
            )


def _dedupe_placements(
    df: pd.DataFrame,
    out: pd.DataFrame,
    decom: pd.Series,
    excluded: np.ndarray,
    issues: list[Issue],
    fname: str,
    live: np.ndarray,
) -> None:
    """Mark duplicate rows and earlier episodes of the same child as excluded."""
    child = out["CHILD"].fillna("").str.strip().to_numpy(dtype=object)
    idx = np.flatnonzero(live & (excluded == ""))
    if idx.size == 0:
        return
    ids = pd.Series(child[idx], index=idx)
    dup_ids = ids[ids.duplicated(keep=False)]
    if dup_ids.empty:
        return
    sub = df.loc[df.index[dup_ids.index]].astype(str)
    keys = ["\x1f".join(r) for r in sub.itertuples(index=False, name=None)]
    full: dict[int, str] = dict(zip(dup_ids.index.tolist(), keys, strict=True))
    for _, grp in dup_ids.groupby(dup_ids.to_numpy(), sort=False):
        rows = list(grp.index)
        # exact duplicates first
        first_of: dict[str, int] = {}
        remaining = []
        for i in rows:
            key = full[i]
            if key in first_of:
                excluded[i] = f"exact duplicate of row {first_of[key] + 1}"
                issues.append(
                    Issue(
                        fname,
                        i + 1,
                        "CHILD",
                        child[i],
                        f"row is an exact duplicate of row {first_of[key] + 1}; counted once",
                        "warning",
                        "child.duplicate_row",
                    )
                )
            else:
                first_of[key] = i
                remaining.append(i)
        if len(remaining) < 2:
            continue
        starts = decom.iloc[remaining]
        if starts.notna().all() and starts.nunique() == len(remaining):
            latest = remaining[int(np.argmax(starts.to_numpy()))]
            for i in remaining:
                if i != latest:
                    excluded[i] = f"an earlier episode of the child in row {latest + 1}"
                    issues.append(
                        Issue(
                            fname,
                            i + 1,
                            "CHILD",
                            child[i],
                            f"an earlier placement episode of the same child (row {latest + 1} starts later and is used)",
                            "warning",
                            "child.earlier_episode",
                        )
                    )
        else:
            keep = remaining[0]
            for i in remaining[1:]:
                excluded[i] = f"duplicate CHILD id (row {keep + 1} is used)"
                issues.append(
                    Issue(
                        fname,
                        i + 1,
                        "CHILD",
                        child[i],
                        f"duplicate CHILD id with different details from row {keep + 1}, and no distinct DECOM dates to tell which placement is current; only row {keep + 1} is used - fix the export",
                        "error",
                        "child.duplicate_id",
                    )
                )


AGE_BANDS = reference.AGE_BANDS


def age_band(age: pd.Series) -> pd.Series:
    """DfE age bands for children looked after."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series(pd.array([reference.AGE_NOT_KNOWN] * len(a), dtype="string"), index=a.index)
    for lo, hi, label in AGE_BANDS:
        out[(a >= lo) & (a < hi)] = label
    return out


# ----------------------------------------------------------------------------------------------
# Provision sites and candidate properties
# ----------------------------------------------------------------------------------------------
_LOCATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "postcode": ("POST_CODE", "PCD", "PC", "POSTCODE_"),
    "easting": ("X", "EAST", "OSEAST", "GRID_EASTING"),
    "northing": ("Y", "NORTH", "OSNORTH", "GRID_NORTHING"),
    "lon": ("LONGITUDE", "LNG", "LONG"),
    "lat": ("LATITUDE",),
}

SITE_COLUMNS: dict[str, tuple[str, ...]] = {
    "site_id": ("SITE", "ID", "SITE_REF", "SITE_CODE"),
    "type": ("SITE_TYPE", "PROVISION_TYPE", "SERVICE_TYPE"),
    "places": ("CAPACITY", "BEDS", "REGISTERED_PLACES", "NUMBER_OF_PLACES"),
    "available_places": ("VACANCIES", "AVAILABLE", "FREE_PLACES"),
    "name": ("SITE_NAME",),
    "urn": ("OFSTED_URN",),
    "rating": ("OFSTED_RATING",),
    "sector": ("PROVIDER_SECTOR", "OPERATOR", "RUN_BY"),
    "data_note": (),
    **_LOCATION_COLUMNS,
}

CANDIDATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "candidate_id": ("CANDIDATE", "ID", "PROPERTY_ID", "PROPERTY_REF", "UPRN"),
    "bedrooms": ("BEDS", "BEDROOMS_", "NUMBER_OF_BEDROOMS"),
    "uses": ("USE", "POSSIBLE_USES", "SUITABLE_FOR"),
    "name": ("PROPERTY_NAME",),
    "condition": (),
    "cost": ("COST_GBP", "CONVERSION_COST", "ESTIMATED_COST"),
    "tenure": (),
    "available_from": ("AVAILABLE", "AVAILABLE_DATE"),
    "data_note": (),
    **_LOCATION_COLUMNS,
}


def _whole_number_issues(
    df: pd.DataFrame,
    col: str,
    fname: str,
    live: np.ndarray,
    *,
    what: str,
    severity: str,
    code: str,
    allow_zero: bool = True,
    max_value: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Issue]]:
    """Parse a count column: (values, bad mask, issues)."""
    issues_list: list[Issue] = []
    vals, not_num = _to_number(df[col])
    blank = (df[col].astype(str) == "").to_numpy()
    frac = np.isfinite(vals) & (vals != np.round(vals))
    neg = np.isfinite(vals) & ((vals < 0) | (~allow_zero & (vals == 0)))
    bad = (not_num | blank | frac | neg) & live
    _v_col = _col(df, col)
    for i in _where(bad):
        v = str(_v_col[i])
        if blank[i]:
            msg = f"{what} is blank"
        elif not_num[i]:
            msg = f"{what} is not a number"
        elif frac[i]:
            msg = f"{what} must be a whole number"
        else:
            msg = f"{what} must be {'0 or more' if allow_zero else '1 or more'}"
        issues_list.append(Issue(fname, int(i) + 1, col, v, msg, severity, code))
    if max_value is not None:
        _v_col = _col(df, col)
        for i in _where(np.isfinite(vals) & (vals > max_value) & live & ~bad):
            issues_list.append(
                Issue(
                    fname,
                    int(i) + 1,
                    col,
                    str(_v_col[i]),
                    f"{what} {vals[i]:g} is unusually large (more than {max_value:g}); check it",
                    "warning",
                    code + "_large",
                )
            )
    return vals, bad, issues_list
