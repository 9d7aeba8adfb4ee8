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
