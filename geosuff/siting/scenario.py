"""Before/after: the indicators with the chosen set opened.

Two effects are reported, never mixed: the chosen new sites alone (children placed far move only
into the new sites' places, so no indicator of where children are placed changes by more than the
places added), and, separately, what also filling today's spare places in existing sites would do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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


#: Indicator label of the places the chosen new sites add (not a count of children).
NEW_PLACES_LABEL = "Places in new sites"


@dataclass(frozen=True, eq=False)
class EffectMasks:
    """The demand rows one before/after indicator counts, in each state (child-level).

    Never publish these arrays: the published counts go through the disclosure ledger.

    Attributes
    ----------
    before : ndarray of bool
        Rows counted today.
    new_sites : ndarray of bool
        Rows counted with the chosen new sites open, children placed far moving only into the new
        sites' places (today's spare places left as they are).
    with_spare_places : ndarray of bool
        Rows counted if today's spare places in existing sites were also filled (the selection's
        joint allocation).
    """

    before: np.ndarray
    new_sites: np.ndarray
    with_spare_places: np.ndarray


@dataclass(frozen=True)
class Effect:
    """One before/after indicator as numbers (children, weighted; or places).

    Attributes
    ----------
    indicator : str
        The indicator's label.
    before : float
        Today.
    after_new_sites_only : float
        With the chosen new sites alone (for a count of where children are placed, never more
        than the new places away from ``before``).
    after_with_spare_places : float
        If today's spare places were also filled.
    """

    indicator: str
    before: float
    after_new_sites_only: float
    after_with_spare_places: float

    @property
    def change_new_sites(self) -> float:
        """``after_new_sites_only - before``."""
        return self.after_new_sites_only - self.before

    @property
    def change_with_spare_places(self) -> float:
        """``after_with_spare_places - before``."""
        return self.after_with_spare_places - self.before


def _moves(allocation: Any, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows an allocation re-homes (most of their weight) and the column taking most of each."""
    alloc = allocation.tocsr()
    moved = np.asarray(alloc.sum(axis=1)).reshape(-1) > 0.5 * np.maximum(w, 1e-9)
    assigned = np.where(alloc.getnnz(axis=1) > 0, np.asarray(alloc.argmax(axis=1)).reshape(-1), -1)
    return moved, assigned


def scenario_masks(  # noqa: C901
    demand: pd.DataFrame,
    selection: Selection,
    *,
    candidates: pd.DataFrame,
    demand_minutes: Any,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
) -> dict[str, EffectMasks]:
    """Which demand rows each before/after indicator of :func:`scenario_table` counts.

    Child-level (for disclosure control of the published table): never publish these arrays.

    Returns
    -------
    dict
        Indicator label -> :class:`EffectMasks` (boolean arrays over the rows of ``demand``):
        today, with the chosen new sites alone (``selection.new_allocation``: each child placed
        far at most once, each new site at most its places, within ``max_minutes``), and if
        today's spare places were also filled (``selection.allocation``).
        "Placed ... miles or less": before, rows with ``within_20_miles`` true (else
        ``over_20_miles`` known to be false); after, those that stay plus the re-homed whose new
        straight-line distance is within the line. "Placed inside the council": ``inside_la``
        true (else ``outside_la`` known false), plus the re-homed to a site inside. "Home within T
        min of a suitable site": uncapacitated reach by existing sites, then with the chosen ones
        (the same in both after states). "Placed far who could come home ...": rows today's spare
        places could take (before), and rows the new sites and today's spare places together
        could take (both after states: the selection's objective, which the new sites raise by
        at most their places).
    """
    settings = settings or SitingSettings()
    if selection.sites is None or selection.new_allocation is None:
        raise InputFileError(
            "scenario_table needs a Selection from select_sites.",
            fix="Pass the result of geosuff.siting.select_sites on the same demand rows.",
        )
    columns: pd.DataFrame = selection.sites.attrs["columns"]
    dem = _demand_arrays(demand, settings)
    w = dem.weight
    n = w.size
    T = settings.max_minutes
    moved, assigned = _moves(selection.allocation, w)
    moved_new, assigned_new = _moves(selection.new_allocation, w)
    out: dict[str, EffectMasks] = {"Children in scope": EffectMasks(w > 0, w > 0, w > 0)}

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

    def _known(name: str, fallback: str) -> np.ndarray | None:
        if name in demand:
            result: np.ndarray = np.nan_to_num(_bool_column(demand, name), nan=0.0) > 0
            return result
        if fallback in demand:
            result = np.nan_to_num(_bool_column(demand, fallback), nan=1.0) == 0
            return result
        return None

    def _after(before: np.ndarray, mv: np.ndarray, asg: np.ndarray, ok: Any) -> np.ndarray:
        """``before`` with the re-homed rows counted where their new site ``ok`` says."""
        rows = np.flatnonzero(mv & (asg >= 0))
        after: np.ndarray = before & ~mv
        after[rows[ok(rows, asg[rows])]] = True
        return after

    within = _known("within_20_miles", "over_20_miles")
    if within is not None and {"easting", "northing"} <= set(demand.columns):
        home = _site_xy(demand)

        def _near(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            d = np.hypot(*(home[rows] - col_xy[cols]).T)
            return np.asarray(dfe_miles(d) <= settings.far_miles, dtype=bool)

        out[f"Placed {settings.far_miles:g} miles or less from home"] = EffectMasks(
            within,
            _after(within, moved_new, assigned_new, _near),
            _after(within, moved, assigned, _near),
        )
    inside = _known("inside_la", "outside_la")
    if inside is not None:

        def _in(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            result: np.ndarray = col_inside[cols]
            return result

        out["Placed inside the council"] = EffectMasks(
            inside,
            _after(inside, moved_new, assigned_new, _in),
            _after(inside, moved, assigned, _in),
        )

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
    out[f"Home within {T:g} min of a suitable site"] = EffectMasks(covered, after_cov, after_cov)
    fixed = selection.fixed_allocation
    before_far = (
        np.asarray(fixed.tocsr().sum(axis=1)).reshape(-1) > 0.5 * np.maximum(w, 1e-9)
        if fixed is not None
        else np.zeros(n, dtype=bool)
    )
    label = f"{COME_HOME_LABEL} within {T:g} min" + (
        " (within places)" if selection.capacitated else ""
    )
    out[label] = EffectMasks(before_far, moved, moved)
    return out


def scenario_effects(
    demand: pd.DataFrame,
    selection: Selection,
    *,
    candidates: pd.DataFrame,
    demand_minutes: Any,
    settings: SitingSettings | None = None,
    existing: pd.DataFrame | None = None,
    existing_minutes: Any | None = None,
) -> list[Effect]:
    """Indicators today, with the chosen new sites alone, and if today's spare places were also
    filled, as numbers (one :class:`Effect` each; the last, "Places in new sites", counts places).

    Parameters are as for :func:`scenario_table`; the counts are the weights of the rows of
    :func:`scenario_masks`.
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
    out = [
        Effect(
            label,
            float(w[m.before].sum()),
            float(w[m.new_sites].sum()),
            float(w[m.with_spare_places].sum()),
        )
        for label, m in masks.items()
    ]
    assert selection.sites is not None
    new_places = float(selection.sites["places"].sum())
    out.append(Effect(NEW_PLACES_LABEL, 0.0, new_places, new_places))
    return out


#: Columns of :func:`scenario_table`.
SCENARIO_COLUMNS: tuple[str, ...] = (
    "indicator",
    "before",
    "after_new_sites",
    "change_new_sites",
    "after_with_spare_places",
    "change_with_spare_places",
)


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

    Two "after" states: the chosen new sites alone (children placed far move only into the new
    sites' places, each child at most once and each site at most its places, so the change in
    where children are placed is never more than the places added), and, separately, if today's
    spare places in existing sites were also filled (the selection's joint allocation). Their new
    distance is the DfE straight-line measure from home (demand ``easting``/``northing``) to the
    site; new sites are inside the council unless the candidate has ``inside_la`` false. Children
    whose distance (or placement LA) is not known count as neither within the line nor inside.

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
        Columns :data:`SCENARIO_COLUMNS`: ``indicator``, ``before``, ``after_new_sites``,
        ``change_new_sites``, ``after_with_spare_places``, ``change_with_spare_places``
        (children, weighted), from :func:`scenario_effects`, plus "Places in new sites".
        Aggregate counts only: apply the disclosure rules before publishing small numbers
        (:mod:`geosuff.publication.ledger`).
    """
    effects = scenario_effects(
        demand,
        selection,
        candidates=candidates,
        demand_minutes=demand_minutes,
        settings=settings,
        existing=existing,
        existing_minutes=existing_minutes,
    )
    return pd.DataFrame(
        [
            (
                e.indicator,
                e.before,
                e.after_new_sites_only,
                e.change_new_sites,
                e.after_with_spare_places,
                e.change_with_spare_places,
            )
            for e in effects
        ],
        columns=list(SCENARIO_COLUMNS),
    )
