"""The HTML map: layers, generalisation, disclosure, offline variant (no browser needed here)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_results import forbidden_strings, make_results

from geosuff.publication import disclosure, maps


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory):
    return make_results(tmp_path_factory.mktemp("maps"))


@pytest.fixture(scope="module")
def html_sc(res, tmp_path_factory: pytest.TempPathFactory) -> str:
    p = maps.write_map(res, tmp_path_factory.mktemp("m") / "map.html", self_contained=True)
    return p.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def html_cdn(res, tmp_path_factory: pytest.TempPathFactory) -> str:
    p = maps.write_map(res, tmp_path_factory.mktemp("m") / "map_cdn.html")
    return p.read_text(encoding="utf-8")


def test_generalise_points_to_1km_square_centres() -> None:
    e, n = maps.generalise_points([486231.0, 486999.0, np.nan], [309529.0, 309000.0, 1.0])
    assert e[:2].tolist() == [486500.0, 486500.0]
    assert n[:2].tolist() == [309500.0, 309500.0]
    assert np.isnan(e[2])


def test_published_geojson_rounds_every_coordinate(res) -> None:
    gj = maps.published_geojson(res.areas, ["area_id"])
    assert len(gj["features"]) == len(res.areas)
    text = str(gj)
    decimals = [len(x) for x in re.findall(r"\.(\d+)", text)]
    assert max(decimals) <= maps.COORD_DECIMALS


def test_every_layer_is_in_the_map(res, html_sc: str) -> None:
    for name in (
        maps.LAYER_BOUNDARY,
        maps.LAYER_NEIGHBOURS,
        maps.LAYER_GAPS,
        maps.LAYER_CANDIDATES,
        maps.LAYER_CHOSEN,
        maps.LAYER_FLOWS,
        maps.LAYER_ACCESS_AREAS,
    ):
        assert f'"{name}"' in html_sc, name
    for mins in res.scenario.analysis.minutes:
        assert f"{maps.LAYER_CATCHMENT_PREFIX}within {mins:g} min by road" in html_sc
    assert maps.LAYER_SITES_PREFIX + "Children's home" in html_sc.replace("\\u0027", "'")
    assert maps.LAYER_ACCESS_PREFIX in html_sc
    assert "data:image/png;base64," in html_sc  # the raster overlay
    for key in ("sites", "catchments", "access", "gaps", "candidates", "flows", "areas"):
        assert f'data-legend=\\"{key}\\"' in html_sc or f'data-legend="{key}"' in html_sc, key
    assert "SYNTHETIC DATA" in html_sc
    assert "OpenStreetMap contributors" in html_sc and "Crown" in html_sc


def test_self_contained_has_no_remote_resource(html_sc: str) -> None:
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html_sc)
    assert "Leaflet 1.9.3" in html_sc  # inlined
    assert "tile.openstreetmap" not in html_sc
    assert "url(images/" not in html_sc


def test_default_map_inlines_leaflet_and_adds_tiles(html_cdn: str) -> None:
    # Leaflet is inlined in every map (works where CDNs are blocked); only the tiles are remote
    assert "cdn.jsdelivr.net" not in html_cdn
    assert re.findall(r"<script[^>]+src=", html_cdn) == []
    assert "Leaflet 1.9.3" in html_cdn and "leaflet.fullscreen 3.0.0" in html_cdn
    assert "tile.openstreetmap.org" in html_cdn
    assert "jquery" not in html_cdn.lower()  # popups are bound without jQuery


def test_map_is_deterministic(res, tmp_path: Path) -> None:
    a = maps.render_map(res, self_contained=True)
    b = maps.render_map(res, self_contained=True)
    assert a == b


def test_no_child_level_string_in_map(res, html_sc: str, html_cdn: str, tmp_path: Path) -> None:
    forbidden = forbidden_strings(res)
    assert len(forbidden) > 100
    for text in (html_sc, html_cdn):
        p = tmp_path / "x.html"
        p.write_text(text, encoding="utf-8")
        assert disclosure.check_published_file(p, forbidden) == []
    # site markers sit at 1 km square centres, never at a site's own location
    s = res.sites
    e, n = s["easting"].to_numpy(float), s["northing"].to_numpy(float)
    ge, gn = maps.generalise_points(e, n)
    lon, lat = maps.to_lonlat(e, n)
    glon, glat = maps.to_lonlat(ge, gn)
    moved = (lon != glon) | (lat != glat)
    assert moved.any()
    for x, y in zip(lon[moved], lat[moved], strict=True):
        assert f"[{y}, {x}]" not in html_sc
    for x, y in zip(glon, glat, strict=True):
        assert f"[{y}, {x}]" in html_sc


def test_small_flows_are_not_drawn(res) -> None:
    from geosuff.publication import ledger as publish

    pub = publish.build(res)
    lines, summary = pub.flows, pub.flows_summary
    led = pub.ledger
    mc = res.scenario.disclosure.min_count
    # every drawn flow has at least min_count children (its band says so, the count may be "c")
    assert len(lines) and all(b in {"5–9", "10–19", "20–49", "50+"} for b in lines["band"])
    assert all(v == "c" or int(v) >= mc for v in lines["children"])
    # the children drawn, inside and not drawn add up to every child counted
    m = res.measures
    counted = int((m["status"] != "excluded").sum()) if "status" in m else len(m)
    drawn = [
        led.count(h)
        for h in range(len(led.members))
        if any(
            lab.startswith("flows: ") and " -> " in lab and not lab.endswith(" far")
            for lab in led.labels[h]
        )
    ]
    inside = int((m["placement_la"] == res.scenario.council).sum())
    assert summary["inside"] in {str(inside), "c"}
    assert summary["other"] in {str(counted - inside - sum(drawn)), "c"}
    # line widths come from bands, never from the exact count
    assert set(lines["width"]) <= {w for *_, w in publish.FLOW_BANDS}


def test_map_without_optional_tables(tmp_path: Path, res) -> None:
    minimal = make_results(tmp_path, optional=False)
    text = maps.render_map(minimal, self_contained=True)
    assert "Not available in this run" in text
    assert maps.LAYER_BOUNDARY in text
    assert maps.LAYER_GAPS not in text


def test_candidate_popup_shows_components_not_postcode(res, html_sc: str) -> None:
    c = res.candidates
    for comp in ("rehoming", "coverage", "access", "clustering", "total score", "eligible", "rank"):
        assert f"<th>{comp}</th>" in html_sc.replace("\\u003c", "<").replace(
            "\\u003e", ">"
        ).replace("\\/", "/")
    for pc in c["postcode"].dropna():
        assert pc not in html_sc


def test_raster_overlay_is_aligned_and_coloured(res) -> None:
    path = next(iter(res.rasters.values()))
    png, bounds = maps.raster_overlay(
        path, breaks=[15, 30, 45, 60], colours=maps.ACCESS_COLOURS[:5]
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (s, w), (n, e) = bounds
    assert s < n and w < e
    assert all(round(v, 3) == v for v in (s, w, n, e))
    b = res.boundary.to_crs(4326).total_bounds
    assert w <= b[0] + 0.01 and e >= b[2] - 0.01 and s <= b[1] + 0.01 and n >= b[3] - 0.01


def test_sites_outside_status_used_are_not_drawn(res, tmp_path: Path) -> None:
    r = make_results(tmp_path)
    sites = r.sites.copy()
    sites["status"] = "excluded"
    r.sites = pd.concat([r.sites, sites.assign(site_id="ZZ_EXCLUDED")], ignore_index=True)
    text = maps.render_map(r, self_contained=True)
    assert "ZZ_EXCLUDED" not in text


def _raise_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way of reading a boundaries file fail (publication must use Results only)."""
    from geosuff.analysis import distance
    from geosuff.inputs import Boundaries
    from geosuff.inputs import boundaries as binputs

    def boom(*_a, **_k):
        raise AssertionError("publication read a boundaries file")

    monkeypatch.setattr(Boundaries, "load", classmethod(boom))
    monkeypatch.setattr(binputs, "_load_boundaries_cached", boom)
    monkeypatch.setattr(distance, "prepare_boundaries", boom)
    monkeypatch.setattr(distance, "adjacent_las", boom)


def test_map_draws_neighbours_from_results_not_the_shipped_file(
    res, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import geopandas as gpd
    import shapely

    from geosuff.publication import ledger as publish
    from geosuff.reference import BNG

    # boundaries that differ from the shipped file: one made-up neighbour east of the council
    minx, miny, maxx, maxy = res.boundary.to_crs(BNG).total_bounds
    fake = gpd.GeoDataFrame(
        {"code": ["E99999999"], "name": ["Testshire Neighbour"]},
        geometry=[shapely.box(maxx, miny, maxx + 20_000, maxy)],
        crs=BNG,
    )
    centres = {
        code: (maxx + 10_000.0, (miny + maxy) / 2)
        for code in res.measures["placement_la"].dropna().astype(str).unique()
    }
    custom = dataclasses.replace(res, neighbours=fake, la_centres=centres)
    _raise_boundaries(monkeypatch)
    text = maps.build_map(custom, self_contained=True).get_root().render()
    assert maps.LAYER_NEIGHBOURS in text
    assert "Testshire Neighbour" in text
    # the neighbour layer holds exactly the Results neighbours, none of the shipped file's
    assert re.findall(r'"code": ?"(E\d{8})"', text) == ["E99999999"]
    pub = publish.build(custom)
    assert len(pub.flows)  # flow lines end at Results.la_centres, not at the shipped LA centres
    assert all(abs(float(e) - (maxx + 10_000.0)) < 1 for e in pub.flows["to_e"])


def test_map_without_neighbours_in_results_reads_no_file(
    res, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    _raise_boundaries(monkeypatch)
    text = (
        maps.build_map(dataclasses.replace(res, neighbours=None), self_contained=True)
        .get_root()
        .render()
    )
    assert maps.LAYER_NEIGHBOURS not in text
    assert maps.LAYER_BOUNDARY in text


def test_pipeline_neighbours_come_from_the_scenario_boundaries() -> None:
    import geopandas as gpd
    import shapely

    from geosuff.inputs import Boundaries
    from geosuff.pipeline import neighbours_and_centres
    from geosuff.reference import BNG

    shipped = Boundaries.load().gdf
    rut = shipped[shipped["code"] == "E06000017"]
    minx, miny, maxx, maxy = rut.total_bounds
    # a scenario boundaries set: Rutland plus one made-up LA touching it, nothing else
    own = gpd.GeoDataFrame(
        {"code": ["E06000017", "E99999999"], "name": ["Rutland", "Testshire"]},
        geometry=[rut.geometry.iloc[0], shapely.box(maxx - 100, miny, maxx + 20_000, maxy)],
        crs=BNG,
    )
    nb, centres = neighbours_and_centres("E06000017", Boundaries(own))
    assert list(nb["code"]) == ["E99999999"]
    assert set(centres) == {"E06000017", "E99999999"}


def test_legend_ranks_are_ranks_a_candidate_has() -> None:
    """Issue 18 item 11: with tied ranks (1, 1, 3, 3, 5, 6, ...) the legend must not invent 2 or
    4; it shows the best, the last and real ranks between."""
    assert maps.legend_ranks(pd.Series([1, 1, 3, 3, 5, 6, 6, 6])) == [1, 3, 5, 6]
    assert maps.legend_ranks(pd.Series([float(r) for r in range(1, 13)])) == [1, 4, 7, 9, 12]
    assert maps.legend_ranks(pd.Series([np.nan, 2.0])) == [2]
    assert maps.legend_ranks(pd.Series([], dtype=float)) == []


def test_map_legend_lists_real_ranks_and_groups_layers(tmp_path: Path) -> None:
    r = make_results(tmp_path)
    c = r.candidates.copy()
    ties = [1, 1, 3, 3, 5, 6, 6, 6, 6, 6, 6, 6][: len(c)]
    c["rank"] = ties + list(range(len(ties) + 1, len(c) + 1))
    r.candidates = c
    text = maps.render_map(r, self_contained=True)
    plain = text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")
    plain = plain.replace('\\"', '"').replace("\\/", "/")
    legend = plain[plain.index('data-legend="candidates"') :]
    legend = legend[: legend.index("</section>")]
    shown = [int(v) for v in re.findall(r'gs-cand-sm" style="[^"]+">(\d+)</span>', legend)]
    real = {int(v) for v in pd.to_numeric(c["rank"], errors="coerce").dropna()}
    assert shown and set(shown) <= real and 2 not in shown and 4 not in shown, shown
    # every candidate is eligible in the fixture, so the legend has no "not eligible" entry
    if c["eligible"].fillna(False).astype(bool).all():
        assert "not eligible" not in legend
    # the layer control opens folded, with its overlays grouped
    assert '"collapsed": true' in text
    for g in maps.LAYER_GROUPS:
        assert g in plain.replace("\\u0027", "'"), g
    assert maps.layer_group(maps.LAYER_CHOSEN) == maps.GROUP_CANDIDATES
    assert maps.layer_group(maps.LAYER_SITES_PREFIX + "Children's home") == maps.GROUP_PROVISION
