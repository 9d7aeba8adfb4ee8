"""The report's trend charts: one line chart per measure of ``tables/trend.csv``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd

from geosuff.publication import charts

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: Lines of each chart: (breakdown, label, colour, dash).
_LINES: tuple[tuple[str, str, str, str], ...] = (
    ("all", "All children", "#c2410c", ""),
    ("excluding_uasc", "Excluding UASC", "#3e6fb0", "5 4"),
)


def _titles(results: Results) -> dict[str, str]:
    a = results.scenario.analysis
    return {
        "far": f"Placed more than {a.far_miles:g} miles from home (straight line, %)",
        "outside_la": f"Placed outside {results.council_name} (%)",
        "within_local_minutes": f"Placed within {a.local_minutes:g} minutes of home (%)",
        "external": "Placed with an external provider (PLACE_PROVIDER PR2-PR5, %)",
    }


def _value(text: object) -> float | None:
    """A published percent as a number; None for "c" or ":" (a break in the line)."""
    try:
        return float(str(text))
    except ValueError:
        return None


def trend_charts(pub: Published, results: Results) -> list[tuple[str, str]]:
    """One (caption, SVG) per measure with at least two years; empty when no trend.

    Parameters
    ----------
    pub : Published
        The published figures (percent 0-100 or ``"c"``).
    results : Results
        The run (for titles: far miles, local minutes, council name).
    """
    t = pub.trend
    if t is None or len(t) == 0:
        return []
    out = []
    for measure, title in _titles(results).items():
        sub = t[t["measure"] == measure]
        years = sorted({int(y) for y in sub["year"]})
        if len(years) < 2:
            continue
        lines = []
        for breakdown, label, colour, dash in _LINES:
            b = sub[(sub["breakdown"] == breakdown) & (sub["group"] == "all")]
            vals = dict(zip(b["year"].astype(int), b["percent"], strict=True))
            series = tuple(_value(vals.get(y, "")) for y in years)
            lines.append(charts.Series(label, colour, series, dash=dash))
        svg = charts.line_chart(
            years,
            lines,
            title=title,
            desc=f"Children looked after at 31 March {years[0]}-{years[-1]}: {title}.",
        )
        out.append((f"{title}, at 31 March of each year.", svg))
    return out


def missing_years_note(pub: Published) -> str:
    """Which years have no travel-time measure (their children were not all routed)."""
    t = pub.trend
    if t is None or len(t) == 0:
        return ""
    years = set(pd.to_numeric(t["year"]).astype(int))
    timed = set(pd.to_numeric(t.loc[t["measure"] == "within_local_minutes", "year"]).astype(int))
    gone = sorted(years - timed)
    if not gone:
        return ""
    return (
        "Travel times are not known for every child of "
        + ", ".join(str(y) for y in gone)
        + ", so the travel-time measure is not shown for those years."
    )
