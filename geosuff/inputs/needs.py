"""The optional ``DISABLED`` and ``NEED`` columns of the placements: each child's needs as codes.

``DISABLED`` is Y/N (1/0, yes/no, true/false; blank: not recorded). ``NEED`` is a free list of
needs separated by ``;`` or ``,`` ("complex;SEMH"), each a code, label or alias of
``geosuff/data/needs.csv`` (read by :mod:`geosuff.reference`). A code that is not in the list is
left out of the child's needs, with a warning and a reason on the row (the row is still used).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geosuff.inputs._base import Issue
from geosuff.reference import DISABLED_NEED, needs, normalise_need

logger = logging.getLogger(__name__)

_YES = {"1", "y", "yes", "true", "t"}
_NO = {"0", "n", "no", "false", "f"}
_SPLIT = re.compile(r"[;,|]")


@dataclass(frozen=True)
class NeedColumns:
    """The needs of every row.

    Attributes
    ----------
    disabled : BooleanArray
        ``DISABLED`` (NA: not recorded, or no column).
    needs : StringArray
        The row's need codes, ``;``-joined in ``needs.csv`` order ("disabled;semh"; "" none
        recorded); NA for every row when the file has neither column. ``DISABLED = Y`` adds
        ``disabled``.
    reasons : ndarray of str
        Per row, what was left out ("" when nothing), for the row's reason.
    issues : list of Issue
    """

    disabled: pd.arrays.BooleanArray
    needs: pd.arrays.StringArray
    reasons: np.ndarray
    issues: list[Issue]


def read_need_columns(df: pd.DataFrame, *, fname: str, live: np.ndarray) -> NeedColumns:
    """Parse ``DISABLED`` and ``NEED`` of a placements frame (columns already mapped).

    Parameters
    ----------
    df : DataFrame
        The placements rows (raw text).
    fname : str
        File name for the issues.
    live : ndarray of bool
        Rows still in the snapshot (issues are reported for these only).

    Returns
    -------
    NeedColumns
    """
    n = len(df)
    issues: list[Issue] = []
    reasons = np.full(n, "", dtype=object)
    order = list(needs())
    has_dis, has_need = "DISABLED" in df.columns, "NEED" in df.columns
    disabled = pd.array([pd.NA] * n, dtype="boolean")
    if has_dis:
        raw = df["DISABLED"].astype("string").fillna("").str.strip()
        low = raw.str.lower().to_numpy(dtype=object)
        for i, v in enumerate(low):
            if v in _YES:
                disabled[i] = True
            elif v in _NO:
                disabled[i] = False
            elif v and live[i]:
                issues.append(
                    Issue(
                        fname,
                        i + 1,
                        "DISABLED",
                        str(raw.iat[i]),
                        "DISABLED should be Y or N (or 1/0, yes/no); disability not known",
                        "warning",
                        "disabled.invalid",
                    )
                )
                reasons[i] = "DISABLED not Y/N: disability not known"
    if not (has_dis or has_need):
        return NeedColumns(disabled, pd.array([pd.NA] * n, dtype="string"), reasons, issues)
    codes: list[str | None] = []
    text = (
        df["NEED"].astype("string").fillna("").to_numpy(dtype=object)
        if has_need
        else np.full(n, "", dtype=object)
    )
    dis_known = ~disabled.isna()
    dis_yes = disabled.fillna(False).to_numpy(dtype=bool)
    for i in range(n):
        got: set[str] = set()
        if dis_yes[i]:
            got.add(DISABLED_NEED)
        unknown = []
        for tok in (t.strip() for t in _SPLIT.split(str(text[i]))):
            if not tok:
                continue
            code = normalise_need(tok)
            if code is None:
                unknown.append(tok)
            else:
                got.add(code)
        if unknown and live[i]:
            issues.append(
                Issue(
                    fname,
                    i + 1,
                    "NEED",
                    "; ".join(unknown),
                    f"NEED {', '.join(repr(u) for u in unknown)} is not a known need "
                    f"(use {', '.join(order)}; see geosuff's needs list); left out of the child's needs",
                    "warning",
                    "need.unknown",
                )
            )
            note = f"NEED {', '.join(repr(u) for u in unknown)} not a known need: left out"
            reasons[i] = f"{reasons[i]}; {note}" if reasons[i] else note
        if not has_need and not dis_known[i]:
            codes.append(None)  # DISABLED only, and not recorded: needs not known
        else:
            codes.append(";".join(c for c in order if c in got))
    return NeedColumns(disabled, pd.array(codes, dtype="string"), reasons, issues)
