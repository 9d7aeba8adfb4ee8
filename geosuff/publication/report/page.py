"""The committee report: headlines, the page context and writing report.html."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from geosuff import __version__
from geosuff._io import atomic_write_text
from geosuff.config import road_times
from geosuff.publication import disclosure as dc

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results
from geosuff.publication.report import costs as report_costs
from geosuff.publication.report import leavers
from geosuff.publication.report.breakdowns import breakdown_tables, excluding_uasc_sentence
from geosuff.publication.report.figures import (
    _chart_bands,
    _chart_by_type,
    _chart_trend,
    _meaning,
    _third_headline,
)
from geosuff.publication.report.format import (
    NOT_AVAILABLE,
    Headline,
    _asset,
    _dfe_far_shares,
    _dfe_years,
    _env,
    _unit,
    _year_note,
)
from geosuff.publication.report.method import _method, to_toml
from geosuff.publication.report.tables import (
    _candidate_table,
    _dfe_table,
    _gap_not_shown,
    _gap_note,
    _gap_table,
    _indicator_table,
    _pct_text,
    _quality_tables,
    _scenario_table,
    _selection,
    _sensitivity_table,
)
from geosuff.publication.report.trend import missing_years_note, trend_charts

logger = logging.getLogger(__name__)


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
    ex_uasc = excluding_uasc_sentence(pub, results)
    if ex_uasc:
        detail1 += f" {ex_uasc}"
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
    ctx["indicator_tables"] += breakdown_tables(pub, results)
    ctx["sensitivity_table"] = _sensitivity_table(pub, estimated=not road_times(results.scenario))
    ctx["chart_types"] = Markup(_chart_by_type(pub, results))
    ctx["chart_bands"] = Markup(_chart_bands(pub))
    ctx["chart_trend"] = Markup(_chart_trend(results, heads))
    ctx["trend_charts"] = [(cap, Markup(svg)) for cap, svg in trend_charts(pub, results)]
    ctx["trend_note"] = missing_years_note(pub)
    ctx.update(leavers.context(pub, results))
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
    ctx["providers_table"] = report_costs.providers_table(pub)
    ctx["cost_table"] = report_costs.cost_table(pub, results)
    ctx["impact_table"] = report_costs.impact_table(pub, results)
    ctx["quality_tables"] = _quality_tables(pub)
    ctx["method"] = _method(results)
    ctx["config_toml"] = to_toml(sc.to_toml_dict())
    return ctx
