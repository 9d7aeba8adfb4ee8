"""Gap areas: the home areas of children placed far away that no suitable provision with spare places reaches."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geosuff._errors import InputFileError
from geosuff.analysis.distance import DFE_FAR_MILES
from geosuff.analysis.gaps.indicators import (
    AREA_POINT_MAX_M,
    AREA_SNAP_TOLERANCE_M,
    CROW_FLY_SPEED_KPH,
    DEFAULT_LOCAL_MINUTES,
    _col_float,
    _require,
    count_band,
    group_labels,
    group_order,
    site_type_labels,
    site_types_serving,
)
from geosuff.reference import (
    BNG,
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Gap areas
# ----------------------------------------------------------------------------------------------
_ID_COLS = ("area_id", "lsoa11_code", "LSOA11CD", "lsoa21_code", "LSOA21CD", "hex_id", "code")
_NAME_COLS = ("area_name", "lsoa11_name", "LSOA11NM", "lsoa21_name", "LSOA21NM", "name")


def _areas_frame(areas: pd.DataFrame, id_col: str | None, name_col: str | None) -> gpd.GeoDataFrame:
    """Areas as a GeoDataFrame in EPSG:27700 with ``area_id``, ``area_name`` (+ other columns)."""
    if isinstance(areas, gpd.GeoDataFrame):
        gdf = areas.set_crs(BNG) if areas.crs is None else areas.to_crs(BNG)
    elif {"easting", "northing"} <= set(areas.columns):
        gdf = gpd.GeoDataFrame(
            areas.copy(), geometry=gpd.points_from_xy(areas["easting"], areas["northing"]), crs=BNG
        )
    else:
        raise InputFileError(
            "The areas table has no geometry and no easting/northing columns.",
            fix="Give small-area polygons (e.g. LSOAs or hex cells) or LSOA representative points.",
        )
    idc = id_col or next((c for c in _ID_COLS if c in gdf.columns), None)
    if idc is None:
        raise InputFileError(
            "The areas have no id column.", fix=f"Add one of: {', '.join(_ID_COLS)}."
        )
    namec = name_col or next((c for c in _NAME_COLS if c in gdf.columns), None)
    out = gdf.copy()
    out["area_id"] = gdf[idc].astype(str).to_numpy()
    out["area_name"] = gdf[namec].astype(str).to_numpy() if namec else out["area_id"].to_numpy()
    if out["area_id"].duplicated().any():
        raise InputFileError(
            "The area ids are not unique.", fix=f"Check the {idc} column of the areas."
        )
    return out.reset_index(drop=True)


def assign_areas(x: Any, y: Any, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Index (row position in ``areas``) of the area holding each point, −1 if none.

    Polygon areas: point in polygon, else the nearest polygon within
    :data:`AREA_SNAP_TOLERANCE_M`. Point areas (representative points): the nearest point within
    :data:`AREA_POINT_MAX_M`.

    Parameters
    ----------
    x, y : array-like of float
        Easting/northing in metres (EPSG:27700); NaN gives −1.
    areas : GeoDataFrame
        Areas in EPSG:27700.
    """
    xa = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ya = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = np.full(xa.shape[0], -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(xa) & np.isfinite(ya))
    if not ok.size or len(areas) == 0:
        return out
    geoms = np.asarray(areas.geometry.values)
    if bool(np.all(shapely.get_type_id(geoms) == 0)):  # points
        tree_pts = cKDTree(np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)]))
        d, j = tree_pts.query(
            np.column_stack([xa[ok], ya[ok]]), distance_upper_bound=AREA_POINT_MAX_M
        )
        hit = np.isfinite(d)
        out[ok[hit]] = j[hit]
        return out
    tree = shapely.STRtree(geoms)
    pts = shapely.points(xa[ok], ya[ok])
    p_in, poly = tree.query(pts, predicate="intersects")
    order = np.lexsort((poly, p_in))
    p_in, poly = p_in[order], poly[order]
    if p_in.size:
        first = np.r_[True, p_in[1:] != p_in[:-1]]
        out[ok[p_in[first]]] = poly[first]
    miss = np.flatnonzero(out[ok] < 0)
    if miss.size:
        m_in, m_poly = tree.query_nearest(
            pts[miss], max_distance=AREA_SNAP_TOLERANCE_M, all_matches=False
        )
        out[ok[miss[m_in]]] = m_poly
    return out


def _reference_points(areas: gpd.GeoDataFrame) -> np.ndarray:
    geoms = np.asarray(areas.geometry.values)
    pts = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])


def minutes_to_types_crow_fly(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    crow_fly_kph: float = CROW_FLY_SPEED_KPH,
    id_col: str | None = None,
) -> pd.DataFrame:
    """Fallback catchments: straight-line minutes from each area to the nearest site of each type
    with spare places.

    Parameters
    ----------
    areas : DataFrame or GeoDataFrame
        Areas (polygons, or points / easting-northing); distances from each polygon's
        point-on-surface.
    sites : DataFrame or GeoDataFrame
        Provision sites: ``type``; ``easting``/``northing`` (EPSG:27700) or point geometry;
        spare places from ``available_places`` (else ``spare_places``, else ``places``; all
        sites count if none). Rows with ``status == "excluded"`` are ignored.
    crow_fly_kph : float, default :data:`CROW_FLY_SPEED_KPH`
        Effective straight-line speed in km/h.

    Returns
    -------
    DataFrame
        Index ``area_id``; one column per site type present; minutes (float, NaN when no site
        of the type has spare places).
    """
    a = _areas_frame(areas, id_col, None)
    ref = _reference_points(a)
    s = sites
    if "status" in s.columns:
        s = s[s["status"].astype("string").fillna("") != "excluded"]
    if "type" not in s.columns:
        raise InputFileError(
            "The sites table has no 'type' column.",
            fix="Load sites with geosuff.inputs.load_sites.",
        )
    if {"easting", "northing"} <= set(s.columns):
        sx, sy = _col_float(s, "easting"), _col_float(s, "northing")
    elif isinstance(s, gpd.GeoDataFrame):
        g = s.to_crs(BNG) if s.crs is not None else s
        sx, sy = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
    else:
        raise InputFileError(
            "The sites table has no location.", fix="Give easting/northing (EPSG:27700)."
        )
    spare_col = next(
        (c for c in ("available_places", "spare_places", "places") if c in s.columns), None
    )
    spare = _col_float(s, spare_col) if spare_col else np.ones(len(s))
    if spare_col is None:
        logger.warning("sites have no places column: every site counts as having spare places")
    types = s["type"].astype("string").fillna("").to_numpy(dtype=object)
    out = pd.DataFrame(index=pd.Index(a["area_id"], name="area_id"))
    for t in sorted(set(types) - {""}):
        sel = (types == t) & (spare > 0) & np.isfinite(sx) & np.isfinite(sy)
        if not sel.any():
            out[t] = np.nan
            continue
        d, _ = cKDTree(np.column_stack([sx[sel], sy[sel]])).query(ref)
        out[t] = d / 1000.0 / crow_fly_kph * 60.0
    return out


# ----------------------------------------------------------------------------------------------
# Parent areas (hierarchical aggregation of gap areas)
# ----------------------------------------------------------------------------------------------
_PARENT_ID_COLS = ("parent_id", "msoa11_code", "MSOA11CD", "msoa21_code", "MSOA21CD")
_PARENT_NAME_COLS = ("parent_name", "msoa11_name", "MSOA11NM", "msoa21_name", "MSOA21NM")
#: 2011 and 2021 LSOA names are their MSOA's name plus one capital letter ("Rutland 003A" lies
#: in the MSOA "Rutland 003"); group 1 is the MSOA name.
LSOA_NAME_PATTERN = re.compile(r"^(.+ \d{3})[A-Z]$")
_LSOA_CODE = re.compile(r"^[EW]01\d{6}$")
_MSOA_CODE = re.compile(r"^[EW]02\d{6}$")


def area_levels(areas: pd.DataFrame) -> np.ndarray:
    """Geography of each small area: "LSOA" (LSOA code or LSOA-style name) or "small area".

    Parameters
    ----------
    areas : DataFrame
        Areas with ``area_id`` and ``area_name`` (as made by the gap analysis).

    Returns
    -------
    ndarray of str
    """
    ids = areas["area_id"].astype(str)
    names = areas["area_name"].astype(str)
    lsoa = ids.str.fullmatch(_LSOA_CODE.pattern) | names.str.fullmatch(LSOA_NAME_PATTERN.pattern)
    return np.where(lsoa.to_numpy(dtype=bool), "LSOA", "small area").astype(object)


def area_parents(areas: pd.DataFrame) -> pd.DataFrame:
    """Parent area of each small area, used to merge areas too small to publish on their own.

    The parent is read from a ``parent_id`` / ``parent_name`` column (or ``msoa11_code`` /
    ``msoa11_name``, ``MSOA11CD`` / ``MSOA11NM``, and the 2021 equivalents); without such a
    column it is derived from LSOA names: "Rutland 003A" lies in the MSOA "Rutland 003" (see
    :data:`LSOA_NAME_PATTERN`), whose name is then also its id.

    Parameters
    ----------
    areas : DataFrame
        Areas with ``area_id`` and ``area_name`` (as made by the gap analysis).

    Returns
    -------
    DataFrame
        Same row order as ``areas``: ``parent_id``, ``parent_name`` and ``parent_level``
        ("MSOA", or "parent area" for a ``parent_id`` that is not an MSOA code); all "" for an
        area without a parent.
    """
    cols = set(areas.columns)
    idc = next((c for c in _PARENT_ID_COLS if c in cols), None)
    namec = next((c for c in _PARENT_NAME_COLS if c in cols), None)

    def clean(c: str) -> np.ndarray:
        result: np.ndarray = areas[c].astype("string").str.strip().fillna("").to_numpy(dtype=object)
        return result

    if idc is not None or namec is not None:
        pid = clean(idc) if idc is not None else clean(str(namec))
        pname = clean(namec) if namec is not None else pid.copy()
        pname = np.where(pname == "", pid, pname).astype(object)
        given = [str(p) for p in pid if p != ""]
        msoa = any(str(c).lower().startswith("msoa") for c in (idc, namec) if c is not None) or (
            bool(given) and all(_MSOA_CODE.fullmatch(p) for p in given)
        )
        level = "MSOA" if msoa else "parent area"
    else:
        found = areas["area_name"].astype(str).str.extract(LSOA_NAME_PATTERN.pattern, expand=False)
        pid = found.fillna("").to_numpy(dtype=object)
        pname = pid.copy()
        level = "MSOA"
    return pd.DataFrame(
        {
            "parent_id": pid,
            "parent_name": pname,
            "parent_level": np.where(pid != "", level, "").astype(object),
        }
    )


#: Ward and district (lower-tier LA) columns of an areas table, in order of preference.
_WARD_ID_COLS = ("ward_code", "WD23CD", "WD22CD", "WD21CD", "WD11CD", "osward")
_WARD_NAME_COLS = ("ward_name", "WD23NM", "WD22NM", "WD21NM", "WD11NM")
_DISTRICT_ID_COLS = ("district_code", "LTLA23CD", "LAD23CD", "LAD22CD", "LAD21CD", "oslaua")
_DISTRICT_NAME_COLS = ("district_name", "LTLA23NM", "LAD23NM", "LAD22NM", "LAD21NM")


def area_hierarchy(areas: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The coarser levels a small area can be grouped into, finest first.

    The parent area (:func:`area_parents`: MSOA), then the ward (``ward_code`` / ``ward_name``,
    ``WD23CD`` / ``WD23NM`` ...) and the district, i.e. lower-tier local authority
    (``district_code`` / ``district_name``, ``LTLA23CD`` / ``LTLA23NM`` ...), where the areas
    table has these columns. A district level with a single district (a unitary council, whose
    figures the council-wide tables already give) is left out, as is a level without any code.

    Parameters
    ----------
    areas : DataFrame
        Areas with ``area_id`` and ``area_name`` (as made by the gap analysis).

    Returns
    -------
    list of (level, ids, names)
        Per level, arrays in the row order of ``areas``: the level's label ("MSOA", "parent
        area", "ward", "district"), the unit id and the unit name of each small area ("" where
        an area has none).
    """
    cols = set(areas.columns)

    def clean(c: str) -> np.ndarray:
        result: np.ndarray = areas[c].astype("string").str.strip().fillna("").to_numpy(dtype=object)
        return result

    par = area_parents(areas)
    out = [
        (
            par["parent_level"].to_numpy(dtype=object),
            par["parent_id"].to_numpy(dtype=object),
            par["parent_name"].to_numpy(dtype=object),
        )
    ]
    for label, id_cols, name_cols in (
        ("ward", _WARD_ID_COLS, _WARD_NAME_COLS),
        ("district", _DISTRICT_ID_COLS, _DISTRICT_NAME_COLS),
    ):
        idc = next((c for c in id_cols if c in cols), None)
        if idc is None:
            continue
        uid = clean(idc)
        namec = next((c for c in name_cols if c in cols), None)
        uname = clean(namec) if namec is not None else uid.copy()
        uname = np.where(uname == "", uid, uname).astype(object)
        distinct = {str(u) for u in uid} - {""}
        if not distinct or (label == "district" and len(distinct) == 1):
            continue
        out.append((np.where(uid != "", label, "").astype(object), uid, uname))
    return [lv for lv in out if (lv[1] != "").any()]


def _join_names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _merged_name(name: str, level: str, shown: Sequence[str], member_level: str) -> str:
    """ "Rutland 003 (MSOA)", or "... excluding Rutland 003A" when members are listed apart."""
    base = f"{name} ({level})"
    if not shown:
        return base
    if len(shown) <= 3:
        return f"{base} excluding {_join_names(shown)}"
    return f"{base} excluding {len(shown)} {member_level}s listed separately"


@dataclass
class _Unit:
    """One published gap area: a small area (level 1) or the rest of a parent area (level 2)."""

    area_id: str
    area_name: str
    level: str
    members: np.ndarray  # row positions in the areas frame
    children: np.ndarray  # positions among the far-placed children
    merged: bool
    member_level: str


def gap_areas(  # noqa: C901
    measures: pd.DataFrame,
    areas_gdf: pd.DataFrame,
    *,
    area_minutes_to_type: pd.DataFrame | None = None,
    minutes: float = DEFAULT_LOCAL_MINUTES,
    min_count: int = 5,
    far_miles: float = DFE_FAR_MILES,
    sites: pd.DataFrame | None = None,
    crow_fly_kph: float = CROW_FLY_SPEED_KPH,
    id_col: str | None = None,
    name_col: str | None = None,
    only_gaps: bool = False,
    aggregate: bool = True,
    minutes_source: str = "road",
) -> gpd.GeoDataFrame:
    """Areas that children placed far away come from, what they need, and whether provision is near.

    Each child placed more than ``far_miles`` (rounded DfE miles) from home is put in the small
    area holding their home point (see :func:`assign_areas`). Gap areas are then built in two
    levels, so that a small council with children spread thinly still gets evidence while no
    published area holds fewer than ``min_count`` such children:

    1. every small area (LSOA or hex cell) with at least ``min_count`` far-placed children is a
       gap area (``level`` "LSOA" or "small area");
    2. with ``aggregate``, the far-placed children of the remaining small areas are grouped by
       the area's *parent* (:func:`area_parents`: a ``parent_id`` / ``msoa11_code`` column, or
       the MSOA derived from 2011/2021 LSOA names such as "Rutland 003A" → "Rutland 003"). A
       parent with at least ``min_count`` of them is a gap area (``level`` "MSOA" or "parent
       area"). Its geometry and ``pop_0_17`` are those of its member areas *not* published at
       level 1, so published areas never overlap; its name says when members are listed apart
       ("Rutland 003 (MSOA) excluding Rutland 003A").

    3. with ``aggregate``, the same again at the ward and the district (lower-tier LA) when the
       areas table has such columns (:func:`area_hierarchy`; not the district of a unitary
       council, which is the council itself).

    A need is named only where at least ``min_count`` of an area's children share it. An area
    whose children are enough in number but each need too small to name is first left to the
    next coarser level, where a need may reach ``min_count``; only if no level names one is it
    published, at the finest level that is big enough, with "mixed needs" (see
    :func:`_gap_units`). ``area_level`` records the level used.

    Far-placed children in no gap area (too few at every level, or no parent) are counted in
    ``attrs["not_in_gap_areas"]``.

    For each gap area the needed placement groups are its children's ``place_group``\\ s; for
    each group served by a provision type (``site_types.csv``) the minutes to the nearest site
    of a serving type with spare places are looked up for each child's *own* home area, and the
    area's figure for a type is the median over its far-placed children with that need (for a
    single small area, simply the area's minutes); the group's suitable type is the serving type
    with the lowest such median. An area is a *gap* when some needed, served group has no
    suitable site within ``minutes``.

    Parameters
    ----------
    measures : DataFrame
        Output of :func:`geosuff.distance.placement_measures` (``home_e``, ``home_n``,
        ``dfe_miles``, ``place_group``).
    areas_gdf : GeoDataFrame or DataFrame
        Small areas in any CRS (made EPSG:27700): LSOA or hex polygons, or representative points
        (point geometry, or ``easting``/``northing``). Id from ``area_id`` (or ``lsoa11_code`` …),
        name from ``area_name`` (or ``lsoa11_name`` …); ``pop_0_17`` is used when present; the
        parent area from ``parent_id`` / ``parent_name`` (or ``msoa11_code`` / ``msoa11_name``)
        when present, else from LSOA names.
    area_minutes_to_type : DataFrame, optional
        Index area id, one column per site type, values road minutes from the area to the nearest
        site of that type with spare places (NaN/inf: none reachable). A missing column means no
        site of that type has spare places.
    minutes : float, default 30.0
        Catchment limit in minutes.
    min_count : int, default 5
        Fewest far-placed children in a published area (fewer are too few to evidence a gap,
        and disclosive).
    far_miles : float, default 20.0
        The miles line for "placed far away".
    sites : DataFrame, optional
        Used only without ``area_minutes_to_type``: minutes are then straight-line estimates at
        ``crow_fly_kph`` (:func:`minutes_to_types_crow_fly`). With neither, needs are listed but
        ``outside_catchment`` is NA.
    crow_fly_kph : float
        Straight-line speed of the fallback estimate, km/h.
    id_col, name_col : str, optional
        Area id / name columns when not auto-detected.
    only_gaps : bool, default False
        Keep only areas outside every suitable catchment (``attrs["not_in_gap_areas"]`` still
        counts only children in no area that reached ``min_count``).
    aggregate : bool, default True
        Merge small areas below ``min_count`` (or whose needs are each below it) into coarser
        areas (MSOA, ward, district); False gives small areas only.
    minutes_source : str, default "road"
        How ``area_minutes_to_type`` was measured ("road", or "straight-line estimate" when the
        run had no road network); recorded in ``minutes_source`` and the evidence text.

    Returns
    -------
    GeoDataFrame (EPSG:27700)
        One row per gap area, ranked: ``rank``, ``area_id`` (small-area id, or parent id: the
        MSOA name when derived from LSOA names), ``area_name``, ``level`` ("LSOA", "small area",
        "MSOA", "parent area", "ward", "district"; ``area_level`` the same, the level the area
        was published at), ``n_far`` (raw count, internal), ``count_band`` ("5–9", "10+",
        ...), ``needed_groups`` (labels, most common first), ``main_need`` (group code),
        ``n_by_group`` (raw counts per group, internal), ``minutes_to_suitable`` (minutes to the
        nearest site serving the main need with spare places, median over the children for a
        merged area; NaN if none or not modelled), ``suitable_type``, ``lacks`` ("; "-joined,
        e.g. "no children's home with spare places within 30 min"), ``outside_catchment``
        (boolean; NA without catchment data), ``minutes_source`` ("road" / "straight-line
        estimate at 35 km/h" / ""), ``pop_0_17`` and ``n_far_per_10k`` (when population is
        given), ``evidence`` (publishable sentence built from bands), ``geometry``. Ranking:
        gaps first, then more children, then further from suitable provision.
        ``attrs["publish_columns"]`` lists the columns safe to publish;
        ``attrs["unassigned"]`` counts far-placed children whose home is in no area and
        ``attrs["members"]`` the index labels (in ``measures``) of each row's far-placed
        children (child-level, internal: for linked disclosure control);
        ``attrs["not_in_gap_areas"]`` those in an area but in no gap area (both raw, internal):
        ``n_far.sum() + not_in_gap_areas + unassigned`` is every far-placed child (without
        ``only_gaps``); ``attrs["not_in_gap_members"]`` the index labels of every far-placed
        child in no published row (unassigned included; internal, for the ledger).
    """
    _require(measures, ["home_e", "home_n", "dfe_miles", "place_group"], "the gap analysis")
    areas = _areas_frame(areas_gdf, id_col, name_col)
    miles = _col_float(measures, "dfe_miles")
    far = np.isfinite(miles) & (miles > far_miles)
    far_labels = measures.index.to_numpy()[far]  # index labels of the far-placed children
    groups = measures["place_group"].astype("string").fillna("unknown").to_numpy(dtype=object)
    idx = assign_areas(
        _col_float(measures, "home_e")[far], _col_float(measures, "home_n")[far], areas
    )
    far_groups = groups[far]
    unassigned = int((idx < 0).sum())
    if unassigned:
        logger.warning(
            "%d far-placed children have a home outside every area (or no home point)", unassigned
        )

    mins_table: pd.DataFrame | None
    if area_minutes_to_type is not None:
        mins_table = area_minutes_to_type.copy()
        mins_table.index = mins_table.index.astype(str)
        source = minutes_source
    elif sites is not None:
        mins_table = minutes_to_types_crow_fly(areas, sites, crow_fly_kph=crow_fly_kph)
        source = f"straight-line estimate at {crow_fly_kph:g} km/h"
    else:
        mins_table, source = None, ""
        logger.info("gap areas without catchment data: needs are listed, catchments not assessed")

    units = _gap_units(areas, idx, min_count=min_count, aggregate=aggregate, groups=far_groups)
    not_in_gap_areas = int((idx >= 0).sum()) - sum(len(u.children) for u in units)
    in_units = np.zeros(len(idx), dtype=bool)
    for u in units:
        in_units[u.children] = True
    if not_in_gap_areas:
        logger.info(
            "%d far-placed children live in areas with fewer than %d such children%s: "
            "counted, but in no published gap area",
            not_in_gap_areas,
            min_count,
            " (also at coarser levels)" if aggregate else "",
        )

    labels = group_labels()
    type_labels = site_type_labels()
    order = {g: i for i, g in enumerate(group_order())}
    area_ids = areas["area_id"].to_numpy(dtype=object)
    has_pop = "pop_0_17" in areas.columns
    pop_all = _col_float(areas, "pop_0_17")
    geoms = np.asarray(areas.geometry.values)
    rows = []
    for u in units:
        kids_groups = far_groups[u.children]
        kids_homes = area_ids[idx[u.children]]
        counts = pd.Series(kids_groups).value_counts()
        needs = sorted(counts.index, key=lambda g: (-int(counts[g]), order.get(g, 99)))
        # a need is named in published text only when at least min_count of these children
        # have it (no attribute of a smaller group is published); smaller needs are "other needs"
        named = [g for g in needs if int(counts[g]) >= min_count]
        lacks: list[str] = []
        lacks_other: list[str] = []
        lacks_all: list[str] = []
        hidden_lacking = False
        assessed = False
        main_minutes, main_type = math.nan, ""
        for g in needs:
            types = site_types_serving(g)
            if not types or mins_table is None:
                continue
            homes = [h for h in kids_homes[kids_groups == g] if h in mins_table.index]
            if not homes:
                continue
            assessed = True
            vals = _median_minutes(mins_table, homes, types)
            best_t = min(vals, key=lambda t: vals[t])
            best = vals[best_t]
            if g == needs[0] and g in named:
                main_minutes = best if np.isfinite(best) else math.nan
                main_type = best_t if np.isfinite(best) else ""
            if best > minutes:
                kinds = " or ".join(type_labels.get(t, t).lower() for t in types)
                text = f"no {kinds} with spare places within {minutes:g} min"
                lacks_all.append(text)
                if g in named:
                    lacks.append(text)
                    if g != needs[0]:
                        lacks_other.append(text)
                else:
                    hidden_lacking = True
        if hidden_lacking:
            some = "some other needs" if named else "some needs"
            other = f"no suitable place with spare places within {minutes:g} min for {some} (each of fewer than {min_count} children)"
            lacks.append(other)
            lacks_other.append(other)
        needed = [labels.get(g, g) for g in named]
        if len(named) < len(needs):
            needed.append(
                f"other needs (each of fewer than {min_count} children)"
                if named
                else f"mixed needs (each of fewer than {min_count} children)"
            )
        n_far = len(u.children)
        pop = float(np.nansum(pop_all[u.members])) if has_pop else math.nan
        rows.append(
            {
                "area_id": u.area_id,
                "area_name": u.area_name,
                "level": u.level,
                "area_level": u.level,
                "n_far": n_far,
                "count_band": str(count_band(n_far)[0]),
                "needed_groups": "; ".join(needed),
                "main_need": needs[0],
                "main_need_named": needs[0] in named,
                "lacks_all": "; ".join(lacks_all),
                "n_by_group": "; ".join(f"{g} {int(counts[g])}" for g in needs),
                "minutes_to_suitable": main_minutes,
                "suitable_type": main_type,
                "lacks": "; ".join(lacks),
                "outside_catchment": (len(lacks_all) > 0) if assessed else pd.NA,
                "minutes_source": source if assessed else "",
                "pop_0_17": pop,
                "geometry": geoms[u.members[0]]
                if len(u.members) == 1
                else shapely.union_all(geoms[u.members]),
                "lacks_other": "; ".join(lacks_other),
                "_members": far_labels[u.children],
                "is_merged": u.merged,
                "member_level": u.member_level,
            }
        )
    cols = [
        "rank",
        "area_id",
        "area_name",
        "level",
        "area_level",
        "n_far",
        "count_band",
        "needed_groups",
        "main_need",
        "n_by_group",
        "minutes_to_suitable",
        "suitable_type",
        "lacks",
        "outside_catchment",
        "minutes_source",
    ]
    attrs: dict[str, Any] = {
        "publish_columns": _publish_columns(has_pop),
        "unassigned": unassigned,
        "not_in_gap_areas": not_in_gap_areas,
        "not_in_gap_members": far_labels[~in_units],
        "minutes": minutes,
        "far_miles": far_miles,
        "min_count": min_count,
    }
    if not rows:
        empty = gpd.GeoDataFrame(
            {
                c: pd.Series(dtype=object)
                for c in [*cols, *(["pop_0_17", "n_far_per_10k"] if has_pop else []), "evidence"]
            },
            geometry=gpd.GeoSeries([], crs=BNG),
            crs=BNG,
        )
        empty.attrs.update(attrs)
        return empty
    df = pd.DataFrame(rows)
    df["outside_catchment"] = df["outside_catchment"].astype("boolean")
    if has_pop:
        pop_v = df["pop_0_17"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            df["n_far_per_10k"] = np.where(
                pop_v > 0, df["n_far"].to_numpy() / pop_v * 10_000, np.nan
            )
    oc = df["outside_catchment"]
    gap_key = np.where(
        oc.isna().to_numpy(), 1, np.where(oc.fillna(False).to_numpy(dtype=bool), 0, 2)
    )
    far_key = -df["minutes_to_suitable"].fillna(math.inf)
    df = (
        df.assign(_g=gap_key, _m=far_key)
        .sort_values(["_g", "n_far", "_m", "area_id"], ascending=[True, False, True, True])
        .drop(columns=["_g", "_m"])
        .reset_index(drop=True)
    )
    df["rank"] = np.arange(1, len(df) + 1)
    df["evidence"] = [
        _evidence(
            r,
            far_miles=far_miles,
            minutes=minutes,
            labels=labels,
            type_labels=type_labels,
            min_count=min_count,
        )
        for r in df.itertuples(index=False)
    ]
    if only_gaps:
        df = df[df["outside_catchment"].fillna(False).astype(bool)].reset_index(drop=True)
        df["rank"] = np.arange(1, len(df) + 1)
    out = gpd.GeoDataFrame(
        df[[*cols, *(["pop_0_17", "n_far_per_10k"] if has_pop else []), "evidence"]],
        geometry=gpd.GeoSeries(df["geometry"].to_numpy(), crs=BNG),
        crs=BNG,
    )
    # child-level (internal): index labels in ``measures`` of the children each row counts
    attrs["members"] = [np.asarray(mm) for mm in df["_members"]]
    if only_gaps:
        shown = np.concatenate([*attrs["members"], far_labels[:0]])
        attrs["not_in_gap_members"] = far_labels[~np.isin(far_labels, shown)]
    out.attrs.update(attrs)
    logger.info(
        "gap areas: %d areas with ≥%d far-placed children (%d merged into parent areas), "
        "%d outside catchments",
        len(out),
        min_count,
        int(df["is_merged"].sum()),
        int(out["outside_catchment"].fillna(False).sum()),
    )
    return out


def _gap_units(  # noqa: C901
    areas: gpd.GeoDataFrame,
    idx: np.ndarray,
    *,
    min_count: int,
    aggregate: bool,
    groups: np.ndarray | None = None,
) -> list[_Unit]:
    """Gap areas at the finest level where a need can be named, else the finest that is big enough.

    Two passes over the levels of :func:`area_hierarchy` (small area first, coarsest last), each
    taking the far-placed children not yet in a gap area, grouped by their home area's unit at
    that level:

    1. a unit with at least ``min_count`` children *of which at least ``min_count`` share a
       need* (``groups``) is a gap area: children whose small area is big enough but whose needs
       are all smaller than ``min_count`` are left to a coarser level, where a need can be named;
    2. for the children still left, a unit with at least ``min_count`` children is a gap area
       with mixed needs (finest level first).

    Without ``groups`` every need counts as nameable (one pass). Each small area belongs to the
    gap area holding its children or, without children there, to the finest gap area above it,
    so published areas never overlap.
    """
    n_areas = len(areas)
    ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    names = areas["area_name"].astype(str).to_numpy(dtype=object)
    small_level = area_levels(areas)
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(small_level, ids, names)]
    if aggregate:
        levels += area_hierarchy(areas)
    assigned = np.flatnonzero(idx >= 0)
    left = np.ones(len(idx), dtype=bool)
    left[idx < 0] = False
    # (level number, unit id, children)
    found: list[tuple[int, str, np.ndarray]] = []

    def nameable(kids: np.ndarray) -> bool:
        if groups is None:
            return True
        return int(pd.Series(groups[kids]).value_counts().max()) >= min_count

    passes = [True, False] if groups is not None else [False]
    for named_only in passes:
        for lnum, (_, lv_ids, _) in enumerate(levels):
            kids_all = assigned[left[assigned]]
            if len(kids_all) == 0:
                break
            key = lv_ids[idx[kids_all]]
            if lnum == 0:
                order = sorted({int(a) for a in idx[kids_all]})
                keys = [str(ids[a]) for a in order]
            else:
                keys = sorted({str(k) for k in key} - {""})
            for k in keys:
                kids = kids_all[key == k]
                if len(kids) < min_count or (named_only and not nameable(kids)):
                    continue
                found.append((lnum, k, kids))
                left[kids] = False
    # members: the small areas of a unit's children, then child-free areas to the finest unit
    owner = np.full(n_areas, -1, dtype=np.int64)
    for u, (_, _, kids) in enumerate(found):
        owner[np.unique(idx[kids])] = u
    for u in sorted(range(len(found)), key=lambda j: found[j][0]):
        lnum, k, _ = found[u]
        if lnum > 0:
            owner[(owner < 0) & (levels[lnum][1] == k)] = u
    units = []
    for u, (lnum, k, kids) in enumerate(found):
        members = np.flatnonzero(owner == u)
        first = int(members[0]) if len(members) else int(idx[kids[0]])
        if lnum == 0:
            units.append(
                _Unit(
                    area_id=str(ids[first]),
                    area_name=str(names[first]),
                    level=str(small_level[first]),
                    members=np.array([first]),
                    children=kids,
                    merged=False,
                    member_level=str(small_level[first]),
                )
            )
            continue
        lv, lv_ids, lv_names = levels[lnum]
        inside = lv_ids == k
        shown: list[str] = []
        shown_levels: set[str] = set()
        for j, (lj, _, _) in enumerate(found):
            if lj < lnum and j != u and inside[owner == j].any():
                sl, _, sn = levels[lj]
                a = int(np.flatnonzero(owner == j)[0])
                shown.append(str(sn[a]) if lj == 0 else f"{sn[a]} ({sl[a]})")
                shown_levels.add(str(sl[a]))
        mlevels = {str(small_level[a]) for a in members}
        member_level = mlevels.pop() if len(mlevels) == 1 else "small area"
        shown_level = shown_levels.pop() if len(shown_levels) == 1 else "area"
        units.append(
            _Unit(
                area_id=k,
                area_name=_merged_name(str(lv_names[first]), str(lv[first]), shown, shown_level),
                level=str(lv[first]),
                members=members,
                children=kids,
                merged=True,
                member_level=member_level,
            )
        )
    return units


def _median_minutes(
    mins_table: pd.DataFrame, homes: Sequence[str], types: Sequence[str]
) -> dict[str, float]:
    """Per site type, the median over children (their home areas) of minutes to the type.

    NaN and missing types count as unreachable (inf), so the median is inf when at least half
    of the children have no such site within reach.
    """
    sub = mins_table.reindex(index=list(homes), columns=list(types))
    vals = sub.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    vals = np.where(np.isfinite(vals), vals, math.inf)
    return {t: float(np.median(vals[:, j])) for j, t in enumerate(types)}


def _publish_columns(has_pop: bool) -> list[str]:
    cols = [
        "rank",
        "area_id",
        "area_name",
        "level",
        "area_level",
        "count_band",
        "needed_groups",
        "minutes_to_suitable",
        "suitable_type",
        "lacks",
        "outside_catchment",
        "minutes_source",
        "evidence",
        "geometry",
    ]
    return cols + (["pop_0_17"] if has_pop else [])


def _evidence(
    r: Any,
    *,
    far_miles: float,
    minutes: float,
    labels: dict[str, str],
    type_labels: dict[str, str],
    min_count: int = 5,
) -> str:
    place = r.area_name if r.area_id in r.area_name else f"{r.area_name} ({r.area_id})"
    text = (
        f"{r.count_band} children whose home is in {place} are placed more than "
        f"{far_miles:g} miles from home"
    )
    if not r.main_need_named:
        # one phrase (needed_groups is then "mixed needs (each of fewer than N children)")
        text += f"; their needs are mixed (no need is shared by {min_count} or more of them)."
        if pd.isna(r.outside_catchment):
            return text + " Catchments were not assessed (no site data)."
        if r.lacks:
            return text + f" Lacking: {r.lacks}."
        return text + " Provision with spare places is within reach for each need."
    text += f"; main need: {labels.get(r.main_need, r.main_need)}"
    others = r.needed_groups.split("; ")[1:]
    if others:
        text += f" (also: {', '.join(others)})"
    text += "."
    notes = []
    if r.minutes_source.startswith("straight"):
        notes.append("straight-line estimate")
    if r.is_merged:
        notes.append(f"median over these children's home {r.member_level}s")
    note = f" ({'; '.join(notes)})" if notes else ""
    if not site_types_serving(r.main_need):
        text += " No provision type is modelled for this need."
    elif pd.isna(r.outside_catchment):
        text += " Catchments were not assessed (no site data)."
    elif np.isfinite(r.minutes_to_suitable):
        kind = type_labels.get(r.suitable_type, r.suitable_type).lower()
        rel = "beyond" if r.minutes_to_suitable > minutes else "within"
        text += (
            f" Nearest {kind} with spare places: {r.minutes_to_suitable:.0f} min{note}, "
            f"{rel} the {minutes:g}-minute limit."
        )
    else:
        kinds = " or ".join(type_labels.get(t, t).lower() for t in site_types_serving(r.main_need))
        where = (
            f" for at least half of these children's home {r.member_level}s" if r.is_merged else ""
        )
        text += f" No {kinds} with spare places was found{where}."
    if r.lacks_other:
        text += f" Also lacking: {r.lacks_other}."
    return text
