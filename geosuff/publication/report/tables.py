"""Report tables made from published figures only (indicators, DfE, sensitivity, gaps, candidates, selection, quality)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geosuff.config import travel_phrase
from geosuff.publication import disclosure as dc

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results
from geosuff.publication.report.format import (
    _cell,
    _chosen_ids,
    _dfe_year_gap,
    _looks_numeric,
    _pub_number,
    _pub_pct,
    _unit,
)

logger = logging.getLogger(__name__)


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
        if "needs_lacking" in g.columns:  # the children's needs (placements' NEED / DISABLED)
            rows[-1][4:4] = [str(r.get("children_needs", "")) or "-"]
            rows[-1][6:6] = [str(r.get("needs_lacking", "")) or "-"]
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
    numeric = [True, False, False, False, False, False, True, False]
    if "needs_lacking" in g.columns:
        cols[4:4] = ["Children's needs"]
        cols[6:6] = ["Needs lacking provision"]
        numeric[4:4] = [False]
        numeric[6:6] = [False]
    return _table(cols, rows, numeric=numeric, wide=True)


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
