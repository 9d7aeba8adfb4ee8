"""The interactive HTML map of a run (folium / Leaflet).

Layers (each a named overlay in the layer control, see :data:`LAYER_NAMES`):

* the council boundary and its neighbouring councils;
* provision sites by type, **generalised**: every site is drawn at the centre of the 1 km British
  National Grid square that contains it (:data:`GENERALISE_M`), one marker per square and type,
  with places, spare places and Ofsted ratings; never a name or address;
* served areas (catchments) per travel-time threshold, one overlay per threshold;
* the access-time raster(s) as image overlays, warped to Web Mercator and coloured in the
  threshold bands (so a site's own cell is never singled out);
* gap areas as a choropleth of the *band* of far-placed children (never the count);
* candidate properties coloured by rank, popups with every score component and the reasons,
  and the chosen set highlighted;
* aggregated placement flows (home area → placement LA), drawn only for flows of at least
  ``min_count`` children, line width by band; smaller flows are merged (see
  :func:`geosuff.publish.build`: every count on the map is one of the run's published figures).

Disclosure rules for the map (stated on the map and in the report):

* no child-level point, postcode or id is written; all lon/lat in the file are rounded to
  :data:`COORD_DECIMALS` decimals (about 70–110 m) so no coordinate can reproduce a postcode
  location to 4 or more decimals;
* counts of children appear only through :mod:`geosuff.disclosure` (suppressed below
  ``min_count``) or as bands.

Leaflet 1.9.3 and leaflet.fullscreen (vendored in ``geosuff/templates``, see ``VENDOR.md``) are
always inlined, with their images as ``data:`` URIs, so the map draws with no internet and where
CDNs are blocked; by default an OpenStreetMap tile background is added (it needs a network and
degrades to a plain background without one). ``self_contained=True`` leaves the tiles out: the
file then makes no network request at all.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import logging
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template
from pyproj import Transformer

from geosuff import __version__
from geosuff._io import atomic_write_text
from geosuff.config import road_times, travel_phrase
from geosuff.publication import disclosure as dc
from geosuff.reference import (
    BNG,
    UNKNOWN_SITE_COLOUR,
    UNKNOWN_SITE_MARKER,
    WGS84,
    site_types,
)

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: Provision sites are shown at the centre of the National Grid square of this size (metres).
GENERALISE_M = 1000.0
#: Decimals of every published longitude/latitude (0.001 degree is about 70 m east-west and
#: 111 m north-south in England).
COORD_DECIMALS = 3
#: Simplification tolerance (metres, EPSG:27700) for polygons before publication.
SIMPLIFY_M = 25.0
#: Leaflet version vendored in geosuff/templates (the same folium 0.20 links from its CDN).
LEAFLET_VERSION = "1.9.3"
FULLSCREEN_VERSION = "3.0.0"
#: Largest side (pixels) of an access-raster overlay image.
RASTER_MAX_PX = 1600

_UNKNOWN_STYLE = (UNKNOWN_SITE_MARKER, UNKNOWN_SITE_COLOUR)


def site_style(typ: str) -> tuple[str, str]:
    """Marker letter and colour of a provision type (``site_types.csv`` ``marker``/``colour``;
    a grey "?" for a type not in it)."""
    st = site_types().get(str(typ))
    return (st.marker, st.colour) if st is not None else _UNKNOWN_STYLE


#: Colours of the access-time bands, nearest first.
ACCESS_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#a50026"]
#: Colours of the gap-area bands, fewest children first.
GAP_COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
CHOSEN_COLOUR = "#f2b705"

LAYER_BOUNDARY = "Council boundary"
LAYER_NEIGHBOURS = "Neighbouring councils"
LAYER_GAPS = "Gap areas"
LAYER_ACCESS_AREAS = "Places per 1,000 children (2SFCA)"
LAYER_CANDIDATES = "Candidate properties"
LAYER_CHOSEN = "Chosen set"
LAYER_FLOWS = "Placement flows"
LAYER_SITES_PREFIX = "Provision: "
LAYER_CATCHMENT_PREFIX = "Catchment: "
LAYER_ACCESS_PREFIX = "Access time: "
#: Said of a catchment that reaches the edge of the road network (``touches_network_edge``).
NETWORK_EDGE_NOTE = "may extend beyond the road network extract"
#: Said of a catchment that stays inside the road network.
NETWORK_INSIDE_NOTE = "within the road network extract"
#: Groups of the layer control, in order (see :func:`layer_group`).
GROUP_BOUNDARIES = "Boundaries"
GROUP_PROVISION = "Provision"
GROUP_CATCHMENTS = "Catchments and travel time"
GROUP_AREAS = "Children's areas"
GROUP_CANDIDATES = "Candidates"
LAYER_GROUPS = (GROUP_BOUNDARIES, GROUP_PROVISION, GROUP_CATCHMENTS, GROUP_AREAS, GROUP_CANDIDATES)

ATTRIBUTION = (
    "Roads &copy; OpenStreetMap contributors (ODbL) &middot; ONS and OS data &copy; Crown "
    "copyright and database right &middot; DfE statistics (OGL v3)"
)

_TO_WGS84 = Transformer.from_crs(BNG, WGS84, always_xy=True)


# ----------------------------------------------------------------------------------------------
# Public helpers
# ----------------------------------------------------------------------------------------------
def generalise_points(
    easting: Any, northing: Any, *, grid_m: float = GENERALISE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Centre of the ``grid_m`` National Grid square containing each point (metres, EPSG:27700).

    NaN stays NaN. With the default 1 km, a site at (486 231, 309 529) is shown at
    (486 500, 309 500).
    """
    e = np.asarray(easting, dtype=float)
    n = np.asarray(northing, dtype=float)
    return np.floor(e / grid_m) * grid_m + grid_m / 2, np.floor(n / grid_m) * grid_m + grid_m / 2


def to_lonlat(
    easting: Any, northing: Any, *, decimals: int = COORD_DECIMALS
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees, rounded to ``decimals``) of BNG points (metres)."""
    lon, lat = _TO_WGS84.transform(
        np.asarray(easting, dtype=float), np.asarray(northing, dtype=float)
    )
    return np.round(np.asarray(lon, dtype=float), decimals), np.round(
        np.asarray(lat, dtype=float), decimals
    )


def published_geojson(
    gdf: gpd.GeoDataFrame,
    properties: Sequence[str] = (),
    *,
    decimals: int = COORD_DECIMALS,
    simplify_m: float = SIMPLIFY_M,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS84) for publication.

    Geometry is simplified by ``simplify_m`` metres in EPSG:27700, reprojected, snapped to a
    ``10**-decimals`` degree grid (kept valid; features that collapse are dropped) and written with
    exactly rounded coordinates. Only ``properties`` are kept (NaN becomes null).
    """
    if gdf is None or len(gdf) == 0:
        return {"type": "FeatureCollection", "features": []}
    g = gdf if gdf.crs is not None else gdf.set_crs(BNG)
    geom = g.geometry.to_crs(BNG)
    if simplify_m > 0:
        geom = geom.simplify(simplify_m, preserve_topology=True)
    geom = geom.to_crs(WGS84)
    grid = 10.0 ** (-decimals)
    arr = shapely.set_precision(geom.to_numpy(), grid, mode="valid_output")
    arr = shapely.transform(arr, lambda c: np.round(c, decimals))
    feats = []
    props = [p for p in properties if p in g.columns]
    for i, gm in enumerate(arr):
        if gm is None or shapely.is_empty(gm):
            continue
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(gm),
                "properties": {p: _jsonable(g[p].iloc[i]) for p in props},
            }
        )
    return {"type": "FeatureCollection", "features": _plain(feats)}


def raster_overlay(
    path: str | Path,
    *,
    breaks: Sequence[float],
    colours: Sequence[str],
    max_px: int = RASTER_MAX_PX,
    decimals: int = COORD_DECIMALS,
) -> tuple[bytes, list[list[float]]]:
    """A coloured PNG of a single-band raster, warped to Web Mercator for a Leaflet image overlay.

    Leaflet stretches an image overlay linearly in Web Mercator between its lat/lon bounds, so the
    raster is warped (nearest neighbour, cells stay crisp) onto a Web-Mercator grid whose corners
    are the raster's lat/lon bounds rounded outwards to ``decimals``.

    Parameters
    ----------
    path : path
        GeoTIFF (any CRS; nodata/NaN transparent).
    breaks : sequence of float
        Upper bounds of the colour bands (values ``<= breaks[0]`` get ``colours[0]``, ...; values
        above the last break get the next colour).
    colours : sequence of str
        ``len(breaks) + 1`` hex colours.

    Returns
    -------
    png : bytes
        RGBA PNG.
    bounds : list
        ``[[south, west], [north, east]]`` in degrees.
    """
    import rasterio
    import rasterio.errors
    from rasterio.io import MemoryFile
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    with rasterio.open(path) as src:
        band = src.read(1, masked=True).astype("float64")
        data = band.filled(np.nan)
        src_crs, src_tr, src_bounds = src.crs or BNG, src.transform, src.bounds
        res_m = abs(src_tr.a)
    w0, s0, e0, n0 = transform_bounds(src_crs, WGS84, *src_bounds)
    f = 10.0**decimals
    west, south, east, north = (
        math.floor(w0 * f) / f,
        math.floor(s0 * f) / f,
        math.ceil(e0 * f) / f,
        math.ceil(n0 * f) / f,
    )
    merc = Transformer.from_crs(WGS84, "EPSG:3857", always_xy=True)
    x0, y0 = merc.transform(west, south)
    x1, y1 = merc.transform(east, north)
    scale = 1.0 / max(math.cos(math.radians((south + north) / 2)), 0.1)
    px = res_m * scale
    width = int(min(max(math.ceil((x1 - x0) / px), 1), max_px))
    height = int(min(max(math.ceil((y1 - y0) / px), 1), max_px))
    dst = np.full((height, width), np.nan)
    reproject(
        source=data,
        destination=dst,
        src_transform=src_tr,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=from_bounds(x0, y0, x1, y1, width, height),
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    rgba = np.zeros((4, height, width), dtype=np.uint8)
    ok = np.isfinite(dst)
    idx = np.digitize(np.where(ok, dst, 0.0), np.asarray(breaks, dtype=float), right=True)
    lut = np.array([_hex_rgb(c) for c in colours], dtype=np.uint8)
    idx = np.clip(idx, 0, len(lut) - 1)
    for k in range(3):
        rgba[k] = np.where(ok, lut[idx, k], 0)
    rgba[3] = np.where(ok, 255, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(
                driver="PNG", width=width, height=height, count=4, dtype="uint8"
            ) as dst_ds:
                dst_ds.write(rgba)
            png = mem.read()
    return png, [[south, west], [north, east]]


# ----------------------------------------------------------------------------------------------
# The map
# ----------------------------------------------------------------------------------------------
def write_map(
    results: Results,
    path: str | Path,
    *,
    self_contained: bool = False,
    published: Published | None = None,
) -> Path:
    """Write the interactive map of a run to ``path`` (HTML).

    Parameters
    ----------
    results : Results
        A run's results (see :class:`geosuff.results.Results`).
    path : path
        Output HTML file (written atomically).
    self_contained : bool, keyword-only
        No network at all: a plain background instead of the OpenStreetMap tiles (Leaflet and
        its plugin are inlined either way).
    published : Published, keyword-only, optional
        The run's published figures (:func:`geosuff.publish.build`); made here if not given.

    Returns
    -------
    Path
        ``path``.
    """
    text = render_map(results, self_contained=self_contained, published=published)
    return atomic_write_text(Path(path), text)


def render_map(
    results: Results, *, self_contained: bool = False, published: Published | None = None
) -> str:
    """The map's HTML (see :func:`write_map`)."""
    m = build_map(results, self_contained=self_contained, published=published)
    _stable_ids(m.get_root())
    text = m.get_root().render()
    if self_contained:
        remote = re.findall(
            r"""<(?:script|link|img)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//[^"'\s>]+""", text
        )
        if remote:
            raise RuntimeError(f"self-contained map still references remote files: {remote[:3]}")
    return text


def build_map(
    results: Results, *, self_contained: bool = False, published: Published | None = None
) -> folium.Map:
    """The folium map of a run (see the module docstring for the layers)."""
    from geosuff.publication import ledger as publish

    pub = published if published is not None else publish.build(results)
    sc = results.scenario
    boundary = (
        results.boundary.to_crs(BNG)
        if results.boundary.crs is not None
        else results.boundary.set_crs(BNG)
    )
    minx, miny, maxx, maxy = boundary.total_bounds
    lon, lat = to_lonlat([minx, maxx], [miny, maxy])
    centre = [round(float(lat.mean()), COORD_DECIMALS), round(float(lon.mean()), COORD_DECIMALS)]
    m = folium.Map(
        location=centre, zoom_start=10, tiles=None, control_scale=True, prefer_canvas=False
    )
    root: Any = m.get_root()
    root.title = f"{results.council_name} - placement sufficiency map"
    # Leaflet and its plugin are always inlined (vendored): the map draws even where CDNs are
    # blocked or there is no internet; only the optional OpenStreetMap background needs a network.
    m.default_js = []
    m.default_css = []
    _inline_assets(m)
    if not self_contained:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True, opacity=0.6).add_to(m)
    root.header.add_child(Element(f"<style>{_map_css(self_contained)}</style>"), name="geosuff_css")

    legend: list[tuple[list[str], str]] = []
    unavailable: list[str] = []
    notes: list[str] = []

    _add_boundaries(m, results, boundary)
    ras = _add_access_rasters(m, results, legend)
    if not ras:
        unavailable.append("access-time raster")
    if not _add_catchments(m, results, legend):
        unavailable.append("catchments")
    _add_area_access(m, results, legend)
    if not _add_gaps(m, results, pub, legend):
        if pub.gap_areas is not None and "geometry" in pub.gap_areas:
            notes.append(
                f"No gap areas: no home area has {sc.disclosure.min_count} or more children placed over {sc.analysis.far_miles:g} miles away."
            )
        else:
            unavailable.append("gap areas")
    if not _add_flows(m, results, pub, legend):
        unavailable.append("placement flows")
    if not _add_sites(m, results, legend):
        unavailable.append("provision sites")
    if not _add_candidates(m, results, pub, legend):
        unavailable.append("candidate properties")

    folium.plugins.Fullscreen(
        position="topleft", title="Full screen", title_cancel="Exit full screen"
    ).add_to(m)
    for child in m._children.values():
        if isinstance(child, folium.plugins.Fullscreen):
            child.default_js = []
            child.default_css = []
    _GroupedLayerControl(position="topright").add_to(m)
    _Panel(
        _title_html(results, unavailable, notes), position="topleft", css_class="gs-title"
    ).add_to(m)
    _Legend(legend).add_to(m)
    _Attribution(ATTRIBUTION).add_to(m)
    if sc.synthetic:
        root.html.add_child(
            Element(
                '<style>.leaflet-top { top: 30px; }</style><div class="gs-synthetic" role="alert">SYNTHETIC DATA - not real children. For demonstration and testing only.</div>'
            ),
            name="gs_synthetic",
        )
    sw, ne = (
        [round(float(lat.min()), COORD_DECIMALS), round(float(lon.min()), COORD_DECIMALS)],
        [round(float(lat.max()), COORD_DECIMALS), round(float(lon.max()), COORD_DECIMALS)],
    )
    _FitClear([sw, ne]).add_to(m)
    return m


def layer_group(name: str) -> str:
    """The layer-control group (one of :data:`LAYER_GROUPS`) of the overlay called ``name``."""
    if name in (LAYER_BOUNDARY, LAYER_NEIGHBOURS):
        return GROUP_BOUNDARIES
    if name.startswith(LAYER_SITES_PREFIX):
        return GROUP_PROVISION
    if name in (LAYER_GAPS, LAYER_FLOWS, LAYER_ACCESS_AREAS):
        return GROUP_AREAS
    if name in (LAYER_CANDIDATES, LAYER_CHOSEN):
        return GROUP_CANDIDATES
    return GROUP_CATCHMENTS  # catchments, access-time and other rasters


def legend_ranks(ranks: pd.Series, *, most: int = 5) -> list[int]:
    """Up to ``most`` ranks to show in the candidates' legend: the best, the last and evenly
    spaced ones between, all of them ranks that a published candidate has (ties share a rank,
    so ``1, 1, 3`` gives ``[1, 3]``)."""
    real = sorted({int(v) for v in pd.to_numeric(ranks, errors="coerce").dropna()})
    if len(real) <= most:
        return real
    idx = np.round(np.linspace(0, len(real) - 1, most)).astype(int)
    return [real[i] for i in dict.fromkeys(idx.tolist())]


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------
def _add_boundaries(m: folium.Map, results: Results, boundary: gpd.GeoDataFrame) -> None:
    neighbours = _neighbours(results)
    if neighbours is not None and len(neighbours):
        fg = folium.FeatureGroup(name=LAYER_NEIGHBOURS, show=True)
        folium.GeoJson(
            published_geojson(neighbours, ["name", "code"], simplify_m=100.0),
            style_function=lambda f: {
                "color": "#7b8794",
                "weight": 1.2,
                "fillColor": "#cbd2d9",
                "fillOpacity": 0.35,
                "dashArray": "4 3",
            },
            tooltip=folium.GeoJsonTooltip(["name"], aliases=["Neighbouring council"]),
        ).add_to(fg)
        fg.add_to(m)
    fg = folium.FeatureGroup(name=LAYER_BOUNDARY, show=True)
    b = boundary.copy()
    if "name" not in b:
        b["name"] = results.council_name
    folium.GeoJson(
        published_geojson(b, ["name"], simplify_m=50.0),
        style_function=lambda f: {"color": "#1f2933", "weight": 3, "fill": False},
        tooltip=folium.GeoJsonTooltip(["name"], aliases=["Council"]),
    ).add_to(fg)
    fg.add_to(m)


def _neighbours(results: Results) -> gpd.GeoDataFrame | None:
    """The adjoining LAs the pipeline put in ``results.neighbours`` (publication never re-reads
    the boundaries: the scenario may have its own ``[inputs] boundaries``)."""
    nb = results.neighbours
    if nb is None or len(nb) == 0:
        return None
    return nb.to_crs(BNG) if nb.crs is not None else nb.set_crs(BNG)


def _add_sites(m: folium.Map, results: Results, legend: list[tuple[list[str], str]]) -> bool:
    s = results.sites
    if s is None or len(s) == 0 or not {"easting", "northing", "type"} <= set(s.columns):
        return False
    if "status" in s:
        s = s[s["status"].astype(str).str.startswith("used")]
    e = pd.to_numeric(s["easting"], errors="coerce").to_numpy(float)
    n = pd.to_numeric(s["northing"], errors="coerce").to_numpy(float)
    ok = np.isfinite(e) & np.isfinite(n)
    s = s[ok].copy()
    if s.empty:
        return False
    ge, gn = generalise_points(e[ok], n[ok])
    s["_ge"], s["_gn"] = ge, gn
    s["_places"] = pd.to_numeric(s["places"], errors="coerce") if "places" in s else np.nan
    s["_avail"] = (
        pd.to_numeric(s["available_places"], errors="coerce") if "available_places" in s else np.nan
    )
    labels = _site_labels()
    names: list[str] = []
    for typ in _ordered_types(s["type"].astype(str).unique()):
        letter, colour = site_style(typ)
        label = labels.get(typ, typ.replace("_", " ").capitalize())
        name = f"{LAYER_SITES_PREFIX}{label}"
        names.append(name)
        fg = folium.FeatureGroup(name=name, show=True)
        sub = s[s["type"].astype(str) == typ]
        for (ce, cn), grp in sub.groupby(["_ge", "_gn"], sort=True):
            lon, lat = to_lonlat([ce], [cn])
            k = len(grp)
            ratings = sorted(
                {
                    str(r)
                    for r in grp.get("rating", pd.Series(dtype=str)).dropna()
                    if str(r).strip() and str(r) != "<NA>"
                }
            )
            rows = [
                ("Type", label),
                ("Sites in this 1 km square", str(k)),
                ("Places", _fmt_num(grp["_places"].sum(min_count=1))),
                ("Spare places", _fmt_num(grp["_avail"].sum(min_count=1))),
            ]
            if ratings:
                rows.append(
                    ("Ofsted rating" + ("s" if len(ratings) > 1 else ""), "; ".join(ratings))
                )
            if "site_id" in grp:
                rows.append(
                    ("Site id" + ("s" if k > 1 else ""), ", ".join(str(v) for v in grp["site_id"]))
                )
            popup = _popup_table(
                f"{label}{' ×' + str(k) if k > 1 else ''}",
                rows,
                note="Location generalised to the centre of its 1 km grid square; no address is shown.",
            )
            badge = f'<span class="gs-badge">{k}</span>' if k > 1 else ""
            icon = folium.DivIcon(
                html=f'<div class="gs-site" style="background:{colour}" data-type="{html.escape(typ)}">{letter}{badge}</div>',
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name="gs-site-icon",
            )
            mk = folium.Marker(
                [float(lat[0]), float(lon[0])],
                icon=icon,
                tooltip=f"{label}{f' ({k})' if k > 1 else ''}",
                rise_on_hover=True,  # a marker half under another comes to the front
            )
            _HtmlPopup(popup, max_width=340).add_to(mk)
            mk.add_to(fg)
        fg.add_to(m)
    items = "".join(
        f'<div class="gs-row"><span class="gs-site gs-site-sm" style="background:{site_style(t)[1]}" data-type="{html.escape(t)}">{site_style(t)[0]}</span>{html.escape(labels.get(t, t))}</div>'
        for t in _ordered_types(s["type"].astype(str).unique())
    )
    if s.groupby(["type", "_ge", "_gn"]).size().max() > 1:  # a marker carries a count badge
        items += '<div class="gs-row"><span class="gs-site gs-site-sm" style="background:#7b8794">&nbsp;<span class="gs-badge">2</span></span>&nbsp;number of sites of that type in the square</div>'
    legend.append(
        (
            names,
            _section(
                "Provision sites",
                items
                + f'<div class="gs-note">Shown at the centre of their {GENERALISE_M / 1000:g} km grid square.</div>',
                "sites",
            ),
        )
    )
    return True


def _add_catchments(m: folium.Map, results: Results, legend: list[tuple[list[str], str]]) -> bool:
    gdf = (
        results.served if results.served is not None and len(results.served) else results.catchments
    )
    if gdf is None or len(gdf) == 0:
        return False
    mcol = _first_col(gdf, ("minutes", "threshold_min", "threshold", "max_minutes"))
    tcol = _first_col(gdf, ("type", "site_type"))
    if mcol is None:
        return False
    g = gdf.copy()
    g["_min"] = pd.to_numeric(g[mcol], errors="coerce")
    g["_type"] = g[tcol].astype(str) if tcol else "all"
    if "touches_network_edge" in g.columns:
        g["_edge"] = g["touches_network_edge"].fillna(False).astype(bool)
    else:
        g["_edge"] = False
    if gdf is results.catchments:  # dissolve per type and threshold: single sites are not outlined
        edge = g.groupby(["_type", "_min"])["_edge"].any()
        g = g.dissolve(by=["_type", "_min"], as_index=False)
        g["_edge"] = [bool(edge[(t, v)]) for t, v in zip(g["_type"], g["_min"], strict=True)]
    g["edge_note"] = np.where(g["_edge"], NETWORK_EDGE_NOTE, NETWORK_INSIDE_NOTE)
    labels = _site_labels()
    g["type_label"] = [labels.get(t, t.replace("_", " ")) for t in g["_type"]]
    g["minutes_label"] = [f"{v:g} min" for v in g["_min"]]
    if "area_km2" not in g:
        g["area_km2"] = (g.geometry.to_crs(BNG).area / 1e6).round(1)
    else:
        g["area_km2"] = pd.to_numeric(g["area_km2"], errors="coerce").round(1)
    local = results.scenario.analysis.local_minutes
    names = []
    for mins in sorted(g["_min"].dropna().unique()):
        name = f"{LAYER_CATCHMENT_PREFIX}within {mins:g} min {travel_phrase(results.scenario)}"
        names.append(name)
        fg = folium.FeatureGroup(name=name, show=bool(math.isclose(mins, local)))
        sub = g[g["_min"] == mins]
        colours = {t: site_style(t)[1] for t in sub["_type"]}
        gj = published_geojson(
            sub.assign(site_type=sub["_type"]),
            ["site_type", "type_label", "minutes_label", "area_km2", "edge_note"],
        )
        folium.GeoJson(
            gj,
            style_function=lambda f, c=colours: {
                "color": c.get(f["properties"]["site_type"], "#616e7c"),
                "weight": 1.5,
                "fillColor": c.get(f["properties"]["site_type"], "#616e7c"),
                "fillOpacity": 0.05,
            },
            tooltip=folium.GeoJsonTooltip(
                ["type_label", "minutes_label", "area_km2", "edge_note"],
                aliases=["Served by", "Within", "Area (km²)", "Extent"],
            ),
            popup=folium.GeoJsonPopup(
                ["type_label", "minutes_label", "area_km2", "edge_note"],
                aliases=["Served by", "Within", "Area (km²)", "Extent"],
            ),
        ).add_to(fg)
        fg.add_to(m)
    how = "by road" if road_times(results.scenario) else "(estimated from the straight line)"
    legend.append(
        (
            names,
            _section(
                "Catchments",
                f'<div class="gs-note">Area reachable {how} within the threshold from the nearest site of each type (outline colour = site type). One layer per threshold.</div>'
                + (
                    f'<div class="gs-note">Catchments that reach the edge of the road network {NETWORK_EDGE_NOTE} (see the details of each outline).</div>'
                    if bool(g["_edge"].any())
                    else ""
                ),
                "catchments",
            ),
        )
    )
    return True


def _raster_info(path: Path) -> tuple[str, str, float]:
    """Units (tag ``units``, default "minutes"), description and maximum of a raster."""
    import rasterio

    with rasterio.open(path) as src:
        units = str(src.tags().get("units", "minutes"))
        desc = str(src.descriptions[0] or "") if src.descriptions else ""
        band = src.read(1, masked=True)
        hi = float(band.max()) if band.count() else 0.0
    return units, desc, hi


def _add_access_rasters(
    m: folium.Map, results: Results, legend: list[tuple[list[str], str]]
) -> bool:
    rasters = {
        k: Path(v) for k, v in (results.rasters or {}).items() if v is not None and Path(v).exists()
    }
    if not rasters:
        return False
    minutes = sorted(float(v) for v in results.scenario.analysis.minutes)[: len(ACCESS_COLOURS) - 1]
    colours = _spread(ACCESS_COLOURS, len(minutes) + 1)
    labels = _site_labels()
    time_names: list[str] = []
    other: dict[str, list[str]] = {}
    other_legend: dict[str, str] = {}
    # "any site" first, then by type
    keys = sorted(rasters, key=lambda k: (0 if k.endswith("any") or "any_site" in k else 1, k))
    for key in keys:
        path = rasters[key]
        try:
            units, desc, hi = _raster_info(path)
            is_time = units.lower().startswith("min")
            if is_time:
                breaks, cols = minutes, colours
            else:
                breaks = _nice_breaks(hi)
                cols = _spread(
                    ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"], len(breaks) + 1
                )
            png, bounds = raster_overlay(path, breaks=breaks, colours=cols)
        except Exception as err:  # a broken raster must not stop the map
            logger.warning("raster %s not drawn: %s", path.name, err)
            continue
        typ = next((t for t in sorted(labels, key=len, reverse=True) if t in key), None)
        what = (
            f"nearest {labels[typ].lower()}"
            if typ
            else ("nearest site of any type" if "any" in key else key.replace("_", " "))
        )
        if is_time:
            name = f"{LAYER_ACCESS_PREFIX}{what}"
            show = not time_names
            time_names.append(name)
        else:
            name = f"{units.capitalize()}: {labels[typ] if typ else key.replace('_', ' ')} (raster)"
            show = False
            other.setdefault(units, []).append(name)
            edges = [0.0, *breaks]
            other_legend[units] = "".join(
                f'<div class="gs-row"><span class="gs-swatch" style="background:{c}"></span>{_band_label(edges, j, unit="")}</div>'
                for j, c in enumerate(cols)
            )
        fg = folium.FeatureGroup(name=name, show=show)
        folium.raster_layers.ImageOverlay(
            image="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            bounds=bounds,
            opacity=0.55,
            interactive=False,
            cross_origin=False,
            zindex=1,
            className="gs-raster",
        ).add_to(fg)
        fg.add_to(m)
    if time_names:
        edges = [0.0, *minutes]
        items = "".join(
            f'<div class="gs-row"><span class="gs-swatch" style="background:{c}"></span>{_band_label(edges, j)}</div>'
            for j, c in enumerate(colours)
        )
        legend.append(
            (
                time_names,
                _section(
                    "Road minutes to the nearest site"
                    if road_times(results.scenario)
                    else "Minutes to the nearest site (estimated)",
                    items
                    + f'<div class="gs-note">{results.scenario.analysis.raster_cell_m:g} m cells; coloured in threshold bands.</div>',
                    "access",
                ),
            )
        )
    for units, names in other.items():
        legend.append(
            (
                names,
                _section(
                    units.capitalize(),
                    other_legend[units]
                    + f'<div class="gs-note">{results.scenario.analysis.raster_cell_m:g} m cells.</div>',
                    "raster-other",
                ),
            )
        )
    return bool(time_names or other)


def _add_area_access(m: folium.Map, results: Results, legend: list[tuple[list[str], str]]) -> bool:
    a = results.areas
    if a is None or len(a) == 0 or "places_per_1000" not in a:
        return False
    g = a.copy()
    v = pd.to_numeric(g["places_per_1000"], errors="coerce")
    g["ppk"] = v.round(2)
    g["area_label"] = (
        g["area_name"].astype(str) if "area_name" in g else g.get("area_id", "").astype(str)
    )
    hi = float(np.nanmax(v)) if np.isfinite(v).any() else 0.0
    breaks = _nice_breaks(hi)
    colours = _spread(["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"], len(breaks) + 1)
    fg = folium.FeatureGroup(name=LAYER_ACCESS_AREAS, show=False)
    folium.GeoJson(
        published_geojson(g, ["area_label", "ppk"]),
        style_function=lambda f, b=breaks, c=colours: {
            "color": "#52606d",
            "weight": 0.6,
            "fillColor": _colour_for(f["properties"]["ppk"], b, c),
            "fillOpacity": 0.65,
        },
        tooltip=folium.GeoJsonTooltip(
            ["area_label", "ppk"], aliases=["Area", "Places per 1,000 children"]
        ),
    ).add_to(fg)
    fg.add_to(m)
    edges = [0.0, *breaks]
    items = "".join(
        f'<div class="gs-row"><span class="gs-swatch" style="background:{c}"></span>{_band_label(edges, j, unit="")}</div>'
        for j, c in enumerate(colours)
    )
    minutes = results.scenario.analysis.local_minutes
    legend.append(
        (
            [LAYER_ACCESS_AREAS],
            _section(
                "Places per 1,000 children",
                items
                + f'<div class="gs-note">Two-step floating catchment, {minutes:g} min {travel_phrase(results.scenario)}.</div>',
                "areas",
            ),
        )
    )
    return True


def _add_gaps(
    m: folium.Map, results: Results, pub: Published, legend: list[tuple[list[str], str]]
) -> bool:
    gp = pub.gap_areas
    if gp is None or len(gp) == 0 or "geometry" not in gp:
        return False
    g = gp.copy()
    if "count_band" not in g:
        raw = _first_col(g, ("n_far", "children", "n_children", "count"))
        if raw is None:
            return False
        g["count_band"] = [
            dc.count_band(int(v), min_count=results.scenario.disclosure.min_count)
            for v in pd.to_numeric(g[raw], errors="coerce").fillna(0)
        ]
    g["count_band"] = g["count_band"].astype(str)
    bands = sorted(g["count_band"].unique(), key=_band_key)
    colours = dict(zip(bands, _spread(GAP_COLOURS[1:], len(bands)), strict=True))
    g["area_label"] = (
        g["area_name"].astype(str)
        if "area_name" in g
        else g.get("area_id", pd.Series("", index=g.index)).astype(str)
    )
    for c in ("needed_groups", "lacks", "evidence"):
        g[c] = g[c].fillna("").astype(str) if c in g else ""
    g["rank"] = (
        pd.to_numeric(g["rank"], errors="coerce").fillna(0).astype(int)
        if "rank" in g
        else np.arange(1, len(g) + 1)
    )
    g["gap"] = (
        g["outside_catchment"].map({True: "yes", False: "no"}).fillna("not assessed").astype(str)
        if "outside_catchment" in g
        else "not assessed"
    )
    fg = folium.FeatureGroup(name=LAYER_GAPS, show=True)
    folium.GeoJson(
        published_geojson(
            g, ["rank", "area_label", "count_band", "needed_groups", "lacks", "gap", "evidence"]
        ),
        style_function=lambda f, c=colours: {
            "color": "#7f0000" if f["properties"]["gap"] == "yes" else "#a63603",
            "weight": 2.5 if f["properties"]["gap"] == "yes" else 1.2,
            "fillColor": c.get(f["properties"]["count_band"], "#fcae91"),
            "fillOpacity": 0.6,
        },
        highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(
            ["rank", "area_label", "count_band", "needed_groups", "lacks"],
            aliases=["Gap rank", "Area", "Children placed far away", "Needs", "Lacks"],
        ),
        popup=folium.GeoJsonPopup(
            ["area_label", "evidence"], aliases=["Area", "Evidence"], max_width=360
        ),
    ).add_to(fg)
    fg.add_to(m)
    far = results.scenario.analysis.far_miles
    items = "".join(
        f'<div class="gs-row"><span class="gs-swatch" style="background:{colours[b]}"></span>{html.escape(b)} children</div>'
        for b in bands
    )
    items += '<div class="gs-row"><span class="gs-swatch gs-swatch-gap"></span>outside every suitable catchment</div>'
    legend.append(
        (
            [LAYER_GAPS],
            _section(
                f"Gap areas: children placed over {far:g} miles away",
                items
                + f'<div class="gs-note">Home areas with at least {results.scenario.disclosure.min_count} such children; counts shown as bands only.</div>',
                "gaps",
            ),
        )
    )
    return True


def _add_candidates(
    m: folium.Map, results: Results, pub: Published, legend: list[tuple[list[str], str]]
) -> bool:
    c = pub.candidates
    if c is None or len(c) == 0 or not {"easting", "northing"} <= set(c.columns):
        return False
    e = pd.to_numeric(c["easting"], errors="coerce").to_numpy(float)
    n = pd.to_numeric(c["northing"], errors="coerce").to_numpy(float)
    ok = np.isfinite(e) & np.isfinite(n)
    if not ok.any():
        return False
    c = c[ok].copy()
    lon, lat = to_lonlat(e[ok], n[ok])
    rank = (
        pd.to_numeric(c["rank"], errors="coerce")
        if "rank" in c
        else pd.Series(np.nan, index=c.index)
    )
    eligible = c["eligible"].fillna(False).astype(bool) if "eligible" in c else rank.notna()
    chosen_ids = _chosen_ids(results)
    idcol = _first_col(c, ("candidate_id", "id", "site_id"))
    n_rank = int(rank[eligible].max()) if eligible.any() and rank[eligible].notna().any() else 1
    fg = folium.FeatureGroup(name=LAYER_CANDIDATES, show=True)
    fgc = folium.FeatureGroup(name=LAYER_CHOSEN, show=True)
    any_chosen = False
    order = np.argsort(-rank.fillna(1e9).to_numpy())  # draw best last (on top)
    for j in order:
        row = c.iloc[j]
        cid = str(row[idcol]) if idcol else str(j + 1)
        r = rank.iloc[j]
        el = bool(eligible.iloc[j])
        colour = _rank_colour(float(r), n_rank) if el and np.isfinite(r) else "#9aa5b1"
        text = f"{int(r)}" if el and np.isfinite(r) else "×"
        is_chosen = cid in chosen_ids
        title = f"Candidate {cid}" + (
            f" - rank {int(r)}" if el and np.isfinite(r) else " - not eligible"
        )
        if is_chosen:
            title += " - CHOSEN"
        popup = _popup_table(
            title,
            _candidate_rows(row, minutes=siting_minutes(results)),
            note="Each component has a 0-1 score (1 = best); the total weights them as set in [siting].",
        )
        icon = folium.DivIcon(
            html=f'<div class="gs-cand{" gs-cand-chosen" if is_chosen else ""}{"" if el else " gs-cand-no"}" style="background:{colour}">{text}</div>',
            icon_size=(26, 26),
            icon_anchor=(13, 13),
            class_name="gs-cand-icon",
        )
        mk = folium.Marker(
            [float(lat[j]), float(lon[j])],
            icon=icon,
            tooltip=title,
            z_index_offset=1000 if is_chosen else 0,
            rise_on_hover=True,
        )
        _HtmlPopup(popup, max_width=380).add_to(mk)
        mk.add_to(fg)
        if is_chosen:
            any_chosen = True
            folium.CircleMarker(
                [float(lat[j]), float(lon[j])],
                radius=19,
                color=CHOSEN_COLOUR,
                weight=4,
                fill=False,
                tooltip=f"Chosen: {cid}",
            ).add_to(fgc)
    fg.add_to(m)
    names = [LAYER_CANDIDATES]
    if any_chosen:
        fgc.add_to(m)
        names.append(LAYER_CHOSEN)
    ramp = "".join(
        f'<span class="gs-cand gs-cand-sm" style="background:{_rank_colour(r, n_rank)}">{r}</span>'
        for r in legend_ranks(rank[eligible])
    )
    items = f'<div class="gs-row">{ramp} rank (1 = best)</div>' if ramp else ""
    if not eligible.all() or rank[eligible].isna().any():
        items += '<div class="gs-row"><span class="gs-cand gs-cand-sm" style="background:#9aa5b1">×</span>not eligible</div>'
    if any_chosen:
        items += f'<div class="gs-row"><span class="gs-ring" style="border-color:{CHOSEN_COLOUR}"></span>chosen set (optimal)</div>'
    legend.append((names, _section("Candidate properties", items, "candidates")))
    return True


def _add_flows(
    m: folium.Map, results: Results, pub: Published, legend: list[tuple[list[str], str]]
) -> bool:
    if results.flows is None and not len(pub.flows):
        return False
    lines, summary = pub.flows, pub.flows_summary
    mc = results.scenario.disclosure.min_count
    far_miles = results.scenario.analysis.far_miles
    fg = folium.FeatureGroup(name=LAYER_FLOWS, show=False)
    for r in lines.itertuples(index=False):
        lon, lat = to_lonlat([r.from_e, r.to_e], [r.from_n, r.to_n])
        tip = f"{html.escape(r.from_label)} &rarr; {html.escape(r.to_label)}: {r.children} children, band {html.escape(r.band)} ({r.far} over {far_miles:g} miles)"
        folium.PolyLine(
            [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]],
            weight=float(r.width),
            color="#6b46c1",
            opacity=0.7,
            tooltip=tip,
        ).add_to(fg)
        folium.CircleMarker(
            [float(lat[1]), float(lon[1])],
            radius=4,
            color="#6b46c1",
            fill=True,
            fill_opacity=1,
            tooltip=html.escape(r.to_label),
        ).add_to(fg)
    fg.add_to(m)
    note = (
        f"Lines join home areas (or the council's centre) to the centre of the placement council, "
        f"width by band of children. Only flows of {mc} or more children are drawn. "
        f"Placed inside the council: {summary.get('inside', ':')}. Not drawn (smaller flows or unknown LA, "
        f"{summary.get('other_las', '0')} councils): {summary.get('other', ':')}."
    )
    legend.append(
        (
            [LAYER_FLOWS],
            _section(
                "Placement flows",
                '<div class="gs-row"><span class="gs-line"></span>children placed outside the council</div>'
                + (
                    '<div class="gs-row"><span class="gs-dot"></span>centre of the placement council</div>'
                    if len(lines)
                    else ""
                )
                + f'<div class="gs-note">{html.escape(note)}</div>',
                "flows",
            ),
        )
    )
    return True


# ----------------------------------------------------------------------------------------------
# Controls (legend, title, attribution) and assets
# ----------------------------------------------------------------------------------------------
class _GroupedLayerControl(folium.LayerControl):
    """folium's layer control, collapsed to an icon (it opens on hover or click), with the
    overlays in the order of :data:`LAYER_GROUPS` under a heading per group.

    Plain Leaflet (no plugin: the grouped-layers plugin is only on a CDN, and the map must draw
    offline); the headings are re-inserted each time Leaflet redraws the list.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }}_groups = {{ this.groups|tojson }};
        var {{ this.get_name() }}_Control = L.Control.Layers.extend({
          _update: function() {
            L.Control.Layers.prototype._update.call(this);
            var groups = {{ this.get_name() }}_groups, last = null;
            var labels = this._overlaysList.querySelectorAll('label');
            labels.forEach(function(lab){
              var span = lab.querySelector('span span') || lab.querySelector('span');
              var g = groups[span ? span.textContent.trim() : ''] || '';
              if (g && g !== last) {
                var h = L.DomUtil.create('div', 'gs-layer-group');
                h.textContent = g;
                h.setAttribute('data-group', g);
                lab.parentNode.insertBefore(h, lab);
              }
              last = g;
            });
            return this;
          }
        });
        var {{ this.get_name() }} = new {{ this.get_name() }}_Control(
            { {%- for key, val in this.base_layers.items() %}{{ key|tojson }}: {{ val }},{% endfor -%} },
            { {%- for key, val in this.overlays.items() %}{{ key|tojson }}: {{ val }},{% endfor -%} },
            {{ this.options|tojson }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, *, position: str = "topright") -> None:
        super().__init__(position=position, collapsed=True)
        self.groups: dict[str, str] = {}

    def render(self, **kwargs: Any) -> Any:
        """Collect the map's layers (as folium does), then order the overlays by group."""
        self.reset()
        parent = self._parent
        if parent is None:
            raise RuntimeError("add the layer control to a map before rendering it")
        for item in parent._children.values():
            if not isinstance(item, folium.map.Layer) or not item.control:
                continue
            if not item.overlay:
                self.base_layers[item.layer_name] = item.get_name()
            else:
                self.overlays[item.layer_name] = item.get_name()
        order = {g: i for i, g in enumerate(LAYER_GROUPS)}
        names = sorted(self.overlays, key=lambda n: order[layer_group(n)])  # stable in a group
        self.overlays = type(self.overlays)((n, self.overlays[n]) for n in names)
        self.groups = {n: layer_group(n) for n in names}
        return MacroElement.render(self, **kwargs)


class _FitClear(MacroElement):
    """Fit the map to ``bounds`` with the padding the title, legend and layer control take, so
    no marker inside the council is drawn under a panel (plain 10 px on a narrow screen)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }};
          function w(sel){ var el = document.querySelector(sel); return el ? el.offsetWidth : 0; }
          var left = w('.gs-title') + 20;
          var right = Math.max(w('.gs-legend'), w('.leaflet-control-layers')) + 20;
          if (map.getSize().x - left - right < 320) { left = 10; right = 10; }
          map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [left, 10], paddingBottomRight: [right, 10], animate: false});
        })();
        {% endmacro %}"""
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitClear"
        self.bounds = bounds


class _Panel(MacroElement):
    """A Leaflet control holding fixed HTML."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var ctl = L.control({position: {{ this.position|tojson }}});
          ctl.onAdd = function() {
            var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
            div.innerHTML = {{ this.content|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          ctl.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}"""
    )

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "Panel"
        self.content = content
        self.position = position
        self.css_class = css_class


class _HtmlPopup(MacroElement):
    """A popup with fixed HTML bound to its parent layer (folium's Popup needs jQuery)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.content|tojson }}, {maxWidth: {{ this.max_width }}});
        {% endmacro %}"""
    )

    def __init__(self, content: str, *, max_width: int = 340) -> None:
        super().__init__()
        self._name = "HtmlPopup"
        self.content = content
        self.max_width = int(max_width)


class _Legend(MacroElement):
    """One legend control; each section is shown while one of its layers is on the map."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }};
          var sections = {{ this.sections|tojson }};
          var ctl = L.control({position: 'topright'});
          ctl.onAdd = function() {
            var div = L.DomUtil.create('div', 'gs-legend');
            div.setAttribute('aria-label', 'Legend');
            div.innerHTML = '<button type="button" class="gs-legend-title" aria-expanded="true" title="Fold or unfold the legend">Legend</button><div class="gs-legend-body">' + sections.map(function(s){ return s.html; }).join('') + '</div>';
            var btn = div.querySelector('.gs-legend-title');
            var size = map.getSize();
            if (size.x < 1100 || size.y < 700) {  // small screen: start folded, the map first
              div.classList.add('gs-legend-folded');
              btn.setAttribute('aria-expanded', 'false');
            }
            btn.addEventListener('click', function(){
              var folded = div.classList.toggle('gs-legend-folded');
              btn.setAttribute('aria-expanded', folded ? 'false' : 'true');
            });
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          ctl.addTo(map);
          var on = {};
          function refresh(){
            var nodes = document.querySelectorAll('.gs-legend .gs-legend-section');
            sections.forEach(function(s, i){
              var vis = s.layers.some(function(n){ return on[n]; });
              if (nodes[i]) { nodes[i].style.display = vis ? '' : 'none'; }
            });
          }
          map.eachLayer(function(){});
          document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function(lab){
            var input = lab.querySelector('input'); var span = lab.querySelector('span span') || lab.querySelector('span');
            if (input && span) { on[span.textContent.trim()] = input.checked; }
          });
          map.on('overlayadd', function(e){ on[e.name.trim()] = true; refresh(); });
          map.on('overlayremove', function(e){ on[e.name.trim()] = false; refresh(); });
          setTimeout(function(){
            document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function(lab){
              var input = lab.querySelector('input'); var span = lab.querySelector('span span') || lab.querySelector('span');
              if (input && span) { on[span.textContent.trim()] = input.checked; }
            });
            refresh();
          }, 0);
        })();
        {% endmacro %}"""
    )

    def __init__(self, sections: list[tuple[list[str], str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.sections = [{"layers": names, "html": body} for names, body in sections]


class _Attribution(MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


def _title_html(results: Results, unavailable: list[str], notes: Sequence[str] = ()) -> str:
    sc = results.scenario
    title = html.escape(sc.title or f"{results.council_name}: placement sufficiency")
    bits = [
        f'<div class="gs-title-main">{title}</div>',
        f'<div class="gs-title-sub">{html.escape(results.council_name)} ({html.escape(sc.council)}) &middot; geosuff {__version__} &middot; {dt.date.today().isoformat()}</div>',
    ]
    if sc.synthetic:
        bits.append('<div class="gs-title-warn">SYNTHETIC data: not real children.</div>')
    for note in notes:
        bits.append(f'<div class="gs-title-na">{html.escape(note)}</div>')
    if unavailable:
        bits.append(
            f'<div class="gs-title-na">Not available in this run: {html.escape(", ".join(unavailable))}.</div>'
        )
    bits.append(
        f'<div class="gs-title-note">No child\'s home or placement is shown. Sites are generalised to {GENERALISE_M / 1000:g} km squares; counts under {sc.disclosure.min_count} are suppressed or banded.</div>'
    )
    return "".join(bits)


def _section(title: str, body: str, key: str) -> str:
    return f'<section class="gs-legend-section" data-legend="{key}"><h4>{html.escape(title)}</h4>{body}</section>'


def _popup_table(title: str, rows: Iterable[tuple[str, str]], *, note: str = "") -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    foot = f'<div class="gs-pop-note">{html.escape(note)}</div>' if note else ""
    return f'<div class="gs-pop"><div class="gs-pop-title">{html.escape(title)}</div><table>{body}</table>{foot}</div>'


def _candidate_rows(row: pd.Series, *, minutes: float = 30.0) -> list[tuple[str, str]]:
    """The popup of a candidate property: every score component with its raw value, and the
    reasons (published values only: child counts come from :mod:`geosuff.publish`)."""

    def num(col: str) -> float:
        try:
            return float(row[col]) if col in row.index and not pd.isna(row[col]) else math.nan
        except (TypeError, ValueError):
            return math.nan

    def score(col: str) -> str:
        v = num(col)
        return f" (score {v:.2f})" if np.isfinite(v) else ""

    out: list[tuple[str, str]] = []
    if "name" in row.index and not pd.isna(row["name"]):
        out.append(("name", str(row["name"])))
    rank, total = num("rank"), num("total")
    out.append(("rank", f"{rank:.0f}" if np.isfinite(rank) else "-"))
    out.append(("total score", f"{total:.2f}" if np.isfinite(total) else "-"))
    el = row.get("eligible")
    reason = str(row.get("ineligible_reason", "") or "")
    ok = (el is True or el is np.True_ or str(el).lower() == "true") and not reason
    out.append(("eligible", "yes" if ok else ("no: " + reason if reason else "no")))
    use = str(row.get("use", "") or "").replace("_", " ")
    places = num("places")
    if use:
        out.append(
            (
                "use",
                use
                + (
                    f", {places:.0f} place{'s' if places != 1 else ''}"
                    if np.isfinite(places)
                    else ""
                ),
            )
        )
    reach = str(row.get("rehoming_reachable", "") or "")
    if reach:
        fill = str(row.get("places_it_could_fill", "") or "")
        text = f"{reach} children placed far away live within {minutes:g} min"
        if fill and np.isfinite(places):
            text += f"; could fill {fill} of {places:.0f} places"
        out.append(("rehoming", text + score("rehoming_norm")))
    cov = num("coverage_gain")
    if np.isfinite(cov):
        out.append(
            (
                "coverage",
                f"{cov:,.0f} children aged 0-17 newly within {minutes:g} min"
                + score("coverage_norm"),
            )
        )
    acc = num("access_minutes")
    out.append(
        (
            "access",
            f"{acc:.0f} min to services" + score("access_norm")
            if np.isfinite(acc)
            else "not assessed (no services layer)",
        )
    )
    nearby = num("homes_nearby")
    if np.isfinite(nearby):
        out.append(
            (
                "clustering",
                f"{nearby:.0f} existing homes nearby"
                + score("clustering_norm")
                + " (counts against)",
            )
        )
    for col, label in (
        ("bedrooms", "bedrooms"),
        ("condition", "condition"),
        ("tenure", "tenure"),
        ("cost", "cost"),
        ("available_from", "available from"),
    ):
        if col in row.index and not pd.isna(row[col]) and str(row[col]) != "":
            out.append((label, _fmt_value(col, row[col])))
    return out


def siting_minutes(results: Results) -> float:
    """The candidates' travel-time line (``[siting] max_minutes``, minutes)."""
    from geosuff.config import sections as gs

    return float(gs.siting_settings(results.scenario).max_minutes)


def _fmt_value(col: str, v: Any) -> str:
    if (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or v is pd.NA
        or (isinstance(v, pd.Timestamp) and pd.isna(v))
    ):
        return ""
    if isinstance(v, pd.Timestamp | dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"£{int(v):,}" if "cost" in col else f"{int(v):,}"
    if isinstance(v, float | np.floating):
        if "cost" in col:
            return f"£{v:,.0f}"
        if float(v).is_integer() and abs(float(v)) >= 1:
            return f"{int(v):,}"
        return f"{v:.3f}".rstrip("0").rstrip(".")
    return str(v)


def _fmt_num(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "not known"
    return f"{float(v):,.0f}"


def _inline_assets(m: folium.Map) -> None:
    css = _asset(f"leaflet-{LEAFLET_VERSION}.css")
    for img in ("layers.png", "layers-2x.png", "marker-icon.png"):
        uri = "data:image/png;base64," + base64.b64encode(_asset_bytes(f"leaflet-{img}")).decode(
            "ascii"
        )
        css = css.replace(f"url(images/{img})", f"url({uri})")
    fs_css = _asset(f"leaflet.fullscreen-{FULLSCREEN_VERSION}.css")
    svg_uri = "data:image/svg+xml;base64," + base64.b64encode(
        _asset_bytes("leaflet.fullscreen-icon.svg")
    ).decode("ascii")
    fs_css = fs_css.replace("url(icon-fullscreen.svg)", f"url({svg_uri})")
    root: Any = m.get_root()
    header = root.header
    header.add_child(
        Element(f"<style>/* Leaflet {LEAFLET_VERSION}, BSD-2-Clause */\n{css}</style>"),
        name="leaflet_css_inline",
    )
    header.add_child(
        Element(f"<style>/* leaflet.fullscreen {FULLSCREEN_VERSION}, MIT */\n{fs_css}</style>"),
        name="fullscreen_css_inline",
    )
    header.add_child(
        Element(f"<script>{_script_safe(_asset(f'leaflet-{LEAFLET_VERSION}.js'))}</script>"),
        name="leaflet_js_inline",
    )
    header.add_child(
        Element(
            f"<script>{_script_safe(_asset(f'leaflet.fullscreen-{FULLSCREEN_VERSION}.js'))}</script>"
        ),
        name="fullscreen_js_inline",
    )


def _script_safe(js: str) -> str:
    return js.replace("</script", "<\\/script")


@cache
def _asset(name: str) -> str:
    return (resources.files("geosuff") / "templates" / name).read_text(encoding="utf-8")


@cache
def _asset_bytes(name: str) -> bytes:
    return (resources.files("geosuff") / "templates" / name).read_bytes()


def _map_css(self_contained: bool) -> str:
    bg = "#eef1f4" if self_contained else "#ffffff"
    return _asset("map.css").replace(
        "/*BACKGROUND*/", f".leaflet-container {{ background: {bg}; }}"
    )


def _stable_ids(root: Any) -> None:
    """Replace folium's random element ids by a counter so the same run writes the same file."""
    counter = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        counter += 1
        el._id = f"g{counter:x}"
        stack.extend(getattr(el, "_children", {}).values())
        for attr in ("header", "html", "script"):
            sub = getattr(el, attr, None)
            if sub is not None and hasattr(sub, "_children"):
                stack.append(sub)


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------
def _site_labels() -> dict[str, str]:
    return {t.type: t.label for t in site_types().values()}


def _ordered_types(types: Iterable[str]) -> list[str]:
    order = list(site_types())
    return sorted({str(t) for t in types}, key=lambda t: (order.index(t) if t in order else 99, t))


def _la_points(results: Results) -> dict[str, tuple[float, float]]:
    """Representative point (metres, EPSG:27700) of every upper-tier LA in the run's boundaries
    (``results.la_centres``, computed by the pipeline from the scenario's boundaries)."""
    return dict(results.la_centres or {})


def _council_centre(results: Results) -> tuple[float, float]:
    b = results.boundary.to_crs(BNG) if results.boundary.crs is not None else results.boundary
    p = b.geometry.iloc[0].representative_point()
    return float(p.x), float(p.y)


def _area_points(results: Results) -> dict[str, tuple[float, float, str]]:
    a = results.areas
    if a is None or len(a) == 0 or "area_id" not in a:
        return {}
    g = a.to_crs(BNG) if a.crs is not None else a
    rp = g.geometry.representative_point()
    names = g["area_name"].astype(str) if "area_name" in g else g["area_id"].astype(str)
    return {
        str(i): (float(x), float(y), str(nm))
        for i, x, y, nm in zip(g["area_id"], rp.x, rp.y, names, strict=True)
    }


def _chosen_ids(results: Results) -> set[str]:
    ids: set[str] = set()
    sel = results.selection
    if sel is not None:
        ids |= {str(v) for v in (getattr(sel, "chosen_ids", ()) or ())}
    c = results.candidates
    if c is not None and "chosen" in c:
        idcol = _first_col(c, ("candidate_id", "id", "site_id"))
        if idcol:
            ids |= set(c.loc[c["chosen"].fillna(False).astype(bool), idcol].astype(str))
    return ids


def _first_col(df: pd.DataFrame, names: Iterable[str]) -> str | None:
    return next((c for c in names if c in df.columns), None)


def _band_key(band: str) -> tuple[float, str]:
    m = re.search(r"\d+", str(band))
    lead = float(m.group()) if m else 0.0
    if str(band).lower().startswith("fewer"):
        lead = 0.5
    return lead, str(band)


def _band_label(edges: list[float], j: int, *, unit: str = " min") -> str:
    if j == 0:
        return f"up to {edges[1]:g}{unit}" if len(edges) > 1 else "all"
    if j >= len(edges) - 1:
        return f"over {edges[-1]:g}{unit}"
    return f"{edges[j]:g} to {edges[j + 1]:g}{unit}"


def _nice_breaks(hi: float) -> list[float]:
    if not np.isfinite(hi) or hi <= 0:
        return [1.0]
    step = 10 ** math.floor(math.log10(hi / 4)) if hi > 0 else 1
    for mult in (1, 2, 2.5, 5, 10):
        if hi / (step * mult) <= 4:
            step *= mult
            break
    return [round(step * k, 6) for k in range(1, 5) if step * k < hi] or [round(hi, 6)]


def _colour_for(v: Any, breaks: list[float], colours: list[str]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "#ffffff"
    i = int(np.digitize([float(v)], breaks, right=True)[0])
    return colours[min(i, len(colours) - 1)]


def _spread(palette: list[str], k: int) -> list[str]:
    if k <= 0:
        return []
    if k >= len(palette):
        return [palette[min(i, len(palette) - 1)] for i in range(k)]
    idx = np.round(np.linspace(0, len(palette) - 1, k)).astype(int)
    return [palette[i] for i in idx]


def _rank_colour(rank: float, n: int) -> str:
    """Dark green for rank 1 fading to light olive for the last eligible rank."""
    t = 0.0 if n <= 1 else min(max((rank - 1) / (n - 1), 0.0), 1.0)
    a, b = _hex_rgb("#00684a"), _hex_rgb("#b8c96b")
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def _hex_rgb(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _jsonable(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return v if isinstance(v, str | int | bool) else str(v)


def _plain(obj: Any) -> Any:
    """Tuples → lists (GeoJSON from shapely uses tuples), recursively."""
    return json.loads(json.dumps(obj))
