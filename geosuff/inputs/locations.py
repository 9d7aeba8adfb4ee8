"""Locations: postcode, lon/lat or easting/northing to British National Grid, with every failure explained."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from pyproj import Transformer

from geosuff._errors import InputFileError
from geosuff.inputs._base import (
    _STRIP_CHARS,
    BNG_MAX_E,
    BNG_MAX_N,
    BNG_MIN_E,
    BNG_MIN_N,
    POSTCODE_COORD_DISAGREE_M,
    UK_LAT_MAX,
    UK_LAT_MIN,
    UK_LON_MAX,
    UK_LON_MIN,
    WEBMERC_X_MAX,
    WEBMERC_X_MIN,
    WEBMERC_Y_MAX,
    WEBMERC_Y_MIN,
    Issue,
)
from geosuff.inputs.boundaries import Boundaries
from geosuff.inputs.postcodes import ONSPD_SOURCE, PostcodeLookup, default_lookup, utla_of_ltla
from geosuff.inputs.reading import _find_col, _where
from geosuff.reference import BNG, WGS84

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Locations: postcode, lon/lat, or easting/northing
# ----------------------------------------------------------------------------------------------
_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)
_MERC_TO_BNG = Transformer.from_crs("EPSG:3857", BNG, always_xy=True)

_NUM_CLEAN_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def _to_number(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from text cells: (values, not_a_number mask for non-blank cells that are not numbers).

    Thousands separators (``486,137``), a Unicode minus and surrounding spaces are accepted.
    """
    s = values.astype(object).where(values.notna(), "")
    txt = pd.Series(
        [str(v).strip(_STRIP_CHARS).replace("\u2212", "-") for v in s],
        index=values.index,
        dtype=object,
    )
    thousands = txt.str.match(_NUM_CLEAN_RE.pattern)
    if thousands.any():
        txt = txt.where(~thousands, txt.str.replace(",", "", regex=False))
    num = pd.to_numeric(txt.replace("", np.nan), errors="coerce").to_numpy(dtype=float)
    bad = (txt != "").to_numpy(dtype=bool) & ~np.isfinite(num)
    return num, bad


def _in_grid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result: np.ndarray = (
        np.isfinite(x)
        & np.isfinite(y)
        & (x >= BNG_MIN_E)
        & (x <= BNG_MAX_E)
        & (y >= BNG_MIN_N)
        & (y <= BNG_MAX_N)
    )
    return result


def _is_lonlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= UK_LON_MIN) & (x <= UK_LON_MAX) & (y >= UK_LAT_MIN) & (y <= UK_LAT_MAX)


@dataclass
class _Loc:
    """Working arrays of :func:`locate_points`."""

    n: int
    e: np.ndarray = field(init=False)
    nn: np.ndarray = field(init=False)
    source: np.ndarray = field(init=False)
    note: np.ndarray = field(init=False)
    estimated: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.e = np.full(self.n, np.nan)
        self.nn = np.full(self.n, np.nan)
        self.source = np.full(self.n, "", dtype=object)
        self.note = np.full(self.n, "", dtype=object)
        self.estimated = np.zeros(self.n, dtype=bool)


def _classify_en(
    x: np.ndarray,
    y: np.ndarray,
    given: np.ndarray,
    *,
    file: str,
    col: str | None,
    label: str,
    issues: list[Issue],
    bad_severity: str,
) -> _Loc:
    """Turn easting/northing pairs into BNG points, detecting pairs given in the wrong CRS."""
    loc = _Loc(len(x))
    lbl = f"{label} " if label else ""
    for i in _where(given):
        xi, yi = float(x[i]), float(y[i])
        val = f"{xi:g}, {yi:g}"
        if xi == 0 and yi == 0:
            issues.append(
                Issue(
                    file,
                    i + 1,
                    col,
                    val,
                    f"{lbl}coordinates are 0, 0 (a missing value written as zero?)",
                    bad_severity,
                    "coords.zero",
                )
            )
            continue
        if UK_LON_MIN <= xi <= UK_LON_MAX and UK_LAT_MIN <= yi <= UK_LAT_MAX:
            cx, cy = _TO_BNG.transform(xi, yi)
            loc.e[i], loc.nn[i] = cx, cy
            loc.source[i] = "lon/lat given as easting/northing"
            loc.note[i] = (
                f"{lbl}easting/northing are longitude/latitude (degrees); converted from WGS84"
            )
            loc.estimated[i] = True
            issues.append(
                Issue(
                    file,
                    i + 1,
                    col,
                    val,
                    f"{lbl}easting/northing look like longitude/latitude in degrees (WGS84, EPSG:4326), not metres; converted to British National Grid",
                    "warning",
                    "coords.lonlat_as_en",
                )
            )
            continue
        if UK_LAT_MIN <= xi <= UK_LAT_MAX and UK_LON_MIN <= yi <= UK_LON_MAX:
            cx, cy = _TO_BNG.transform(yi, xi)
            loc.e[i], loc.nn[i] = cx, cy
            loc.source[i] = "lat/lon given as easting/northing"
            loc.note[i] = (
                f"{lbl}easting/northing are latitude/longitude (degrees); converted from WGS84"
            )
            loc.estimated[i] = True
            issues.append(
                Issue(
                    file,
                    i + 1,
                    col,
                    val,
                    f"{lbl}easting/northing look like latitude, longitude in degrees (WGS84, EPSG:4326); converted to British National Grid",
                    "warning",
                    "coords.lonlat_as_en",
                )
            )
            continue
        if WEBMERC_X_MIN <= xi <= WEBMERC_X_MAX and WEBMERC_Y_MIN <= yi <= WEBMERC_Y_MAX:
            cx, cy = _MERC_TO_BNG.transform(xi, yi)
            loc.e[i], loc.nn[i] = cx, cy
            loc.source[i] = "Web Mercator"
            loc.note[i] = f"{lbl}coordinates are Web Mercator (EPSG:3857); converted"
            loc.estimated[i] = True
            issues.append(
                Issue(
                    file,
                    i + 1,
                    col,
                    val,
                    f"{lbl}coordinates look like Web Mercator metres (EPSG:3857, web maps), not British National Grid; converted",
                    "warning",
                    "coords.webmercator",
                )
            )
            continue
        if 0 < xi <= BNG_MAX_E / 1000 and 0 < yi <= BNG_MAX_N / 1000:
            loc.e[i], loc.nn[i] = xi * 1000, yi * 1000
            loc.source[i] = "easting/northing in km"
            loc.note[i] = f"{lbl}easting/northing are in kilometres; multiplied by 1000"
            loc.estimated[i] = True
            issues.append(
                Issue(
                    file,
                    i + 1,
                    col,
                    val,
                    f"{lbl}easting/northing look like kilometres, not metres; multiplied by 1000",
                    "warning",
                    "coords.km",
                )
            )
            continue
        if BNG_MIN_E <= xi <= BNG_MAX_E and BNG_MIN_N <= yi <= BNG_MAX_N:
            loc.e[i], loc.nn[i] = xi, yi
            loc.source[i] = "easting/northing"
            continue
        if BNG_MIN_E <= yi <= BNG_MAX_E and BNG_MIN_N <= xi <= BNG_MAX_N:
            loc.e[i], loc.nn[i] = yi, xi
            loc.source[i] = "easting/northing (swapped)"
            loc.note[i] = f"{lbl}easting and northing were swapped"
            loc.estimated[i] = True
            issues.append(
                Issue(
                    file,
                    i + 1,
                    col,
                    val,
                    f"{lbl}easting and northing look swapped (easting above 700 km is off the National Grid); swapped them back",
                    "warning",
                    "coords.swapped",
                )
            )
            continue
        issues.append(
            Issue(
                file,
                i + 1,
                col,
                val,
                f"{lbl}coordinates are outside Great Britain's National Grid (easting 0-700000, northing 0-1300000 metres) and are not longitude/latitude either",
                bad_severity,
                "coords.outside_grid",
            )
        )
    return loc


def locate_points(  # noqa: C901
    df: pd.DataFrame,
    lookup: PostcodeLookup | None = None,
    *,
    prefix: str = "",
    file: str = "input",
    boundaries: Boundaries | None = None,
    columns: dict[str, str | None] | None = None,
    label: str = "",
    prefer: str = "coordinates",
    missing_severity: str = "error",
    outside_england: str = "error",
    unlocated_suffix: str = "",
) -> tuple[pd.DataFrame, list[Issue]]:
    """Resolve each row's location to ``easting``/``northing`` (EPSG:27700).

    A location is any one of: ``postcode``; ``lon``,``lat`` (EPSG:4326); ``easting``,``northing``
    (EPSG:27700). Coordinates given in the wrong system are detected, converted and reported as
    warnings: longitude/latitude (or latitude/longitude) in the easting/northing columns,
    eastings/northings in the lon/lat columns, swapped lon/lat, swapped easting/northing, Web
    Mercator metres, kilometres instead of metres. Points outside England (beyond
    :data:`ENGLAND_TOLERANCE_M` of every LA) are reported when ``boundaries`` is given.

    Parameters
    ----------
    df : DataFrame
        The rows (text or numbers); row ``i`` (0-based position) is reported as row ``i + 1``.
    lookup : PostcodeLookup, optional
        For postcodes (default: the packaged ONSPD).
    prefix : str, keyword-only
        Column-name prefix tried first (``"home_"`` finds ``home_postcode``...).
    file : str, keyword-only
        File name for the issues.
    boundaries : Boundaries, keyword-only, optional
        England's LA polygons, for the "outside England" check and the LA of coordinate points.
    columns : dict, keyword-only, optional
        Explicit column names for ``postcode``, ``easting``, ``northing``, ``lon``, ``lat``.
    label : str, keyword-only
        Prefix of messages ("home", "placement").
    prefer : {"coordinates", "postcode"}, keyword-only
        Which to use when a row has both (the DfE measure uses postcodes).
    missing_severity : {"error", "warning"}, keyword-only
        Severity of a row with no usable location ("warning" when the row is still used, e.g. a
        placement whose distance is then "not known").
    outside_england : {"error", "warning"}, keyword-only
        Severity of a point outside England; with "warning" the point is kept.
    unlocated_suffix : str, keyword-only
        Appended to the message of a row left without a location (what happens to the row).

    Returns
    -------
    (DataFrame, list of Issue)
        A new frame (same index) with ``easting``, ``northing`` (NaN if not located),
        ``location_reason`` ("" if located), ``location_source``, ``location_note`` (what was
        corrected), ``location_estimated`` (bool), ``postcode`` (normalised, if a postcode column
        exists), ``ltla`` and ``utla``; and the issues found.
    """
    n = len(df)
    issues: list[Issue] = []
    cols = dict(columns or {})
    ecol = (
        cols.get("easting", None)
        if "easting" in cols
        else _find_col(df, f"{prefix}easting", "easting", "x")
    )
    ncol = (
        cols.get("northing", None)
        if "northing" in cols
        else _find_col(df, f"{prefix}northing", "northing", "y")
    )
    loncol = (
        cols.get("lon", None)
        if "lon" in cols
        else _find_col(df, f"{prefix}lon", "lon", "longitude", "lng", "long")
    )
    latcol = (
        cols.get("lat", None) if "lat" in cols else _find_col(df, f"{prefix}lat", "lat", "latitude")
    )
    pccol = (
        cols.get("postcode", None)
        if "postcode" in cols
        else _find_col(df, f"{prefix}postcode", "postcode", "post_code", "pcd", "post code")
    )
    lbl = f"{label} " if label else ""

    if (ecol is None or ncol is None) and (loncol is None or latcol is None) and pccol is None:
        have = [c for c in (ecol, ncol, loncol, latcol) if c]
        raise InputFileError(
            f"The {file} file has no location columns"
            + (f" (only {', '.join(have)} of a coordinate pair)" if have else "")
            + ".",
            fix="Give each row a 'postcode', or 'lon' and 'lat', or 'easting' and 'northing'.",
        )

    def _num(col: str | None) -> tuple[np.ndarray, np.ndarray]:
        if col is None:
            return np.full(n, np.nan), np.zeros(n, dtype=bool)
        return _to_number(df[col])

    ex, bad_ex = _num(ecol)
    ny, bad_ny = _num(ncol)
    lon, bad_lon = _num(loncol)
    lat, bad_lat = _num(latcol)
    for col, bad, vals in (
        (ecol, bad_ex, ecol),
        (ncol, bad_ny, ncol),
        (loncol, bad_lon, loncol),
        (latcol, bad_lat, latcol),
    ):
        if col is None:
            continue
        for i in _where(bad):
            issues.append(
                Issue(
                    file,
                    int(i) + 1,
                    col,
                    str(df[vals].to_numpy(dtype=object)[i]),
                    f"{lbl}{col} is not a number",
                    missing_severity if pccol is None else "warning",
                    "coords.not_a_number",
                )
            )
    # half pairs
    for a, b, acol, bcol in ((ex, ny, ecol, ncol), (lon, lat, loncol, latcol)):
        if acol is None or bcol is None:
            continue
        half = np.isfinite(a) ^ np.isfinite(b)
        for i in _where(half):
            given, missing = (acol, bcol) if np.isfinite(a[i]) else (bcol, acol)
            issues.append(
                Issue(
                    file,
                    int(i) + 1,
                    missing,
                    "",
                    f"{lbl}{given} is given but {missing} is blank",
                    missing_severity if pccol is None else "warning",
                    "coords.half_pair",
                )
            )

    coord_sev = missing_severity if pccol is None else "warning"
    has_en = np.isfinite(ex) & np.isfinite(ny)
    loc = _classify_en(
        ex, ny, has_en, file=file, col=ecol, label=label, issues=issues, bad_severity=coord_sev
    )

    # lon/lat columns (used where no easting/northing)
    has_ll = ~has_en & np.isfinite(lon) & np.isfinite(lat)
    for i in _where(has_ll):
        xi, yi = float(lon[i]), float(lat[i])
        val = f"{xi:g}, {yi:g}"
        if xi == 0 and yi == 0:
            issues.append(
                Issue(
                    file,
                    i + 1,
                    loncol,
                    val,
                    f"{lbl}lon/lat are 0, 0 (a missing value written as zero?)",
                    coord_sev,
                    "coords.zero",
                )
            )
        elif UK_LON_MIN <= xi <= UK_LON_MAX and UK_LAT_MIN <= yi <= UK_LAT_MAX:
            loc.e[i], loc.nn[i] = _TO_BNG.transform(xi, yi)
            loc.source[i] = "lon/lat"
        elif UK_LAT_MIN <= xi <= UK_LAT_MAX and UK_LON_MIN <= yi <= UK_LON_MAX:
            loc.e[i], loc.nn[i] = _TO_BNG.transform(yi, xi)
            loc.source[i] = "lon/lat (swapped)"
            loc.note[i] = f"{lbl}lon and lat were swapped"
            loc.estimated[i] = True
            issues.append(
                Issue(
                    file,
                    i + 1,
                    loncol,
                    val,
                    f"{lbl}lon and lat look swapped (latitude in the lon column); swapped them back",
                    "warning",
                    "coords.lonlat_swapped",
                )
            )
        elif abs(xi) > 180 or abs(yi) > 90:
            sub = _classify_en(
                np.array([xi]),
                np.array([yi]),
                np.array([True]),
                file=file,
                col=loncol,
                label=label,
                issues=[],
                bad_severity=coord_sev,
            )
            if np.isfinite(sub.e[0]):
                loc.e[i], loc.nn[i] = sub.e[0], sub.nn[0]
                loc.source[i] = "easting/northing given as lon/lat"
                loc.note[i] = f"{lbl}lon/lat are British National Grid metres"
                loc.estimated[i] = True
                issues.append(
                    Issue(
                        file,
                        i + 1,
                        loncol,
                        val,
                        f"{lbl}lon/lat look like easting/northing in metres (British National Grid), not degrees; used them as EPSG:27700",
                        "warning",
                        "coords.en_as_lonlat",
                    )
                )
            else:
                issues.append(
                    Issue(
                        file,
                        i + 1,
                        loncol,
                        val,
                        f"{lbl}lon/lat are not valid degrees (longitude -180..180, latitude -90..90)",
                        coord_sev,
                        "coords.outside_grid",
                    )
                )
        else:
            issues.append(
                Issue(
                    file,
                    i + 1,
                    loncol,
                    val,
                    f"{lbl}lon/lat are outside the UK (longitude {UK_LON_MIN:g}..{UK_LON_MAX:g}, latitude {UK_LAT_MIN:g}..{UK_LAT_MAX:g})",
                    coord_sev,
                    "coords.outside_uk",
                )
            )

    coord_ok = np.isfinite(loc.e)
    e, nn = loc.e.copy(), loc.nn.copy()
    source, note, estimated = loc.source.copy(), loc.note.copy(), loc.estimated.copy()
    reason = np.full(n, "", dtype=object)
    ltla = np.full(n, None, dtype=object)
    out = pd.DataFrame(index=df.index)

    if pccol is not None:
        res = (lookup or default_lookup()).resolve(df[pccol])
        pc_raw = df[pccol].to_numpy(dtype=object)
        pc_norm = res["postcode"].to_numpy(dtype=object, na_value=None)
        out["postcode"] = res["postcode"].to_numpy()
        pe = res["easting"].to_numpy(dtype=float)
        pn = res["northing"].to_numpy(dtype=float)
        pr = res["reason"].to_numpy(dtype=object)
        pnote = res["note"].to_numpy(dtype=object)
        pltla = res["ltla"].to_numpy(dtype=object, na_value=None)
        pc_ok = pr == ""
        use_pc = pc_ok & (~coord_ok | (prefer == "postcode"))
        # disagreement between postcode and coordinates
        both = pc_ok & coord_ok
        if both.any():
            d = np.hypot(pe - loc.e, pn - loc.nn)
            for i in _where(both & (d > POSTCODE_COORD_DISAGREE_M)):
                used = "postcode" if prefer == "postcode" else "coordinates"
                issues.append(
                    Issue(
                        file,
                        int(i) + 1,
                        pccol,
                        str(pc_raw[i]),
                        f"{lbl}coordinates are {d[i] / 1000:.1f} km from postcode {pc_norm[i]}; used the {used}",
                        "warning",
                        "coords.disagree",
                    )
                )
        e[use_pc], nn[use_pc] = pe[use_pc], pn[use_pc]
        source[use_pc] = "postcode"
        ltla[use_pc] = pltla[use_pc]
        estimated[use_pc] = pnote[use_pc] != ""
        for i in _where(use_pc & (pnote != "")):
            # the reason goes into the reconciliation: say what was done, not the postcode
            kind = (
                "taken from a longer text"
                if "longer text" in str(pnote[i])
                else "a letter typed for a digit corrected"
            )
            note[i] = f"{lbl}postcode {kind}"
            issues.append(
                Issue(
                    file,
                    int(i) + 1,
                    pccol,
                    str(pc_raw[i]),
                    f"{lbl}postcode {pnote[i]}; check and correct the source record",
                    "warning",
                    "postcode.corrected",
                )
            )
        for i in _where(
            use_pc
            & (res["lookup"].to_numpy() == ONSPD_SOURCE)
            & np.array([str(v).startswith("N") for v in pltla], dtype=bool)
        ):
            issues.append(
                Issue(
                    file,
                    int(i) + 1,
                    pccol,
                    str(pc_raw[i]),
                    f"{lbl}postcode is in Northern Ireland: ONSPD gives its grid reference on the Irish Grid, so straight-line distances to it are not true distances",
                    "warning",
                    "postcode.irish_grid",
                )
            )
        pc_bad = ~pc_ok
        for i in _where(pc_bad):
            raw_v = pc_raw[i]
            sev = "warning" if coord_ok[i] else missing_severity
            r = str(pr[i])
            code = _postcode_code(r)
            if r == "missing postcode" and coord_ok[i]:
                continue
            if r == "missing postcode":
                msg = f"{lbl}postcode is missing"
            elif r == "postcode not found in lookup":
                sources = (
                    [lookup.source or "the supplied lookup"]
                    if lookup is not None and len(lookup.table)
                    else []
                )
                if lookup is None or lookup.fallback:
                    sources.append(ONSPD_SOURCE)
                msg = f"{lbl}postcode {pc_norm[i]} is not in the postcode lookup ({' or '.join(sources) or 'empty lookup, no ONSPD fallback'}): a typo, or a postcode newer than the lookup"
            elif r.startswith("postcode "):
                msg = f"{lbl}{r}"
            else:
                msg = f"{lbl}postcode: {r}"
            issues.append(
                Issue(file, int(i) + 1, pccol, "" if raw_v is None else str(raw_v), msg, sev, code)
            )
        reason[~coord_ok & pc_bad] = pr[~coord_ok & pc_bad]

    missing = ~np.isfinite(e) & (reason == "")
    has_any_coord = has_en | has_ll
    reason[missing & has_any_coord] = "coordinates not usable"
    reason[missing & ~has_any_coord] = "no location (no postcode or coordinates)"
    if pccol is None:
        for i in _where(missing & ~has_any_coord):
            issues.append(
                Issue(
                    file,
                    int(i) + 1,
                    ecol or loncol,
                    "",
                    f"{lbl}no location (no postcode or coordinates)",
                    missing_severity,
                    "location.missing",
                )
            )

    utla = np.full(n, None, dtype=object)
    if boundaries is not None:
        la = boundaries.la_at(e, nn)
        utla[:] = la
        from_pc = pd.notna(ltla)
        pc_utla = utla_of_ltla(pd.Series(ltla, dtype="string")).to_numpy(
            dtype=object, na_value=None
        )
        utla[from_pc] = pc_utla[from_pc]
        outside = np.isfinite(e) & pd.isna(la) & ~from_pc
        if outside.any():
            # a swapped easting/northing that lands in England is the likely story
            sw = boundaries.la_at(nn[outside], e[outside])
            dist = boundaries.distance_to_england(e[outside], nn[outside])
            for k, i in enumerate(_where(outside)):
                val = f"{e[i]:.0f}, {nn[i]:.0f}"
                if source[i] == "easting/northing" and sw[k] is not None:
                    e[i], nn[i] = nn[i], e[i]
                    utla[i] = sw[k]
                    source[i] = "easting/northing (swapped)"
                    note[i] = f"{lbl}easting and northing were swapped"
                    estimated[i] = True
                    outside[i] = False
                    issues.append(
                        Issue(
                            file,
                            int(i) + 1,
                            ecol,
                            val,
                            f"{lbl}point is outside England but inside it with easting and northing swapped; swapped them back",
                            "warning",
                            "coords.swapped",
                        )
                    )
                    continue
                msg = f"{lbl}point is outside England ({dist[k] / 1000:.0f} km from the nearest English council)"
                if outside_england == "warning":
                    msg += "; kept (it counts as outside the council)"
                issues.append(
                    Issue(
                        file,
                        int(i) + 1,
                        ecol or loncol or pccol,
                        val,
                        msg,
                        outside_england,
                        "location.outside_england",
                    )
                )
        if outside_england == "error":
            reason[outside & (reason == "")] = "outside England"
            e[outside] = np.nan
            nn[outside] = np.nan

    # a failed source is an error only when nothing located the row
    located = np.isfinite(e)
    coord_fail = {iss.row for iss in issues if iss.code in _COORD_FAILURES and iss.row is not None}
    final: list[Issue] = []
    for iss in issues:
        failure = iss.code in _COORD_FAILURES or (
            iss.code.startswith("postcode.") and iss.code not in _POSTCODE_NOTES
        )
        if failure and iss.row is not None:
            i = iss.row - 1
            if iss.code == "postcode.missing" and iss.row in coord_fail:
                continue  # the coordinates' problem says it
            if located[i]:
                other = "postcode" if iss.code in _COORD_FAILURES else "coordinates"
                iss = replace(
                    iss,
                    severity="warning",
                    problem=f"{iss.problem}; located by the {other} instead",
                )
            else:
                if iss.code in _COORD_FAILURES and (
                    reason[i] == "" or reason[i] in {"coordinates not usable", "missing postcode"}
                ):
                    reason[i] = iss.problem.removeprefix(lbl)
                iss = replace(
                    iss, severity=missing_severity, problem=iss.problem + unlocated_suffix
                )
        final.append(iss)
    issues = final

    out["easting"] = e
    out["northing"] = nn
    out["location_reason"] = reason
    out["location_source"] = source
    out["location_note"] = note
    out["location_estimated"] = estimated & np.isfinite(e)
    out["ltla"] = pd.array(ltla, dtype="string")
    out["utla"] = pd.array(utla, dtype="string")
    return out, issues


_COORD_FAILURES = {
    "coords.zero",
    "coords.outside_grid",
    "coords.outside_uk",
    "coords.not_a_number",
    "coords.half_pair",
    "location.missing",
}
_POSTCODE_NOTES = {"postcode.corrected", "postcode.irish_grid"}


def _postcode_code(reason: str) -> str:
    if reason.startswith("missing"):
        return "postcode.missing"
    if reason.startswith("no postcode recorded"):
        return "postcode.placeholder"
    if reason.startswith("pseudo"):
        return "postcode.pseudo"
    if reason.startswith("incomplete"):
        return "postcode.incomplete"
    if reason.startswith("terminated"):
        return "postcode.terminated"
    if reason.startswith("postcode not found"):
        return "postcode.not_found"
    if reason.startswith("postcode has no grid"):
        return "postcode.no_grid"
    return "postcode.malformed"
