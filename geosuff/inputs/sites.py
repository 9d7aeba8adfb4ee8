"""Provision sites."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from geosuff import reference
from geosuff._errors import InputFileError
from geosuff.config.database import DatabaseTable
from geosuff.inputs._base import STATUS_ESTIMATE, STATUS_EXCLUDED, STATUS_USED, Issue, Loaded
from geosuff.inputs.boundaries import Boundaries
from geosuff.inputs.codes import normalise_site_type, site_types
from geosuff.inputs.locations import _to_number, locate_points
from geosuff.inputs.placements import SITE_COLUMNS, _first_rows, _join_reasons, _whole_number_issues
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


def _load_common(
    path: str | Path | DatabaseTable,
    *,
    name: str,
    spec: dict[str, tuple[str, ...]],
    required: list[str],
    hint: str,
) -> tuple[Path | DatabaseTable, RawTable, pd.DataFrame, list[Issue], np.ndarray, np.ndarray]:
    path = as_source(path)
    fname = path.name
    raw = read_raw(path, name=name, expect_columns=list(spec))
    df, map_issues = _map_columns(raw, spec, fname=fname, name=name)
    issues: list[Issue] = list(raw.issues) + map_issues
    _require(df, required, name=name, path=path, hint=hint)
    if len(df) == 0:
        raise InputFileError(
            f"The {name} file {fname} has a header but no rows.",
            fix=f"Add the {name} rows, or remove the file from the config.",
        )
    issues += _unused_columns_issue(df, spec, fname=fname)
    issues += _first_rows(raw, fname)
    blank_row = (df.astype(str) == "").all(axis=1).to_numpy()
    excluded = np.full(len(df), "", dtype=object)
    for i in _where(blank_row):
        excluded[i] = "blank row"
        issues.append(
            Issue(fname, int(i) + 1, None, None, "blank row; excluded", "error", "row.blank")
        )
    for i, r in raw.bad_rows.items():
        excluded[i] = excluded[i] or r
    live = ~blank_row
    live[list(raw.bad_rows)] = False
    return path, raw, df, issues, excluded, live


def _ids(
    df: pd.DataFrame,
    col: str,
    fname: str,
    live: np.ndarray,
    excluded: np.ndarray,
    issues: list[Issue],
) -> pd.Series:
    ids = df[col].astype(str).str.strip()
    blank = (ids == "").to_numpy() & live
    for i in _where(blank):
        issues.append(Issue(fname, int(i) + 1, col, "", f"missing {col}", "error", "id.missing"))
        excluded[i] = excluded[i] or f"missing {col}"
    seen: dict[str, int] = {}
    id_vals = ids.to_numpy(dtype=object)
    for i in _where(live & ~blank):
        k = id_vals[i]
        if k in seen:
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    col,
                    k,
                    f"duplicate {col} (also row {seen[k] + 1}); this later row is excluded",
                    "error",
                    "id.duplicate",
                )
            )
            excluded[i] = excluded[i] or f"duplicate {col} (row {seen[k] + 1} is used)"
        else:
            seen[k] = int(i)
    return ids


def _status(
    excluded: np.ndarray, loc_reason: np.ndarray, estimate: np.ndarray
) -> tuple[list[str], list[str]]:
    status, reasons = [], []
    for x, lr, est in zip(excluded, loc_reason, estimate, strict=True):
        if x or lr:
            status.append(STATUS_EXCLUDED)
            reasons.append(_join_reasons(x, f"location: {lr}" if lr else ""))
        elif est:
            status.append(STATUS_ESTIMATE)
            reasons.append(str(est))
        else:
            status.append(STATUS_USED)
            reasons.append("")
    return status, reasons


def load_sites(
    path: str | Path | DatabaseTable,
    *,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None = None,
) -> Loaded:
    """Load provision sites: ``site_id``, ``type``, ``places`` and a location; optional
    ``available_places``, ``urn``, ``rating``, ``name``.

    A location is a ``postcode``, ``easting``/``northing`` (EPSG:27700) or ``lon``/``lat``
    (coordinates win over the postcode when both are given). Rows with no usable location, an
    unknown type, a bad ``places`` or a missing/duplicate id are excluded with the reason.
    Address columns are ignored: geosuff never writes provision addresses.
    """
    path, raw, df, issues, excluded, live = _load_common(
        path,
        name="sites",
        spec=SITE_COLUMNS,
        required=["site_id", "type", "places"],
        hint="The sites file needs site_id, type, places and a location (postcode, or easting/northing, or lon/lat).",
    )
    fname = path.name
    loc, loc_issues = locate_points(
        df,
        lookup,
        file=fname,
        boundaries=boundaries,
        columns=_loc_columns(df),
        prefer="coordinates",
        unlocated_suffix="; the row is excluded",
    )
    issues += [i for i in loc_issues if i.row is None or live[i.row - 1]]
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1), "line": raw.lines}, index=df.index)
    ids = _ids(df, "site_id", fname, live, excluded, issues)
    out["site_id"] = pd.array(ids.to_numpy(), dtype="string")
    types = [normalise_site_type(t) for t in df["type"]]
    out["type"] = pd.array([t or "unknown" for t in types], dtype="string")
    _v_type = _col(df, "type")
    for i, t in enumerate(types):
        if t is None and live[i]:
            v = str(_v_type[i])
            issues.append(
                Issue(
                    fname,
                    i + 1,
                    "type",
                    v,
                    f"{'missing' if not v else 'unknown'} site type (use one of: {', '.join(site_types()['type'])})",
                    "error",
                    "site.type_unknown",
                )
            )
            excluded[i] = excluded[i] or "unknown site type"
    places, bad_places, more = _whole_number_issues(
        df, "places", fname, live, what="places", severity="error", code="site.places", max_value=50
    )
    issues += more
    for i in _where(bad_places):
        excluded[i] = excluded[i] or "places is not a whole number"
    out["places"] = places
    if "available_places" in df.columns:
        avail, not_num = _to_number(df["available_places"])
        blank = (df["available_places"].astype(str) == "").to_numpy()
        _v_available_places = _col(df, "available_places")
        for i in _where(not_num & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "available_places",
                    str(_v_available_places[i]),
                    "available_places is not a number; taken as equal to places",
                    "warning",
                    "site.available_invalid",
                )
            )
        over = np.isfinite(avail) & np.isfinite(places) & (avail > places)
        _v_available_places = _col(df, "available_places")
        for i in _where(over & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "available_places",
                    str(_v_available_places[i]),
                    f"available_places ({avail[i]:g}) is more than places ({places[i]:g}); capped at places",
                    "warning",
                    "site.available_over",
                )
            )
        neg = np.isfinite(avail) & (avail < 0)
        _v_available_places = _col(df, "available_places")
        for i in _where(neg & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "available_places",
                    str(_v_available_places[i]),
                    "available_places is negative; taken as 0",
                    "warning",
                    "site.available_invalid",
                )
            )
        avail = np.where(
            np.isfinite(avail) & ~blank,
            np.clip(avail, 0, np.where(np.isfinite(places), places, np.inf)),
            places,
        )
        out["available_places"] = avail
    else:
        issues.append(
            Issue(
                fname,
                None,
                "available_places",
                None,
                "no available_places column: every site's available_places is taken as equal to its places (all places counted as vacant); add available_places for real vacancies",
                "warning",
                "site.available_missing",
            )
        )
        out["available_places"] = places
    for c in ("name", "urn", "rating", "data_note"):
        if c in df.columns:
            out[c] = pd.array(df[c].astype(str).to_numpy(), dtype="string")
    out["sector"] = site_sectors(df, fname, live, issues)
    out = pd.concat([out, loc], axis=1)
    status, reasons = _status(
        excluded,
        loc["location_reason"].to_numpy(dtype=object),
        np.where(
            loc["location_estimated"].to_numpy(bool),
            loc["location_note"].to_numpy(dtype=object),
            "",
        ),
    )
    out["reason"] = reasons
    out["status"] = status
    return Loaded("sites", path, out, issues, dict(raw.meta))


#: Spellings of a site's ``sector`` (lower case, single spaces) -> in_house / external.
_SECTOR_WORDS: dict[str, str] = {
    **{
        w: reference.SECTOR_IN_HOUSE
        for w in ("in_house", "in house", "in-house", "council", "own", "own provision", "la")
    },
    **{
        w: reference.SECTOR_EXTERNAL
        for w in (
            "external",
            "private",
            "voluntary",
            "independent",
            "charity",
            "third sector",
            "other la",
            "other public",
        )
    },
    **{c.lower(): p.sector for c, p in reference.provider_codes().items() if p.sector != "parent"},
}


def site_sectors(df: pd.DataFrame, fname: str, live: np.ndarray, issues: list[Issue]) -> np.ndarray:
    """Each site's provider sector from the optional ``sector`` column: ``in_house`` (the
    council runs it: "in-house", "council", PR1), ``external`` ("private", "voluntary",
    "independent", PR2-PR5) or ``not_known`` (blank, no column, or another word: a warning).
    """
    n = len(df)
    out = np.full(n, reference.SECTOR_NOT_KNOWN, dtype=object)
    if "sector" not in df.columns:
        return out
    vals = df["sector"].astype(str).to_numpy(dtype=object)
    for i in range(n):
        v = " ".join(str(vals[i]).strip().lower().split())
        if not v:
            continue
        sec = _SECTOR_WORDS.get(v)
        if sec is None:
            if live[i]:
                issues.append(
                    Issue(
                        fname,
                        i + 1,
                        "sector",
                        str(vals[i]),
                        f"sector {str(vals[i])[:20]!r} is not known; use in_house or external "
                        "(or private, voluntary, council); the site is kept with sector not known",
                        "warning",
                        "site.sector_unknown",
                    )
                )
            continue
        out[i] = sec
    return out


def _loc_columns(df: pd.DataFrame) -> dict[str, str | None]:
    return {
        k: (k if k in df.columns else None)
        for k in ("postcode", "easting", "northing", "lon", "lat")
    }
