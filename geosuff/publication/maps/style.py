"""Map constants: generalisation, vendored Leaflet versions, site styles, colours and layer names."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyproj import Transformer

from geosuff.reference import (
    BNG,
    UNKNOWN_SITE_COLOUR,
    UNKNOWN_SITE_MARKER,
    WGS84,
    site_types,
)

if TYPE_CHECKING:
    pass

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
    a grey "?" for a type not in it).
    """
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
