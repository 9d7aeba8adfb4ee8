"""The HTML report: headline figures, disclosure, sections, no external resources."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_results import forbidden_strings, make_results

from geosuff.publication import charts, disclosure, report


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory):
    return make_results(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def html(res, tmp_path_factory: pytest.TempPathFactory) -> str:
    return report.write_report(res, tmp_path_factory.mktemp("r") / "report.html").read_text(
        encoding="utf-8"
    )


def test_headlines_are_the_published_all_children_row(res) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(res)
    m = res.measures
    n = len(m)
    far = int((m["dfe_miles"] > 20).sum())
    inside = int(m["inside_la"].fillna(False).sum())
    h = report.headlines(res, pub)
    assert [x.key for x in h] == ["far", "inside", "selection"]
    allrow = pub.indicators["overall"].iloc[-1]
    assert allrow["n"] == str(n) and allrow["n_over_miles"] in {str(far), "c"}
    if allrow["n_over_miles"] != "c":
        assert h[0].figure == f"{100 * far / n:.0f}%"
        assert h[0].sentence.startswith(f"{far} of {n} children")
    assert "England: 22%" in h[0].comparison  # DfE 2025
    if allrow["n_inside_la"] != "c":
        assert h[1].sentence.startswith(f"{inside} of {n} children")
        need = int(np.ceil(0.75 * n)) - inside
        assert f"short of the target by {need} children" in h[1].comparison
    sel = pub.selection
    assert sel is not None
    if sel["gain"] != "c" or sel["after"] == "c":
        assert h[2].figure == sel["gain"]
    else:  # the gain is withheld: the headline gives the published total after instead
        assert h[2].figure == sel["after"] and "Before: c" in h[2].comparison


def test_indicator_tables_show_only_published_figures(res) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(res)
    t = report._indicator_table(pub, "place_group", res)
    assert t is not None
    rows = {r[0]: r for r in t["rows"]}
    secure = rows["Secure children's homes (K1)"]  # one child in the fixture
    assert secure[1] == "c"
    mc = res.scenario.disclosure.min_count
    # every figure shown is 0 or at least min_count, and equals the published table's
    for r in t["rows"]:
        for v in r[1:]:
            if re.fullmatch(r"\d+", v):
                assert int(v) == 0 or int(v) >= mc
    pg = pub.indicators["place_group"]
    assert [r[1] for r in t["rows"]] == list(pg["n"])
    assert [r[2] for r in t["rows"]] == list(pg["n_over_miles"])


def test_before_after_cannot_be_recovered_by_subtraction(res) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(res)
    assert pub.scenario is not None
    for r in pub.scenario.itertuples(index=False):
        if r.indicator == "Places in new sites":
            continue
        for after, change in (
            (r.after_new_sites, r.change_new_sites),
            (r.after_with_spare_places, r.change_with_spare_places),
        ):
            if "c" in (r.before, after):
                assert change == "c"
            else:
                assert int(change) == int(after) - int(r.before)


def test_scenario_table_labels_the_two_effects_apart(res, html) -> None:
    """The new sites' effect and "also filling today's spare places" are separate columns."""
    from geosuff.publication import ledger as publish

    t = report._scenario_table(publish.build(res))
    assert t is not None
    assert t["columns"] == [
        "Indicator",
        "Before",
        "With the new sites",
        "Change",
        "If today's spare places were also filled",
        "Change",
    ]
    assert all(len(r) == 6 for r in t["rows"])
    assert "With the new sites" in html
    assert "If today&#39;s spare places were also filled" in html or (
        "If today's spare places were also filled" in html
    )


def test_sensitivity_never_publishes_a_small_difference(res) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(res)
    t = report._sensitivity_table(pub)
    assert t is not None
    mc = res.scenario.disclosure.min_count
    for measure in {r[0] for r in t["rows"]}:
        vals = [int(r[2]) for r in t["rows"] if r[0] == measure and r[2] != "c"]
        for a, b in zip([0, *vals], vals, strict=False):
            assert b - a == 0 or b - a >= mc


def test_report_sections_and_tables(html: str) -> None:
    for sid in (
        "summary",
        "indicators",
        "charts",
        "gaps",
        "candidates",
        "chosen",
        "quality",
        "method",
        "config",
        "attribution",
    ):
        assert f'id="{sid}"' in html
    assert html.count("<svg") == 3
    assert "SYNTHETIC DATA" in html
    assert "OpenStreetMap contributors" in html and "Crown copyright" in html
    assert "<thead>" in html and "page-break-inside: avoid" in html and "@page" in html


def test_config_appendix_is_valid_toml(res, html: str) -> None:
    m = re.search(r'<pre class="config">(.*?)</pre>', html, re.S)
    assert m
    import html as h

    data = tomllib.loads(h.unescape(m.group(1)))
    assert data["council"] == res.scenario.council
    assert data["analysis"]["far_miles"] == res.scenario.analysis.far_miles
    assert data["disclosure"]["min_count"] == res.scenario.disclosure.min_count


def test_report_has_no_external_resources(html: str) -> None:
    assert not re.search(r"""<(script|link|img|iframe)\b""", html)
    assert not re.search(r"""url\(\s*['"]?https?:""", html)


def test_no_child_level_string_in_report(res, html: str, tmp_path: Path) -> None:
    p = tmp_path / "report.html"
    p.write_text(html, encoding="utf-8")
    assert disclosure.check_published_file(p, forbidden_strings(res)) == []
    for child in res.measures["CHILD"].dropna():
        assert str(child) not in html


def test_report_without_optional_tables(tmp_path: Path) -> None:
    r = make_results(tmp_path, optional=False)
    text = report.render_report(r)
    assert text.count(report.NOT_AVAILABLE) >= 5
    assert 'data-key="gaps"' in text  # third headline falls back
    assert "<svg" in text  # charts from the measures still drawn


def test_stacked_bar_never_draws_a_suppressed_cell_to_scale() -> None:
    svg = charts.stacked_bars(
        [
            charts.BarRow(
                "G",
                "20",
                (
                    charts.Segment("a", "c", "#111111"),
                    charts.Segment("b", "17", "#222222"),
                    charts.Segment("x", "c", "#333333"),
                ),
            )
        ],
        title="t",
    )
    widths = [
        float(w)
        for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="22"', svg)
    ]
    assert len(widths) == 2  # the 17 segment and one hatched remainder (both c cells merged)
    assert "url(#gs-hatch)" in svg


def test_suppressed_inside_count_gives_no_shortfall(res) -> None:
    import copy

    r = copy.copy(res)
    m = res.measures.copy()
    inside = m["inside_la"].fillna(False).to_numpy(bool)
    keep = np.flatnonzero(inside)[:3]
    new = np.zeros(len(m), bool)
    new[keep] = True
    m["inside_la"] = pd.array(new, dtype="boolean")
    r.measures = m
    h = report.headlines(r)[1]
    assert h.figure == "c"
    assert "short of the target." in h.comparison
    assert not re.search(r"short of the target by \d", h.comparison)


def test_report_names_the_dfe_year_and_cohorts(res, tmp_path: Path) -> None:
    """A reference date beyond the shipped DfE statistics: the latest year, and the report says
    which year it wanted; each comparison row says whom this analysis counts."""
    import dataclasses
    import datetime as dt

    from geosuff.analysis import gaps
    from geosuff.publication import ledger as publish

    ref = res.scenario.analysis.reference_date
    assert ref == dt.date(2025, 3, 31)
    pub = publish.build(res)
    h = report.headlines(res, pub)
    assert "(DfE, 31 March 2025)." in h[0].comparison
    late = dataclasses.replace(
        res,
        dfe_comparison=gaps.dfe_comparison(
            res.measures, council=res.scenario.council, reference_date=dt.date(2026, 3, 31)
        ),
    )
    pub_late = publish.build(late)
    h = report.headlines(late, pub_late)
    assert "(DfE, 31 March 2025; 2026 not published yet)." in h[0].comparison
    t = report._dfe_table(pub_late)
    assert t is not None
    assert {r[-1] for r in t["rows"]} == {"2025 (2026 not published yet)"}
    assert {r[1] for r in t["rows"]} == {
        "Looked after on 31/03/2026",
        "Placements started 01/04/2025 to 31/03/2026",
    }
    page = report.write_report(late, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "2025 (2026 not published yet)" in page
    assert "Placements started 01/04/2025 to 31/03/2026" in page


@pytest.mark.slow
def test_report_counts_far_children_in_no_gap_area(tmp_path: Path) -> None:
    """SYNTHETIC Hartlepool, 300 children: the report says how many children placed far away
    are in no published gap area; the count is every far child less those in the areas."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.publication import ledger as publish
    from geosuff.synth import synthesise

    syn = synthesise("E06000001", tmp_path / "in", seed=7, n_children=300)
    res = run(load_config(syn.config), write=False)
    g = res.gap_areas
    assert len(g) >= 1
    m = res.measures
    counted = m[m["status"] != "excluded"]
    far = set(counted.index[counted["dfe_miles"] > 20].tolist())
    in_areas = set(np.concatenate(g.attrs["members"]).tolist())
    assert in_areas <= far
    not_shown = len(far - in_areas)
    assert not_shown == g.attrs["not_in_gap_areas"] + g.attrs["unassigned"] >= 5
    assert sorted(g.attrs["not_in_gap_members"].tolist()) == sorted(far - in_areas)
    pub = publish.build(res)
    assert pub.gap_not_shown == str(not_shown) and pub.headline["far"] == str(len(far))
    html = report.write_report(res, tmp_path / "report.html").read_text(encoding="utf-8")
    para = re.search(r'<p id="gap-not-shown">([^<]*)</p>', html)
    assert para is not None
    assert para.group(1).startswith(
        f"{not_shown} of the {len(far)} children placed more than 20 miles from home are in no "
        "gap area listed here: their home areas hold fewer than 5 such children"
    )
    assert "counted in every total above" in para.group(1)
    # a small count is withheld by the ledger, never shown
    small = report._gap_not_shown(
        publish.Published(min_count=5, gap_not_shown=disclosure.SUPPRESSED, headline={"far": "39"}),
        res,
    )
    assert small.startswith("A small number (fewer than 5; exact figure withheld) of the 39 ")


def test_report_says_how_many_figures_were_withheld_and_why(res, html: str) -> None:
    """Issue 12.9: the count of withheld figures comes from the ledger (numbers), the sentence
    from the report."""
    from geosuff.publication import ledger as publish

    led = publish.build(res).ledger
    assert led is not None
    w = led.withheld()
    kind = np.array(led.kind)
    assert w.figures == int(((kind == disclosure.EXACT) | (kind == disclosure.FORCED)).sum())
    assert 0 < w.withheld == sum(led.text(h) == "c" for h in np.flatnonzero(kind == 0))
    sentence = (
        f"{w.withheld} of {w.figures} figures were withheld "
        f"(fewer than {res.scenario.disclosure.min_count} children, or would reveal one that is)."
    )
    assert report.withheld_sentence(w) == sentence
    assert sentence in html


def test_table_cells_can_break_inside_codes(html: str) -> None:
    """Issue 18 item 11: codes and paths in table cells (column names such as HOME_POST, use
    codes such as supported_accommodation) may wrap at ``_`` and ``/`` so wide tables fit the
    page; ordinary text (" / " between words) and the escaping are unchanged."""
    assert "HOME_<wbr>POST" in html
    cell = report._breakable("no: supported_accommodation needs qa/reconciliation.csv <b>")
    assert str(cell) == (
        "no: supported_<wbr>accommodation needs qa/<wbr>reconciliation.csv &lt;b&gt;"
    )
    assert str(report._breakable("Supported / independent living")) == (
        "Supported / independent living"
    )
    assert str(report._breakable("Placements started 01/04/2025 to 31/03/2026")) == (
        "Placements started 01/04/2025 to 31/03/2026"
    )
    # the print CSS lets numeric headers wrap (they held the widest tables past the page)
    assert "thead th.num { white-space: normal; }" in html
