"""The offline basemap: the map's background drawn from the run's own OpenStreetMap extract.

``[output] basemap = "roads"`` (the default when ``self_contained = true``) draws the main roads
by class and the names of cities, towns and villages from the road graph and the extract the run
used, inlined in ``map.html`` as a small GeoJSON layer: no tile server, no network request.

:func:`build_basemap` makes the layer in EPSG:27700 (the pipeline stores it on
:attr:`geosuff.results.Results.basemap`); :func:`basemap_geojson` converts it to WGS84 at the map
boundary and :func:`add_basemap` draws it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import osmium
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from geosuff._errors import NetworkError
from geosuff.publication.maps.style import _TO_WGS84, COORD_DECIMALS
from geosuff.reference import BNG

if TYPE_CHECKING:
    from geosuff.network import RoadGraph
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: Road classes drawn, most important first (``*_link`` roads join their class; "minor" is
#: unclassified, residential and living-street roads, drawn from :data:`MINOR_MIN_ZOOM` on).
ROAD_CLASSES: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary", "tertiary", "minor")
_MINOR = frozenset({"unclassified", "residential", "living_street"})
#: OSM ``place`` values named on the map.
PLACE_KINDS: tuple[str, ...] = ("city", "town", "village")
#: Generalisation of the road lines (metres, Douglas-Peucker).
BASEMAP_SIMPLIFY_M = 30.0
#: Margin around the council's bounding box that the basemap covers (metres).
BASEMAP_MARGIN_M = 15_000.0
#: Line colour and width (px) of each road class.
ROAD_STYLE: dict[str, tuple[str, float]] = {
    "motorway": ("#c2456b", 3.0),
    "trunk": ("#d0652f", 2.6),
    "primary": ("#d99a2b", 2.2),
    "secondary": ("#8f8550", 1.7),
    "tertiary": ("#7d7d7d", 1.2),
    "minor": ("#9a9a9a", 0.7),
}
#: Minor roads are drawn only from this zoom level on.
MINOR_MIN_ZOOM = 12
#: Villages are named only from this zoom level on (cities and towns always).
VILLAGE_MIN_ZOOM = 11


def basemap_extent(
    boundary: gpd.GeoDataFrame, *, margin_m: float = BASEMAP_MARGIN_M
) -> tuple[float, float, float, float]:
    """The box the basemap covers: the council's bounds plus ``margin_m`` (EPSG:27700 metres)."""
    b = boundary.to_crs(BNG) if boundary.crs is not None else boundary.set_crs(BNG)
    minx, miny, maxx, maxy = (float(v) for v in b.total_bounds)
    return (minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)


def _road_lines(
    graph: RoadGraph, extent: tuple[float, float, float, float], simplify_m: float
) -> list[tuple[str, Any]]:
    """One merged, clipped and simplified (Multi)LineString per road class present."""
    hw = np.asarray(
        ["minor" if h in _MINOR else str(h).removesuffix("_link") for h in graph.highway],
        dtype=object,
    )
    u = np.asarray(graph.u, dtype=np.int64)
    v = np.asarray(graph.v, dtype=np.int64)
    a, b = np.minimum(u, v), np.maximum(u, v)
    out: list[tuple[str, Any]] = []
    for cls in ROAD_CLASSES:
        sel = hw == cls
        if not sel.any():
            continue
        pairs = np.unique(np.stack([a[sel], b[sel]], axis=1), axis=0)
        coords = np.stack(
            [
                np.stack([graph.x[pairs[:, 0]], graph.y[pairs[:, 0]]], axis=1),
                np.stack([graph.x[pairs[:, 1]], graph.y[pairs[:, 1]]], axis=1),
            ],
            axis=1,
        )
        lines = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(coords)))
        lines = shapely.simplify(shapely.clip_by_rect(lines, *extent), simplify_m)
        if not lines.is_empty:
            out.append((cls, lines))
    return out


def read_places(
    osm_path: str | Path, extent: tuple[float, float, float, float]
) -> list[tuple[str, str, float, float]]:
    """Named ``place=city|town|village`` nodes of an OSM file inside ``extent`` (EPSG:27700).

    Returns
    -------
    list of (kind, name, easting, northing)
        Sorted by kind (cities first) then name.
    """
    path = Path(osm_path)
    found: list[tuple[str, str, float, float]] = []
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
            osmium.filter.KeyFilter("place")
        )
        for node in fp:
            if not isinstance(node, osmium.osm.Node):
                continue
            kind = node.tags.get("place")
            name = node.tags.get("name")
            if kind in PLACE_KINDS and name and node.location.valid():
                found.append((kind, name, node.location.lon, node.location.lat))
    except (RuntimeError, OSError, ValueError) as exc:
        raise NetworkError(
            f"Cannot read the place names of the OpenStreetMap file {path}: {exc}.",
            fix='Check the file is a complete extract, or set [output] basemap = "none".',
        ) from exc
    if not found:
        return []
    from pyproj import Transformer

    to_bng = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
    x, y = to_bng.transform([f[2] for f in found], [f[3] for f in found])
    minx, miny, maxx, maxy = extent
    rows = [
        (k, n, float(e), float(nn))
        for (k, n, _, _), e, nn in zip(found, x, y, strict=True)
        if minx <= e <= maxx and miny <= nn <= maxy
    ]
    return sorted(rows, key=lambda r: (PLACE_KINDS.index(r[0]), r[1]))


def build_basemap(
    graph: RoadGraph,
    osm_path: str | Path | None,
    extent: tuple[float, float, float, float],
    *,
    simplify_m: float = BASEMAP_SIMPLIFY_M,
) -> gpd.GeoDataFrame:
    """The offline basemap of a run: main roads by class and place names, in EPSG:27700.

    Parameters
    ----------
    graph : RoadGraph
        The run's road graph (its ``highway`` classes and node coordinates).
    osm_path : str or Path or None
        The OSM extract the graph was built from (place names); None draws roads only.
    extent : tuple of float
        ``(minx, miny, maxx, maxy)`` in EPSG:27700 metres (see :func:`basemap_extent`).
    simplify_m : float
        Generalisation tolerance of the road lines in metres.

    Returns
    -------
    GeoDataFrame
        Columns ``kind`` ("road" or "place"), ``cls`` (road class or place kind), ``name``
        (places only) and geometry (lines or points), CRS EPSG:27700.
    """
    rows: list[dict[str, Any]] = [
        {"kind": "road", "cls": cls, "name": "", "geometry": geom}
        for cls, geom in _road_lines(graph, extent, simplify_m)
    ]
    if osm_path is not None:
        rows += [
            {"kind": "place", "cls": k, "name": n, "geometry": shapely.Point(e, nn)}
            for k, n, e, nn in read_places(osm_path, extent)
        ]
    gdf = gpd.GeoDataFrame(rows, columns=["kind", "cls", "name", "geometry"], crs=BNG)
    logger.info(
        "basemap: %d road classes, %d place names",
        int((gdf["kind"] == "road").sum()),
        int((gdf["kind"] == "place").sum()),
    )
    return gdf


def _rounded(coords: Any) -> Any:
    """Nested coordinates with every number rounded to :data:`COORD_DECIMALS`."""
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DECIMALS) for c in coords]
    return [_rounded(c) for c in coords]


def basemap_geojson(basemap: gpd.GeoDataFrame) -> dict[str, Any]:
    """The basemap as a WGS84 GeoJSON FeatureCollection (coordinates to 5 dp).

    Properties: ``c`` (road class or place kind) and, for places, ``n`` (name).
    """
    features: list[dict[str, Any]] = []
    for kind, cls, name, geom in basemap[["kind", "cls", "name", "geometry"]].itertuples(
        index=False
    ):
        g = shapely.transform(geom, lambda xy: np.column_stack(_TO_WGS84.transform(*xy.T)))
        gj = shapely.geometry.mapping(g)
        props: dict[str, str] = {"c": str(cls)}
        if kind == "place":
            props["n"] = str(name)
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": gj["type"], "coordinates": _rounded(gj["coordinates"])},
            }
        )
    return {"type": "FeatureCollection", "features": features}


class _Basemap(MacroElement):
    """Roads and place names in panes over the shaded areas (so they show through the travel-time
    colours) and under the markers; neither takes a click.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }};
          var roads = map.createPane('gsBasemap'); roads.style.zIndex = 410;
          roads.style.pointerEvents = 'none';
          var labels = map.createPane('gsPlaces'); labels.style.zIndex = 450;
          labels.style.pointerEvents = 'none';
          var styles = {{ this.styles|tojson }};
          var data = {{ this.data }};
          function lines(minor){ return L.geoJSON(data, {
            pane: 'gsBasemap', interactive: false,
            filter: function(f){ return f.geometry.type !== 'Point' &&
              (f.properties.c === 'minor') === minor; },
            style: function(f){ var s = styles[f.properties.c] || ['#cccccc', 1];
              return {color: s[0], weight: s[1], opacity: 0.75, lineCap: 'round',
                className: 'gs-road gs-road-' + f.properties.c}; }
          }); }
          var minor = lines(true);
          lines(false).addTo(map);
          data.features.forEach(function(f){
            if (f.geometry.type !== 'Point') return;
            var c = f.geometry.coordinates, el = document.createElement('span');
            el.textContent = f.properties.n;
            L.marker([c[1], c[0]], {pane: 'gsPlaces', interactive: false, keyboard: false,
              icon: L.divIcon({className: 'gs-place gs-place-' + f.properties.c,
                html: el.outerHTML, iconSize: null})}).addTo(map);
          });
          function zoomed(){ var z = map.getZoom();
            map.getContainer().classList.toggle('gs-zoom-low', z < {{ this.village_zoom }});
            if (z >= {{ this.minor_zoom }}) { minor.addTo(map); } else { minor.remove(); } }
          map.on('zoomend', zoomed); zoomed();
        })();
        {% endmacro %}"""
    )

    def __init__(self, data: str, styles: dict[str, tuple[str, float]]) -> None:
        super().__init__()
        self._name = "Basemap"
        self.data = data
        self.styles = styles
        self.village_zoom = VILLAGE_MIN_ZOOM
        self.minor_zoom = MINOR_MIN_ZOOM


_BASEMAP_CSS = """
.gs-place { white-space: nowrap; font: 11px/1.2 system-ui, sans-serif; color: #555;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff; }
.gs-place span { display: inline-block; transform: translate(-50%, -50%); }
.gs-place-city, .gs-place-town { font-size: 13px; font-weight: 600; color: #333; }
.gs-zoom-low .gs-place-village { display: none; }
"""


def add_basemap(m: folium.Map, basemap: gpd.GeoDataFrame | None) -> int:
    """Draw the offline basemap on ``m``; returns the bytes it adds to the HTML (0 if none).

    Parameters
    ----------
    m : folium.Map
        The map (the basemap goes under every overlay).
    basemap : GeoDataFrame or None
        From :func:`build_basemap`; None or empty draws nothing.

    Returns
    -------
    int
        Size of the inlined GeoJSON in bytes (logged in kB).
    """
    if basemap is None or basemap.empty:
        return 0
    data = json.dumps(basemap_geojson(basemap), separators=(",", ":"), ensure_ascii=False)
    data = data.replace("</", "<\\/")
    m.get_root().header.add_child(Element(f"<style>{_BASEMAP_CSS}</style>"), name="gs_basemap_css")  # type: ignore[attr-defined]
    _Basemap(data, ROAD_STYLE).add_to(m)
    size = len(data.encode("utf-8"))
    logger.info("map basemap (roads and place names from the OSM extract): %.0f kB", size / 1024)
    return size


def add_background(
    m: folium.Map, results: Results, *, self_contained: bool, basemap: str | None = None
) -> str:
    """Add the map's background and return which one was drawn ("roads", "osm" or "none").

    Parameters
    ----------
    m : folium.Map
        The map.
    results : Results
        The run (its ``[output] basemap`` setting and :attr:`~geosuff.results.Results.basemap`).
    self_contained : bool
        No network request: OpenStreetMap tiles are replaced by the offline basemap.
    basemap : {"roads", "osm", "none"}, optional
        Overrides the scenario's ``[output] basemap``.

    Returns
    -------
    str
        The background drawn: "roads" only when the run has a basemap layer.
    """
    wanted = basemap or results.scenario.output.background
    if self_contained and wanted == "osm":
        wanted = "roads"
    if wanted == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True, opacity=0.6).add_to(m)
        return "osm"
    if wanted == "roads":
        if add_basemap(m, results.basemap):
            return "roads"
        logger.info(
            "map: no offline basemap in this run (no road network, or travel estimated): plain background"
        )
    return "none"
