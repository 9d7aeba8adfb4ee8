"""Reference data: the one reader of geosuff's code lists, bands and fixed constants.

Everything a later layer needs to know about SSDA903 codes, site types, candidate uses, age and
count bands, LTLA -> UTLA and the DfE distance formula comes from here, read from the files in
``geosuff/data/`` (so that a new provision type or a new PLACE code is a data row, not code).
"""

from __future__ import annotations

#: British National Grid: all metric work.
BNG = "EPSG:27700"
#: WGS84 lon/lat: only at the map boundary and for lon/lat inputs.
WGS84 = "EPSG:4326"
