"""Upper-tier LA boundaries: the one reader and point-in-polygon lookups."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff._errors import InputFileError, UnknownCodeError
from geosuff.inputs._base import DEFAULT_BOUNDARIES, ENGLAND_TOLERANCE_M
from geosuff.inputs.reading import _find_col
from geosuff.reference import BNG, WGS84, describe_la_code, local_authorities

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Boundaries
# ----------------------------------------------------------------------------------------------
class Boundaries:
    """English upper-tier LA polygons in EPSG:27700, with point-in-polygon lookups."""

    def __init__(self, gdf: gpd.GeoDataFrame) -> None:
        self.gdf = gdf

    @classmethod
    def load(cls, path: str | Path | None = None) -> Boundaries:
        path = Path(path) if path is not None else DEFAULT_BOUNDARIES
        return _load_boundaries_cached(str(path))

    def name(self, code: str) -> str:
        row = self.gdf.loc[self.gdf["code"] == code]
        return str(row["name"].iloc[0]) if len(row) else code

    def geometry(self, code: str) -> Any:
        row = self.gdf.loc[self.gdf["code"] == code]
        if not len(row):
            district = describe_la_code(code)
            if district is not None:
                la = local_authorities()[code]
                raise UnknownCodeError(
                    f"The council code {code} is not an upper-tier LA: {district}.",
                    fix=f"Use the code of the council with the sufficiency duty, here {la.utla_code} ({la.utla_name}).",
                )
            raise UnknownCodeError(
                f"The council code {code} is not in the boundaries file.",
                fix="Use the GSS code of an English upper-tier LA, e.g. E06000017 for Rutland.",
            )
        return row.geometry.iloc[0]

    def la_at(
        self, x: np.ndarray, y: np.ndarray, *, tolerance_m: float = ENGLAND_TOLERANCE_M
    ) -> np.ndarray:
        """Upper-tier LA code containing each point (nearest within ``tolerance_m``), else None."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape[0], None, dtype=object)
        valid = np.isfinite(x) & np.isfinite(y)
        if not valid.any():
            return out
        pts = gpd.GeoSeries(gpd.points_from_xy(x[valid], y[valid]), crs=BNG)
        tree = self.gdf.sindex
        inp, poly = tree.query(pts, predicate="intersects")
        res = np.full(pts.shape[0], None, dtype=object)
        res[inp] = self.gdf["code"].to_numpy()[poly]
        miss = np.flatnonzero(pd.isna(res))
        if miss.size and tolerance_m > 0:
            near_in, near_poly = tree.nearest(
                pts.iloc[miss], max_distance=tolerance_m, return_all=False
            )
            res[miss[near_in]] = self.gdf["code"].to_numpy()[near_poly]
        out[valid] = res
        return out

    def distance_to_england(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance (m) from each point to the nearest LA polygon (0 inside; NaN for missing points)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape[0], np.nan)
        valid = np.isfinite(x) & np.isfinite(y)
        if not valid.any():
            return out
        pts = gpd.GeoSeries(gpd.points_from_xy(x[valid], y[valid]), crs=BNG)
        tree = self.gdf.sindex
        _, dist = tree.nearest(pts, return_all=False, return_distance=True)
        out[valid] = dist
        return out


def _read_vector(path: Path, what: str, *, fix: str) -> gpd.GeoDataFrame:
    """A vector file (GeoPackage, GeoJSON, shapefile ...), or one clear error naming it."""
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises DataSourceError and others
        raise InputFileError(
            f"The {what} file {path.name} could not be read as a vector file ({type(err).__name__}).",
            fix=fix,
        ) from None


@cache
def _load_boundaries_cached(path: str) -> Boundaries:
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            f"The boundaries file {p} does not exist.",
            fix="Remove the 'boundaries' key to use the shipped England boundaries.",
        )
    gdf = _read_vector(
        p, "boundaries", fix="Give a GeoJSON/GeoPackage/Shapefile of ONS upper-tier LA boundaries."
    )
    code = next(
        (c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dCD", c, re.I)), None
    )
    name = next(
        (c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dNM", c, re.I)), None
    )
    if code is None:
        code = _find_col(gdf, "code", "la_code")
        name = _find_col(gdf, "name", "la_name")
    if code is None:
        raise InputFileError(
            f"The boundaries file {p.name} has no LA code column (e.g. UTLA23CD).",
            fix="Use ONS upper-tier LA boundaries with a UTLAyyCD column.",
        )
    out = gpd.GeoDataFrame(
        {
            "code": gdf[code].astype(str),
            "name": gdf[name].astype(str) if name else gdf[code].astype(str),
        },
        geometry=gdf.geometry,
        crs=gdf.crs or WGS84,
    ).to_crs(BNG)
    out["geometry"] = out.geometry.make_valid()
    return Boundaries(out.reset_index(drop=True))
