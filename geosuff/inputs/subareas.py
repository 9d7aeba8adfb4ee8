"""A council's own sub-areas (localities such as "West Kent" / "East Kent"): ``[inputs] subareas``.

Polygons in any CRS (made EPSG:27700) from a GeoPackage, GeoJSON or shapefile, with a name column
(``[inputs] subareas_name``, default ``name``). Each child's home point is given the sub-area it
falls in (:func:`geosuff.analysis.subgroups.home_subarea`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np

from geosuff._errors import InputFileError
from geosuff.inputs.boundaries import _read_vector
from geosuff.reference import BNG

logger = logging.getLogger(__name__)


def load_subareas(path: str | Path, *, name_column: str = "name") -> gpd.GeoDataFrame:
    """Read the sub-area layer: ``name`` (str) and polygon ``geometry`` in EPSG:27700.

    Parameters
    ----------
    path : path
        Vector file of polygons with a CRS.
    name_column : str, keyword-only
        The column holding each sub-area's name.

    Returns
    -------
    GeoDataFrame
        One row per sub-area (rows with the same name are merged into one area).

    Raises
    ------
    InputFileError
        Missing file, no CRS, no such name column (the message lists the columns), blank names,
        or a geometry that is not a polygon.
    """
    p = Path(path)
    key = "[inputs] subareas"
    if not p.exists():
        raise InputFileError(
            f"The sub-areas file {p.name} does not exist ({p}).", fix=f"Check {key} in the config."
        )
    gdf = _read_vector(
        p, "sub-areas", fix="Give a GeoPackage, GeoJSON or shapefile of sub-area polygons."
    )
    if gdf.crs is None:
        raise InputFileError(
            f"The sub-areas file {p.name} has no coordinate reference system.",
            fix="Save it with its CRS (e.g. EPSG:27700 British National Grid).",
        )
    if len(gdf) == 0:
        raise InputFileError(f"The sub-areas file {p.name} has no areas.", fix="Add polygons.")
    if name_column not in gdf.columns:
        cols = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise InputFileError(
            f"The sub-areas file {p.name} has no column {name_column!r} (its columns: {cols}).",
            fix="Set [inputs] subareas_name to the column holding each sub-area's name.",
        )
    names = gdf[name_column].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(blank.to_numpy())[:10])
        raise InputFileError(
            f"The sub-areas file {p.name} has sub-areas without a name (rows {rows}).",
            fix=f"Give every polygon a name in the {name_column!r} column.",
        )
    geom = gdf.geometry
    bad = geom.isna() | ~geom.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:10])
        raise InputFileError(
            f"The sub-areas file {p.name} has rows that are not polygons (rows {rows}).",
            fix="Keep only polygon (area) features in the sub-areas layer.",
        )
    out = gpd.GeoDataFrame({"name": names.astype(str)}, geometry=geom.to_crs(BNG).make_valid())
    out = out.dissolve(by="name", as_index=False, sort=False)
    logger.info("sub-areas %s: %d areas (%s)", p.name, len(out), ", ".join(out["name"]))
    return out.reset_index(drop=True)
