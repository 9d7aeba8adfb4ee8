"""The HTML gap-review report of a run: plain-English summary first, then the evidence.

The report is one self-contained HTML file (inline CSS, inline SVG charts, no script, no external
resource), printable to PDF from a browser (A4, repeated table headers, rows never split).

Every number of children in the report comes from :func:`geosuff.publish.build` (the same
figures as the map and the published tables, suppressed together: counts from 1 to
``min_count - 1`` are "c", and further figures are "c" where a reader could otherwise work one
out); percentages are withheld where their numerator or base is suppressed; gap areas show bands
only. No child id, postcode, grid reference or point is written.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from geosuff import __version__
from geosuff._io import atomic_write_text
from geosuff.config import road_times, travel_phrase
from geosuff.publication import charts
from geosuff.publication import disclosure as dc

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published, Withheld
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: Colours of the distance categories in charts (near, far, not known).
CAT_COLOURS = ("#3e6fb0", "#c2410c", "#9aa5b1")

NOT_AVAILABLE = "Not available in this run."


@dataclass(frozen=True)
class Headline:
    """One headline figure: the big number, a sentence saying what it means, and a comparison."""

    key: str
    figure: str
    sentence: str
    comparison: str


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
def write_report(results: Results, path: str | Path, *, published: Published | None = None) -> Path:
    """Write the HTML gap-review report of a run.

    Parameters
    ----------
    results : Results
        A run's results.
    path : path
        Output HTML file (written atomically).
    published : Published, optional
        The run's published figures (:func:`geosuff.publish.build`); made here if not given.
        Pass the same object to the map and the CSV writer so that every file shows the same
        figures.

    Returns
    -------
    Path
        ``path``.
    """
    return atomic_write_text(Path(path), render_report(results, published=published))


def render_report(results: Results, *, published: Published | None = None) -> str:
    """The report's HTML (see :func:`write_report`)."""
    ctx = report_context(results, published=published)
    return _env().from_string(_asset("report.html.j2")).render(**ctx)


def _pub(results: Results, published: Published | None) -> Published:
    from geosuff.publication import ledger as publish

    return published if published is not None else publish.build(results)


def headlines(results: Results, published: Published | None = None) -> list[Headline]:
    """The three headline figures of the summary (published values only).

    1. children placed more than ``far_miles`` from home (DfE straight-line measure), against the
       council's and England's latest published DfE share;
    2. children placed inside the council, against ``local_target``;
    3. the chosen set's gain (children brought within reach of a suitable place), or, without a
       selection, the number of gap areas.
    """
    pub = _pub(results, published)
    sc = results.scenario
    a = sc.analysis
    unit = _unit(results.measures)
    h = pub.headline
    if not h:
        na = Headline(
            "far", ":", "Placement distances were not computed in this run.", NOT_AVAILABLE
        )
        return [
            na,
            Headline(
                "inside", ":", "Placement councils were not computed in this run.", NOT_AVAILABLE
            ),
            _third_headline(results, pub, unit),
        ]
    far_pct, far_s, n_s = _pct_text(h["far_pct"]), h["far"], h["n"]
    dfe = _dfe_far_shares(sc.council, *_dfe_years(results))
    comp = []
    if dfe.get("council") is not None:
        comp.append(f"{results.council_name} published by DfE: {dfe['council']}")
    if dfe.get("england") is not None:
        comp.append(f"England: {dfe['england']}")
    year = dfe.get("year")
    if far_s == dc.SUPPRESSED:
        sentence1 = f"A small number of the {n_s} {unit} are placed more than {a.far_miles:g} miles from home (exact figure withheld: too few children)."
    else:
        sentence1 = f"{far_s} of {n_s} {unit} ({far_pct}) are placed more than {a.far_miles:g} miles from home (straight line between home and placement postcodes, the DfE measure)."
    detail1 = (
        "; ".join(comp) + f" (DfE, 31 March {year}{_year_note(dfe)})."
        if comp
        else "No published DfE figure to compare."
    )
    if h.get("within_target") is not None:
        if h["meets_within_target"]:
            short1 = "meets the target"
        elif h["within_shortfall"] != dc.SUPPRESSED:
            short1 = f"short of the target by {h['within_shortfall']} {unit}"
        else:
            short1 = "short of the target"
        detail1 += f" Target {h['within_target']:.0%} placed {a.far_miles:g} miles or less from home: {short1}."
    h1 = Headline("far", far_pct, sentence1, detail1)
    in_s = h["inside"]
    target = a.local_target
    if in_s == dc.SUPPRESSED:
        # no shortfall: it would reveal the suppressed count
        short = "meets the target" if h["meets_target"] else "short of the target"
        figure = dc.SUPPRESSED
        sentence = f"A small number of the {n_s} {unit} are placed inside {results.council_name} (exact figure withheld: too few children)."
    else:
        short = (
            "meets the target"
            if h["meets_target"]
            else (
                f"short of the target by {h['shortfall']} {unit}"
                if h["shortfall"] != dc.SUPPRESSED
                else "short of the target"
            )
        )
        figure = _pct_text(h["inside_pct"])
        sentence = f"{in_s} of {n_s} {unit} ({figure}) are placed inside {results.council_name}."
    h2 = Headline(
        "inside",
        figure,
        sentence,
        f"Local target {target:.0%}: {short}."
        + (" Placement LA not known for some." if h["la_not_known"] else ""),
    )
    return [h1, h2, _third_headline(results, pub, unit)]


def report_context(results: Results, published: Published | None = None) -> dict[str, Any]:
    """Everything the report template shows (published strings, tables, SVG charts)."""
    pub = _pub(results, published)
    sc = results.scenario
    a = sc.analysis
    mc = sc.disclosure.min_count
    unit = _unit(results.measures)
    dfe = _dfe_far_shares(sc.council, *_dfe_years(results))
    heads = headlines(results, pub)
    ctx: dict[str, Any] = {
        "title": sc.title or f"{results.council_name}: placement sufficiency gap review",
        "council_name": results.council_name,
        "council": sc.council,
        "synthetic": sc.synthetic,
        "generated": dt.date.today().isoformat(),
        "version": __version__,
        "min_count": mc,
        "far_miles": a.far_miles,
        "local_minutes": a.local_minutes,
        "local_target": f"{a.local_target:.0%}",
        "unit": unit,
        "headlines": heads,
        "meaning": _meaning(
            results, heads, dfe, withheld=pub.ledger.withheld() if pub.ledger else None
        ),
        "not_available": NOT_AVAILABLE,
        "css": Markup(_asset("report.css")),
    }
    ctx["dfe_table"] = _dfe_table(pub)
    ctx["indicator_tables"] = [
        (title, _indicator_table(pub, key, results))
        for key, title in (
            ("place_group", "By placement type"),
            ("age_band", "By age band"),
            ("uasc", "Unaccompanied asylum-seeking children"),
        )
    ]
    ctx["sensitivity_table"] = _sensitivity_table(pub, estimated=not road_times(results.scenario))
    ctx["chart_types"] = Markup(_chart_by_type(pub, results))
    ctx["chart_bands"] = Markup(_chart_bands(pub))
    ctx["chart_trend"] = Markup(_chart_trend(results, heads))
    ctx["gap_table"] = _gap_table(pub)
    ctx["gap_note"] = _gap_note(results)
    ctx["gap_not_shown"] = _gap_not_shown(pub, results)
    g = pub.gap_areas
    ctx["gap_empty"] = (
        f"No home area (or group of neighbouring areas) has {mc} or more children placed more than {a.far_miles:g} miles away, so no gap area can be published."
        if g is not None and len(g) == 0
        else ""
    )
    ctx["candidate_table"] = _candidate_table(pub, results)
    ctx["selection"] = _selection(pub, results)
    ctx["scenario_table"] = _scenario_table(pub)
    ctx["quality_tables"] = _quality_tables(pub)
    ctx["method"] = _method(results)
    ctx["config_toml"] = to_toml(sc.to_toml_dict())
    return ctx


# ----------------------------------------------------------------------------------------------
# Tables (each: {"columns": [...], "rows": [[...]], "numeric": [bool], "note": str} or None)
# ----------------------------------------------------------------------------------------------
def _table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    note: str = "",
    numeric: Sequence[bool] | None = None,
    total_last: bool = False,
    wide: bool = False,
) -> dict[str, Any]:
    rows = [[_cell(v) for v in r] for r in rows]
    if numeric is None:
        numeric = [
            all(_looks_numeric(r[j]) for r in rows) and bool(rows) for j in range(len(columns))
        ]
    return {
        "columns": list(columns),
        "rows": rows,
        "numeric": list(numeric),
        "note": note,
        "total_last": total_last,
        "wide": wide or len(columns) > 8,
    }


def _pct_text(v: Any) -> str:
    """A published percentage ("46.9", "c", ":") as report text ("47%")."""
    s = "" if v is None else str(v)
    if s in {dc.SUPPRESSED, ":", ""}:
        return s
    try:
        return f"{float(s):.0f}%"
    except ValueError:
        return s


def _indicator_table(pub: Published, key: str, results: Results) -> dict[str, Any] | None:
    df = pub.indicators.get(key)
    if df is None or len(df) == 0:
        return None
    a = results.scenario.analysis
    have_minutes = any(str(v) not in {":", ""} for v in df["pct_within_minutes"])
    rows = []
    for r in df.itertuples(index=False):
        row = [
            r.label,
            r.n,
            r.n_over_miles,
            _pct_text(r.pct_over_miles),
            r.n_distance_not_known,
            r.n_inside_la,
            _pct_text(r.pct_inside_la),
            r.n_outside_not_adjoining,
        ]
        if have_minutes:
            row += [r.n_within_minutes, _pct_text(r.pct_within_minutes)]
        rows.append(row)
    cols = [
        "Group",
        "Children",
        f"Over {a.far_miles:g} miles",
        "%",
        "Distance not known",
        "Inside the council",
        "%",
        "Outside, not in an adjoining LA",
    ]
    if have_minutes:
        cols += [f"Within {a.local_minutes:g} min {travel_phrase(results.scenario)}", "%"]
    numeric = [False] + [True] * (len(cols) - 1)
    note = f"Percentages are of all children in the row. Target: {a.local_target:.0%} placed inside the council."
    return _table(cols, rows, note=note, numeric=numeric, total_last=len(df) > 1, wide=True)


def _dfe_cohort_label(r: Any) -> str:
    """Who "this analysis" counts in a DfE comparison row (from its typed cohort fields)."""
    end = getattr(r, "cohort_end", None)
    if end is None or pd.isna(end):
        return str(getattr(r, "table", ""))
    end_t = f"{pd.Timestamp(end):%d/%m/%Y}"
    if getattr(r, "cohort", "") == "started_in_year":
        start = getattr(r, "cohort_start", None)
        start_t = f"{pd.Timestamp(start):%d/%m/%Y}" if start is not None else "?"
        return f"Placements started {start_t} to {end_t}"
    return f"Looked after on {end_t}"


def _dfe_year_gap(requested: Any, used: Any) -> str:
    """ "2025 not published yet" when the reference date's DfE year is not the one used, else ""."""
    if requested is None or used is None or pd.isna(requested) or pd.isna(used):
        return ""
    req, yr = int(requested), int(used)
    if req == yr:
        return ""
    return f"{req} not published yet" if req > yr else f"{req} not in the shipped DfE statistics"


def _dfe_year_label(requested: Any, used: Any) -> str:
    """ "2024", or "2024 (2025 not published yet)" when the reference date's year is not shipped."""
    if used is None or pd.isna(used):
        return ""
    gap = _dfe_year_gap(requested, used)
    return f"{int(used)} ({gap})" if gap else f"{int(used)}"


def _dfe_table(pub: Published) -> dict[str, Any] | None:
    d = pub.dfe_comparison
    if d is None or len(d) == 0 or "measure" not in d:
        return None
    rows = []
    for r in d.itertuples(index=False):
        rows.append(
            [
                str(getattr(r, "table", "")),
                _dfe_cohort_label(r),
                str(r.measure),
                str(r.computed_n),
                _pct_text(r.computed_pct),
                _pub_number(getattr(r, "council_n", math.nan), getattr(r, "council_note", "")),
                _pub_pct(getattr(r, "council_pct", math.nan)),
                _pub_pct(getattr(r, "sn_median_pct", math.nan)),
                _pub_pct(getattr(r, "england_pct", math.nan)),
                _dfe_year_label(getattr(r, "year_requested", None), getattr(r, "year", None)),
            ]
        )
    cols = [
        "DfE table",
        "This analysis counts",
        "Measure",
        "This analysis",
        "%",
        "Council (DfE)",
        "%",
        "Statistical neighbours (median %)",
        "England %",
        "DfE year (ending 31 March)",
    ]
    note = "DfE figures are published statistics (c = suppressed by DfE; : = not published). Like is compared with like: 'At 31 March' rows count the children looked after on the reference date against the DfE's children looked after at 31 March; 'New placements in year' rows count the placements that started in the 12 months to the reference date (including ones that have ended, when the placements file has them) against the DfE's new placements during the year. The DfE year is the one ending on the reference date, or the latest published before it."
    return _table(
        cols, rows, note=note, numeric=[False, False, False] + [True] * 6 + [False], wide=True
    )


def _sensitivity_table(pub: Published, *, estimated: bool = False) -> dict[str, Any] | None:
    s = pub.sensitivity
    if s is None or len(s) == 0:
        return None
    est = estimated
    rows = [
        [
            _measure_label(str(r.measure), estimated=est),
            f"{float(r.threshold):g} {r.unit}",
            r.n_within,
            _pct_text(r.pct_within),
            r.n_not_known,
        ]
        for r in s.itertuples(index=False)
    ]
    note = "Children within each line (cumulative). Figures that would let a reader work out a small group (for example by subtracting two lines) are shown as c."
    return _table(
        ["Measure", "Line", "Children within", "%", "Not known"],
        rows,
        note=note,
        numeric=[False, False, True, True, True],
    )


def _gap_table(pub: Published) -> dict[str, Any] | None:
    g = pub.gap_areas
    if g is None or len(g) == 0:
        return None
    rows = []
    for i in range(len(g)):
        r = g.iloc[i]
        mins = pd.to_numeric(pd.Series([r.get("minutes_to_suitable")]), errors="coerce").iloc[0]
        gap = r.get("outside_catchment")
        name, aid = str(r.get("area_name", "")), str(r.get("area_id", ""))
        rows.append(
            [
                str(r.get("rank", i + 1)),
                name if aid in name else f"{name} ({aid})",
                str(r.get("count_band", "")),
                str(r.get("needed_groups", "")),
                str(r.get("lacks", "")) or "-",
                "yes"
                if gap is True or gap is np.True_
                else ("no" if gap is False or gap is np.False_ else "not assessed"),
                f"{mins:.0f}" if np.isfinite(mins) else "-",
                str(r.get("evidence", "")),
            ]
        )
    cols = [
        "Rank",
        "Home area",
        "Children placed far (band)",
        "Needs",
        "Lacks",
        "Gap",
        "Minutes to a suitable place",
        "Evidence",
    ]
    return _table(
        cols, rows, numeric=[True, False, False, False, False, False, True, False], wide=True
    )


def _measure_label(measure: str, *, estimated: bool) -> str:
    """A sensitivity measure as a table label; road minutes say "estimated" without a network."""
    if measure == "estimated minutes" or (estimated and measure == "road minutes"):
        return "Minutes (estimated)"
    return measure.capitalize()


def _gap_note(results: Results) -> str:
    a = results.scenario.analysis
    mc = results.scenario.disclosure.min_count
    return (
        f"A gap area is a home area of children placed more than {a.far_miles:g} miles away for "
        f"which no site of a type that serves their needs, with spare places, is within "
        f"{a.local_minutes:g} minutes {travel_phrase(results.scenario)}. Home areas are LSOAs; LSOAs with fewer than {mc} "
        f"such children are grouped into their MSOA (then ward or district, where known), and areas still below {mc} are not listed. "
        f"Counts are given as bands only, and a need is named only where at least {mc} of the "
        f"area's children have it; where none does, the children are first grouped into the next "
        f"larger area so that a need can be named, and the area level used is shown."
    )


def _gap_not_shown(pub: Published, results: Results) -> str:
    """The sentence on far-placed children in no published gap area ("" if not assessed)."""
    x = pub.gap_not_shown
    if x is None:
        return ""
    a = results.scenario.analysis
    mc = results.scenario.disclosure.min_count
    unit = _unit(results.measures)
    y = str(pub.headline.get("far", ""))
    far = f"{unit} placed more than {a.far_miles:g} miles from home"
    the = f"the {y}" if y and y != dc.SUPPRESSED else "the"
    if x == "0":
        return f"Every one of {the} {far} is in a gap area listed here."
    if x == dc.SUPPRESSED:
        what = f"A small number (fewer than {mc}; exact figure withheld) of {the} {far}"
    else:
        what = f"{x} of {the} {far}"
    return (
        f"{what} are in no gap area listed here: their home areas hold fewer than {mc} such "
        f"{unit}, also when grouped into larger areas (or their home is in no area). "
        f"They are counted in every total above."
    )


def _candidate_table(pub: Published, results: Results) -> dict[str, Any] | None:
    c = pub.candidates
    if c is None or len(c) == 0:
        return None
    from geosuff.publication.maps import siting_minutes

    T = siting_minutes(results)
    chosen = _chosen_ids(results)
    rank = (
        pd.to_numeric(c["rank"], errors="coerce")
        if "rank" in c
        else pd.Series(np.nan, index=c.index)
    )
    c = c.assign(_r=rank.fillna(1e9)).sort_values(["_r"], kind="stable").drop(columns="_r")

    def num(r: pd.Series, col: str) -> float:
        return (
            float(pd.to_numeric(pd.Series([r.get(col)]), errors="coerce").iloc[0])
            if col in r
            else math.nan
        )

    def score(r: pd.Series, col: str) -> str:
        v = num(r, col)
        return f" · score {v:.2f}" if np.isfinite(v) else ""

    rows = []
    for i in range(len(c)):
        r = c.iloc[i]
        cid = str(r.get("candidate_id", i + 1))
        name = str(r.get("name", "")) if pd.notna(r.get("name", None)) else ""
        label = f"{cid} {name}".strip() + (" ★ chosen" if cid in chosen else "")
        rk = r.get("rank")
        uses = str(r.get("use", "") or "").replace("_", " ")
        places = num(r, "places")
        use_cell = (
            f"{uses}, {places:.0f} place{'s' if places != 1 else ''}"
            if uses and np.isfinite(places)
            else uses
        )
        fill = str(r.get("places_it_could_fill", "") or "")
        reach = str(r.get("rehoming_reachable", "") or "")
        rehome = (
            f"{reach} within reach; fills {fill}"
            + (f" of {places:.0f}" if np.isfinite(places) else "")
            if reach
            else ""
        )
        cov = num(r, "coverage_gain")
        access = num(r, "access_minutes")
        nearby = num(r, "homes_nearby")
        total = num(r, "total")
        cost = num(r, "cost")
        el = r.get("eligible")
        reason = str(r.get("ineligible_reason", "") or "") if "ineligible_reason" in c else ""
        if (str(r.get("status", "used")) == "excluded") and str(r.get("reason", "")):
            reason = f"excluded: {r.get('reason')}"
        elig = (
            "yes"
            if (el is True or el is np.True_ or el == 1 or str(el).lower() == "true") and not reason
            else ("no: " + reason if reason else "no")
        )
        rows.append(
            [
                str(int(rk)) if rk is not None and not pd.isna(rk) else "-",
                label,
                use_cell,
                (rehome + score(r, "rehoming_norm")) if rehome else "",
                (f"{cov:,.0f}" + score(r, "coverage_norm")) if np.isfinite(cov) else "",
                (f"{access:.0f} min" + score(r, "access_norm"))
                if np.isfinite(access)
                else "not assessed",
                (f"{nearby:.0f}" + score(r, "clustering_norm")) if np.isfinite(nearby) else "",
                f"{total:.2f}" if np.isfinite(total) else "",
                f"£{cost:,.0f}" if np.isfinite(cost) else "",
                elig,
            ]
        )
    cols = [
        "Rank",
        "Property",
        "Use, places",
        f"Children placed far who could come home (≤{T:g} min)",
        f"Coverage gain (children 0-17 newly within {T:g} min)",
        "Access to services",
        "Homes nearby (clustering)",
        "Total score",
        "Cost",
        "Eligible / reason",
    ]
    numeric = [True, False, False, False, False, False, False, True, True, False]
    note = (
        "Each component has a 0-1 score (1 = best; clustering counts against a property); the total weights them as set in [siting]. "
        f"'Fills' is how many of the property's places children placed far away could take up. Counts of children under {results.scenario.disclosure.min_count} are shown as c."
    )
    return _table(cols, rows, note=note, numeric=numeric, wide=True)


def _selection(pub: Published, results: Results) -> dict[str, Any] | None:
    sel = pub.selection
    if sel is None:
        return None
    names = {}
    c = results.candidates
    if c is not None and "candidate_id" in c and "name" in c:
        names = dict(zip(c["candidate_id"].astype(str), c["name"].astype(str), strict=False))
    ids = sel["chosen"]
    gap = sel["mip_gap"]
    ggap = sel["greedy_gap"]
    rows = [
        [
            "Properties chosen",
            ", ".join(f"{i} ({names[i]})" if i in names else i for i in ids) or "none",
        ],
        ["Children placed far who could come home, before", sel["before"]],
        ["... after opening the chosen set", sel["after"]],
        ["Gain", sel["gain"]],
        ["Solver status", sel["status"] + (f" (MIP gap {gap:.2%})" if np.isfinite(gap) else "")],
        [
            "Greedy heuristic for comparison",
            (f"{ggap:.1%} below the optimum" if ggap > 1e-9 else "reaches the optimum too")
            if np.isfinite(ggap)
            else "not run",
        ],
    ]
    sites = None
    cs = pub.chosen_sites
    if cs is not None and len(cs):
        srows = [
            [
                str(r.order),
                f"{r.candidate_id} ({names[str(r.candidate_id)]})"
                if str(r.candidate_id) in names
                else str(r.candidate_id),
                str(r.use).replace("_", " "),
                str(r.places),
                str(r.children_assigned),
                str(r.addition_gain),
                str(r.marginal_gain),
            ]
            for r in cs.itertuples(index=False)
        ]
        sites = _table(
            [
                "Order",
                "Property",
                "Use",
                "Places",
                "Children it would take",
                "Gain when added",
                "Loss if left out",
            ],
            srows,
            numeric=[True, False, False, True, True, True, True],
            note="Each property's marginal gain: children placed far away it adds in the order chosen, and those lost if it alone were left out of the set.",
        )
    return {
        "ids": ids,
        "table": _table(["", "Value"], rows, numeric=[False, False]),
        "sites": sites,
    }


def _scenario_table(pub: Published) -> dict[str, Any] | None:
    s = pub.scenario
    if s is None or len(s) == 0:
        return None
    rows = [
        [
            r.indicator,
            r.before,
            r.after_new_sites,
            r.change_new_sites,
            r.after_with_spare_places,
            r.change_with_spare_places,
        ]
        for r in s.itertuples(index=False)
    ]
    note = (
        "Children placed far away are those placed over the distance line or outside the "
        "council. 'With the new sites': children placed far move only into the new sites' "
        "places (each place taken once), so no count of where children are placed changes by "
        "more than the places added. 'If today's spare places were also filled': children placed "
        "far also move into existing sites' spare places; this is not an effect of the new sites. "
        "'Could come home' counts children a chosen or existing site with spare places could "
        "take, within its places; before, today's spare places alone."
    )
    return _table(
        [
            "Indicator",
            "Before",
            "With the new sites",
            "Change",
            "If today's spare places were also filled",
            "Change",
        ],
        rows,
        note=note,
        numeric=[False, True, True, True, True, True],
    )


def _quality_tables(pub: Published) -> list[tuple[str, dict[str, Any]]]:
    out = []
    rs = pub.reconciliation_summary
    if rs is not None and len(rs):
        rows = [[r.table, r.status, r.rows] for r in rs.itertuples(index=False)]
        out.append(
            (
                "Every input row is accounted for",
                _table(
                    ["Table", "Status", "Rows"],
                    rows,
                    numeric=[False, False, True],
                    note="Row-level lists (which row, and why) are in qa/reconciliation.csv for the council's own checking.",
                ),
            )
        )
    rr = pub.reasons
    if rr is not None and len(rr):
        rows = [[r.table, r.status, r.reason, r.rows] for r in rr.itertuples(index=False)]
        out.append(
            (
                "Rows not used as given, by reason",
                _table(
                    ["Table", "Status", "Reason", "Rows"], rows, numeric=[False, False, False, True]
                ),
            )
        )
    iss = pub.issues_summary
    if iss is not None and len(iss):
        keys = [k for k in iss.columns if k != "rows"]
        rows = [[*(str(getattr(r, k)) for k in keys), r.rows] for r in iss.itertuples(index=False)]
        out.append(
            (
                "Validation issues (values are not shown)",
                _table(
                    [k.capitalize() for k in keys] + ["Rows"],
                    rows,
                    numeric=[False] * len(keys) + [True],
                ),
            )
        )
    return out


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


def _method(results: Results) -> dict[str, Any]:
    sc = results.scenario
    a = sc.analysis
    gm = results.graph_meta or {}
    items = [
        (
            "DfE distance measure",
            f"Straight line between the grid references of the home and placement postcodes, in miles rounded to one decimal (km / 1.6093); 'over {a.far_miles:g} miles' when the rounded distance is greater than {a.far_miles:g}. Unknown postcodes count as 'not known'.",
        ),
        (
            "Inside / outside",
            "Upper-tier LA containing the placement postcode compared with the responsible council; 'adjoining' LAs share a boundary (within 500 m on generalised boundaries).",
        ),
        (
            "Road travel time" if road_times(sc) else "Travel time (estimated)",
            _speeds_text(results)
            + f" Catchment thresholds {', '.join(f'{m:g}' for m in a.minutes)} minutes; 'local' is {a.local_minutes:g} minutes; access rasters have {a.raster_cell_m:g} m cells."
            + _edge_text(results),
        ),
        ("Gap areas", _gap_note(results)),
        (
            "Candidate scores",
            "Each component is scored 0-1 (1 = best): children placed far away who could come home to the property (within its places), child population newly within reach of a suitable site, access to services, and a penalty for clustering near existing homes. The total weights them as configured. The best set of properties is chosen together with an exact optimiser (HiGHS mixed-integer programme), not one at a time; the greedy answer is given for comparison.",
        ),
        (
            "Disclosure control",
            f"Counts from 1 to {sc.disclosure.min_count - 1} children are shown as 'c'. Every count in this report, the map and the published tables is checked together, so that no withheld figure can be worked out from the others (by subtraction, or from several tables at once); further figures are withheld where needed. Percentages are withheld where their count is. Areas show bands, and a need is named only where at least {sc.disclosure.min_count} children have it. No child's id, postcode or location appears in this report or the map; provision sites are shown on the map at the centre of their 1 km grid square.",
        ),
        (
            "Road graph",
            _graph_text(gm)
            if road_times(sc)
            else "none (travel times estimated from the straight line).",
        ),
        (
            "Data vintages",
            "Postcodes: ONSPD / Code-Point Open as configured (shipped fallback: Code-Point Open 2014 for Rutland and a packaged ONSPD extract); LSOA 2011 population aged 0-17: ONS mid-2020; LA boundaries: ONS upper-tier LAs April 2023 (generalised); DfE statistics: children looked after in England 2021-2025.",
        ),
    ]
    return {
        "items": items,
        "timings": ", ".join(f"{k} {v:.1f} s" for k, v in (results.timings or {}).items())
        or "not recorded",
    }


def _edge_text(results: Results) -> str:
    """Which catchments reach the edge of the road network (``touches_network_edge``), or ""."""
    from geosuff.analysis.catchments import EDGE_BAND_M
    from geosuff.publication.maps import NETWORK_EDGE_NOTE

    c = results.catchments
    if c is None or len(c) == 0 or "touches_network_edge" not in c.columns:
        return ""
    flag = c["touches_network_edge"].fillna(False).astype(bool)
    if not flag.any():
        return " No catchment reaches the edge of the road network extract."
    by_count: dict[tuple[int, int], list[str]] = {}
    for m, grp in c.assign(_edge=flag).groupby("minutes", sort=True):
        n_all = int(grp["site_id"].nunique())
        n_edge = int(grp.loc[grp["_edge"], "site_id"].nunique())
        if n_edge:
            by_count.setdefault((n_edge, n_all), []).append(f"{float(m):g}")
    parts = [
        f"{f'all {n_all}' if n_edge == n_all else f'{n_edge} of {n_all}'} sites at"
        f" {', '.join(ms[:-1]) + ' and ' + ms[-1] if len(ms) > 1 else ms[0]} min"
        for (n_edge, n_all), ms in by_count.items()
    ]
    return (
        f" Catchments that reach the edge of the road network (a reached road within {EDGE_BAND_M / 1000:g} km"
        f" of the outline of the extract, or a main road cut off by it) {NETWORK_EDGE_NOTE}, so their"
        f" areas are understated: {'; '.join(parts)}."
    )


def _speeds_text(results: Results) -> str:
    """Road speeds in plain English, from the run's settings."""
    if not road_times(results.scenario):
        return (
            'Estimated, not measured on roads: no road network was used ([analysis] travel = "estimate"), so every '
            "travel time is the straight-line distance times a circuity factor, at a fallback speed. Supply an "
            "OpenStreetMap extract covering the council as [inputs] network for road travel times."
        )
    try:
        from geosuff.config import sections as gs

        sp = gs.speed_settings(results.scenario)
    except Exception:
        return "Shortest car travel time on the OpenStreetMap road network."
    limit_mph = sp.urban_limit_kph / 1.609344
    table = (
        "the shipped UK table (geosuff/data/uk_speeds.csv)"
        if not sp.speed_table
        else f"the speed table {Path(str(sp.speed_table)).name}"
    )
    src = (
        "the tagged speed limit of each road, or where it has none the typical speed of its road class in "
        + table
        if sp.use_maxspeed
        else "the typical speed of each road class in " + table
    )
    return (
        f"Shortest car travel time on the OpenStreetMap road network. Speeds start from {src}. "
        f"Speed limits are not driving speeds, so roads of {limit_mph:.0f} mph or less (towns and villages) are driven at "
        f"{sp.urban_congestion_factor:.0%} of that speed and faster roads at {sp.congestion_factor:.0%} (never below {sp.min_speed_kph:g} km/h). "
        "One-way streets are respected; homes, placements and sites join the nearest road at walking-to-car speed, and points far from any road are estimated from the straight line."
    )


def _graph_text(gm: dict[str, Any]) -> str:
    if not gm:
        return "not recorded"
    parts = []
    if "nodes" in gm and "edges" in gm:
        parts.append(
            f"{int(gm['nodes']):,} junctions and {int(gm['edges']):,} one-way road segments (the largest part of the network in which every point can reach every other)"
        )
    src = gm.get("source")
    if src:
        parts.append(f"built from {Path(str(src)).name}")
    sha = gm.get("sha256")
    if sha:
        parts.append(f"file SHA-256 {str(sha)[:12]}…")
    if gm.get("scc_nodes_dropped"):
        parts.append(f"{int(gm['scc_nodes_dropped']):,} junctions on isolated fragments left out")
    return "; ".join(parts) + "." if parts else "not recorded"


# ----------------------------------------------------------------------------------------------
# TOML (the scenario, for the appendix)
# ----------------------------------------------------------------------------------------------
def to_toml(data: dict[str, Any]) -> str:
    """A plain TOML rendering of a nested dict (None values are left out)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif v is not None:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for name, sub in tables:
        _toml_table(name, sub, lines)
    return "\n".join(lines).strip() + "\n"


def _toml_table(name: str, d: dict[str, Any], lines: list[str]) -> None:
    simple = [(k, v) for k, v in d.items() if not isinstance(v, dict) and v is not None]
    nested = [(k, v) for k, v in d.items() if isinstance(v, dict)]
    if simple or not nested:
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in simple)
    for k, v in nested:
        _toml_table(f"{name}.{_toml_key(k)}", v, lines)


def _toml_key(k: Any) -> str:
    s = str(k)
    return s if s.replace("_", "").replace("-", "").isalnum() else '"' + s.replace('"', '\\"') + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v) if not (isinstance(v, float) and v.is_integer()) else f"{v:.1f}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return (
            "{ "
            + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None)
            + " }"
        )
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
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
    table past the page. Markup (already HTML) is left as it is."""
    if isinstance(v, Markup):
        return v
    return Markup(re.sub(r"([_/])(?=\S)", r"\1<wbr>", str(Markup.escape(v))))


def _unit(m: pd.DataFrame) -> str:
    """ "children" when each row is a different child, else "placements"."""
    if "CHILD" in m and m["CHILD"].notna().all() and m["CHILD"].nunique() < len(m):
        return "placements"
    return "children"


def _dfe_years(results: Results) -> tuple[int | None, int | None]:
    """(year requested, year used) of the DfE 31 March figures: the comparison's own, else the
    year of the reference date (None, None when neither is known)."""
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
    statistical neighbours, England; with ``year`` and ``year_requested``."""
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
