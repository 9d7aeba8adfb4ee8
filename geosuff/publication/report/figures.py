"""Report charts and the headline sentences built from published figures."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from geosuff.publication import charts
from geosuff.publication import disclosure as dc

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published, Withheld
    from geosuff.results import Results
from geosuff.publication.report.format import CAT_COLOURS, NOT_AVAILABLE, Headline, _pct_value

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Charts
# ----------------------------------------------------------------------------------------------
def _chart_by_type(pub: Published, results: Results) -> str:
    a = results.scenario.analysis
    df = pub.indicators.get("place_group")
    if df is None or len(df) == 0:
        return ""
    seg_labels = (f"{a.far_miles:g} miles or less", f"over {a.far_miles:g} miles", "not known")
    rows = [
        charts.BarRow(
            str(r.label),
            str(r.n),
            tuple(
                charts.Segment(seg_labels[k], str(v), CAT_COLOURS[k])
                for k, v in enumerate((r.n_within_miles, r.n_over_miles, r.n_distance_not_known))
            ),
        )
        for r in df.itertuples(index=False)
    ]
    return charts.stacked_bars(
        rows,
        title=f"Distance from home by placement type (straight line, {a.far_miles:g}-mile line)",
        desc="Share of children in each placement type placed within or beyond the line; suppressed cells are hatched.",
    )


def _chart_bands(pub: Published) -> str:
    b = pub.distance_bands
    if b is None or len(b) == 0:
        return ""
    return charts.bar_chart(
        [str(x) for x in b["band"]],
        [str(v) for v in b["children"]],
        title="How far from home children are placed (straight-line miles)",
        desc="Children by distance band; bands beyond the far-distance line are highlighted; suppressed bands are hatched stubs.",
        highlight=[bool(x) for x in b["beyond_line"]],
    )


def _chart_trend(results: Results, heads: list[Headline]) -> str:
    from geosuff.inputs import dfe_stats as ds

    try:
        t = ds.load_table("distance")
    except Exception as err:  # shipped data missing: no chart
        logger.warning("DfE trend not drawn: %s", err)
        return ""
    far = t[t["characteristic"] == ds.FAR]
    years = sorted(int(y) for y in far["year"].unique())

    def series(level: str, code: str | None) -> tuple[float | None, ...]:
        sub = far[far["level"] == level]
        if code is not None:
            sub = sub[sub["la_code"] == code]
        vals = dict(zip(sub["year"].astype(int), sub["percentage"], strict=False))
        return tuple(None if y not in vals or pd.isna(vals[y]) else float(vals[y]) for y in years)

    council = results.scenario.council
    lines = [
        charts.Series(f"{results.council_name} (DfE)", "#c2410c", series(ds.LEVEL_LA, council)),
        charts.Series(
            "Statistical neighbours", "#7b8794", series(ds.LEVEL_SN, council), dash="5 4"
        ),
        charts.Series("England", "#3e6fb0", series(ds.LEVEL_NATIONAL, None)),
    ]
    pts = []
    v = _pct_value(heads[0].figure)
    if v is not None:
        ref = results.scenario.analysis.reference_date
        yr = years[-1] if ref is None else ds.year_ending(ref)
        yr = min(max(yr, years[0]), years[-1])
        pts.append((yr, v, "This analysis", "#1f2933"))
    return charts.line_chart(
        years,
        lines,
        points=pts,
        title="Children looked after at 31 March placed more than 20 miles from home (%)",
        desc="DfE published percentages 2021-2025 for the council, its statistical neighbours (median) and England, with this analysis' figure.",
    )


# ----------------------------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------------------------
def _third_headline(results: Results, pub: Published, unit: str) -> Headline:
    mc = results.scenario.disclosure.min_count
    a = results.scenario.analysis
    sel = pub.selection
    if sel is not None:
        ids = sel["chosen"]
        gain = sel["gain"]
        n_ids = len(ids)
        what = f"Opening the {n_ids} chosen propert{'y' if n_ids == 1 else 'ies'} ({', '.join(ids) or 'none'})"
        note = "optimal set from the council's candidate properties, within their places and the existing sites' spare places"
        if gain == dc.SUPPRESSED and sel["after"] != dc.SUPPRESSED:
            # the gain is withheld (too few children before), the total after is not
            sentence = f"With the {n_ids} chosen propert{'y' if n_ids == 1 else 'ies'} ({', '.join(ids) or 'none'}), {sel['after']} {unit} now placed far away could live within {a.local_minutes:g} minutes of home in a suitable place."
            return Headline(
                "selection",
                sel["after"],
                sentence,
                f"Before: {sel['before']} (too few to show the gain); {note}.",
            )
        if gain == dc.SUPPRESSED:
            sentence = f"{what} would bring a small number of {unit} placed far away within {a.local_minutes:g} minutes of a suitable place (exact figure withheld: too few children)."
        else:
            sentence = f"{what} would bring {gain.lstrip('+')} more {unit} placed far away within {a.local_minutes:g} minutes of a suitable place."
        return Headline(
            "selection", gain, sentence, f"Before: {sel['before']}; after: {sel['after']} ({note})."
        )
    g = pub.gap_areas
    if g is not None and len(g) == 0:
        return Headline(
            "gaps",
            "0",
            f"No home area has {mc} or more {unit} placed more than {a.far_miles:g} miles away, so no gap area stands out.",
            "Children placed far away come from across the council; see the tables and the map for provision within reach.",
        )
    if g is not None:
        k = (
            int(g["outside_catchment"].fillna(False).astype(bool).sum())
            if "outside_catchment" in g
            else len(g)
        )
        return Headline(
            "gaps",
            str(k),
            f"{k} home area{'s' if k != 1 else ''} with children placed far away ha{'ve' if k != 1 else 's'} no suitable place with spare capacity within {a.local_minutes:g} minutes.",
            f"Listed below with what is lacking; areas with fewer than {mc} far-placed children are not listed.",
        )
    return Headline("gaps", ":", "Gap areas were not assessed in this run.", NOT_AVAILABLE)


def withheld_sentence(w: Withheld) -> str:
    """ "N of M figures were withheld (fewer than K children, or would reveal one that is)." """
    return (
        f"{w.withheld} of {w.figures} figures were withheld (fewer than {w.min_count} children, "
        "or would reveal one that is)."
    )


def _meaning(
    results: Results,
    h: list[Headline],
    dfe: dict[str, Any],
    *,
    withheld: Withheld | None = None,
) -> str:
    a = results.scenario.analysis
    far = _pct_value(h[0].figure)
    eng = _pct_value(str(dfe.get("england") or ""))
    parts = []
    if far is not None and eng is not None:
        rel = (
            "more"
            if far > eng + 0.5
            else ("fewer" if far < eng - 0.5 else "about the same share of")
        )
        parts.append(
            f"Proportionally, {rel} {'' if rel.startswith('about') else 'children '}are placed over {a.far_miles:g} miles from home than in England as a whole.".replace(
                "  ", " "
            )
        )
    if withheld is not None and withheld.withheld:
        parts.append(withheld_sentence(withheld))
    elif any(x.figure == dc.SUPPRESSED for x in h):
        parts.append(
            "Some figures are withheld (c) because they concern very few children, or would let a reader work out such a figure from others."
        )
    inside = _pct_value(h[1].figure)
    if inside is not None:
        parts.append(
            "The council meets its local placement target."
            if inside >= 100 * a.local_target - 1e-9
            else f"The council is below its target of placing {a.local_target:.0%} of children inside its own area."
        )
    parts.append(
        "The gap areas and candidate properties below show where new local provision would do most good."
    )
    return " ".join(parts)
