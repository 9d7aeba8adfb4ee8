"""Community impact of each candidate: registered children's homes and their places near it, per
10,000 children, beside the council's average (the concentration of homes in some wards that
councils such as Durham and Derby weigh when siting a new home).

Two neighbourhoods: within :data:`IMPACT_RADIUS_M` (straight line) and within the candidate's
catchment (``max_minutes`` by road, or estimated). Wards are not used: geosuff ships no ward
boundaries. Arrays first, a thin frame wrapper after.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Radius of the near neighbourhood, metres.
IMPACT_RADIUS_M = 1000.0
#: Children per rate: homes and places per this many children aged 0-17.
PER_CHILDREN = 10_000
#: Site types (``site_types.csv``) counted as registered children's homes (Ofsted-registered
#: under the Children's Homes Regulations: children's homes, secure homes, short breaks homes).
REGISTERED_HOME_TYPES: tuple[str, ...] = ("childrens_home", "secure_home", "short_breaks")
#: Columns :func:`community_impact` adds, in order.
IMPACT_COLUMNS: tuple[str, ...] = (
    "homes_1km",
    "places_1km",
    "homes_per_10k_1km",
    "places_per_10k_1km",
    "homes_catchment",
    "places_catchment",
    "homes_per_10k_catchment",
    "places_per_10k_catchment",
    "homes_per_10k_council",
    "places_per_10k_council",
)


def community_counts(
    site_in: Any, site_places: Any, pop_share: Any, pop_children: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Homes, places and children in each candidate's neighbourhood.

    Parameters
    ----------
    site_in : array_like of bool, shape (n_homes, n_candidates)
        Whether each registered home is in each candidate's neighbourhood.
    site_places : array_like, shape (n_homes,)
        Registered places of each home (NaN counts as 0).
    pop_share : array_like, shape (n_areas, n_candidates)
        Share (0-1) of each small area's children in each candidate's neighbourhood.
    pop_children : array_like, shape (n_areas,)
        Children aged 0-17 of each small area.

    Returns
    -------
    homes, places, children : ndarray, shape (n_candidates,)
    """
    s_in = np.asarray(site_in, dtype=bool)
    places = np.nan_to_num(np.asarray(site_places, dtype=np.float64))
    share = np.asarray(pop_share, dtype=np.float64)
    kids = np.nan_to_num(np.asarray(pop_children, dtype=np.float64))
    homes = s_in.sum(axis=0).astype(np.float64)
    return homes, places @ s_in, kids @ share


def per_children(count: Any, children: Any) -> np.ndarray:
    """``count`` per :data:`PER_CHILDREN` children; NaN where there are no children."""
    c = np.asarray(count, dtype=np.float64)
    k = np.asarray(children, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(k > 0, c / k * PER_CHILDREN, np.nan)
    result: np.ndarray = np.asarray(out, dtype=np.float64)
    return result


def circle_shares(areas: Any, cand_xy: np.ndarray, radius_m: float) -> np.ndarray:
    """Share of each area polygon's surface within ``radius_m`` of each candidate (children
    taken as spread evenly over their area); shape (n_areas, n_candidates).
    """
    import shapely

    geoms = np.asarray(areas.geometry.to_numpy())
    area = shapely.area(geoms)
    out = np.zeros((len(geoms), len(cand_xy)))
    tree = shapely.STRtree(geoms)
    for j, (x, y) in enumerate(np.asarray(cand_xy, dtype=np.float64)):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        circle = shapely.Point(x, y).buffer(radius_m, quad_segs=16)
        hit = tree.query(circle)
        if hit.size:
            inter = shapely.area(shapely.intersection(geoms[hit], circle))
            with np.errstate(divide="ignore", invalid="ignore"):
                out[hit, j] = np.where(area[hit] > 0, inter / area[hit], 0.0)
    return out


def community_impact(
    table: pd.DataFrame,
    sites: pd.DataFrame,
    areas: Any,
    *,
    site_minutes: Any,
    area_minutes: Any,
    max_minutes: float,
    radius_m: float = IMPACT_RADIUS_M,
    council: str | None = None,
) -> pd.DataFrame:
    """The candidate table with :data:`IMPACT_COLUMNS` added (a new frame; NaN for a candidate
    with no location).

    Parameters
    ----------
    table : DataFrame
        Candidates with ``easting``/``northing`` (m, EPSG:27700).
    sites : DataFrame
        The council's used provision sites: ``type``, ``places``, ``easting``, ``northing``.
    areas : GeoDataFrame
        The council's small areas with ``pop_0_17`` (polygons, EPSG:27700).
    site_minutes : array_like, shape (n_sites, n_candidates)
        Minutes between each site and each candidate (the catchment).
    area_minutes : array_like, shape (n_areas, n_candidates)
        Minutes from each small area to each candidate.
    max_minutes : float
        The catchment's travel time (the siting ``max_minutes``).
    radius_m : float
        The near neighbourhood's radius, metres.
    council : str, optional
        GSS code: the council's average counts only sites whose ``utla`` is it (when sites have
        that column); its children are every area's.
    """
    cxy = table[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    located = np.isfinite(cxy).all(axis=1)
    home = sites["type"].astype(str).isin(REGISTERED_HOME_TYPES).to_numpy()
    sxy = sites[["easting", "northing"]].to_numpy(float)[home]
    places = pd.to_numeric(sites["places"], errors="coerce").to_numpy(float)[home]
    kids = pd.to_numeric(areas["pop_0_17"], errors="coerce").to_numpy(float)
    dist = np.sqrt(((sxy[:, None, :] - cxy[None, :, :]) ** 2).sum(axis=2))
    near = np.nan_to_num(dist, nan=np.inf) <= radius_m
    h1, p1, k1 = community_counts(near, places, circle_shares(areas, cxy, radius_m), kids)
    sm = np.asarray(site_minutes, dtype=np.float64)[home]
    am = np.asarray(area_minutes, dtype=np.float64)
    s_in = np.nan_to_num(sm, nan=np.inf) <= max_minutes
    a_in = (np.nan_to_num(am, nan=np.inf) <= max_minutes).astype(np.float64)
    hc, pc, kc = community_counts(s_in, places, a_in, kids)
    total_kids = float(np.nansum(kids))
    own = np.ones(int(home.sum()), dtype=bool)
    if council is not None and "utla" in sites.columns:
        own = (sites["utla"].astype(str).to_numpy() == council)[home]
    out = table.copy()
    cols = {
        "homes_1km": h1,
        "places_1km": p1,
        "homes_per_10k_1km": per_children(h1, k1),
        "places_per_10k_1km": per_children(p1, k1),
        "homes_catchment": hc,
        "places_catchment": pc,
        "homes_per_10k_catchment": per_children(hc, kc),
        "places_per_10k_catchment": per_children(pc, kc),
    }
    for name, v in cols.items():
        out[name] = np.where(located, v, np.nan)
    out["homes_per_10k_council"] = float(per_children(own.sum(), total_kids))
    out["places_per_10k_council"] = float(per_children(np.nansum(places[own]), total_kids))
    return out
