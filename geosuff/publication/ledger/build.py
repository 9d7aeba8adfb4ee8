"""Build the Published bundle of a run: register every table's figures, solve suppression, fill the tables."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geosuff.analysis import distance, gaps
from geosuff.config import road_times
from geosuff.publication import disclosure as dc
from geosuff.siting import COME_HOME_LABEL

if TYPE_CHECKING:
    from geosuff.results import Results
from geosuff.publication.ledger.core import (
    BREAKDOWNS,
    DISTANCE_NOT_KNOWN,
    INDICATOR_BLOCKS,
    Ledger,
    Published,
    _band_bounds,
    band_label,
    distance_bands,
)
from geosuff.publication.ledger.figures import (
    _fill_dfe,
    _fill_gaps,
    _fill_headline,
    _fill_indicators,
    _fill_places,
    _fill_quality,
    _fill_sensitivity,
    _fill_siting,
    _register_flows,
    _register_quality,
)
from geosuff.publication.ledger.leavers import (
    add_leaver_records,
    fill_care_leavers,
    fill_projection,
    register_care_leavers,
    register_projection,
)
from geosuff.publication.ledger.providers import fill_providers, register_providers
from geosuff.publication.ledger.trend import fill_trend, register_trend

logger = logging.getLogger(__name__)


def build(results: Results) -> Published:  # noqa: C901
    """Register every published figure of a run, solve the suppression, make the tables.

    Parameters
    ----------
    results : Results
        A run's results (``measures`` is the record table: one row per placement).

    Returns
    -------
    Published
    """
    sc = results.scenario
    a = sc.analysis
    mc = sc.disclosure.min_count
    m = results.measures.reset_index(drop=True)
    n_rec = len(m)
    led = Ledger(n_rec, min_count=mc)
    add_leaver_records(led, results)  # care leavers: the records right after the children
    status = m["status"].astype(str).to_numpy() if "status" in m else np.full(n_rec, "used")
    counted = status != "excluded"
    cm = m[counted]
    cpos = np.flatnonzero(counted)

    def full(mask_counted: np.ndarray) -> np.ndarray:
        out = np.zeros(n_rec, dtype=bool)
        out[cpos[np.asarray(mask_counted, dtype=bool)]] = True
        return out

    pending: dict[str, Any] = {}
    has_miles = "dfe_miles" in m.columns

    # indicator tables (all breakdowns share their "All children" row)
    if has_miles:
        flags = gaps.indicator_flags(cm, far_miles=a.far_miles, minutes=a.local_minutes)
        flags["rest_adjoining"] = ~flags["outside_not_adjoining"]
        for by in BREAKDOWNS:
            try:
                order, labels, masks = gaps.group_masks(cm, by)
            except Exception as err:  # a breakdown column is missing: that table is left out
                logger.info("indicator table by %s not published: %s", by, err)
                continue
            groups = [] if by in ("overall", "all") else list(order)
            sels = ([] if by in ("overall", "all") else list(masks)) + [
                np.ones(len(cm), dtype=bool)
            ]
            row_labels = [labels[g] for g in groups] + [gaps.ALL_LABEL]
            handles: dict[str, list[int]] = {}
            totals: list[int] = []
            # a table of a subset (excluding UASC) is registered with its complement row (the
            # UASC children, not published in it), so the block's rows partition all children
            # and "all" minus "excluding UASC" is protected cell by cell
            extra = [~masks[0]] if by == gaps.EXCLUDING_UASC else []
            bsels = [*sels[:-1], *extra, sels[-1]]
            blabels = [*row_labels[:-1], *["UASC (complement, not published)"] * len(extra)]
            blabels.append(row_labels[-1])
            rows_out = [i for i in range(len(bsels)) if not len(sels) - 1 <= i < len(bsels) - 1]
            for name, cols in INDICATOR_BLOCKS:
                cells = [[full(flags[c] & s) for c in cols] for s in bsels]
                hs, ts = led.block(
                    f"indicators_{by}:{name}",
                    cells,
                    [full(s) for s in bsels],
                    shown=[c != "rest_adjoining" for c in cols],
                    labels=blabels,
                )
                for j, c in enumerate(cols):
                    handles[c] = [hs[i][j] for i in rows_out]
                totals = [ts[i] for i in rows_out]
            pending[f"ind:{by}"] = (groups, row_labels, handles, totals)

        # sensitivity lines and distance bands (all children)
        miles = gaps._col_float(cm, "dfe_miles")
        mins = gaps._col_float(cm, "road_minutes")
        all_h = led.add(full(np.ones(len(cm), dtype=bool)), table="sensitivity", label="all")
        sens_rows = []
        for measure, values, lines, unit in (
            ("straight-line miles", miles, a.sensitivity_miles, "miles"),
            (
                "road minutes" if road_times(sc) else "estimated minutes",
                mins,
                a.sensitivity_minutes,
                "min",
            ),
        ):
            known = np.isfinite(values)
            nk = led.add(full(~known), table="sensitivity", label=f"{measure} not known")
            for t in sorted(float(x) for x in lines):
                h = led.add(
                    full(known & (values <= t)), table="sensitivity", label=f"{measure} <= {t:g}"
                )
                sens_rows.append((measure, t, unit, h, nk, bool(known.any())))
        pending["sensitivity"] = (all_h, sens_rows)
        band_h = []
        for lo, hi in distance_bands(miles, far_miles=a.far_miles, min_count=mc):
            sel = np.isfinite(miles) & ((miles >= lo) if lo == 0 else (miles > lo)) & (miles <= hi)
            label = band_label(lo, hi)
            band_h.append(
                (label, led.add(full(sel), table="distance_bands", label=label), lo >= a.far_miles)
            )
        band_h.append(
            (
                DISTANCE_NOT_KNOWN,
                led.add(full(~np.isfinite(miles)), table="distance_bands", label="not known"),
                False,
            )
        )
        pending["bands"] = band_h

        # this analysis in the DfE comparison
        if results.dfe_comparison is not None and len(results.dfe_comparison):
            dflags = gaps.dfe_flags(cm)
            dflags_all = gaps.dfe_flags(m)
            char = {(t, mm): c for t, mm, c in gaps.DFE_ROWS}
            dfe_h: list[tuple[int, int | None] | None] = []
            # each row counts its own cohort: the snapshot, or the year's new placements
            new_masks: dict[Any, np.ndarray | None] = {}
            for r in results.dfe_comparison.itertuples(index=False):
                key = char.get((str(r.table), str(r.measure)))
                cohort = getattr(r, "cohort", gaps.COHORT_SNAPSHOT)
                if key is None:
                    dfe_h.append(None)
                    continue
                if cohort != gaps.COHORT_STARTED_IN_YEAR:
                    h = led.add(full(dflags[key]), table="dfe", label=f"{r.table}: {r.measure}")
                    dfe_h.append((h, None))
                    continue
                end = r.cohort_end
                if end not in new_masks:
                    new_masks[end] = gaps.new_in_year(m, end)
                sel = new_masks[end]
                if sel is None:  # no start dates: the new placements are not known
                    dfe_h.append(None)
                    continue
                tot = led.add(sel, table="dfe", label=f"{r.table}: all")
                h = led.add(dflags_all[key] & sel, table="dfe", label=f"{r.table}: {r.measure}")
                dfe_h.append((h, tot))
            pending["dfe"] = dfe_h

    # placements by placement council, and the map's flows
    if "placement_la" in m.columns:
        la = m["placement_la"].astype("string")
        far_all = distance.far_mask(m) if "far" in m else np.zeros(n_rec, bool)
        names = m["placement_la_name"].astype("string") if "placement_la_name" in m else la
        la_rows = []
        codes = sorted({str(x) for x in la[counted].dropna()})
        for code in codes:
            sel = counted & (la == code).fillna(False).to_numpy(bool)
            nm = str(names[sel].dropna().iloc[0]) if names[sel].notna().any() else code
            la_rows.append(
                (
                    code,
                    nm,
                    led.add(sel, table="placements_by_la", label=f"{code} children"),
                    led.add(sel & far_all, table="placements_by_la", label=f"{code} far"),
                )
            )
        pending["by_la"] = la_rows
        pending["flows"] = _register_flows(led, results, m, counted, far_all)

    # gap areas: published as bands
    g = results.gap_areas
    if g is not None and len(g) and "members" in g.attrs:
        gap_h = []
        for mem, band in zip(g.attrs["members"], g["count_band"].astype(str), strict=True):
            lo_b, hi_b = _band_bounds(band)
            gap_h.append(
                led.add(
                    np.asarray(mem, dtype=np.int64),
                    table="gap_areas",
                    label=band,
                    kind=dc.BAND,
                    lower=lo_b,
                    upper=hi_b,
                )
            )
        pending["gaps"] = gap_h
    if g is not None and "not_in_gap_members" in g.attrs:
        # far-placed children in no published gap area (too few at every level): one sentence
        pending["gaps_not_shown"] = led.add(
            np.asarray(g.attrs["not_in_gap_members"], dtype=np.int64),
            table="gap_areas",
            label="far, in no gap area",
        )

    # siting: re-homing counts, chosen sites, before/after
    link = results.linkage or {}
    cands = results.candidates
    if cands is not None and len(cands) and "rehoming" in link:
        cand_h = {}
        places_of = (
            pd.to_numeric(cands["places"], errors="coerce")
            if "places" in cands
            else pd.Series(np.nan, index=cands.index)
        )
        for cid, places in zip(
            cands["candidate_id"].astype(str), places_of.to_numpy(dtype=float), strict=True
        ):
            rows = link["rehoming"].get(cid)
            if rows is None:
                continue
            lower = float(places) if np.isfinite(places) and len(rows) >= places > 0 else math.nan
            cand_h[cid] = led.add(
                np.asarray(rows, dtype=np.int64),
                table="candidates",
                label=f"{cid} re-homing",
                lower=lower,
            )
        pending["candidates"] = cand_h
    if "scenario" in link:
        # "children placed far who could come home" is the third headline: kept first
        pending["scenario"] = {}
        # (before, with the new sites alone, if today's spare places were also filled)
        for label, (b, af_new, af_spare) in link["scenario"].items():
            # today's figures outrank the hypothetical ones: a small change hides an "after"
            headline = label.startswith(COME_HOME_LABEL)
            table = "scenario:headline" if headline else "scenario"
            after = "scenario:headline" if headline else "scenario:after"
            pending["scenario"][label] = (
                led.add(b, table=table, label=f"{label} before"),
                led.add(af_new, table=after, label=f"{label} with the new sites"),
                led.add(af_spare, table=after, label=f"{label} also filling spare places"),
            )
    if "assigned" in link:
        pending["assigned"] = {
            cid: led.add(rows, table="chosen_sites", label=f"{cid} assigned")
            for cid, rows in link["assigned"].items()
        }

    # data quality: the children's table rows by status, reason and validation issue
    pending["quality"] = _register_quality(led, results, m)
    # every year's snapshot (its other years' children are records added to the ledger)
    pending["trend"] = register_trend(led, results)
    pending["providers"] = register_providers(led, results)
    pending["care_leavers"] = register_care_leavers(led, results)
    pending["projection"] = register_projection(led, results, led.record_sets.get("trend"))

    if "ind:overall" in pending:
        # the report's headlines, in its order: all children, placed far, placed inside, near
        _, _, oh, ot = pending["ind:overall"]
        led.headline(ot[-1], oh["over_miles"][-1], oh["inside_la"][-1], oh["within_miles"][-1])
    if sc.disclosure.previous:  # earlier publications: no small change may be worked out
        from geosuff.publication.ledger.previous import load_previous

        led.compare_with(load_previous(list(sc.disclosure.previous), council=sc.council))
    led.solve()
    pub = Published(min_count=mc, ledger=led)
    _fill_indicators(pub, led, pending)
    _fill_sensitivity(pub, led, pending)
    _fill_dfe(pub, led, pending, results)
    _fill_headline(pub, led, pending, results)
    _fill_siting(pub, led, pending, results)
    _fill_gaps(pub, results)
    if "gaps_not_shown" in pending:
        pub.gap_not_shown = led.text(pending["gaps_not_shown"])
    _fill_places(pub, led, pending)
    _fill_quality(pub, led, pending, results)
    fill_trend(pub, led, pending)
    fill_providers(pub, led, pending)
    fill_care_leavers(pub, led, pending["care_leavers"], results)
    fill_projection(pub, led, pending["projection"], results)
    audit = led.result
    if audit is not None and audit.unprotected.any():
        logger.warning(
            "disclosure: %d small figure(s) could not be protected", int(audit.unprotected.sum())
        )
    return pub
