"""Figures of each published table: distance bands, flows, quality, indicators, DfE, headline, siting, gaps, places."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff.publication import disclosure as dc
from geosuff.siting import COME_HOME_LABEL, SCENARIO_COLUMNS

if TYPE_CHECKING:
    from geosuff.results import Results
from geosuff.config.sections import cost_settings
from geosuff.publication.ledger.core import (
    BREAKDOWNS,
    FLOW_BANDS,
    INDICATOR_PUBLISHED,
    NOT_APPLICABLE,
    SUPPRESSED,
    Ledger,
    Published,
)
from geosuff.publication.ledger.costs import chosen_set_costs, publish_costs, scenario_cost_rows

logger = logging.getLogger(__name__)


def flow_band(n: int) -> tuple[str, float, float, float]:
    """Label, bounds and line width of the flow band holding ``n`` children."""
    for lo, hi, width in FLOW_BANDS:
        if lo <= n < hi:
            label = f"{lo}+" if not np.isfinite(hi) else f"{lo}\u2013{int(hi) - 1}"
            return label, float(lo), float(hi - 1) if np.isfinite(hi) else math.inf, width
    return "", math.nan, math.nan, FLOW_BANDS[0][2]


def _register_flows(
    led: Ledger, results: Results, m: pd.DataFrame, counted: np.ndarray, far_all: np.ndarray
) -> dict[str, Any]:
    """Flows home area -> placement council: drawn from the home area with at least
    ``min_count`` children, else merged per council ("elsewhere in the council"), else into one
    "other" total that is not drawn.
    """
    from geosuff.publication import maps

    mc = led.min_count
    council = results.scenario.council
    la = m["placement_la"].astype("string").fillna("").to_numpy(dtype=object)
    home = (
        m["home_area"].astype("string").fillna("").to_numpy(dtype=object)
        if "home_area" in m
        else np.full(len(m), "", dtype=object)
    )
    names = (
        m["placement_la_name"].astype("string").fillna("").to_numpy(dtype=object)
        if "placement_la_name" in m
        else la
    )
    la_pts = maps._la_points(results)
    area_pts = maps._area_points(results)
    c_e, c_n = maps._council_centre(results)
    inside = counted & (la == council)
    known_la = counted & (la != "")
    outside = known_la & ~inside
    drawable = outside & np.isin(la, list(la_pts))
    other = counted & ~inside & ~drawable  # outside to an undrawable LA, or LA not known
    lines = []
    for code in sorted(set(la[drawable])):
        to = drawable & (la == code)
        te, tn = la_pts[str(code)]
        label = next((str(x) for x in names[to] if x), str(code))
        big_rows = np.zeros(len(m), dtype=bool)
        for area in sorted(set(home[to]) - {""}):
            sel = to & (home == area)
            if sel.sum() >= mc and area in area_pts:
                ae, an, alabel = area_pts[area]
                lines.append((alabel, ae, an, code, label, te, tn, sel))
                big_rows |= sel
        rest = to & ~big_rows
        if rest.sum() >= mc:
            lines.append(
                (f"elsewhere in {results.council_name}", c_e, c_n, code, label, te, tn, rest)
            )
        else:
            other |= rest
    drawn = []
    for alabel, ae, an, code, label, te, tn, sel in lines:
        band, lo, hi, width = flow_band(int(sel.sum()))
        h = led.add(sel, table="flows", label=f"{alabel} -> {code}", lower=lo, upper=hi)
        hf = led.add(sel & far_all, table="flows", label=f"{alabel} -> {code} far")
        drawn.append((alabel, ae, an, code, label, te, tn, h, hf, band, width, int(sel.sum())))
    return {
        "lines": drawn,
        "inside": led.add(inside, table="flows", label="inside"),
        "other": led.add(other, table="flows", label="other"),
        "other_las": len({str(x) for x in la[other] if x}),
    }


def _register_quality(led: Ledger, results: Results, m: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pos_of_row: dict[int, int] = {}
    if "row" in m.columns:
        rows = pd.to_numeric(m["row"], errors="coerce").to_numpy()
        pos_of_row = {int(r): i for i, r in enumerate(rows) if np.isfinite(r)}
    rec = results.reconciliation
    if rec is not None and len(rec) and {"table", "status"} <= set(rec.columns):
        r2 = rec.assign(
            reason=rec.get("reason", pd.Series("", index=rec.index)).fillna("").astype(str)
        )
        by_status = []
        for (table, st), grp in r2.groupby(["table", "status"], sort=True):
            h = _quality_figure(led, table, grp, pos_of_row, f"{table} {st}")
            by_status.append((str(table), str(st), h, len(grp)))
        reasons = []
        ex = r2[(r2["status"].astype(str) != "used") | (r2["reason"] != "")]
        for (table, st, rs), grp in ex.groupby(["table", "status", "reason"], sort=True):
            h = _quality_figure(led, table, grp, pos_of_row, f"{table} {st} {rs}")
            reasons.append((str(table), str(st), str(rs) or "(no reason given)", h, len(grp)))
        out["status"] = by_status
        out["reasons"] = reasons
    iss = results.issues
    if iss is not None and len(iss) and {"file", "problem"} <= set(iss.columns):
        placements_file = (
            results.scenario.inputs.placements.name
            if getattr(results.scenario.inputs, "placements", None)
            else None
        )
        keys = [k for k in ("file", "column", "severity", "problem") if k in iss.columns]
        forbidden = dc.personal_strings(results.measures, sites=results.sites)
        red = dc.redact_issues(iss, forbidden)
        items = []
        for key, grp in red.groupby(keys, dropna=False, sort=True):
            key_t = key if isinstance(key, tuple) else (key,)
            is_children = placements_file is not None and str(key_t[0]) == placements_file
            h = None
            if is_children and "row" in grp.columns:
                pos = [
                    pos_of_row[int(r)]
                    for r in pd.to_numeric(grp["row"], errors="coerce").dropna()
                    if int(r) in pos_of_row
                ]
                if len(pos) == len(grp):
                    h = led.add(
                        np.array(pos, dtype=np.int64),
                        table="issues",
                        label=" / ".join(map(str, key_t)),
                    )
            items.append(
                (tuple("" if pd.isna(x) else str(x) for x in key_t), h, len(grp), is_children)
            )
        out["issues"] = (keys, items)
    return out


def _quality_figure(
    led: Ledger, table: Any, grp: pd.DataFrame, pos_of_row: dict[int, int], label: str
) -> int | None:
    """A ledger figure for rows of the children's table (None for other tables: not children)."""
    if str(table) in led.row_positions and "row" in grp.columns:
        pos_of_row = led.row_positions[str(table)]  # young people of another table (care leavers)
    elif str(table) != "placements" or "row" not in grp.columns:
        return None
    rows = pd.to_numeric(grp["row"], errors="coerce").dropna().astype(int)
    pos = [pos_of_row[r] for r in rows if r in pos_of_row]
    if len(pos) != len(grp):
        return (
            led.add(np.zeros(0, dtype=np.int64), table="quality", label=label)
            if len(grp) == 0
            else None
        )
    return led.add(np.array(pos, dtype=np.int64), table="quality", label=label)


# ----------------------------------------------------------------------------------------------
# Filling the tables from the solved ledger
# ----------------------------------------------------------------------------------------------
def _fill_indicators(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    for by in BREAKDOWNS:
        item = pending.get(f"ind:{by}")
        if item is None:
            continue
        groups, row_labels, handles, totals = item
        rows = []
        for i, label in enumerate(row_labels):
            r: dict[str, Any] = {
                "group": groups[i] if i < len(groups) else "all",
                "label": label,
                "n": led.text(totals[i]),
            }
            for name in INDICATOR_PUBLISHED:
                h = handles[name][i]
                r[f"n_{name}"] = led.text(h)
                r[f"pct_{name}"] = led.percent(h, totals[i])
            if led.count(handles["minutes_not_known"][i]) == led.count(totals[i]):
                r["pct_within_minutes"] = NOT_APPLICABLE
                r["pct_beyond_minutes"] = NOT_APPLICABLE
            rows.append(r)
        pub.indicators[by] = pd.DataFrame(rows)


def _fill_sensitivity(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    if "sensitivity" in pending:
        all_h, sens_rows = pending["sensitivity"]
        pub.sensitivity = pd.DataFrame(
            [
                {
                    "measure": measure,
                    "threshold": t,
                    "unit": unit,
                    "n": led.text(all_h),
                    "n_within": led.text(h) if any_known else NOT_APPLICABLE,
                    "pct_within": led.percent(h, all_h) if any_known else NOT_APPLICABLE,
                    "n_not_known": led.text(nk),
                    "pct_not_known": led.percent(nk, all_h),
                }
                for measure, t, unit, h, nk, any_known in sens_rows
            ]
        )
    if "bands" in pending:
        pub.distance_bands = pd.DataFrame(
            [
                {"band": label, "children": led.text(h), "beyond_line": beyond}
                for label, h, beyond in pending["bands"]
            ]
        )


def _fill_dfe(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    d = results.dfe_comparison
    if d is None or "dfe" not in pending:
        return
    out = d.copy().astype({"computed_n": object, "computed_pct": object})
    all_h = pending["sensitivity"][0] if "sensitivity" in pending else None
    if "computed_total" in out.columns:
        out = out.astype({"computed_total": object})
    for i, item in enumerate(pending["dfe"]):
        if item is None:
            out.iloc[i, out.columns.get_loc("computed_n")] = NOT_APPLICABLE
            out.iloc[i, out.columns.get_loc("computed_pct")] = NOT_APPLICABLE
            if "computed_total" in out.columns:
                out.iloc[i, out.columns.get_loc("computed_total")] = NOT_APPLICABLE
            continue
        h, tot = item
        den = all_h if tot is None else tot
        out.iloc[i, out.columns.get_loc("computed_n")] = led.text(h)
        out.iloc[i, out.columns.get_loc("computed_pct")] = (
            led.percent(h, den) if den is not None else NOT_APPLICABLE
        )
        if "computed_total" in out.columns:
            out.iloc[i, out.columns.get_loc("computed_total")] = (
                led.text(den) if den is not None else NOT_APPLICABLE
            )
    pub.dfe_comparison = out


def _fill_headline(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    item = pending.get("ind:overall")
    if item is None:
        return
    _, _, handles, totals = item
    a = results.scenario.analysis
    n_h = totals[-1]
    far_h = handles["over_miles"][-1]
    in_h = handles["inside_la"][-1]
    nk_h = handles["la_not_known"][-1]
    n = led.count(n_h)
    head: dict[str, Any] = {
        "n": led.text(n_h),
        "far": led.text(far_h),
        "far_pct": led.percent(far_h, n_h, digits=0),
        "inside": led.text(in_h),
        "inside_pct": led.percent(in_h, n_h, digits=0),
        "la_not_known": led.count(nk_h) > 0,
    }
    meets = n > 0 and led.count(in_h) >= a.local_target * n - 1e-9
    head["meets_target"] = meets
    if led.shown(in_h) and led.shown(n_h):
        need = max(0, math.ceil(a.local_target * n - 1e-9) - led.count(in_h))
        head["shortfall"] = str(need)
    else:
        head["shortfall"] = SUPPRESSED
    if a.within_miles_target is not None:
        # the council's own target for the share placed far_miles or less from home (e.g. Kent's
        # "Measure 3"); the shortfall is shown only where both counts are published
        near_h = handles["within_miles"][-1]
        target = a.within_miles_target
        head["within_target"] = target
        head["meets_within_target"] = n > 0 and led.count(near_h) >= target * n - 1e-9
        if led.shown(near_h) and led.shown(n_h):
            head["within_shortfall"] = str(max(0, math.ceil(target * n - 1e-9) - led.count(near_h)))
        else:
            head["within_shortfall"] = SUPPRESSED
    ex = pending.get("ind:excluding_uasc")
    if ex is not None:
        # the same headlines for children who are not UASC (as councils and the DfE publish them)
        _, _, eh, et = ex
        head["excluding_uasc"] = {
            "n": led.text(et[0]),
            "far": led.text(eh["over_miles"][0]),
            "far_pct": led.percent(eh["over_miles"][0], et[0], digits=0),
            "inside": led.text(eh["inside_la"][0]),
            "inside_pct": led.percent(eh["inside_la"][0], et[0], digits=0),
        }
    pub.headline = head


def _fill_siting(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:  # noqa: C901
    mc = led.min_count
    c = results.candidates
    if c is not None and len(c):
        out = candidate_columns(c)
        cand_h = pending.get("candidates", {})
        reach, fill = [], []
        for r in c.itertuples(index=False):
            cid = str(getattr(r, "candidate_id", ""))
            h = cand_h.get(cid)
            places = pd.to_numeric(pd.Series([getattr(r, "places", np.nan)]), errors="coerce").iloc[
                0
            ]
            if h is None:
                reach.append("")
                fill.append("")
                continue
            reach.append(led.text(h))
            n = led.count(h)
            if np.isfinite(places) and places > 0 and n >= places:
                fill.append(str(int(places)))  # a published band: at least `places` children
            elif n == 0:
                fill.append("0")
            else:
                fill.append(led.text(h))
        if "rehoming_reachable" in out:
            out["rehoming_reachable"] = reach
        if "rehoming_children" in out:
            out = out.drop(columns="rehoming_children")
        if len(reach) == len(out):
            pos = (
                list(out.columns).index("rehoming_reachable") + 1
                if "rehoming_reachable" in out
                else len(out.columns)
            )
            out.insert(pos, "places_it_could_fill", fill)
            out = publish_costs(out, fill)
        pub.candidates = out
    sel = results.selection
    scen = pending.get("scenario")
    if sel is not None:
        summ = sel.summary() if callable(getattr(sel, "summary", None)) else {}
        far_label = next((k for k in (scen or {}) if k.startswith(COME_HOME_LABEL)), None)
        if scen and far_label:
            hb, _, ha = scen[far_label]
            before, after = led.text(hb), led.text(ha)
            gain = _difference(led, hb, ha)
        else:
            before = _primary(summ.get("before", getattr(sel, "fixed_objective", math.nan)), mc)
            after = _primary(summ.get("objective", getattr(sel, "objective", math.nan)), mc)
            gain = (
                SUPPRESSED
                if SUPPRESSED in (before, after)
                else _primary(float(summ.get("objective", 0)) - float(summ.get("before", 0)), mc)
            )
        gap = summ.get("mip_gap", getattr(sel, "mip_gap", math.nan))
        ggap = summ.get("greedy_gap", getattr(sel, "greedy_gap", math.nan))
        pub.selection = {
            "chosen": [
                str(v) for v in (summ.get("chosen") or getattr(sel, "chosen_ids", ()) or ())
            ],
            "before": before,
            "after": after,
            "gain": gain,
            "status": str(summ.get("status", getattr(sel, "status", ""))),
            "mip_gap": float(gap) if gap is not None else math.nan,
            "greedy_gap": float(ggap) if ggap is not None else math.nan,
        }
        sites = getattr(sel, "sites", None)
        if isinstance(sites, pd.DataFrame) and len(sites):
            assigned = pending.get("assigned", {})
            cs = sites.drop(
                columns=[
                    x
                    for x in sites.columns
                    if x
                    not in {
                        "order",
                        "candidate_id",
                        "use",
                        "places",
                        "children_assigned",
                        "addition_gain",
                        "marginal_gain",
                    }
                ]
            ).copy()
            cs["children_assigned"] = [
                led.text(assigned[str(cid)]) if str(cid) in assigned else _primary(v, mc)
                for cid, v in zip(cs["candidate_id"], sites["children_assigned"], strict=True)
            ]
            for col in ("addition_gain", "marginal_gain"):
                if col in cs:
                    cs[col] = [_primary(v, mc) for v in sites[col]]
            pub.chosen_sites = cs.reset_index(drop=True)
    s = results.scenario_comparison
    if s is not None and len(s):
        rows = []
        for r in s.itertuples(index=False):
            label = str(r.indicator)
            if scen and label in scen:
                hb, hn, hs = scen[label]
                rows.append(
                    {
                        "indicator": label,
                        "before": led.text(hb),
                        "after_new_sites": led.text(hn),
                        "change_new_sites": _difference(led, hb, hn),
                        "after_with_spare_places": led.text(hs),
                        "change_with_spare_places": _difference(led, hb, hs),
                    }
                )
            else:  # not a count of children (places in new sites)
                rows.append(
                    {
                        "indicator": label,
                        "before": _fmt_num(r.before),
                        "after_new_sites": _fmt_num(r.after_new_sites),
                        "change_new_sites": _fmt_num(r.change_new_sites),
                        "after_with_spare_places": _fmt_num(r.after_with_spare_places),
                        "change_with_spare_places": _fmt_num(r.change_with_spare_places),
                    }
                )
        pub.scenario = pd.DataFrame(rows, columns=list(SCENARIO_COLUMNS))
        pub.scenario = scenario_cost_rows(
            pub.scenario,
            chosen_set_costs(
                pub.chosen_sites,
                results.candidates,
                weeks_per_year=cost_settings(results.scenario).weeks_per_year,
            ),
        )


def _difference(led: Ledger, before: int, after: int) -> str:
    """After minus before, shown only when both are shown (it then follows from them)."""
    if not (led.shown(before) and led.shown(after)):
        return SUPPRESSED
    d = led.count(after) - led.count(before)
    return f"+{d}" if d > 0 else str(d)


def _primary(v: Any, mc: int) -> str:
    """A hypothetical count with no record set (e.g. a site's marginal gain): primary rule."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return NOT_APPLICABLE
    if not np.isfinite(f):
        return NOT_APPLICABLE
    return dc.publish_count(round(f), min_count=mc)


def _fmt_num(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{f:g}" if np.isfinite(f) else ""


def _fill_gaps(pub: Published, results: Results) -> None:
    pub.gap_areas = published_gaps(results.gap_areas)


#: Candidate columns never published (locations are published as points, not postcodes).
_CANDIDATE_PRIVATE = {
    "postcode",
    "location_source",
    "location_reason",
    "ltla",
    "utla",
    "row",
    "line",
    "node",
}


def candidate_columns(c: pd.DataFrame) -> pd.DataFrame:
    """The candidate table's publishable columns (child counts still raw: :func:`build`
    replaces them with published ones).
    """
    return c.drop(
        columns=[col for col in c.columns if col in _CANDIDATE_PRIVATE or str(col).startswith("_")]
    ).reset_index(drop=True)


def published_gaps(gaps_gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Gap areas with only the columns safe to publish (bands, named needs; never raw counts)."""
    if gaps_gdf is None or len(gaps_gdf) == 0:
        return gaps_gdf
    keep = gaps_gdf.attrs.get("publish_columns")
    if keep:
        cols = [c for c in gaps_gdf.columns if c in set(keep) or c == "geometry"]
        return gaps_gdf[cols].copy()
    raw = [
        c
        for c in gaps_gdf.columns
        if c in {"n_far", "children", "count", "n_children"} or c.startswith("n_")
    ]
    return gaps_gdf.drop(columns=raw)


def _fill_places(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    if "by_la" in pending:
        pub.placements_by_la = pd.DataFrame(
            [
                {
                    "placement_la": code,
                    "placement_la_name": nm,
                    "children": led.text(h),
                    "far": led.text(hf),
                }
                for code, nm, h, hf in pending["by_la"]
            ],
            columns=["placement_la", "placement_la_name", "children", "far"],
        )
    fl = pending.get("flows")
    cols = [
        "from_label",
        "from_e",
        "from_n",
        "to_code",
        "to_label",
        "to_e",
        "to_n",
        "children",
        "far",
        "band",
        "width",
    ]
    if fl is None:
        pub.flows = pd.DataFrame(columns=cols)
        pub.flows_summary = {"inside": NOT_APPLICABLE, "other": NOT_APPLICABLE, "other_las": "0"}
        return
    rows = [
        {
            "from_label": al,
            "from_e": ae,
            "from_n": an,
            "to_code": code,
            "to_label": label,
            "to_e": te,
            "to_n": tn,
            "children": led.text(h),
            "far": led.text(hf),
            "band": band,
            "width": width,
            "_n": n,
        }
        for al, ae, an, code, label, te, tn, h, hf, band, width, n in fl["lines"]
    ]
    df = pd.DataFrame(rows, columns=[*cols, "_n"])
    pub.flows = (
        df.sort_values(["_n", "to_code", "from_label"], ascending=[False, True, True])
        .drop(columns="_n")
        .reset_index(drop=True)
    )
    pub.flows_summary = {
        "inside": led.text(fl["inside"]),
        "other": led.text(fl["other"]),
        "other_las": str(fl["other_las"]),
    }


def _fill_quality(pub: Published, led: Ledger, pending: dict[str, Any], results: Results) -> None:
    q = pending.get("quality") or {}
    if "status" in q:
        pub.reconciliation_summary = pd.DataFrame(
            [
                {"table": t, "status": s, "rows": led.text(h) if h is not None else str(n)}
                for t, s, h, n in q["status"]
            ],
            columns=["table", "status", "rows"],
        )
        pub.reasons = pd.DataFrame(
            [
                {
                    "table": t,
                    "status": s,
                    "reason": r,
                    "rows": led.text(h) if h is not None else str(n),
                }
                for t, s, r, h, n in q["reasons"]
            ],
            columns=["table", "status", "reason", "rows"],
        )
    if "issues" in q:
        keys, items = q["issues"]
        rows = []
        for key_t, h, n, is_children in items:
            shown = (
                led.text(h)
                if h is not None
                else (dc.publish_count(n, min_count=led.min_count) if is_children else str(n))
            )
            rows.append({**dict(zip(keys, key_t, strict=True)), "rows": shown})
        pub.issues_summary = pd.DataFrame(rows, columns=[*keys, "rows"])
