"""Yearly savings and payback of each candidate: children who could come home, the weekly cost of
their placement now (external) against the new home's (in-house, or the leased price), and the
property's conversion cost.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from geosuff.config.costs import CostSettings
from geosuff.config.siting import EligibilityRules, SitingSettings
from geosuff.reference import SECTOR_EXTERNAL, SECTOR_IN_HOUSE

logger = logging.getLogger(__name__)

#: Columns :func:`candidate_costs` adds, in order.
COST_COLUMNS: tuple[str, ...] = (
    "cost_group",
    "weekly_cost_now_gbp",
    "weekly_cost_new_gbp",
    "yearly_saving_gbp",
    "payback_years",
)


def yearly_savings(
    children: Any, weekly_now_gbp: Any, weekly_new_gbp: Any, *, weeks_per_year: float = 52.0
) -> np.ndarray:
    """Yearly saving (pounds) of placing ``children`` in the new home instead of where they are.

    Parameters
    ----------
    children : array_like, shape (n,)
        Children who could come home (re-homed; at most the home's places).
    weekly_now_gbp, weekly_new_gbp : array_like, shape (n,)
        Weekly cost of one child's placement now (external) and in the new home, pounds.
    weeks_per_year : float
        Weeks counted in a year.

    Returns
    -------
    ndarray of float, shape (n,)
        ``children * (now - new) * weeks_per_year``; negative when the new home costs more,
        NaN when a cost is not known.
    """
    c = np.asarray(children, dtype=np.float64)
    now = np.asarray(weekly_now_gbp, dtype=np.float64)
    new = np.asarray(weekly_new_gbp, dtype=np.float64)
    out: np.ndarray = c * (now - new) * float(weeks_per_year)
    return out


def payback_years(conversion_cost_gbp: Any, yearly_saving_gbp: Any) -> np.ndarray:
    """Years for the yearly saving to repay the conversion cost.

    Returns
    -------
    ndarray of float
        ``cost / saving`` where the saving is positive; ``inf`` where there is no saving (0 or
        negative: it never pays back); NaN where the cost or the saving is not known. A cost of 0
        pays back at once (0 years).
    """
    cost = np.asarray(conversion_cost_gbp, dtype=np.float64)
    save = np.asarray(yearly_saving_gbp, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(save > 0, cost / save, np.inf)
    out = np.where(np.isnan(cost) | np.isnan(save), np.nan, out)
    result: np.ndarray = np.asarray(out, dtype=np.float64)
    return result


def cost_group(rules: EligibilityRules, costs: CostSettings) -> str:
    """The placement group whose weekly costs a use's saving is counted with: the first group it
    serves (``serves_needs``) with an external cost and a cost for its operator; "" for none.
    """
    for g in rules.serves_needs:
        now = costs.weekly(g, SECTOR_EXTERNAL)
        new = now if rules.operator == SECTOR_EXTERNAL else costs.weekly(g, SECTOR_IN_HOUSE)
        if math.isfinite(now) and math.isfinite(new):
            return g
    return ""


def candidate_costs(
    table: pd.DataFrame, *, settings: SitingSettings, costs: CostSettings
) -> pd.DataFrame:
    """The candidate table with :data:`COST_COLUMNS` added (a new frame).

    Parameters
    ----------
    table : DataFrame
        One row per candidate: ``use`` (the use scored), ``rehoming_children`` (children who
        could come home), optional ``cost`` (conversion cost, pounds).
    settings : SitingSettings
        The rules of each use (``operator``, ``serves_needs``).
    costs : CostSettings
        Weekly costs.

    Returns
    -------
    DataFrame
        ``cost_group`` ("" when no cost applies), ``weekly_cost_now_gbp`` (external),
        ``weekly_cost_new_gbp`` (in-house; for a leased home the external price less
        ``lease_discount``), ``yearly_saving_gbp`` and ``payback_years`` (NaN when not known,
        inf when it never pays back).
    """
    n = len(table)
    groups = np.full(n, "", dtype=object)
    now = np.full(n, np.nan)
    new = np.full(n, np.nan)
    uses = table["use"].to_numpy(dtype=object) if "use" in table else np.full(n, None)
    for i, use in enumerate(uses):
        rules = settings.rules.get(str(use)) if isinstance(use, str) and use else None
        if rules is None:
            continue
        g = cost_group(rules, costs)
        if not g:
            continue
        groups[i] = g
        now[i] = costs.weekly(g, SECTOR_EXTERNAL)
        if rules.operator == SECTOR_EXTERNAL:
            new[i] = now[i] * (1.0 - costs.lease_discount)
        else:
            new[i] = costs.weekly(g, SECTOR_IN_HOUSE)
    children = pd.to_numeric(
        table.get("rehoming_children", pd.Series(np.nan, index=table.index)), errors="coerce"
    ).to_numpy(dtype=np.float64)
    save = yearly_savings(children, now, new, weeks_per_year=costs.weeks_per_year)
    conv = pd.to_numeric(
        table.get("cost", pd.Series(np.nan, index=table.index)), errors="coerce"
    ).to_numpy(dtype=np.float64)
    out = table.copy()
    out["cost_group"] = groups
    out["weekly_cost_now_gbp"] = now
    out["weekly_cost_new_gbp"] = new
    out["yearly_saving_gbp"] = save
    out["payback_years"] = payback_years(conv, save)
    return out
