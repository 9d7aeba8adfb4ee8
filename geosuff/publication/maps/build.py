"""The interactive map: assembled from published figures only (write_map, render_map, build_map)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
from branca.element import Element

from geosuff._io import atomic_write_text
from geosuff.reference import (
    BNG,
)

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results
from geosuff.publication.maps.basemap import add_background
from geosuff.publication.maps.geo import to_lonlat
from geosuff.publication.maps.layers import (
    _add_access_rasters,
    _add_area_access,
    _add_boundaries,
    _add_candidates,
    _add_catchments,
    _add_flows,
    _add_gaps,
    _add_sites,
    _FitClear,
    _GroupedLayerControl,
)
from geosuff.publication.maps.parts import (
    _Attribution,
    _inline_assets,
    _Legend,
    _map_css,
    _Panel,
    _stable_ids,
    _title_html,
)
from geosuff.publication.maps.style import (
    ATTRIBUTION,
    COORD_DECIMALS,
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# The map
# ----------------------------------------------------------------------------------------------
def write_map(
    results: Results,
    path: str | Path,
    *,
    self_contained: bool = False,
    published: Published | None = None,
    basemap: str | None = None,
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
    basemap : {"roads", "osm", "none"}, keyword-only, optional
        The background; default the scenario's ``[output] basemap`` ("roads": drawn from the
        run's OSM extract, inlined, :mod:`geosuff.publication.maps.basemap`). A self-contained map
        never loads tiles: "osm" becomes "roads".

    Returns
    -------
    Path
        ``path``.
    """
    text = render_map(results, self_contained=self_contained, published=published, basemap=basemap)
    return atomic_write_text(Path(path), text)


def render_map(
    results: Results,
    *,
    self_contained: bool = False,
    published: Published | None = None,
    basemap: str | None = None,
) -> str:
    """The map's HTML (see :func:`write_map`)."""
    m = build_map(results, self_contained=self_contained, published=published, basemap=basemap)
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
    results: Results,
    *,
    self_contained: bool = False,
    published: Published | None = None,
    basemap: str | None = None,
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
    background = add_background(m, results, self_contained=self_contained, basemap=basemap)
    root.header.add_child(
        Element(f"<style>{_map_css(background != 'osm')}</style>"), name="geosuff_css"
    )

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
