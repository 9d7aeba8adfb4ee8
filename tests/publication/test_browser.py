"""Open the map and the report in headless Chromium (Debian's /usr/bin/chromium via playwright).

Fails on any console error or page error, checks every layer and legend, records every request
(the self-contained map and the report must make none besides loading the file itself), saves
screenshots and the report's PDF to ``test-artifacts/`` at the repo root (git-ignored).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_results import make_results

from geosuff.publication import maps, report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        msg = "Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("GEOSUFF_REQUIRE_BROWSER"):
            pytest.fail(msg + "; `make test` requires it")
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    res = make_results(tmp_path_factory.mktemp("browser"))
    return {
        "results": res,
        "map": maps.write_map(res, ARTIFACTS / "map_self_contained.html", self_contained=True),
        "map_cdn": maps.write_map(res, ARTIFACTS / "map_cdn.html"),
        "report": report.write_report(res, ARTIFACTS / "report.html"),
    }


class Watch:
    """Console errors, page errors and every request of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def external(self, own: str) -> list[str]:
        return [u for u in self.requests if u != own and not u.startswith("data:")]


def _open(browser: Any, path: Path, *, width: int = 1400, height: int = 900) -> tuple[Any, Watch]:
    page = browser.new_page(viewport={"width": width, "height": height})
    watch = Watch(page)
    page.goto(path.as_uri())
    return page, watch


def test_self_contained_map_works_offline(browser: Any, outputs: dict[str, Any]) -> None:
    res = outputs["results"]
    path: Path = outputs["map"]
    page, watch = _open(browser, path)
    page.wait_for_selector(".leaflet-control-layers-overlays", state="attached")
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "map_self_contained.png"))

    assert watch.errors == []
    assert watch.external(path.as_uri()) == [], "the self-contained map made network requests"

    labels = [
        t.strip()
        for t in page.locator(".leaflet-control-layers-overlays label span span").all_inner_texts()
    ]
    expected = [
        maps.LAYER_NEIGHBOURS,
        maps.LAYER_BOUNDARY,
        maps.LAYER_ACCESS_AREAS,
        maps.LAYER_GAPS,
        maps.LAYER_FLOWS,
        maps.LAYER_CANDIDATES,
        maps.LAYER_CHOSEN,
    ]
    expected += [
        f"{maps.LAYER_CATCHMENT_PREFIX}within {m:g} min by road"
        for m in res.scenario.analysis.minutes
    ]
    expected += [
        maps.LAYER_SITES_PREFIX + lab
        for lab in (
            "Children's home",
            "Foster households (aggregated)",
            "Supported accommodation (16-17)",
            "Care-leaver unit (18-25)",
        )
    ]
    for name in expected:
        assert name in labels, f"layer {name!r} missing from the layer control: {labels}"
    assert any(lab.startswith(maps.LAYER_ACCESS_PREFIX) for lab in labels)

    # what is drawn
    assert page.locator(".gs-site").count() >= 1 + len(
        res.sites["type"].unique()
    )  # markers + legend
    n_cand = int(res.candidates["easting"].notna().sum())
    assert page.locator(".leaflet-marker-pane .gs-cand").count() == n_cand
    assert page.locator("img.leaflet-image-layer").count() == 1
    assert page.evaluate("document.querySelector('img.leaflet-image-layer').naturalWidth") > 10
    assert page.locator("path.leaflet-interactive").count() > 5
    assert page.locator(".gs-synthetic").is_visible()
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert "OpenStreetMap contributors" in page.locator(".leaflet-control-attribution").inner_text()

    # legends: one section per layer family; shown while a layer of it is on
    for key in ("sites", "catchments", "access", "gaps", "candidates", "flows", "areas"):
        assert page.locator(f'.gs-legend-section[data-legend="{key}"]').count() == 1, key
    for key in ("sites", "access", "gaps", "candidates", "catchments"):
        assert page.locator(f'.gs-legend-section[data-legend="{key}"]').is_visible(), key
    assert not page.locator('.gs-legend-section[data-legend="flows"]').is_visible()

    # toggle the flows layer on: its legend appears and lines are drawn
    n_paths = page.locator("path.leaflet-interactive").count()
    page.locator(".leaflet-control-layers").hover()  # the collapsed layer panel opens on hover
    page.locator(".leaflet-control-layers-overlays label", has_text=maps.LAYER_FLOWS).locator(
        "input"
    ).check()
    page.wait_for_timeout(200)
    assert page.locator('.gs-legend-section[data-legend="flows"]').is_visible()
    assert page.locator("path.leaflet-interactive").count() >= n_paths
    # switch the access raster off: its legend goes
    page.locator(
        ".leaflet-control-layers-overlays label", has_text=maps.LAYER_ACCESS_PREFIX
    ).locator("input").uncheck()
    page.wait_for_timeout(200)
    assert not page.locator('.gs-legend-section[data-legend="access"]').is_visible()
    assert page.locator("img.leaflet-image-layer").count() == 0

    page.mouse.move(700, 880)  # leave the layer panel: it folds again
    # the best candidate's popup lists every score component and the reasons
    page.locator(".gs-cand", has_text=re.compile(r"^1$")).first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    page.wait_for_timeout(600)  # let the fade-in and auto-pan finish before the screenshot
    text = popup.inner_text()
    for comp in ("rehoming", "coverage", "clustering", "total", "eligible", "rank"):
        assert comp in text, comp
    page.screenshot(path=str(ARTIFACTS / "map_popup.png"))
    assert watch.errors == []
    assert watch.external(path.as_uri()) == []
    page.close()


def test_map_layer_panel_collapsed_grouped_and_legend_matches_markers(
    browser: Any, outputs: dict[str, Any]
) -> None:
    """Issue 18 item 11: the layer panel opens folded (an icon), lists the layers under their
    groups when opened, and the legend shows every kind of marker on the map, with candidate
    ranks that are real ranks, and covers no marker inside the council."""
    res = outputs["results"]
    path: Path = outputs["map"]
    page, watch = _open(browser, path)
    page.wait_for_selector(".gs-legend")
    page.wait_for_timeout(300)
    ctl = page.locator(".leaflet-control-layers")
    assert "leaflet-control-layers-expanded" not in (ctl.get_attribute("class") or "")
    assert not page.locator(".leaflet-control-layers-list").is_visible()
    box = ctl.bounding_box()
    assert box is not None and box["width"] < 60 and box["height"] < 60, box
    # opened: a heading per group, in order, each followed by its layers
    ctl.hover()
    page.wait_for_timeout(200)
    assert page.locator(".leaflet-control-layers-list").is_visible()
    groups = page.locator(".gs-layer-group").all_inner_texts()
    assert [g.strip().lower() for g in groups] == [g.lower() for g in maps.LAYER_GROUPS], groups
    items = page.evaluate(
        """() => Array.from(document.querySelector('.leaflet-control-layers-overlays').children)
          .map(e => e.classList.contains('gs-layer-group') ? ['group', e.dataset.group]
               : ['layer', (e.querySelector('span span') || e).textContent.trim()])"""
    )
    group = None
    for kind, text in items:
        if kind == "group":
            group = text
        else:
            assert maps.layer_group(text) == group, (text, group)
    page.screenshot(path=str(ARTIFACTS / "map_layers_open.png"))
    page.mouse.move(700, 880)
    page.wait_for_timeout(200)
    assert not page.locator(".leaflet-control-layers-list").is_visible()

    # legend entries = marker kinds drawn
    on_map = set(
        page.locator(".leaflet-marker-pane .gs-site").evaluate_all(
            "es => es.map(e => e.dataset.type)"
        )
    )
    in_legend = set(
        page.locator(".gs-legend .gs-site[data-type]").evaluate_all(
            "es => es.map(e => e.dataset.type)"
        )
    )
    assert on_map == in_legend == {str(t) for t in res.sites["type"].unique()}
    badges = page.locator(".leaflet-marker-pane .gs-badge").count()
    assert (page.locator(".gs-legend .gs-badge").count() == 1) == (badges > 0)
    ranks_map = page.locator(".leaflet-marker-pane .gs-cand").all_inner_texts()
    ranks_legend = page.locator(
        '.gs-legend-section[data-legend="candidates"] .gs-cand'
    ).all_inner_texts()
    real = {t for t in ranks_map if t != "×"}
    shown = [t for t in ranks_legend if t != "×"]
    assert shown and set(shown) <= real, (shown, real)
    assert shown[0] == min(real, key=int) and shown[-1] == max(real, key=int)
    assert ("×" in ranks_legend) == ("×" in ranks_map)
    chosen = page.locator(".leaflet-marker-pane .gs-cand-chosen").count()
    assert (page.locator(".gs-legend .gs-ring").count() == 1) == (chosen > 0)
    # the whole legend is readable without scrolling, and nothing in the council is under it
    sh, ch = page.evaluate(
        "() => { const l = document.querySelector('.gs-legend'); return [l.scrollHeight, l.clientHeight]; }"
    )
    assert sh <= ch + 1, "part of the legend is hidden (scrolls)"
    assert _candidates_under_panels(page) == []
    # a marker partly under another comes to the front on hover
    best = page.locator(".leaflet-marker-pane .gs-cand-icon", has_text=re.compile(r"^1$")).first
    z0 = int(best.evaluate("e => e.style.zIndex"))
    best.hover()
    assert int(best.evaluate("e => e.style.zIndex")) > z0
    page.mouse.move(700, 880)
    # the legend folds away on a click, and comes back
    page.locator(".gs-legend-title").click()
    assert not page.locator('.gs-legend-section[data-legend="sites"]').is_visible()
    page.locator(".gs-legend-title").click()
    assert page.locator('.gs-legend-section[data-legend="sites"]').is_visible()
    # the flows legend names the dot drawn at each placement council
    ctl.hover()
    page.locator(".leaflet-control-layers-overlays label", has_text=maps.LAYER_FLOWS).locator(
        "input"
    ).check()
    page.mouse.move(700, 880)
    page.wait_for_timeout(200)
    assert page.locator('.gs-legend-section[data-legend="flows"] .gs-dot').is_visible()
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    assert watch.errors == []
    page.close()


def _candidates_under_panels(page: Any) -> list[str]:
    """Candidate markers (their rank text) drawn under the legend, title or layer control."""
    sels = (".gs-legend", ".gs-title", ".leaflet-control-layers")
    panels = [b for b in (page.locator(sel).bounding_box() for sel in sels) if b]
    under = []
    for mk in page.locator(".leaflet-marker-pane .gs-cand").all():
        b = mk.bounding_box()
        assert b is not None
        for pb in panels:
            if not (
                b["x"] >= pb["x"] + pb["width"]
                or b["x"] + b["width"] <= pb["x"]
                or b["y"] >= pb["y"] + pb["height"]
                or b["y"] + b["height"] <= pb["y"]
            ):
                under.append(mk.inner_text())
    return under


def test_map_on_a_small_screen_starts_with_the_legend_folded(
    browser: Any, outputs: dict[str, Any]
) -> None:
    """On a 900 x 650 screen the legend opens folded (one button) and the council is fitted
    clear of the panels; a click unfolds the legend."""
    path: Path = outputs["map"]
    page, watch = _open(browser, path, width=900, height=650)
    page.wait_for_selector(".gs-legend")
    page.wait_for_timeout(300)
    assert page.locator(".gs-legend-title").is_visible()
    assert page.locator(".gs-legend-title").get_attribute("aria-expanded") == "false"
    assert not page.locator('.gs-legend-section[data-legend="sites"]').is_visible()
    assert _candidates_under_panels(page) == []
    page.screenshot(path=str(ARTIFACTS / "map_small_screen.png"))
    page.locator(".gs-legend-title").click()
    assert page.locator('.gs-legend-section[data-legend="sites"]').is_visible()
    assert watch.errors == []
    page.close()


def test_default_map_with_tiles(browser: Any, outputs: dict[str, Any]) -> None:
    """The default map (OpenStreetMap background) draws with Leaflet inlined; its only requests
    are tiles, served here by the test (this machine has no internet) as a blank PNG."""
    path: Path = outputs["map_cdn"]
    text = path.read_text(encoding="utf-8")
    assert re.findall(r'<script[^>]+src="([^"]+)"', text) == []
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page)
    blank = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    )
    tiles: list[str] = []

    def serve(route: Any) -> None:
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=blank)

    page.route("https://tile.openstreetmap.org/**", serve)
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-control-layers-overlays", state="attached")
    page.wait_for_timeout(500)
    assert watch.errors == []
    assert tiles, "no background tile was requested"
    assert [
        u
        for u in watch.external(path.as_uri())
        if not u.startswith("https://tile.openstreetmap.org/")
    ] == []
    labels = page.locator(".leaflet-control-layers-overlays label span span").all_inner_texts()
    for name in (maps.LAYER_BOUNDARY, maps.LAYER_GAPS, maps.LAYER_CANDIDATES, maps.LAYER_FLOWS):
        assert name in [t.strip() for t in labels]
    assert page.locator(".leaflet-tile-loaded").count() > 0
    page.screenshot(path=str(ARTIFACTS / "map_with_tiles.png"))
    page.close()


def test_report_in_browser_and_pdf(browser: Any, outputs: dict[str, Any]) -> None:
    path: Path = outputs["report"]
    page, watch = _open(browser, path, width=1200)
    page.wait_for_selector("#summary")
    assert watch.errors == []
    assert watch.external(path.as_uri()) == []
    assert page.locator(".headline").count() == 3
    assert page.locator("svg.gs-chart").count() == 3
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
        assert page.locator(f"section#{sid}").is_visible(), sid
    assert page.locator("table").count() >= 8
    # no table is wider than the page at A4-ish width (print CSS shrinks wide tables)
    page.set_viewport_size({"width": 1200, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "report_top.png"))
    page.locator("#charts").screenshot(path=str(ARTIFACTS / "report_charts.png"))
    page.screenshot(path=str(ARTIFACTS / "report_full.png"), full_page=True)
    page.emulate_media(media="print")
    overflow = page.evaluate(
        "Array.from(document.querySelectorAll('table')).filter(t => t.scrollWidth > document.body.clientWidth + 2).length"
    )
    assert overflow == 0
    pdf = ARTIFACTS / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    n_pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert n_pages >= 3, n_pages
    assert watch.errors == []
    page.close()


#: A4 is 210 mm wide; report.css prints with 12 mm side margins (``@page { margin: 14mm 12mm 16mm }``).
A4_WIDTH_PT = 210 / 25.4 * 72
A4_CONTENT_PX = round((210 - 2 * 12) / 25.4 * 96)  # 703 px at 96 dpi

_OVERFLOW_JS = """() => {
  const body = document.body.getBoundingClientRect();
  return {
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    scrolling: Array.from(document.querySelectorAll('.table-wrap'))
      .filter(d => d.scrollWidth > d.clientWidth + 1).length,
    past_body: Array.from(document.querySelectorAll('table, pre, svg, figure'))
      .filter(e => e.getBoundingClientRect().right > body.right + 1).length,
  };
}"""


def test_report_tables_fit_screen_and_a4_print(browser: Any, outputs: dict[str, Any]) -> None:
    """No table scrolls sideways on screen, and printed to A4 every page's content is within the
    page width: laid out in print media at the A4 content width (793 px less the margins) nothing
    is wider than the page, and the PDF's pages are A4 wide (MediaBox)."""
    path: Path = outputs["report"]
    page, watch = _open(browser, path, width=1200)
    page.wait_for_selector("#summary")
    for width in (1200, 900):
        page.set_viewport_size({"width": width, "height": 900})
        r = page.evaluate(_OVERFLOW_JS)
        assert r["scrolling"] == 0, f"{r['scrolling']} tables scroll sideways at {width} px"
        assert r["scroll"] <= r["client"], (width, r)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1100})
    r = page.evaluate(_OVERFLOW_JS)
    assert r["scroll"] <= r["client"] == A4_CONTENT_PX, f"printed report wider than A4: {r}"
    assert r["scrolling"] == 0 and r["past_body"] == 0, r
    page.screenshot(path=str(ARTIFACTS / "report_print_a4.png"), full_page=True)
    pdf = ARTIFACTS / "report_a4.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    data = pdf.read_bytes()
    boxes = re.findall(
        rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data
    )
    n_pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert n_pages >= 3 and len(boxes) >= n_pages, (n_pages, len(boxes))
    for box in boxes:
        x0, _, x1, _ = (float(v) for v in box)
        assert abs((x1 - x0) - A4_WIDTH_PT) < 1.5, f"PDF page {x1 - x0:.1f} pt wide, not A4"
    assert watch.errors == []
    page.close()


@pytest.mark.slow
def test_the_demo_outputs_in_the_browser(browser: Any, demo_results: Any) -> None:
    """The files `geosuff demo` writes (real pipeline, not the fixture) open without an error."""
    out = demo_results.out_dir
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page)
    blank = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    )
    page.route(
        "https://tile.openstreetmap.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=blank),
    )
    page.goto((out / "map.html").as_uri())
    page.wait_for_selector(".leaflet-control-layers-overlays", state="attached")
    page.wait_for_timeout(500)
    labels = [
        t.strip()
        for t in page.locator(".leaflet-control-layers-overlays label span span").all_inner_texts()
    ]
    for name in (
        maps.LAYER_BOUNDARY,
        maps.LAYER_GAPS,
        maps.LAYER_CANDIDATES,
        maps.LAYER_CHOSEN,
        maps.LAYER_FLOWS,
    ):
        assert name in labels, name
    assert any(lab.startswith(maps.LAYER_CATCHMENT_PREFIX) for lab in labels)
    assert page.locator('.gs-legend-section[data-legend="gaps"]').is_visible()
    n_cand = int(demo_results.candidates["easting"].notna().sum())
    assert page.locator(".leaflet-marker-pane .gs-cand").count() == n_cand
    page.screenshot(path=str(ARTIFACTS / "demo_map.png"))
    assert watch.errors == []
    page.goto((out / "report.html").as_uri())
    page.wait_for_selector("#summary")
    assert page.locator(".headline").count() == 3
    assert page.locator("#gaps table").count() == 1  # the demo has a published gap area
    page.screenshot(path=str(ARTIFACTS / "demo_report.png"), full_page=True)
    for width in (1200, 800):  # no table scrolls sideways (the demo has long ids and reasons)
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(_OVERFLOW_JS)["scrolling"] == 0, width
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1100})
    r = page.evaluate(_OVERFLOW_JS)
    assert r["scroll"] <= r["client"] and r["scrolling"] == 0 and r["past_body"] == 0, r
    page.screenshot(path=str(ARTIFACTS / "demo_report_print_a4.png"), full_page=True)
    # the demo's candidates tie (1, 1, 3, ...): the map legend shows only ranks they have
    page.goto((out / "map.html").as_uri())
    page.wait_for_selector(".gs-legend")
    marks = set(page.locator(".leaflet-marker-pane .gs-cand").all_inner_texts())
    shown = page.locator('.gs-legend-section[data-legend="candidates"] .gs-cand').all_inner_texts()
    assert shown and set(shown) <= marks, (shown, marks)
    assert watch.errors == []
    page.close()


@pytest.mark.slow
def test_offline_demo_map_draws_the_roads_basemap_with_no_request(
    browser: Any, demo_results: Any
) -> None:
    """The demo map, self-contained with ``basemap = "roads"``: roads and place names drawn from
    the Rutland extract, every non-file request blocked and none attempted.
    """
    import dataclasses

    from geosuff.network import build_graph
    from geosuff.publication.maps.basemap import basemap_extent, build_basemap

    network = demo_results.scenario.inputs.network
    bm = build_basemap(build_graph(network), network, basemap_extent(demo_results.boundary))
    res = dataclasses.replace(demo_results, basemap=bm)
    ARTIFACTS.mkdir(exist_ok=True)
    path = maps.write_map(res, ARTIFACTS / "offline_map.html", self_contained=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page)
    blocked: list[str] = []

    def only_files(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_files)
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-gsBasemap-pane path", state="attached")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "offline_map.png"))
    assert blocked == [], "the offline map tried the network"
    assert watch.external(path.as_uri()) == []
    assert watch.errors == []
    roads = page.locator(".leaflet-gsBasemap-pane path")
    assert roads.count() >= 4  # trunk, primary, secondary, tertiary (minor from zoom 12)
    assert roads.first.is_visible()
    box = page.locator(".leaflet-gsBasemap-pane svg").bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 300
    towns = page.locator(".leaflet-gsPlaces-pane .gs-place-town")
    assert towns.count() >= 2 and towns.first.is_visible()
    assert "Oakham" in towns.all_inner_texts()
    page.close()
