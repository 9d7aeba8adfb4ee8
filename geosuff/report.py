"""The HTML gap-review report of a run: plain-English summary first, then the evidence.

The report is one self-contained HTML file (inline CSS, inline SVG charts, no script, no external
resource), printable to PDF from a browser (A4, repeated table headers, rows never split).

Every number of children in the report is published through :mod:`geosuff.disclosure`: counts
from 1 to ``min_count - 1`` are shown as "c", with secondary suppression so that no suppressed
cell can be recovered from a published total (:func:`geosuff.disclosure.publish_block`);
percentages are withheld where their numerator or base is suppressed; gap areas show bands only.
No child id, postcode, grid reference or point is written.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
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

from geosuff import __version__, charts
from geosuff import disclosure as dc
from geosuff.io import atomic_write_text

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: DfE distance categories, as written by :mod:`geosuff.distance`.
NEAR_LABEL = "20 miles or less"
FAR_LABEL = "Over 20 miles"
UNKNOWN_LABEL = "Not known or not recorded"
#: Colours of the distance categories in charts (near, far, not known).
CAT_COLOURS = ("#3e6fb0", "#c2410c", "#9aa5b1")
#: Distance bands (miles, upper bounds) of the distribution chart.
MILE_BANDS: tuple[tuple[float, str], ...] = ((5, "Up to 5 miles"), (10, "5 to 10 miles"), (20, "10 to 20 miles"), (50, "20 to 50 miles"), (100, "50 to 100 miles"), (math.inf, "Over 100 miles"))

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
def write_report(results: Results, path: str | Path) -> Path:
    """Write the HTML gap-review report of a run.

    Parameters
    ----------
    results : Results
        A run's results.
    path : path
        Output HTML file (written atomically).

    Returns
    -------
    Path
        ``path``.
    """
    return atomic_write_text(Path(path), render_report(results))


def render_report(results: Results) -> str:
    """The report's HTML (see :func:`write_report`)."""
    ctx = report_context(results)
    return _env().from_string(_asset("report.html.j2")).render(**ctx)


def headlines(results: Results) -> list[Headline]:
    """The three headline figures of the summary (published values only).

    1. children placed more than ``far_miles`` from home (DfE straight-line measure), against the
       council's and England's latest published DfE share;
    2. children placed inside the council, against ``local_target``;
    3. the chosen set's gain (children brought within reach of a suitable place), or, without a
       selection, the number of gap areas.
    """
    sc = results.scenario
    mc = sc.disclosure.min_count
    a = sc.analysis
    m = results.measures
    n = len(m)
    unit = _unit(m)
    miles = pd.to_numeric(m.get("dfe_miles"), errors="coerce") if "dfe_miles" in m else pd.Series(np.nan, index=m.index)
    known = miles.notna()
    far = int((known & (miles > a.far_miles)).sum())
    near = int((known & (miles <= a.far_miles)).sum())
    cells, tot = dc.publish_block(np.array([[near, far, n - near - far]]), np.array([n]), min_count=mc)
    far_s, n_s = str(cells[0, 1]), str(tot[0])
    far_pct = dc.publish_percent(far, n, min_count=mc, num_suppressed=far_s == dc.SUPPRESSED)
    dfe = _dfe_far_shares(sc.council)
    comp = []
    if dfe.get("council") is not None:
        comp.append(f"{results.council_name} published by DfE: {dfe['council']}")
    if dfe.get("england") is not None:
        comp.append(f"England: {dfe['england']}")
    year = dfe.get("year")
    h1 = Headline(
        "far",
        far_pct,
        f"{far_s} of {n_s} {unit} ({far_pct}) are placed more than {a.far_miles:g} miles from home "
        f"(straight line between home and placement postcodes, the DfE measure).",
        ("; ".join(comp) + f" (DfE, 31 March {year})." if comp else "No published DfE figure to compare."),
    )
    inside = m["inside_la"].astype("boolean") if "inside_la" in m else pd.Series(pd.NA, index=m.index, dtype="boolean")
    n_in = int(inside.fillna(False).sum())
    n_out = int((inside == False).fillna(False).sum())  # noqa: E712 - nullable boolean
    cells2, _ = dc.publish_block(np.array([[n_in, n_out, n - n_in - n_out]]), np.array([n]), min_count=mc)
    in_s = str(cells2[0, 0])
    in_pct = dc.publish_percent(n_in, n, min_count=mc, num_suppressed=in_s == dc.SUPPRESSED)
    target = a.local_target
    need = max(0, math.ceil(target * n - 1e-9) - n_in)
    meets = n > 0 and n_in >= target * n - 1e-9
    if in_s == dc.SUPPRESSED:
        # the shortfall would reveal the suppressed count: give no number
        short = "meets the target" if meets else "short of the target"
        small = 0 < n_in < mc
        figure = f"<{mc}" if small else dc.SUPPRESSED
        sentence = (f"Fewer than {mc}" if small else "A suppressed number") + f" of {n_s} {unit} are placed inside {results.council_name} (exact figure withheld: too few children)."
    else:
        short = "meets the target" if meets else f"short of the target by {dc.publish_count(need, min_count=mc)} {unit}"
        figure = in_pct
        sentence = f"{in_s} of {n_s} {unit} ({in_pct}) are placed inside {results.council_name}."
    h2 = Headline(
        "inside",
        figure,
        sentence,
        f"Local target {target:.0%}: {short}." + (" Placement LA not known for some." if n - n_in - n_out > 0 else ""),
    )
    h3 = _third_headline(results, unit)
    return [h1, h2, h3]


def report_context(results: Results) -> dict[str, Any]:
    """Everything the report template shows (published strings, tables, SVG charts)."""
    sc = results.scenario
    a = sc.analysis
    mc = sc.disclosure.min_count
    unit = _unit(results.measures)
    dfe = _dfe_far_shares(sc.council)
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
        "headlines": headlines(results),
        "meaning": _meaning(results, dfe),
        "not_available": NOT_AVAILABLE,
        "css": Markup(_asset("report.css")),
    }
    ctx["dfe_table"] = _dfe_table(results)
    ctx["indicator_tables"] = [(title, _indicator_table(results, key)) for key, title in (("place_group", "By placement type"), ("age_band", "By age band"), ("uasc", "Unaccompanied asylum-seeking children"))]
    ctx["sensitivity_table"] = _sensitivity_table(results)
    ctx["chart_types"] = Markup(_chart_by_type(results))
    ctx["chart_bands"] = Markup(_chart_bands(results))
    ctx["chart_trend"] = Markup(_chart_trend(results, dfe))
    ctx["gap_table"] = _gap_table(results)
    ctx["gap_note"] = _gap_note(results)
    g = results.gap_areas
    ctx["gap_empty"] = (
        f"No home area has {mc} or more children placed more than {a.far_miles:g} miles away, so no gap area can be published."
        if g is not None and len(g) == 0
        else ""
    )
    ctx["candidate_table"] = _candidate_table(results)
    ctx["selection"] = _selection(results)
    ctx["scenario_table"] = _scenario_table(results)
    ctx["quality_tables"] = _quality_tables(results)
    ctx["method"] = _method(results)
    ctx["config_toml"] = to_toml(sc.to_toml_dict())
    return ctx


# ----------------------------------------------------------------------------------------------
# Tables (each: {"columns": [...], "rows": [[...]], "numeric": [bool], "note": str} or None)
# ----------------------------------------------------------------------------------------------
def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, note: str = "", numeric: Sequence[bool] | None = None, total_last: bool = False, wide: bool = False) -> dict[str, Any]:
    rows = [[_cell(v) for v in r] for r in rows]
    if numeric is None:
        numeric = [all(_looks_numeric(r[j]) for r in rows) and bool(rows) for j in range(len(columns))]
    return {"columns": list(columns), "rows": rows, "numeric": list(numeric), "note": note, "total_last": total_last, "wide": wide or len(columns) > 8}


def _indicator_table(results: Results, key: str) -> dict[str, Any] | None:
    df = results.indicators.get(key) if results.indicators else None
    if df is None or len(df) == 0 or "n" not in df:
        return None
    mc = results.scenario.disclosure.min_count
    a = results.scenario.analysis

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(df[name], errors="coerce").fillna(0).to_numpy(float) if name in df else np.zeros(len(df))

    n = col("n")
    total_row = str(df.iloc[-1].get("group", "")) == "all" or str(df.iloc[-1].get("label", "")).lower().startswith("all")
    miles_cells = np.c_[col("n_within_miles"), col("n_over_miles"), col("n_distance_not_known")]
    inside = col("n_inside_la")
    la_nk = col("n_la_not_known")
    la_cells = np.c_[inside, n - inside - la_nk, la_nk]
    mins_cells = np.c_[col("n_within_minutes"), n - col("n_within_minutes") - col("n_minutes_not_known"), col("n_minutes_not_known")]
    far_adj = col("n_outside_not_adjoining")
    p1, t1 = dc.publish_block(miles_cells, n, min_count=mc, total_row=total_row)
    p2, t2 = dc.publish_block(la_cells, n, min_count=mc, total_row=total_row)
    p3, t3 = dc.publish_block(mins_cells, n, min_count=mc, total_row=total_row)
    p4, _ = dc.publish_block(np.c_[far_adj, n - far_adj], n, min_count=mc, total_row=total_row)
    totals = np.where((t1 == dc.SUPPRESSED) | (t2 == dc.SUPPRESSED) | (t3 == dc.SUPPRESSED), dc.SUPPRESSED, t1)
    have_minutes = "n_within_minutes" in df and (col("n_minutes_not_known") < n).any()
    rows = []
    for i in range(len(df)):
        label = str(df["label"].iloc[i]) if "label" in df else str(df["group"].iloc[i])
        sup = totals[i] == dc.SUPPRESSED

        def pct(num: float, cell: str, i: int = i, sup: bool = sup) -> str:
            return dc.SUPPRESSED if sup else dc.publish_percent(num, n[i], min_count=mc, num_suppressed=cell == dc.SUPPRESSED)

        row = [label, totals[i], p1[i, 1] if not sup else "c", pct(miles_cells[i, 1], p1[i, 1]), p1[i, 2] if not sup else "c", p2[i, 0] if not sup else "c", pct(inside[i], p2[i, 0]), p4[i, 0] if not sup else "c"]
        if have_minutes:
            row += [p3[i, 0] if not sup else "c", pct(mins_cells[i, 0], p3[i, 0])]
        rows.append(row)
    cols = ["Group", "Children", f"Over {a.far_miles:g} miles", "%", "Distance not known", "Inside the council", "%", "Outside, not in an adjoining LA"]
    if have_minutes:
        cols += [f"Within {a.local_minutes:g} min by road", "%"]
    numeric = [False] + [True] * (len(cols) - 1)
    note = f"Percentages are of all children in the row. Target: {a.local_target:.0%} placed inside the council."
    return _table(cols, rows, note=note, numeric=numeric, total_last=total_row, wide=True)


def _dfe_table(results: Results) -> dict[str, Any] | None:
    d = results.dfe_comparison
    if d is None or len(d) == 0 or "measure" not in d:
        return None
    mc = results.scenario.disclosure.min_count
    n = len(results.measures)
    rows = []
    for table, grp in d.groupby("table", sort=False) if "table" in d else [("", d)]:
        cn = pd.to_numeric(grp.get("computed_n"), errors="coerce").fillna(0).to_numpy(float)
        pub, tot = dc.publish_block(cn[None, :], np.array([max(n, cn.sum())]), min_count=mc)
        for j, r in enumerate(grp.itertuples(index=False)):
            cval = pub[0, j]
            rows.append([
                str(table),
                str(r.measure),
                cval,
                dc.publish_percent(cn[j], n, min_count=mc, num_suppressed=cval == dc.SUPPRESSED),
                _pub_number(getattr(r, "council_n", math.nan), getattr(r, "council_note", "")),
                _pub_pct(getattr(r, "council_pct", math.nan)),
                _pub_pct(getattr(r, "sn_median_pct", math.nan)),
                _pub_pct(getattr(r, "england_pct", math.nan)),
                str(getattr(r, "year", "")),
            ])
    cols = ["Table", "Measure", "This analysis", "%", "Council (DfE)", "%", "Statistical neighbours (median %)", "England %", "DfE year"]
    note = "DfE figures are published statistics (c = suppressed by DfE; : = not published). 'At 31 March' compares with children looked after on that day; 'new placements' with placements that started during the year: compare like with like."
    return _table(cols, rows, note=note, numeric=[False, False] + [True] * 7, wide=True)


def _sensitivity_table(results: Results) -> dict[str, Any] | None:
    s = results.sensitivity
    if s is None or len(s) == 0 or not {"measure", "threshold", "n", "n_within"} <= set(s.columns):
        return None
    mc = results.scenario.disclosure.min_count
    if "group" in s:
        s = s[s["group"].astype(str) == "all"] if (s["group"].astype(str) == "all").any() else s
    rows = []
    for measure, grp in s.groupby("measure", sort=False):
        grp = grp.sort_values("threshold")
        n = float(grp["n"].iloc[0])
        within = pd.to_numeric(grp["n_within"], errors="coerce").fillna(0).to_numpy(float)
        nk = float(pd.to_numeric(grp.get("n_not_known", pd.Series([0])), errors="coerce").fillna(0).iloc[0])
        n_known = n - nk
        last = 0.0
        for j, thr in enumerate(grp["threshold"]):
            step, rest = within[j] - last, n_known - within[j]
            ok = (step == 0 or step >= mc) and (rest == 0 or rest >= mc)
            if ok:
                last = within[j]
            val = dc.publish_count(within[j], min_count=mc) if ok else dc.SUPPRESSED
            unit = "miles" if "mile" in str(measure) else "min"
            rows.append([str(measure).capitalize(), f"{float(thr):g} {unit}", val, dc.publish_percent(within[j], n, min_count=mc, num_suppressed=val == dc.SUPPRESSED), dc.publish_count(nk, min_count=mc)])
    note = "Children within each line (cumulative). A figure is shown only when it differs from the previous shown figure, and from all children with a known value, by 0 or at least the publication threshold, so no small group can be found by subtracting two figures."
    return _table(["Measure", "Line", "Children within", "%", "Not known"], rows, note=note, numeric=[False, False, True, True, True])


def _gap_table(results: Results) -> dict[str, Any] | None:
    g = results.gap_areas
    if g is None or len(g) == 0:
        return None
    rows = []
    for i in range(len(g)):
        r = g.iloc[i]
        band = str(r["count_band"]) if "count_band" in g else ""
        mins = pd.to_numeric(pd.Series([r.get("minutes_to_suitable")]), errors="coerce").iloc[0]
        gap = r.get("outside_catchment")
        rows.append([
            str(r.get("rank", i + 1)),
            f"{r.get('area_name', '')} ({r.get('area_id', '')})",
            band,
            str(r.get("needed_groups", "")),
            str(r.get("lacks", "")) or "-",
            "yes" if gap is True or gap is np.True_ else ("no" if gap is False or gap is np.False_ else "not assessed"),
            f"{mins:.0f}" if np.isfinite(mins) else "none reachable",
            str(r.get("evidence", "")),
        ])
    cols = ["Rank", "Home area", "Children placed far (band)", "Needs", "Lacks", "Gap", "Minutes to a suitable place", "Evidence"]
    return _table(cols, rows, numeric=[True, False, False, False, False, False, True, False], wide=True)


def _gap_note(results: Results) -> str:
    a = results.scenario.analysis
    return (
        f"A gap area is a small area (LSOA) that children placed more than {a.far_miles:g} miles away come "
        f"from, for which no site of a type that serves their needs, with spare places, is within "
        f"{a.local_minutes:g} minutes by road. Areas with fewer far-placed children than the "
        f"publication threshold are not listed; counts are given as bands only."
    )


_CAND_HIDDEN = {"easting", "northing", "postcode", "address", "geometry", "row", "location_reason", "location_source", "ltla", "utla", "status", "lon", "lat", "x", "y", "data_note", "snap_m", "on_network", "node", "reason", "chosen", "available_from", "tenure", "condition", "line", "rows"}
_CAND_FIXED = ["rank", "candidate_id", "name", "uses", "bedrooms"]


def _candidate_table(results: Results) -> dict[str, Any] | None:
    c = results.candidates
    if c is None or len(c) == 0:
        return None
    mc = results.scenario.disclosure.min_count
    chosen = _chosen_ids(results)
    rank = pd.to_numeric(c["rank"], errors="coerce") if "rank" in c else pd.Series(np.nan, index=c.index)
    c = c.assign(_r=rank.fillna(1e9)).sort_values(["_r"]).drop(columns="_r")
    comps = [col for col in c.columns if col not in _CAND_HIDDEN and col not in _CAND_FIXED and col not in {"total", "eligible", "ineligible_reason", "cost"} and not str(col).startswith("_") and pd.api.types.is_numeric_dtype(c[col]) and not pd.api.types.is_bool_dtype(c[col])]
    score_cols = {col for col in comps if pd.to_numeric(c[col], errors="coerce").dropna().between(0, 1).all()}
    cols = ["Rank", "Property", "Uses", "Bedrooms", *[str(x).replace("_", " ").capitalize() for x in comps], "Total score", "Cost", "Eligible / reason"]
    rows = []
    idcol = "candidate_id" if "candidate_id" in c else None
    for i in range(len(c)):
        r = c.iloc[i]
        cid = str(r[idcol]) if idcol else str(i + 1)
        name = str(r.get("name", "")) if "name" in c and pd.notna(r.get("name")) else ""
        label = f"{cid} {name}".strip() + (" ★ chosen" if cid in chosen else "")
        rk = r.get("rank")
        vals = []
        for col in comps:
            v = pd.to_numeric(pd.Series([r[col]]), errors="coerce").iloc[0]
            if not np.isfinite(v):
                vals.append("")
            elif col in score_cols:
                vals.append(f"{v:.2f}")
            elif "minute" in str(col) or "km" in str(col) or str(col).endswith("_m"):
                vals.append(f"{v:.1f}")
            else:  # a raw count of children: published
                vals.append(dc.publish_count(v, min_count=mc))
        total = pd.to_numeric(pd.Series([r.get("total")]), errors="coerce").iloc[0]
        el = r.get("eligible")
        reason = str(r.get("ineligible_reason", "") or "") if "ineligible_reason" in c else ""
        if (str(r.get("status", "used")) == "excluded") and str(r.get("reason", "")):
            reason = f"excluded: {r.get('reason')}"
        elig = "yes" if (el is True or el is np.True_ or el == 1) and not reason else ("no: " + reason if reason else ("no" if el is not None and not pd.isna(el) else ""))
        cost = pd.to_numeric(pd.Series([r.get("cost")]), errors="coerce").iloc[0] if "cost" in c else np.nan
        rows.append([
            str(int(rk)) if rk is not None and not pd.isna(rk) else "-",
            label,
            str(r.get("uses", "") or "").replace(";", ", "),
            _int_or_blank(r.get("bedrooms")),
            *vals,
            f"{total:.3f}" if np.isfinite(total) else "",
            f"£{cost:,.0f}" if np.isfinite(cost) else "",
            elig,
        ])
    numeric = [True, False, False, True, *([True] * len(comps)), True, True, False]
    note = "Score components are 0-1 (1 = best); the total weights them as set in [siting]. Counts of children in a component are published under the disclosure rule."
    return _table(cols, rows, note=note, numeric=numeric, wide=True)


def _selection(results: Results) -> dict[str, Any] | None:
    sel = results.selection
    if sel is None:
        return None
    mc = results.scenario.disclosure.min_count
    summ = sel.summary() if callable(getattr(sel, "summary", None)) else {}
    before = float(summ.get("before", getattr(sel, "fixed_objective", math.nan)))
    after = float(summ.get("objective", getattr(sel, "objective", math.nan)))
    ids = [str(v) for v in (summ.get("chosen") or getattr(sel, "chosen_ids", ()) or ())]
    names = {}
    c = results.candidates
    if c is not None and "candidate_id" in c and "name" in c:
        names = dict(zip(c["candidate_id"].astype(str), c["name"].astype(str), strict=False))
    b_s, a_s, g_s = _before_after(before, after, mc)
    status = str(summ.get("status", getattr(sel, "status", "")))
    gap = summ.get("mip_gap", getattr(sel, "mip_gap", math.nan))
    greedy = summ.get("greedy_objective", getattr(sel, "greedy_objective", math.nan))
    rows = [
        ["Properties chosen", ", ".join(f"{i} ({names[i]})" if i in names else i for i in ids) or "none"],
        ["Children within reach of a suitable place before", b_s],
        ["... after opening the chosen set", a_s],
        ["Gain", g_s],
        ["Solver status", f"{status}" + (f" (MIP gap {float(gap):.2%})" if gap is not None and np.isfinite(float(gap)) else "")],
        ["Greedy heuristic for comparison", _pub_children(float(greedy), mc) if greedy is not None and np.isfinite(float(greedy)) else "not run"],
    ]
    return {"ids": ids, "table": _table(["", "Value"], rows, numeric=[False, False])}


def _scenario_table(results: Results) -> dict[str, Any] | None:
    s = results.scenario_comparison
    if s is None or len(s) == 0:
        return None
    mc = results.scenario.disclosure.min_count
    cols = list(s.columns)
    rows = []
    for i in range(len(s)):
        r = s.iloc[i]
        out = []
        for c in cols:
            v = r[c]
            name = str(c).lower()
            if isinstance(v, str) or v is None or (not isinstance(v, int | float | np.integer | np.floating)):
                out.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
            elif "pct" in name or "share" in name or "%" in name:
                out.append(f"{float(v):.0f}%" if np.isfinite(float(v)) else "")
            elif "minute" in name or "km" in name or "mile" in name:
                out.append(f"{float(v):.1f}")
            else:  # counts of children (before / after / change)
                fv = float(v)
                out.append(("-" if fv < 0 else "") + dc.publish_count(abs(fv), min_count=mc) if np.isfinite(fv) else "")
        low = [str(c).lower() for c in cols]
        if "before" in low and "after" in low:  # before, after and change published together
            bi, ai = low.index("before"), low.index("after")
            try:
                b_s, a_s, g_s = _before_after(float(r[cols[bi]]), float(r[cols[ai]]), mc)
                out[bi], out[ai] = b_s, a_s
                for k, name in enumerate(low):
                    if name in {"change", "gain", "difference", "diff"}:
                        out[k] = g_s
            except (TypeError, ValueError):
                pass
        rows.append(out)
    return _table([str(c).replace("_", " ").capitalize() for c in cols], rows)


def _quality_tables(results: Results) -> list[tuple[str, dict[str, Any]]]:
    mc = results.scenario.disclosure.min_count
    out = []
    rec = results.reconciliation
    if rec is not None and len(rec) and {"table", "status"} <= set(rec.columns):
        g = rec.groupby(["table", "status"], dropna=False).size().reset_index(name="rows")
        rows = [[str(r.table), str(r.status), dc.publish_count(int(r.rows), min_count=mc)] for r in g.itertuples(index=False)]
        out.append(("Every input row is accounted for", _table(["Table", "Status", "Rows"], rows, numeric=[False, False, True])))
        ex = rec[rec["status"].astype(str) != "used"]
        if len(ex) and "reason" in ex:
            g2 = ex.assign(reason=ex["reason"].fillna("").astype(str).replace("", "(no reason given)")).groupby(["table", "status", "reason"]).size().reset_index(name="rows")
            rows2 = [[str(r.table), str(r.status), str(r.reason), dc.publish_count(int(r.rows), min_count=mc)] for r in g2.itertuples(index=False)]
            out.append(("Rows not used as given, by reason", _table(["Table", "Status", "Reason", "Rows"], rows2, numeric=[False, False, False, True])))
    iss = results.issues
    if iss is not None and len(iss) and {"file", "problem"} <= set(iss.columns):
        keys = [k for k in ("file", "column", "severity", "problem") if k in iss.columns]
        g = iss.groupby(keys, dropna=False).size().reset_index(name="rows")
        rows = [[*(str(getattr(r, k)) for k in keys), dc.publish_count(int(r.rows), min_count=mc)] for r in g.itertuples(index=False)]
        out.append(("Validation issues (values are not shown)", _table([k.capitalize() for k in keys] + ["Rows"], rows, numeric=[False] * len(keys) + [True])))
    return out


# ----------------------------------------------------------------------------------------------
# Charts
# ----------------------------------------------------------------------------------------------
def _chart_by_type(results: Results) -> str:
    m = results.measures
    mc = results.scenario.disclosure.min_count
    a = results.scenario.analysis
    if "place_group" not in m or "dfe_miles" not in m:
        return ""
    labels = _group_labels()
    miles = pd.to_numeric(m["dfe_miles"], errors="coerce")
    groups = [g for g in _group_order() if (m["place_group"] == g).any()] + sorted(set(m["place_group"].astype(str)) - set(_group_order()))
    cells, totals = [], []
    for g in groups:
        sel = (m["place_group"].astype(str) == g).to_numpy()
        mm = miles[sel]
        cells.append([int((mm <= a.far_miles).sum()), int((mm > a.far_miles).sum()), int(mm.isna().sum())])
        totals.append(int(sel.sum()))
    cells.append(list(np.sum(cells, axis=0)) if cells else [0, 0, 0])
    totals.append(len(m))
    pub, tpub = dc.publish_block(np.array(cells), np.array(totals), min_count=mc, total_row=True)
    seg_labels = (f"{a.far_miles:g} miles or less", f"over {a.far_miles:g} miles", "not known")
    rows = [
        charts.BarRow(labels.get(g, g) if i < len(groups) else "All children", str(tpub[i]), tuple(charts.Segment(seg_labels[k], str(pub[i, k]), CAT_COLOURS[k]) for k in range(3)))
        for i, g in enumerate([*groups, "all"])
    ]
    return charts.stacked_bars(rows, title=f"Distance from home by placement type (straight line, {a.far_miles:g}-mile line)", desc="Share of children in each placement type placed within or beyond the line; suppressed cells are hatched.")


def _chart_bands(results: Results) -> str:
    m = results.measures
    mc = results.scenario.disclosure.min_count
    if "dfe_miles" not in m:
        return ""
    miles = pd.to_numeric(m["dfe_miles"], errors="coerce").to_numpy(float)
    counts, labels = [], []
    lo = 0.0
    for k, (hi, lab) in enumerate(MILE_BANDS):
        sel = ((miles >= lo) if k == 0 else (miles > lo)) & (miles <= hi)
        counts.append(int(sel.sum()))
        labels.append(lab)
        lo = hi
    counts.append(int(np.isnan(miles).sum()))
    labels.append("Not known")
    pub, _ = dc.publish_block(np.array([counts]), np.array([len(miles)]), min_count=mc)
    far_line = results.scenario.analysis.far_miles
    hl = [lo_hi >= far_line for lo_hi in [0.0, *[b[0] for b in MILE_BANDS[:-1]]]] + [False]
    return charts.bar_chart(labels, [str(v) for v in pub[0]], title="How far from home children are placed (straight-line miles)", desc="Children by distance band; bands beyond the far-distance line are highlighted; suppressed bands are hatched stubs.", highlight=hl)


def _chart_trend(results: Results, dfe: dict[str, Any]) -> str:
    from geosuff import dfe_stats as ds

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
        charts.Series("Statistical neighbours", "#7b8794", series(ds.LEVEL_SN, council), dash="5 4"),
        charts.Series("England", "#3e6fb0", series(ds.LEVEL_NATIONAL, None)),
    ]
    pts = []
    h = headlines(results)[0]
    v = _pct_value(h.figure)
    if v is not None:
        ref = results.scenario.analysis.reference_date
        yr = years[-1] if ref is None else ref.year + (1 if ref.month > 3 else 0)
        yr = min(max(yr, years[0]), years[-1])
        pts.append((yr, v, "This analysis", "#1f2933"))
    return charts.line_chart(years, lines, points=pts, title="Children looked after at 31 March placed more than 20 miles from home (%)", desc="DfE published percentages 2021-2025 for the council, its statistical neighbours (median) and England, with this analysis' figure.")


# ----------------------------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------------------------
def _third_headline(results: Results, unit: str) -> Headline:
    mc = results.scenario.disclosure.min_count
    a = results.scenario.analysis
    sel = results.selection
    if sel is not None:
        summ = sel.summary() if callable(getattr(sel, "summary", None)) else {}
        before = float(summ.get("before", getattr(sel, "fixed_objective", math.nan)))
        after = float(summ.get("objective", getattr(sel, "objective", math.nan)))
        ids = [str(v) for v in (summ.get("chosen") or getattr(sel, "chosen_ids", ()) or ())]
        b_s, a_s, gain = _before_after(before, after, mc)
        return Headline(
            "selection",
            f"+{gain}" if gain != dc.SUPPRESSED else gain,
            f"Opening the {len(ids)} chosen propert{'y' if len(ids) == 1 else 'ies'} ({', '.join(ids) or 'none'}) would bring {gain} more {unit} within {a.local_minutes:g} minutes of a suitable place.",
            f"Before: {b_s}; after: {a_s} (optimal set from the council's candidate properties).",
        )
    g = results.gap_areas
    if g is not None and len(g) == 0:
        return Headline(
            "gaps",
            "0",
            f"No home area has {mc} or more {unit} placed more than {a.far_miles:g} miles away, so no gap area stands out.",
            "Children placed far away come from across the council; see the tables and the map for provision within reach.",
        )
    if g is not None:
        k = int(g["outside_catchment"].fillna(False).astype(bool).sum()) if "outside_catchment" in g else len(g)
        return Headline(
            "gaps",
            str(k),
            f"{k} home area{'s' if k != 1 else ''} with children placed far away ha{'ve' if k != 1 else 's'} no suitable place with spare capacity within {a.local_minutes:g} minutes.",
            f"Listed below with what is lacking; areas with fewer than {mc} far-placed children are not listed.",
        )
    return Headline("gaps", ":", "Gap areas were not assessed in this run.", NOT_AVAILABLE)


def _meaning(results: Results, dfe: dict[str, Any]) -> str:
    h = headlines(results)
    a = results.scenario.analysis
    far = _pct_value(h[0].figure)
    eng = _pct_value(str(dfe.get("england") or ""))
    parts = []
    if far is not None and eng is not None:
        rel = "more" if far > eng + 0.5 else ("fewer" if far < eng - 0.5 else "about the same share of")
        parts.append(f"Proportionally, {rel} {'' if rel.startswith('about') else 'children '}are placed over {a.far_miles:g} miles from home than in England as a whole.".replace("  ", " "))
    elif far is None:
        parts.append("Some figures are suppressed because they concern very few children.")
    inside = _pct_value(h[1].figure)
    if inside is not None:
        parts.append("The council meets its local placement target." if inside >= 100 * a.local_target - 1e-9 else f"The council is below its target of placing {a.local_target:.0%} of children inside its own area.")
    parts.append("The gap areas and candidate properties below show where new local provision would do most good.")
    return " ".join(parts)


def _method(results: Results) -> dict[str, Any]:
    sc = results.scenario
    a = sc.analysis
    gm = results.graph_meta or {}
    speeds = gm.get("speeds") or gm.get("speed_source") or "UK default speeds by road class (geosuff/data/uk_speeds.csv)"
    items = [
        ("DfE distance measure", f"Straight line between the grid references of the home and placement postcodes, in miles rounded to one decimal (km / 1.6093); 'over {a.far_miles:g} miles' when the rounded distance is greater than {a.far_miles:g}. Unknown postcodes count as 'not known'."),
        ("Inside / outside", "Upper-tier LA containing the placement postcode compared with the responsible council; 'adjoining' LAs share a boundary (within 500 m on generalised boundaries)."),
        ("Road travel time", f"Shortest drive time on the OpenStreetMap road network (speeds: {speeds}); catchment thresholds {', '.join(f'{m:g}' for m in a.minutes)} minutes; local line {a.local_minutes:g} min; access raster cells {a.raster_cell_m:g} m."),
        ("Gap areas", _gap_note(results)),
        ("Candidate scores", "Each component is 0-1 (1 = best): children placed far away who could come home, uncovered demand, access to services, and a penalty for clustering near existing homes; the optimal set is chosen with an exact MILP (HiGHS)."),
        ("Disclosure control", f"Counts from 1 to {sc.disclosure.min_count - 1} are shown as 'c', with secondary suppression so that no suppressed figure can be worked out from totals; percentages are withheld where their count is; areas show bands. No child's id, postcode or location appears in this report or the map; provision sites are shown on the map at the centre of their 1 km grid square."),
        ("Road graph", ", ".join(f"{k}: {v}" for k, v in gm.items() if isinstance(v, str | int | float)) or "not recorded"),
        ("Data vintages", "Postcodes: ONSPD / Code-Point Open as configured (shipped fallback: Code-Point Open 2014 for Rutland and a packaged ONSPD extract); LSOA 2011 population aged 0-17: ONS mid-2020; LA boundaries: ONS upper-tier LAs April 2023 (generalised); DfE statistics: children looked after in England 2021-2025."),
    ]
    return {"items": items, "timings": ", ".join(f"{k} {v:.1f} s" for k, v in (results.timings or {}).items()) or "not recorded"}


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
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
@cache
def _asset(name: str) -> str:
    return (resources.files("geosuff") / "templates" / name).read_text(encoding="utf-8")


@cache
def _env() -> Environment:
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


def _unit(m: pd.DataFrame) -> str:
    """"children" when each row is a different child, else "placements"."""
    if "CHILD" in m and m["CHILD"].notna().all() and m["CHILD"].nunique() < len(m):
        return "placements"
    return "children"


@cache
def _dfe_far_shares(council: str) -> dict[str, Any]:
    """Latest published % placed over 20 miles: council, statistical neighbours, England."""
    try:
        from geosuff import dfe_stats as ds

        year = ds.latest_year("distance")
        out: dict[str, Any] = {"year": year}
        for key, level, code in (("council", ds.LEVEL_LA, council), ("sn", ds.LEVEL_SN, council), ("england", ds.LEVEL_NATIONAL, None)):
            pub = ds.published("distance", la_code=code, level=level, year=year)
            if ds.FAR in pub.index:
                r = pub.loc[ds.FAR]
                out[key] = f"{r['percentage']:.0f}%" if pd.notna(r["percentage"]) else (str(r["percentage_symbol"]) or ":")
        return out
    except Exception as err:  # shipped statistics are optional context
        logger.warning("DfE comparison figures not available: %s", err)
        return {}


@cache
def _group_labels() -> dict[str, str]:
    try:
        from geosuff.inputs import placement_groups

        g = placement_groups()
        return dict(zip(g["group"].astype(str), g["label"].astype(str), strict=True))
    except Exception:
        return {}


@cache
def _group_order() -> list[str]:
    try:
        from geosuff.inputs import placement_groups

        g = placement_groups().sort_values("order")
        return [str(x) for x in g["group"]]
    except Exception:
        return []


def _chosen_ids(results: Results) -> set[str]:
    ids: set[str] = set()
    sel = results.selection
    if sel is not None:
        ids |= {str(v) for v in (getattr(sel, "chosen_ids", ()) or ())}
    c = results.candidates
    if c is not None and "chosen" in c and "candidate_id" in c:
        ids |= set(c.loc[c["chosen"].fillna(False).astype(bool), "candidate_id"].astype(str))
    return ids


def _before_after(before: float, after: float, mc: int) -> tuple[str, str, str]:
    """Published before, after and gain: before and gain partition after, so a suppressed one
    takes the other with it (no subtraction recovers a small count)."""
    if not (np.isfinite(before) and np.isfinite(after)):
        return _pub_children(before, mc), _pub_children(after, mc), ":"
    b, a = round(float(before)), round(float(after))
    if a < b:  # a loss: the same rule with after and the loss partitioning before
        cells, tot = dc.publish_block(np.array([[a, b - a]]), np.array([b]), min_count=mc)
        loss = str(cells[0, 1])
        return str(tot[0]), str(cells[0, 0]), loss if loss == dc.SUPPRESSED else f"-{loss}"
    cells, tot = dc.publish_block(np.array([[b, a - b]]), np.array([a]), min_count=mc)
    return str(cells[0, 0]), str(tot[0]), str(cells[0, 1])


def _pub_children(v: float, mc: int) -> str:
    if v is None or not np.isfinite(v):
        return ":"
    return dc.publish_count(round(float(v)), min_count=mc)


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


def _int_or_blank(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{f:.0f}" if np.isfinite(f) else ""


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
