"""Candidate council properties, small-area populations and exclusion zones."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.config.database import DatabaseTable
from geosuff.inputs._base import (
    CANDIDATE_USES,
    LSOA_POINTS,
    PACKAGE_DATA,
    STATUS_EXCLUDED,
    STATUS_USED,
    Issue,
    Loaded,
)
from geosuff.inputs.boundaries import Boundaries, _read_vector
from geosuff.inputs.dates import date_style, parse_uk_dates_detail
from geosuff.inputs.locations import locate_points
from geosuff.inputs.placements import CANDIDATE_COLUMNS, _date_issues, _whole_number_issues
from geosuff.inputs.postcodes import PostcodeLookup
from geosuff.inputs.reading import _col, _find_col, _where, as_source
from geosuff.inputs.sites import _ids, _load_common, _loc_columns, _status
from geosuff.reference import BNG, WGS84

logger = logging.getLogger(__name__)


#: Other spellings of the shipped uses (used only when the spelling is not itself a known use).
_USE_ALIASES = {
    "care_leavers": "care_leaver_unit",
    "care_leaver": "care_leaver_unit",
    "small_childrens_home": "small_home",
    "childrens_home": "small_home",
    "supported": "supported_accommodation",
    "short_break": "short_breaks",
    "lease": "lease_to_provider",
    "leased_to_provider": "lease_to_provider",
}


def load_candidates(
    path: str | Path | DatabaseTable,
    *,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None = None,
    uses: Iterable[str] | None = None,
) -> Loaded:
    """Load candidate council properties: ``candidate_id``, a location, ``bedrooms``, ``uses``
    (``;``-separated uses with siting rules); optional ``condition``, ``cost``, ``tenure``,
    ``available_from``, ``name``.

    ``uses`` are the recognised uses: by default those of the shipped siting rules
    (:data:`CANDIDATE_USES`); a scenario passes its own (shipped rules plus its
    ``[siting.rules.<use>]``, :func:`geosuff.config.siting.scenario_uses`). A row with no
    recognised use is excluded.
    """
    allowed = tuple(dict.fromkeys(str(u) for u in uses)) if uses is not None else CANDIDATE_USES
    path, raw, df, issues, excluded, live = _load_common(
        path,
        name="candidates",
        spec=CANDIDATE_COLUMNS,
        required=["candidate_id", "bedrooms", "uses"],
        hint="The candidates file needs candidate_id, bedrooms, uses and a location (postcode, or easting/northing, or lon/lat).",
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
    ids = _ids(df, "candidate_id", fname, live, excluded, issues)
    out["candidate_id"] = pd.array(ids.to_numpy(), dtype="string")
    beds, bad_beds, more = _whole_number_issues(
        df,
        "bedrooms",
        fname,
        live,
        what="bedrooms",
        severity="error",
        code="candidate.bedrooms",
        allow_zero=False,
        max_value=20,
    )
    issues += more
    for i in _where(bad_beds):
        excluded[i] = excluded[i] or "bedrooms is not a whole number of 1 or more"
    out["bedrooms"] = beds
    uses_list = []
    for i, raw_v in enumerate(df["uses"].astype(str)):
        items = [
            re.sub(r"[\s\-]+", "_", u.strip().lower()).replace("'", "")
            for u in re.split(r"[;,|/+]", raw_v)
            if u.strip()
        ]
        items = [u if u in allowed else _USE_ALIASES.get(u, u) for u in items]
        good = [u for u in items if u in allowed]
        bad = [u for u in items if u not in allowed]
        if live[i] and (bad or not items):
            sev = "warning" if good else "error"
            what = f"unknown use(s) {', '.join(map(repr, bad))}" if bad else "no use given"
            issues.append(
                Issue(
                    fname,
                    i + 1,
                    "uses",
                    raw_v,
                    f"{what}; use {', '.join(allowed)} separated by ';'"
                    + ("; the known uses are kept" if good else ""),
                    sev,
                    "candidate.uses",
                )
            )
        if not good:
            excluded[i] = excluded[i] or "no recognised use"
        uses_list.append(";".join(dict.fromkeys(good)))
    out["uses"] = pd.array(uses_list, dtype="string")
    for c in ("name", "condition", "cost", "tenure", "available_from", "data_note"):
        if c in df.columns:
            out[c] = pd.array(df[c].astype(str).to_numpy(), dtype="string")
    if "cost" in out:
        cost = pd.to_numeric(
            out["cost"].str.replace(r"[£,\s]|GBP", "", regex=True).replace("", pd.NA),
            errors="coerce",
        )
        _v_cost = _col(df, "cost")
        for i in _where((cost.isna() & (out["cost"].fillna("") != "")).to_numpy() & live):
            issues.append(
                Issue(
                    fname,
                    int(i) + 1,
                    "cost",
                    str(_v_cost[i]),
                    "cost is not an amount in pounds; cost not known",
                    "warning",
                    "candidate.cost",
                )
            )
        out["cost"] = cost.astype(float)
    if "available_from" in out:
        dates, prob = parse_uk_dates_detail(df["available_from"])
        est = np.full(len(df), "", dtype=object)
        _date_issues(
            issues, est, prob, df["available_from"], fname, "available_from", "available_from", live
        )
        out["available_from"] = dates
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
    meta = dict(raw.meta)
    meta["date_style"] = date_style(df["available_from"] if "available_from" in df else None)
    return Loaded("candidates", path, out, issues, meta)


def load_lsoa_points(
    *, utla: set[str] | None = None, path: str | Path | None = None
) -> pd.DataFrame:
    """LSOA (2011) representative points with population aged 0–17 (ONS mid-2020)."""
    df = pd.read_csv(
        path or LSOA_POINTS, dtype={"lsoa11_code": str, "UTLA23CD": str, "LTLA23CD": str}
    )
    if utla is not None:
        df = df[df["UTLA23CD"].isin(utla)]
    return df.reset_index(drop=True)


def load_areas(
    path: str | Path | DatabaseTable | None = None, *, council: str | None = None
) -> gpd.GeoDataFrame | None:
    """Small-area polygons (LSOA) with ``pop_0_17`` in EPSG:27700, or None when not available."""
    if path is None:
        shipped = PACKAGE_DATA / "lsoa11_rutland.geojson"
        if council == "E06000017" and shipped.exists():
            path = shipped
        else:
            return None
    fix = "Give a GeoJSON or GeoPackage (or PostGIS table) of LSOA polygons with pop_0_17."
    if isinstance(path, DatabaseTable):
        from geosuff.inputs.database import read_db_vector

        gdf = read_db_vector(path, "areas", fix=fix)
    else:
        gdf = _read_vector(Path(path), "areas", fix=fix)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    gdf = gdf.to_crs(BNG)
    idc = _find_col(gdf, "lsoa11_code", "lsoa21cd", "lsoa11cd", "area_id", "code")
    namec = _find_col(gdf, "lsoa11_name", "lsoa21nm", "lsoa11nm", "area_name", "name")
    popc = _find_col(gdf, "pop_0_17", "population", "demand")
    if idc is None or popc is None:
        raise InputFileError(
            f"The areas file {as_source(path).name} needs an id column (e.g. lsoa11_code) and pop_0_17."
        )
    out = gpd.GeoDataFrame(
        {
            "area_id": gdf[idc].astype(str),
            "area_name": gdf[namec].astype(str) if namec else gdf[idc].astype(str),
            "pop_0_17": pd.to_numeric(gdf[popc], errors="coerce").fillna(0),
        },
        geometry=gdf.geometry,
        crs=BNG,
    )
    return out


def load_exclusions(path: str | Path | DatabaseTable) -> gpd.GeoDataFrame:
    """Exclusion zones for candidate properties (e.g. flood zones, sites the council has ruled
    out): polygons in any CRS (made EPSG:27700) from a GeoPackage, GeoJSON or shapefile, with an
    optional ``name`` and ``buffer_m`` (metres around the zone also excluded).

    Returns
    -------
    GeoDataFrame
        ``row`` (1-based), ``name``, ``buffer_m``, ``status`` ("used" / "excluded"), ``reason``,
        geometry. Rows with an empty or invalid geometry are kept with the reason.
    """
    p = as_source(path)
    fix = "Give a GeoPackage, GeoJSON or shapefile (or PostGIS table) of polygons (optional columns name, buffer_m)."
    if isinstance(p, DatabaseTable):
        from geosuff.inputs.database import read_db_vector

        gdf = read_db_vector(p, "exclusions", fix=fix)
    else:
        if not p.exists():
            raise InputFileError(
                f"The exclusions file {p.name} does not exist ({p}).",
                fix="Check [inputs] exclusions in the config.",
            )
        gdf = _read_vector(p, "exclusions", fix=fix)
    if gdf.crs is None:
        raise InputFileError(
            f"The exclusions file {p.name} has no coordinate reference system.",
            fix="Save it with its CRS (e.g. EPSG:27700 British National Grid).",
        )
    gdf = gdf.to_crs(BNG).reset_index(drop=True)
    namec = _find_col(gdf, "name", "zone", "label")
    bufc = _find_col(gdf, "buffer_m", "buffer")
    names = (
        gdf[namec].astype(str).to_numpy()
        if namec
        else np.array([f"zone {i + 1}" for i in range(len(gdf))], dtype=object)
    )
    buf = (
        pd.to_numeric(gdf[bufc], errors="coerce").fillna(0.0).clip(lower=0).to_numpy()
        if bufc
        else np.zeros(len(gdf))
    )
    geom = gdf.geometry
    bad = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    bad = bad | ~geom.is_valid.fillna(False).to_numpy()
    return gpd.GeoDataFrame(
        {
            "row": np.arange(1, len(gdf) + 1),
            "name": names,
            "buffer_m": buf,
            "status": np.where(bad, STATUS_EXCLUDED, STATUS_USED),
            "reason": np.where(bad, "empty or invalid geometry", ""),
        },
        geometry=geom,
        crs=BNG,
    )
