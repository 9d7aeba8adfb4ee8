"""Write access surfaces (:class:`geosuff.analysis.access.AccessRaster`) as GeoTIFFs.

One single-band float32 GeoTIFF per raster, ``<out_dir>/<name>.tif`` (deflate, nodata and
EPSG:27700 from the raster, band description and ``units`` / method tags), written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from geosuff._io import atomic_path

if TYPE_CHECKING:
    from geosuff.analysis.access import AccessRaster

__all__ = ["write_raster", "write_rasters"]


def write_raster(raster: AccessRaster, path: str | Path) -> Path:
    """Write one raster as a GeoTIFF at ``path``; returns the path."""
    import rasterio

    path = Path(path)
    data = raster.array
    height, width = data.shape
    with atomic_path(path) as tmp:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype="float32",
            crs=raster.crs,
            transform=raster.transform,
            nodata=raster.nodata,
            compress="deflate",
        ) as dst:
            dst.write(data.astype("float32", copy=False), 1)
            dst.set_band_description(1, raster.description)
            dst.update_tags(units=raster.units, **{k: str(v) for k, v in raster.tags.items()})
    return path


def write_rasters(rasters: Mapping[str, AccessRaster], out_dir: str | Path) -> dict[str, Path]:
    """Write each raster to ``out_dir/<name>.tif`` (folder created); returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {name: write_raster(r, out / f"{name}.tif") for name, r in rasters.items()}
