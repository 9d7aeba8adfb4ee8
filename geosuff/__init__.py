"""geosuff: geography for the children's-services sufficiency duty (Children Act 1989 s22G).

Catchments around provision sites, placement-distance gaps and site selection for English councils.
All metric work is in British National Grid (EPSG:27700).
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["BNG", "WGS84", "__version__"]
