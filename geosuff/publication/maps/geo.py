"""Map geometry: generalised points, WGS84 conversion at the map boundary, published GeoJSON and raster overlays."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geosuff.reference import (
    BNG,
    WGS84,
)

if TYPE_CHECKING:
    pass
from geosuff.publication.maps.parts import (
    _hex_rgb,
    _jsonable,
    _plain,
)
from geosuff.publication.maps.style import (
    _TO_WGS84,
    COORD_DECIMALS,
    GENERALISE_M,
    RASTER_MAX_PX,
    SIMPLIFY_M,
)

logger = logging.getLogger(__name__)


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
