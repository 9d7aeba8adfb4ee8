"""The candidate table's cost columns as published: a saving is children x pounds, so it is
withheld (``c``) wherever the count of children behind it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geosuff.publication.ledger.core import SUPPRESSED

#: Published payback of a candidate whose new home costs as much as or more than the placements
#: it replaces (at the weekly costs used).
NO_SAVING = "no saving"


def _money(v: float) -> str:
    return "" if not math.isfinite(v) else str(round(v))


def publish_costs(table: pd.DataFrame, children: Sequence[str]) -> pd.DataFrame:
    """``yearly_saving_gbp`` and ``payback_years`` as published text (a new frame).

    Parameters
    ----------
    table : DataFrame
        The candidate table with :data:`geosuff.siting.costs.COST_COLUMNS` (raw numbers).
    children : sequence of str
        The published count of children behind each row's saving (``places_it_could_fill``:
        a number or ``"c"``; "" where none was registered).

    Returns
    -------
    DataFrame
        Savings in whole pounds, payback in years to 1 decimal (``"no saving"`` when it never
        pays back, "" when not known), both ``c`` where the children are ``c``.
    """
    if "yearly_saving_gbp" not in table.columns or len(children) != len(table):
        return table
    out = table.copy()
    save = pd.to_numeric(out["yearly_saving_gbp"], errors="coerce").to_numpy(float)
    pay = pd.to_numeric(out.get("payback_years"), errors="coerce")
    pay_a = pay.to_numpy(float) if pay is not None else np.full(len(out), np.nan)
    saving_txt, pay_txt = [], []
    for s, p, c in zip(save, pay_a, children, strict=True):
        if str(c) == SUPPRESSED:
            saving_txt.append(SUPPRESSED)
            pay_txt.append(SUPPRESSED)
            continue
        saving_txt.append(_money(s))
        if np.isnan(p):
            pay_txt.append("")
        elif np.isinf(p):
            pay_txt.append(NO_SAVING)
        else:
            pay_txt.append(f"{p:.1f}")
    out["yearly_saving_gbp"] = saving_txt
    out["payback_years"] = pay_txt
    for col in ("weekly_cost_now_gbp", "weekly_cost_new_gbp"):
        if col in out:
            out[col] = [_money(float(v)) for v in pd.to_numeric(out[col], errors="coerce")]
    return out


#: Rows the chosen set's costs add to the before/after table (``scenario_comparison``).
SAVING_LABEL = "Yearly placement cost saving of the chosen set (£)"
CONVERSION_LABEL = "Conversion cost of the chosen set (£)"
PAYBACK_LABEL = "Payback of the chosen set (years)"


def chosen_set_costs(
    chosen: pd.DataFrame | None, candidates: pd.DataFrame | None, *, weeks_per_year: float
) -> tuple[str, str, str] | None:
    """The chosen set's yearly saving, conversion cost and payback as published text.

    The saving is each chosen property's children it would take (published
    ``children_assigned``) x its weekly cost difference x ``weeks_per_year``; it is ``c`` when
    any of those counts is. None when no chosen property has a weekly cost difference.

    Parameters
    ----------
    chosen : DataFrame or None
        ``pub.chosen_sites``: ``candidate_id``, ``children_assigned`` (text).
    candidates : DataFrame or None
        The raw candidate table with ``weekly_cost_now_gbp``, ``weekly_cost_new_gbp``, ``cost``.
    weeks_per_year : float
    """
    if chosen is None or candidates is None or len(chosen) == 0:
        return None
    if "weekly_cost_now_gbp" not in candidates.columns:
        return None
    c = candidates.drop_duplicates("candidate_id").set_index(candidates["candidate_id"].astype(str))
    ids = chosen["candidate_id"].astype(str).tolist()
    diff = [
        float(c.at[i, "weekly_cost_now_gbp"]) - float(c.at[i, "weekly_cost_new_gbp"])
        if i in c.index
        else math.nan
        for i in ids
    ]
    if not any(math.isfinite(d) for d in diff):
        return None
    conv = pd.to_numeric(c.reindex(ids).get("cost"), errors="coerce")
    conv_total = float(conv.sum()) if conv is not None and conv.notna().all() else math.nan
    kids = [str(v) for v in chosen["children_assigned"]]
    if not all(k.replace(".", "", 1).isdigit() for k in kids):  # "c" (or a band)
        return SUPPRESSED, _money(conv_total), SUPPRESSED
    saving = sum(
        float(k) * d * weeks_per_year for k, d in zip(kids, diff, strict=True) if math.isfinite(d)
    )
    payback = float(sc_payback(conv_total, saving))
    pay_txt = (
        "" if math.isnan(payback) else (NO_SAVING if math.isinf(payback) else f"{payback:.1f}")
    )
    return _money(saving), _money(conv_total), pay_txt


def sc_payback(cost: float, saving: float) -> float:
    """Payback years of one cost and saving (:func:`geosuff.siting.costs.payback_years`)."""
    from geosuff.siting.costs import payback_years

    return float(payback_years([cost], [saving])[0])


def scenario_cost_rows(
    scenario: pd.DataFrame | None, values: tuple[str, str, str] | None
) -> pd.DataFrame | None:
    """The before/after table with the chosen set's saving, conversion cost and payback rows
    (in the ``change_new_sites`` column; the other columns do not apply).
    """
    if scenario is None or values is None:
        return scenario
    rows = [
        {
            "indicator": label,
            "before": "",
            "after_new_sites": "",
            "change_new_sites": v,
            "after_with_spare_places": "",
            "change_with_spare_places": "",
        }
        for label, v in zip((SAVING_LABEL, CONVERSION_LABEL, PAYBACK_LABEL), values, strict=True)
    ]
    return pd.concat([scenario, pd.DataFrame(rows, columns=scenario.columns)], ignore_index=True)
