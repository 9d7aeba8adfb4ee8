"""The offline basemap (``[output] basemap = "roads"``) built from the Rutland extract."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from geosuff._errors import ConfigError
from geosuff.config import OutputConfig
from geosuff.publication import maps
from geosuff.publication.maps.basemap import (
    basemap_extent,
    basemap_geojson,
    build_basemap,
    read_places,
)

RUTLAND = Path(str(resources.files("geosuff") / "data" / "rutland-latest.osm.pbf"))
#: The Rutland demo's inlined basemap must stay small (bytes of GeoJSON).
MAX_BYTES = 1_500_000


@pytest.fixture(scope="module")
def rutland() -> dict[str, Any]:
    from geosuff.inputs import Boundaries
    from geosuff.network import build_graph

    b = Boundaries.load()
    boundary = b.gdf[b.gdf["code"] == "E06000017"]
    graph = build_graph(RUTLAND)
    extent = basemap_extent(boundary)
    return {"graph": graph, "extent": extent, "basemap": build_basemap(graph, RUTLAND, extent)}


def test_basemap_has_the_main_road_classes_and_towns(rutland: dict[str, Any]) -> None:
    bm = rutland["basemap"]
    assert str(bm.crs).endswith("27700")
    roads = set(bm.loc[bm["kind"] == "road", "cls"])
    assert {"trunk", "primary", "secondary", "tertiary", "minor"} <= roads  # A1, A47, A606 ...
    places = bm[bm["kind"] == "place"]
    assert {"Oakham", "Uppingham"} <= set(places.loc[places["cls"] == "town", "name"])
    assert (places["cls"] == "village").sum() > 20
    minx, miny, maxx, maxy = rutland["extent"]
    x0, y0, x1, y1 = bm.total_bounds
    assert x0 >= minx - 1 and y0 >= miny - 1 and x1 <= maxx + 1 and y1 <= maxy + 1


def test_basemap_geojson_is_wgs84_rounded_and_small(rutland: dict[str, Any]) -> None:
    gj = basemap_geojson(rutland["basemap"])
    text = json.dumps(gj, separators=(",", ":"))
    assert len(text) < MAX_BYTES, f"{len(text) / 1024:.0f} kB"

    def points(c: Any) -> Any:
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for sub in c:
                yield from points(sub)

    for f in gj["features"]:
        for lon, lat in points(f["geometry"]["coordinates"]):
            assert -1.2 < lon < 0.0 and 52.3 < lat < 53.0, (lon, lat)  # around Rutland
            assert round(lon, 5) == lon and round(lat, 5) == lat
    assert {f["properties"]["n"] for f in gj["features"] if "n" in f["properties"]} >= {"Oakham"}


def test_places_outside_the_extent_are_left_out(rutland: dict[str, Any]) -> None:
    minx, miny, _, _ = rutland["extent"]
    assert read_places(RUTLAND, (minx, miny, minx + 1.0, miny + 1.0)) == []


def test_basemap_key_defaults_and_refuses_osm_tiles_offline() -> None:
    assert OutputConfig().background == "osm"
    assert OutputConfig(self_contained=True).background == "roads"
    assert OutputConfig(basemap="none").background == "none"
    with pytest.raises(ValueError, match="self_contained"):
        OutputConfig(self_contained=True, basemap="osm")


def test_basemap_osm_with_self_contained_is_a_config_error(tmp_path: Path) -> None:
    from geosuff.config import load_config

    cfg = tmp_path / "s.toml"
    cfg.write_text(
        'council = "E06000017"\n[inputs]\nplacements = "p.csv"\nsites = "s.csv"\n'
        '[output]\nself_contained = true\nbasemap = "osm"\n'
    )
    with pytest.raises(ConfigError, match="basemap"):
        load_config(cfg)


def test_map_inlines_the_basemap_with_no_remote_reference(
    tmp_path: Path, rutland: dict[str, Any]
) -> None:
    from fixtures_results import make_results

    res = dataclasses.replace(make_results(tmp_path), basemap=rutland["basemap"])
    html = maps.render_map(res, self_contained=True)
    assert "gsBasemap" in html and "Oakham" in html and "tile.openstreetmap" not in html
    plain = maps.render_map(res, self_contained=True, basemap="none")
    assert "gsBasemap" not in plain
    tiles = maps.render_map(res)  # the fixture's scenario is not self-contained: tiles
    assert "tile.openstreetmap" in tiles and "gsBasemap" not in tiles
