"""The report's care-leavers and projection section, and their method notes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from geosuff.analysis import projection as pj
from geosuff.publication.report.tables import _pct_text, _table
from geosuff.reference import oc3_codes, placement_groups

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: Section titles of the care-leavers tables, by measure.
MEASURE_TITLES: dict[str, str] = {
    "in_touch": "In touch with the council",
    "accommodation_suitable": "Accommodation suitable",
    "accommodation_type": "Type of accommodation",
    "location": "Living inside or outside the council",
    "distance": "Straight-line distance from the council's boundary",
    "care_leaver_unit_demand": "Demand for care-leaver units (unsuitable accommodation or living outside)",
}
_LABELS: dict[str, str] = {
    "suitable": "Suitable",
    "unsuitable": "Not suitable",
    "not_applicable": "Not applicable (died or returned home)",
    "not_known": "Not known",
    "inside_la": "Inside the council",
    "outside_la": "Outside the council",
    "demand": "Unsuitable accommodation or living outside",
    "not_demand": "Other care leavers",
}
#: Statement of the DfE comparison (geosuff ships no DfE care-leaver statistics).
DFE_NOT_SHIPPED = (
    "DfE's published care-leaver figures (in touch, suitable accommodation, by council) are not "
    "shipped with geosuff (geosuff/data/dfe holds children-looked-after placement figures only), "
    "so no comparison with them is made here."
)


def _label(category: str, far_miles: float) -> str:
    if category in _LABELS:
        return _LABELS[category]
    if category.startswith("outside_la_over_"):
        return f"Outside, over {far_miles:g} miles"
    if category.startswith("outside_la_") and category.endswith("_miles_or_less"):
        return f"Outside, {far_miles:g} miles or less"
    for fld in ("IN_TOUCH", "ACCOM"):
        for c in oc3_codes().get(fld, {}).values():
            if c.category == category:
                same = [x.code for x in oc3_codes()[fld].values() if x.category == category]
                return f"{c.label} ({'/'.join(same)})" if fld == "IN_TOUCH" else c.label
    return category.replace("_", " ").capitalize()


def care_leaver_tables(pub: Published, results: Results) -> list[tuple[str, dict[str, Any]]]:
    """One (title, table) per measure: categories by age band, "count (percent)"."""
    t = pub.care_leavers
    if t is None or len(t) == 0:
        return []
    far = results.scenario.analysis.far_miles
    bands = list(dict.fromkeys(t["age_band"].astype(str)))
    out = []
    for measure, title in MEASURE_TITLES.items():
        sub = t[t["measure"] == measure]
        if len(sub) == 0:
            continue
        cats = list(dict.fromkeys(sub["category"].astype(str)))
        rows = []
        for c in cats:
            row: list[Any] = [_label(c, far)]
            for b in bands:
                r = sub[(sub["age_band"].astype(str) == b) & (sub["category"] == c)]
                row.append(
                    f"{r['count'].iloc[0]} ({_pct_text(r['percent'].iloc[0])})" if len(r) else ""
                )
            rows.append(row)
        totals = ["All care leavers counted"] + [
            str(sub.loc[sub["age_band"].astype(str) == b, "denominator"].iloc[0]) for b in bands
        ]
        rows.append(totals)
        heads = ["", *("All ages" if b == "all" else f"Aged {b}" for b in bands)]
        out.append((title, _table(heads, rows, total_last=True)))
    return out


def care_leaver_note(results: Results) -> str:
    """What the care-leaver tables count and how (ages, distance, demand, DfE comparison)."""
    if results.care_leavers is None:
        return ""
    a = results.scenario.analysis
    return (
        f"Care leavers aged {a.care_leaver_min_age} to {a.care_leaver_max_age} at the reference date "
        "(SSDA903 OC3 codes: in touch, accommodation and whether it is suitable). Inside or outside is the "
        "upper-tier council of the accommodation postcode; the distance is the DfE-style straight line from "
        "the accommodation postcode's grid reference to the nearest point of the council's boundary (0 for "
        "those living inside), in miles to one decimal. The demand for care-leaver units in the siting is "
        "the care leavers in unsuitable accommodation or living outside the council. No accommodation "
        f"postcode or location is published. {DFE_NOT_SHIPPED}"
    )


def _series_label(breakdown: str, group: str, results: Results) -> str:
    if breakdown == "all":
        return "All children looked after"
    if breakdown == "place_group":
        g = placement_groups().get(group)
        return g.label if g is not None else group
    areas = results.areas
    if areas is not None and "district_name" in areas.columns:
        names = dict(zip(areas["district_code"].astype(str), areas["district_name"], strict=False))
        if names.get(group):
            return f"Living in {names[group]}"
    return f"Living in {group}"


def projection_report_table(pub: Published, results: Results) -> dict[str, Any] | None:
    """The projection: one row per series and year, intervals as "lower-upper"."""
    p = pub.projection
    if p is None or len(p) == 0:
        return None
    rows = [
        [
            _series_label(str(r.breakdown), str(r.group), results),
            f"{r.base_count} ({r.base_year})",
            int(r.year),
            r.projected,
            f"{r.lower_80}-{r.upper_80}" if r.lower_80 not in ("c", ":") else r.lower_80,
            f"{r.lower_95}-{r.upper_95}" if r.lower_95 not in ("c", ":") else r.lower_95,
            r.annual_change_pct,
        ]
        for r in p.itertuples(index=False)
    ]
    return _table(
        [
            "Children",
            "Now (31 March)",
            "Year",
            "Projected",
            "80% interval",
            "95% interval",
            "Trend, % a year",
        ],
        rows,
        note=(
            "Projected figures are rounded to the nearest 5; c: a series with a small count in some "
            "year, or whose current count is withheld; ':' no interval (fewer than three years)."
        ),
        numeric=[False, True, True, True, False, False, True],
    )


def projection_method(results: Results) -> str:
    """The projection's method note (the report's method section)."""
    a = results.scenario.analysis
    growth = (
        f"{a.child_population_growth:.1%} a year ([analysis] child_population_growth)"
        if a.child_population_growth
        else "0 ([analysis] child_population_growth; geosuff ships the ONS child population for "
        "mid-2020 only, no growth series, so no growth is assumed unless you set it)"
    )
    return (
        "Children looked after at each 31 March (all, by placement type and by home district) are "
        "fitted with a straight line through the logarithm of the counts (log-linear least squares, "
        f"a constant % change a year) and projected {a.projection_years} years ahead of the last "
        f"year, times the child population growth of {growth}. The 80% and 95% prediction "
        "intervals are those of the regression (Student's t, n - 2 degrees of freedom), so they "
        "need three or more years; a series with a year of no children is fitted on the count "
        'plus 0.5. [siting] demand = "projected" weighs each child placed far by the projected / '
        "current ratio of their placement type at the last year projected."
    )


def method_items(results: Results) -> list[tuple[str, str]]:
    """The method notes of this section (none when neither table was made)."""
    items = []
    if results.care_leavers is not None:
        items.append(("Care leavers", care_leaver_note(results)))
    if results.projection is not None:
        items.append(("Projection", projection_method(results)))
    return items


def context(pub: Published, results: Results) -> dict[str, Any]:
    """The report-template values of this section."""
    return {
        "care_leaver_tables": care_leaver_tables(pub, results),
        "care_leaver_note": care_leaver_note(results),
        "projection_table": projection_report_table(pub, results),
        "projection_note": projection_method(results) if results.projection is not None else "",
        "projection_columns": pj.PROJECTION_COLUMNS,
    }
