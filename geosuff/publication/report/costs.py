"""The report's providers, costs and community impact tables (published figures only)."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from geosuff import reference
from geosuff.config.sections import cost_settings
from geosuff.publication.report.format import _pub_pct
from geosuff.publication.report.tables import _table

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results

logger = logging.getLogger(__name__)

_SECTOR_HEAD = {
    reference.SECTOR_IN_HOUSE: "In-house (PR1)",
    reference.SECTOR_EXTERNAL: "External (PR2-PR5)",
    reference.SECTOR_PARENT: "With parents (PR0)",
    reference.SECTOR_NOT_KNOWN: "Provider not known",
}


def _group_label(group: str) -> str:
    if group == "all":
        return "All placements"
    g = reference.placement_groups().get(group)
    return g.label if g is not None else group.replace("_", " ")


def providers_table(pub: Published) -> dict[str, Any] | None:
    """Placements by provider sector and placement type (``tables/providers.csv``)."""
    t = pub.providers
    if t is None or len(t) == 0:
        return None
    rows = []
    for group, sub in t.groupby("place_group", sort=False):
        by = {str(r.sector): r for r in sub.itertuples(index=False)}
        base = str(sub["denominator"].iloc[0])
        cells = []
        for sec in _SECTOR_HEAD:
            r = by.get(sec)
            if r is None:
                cells.append("")
            elif str(r.percent) == "c" or str(r.count) == "c":
                cells.append(str(r.count))
            else:
                cells.append(f"{r.count} ({_pub_pct(r.percent)})")
        rows.append([_group_label(str(group)), base, *cells])
    return _table(
        ["Placement type", "Children", *_SECTOR_HEAD.values()],
        rows,
        numeric=[False, True, True, True, True, True],
        total_last=True,
        note=(
            "Who provides each placement (SSDA903 PLACE_PROVIDER): the council's own provision, "
            "or an external one (another council, another public body, a private or a voluntary "
            "provider). Percentages are of the children of each placement type; c: withheld."
        ),
    )


def _money_text(v: Any) -> str:
    s = str(v if v is not None else "")
    if s in ("", "nan"):
        return ""
    try:
        return f"£{float(s):,.0f}"
    except ValueError:
        return s


def cost_table(pub: Published, results: Results) -> dict[str, Any] | None:
    """Each eligible candidate's yearly saving and payback (the candidate ranking's costs)."""
    c = pub.candidates
    if c is None or len(c) == 0 or "yearly_saving_gbp" not in c.columns:
        return None
    c = c[c["cost_group"].astype(str).replace("nan", "") != ""]
    if len(c) == 0:
        return None
    rank = pd.to_numeric(c["rank"], errors="coerce").fillna(1e9)
    c = c.assign(_r=rank).sort_values("_r", kind="stable")
    rows = [
        [
            str(r.get("candidate_id", "")),
            str(r.get("use", "")).replace("_", " "),
            str(r.get("places_it_could_fill", "")),
            _money_text(r.get("weekly_cost_now_gbp")),
            _money_text(r.get("weekly_cost_new_gbp")),
            _money_text(r.get("yearly_saving_gbp")),
            _money_text(r.get("cost")),
            str(r.get("payback_years", "")),
        ]
        for _, r in c.iterrows()
    ]
    costs = cost_settings(results.scenario)
    used = sorted(
        {(str(g), s) for g in c["cost_group"].astype(str) for s in reference.COST_SECTORS}
    )
    sources = "; ".join(
        f"{g.replace('_', ' ')} {s.replace('_', '-')} £{costs.weekly(g, s):,.0f} a week: "
        f"{costs.sources.get((g, s), '')}"
        for g, s in used
        if math.isfinite(costs.weekly(g, s))
    )
    return _table(
        [
            "Property",
            "Use",
            "Children who could come home",
            "Weekly cost now (external)",
            "Weekly cost in the new home",
            "Yearly saving",
            "Conversion cost",
            "Payback (years)",
        ],
        rows,
        numeric=[False, False, True, True, True, True, True, True],
        note=(
            f"Yearly saving = children who could come home x (weekly cost now - weekly cost in "
            f"the new home) x {costs.weeks_per_year:g} weeks; payback = conversion cost / yearly "
            "saving ('no saving': the new home costs as much or more at these weekly costs). "
            "A home leased to a provider costs the external price less [costs] lease_discount "
            f"({costs.lease_discount:.0%}). Weekly costs: {sources}. The shipped weekly costs are "
            "indicative published averages at their own price years: set your council's own in "
            "[costs]. A saving is withheld (c) where the children behind it are."
        ),
    )


def _rate(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(x) else f"{x:.1f}"


def _whole(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(x) else f"{x:.0f}"


def impact_table(pub: Published, results: Results) -> dict[str, Any] | None:
    """Registered homes and places near each candidate, per 10,000 children, and the council's."""
    c = pub.candidates
    if c is None or len(c) == 0 or "homes_1km" not in c.columns:
        return None
    rank = pd.to_numeric(c["rank"], errors="coerce").fillna(1e9)
    c = c.assign(_r=rank).sort_values("_r", kind="stable")
    c = c[pd.to_numeric(c["homes_1km"], errors="coerce").notna()]
    if len(c) == 0:
        return None
    from geosuff.publication.maps import siting_minutes

    T = siting_minutes(results)
    rows = [
        [
            str(r.get("candidate_id", "")),
            f"{_whole(r.get('homes_1km'))} / {_whole(r.get('places_1km'))}",
            _rate(r.get("places_per_10k_1km")),
            f"{_whole(r.get('homes_catchment'))} / {_whole(r.get('places_catchment'))}",
            _rate(r.get("places_per_10k_catchment")),
        ]
        for _, r in c.iterrows()
    ]
    first = c.iloc[0]
    council = (
        f"{results.council_name}: {_rate(first.get('homes_per_10k_council'))} homes and "
        f"{_rate(first.get('places_per_10k_council'))} places per 10,000 children."
    )
    return _table(
        [
            "Property",
            "Homes / places within 1 km",
            "Places per 10,000 children within 1 km",
            f"Homes / places within {T:g} min",
            f"Places per 10,000 children within {T:g} min",
        ],
        rows,
        numeric=[False, True, True, True, True],
        note=(
            "Registered children's homes (children's, secure and short-breaks homes of the sites "
            "file) and their places near each property, per 10,000 children aged 0-17 living "
            "there (ONS mid-2020 LSOA estimates, spread evenly over each small area of the "
            "council), beside the council's average: "
            + council
            + " Wards are not shown (no ward boundaries are shipped); children in neighbouring "
            "councils are not counted, so a rate near the boundary is overstated."
        ),
    )
