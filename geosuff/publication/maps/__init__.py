"""The interactive map (Leaflet, inlined): style constants, geometry, layers from published figures, panel/popup/legend parts."""

from __future__ import annotations

from geosuff.publication.maps.build import (
    build_map,
    render_map,
    write_map,
)
from geosuff.publication.maps.geo import (
    generalise_points,
    published_geojson,
    raster_overlay,
    to_lonlat,
)
from geosuff.publication.maps.layers import (
    layer_group,
    legend_ranks,
)
from geosuff.publication.maps.parts import _area_points as _area_points  # noqa: F401 (used by other packages)
from geosuff.publication.maps.parts import _council_centre as _council_centre
from geosuff.publication.maps.parts import _la_points as _la_points
from geosuff.publication.maps.parts import _ordered_types as _ordered_types
from geosuff.publication.maps.parts import _site_labels as _site_labels
from geosuff.publication.maps.parts import (
    siting_minutes,
)
from geosuff.publication.maps.style import _TO_WGS84 as _TO_WGS84  # noqa: F401 (used by other packages)
from geosuff.publication.maps.style import (
    ACCESS_COLOURS,
    ATTRIBUTION,
    CHOSEN_COLOUR,
    COORD_DECIMALS,
    FULLSCREEN_VERSION,
    GAP_COLOURS,
    GENERALISE_M,
    GROUP_AREAS,
    GROUP_BOUNDARIES,
    GROUP_CANDIDATES,
    GROUP_CATCHMENTS,
    GROUP_PROVISION,
    LAYER_ACCESS_AREAS,
    LAYER_ACCESS_PREFIX,
    LAYER_BOUNDARY,
    LAYER_CANDIDATES,
    LAYER_CATCHMENT_PREFIX,
    LAYER_CHOSEN,
    LAYER_FLOWS,
    LAYER_GAPS,
    LAYER_GROUPS,
    LAYER_NEIGHBOURS,
    LAYER_SITES_PREFIX,
    LEAFLET_VERSION,
    NETWORK_EDGE_NOTE,
    NETWORK_INSIDE_NOTE,
    RASTER_MAX_PX,
    SIMPLIFY_M,
    site_style,
)

__all__ = [
    "GENERALISE_M",
    "COORD_DECIMALS",
    "SIMPLIFY_M",
    "LEAFLET_VERSION",
    "FULLSCREEN_VERSION",
    "RASTER_MAX_PX",
    "site_style",
    "ACCESS_COLOURS",
    "GAP_COLOURS",
    "CHOSEN_COLOUR",
    "LAYER_BOUNDARY",
    "LAYER_NEIGHBOURS",
    "LAYER_GAPS",
    "LAYER_ACCESS_AREAS",
    "LAYER_CANDIDATES",
    "LAYER_CHOSEN",
    "LAYER_FLOWS",
    "LAYER_SITES_PREFIX",
    "LAYER_CATCHMENT_PREFIX",
    "LAYER_ACCESS_PREFIX",
    "NETWORK_EDGE_NOTE",
    "NETWORK_INSIDE_NOTE",
    "GROUP_BOUNDARIES",
    "GROUP_PROVISION",
    "GROUP_CATCHMENTS",
    "GROUP_AREAS",
    "GROUP_CANDIDATES",
    "LAYER_GROUPS",
    "ATTRIBUTION",
    "generalise_points",
    "to_lonlat",
    "published_geojson",
    "raster_overlay",
    "write_map",
    "render_map",
    "build_map",
    "layer_group",
    "legend_ranks",
    "siting_minutes",
]
