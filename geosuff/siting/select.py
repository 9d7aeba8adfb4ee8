"""Choosing the best k properties (GeoDataFrame wrappers over the array core)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geosuff._errors import InputFileError
from geosuff.config.siting import SitingSettings
from geosuff.siting._constants import CROW_FLY_SPEED_KPH, DFE_KM_PER_MILE
from geosuff.siting.core import Selection, from_cost_matrix
from geosuff.siting.demand import (
    _check_matrix,
    _demand_arrays,
    _existing_compat,
    _options,
    straight_line_minutes,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Selection wrappers and scenario comparison
# ---------------------------------------------------------------------------------------------


def _site_xy(df: pd.DataFrame | None) -> np.ndarray:
    if df is None or not {"easting", "northing"} <= set(df.columns):
        return np.full((0 if df is None else len(df), 2), np.nan)
    result: np.ndarray = (
        df[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    )
    return result


def select_sites(
    candidates: pd.DataFrame,
    demand: pd.DataFrame,
    demand_minutes: Any,
    *,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
    exclusion_zones: Any | None = None,
    k: int | None = None,
    target: float | None = None,
    capacitated: bool | None = None,
    prefer: Mapping[Any, float] | None = None,
) -> Selection:
    """Choose the best set of candidate buildings together (exact MILP, HiGHS).

    Maximises the number of children placed far away (``settings.far_rule``) who could be placed
    within ``settings.max_minutes`` of home in a site that serves their need and age, each child
    counted once and each site holding at most its places (``capacitated``) - or, uncapacitated,
    the children within reach of any open site (MCLP). Each building opens for at most one use.
    Existing sites stay open: their ``vacancies`` column (default 0) is their capacity.

    Parameters
    ----------
    candidates, demand, demand_minutes, existing, existing_minutes, exclusion_zones
        As for :func:`score_candidates` (``existing_minutes`` has shape (n_demand, n_existing)).
    settings : SitingSettings, optional
        ``k``, ``target``, ``capacitated``, ``mip_rel_gap``, ``time_limit_s`` and the rules.
    k, target, capacitated : optional
        Override the settings. A ``target`` (children, > 0) picks the fewest sites reaching it.
    prefer : mapping, optional
        Candidate id -> tie-break value (e.g. the total score from :func:`score_candidates`):
        among sets reaching the same optimum, buildings with higher values are chosen.

    Returns
    -------
    Selection
        As :func:`from_cost_matrix`, with ``chosen_ids`` the candidate ids and ``sites`` a table
        (``order``, ``candidate_id``, ``use``, ``places``, ``children_assigned``,
        ``addition_gain``, ``marginal_gain``). ``allocation`` rows follow ``demand``; its columns
        are the eligible (candidate, use) options then the existing sites (``columns`` table in
        ``selection.sites.attrs["columns"]``).
    """
    settings = settings or SitingSettings()
    opts = _options(candidates, settings, exclusion_zones)
    opts = opts[opts["eligible"]].reset_index(drop=True)
    n_c = len(candidates)
    dem = _demand_arrays(demand, settings)
    t_dem = _check_matrix(demand_minutes, (len(demand), n_c), "demand_minutes")
    n_ex = 0 if existing is None else len(existing)
    cap_mode = settings.capacitated if capacitated is None else capacitated
    if target is None and k is None:
        if settings.target > 0:
            target = settings.target
        else:
            k = settings.k
    far = np.flatnonzero(dem.far & (dem.weight > 0))
    cols_cost = [t_dem[np.ix_(far, opts["cand"].to_numpy())]]
    compat = np.zeros((far.size, len(opts)), dtype=bool)
    for use in opts["use"].unique():
        which = np.flatnonzero(opts["use"].to_numpy() == use)
        compat[:, which] = dem.compatible(settings.rules[use])[far, None]
    caps = [opts["places"].to_numpy(np.float64)]
    fixed = [np.zeros(len(opts), dtype=bool)]
    excl = [opts["cand"].to_numpy(np.int64)]
    compat_all = [compat]
    if n_ex:
        assert existing is not None
        if existing_minutes is None:
            raise InputFileError(
                "Existing sites were given without existing_minutes.",
                fix="Pass the minutes from each child's home to each existing site.",
            )
        t_ex = _check_matrix(existing_minutes, (len(demand), n_ex), "existing_minutes")
        cols_cost.append(t_ex[far])
        compat_all.append(_existing_compat(existing, dem, settings)[far])
        if "vacancies" in existing:
            vac = (
                pd.to_numeric(existing["vacancies"], errors="coerce")
                .fillna(0.0)
                .to_numpy(np.float64)
            )
        else:
            vac = np.zeros(n_ex)
        caps.append(vac)
        fixed.append(np.ones(n_ex, dtype=bool))
        excl.append(np.full(n_ex, -1, dtype=np.int64))
    cost = np.hstack(cols_cost) if far.size else np.zeros((0, sum(c.shape[1] for c in cols_cost)))
    sel = from_cost_matrix(
        cost,
        max_minutes=settings.max_minutes,
        k=k,
        target=target,
        weights=dem.weight[far],
        capacities=np.concatenate(caps),
        fixed=np.concatenate(fixed),
        compatible=np.hstack(compat_all),
        exclusive=np.concatenate(excl),
        capacitated=cap_mode,
        mip_rel_gap=settings.mip_rel_gap,
        time_limit_s=settings.time_limit_s,
        prefer=None
        if prefer is None
        else np.concatenate(
            [
                np.array(
                    [
                        float(prefer.get(c, -np.inf))
                        for c in candidates["candidate_id"].to_numpy()[
                            opts["cand"].to_numpy(np.int64)
                        ]
                    ]
                ),
                np.full(n_ex, -np.inf),
            ]
        ),
    )
    ids = candidates["candidate_id"].to_numpy()
    n_opt = len(opts)
    columns = pd.DataFrame(
        {
            "kind": ["candidate"] * n_opt + ["existing"] * n_ex,
            "row": np.concatenate([opts["cand"].to_numpy(np.int64), np.arange(n_ex)]),
            "candidate_id": np.concatenate(
                [ids[opts["cand"].to_numpy(np.int64)], np.full(n_ex, None)]
            ),
            "use": np.concatenate([opts["use"].to_numpy(object), np.full(n_ex, None)]),
            "places": np.concatenate(caps),
        }
    )
    chosen = sel.chosen
    sites = pd.DataFrame(
        {
            "order": np.arange(1, chosen.size + 1),
            "candidate_id": columns["candidate_id"].to_numpy()[chosen],
            "use": columns["use"].to_numpy()[chosen],
            "places": columns["places"].to_numpy()[chosen].astype(np.int64),
            "children_assigned": sel.site_load[chosen],
            "addition_gain": sel.addition_gain,
            "marginal_gain": sel.marginal_gain,
        }
    )
    sites.attrs["columns"] = columns
    # expand child-level allocation to every demand row (non-far rows are never assigned)
    alloc = sel.allocation.tocoo()
    allocation = sp.csr_matrix(
        (alloc.data, (far[alloc.row], alloc.col)), shape=(len(demand), alloc.shape[1])
    )
    fixed_allocation = None
    if sel.fixed_allocation is not None:
        fa = sel.fixed_allocation.tocoo()
        fixed_allocation = sp.csr_matrix(
            (fa.data, (far[fa.row], fa.col)), shape=(len(demand), fa.shape[1])
        )
    new_allocation = None
    if sel.new_allocation is not None:
        na = sel.new_allocation.tocoo()
        new_allocation = sp.csr_matrix(
            (na.data, (far[na.row], na.col)), shape=(len(demand), na.shape[1])
        )
    assignment = np.full(len(demand), -1, dtype=np.int64)
    assignment[far] = sel.assignment
    logger.info(
        "Selected %d site(s): %s children could come home (%s before), HiGHS %s, greedy gap %.2f%%.",
        chosen.size,
        f"{sel.objective:g}",
        f"{sel.fixed_objective:g}",
        sel.status,
        100 * sel.greedy_gap,
    )
    return dataclasses.replace(
        sel,
        chosen_ids=tuple(sites["candidate_id"].tolist()),
        sites=sites,
        allocation=allocation,
        fixed_allocation=fixed_allocation,
        new_allocation=new_allocation,
        assignment=assignment,
    )


def from_geodataframe(
    demand: Any,
    sites: Any,
    *,
    max_minutes: float,
    k: int | None = None,
    target: float | None = None,
    cost_minutes: Any | None = None,
    speed_kph: float = CROW_FLY_SPEED_KPH,
    weight_col: str | None = None,
    capacity_col: str | None = None,
    fixed_col: str | None = None,
    capacitated: bool | None = None,
    mip_rel_gap: float = 0.0,
    time_limit_s: float = 60.0,
) -> Selection:
    """:func:`from_cost_matrix` on GeoDataFrames of demand points and sites (spopt-style).

    Parameters
    ----------
    demand, sites : GeoDataFrame
        Points (other geometries use their representative point); reprojected to EPSG:27700.
    max_minutes, k, target, capacitated, mip_rel_gap, time_limit_s
        As for :func:`from_cost_matrix`.
    cost_minutes : array_like, shape (n_demand, n_sites), optional
        Road minutes (e.g. ``geosuff.traveltime.od_matrix``). Default: straight line at
        ``speed_kph``, a stand-in only.
    weight_col, capacity_col, fixed_col : str, optional
        Demand weight, site places and existing-site (bool) columns.

    Returns
    -------
    Selection
        With ``chosen_ids`` taken from ``sites.index``.
    """
    if cost_minutes is None:
        cost_minutes = straight_line_minutes(
            _points_xy(demand), _points_xy(sites), speed_kph=speed_kph
        )
    sel = from_cost_matrix(
        cost_minutes,
        max_minutes=max_minutes,
        k=k,
        target=target,
        weights=None if weight_col is None else demand[weight_col].to_numpy(np.float64),
        capacities=None if capacity_col is None else sites[capacity_col].to_numpy(np.float64),
        fixed=None if fixed_col is None else sites[fixed_col].to_numpy(bool),
        capacitated=capacitated,
        mip_rel_gap=mip_rel_gap,
        time_limit_s=time_limit_s,
    )
    return dataclasses.replace(sel, chosen_ids=tuple(sites.index.to_numpy()[sel.chosen].tolist()))


def _points_xy(gdf: Any) -> np.ndarray:
    """(n, 2) BNG coordinates of a GeoDataFrame's points."""
    if gdf.crs is not None and not gdf.crs.equals("EPSG:27700"):
        gdf = gdf.to_crs("EPSG:27700")
    geom = gdf.geometry
    if not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])


def dfe_miles(distance_m: Any) -> np.ndarray:
    """DfE placement distance in miles: ``round(d_m / 1000 / 1.6093, 1)``."""
    return np.round(np.asarray(distance_m, dtype=np.float64) / 1000.0 / DFE_KM_PER_MILE, 1)
