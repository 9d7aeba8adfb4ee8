"""Before/after: the indicators with the chosen set opened."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.config.siting import SitingSettings
from geosuff.siting.core import Selection
from geosuff.siting.demand import (
    _bool_column,
    _check_matrix,
    _demand_arrays,
    _existing_compat,
    _within,
)
from geosuff.siting.select import _site_xy, dfe_miles

logger = logging.getLogger(__name__)


#: Start of the before/after indicator of children placed far away who could come home (the
#: selection's objective); :mod:`geosuff.publish` keeps it as a headline figure.
COME_HOME_LABEL = "Placed far who could come home"


def scenario_masks(
    demand: pd.DataFrame,
    selection: Selection,
    *,
    candidates: pd.DataFrame,
    demand_minutes: Any,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Which demand rows each before/after indicator of :func:`scenario_table` counts.

    Child-level (for disclosure control of the published table): never publish these arrays.

    Returns
    -------
    dict
        Indicator label -> (before, after) boolean arrays over the rows of ``demand``.
        "Placed ... miles or less": before, rows with ``within_20_miles`` true (else
        ``over_20_miles`` known to be false); after, those that stay plus the re-homed whose new
        straight-line distance is within the line. "Placed inside the council": ``inside_la``
        true (else ``outside_la`` known false), plus the re-homed to a site inside. "Home within T
        min of a suitable site": uncapacitated reach by existing sites, then with the chosen ones.
        "Placed far who could come home ...": rows the selection assigns (fixed sites alone for
        before).
    """
    settings = settings or SitingSettings()
    if selection.sites is None:
        raise InputFileError("scenario_table needs a Selection from select_sites.")
    columns: pd.DataFrame = selection.sites.attrs["columns"]
    dem = _demand_arrays(demand, settings)
    w = dem.weight
    n = w.size
    T = settings.max_minutes
    alloc = selection.allocation.tocsr()
    moved = np.asarray(alloc.sum(axis=1)).reshape(-1) > 0.5 * np.maximum(w, 1e-9)
    assigned = np.where(alloc.getnnz(axis=1) > 0, np.asarray(alloc.argmax(axis=1)).reshape(-1), -1)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {"Children in scope": (w > 0, w > 0)}

    # site coordinates and inside-LA flag per allocation column
    cand_xy = _site_xy(candidates)
    ex_xy = _site_xy(existing)
    kind = columns["kind"].to_numpy()
    idx = columns["row"].to_numpy(np.int64)
    col_xy = np.full((len(columns), 2), np.nan)
    for which, xy in (("candidate", cand_xy), ("existing", ex_xy)):
        m = kind == which
        col_xy[m] = xy[idx[m]]

    def _inside(df: pd.DataFrame | None, which: str) -> np.ndarray:
        m = kind == which
        res = np.ones(int(m.sum()), dtype=bool)
        if df is not None and "inside_la" in df:
            flags = _bool_column(df, "inside_la")
            res = np.nan_to_num(flags[idx[m]], nan=1.0) > 0
        return res

    col_inside = np.ones(len(columns), dtype=bool)
    col_inside[kind == "candidate"] = _inside(candidates, "candidate")
    col_inside[kind == "existing"] = _inside(existing, "existing")
    rows = np.flatnonzero(moved & (assigned >= 0))

    def _known(name: str, fallback: str) -> np.ndarray | None:
        if name in demand:
            return np.nan_to_num(_bool_column(demand, name), nan=0.0) > 0
        if fallback in demand:
            return np.nan_to_num(_bool_column(demand, fallback), nan=1.0) == 0
        return None

    within = _known("within_20_miles", "over_20_miles")
    if within is not None and {"easting", "northing"} <= set(demand.columns):
        home = _site_xy(demand)
        d = np.hypot(*(home[rows] - col_xy[assigned[rows]]).T)
        after = within & ~moved
        after[rows[dfe_miles(d) <= settings.far_miles]] = True
        out[f"Placed {settings.far_miles:g} miles or less from home"] = (within, after)
    inside = _known("inside_la", "outside_la")
    if inside is not None:
        after = inside & ~moved
        after[rows[col_inside[assigned[rows]]]] = True
        out["Placed inside the council"] = (inside, after)

    # within T of a suitable site (uncapacitated reach), all demand rows
    t_dem = _check_matrix(demand_minutes, (n, len(candidates)), "demand_minutes")
    n_ex = 0 if existing is None else len(existing)
    covered = np.zeros(n, dtype=bool)
    if n_ex and existing_minutes is not None:
        t_ex = _check_matrix(existing_minutes, (n, n_ex), "existing_minutes")
        covered = (_within(t_ex, T) & _existing_compat(existing, dem, settings)).any(axis=1)
    after_cov = covered.copy()
    for cid, use in zip(selection.sites["candidate_id"], selection.sites["use"], strict=True):
        j = int(np.flatnonzero(candidates["candidate_id"].to_numpy() == cid)[0])
        after_cov |= _within(t_dem[:, j], T) & dem.compatible(settings.rules[use])
    out[f"Home within {T:g} min of a suitable site"] = (covered, after_cov)
    fixed = selection.fixed_allocation
    before_far = (
        np.asarray(fixed.tocsr().sum(axis=1)).reshape(-1) > 0.5 * np.maximum(w, 1e-9)
        if fixed is not None
        else np.zeros(n, dtype=bool)
    )
    label = f"{COME_HOME_LABEL} within {T:g} min" + (
        " (within places)" if selection.capacitated else ""
    )
    out[label] = (before_far, moved)
    return out


def scenario_table(
    demand: pd.DataFrame,
    selection: Selection,
    *,
    candidates: pd.DataFrame,
    demand_minutes: Any,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
) -> pd.DataFrame:
    """Indicators before and after opening the selected sites, as a table.

    Re-homed children are those the selection assigns (capacity-limited). Their new distance is
    the DfE straight-line measure from home (demand ``easting``/``northing``) to the site; new
    sites are inside the council unless the candidate has ``inside_la`` false. Children whose
    distance (or placement LA) is not known count as neither within the line nor inside.

    Parameters
    ----------
    demand : DataFrame
        As for :func:`select_sites` (same rows); ``within_20_miles`` / ``inside_la`` (or
        ``over_20_miles`` / ``outside_la``) give the "before" state, ``easting``/``northing``
        the home (for the after-distance).
    selection : Selection
        From :func:`select_sites` on the same inputs.
    candidates, demand_minutes, settings, existing, existing_minutes
        As for :func:`select_sites`.

    Returns
    -------
    DataFrame
        Columns ``indicator``, ``before``, ``after``, ``change`` (children, weighted), counted
        from :func:`scenario_masks`, plus "Places in new sites". Aggregate counts only: apply
        the disclosure rules before publishing small numbers (:mod:`geosuff.publish`).
    """
    settings = settings or SitingSettings()
    masks = scenario_masks(
        demand,
        selection,
        candidates=candidates,
        demand_minutes=demand_minutes,
        settings=settings,
        existing=existing,
        existing_minutes=existing_minutes,
    )
    w = _demand_arrays(demand, settings).weight
    rows: list[tuple[str, float, float]] = [
        (label, float(w[b].sum()), float(w[a].sum())) for label, (b, a) in masks.items()
    ]
    assert selection.sites is not None
    new_places = float(selection.sites["places"].sum())
    rows.append(("Places in new sites", 0.0, new_places))
    table = pd.DataFrame(rows, columns=["indicator", "before", "after"])
    table["change"] = table["after"] - table["before"]
    return table
