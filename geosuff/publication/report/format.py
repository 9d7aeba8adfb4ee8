"""Report formatting helpers: the Headline record, templates, number and percent text, escaping."""

from __future__ import annotations

import html
import logging
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
CAT_COLOURS = ("#3e6fb0", "#c2410c", "#9aa5b1")


NOT_AVAILABLE = "Not available in this run."


@dataclass(frozen=True)
class Headline:
    """One headline figure: the big number, a sentence saying what it means, and a comparison."""

    key: str
    figure: str
    sentence: str
    comparison: str


def _dfe_year_gap(requested: Any, used: Any) -> str:
    """ "2025 not published yet" when the reference date's DfE year is not the one used, else ""."""
    if requested is None or used is None or pd.isna(requested) or pd.isna(used):
        return ""
    req, yr = int(requested), int(used)
    if req == yr:
        return ""
    return f"{req} not published yet" if req > yr else f"{req} not in the shipped DfE statistics"


@cache
def _asset(name: str) -> str:
    return (resources.files("geosuff") / "templates" / name).read_text(encoding="utf-8")


@cache
def _env() -> Environment:
    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["breakable"] = _breakable
    return env


def _breakable(v: Any) -> Markup:
    """A table cell's text, escaped, with a line-break opportunity after each ``_`` or ``/``
    inside a word: codes such as ``supported_accommodation`` or paths would otherwise widen a
    table past the page. Not between two digits (a date such as 01/04/2025 stays whole). Markup
    (already HTML) is left as it is.
    """
    if isinstance(v, Markup):
        return v

    def hint(m: re.Match[str]) -> str:
        digits = m.group(1).isdigit() and m.group(3).isdigit()
        return m.group(2) if digits else m.group(2) + "<wbr>"

    return Markup(re.sub(r"(?<=(.))([_/])(?=(\S))", hint, str(Markup.escape(v))))


def _unit(m: pd.DataFrame) -> str:
    """ "children" when each row is a different child, else "placements"."""
    if "CHILD" in m and m["CHILD"].notna().all() and m["CHILD"].nunique() < len(m):
        return "placements"
    return "children"


def _dfe_years(results: Results) -> tuple[int | None, int | None]:
    """(year requested, year used) of the DfE 31 March figures: the comparison's own, else the
    year of the reference date (None, None when neither is known).
    """
    d = results.dfe_comparison
    if d is not None and len(d) and {"year_requested", "year"} <= set(d.columns):
        at31 = d[d["table"] == "At 31 March"] if "table" in d.columns else d
        r = (at31 if len(at31) else d).iloc[0]
        return int(r["year_requested"]), int(r["year"])
    ref = results.scenario.analysis.reference_date
    if ref is None:
        return None, None
    try:
        from geosuff.inputs import dfe_stats as ds

        return ds.year_for(ref, "distance")
    except Exception as err:  # shipped statistics are optional context
        logger.warning("DfE year not known: %s", err)
        return None, None


def _year_note(dfe: dict[str, Any]) -> str:
    """ "; 2025 not published yet" when the DfE year used is not the reference date's."""
    gap = _dfe_year_gap(dfe.get("year_requested"), dfe.get("year"))
    return f"; {gap}" if gap else ""


@cache
def _dfe_far_shares(
    council: str, year_requested: int | None = None, year: int | None = None
) -> dict[str, Any]:
    """Published % placed over 20 miles in ``year`` (default the latest shipped): council,
    statistical neighbours, England; with ``year`` and ``year_requested``.
    """
    try:
        from geosuff.inputs import dfe_stats as ds

        year = ds.latest_year("distance") if year is None else int(year)
        out: dict[str, Any] = {"year": year, "year_requested": year_requested or year}
        for key, level, code in (
            ("council", ds.LEVEL_LA, council),
            ("sn", ds.LEVEL_SN, council),
            ("england", ds.LEVEL_NATIONAL, None),
        ):
            pub = ds.published("distance", la_code=code, level=level, year=year)
            if ds.FAR in pub.index:
                r = pub.loc[ds.FAR]
                out[key] = (
                    f"{r['percentage']:.0f}%"
                    if pd.notna(r["percentage"])
                    else (str(r["percentage_symbol"]) or ":")
                )
        return out
    except Exception as err:  # shipped statistics are optional context
        logger.warning("DfE comparison figures not available: %s", err)
        return {}


def _chosen_ids(results: Results) -> set[str]:
    ids: set[str] = set()
    sel = results.selection
    if sel is not None:
        ids |= {str(v) for v in (getattr(sel, "chosen_ids", ()) or ())}
    c = results.candidates
    if c is not None and "chosen" in c and "candidate_id" in c:
        ids |= set(c.loc[c["chosen"].fillna(False).astype(bool), "candidate_id"].astype(str))
    return ids


def _pub_number(v: Any, note: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        f = math.nan
    if np.isfinite(f):
        return f"{f:,.0f}"
    note = str(note or "")
    return "c" if "suppress" in note else ":"


def _pub_pct(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ":"
    return f"{f:.0f}%" if np.isfinite(f) else ":"


def _pct_value(s: str) -> float | None:
    try:
        return float(str(s).strip().rstrip("%"))
    except ValueError:
        return None


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _looks_numeric(s: str) -> bool:
    t = str(s).replace(",", "").replace("%", "").replace("£", "").strip()
    if t in {"c", ":", ""}:
        return True
    try:
        float(t)
        return True
    except ValueError:
        return False


def escape(s: Any) -> str:
    """HTML-escape for callers building fragments."""
    return html.escape(str(s))
