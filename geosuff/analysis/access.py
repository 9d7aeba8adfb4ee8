"""Access surfaces: rasters of travel time to the nearest site and of 2SFCA accessibility.

Each raster covers the council boundary plus a buffer on a grid aligned to whole multiples of the
cell size in British National Grid (EPSG:27700). A cell's value is computed for its *centre*,
joined to the road network exactly as any other point (:func:`geosuff.traveltime.snap_points`:
nearest road segment, access leg at the access speed):

* ``minutes_to_<type>.tif`` / ``minutes_to_any.tif``: car minutes from the cell centre to the
  nearest site of that type (:func:`geosuff.traveltime.nearest_minutes`);
* ``places_per_1000_<type>.tif``: two-step floating catchment area accessibility
  (:func:`geosuff.catchments.two_step_fca`) — places per 1,000 children reachable within
  ``fca_minutes`` of the cell centre, with site ratios from the demand layer (e.g. the LSOA
  population aged 0-17).

:func:`access_rasters` returns the arrays and their grid (:class:`AccessRaster`); it writes no
file (GeoTIFFs are written by :func:`geosuff.publication.rasters.write_rasters`).

Nodata (:data:`NODATA`) outside the boundary + buffer, where the centre is further than the snap
limit from any road, and (minutes rasters) where no site is reachable within ``minutes_cap``.
:func:`zonal_summary` reads a raster back and summarises it per zone (e.g. LSOA).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geosuff._errors import ConfigError, InputFileError
from geosuff.network import RoadGraph
from geosuff.reference import BNG

logger = logging.getLogger(__name__)

#: Default raster cell (m).
RASTER_CELL_M = 250.0
#: Default buffer (m) around the council boundary covered by the rasters.
RASTER_BUFFER_M = 5000.0
#: Default cap (minutes) of the travel-time rasters: slower cells are nodata.
MINUTES_CAP = 90.0
#: Default 2SFCA threshold (minutes).
FCA_MINUTES = 30.0
#: Nodata value written to every raster.
NODATA = -9999.0


# ------------------------------------------------------------------------------------------ grid


def _boundary(boundary_geom: Any) -> shapely.Geometry:
    """Boundary as one shapely geometry in EPSG:27700."""
    if isinstance(boundary_geom, gpd.GeoDataFrame | gpd.GeoSeries):
        g = boundary_geom if boundary_geom.crs is None else boundary_geom.to_crs(BNG)
        geom = shapely.union_all(
            g.geometry.to_numpy() if isinstance(g, gpd.GeoDataFrame) else g.to_numpy()
        )
    elif isinstance(boundary_geom, shapely.Geometry):
        geom = boundary_geom
    else:
        raise InputFileError(
            f"The council boundary must be a shapely geometry or GeoDataFrame, got {type(boundary_geom).__name__}.",
            fix="Pass the boundary polygon in EPSG:27700.",
        )
    if geom.is_empty:
        raise InputFileError(
            "The council boundary is empty.", fix="Check the council code and the boundaries file."
        )
    minx, miny, maxx, maxy = geom.bounds
    if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
        raise InputFileError(
            "The council boundary looks like longitude/latitude, not British National Grid metres.",
            fix="Reproject it to EPSG:27700 first (GeoDataFrame.to_crs(27700)) or pass the GeoDataFrame.",
        )
    return geom


def raster_grid(
    boundary_geom: Any, *, cell_m: float = RASTER_CELL_M, buffer_m: float = RASTER_BUFFER_M
) -> dict[str, Any]:
    """Grid covering ``boundary_geom`` buffered by ``buffer_m``, aligned to multiples of ``cell_m``.

    Returns
    -------
    dict
        ``transform`` (affine, EPSG:27700), ``width``, ``height``, ``cell_m``, ``inside`` (bool
        array (height, width): cell centre within the buffered boundary), ``x``/``y`` (cell-centre
        coordinates, arrays (height, width), metres), ``extent`` (the buffered boundary).
    """
    from affine import Affine
    from rasterio.features import geometry_mask

    cell = float(cell_m)
    if not (math.isfinite(cell) and cell > 0):
        raise ConfigError(
            f"Raster cell_m must be a positive number of metres, got {cell_m!r}.",
            fix="Use e.g. 250.",
        )
    if not (math.isfinite(float(buffer_m)) and float(buffer_m) >= 0):
        raise ConfigError(
            f"Raster buffer_m must be zero or more metres, got {buffer_m!r}.", fix="Use e.g. 5000."
        )
    extent = _boundary(boundary_geom).buffer(float(buffer_m))
    minx, miny, maxx, maxy = extent.bounds
    x0 = math.floor(minx / cell) * cell
    y1 = math.ceil(maxy / cell) * cell
    width = int(math.ceil((maxx - x0) / cell))
    height = int(math.ceil((y1 - miny) / cell))
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y1)
    inside = geometry_mask(
        [extent], out_shape=(height, width), transform=transform, invert=True, all_touched=False
    )
    xs = x0 + (np.arange(width) + 0.5) * cell
    ys = y1 - (np.arange(height) + 0.5) * cell
    X, Y = np.meshgrid(xs, ys)
    return {
        "transform": transform,
        "width": width,
        "height": height,
        "cell_m": cell,
        "inside": inside,
        "x": X,
        "y": Y,
        "extent": extent,
    }


@dataclass(frozen=True, eq=False)
class AccessRaster:
    """One access surface: a single-band float32 array on a north-up grid.

    Attributes
    ----------
    name : str
        e.g. ``minutes_to_any`` (the GeoTIFF is ``<name>.tif``).
    array : numpy.ndarray
        float32 (height, width), :attr:`nodata` where there is no value.
    transform : affine.Affine
        Cell -> EPSG:27700 coordinates.
    crs : str
        ``EPSG:27700``.
    nodata : float
        :data:`NODATA`.
    description : str
        Band description.
    units : str
        Value units.
    tags : dict
        Method metadata (written as GeoTIFF tags).
    """

    name: str
    array: np.ndarray
    transform: Any
    crs: str
    nodata: float
    description: str = ""
    units: str = ""
    tags: dict[str, Any] = field(default_factory=dict)


def _raster(
    name: str,
    values: np.ndarray,
    grid: dict[str, Any],
    *,
    description: str,
    units: str,
    tags: dict[str, Any],
) -> AccessRaster:
    data = np.where(np.isfinite(values), values, NODATA).astype(np.float32)
    return AccessRaster(
        name=name,
        array=data,
        transform=grid["transform"],
        crs=BNG,
        nodata=NODATA,
        description=description,
        units=units,
        tags=dict(tags),
    )


def _slug(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", str(value)).strip("_").lower() or "unknown"


# -------------------------------------------------------------------------------------- rasters


def _demand_xy(demand: gpd.GeoDataFrame, weight_col: str) -> tuple[np.ndarray, np.ndarray]:
    if weight_col not in demand.columns:
        raise InputFileError(
            f"The demand layer has no {weight_col!r} column.",
            fix="Pass weight_col= naming its population column.",
        )
    d = demand if demand.crs is None else demand.to_crs(BNG)
    pts = d.geometry.representative_point()
    xy = np.column_stack([pts.x.to_numpy(float), pts.y.to_numpy(float)])
    w = pd.to_numeric(d[weight_col], errors="coerce").fillna(0.0).to_numpy(float)
    return xy, w


def access_rasters(
    graph: RoadGraph,
    sites: pd.DataFrame,
    boundary_geom: Any,
    *,
    demand: gpd.GeoDataFrame,
    cell_m: float = RASTER_CELL_M,
    buffer_m: float = RASTER_BUFFER_M,
    minutes_cap: float = MINUTES_CAP,
    fca_minutes: float = FCA_MINUTES,
    weight_col: str = "pop_0_17",
    places_col: str | None = None,
    settings: Any = None,
) -> dict[str, AccessRaster]:
    """Travel-time and 2SFCA rasters (EPSG:27700) for each site type, in memory.

    Parameters
    ----------
    graph : RoadGraph
    sites : pandas.DataFrame
        ``site_id``, ``type``, ``easting``, ``northing`` and places (``available_places`` if
        present, else ``places``). Sites further than the snap limit from a road are left out
        (logged). Not modified.
    boundary_geom : shapely geometry or GeoDataFrame
        Council boundary (EPSG:27700 for a bare geometry).
    demand : geopandas.GeoDataFrame
        Demand points/polygons with ``weight_col`` for the 2SFCA site ratios (e.g. the LSOA
        points with children aged 0-17). Demand points off the road network are left out.
    cell_m : float
        Cell size (m), default :data:`RASTER_CELL_M`.
    buffer_m : float
        Buffer (m) around the boundary, default :data:`RASTER_BUFFER_M`.
    minutes_cap : float
        Travel-time rasters are nodata beyond this many minutes (default :data:`MINUTES_CAP`).
    fca_minutes : float
        2SFCA threshold (minutes), default :data:`FCA_MINUTES`.
    weight_col : str
        Demand weight column.
    places_col : str, optional
        Places column (default ``available_places`` if present, else ``places``; without either,
        no 2SFCA rasters are made).
    settings : geosuff.traveltime.SnapSettings, optional

    Returns
    -------
    dict of str to AccessRaster
        ``minutes_to_<type>``, ``minutes_to_any`` and ``places_per_1000_<type>`` -> raster (write
        them with :func:`geosuff.publication.rasters.write_rasters`).
    """
    from geosuff import routing as tt
    from geosuff.analysis.catchments import two_step_fca

    for name, val in (("minutes_cap", minutes_cap), ("fca_minutes", fca_minutes)):
        if not (math.isfinite(float(val)) and float(val) > 0):
            raise ConfigError(
                f"{name} must be a positive number of minutes, got {val!r}.", fix="Use e.g. 60."
            )
    missing = [c for c in ("type", "easting", "northing") if c not in sites.columns]
    if missing:
        raise InputFileError(
            f"The sites table has no {', '.join(missing)} column(s).",
            fix="Give each site a type, easting and northing.",
        )
    snap = settings or tt.SnapSettings()
    grid = raster_grid(boundary_geom, cell_m=cell_m, buffer_m=buffer_m)

    sx = pd.to_numeric(sites["easting"], errors="coerce").to_numpy(float)
    sy = pd.to_numeric(sites["northing"], errors="coerce").to_numpy(float)
    s_snap = tt.snap_points(graph, sx, sy, settings=snap)
    on = s_snap.on_network
    if (~on).any():
        ids = (
            sites["site_id"].to_numpy()[~on] if "site_id" in sites.columns else np.flatnonzero(~on)
        )
        logger.warning(
            "%d site(s) left out of the access rasters (not on the road network): %s",
            int((~on).sum()),
            ", ".join(map(str, ids)),
        )
    s = sites.reset_index(drop=True)[on].reset_index(drop=True)
    s_xy = np.column_stack([sx[on], sy[on]])

    inside = grid["inside"]
    cx, cy = grid["x"][inside], grid["y"][inside]
    c_xy = np.column_stack([cx, cy])
    c_snap = tt.snap_points(graph, cx, cy, settings=snap)
    c_on = c_snap.on_network
    tags = {
        "method": "car minutes from the cell centre snapped to the nearest road (geosuff.traveltime)",
        "cell_m": grid["cell_m"],
        "buffer_m": float(buffer_m),
        "max_snap_m": snap.max_snap_m,
        "access_speed_kph": snap.access_speed_kph,
    }
    written: dict[str, AccessRaster] = {}
    if s.empty:
        logger.warning("no sites on the road network: no access rasters made")
        return written
    types = [t for t in pd.unique(s["type"].astype(str))]
    groups: list[tuple[str, np.ndarray]] = [
        (t, (s["type"].astype(str) == t).to_numpy()) for t in sorted(types)
    ]
    groups.append(("any", np.ones(len(s), dtype=bool)))
    for typ, sel in groups:
        mins = np.full(inside.shape, np.nan)
        vals = tt.nearest_minutes(
            graph, s_xy[sel], c_xy, max_minutes=float(minutes_cap), settings=snap
        )
        mins[inside] = np.where(c_on, vals, np.nan)
        name = f"minutes_to_{_slug(typ)}"
        written[name] = _raster(
            name,
            mins,
            grid,
            description=f"minutes to the nearest {typ} site"
            if typ != "any"
            else "minutes to the nearest site",
            units="minutes",
            tags={**tags, "minutes_cap": float(minutes_cap)},
        )

    pcol = places_col or (
        "available_places"
        if "available_places" in s.columns
        else "places"
        if "places" in s.columns
        else None
    )
    if pcol is None:
        logger.info("sites have no places column: no 2SFCA rasters made")
        return written
    if pcol not in s.columns:
        raise InputFileError(
            f"The sites table has no {pcol!r} column.",
            fix="Pass places_col= naming the places column.",
        )
    d_xy, d_w = _demand_xy(demand, weight_col)
    places = pd.to_numeric(s[pcol], errors="coerce").fillna(0.0).to_numpy(float)
    d_od = tt.od_matrix(graph, d_xy, s_xy, max_minutes=float(fca_minutes), settings=snap)
    d_min = np.where(d_od.estimated, np.nan, d_od.minutes)
    c_od = tt.od_matrix(graph, c_xy[c_on], s_xy, max_minutes=float(fca_minutes), settings=snap)
    c_within = np.nan_to_num(np.where(c_od.estimated, np.nan, c_od.minutes), nan=np.inf) <= float(
        fca_minutes
    )
    for typ, sel in groups[:-1]:
        _, ratio = two_step_fca(
            d_min[:, sel], d_w, places[sel], max_minutes=float(fca_minutes), return_ratios=True
        )
        vals = (c_within[:, sel].astype(float) @ ratio) * 1000.0
        grid_vals = np.full(inside.shape, np.nan)
        cell_vals = np.full(cx.shape[0], np.nan)
        cell_vals[c_on] = vals
        grid_vals[inside] = cell_vals
        name = f"places_per_1000_{_slug(typ)}"
        written[name] = _raster(
            name,
            grid_vals,
            grid,
            description=f"2SFCA: {typ} places per 1,000 children within {fca_minutes:g} minutes",
            units="places per 1,000 children",
            tags={
                **tags,
                "fca_minutes": float(fca_minutes),
                "places_col": pcol,
                "demand_weight": weight_col,
                "demand_points": len(d_w),
            },
        )
    return written


# ---------------------------------------------------------------------------------- zonal stats


def zonal_summary(
    raster_path: str | Path, zones_gdf: gpd.GeoDataFrame, id_col: str
) -> pd.DataFrame:
    """Summarise a raster per zone (e.g. minutes per LSOA).

    Cells are assigned to the zone containing their centre (:func:`rasterio.features.rasterize`
    of zone numbers); a zone containing no cell centre takes the cell under its representative
    point.

    Parameters
    ----------
    raster_path : str or Path
        Single-band GeoTIFF (e.g. written by :func:`geosuff.publication.rasters.write_rasters`).
    zones_gdf : geopandas.GeoDataFrame
        Zone polygons (reprojected to the raster CRS when they have a CRS).
    id_col : str
        Zone id column.

    Returns
    -------
    pandas.DataFrame
        One row per zone in input order: ``id_col``, ``cells``, ``cells_valid`` (not nodata),
        ``mean``, ``min``, ``max`` (NaN when no valid cell).
    """
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import rowcol

    if id_col not in zones_gdf.columns:
        raise InputFileError(
            f"The zones have no {id_col!r} column.", fix="Pass id_col= naming the zone id column."
        )
    path = Path(raster_path)
    if not path.is_file():
        raise InputFileError(
            f"Raster not found: {path}.",
            fix="Write it with geosuff.publication.rasters.write_rasters first.",
        )
    with rasterio.open(path) as src:
        band = src.read(1, masked=True)
        transform = src.transform
        crs = src.crs
    zones = zones_gdf if zones_gdf.crs is None or crs is None else zones_gdf.to_crs(crs)
    n = len(zones)
    geoms = zones.geometry.to_numpy()
    labels = rasterize(
        [(g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty],
        out_shape=band.shape,
        transform=transform,
        fill=0,
        dtype="int32",
        all_touched=False,
    )
    values = band.filled(np.nan).astype(np.float64)
    lab = labels.ravel()
    val = values.ravel()
    cells = np.bincount(lab, minlength=n + 1)[1:].astype(np.int64)
    # zones smaller than a cell: the cell under the representative point
    extra_lab: list[int] = []
    extra_val: list[float] = []
    for i in np.flatnonzero(cells == 0):
        g = geoms[i]
        if g is None or g.is_empty:
            continue
        p = g.representative_point()
        r, c = rowcol(transform, p.x, p.y, op=math.floor)
        if 0 <= r < values.shape[0] and 0 <= c < values.shape[1]:
            extra_lab.append(int(i) + 1)
            extra_val.append(float(values[r, c]))
            cells[i] = 1
    lab = np.concatenate([lab, np.asarray(extra_lab, dtype=lab.dtype)])
    val = np.concatenate([val, np.asarray(extra_val, dtype=np.float64)])
    ok = (lab > 0) & np.isfinite(val)
    df = pd.DataFrame({"zone": lab[ok] - 1, "v": val[ok]})
    agg = df.groupby("zone")["v"].agg(["count", "mean", "min", "max"]).reindex(range(n))
    return pd.DataFrame(
        {
            id_col: zones[id_col].to_numpy(),
            "cells": cells,
            "cells_valid": agg["count"].fillna(0).astype(np.int64).to_numpy(),
            "mean": agg["mean"].to_numpy(),
            "min": agg["min"].to_numpy(),
            "max": agg["max"].to_numpy(),
        }
    )
