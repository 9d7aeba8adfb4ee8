"""Access surfaces (geosuff.access): travel-time and 2SFCA rasters, zonal summaries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.features import geometry_mask

from geosuff import routing as tt
from geosuff._errors import ConfigError, InputFileError
from geosuff.analysis import access as A
from geosuff.analysis import catchments as C
from geosuff.network import RoadGraph
from geosuff.publication.rasters import write_rasters

DATA = Path(__file__).resolve().parents[2] / "geosuff" / "data"


def _read(path: Path) -> tuple[np.ndarray, rasterio.Affine, dict]:
    with rasterio.open(path) as src:
        band = src.read(1, masked=True)
        meta = {
            "crs": src.crs,
            "res": src.res,
            "nodata": src.nodata,
            "tags": src.tags(),
            "desc": src.descriptions[0],
        }
        return band.filled(np.nan).astype(float), src.transform, meta


def _centres(transform: rasterio.Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.indices(shape)
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    return x, y


# ---------------------------------------------------------------------------- known answer


def test_straight_road_raster_matches_the_hand_computed_times(tmp_path: Path) -> None:
    """Site at the end of a 10 km road: time = off-road leg at 20 km/h + road at 36 km/h."""
    n = 101
    x = np.arange(n) * 100.0
    y = np.zeros(n)
    u = np.r_[np.arange(n - 1), np.arange(1, n)]
    v = np.r_[np.arange(1, n), np.arange(n - 1)]
    g = RoadGraph.from_arrays(x, y, u, v, time_s=np.full(u.shape, 10.0))  # 100 m in 10 s
    sites = pd.DataFrame(
        {"site_id": ["s"], "type": ["childrens_home"], "easting": [0.0], "northing": [0.0]}
    )
    no_demand = gpd.GeoDataFrame({"pop_0_17": []}, geometry=[], crs=27700)
    made = A.access_rasters(
        g,
        sites,
        shapely.box(0, -500, 10000, 500),
        demand=no_demand,
        cell_m=250,
        buffer_m=0,
        minutes_cap=60,
    )
    assert set(made) == {"minutes_to_childrens_home", "minutes_to_any"}  # no places: no 2SFCA
    assert not any(tmp_path.iterdir())  # analysis writes no file
    r = made["minutes_to_childrens_home"]
    assert r.array.dtype == np.float32 and r.array.shape == (4, 40) and r.crs == "EPSG:27700"
    assert r.nodata == A.NODATA and r.transform == Affine(250.0, 0.0, 0.0, 0.0, -250.0, 500.0)
    out = write_rasters(made, tmp_path)
    assert out["minutes_to_any"] == tmp_path / "minutes_to_any.tif"
    vals, transform, meta = _read(out["minutes_to_childrens_home"])
    assert (
        vals.shape == (4, 40) and meta["res"] == (250.0, 250.0) and meta["crs"].to_epsg() == 27700
    )
    assert meta["nodata"] == A.NODATA and meta["tags"]["units"] == "minutes"
    cx, cy = _centres(transform, vals.shape)
    expected = (np.abs(cy) / (20 / 3.6) + cx / 10.0) / 60.0
    assert np.allclose(vals, expected, atol=1e-4)


# ---------------------------------------------------------------------------- Rutland


@pytest.fixture(scope="module")
def rutland() -> RoadGraph:
    from geosuff.network import build_graph

    return build_graph(DATA / "rutland-latest.osm.pbf", use_cache=False)


@pytest.fixture(scope="module")
def lsoa() -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / "lsoa11_rutland.geojson").to_crs(27700)


@pytest.fixture(scope="module")
def sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["oakham", "uppingham", "empingham", "nowhere"],
            "type": [
                "childrens_home",
                "childrens_home",
                "supported_accommodation",
                "childrens_home",
            ],
            "places": [4, 3, 6, 2],
            "available_places": [0, 3, 2, 2],
            "easting": [
                486100.0,
                486700.0,
                495100.0,
                540000.0,
            ],  # the last is 30 km off the extract
            "northing": [308700.0, 299800.0, 308500.0, 340000.0],
        }
    )


@pytest.fixture(scope="module")
def demand() -> gpd.GeoDataFrame:
    pts = pd.read_csv(DATA / "lsoa11_pop0_17_mid2020_england.csv.gz")
    pts = pts[pts["UTLA23CD"] == "E06000017"]
    return gpd.GeoDataFrame(
        {"pop_0_17": pts["pop_0_17"].to_numpy(float)},
        geometry=shapely.points(pts["easting"], pts["northing"]),
        crs=27700,
    )


@pytest.fixture(scope="module")
def rasters(
    tmp_path_factory: pytest.TempPathFactory,
    rutland: RoadGraph,
    sites: pd.DataFrame,
    lsoa: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("rasters")
    return write_rasters(
        A.access_rasters(rutland, sites, lsoa, cell_m=250, buffer_m=2000, demand=demand), out
    )


def test_rutland_rasters_are_written_with_metadata(
    rasters: dict[str, Path], lsoa: gpd.GeoDataFrame
) -> None:
    assert set(rasters) == {
        "minutes_to_childrens_home",
        "minutes_to_supported_accommodation",
        "minutes_to_any",
        "places_per_1000_childrens_home",
        "places_per_1000_supported_accommodation",
    }
    vals, transform, meta = _read(rasters["minutes_to_childrens_home"])
    assert meta["crs"].to_epsg() == 27700 and meta["res"] == (250.0, 250.0)
    assert transform.c % 250 == 0 and transform.f % 250 == 0  # aligned to the BNG grid
    # nodata outside the boundary + buffer
    extent = shapely.union_all(lsoa.geometry.to_numpy()).buffer(2000)
    outside = geometry_mask([extent], out_shape=vals.shape, transform=transform)
    assert np.isnan(vals[outside]).all()
    # the extract stops at the county edge: buffer cells > 1 km beyond it and Rutland Water are nodata
    assert np.isfinite(vals[~outside]).mean() > 0.8


@pytest.mark.parametrize(
    "name,types",
    [
        ("minutes_to_childrens_home", ["childrens_home"]),
        ("minutes_to_supported_accommodation", ["supported_accommodation"]),
        ("minutes_to_any", None),
    ],
)
def test_raster_values_equal_engine_times_at_cell_centres(
    rasters: dict[str, Path],
    rutland: RoadGraph,
    sites: pd.DataFrame,
    lsoa: gpd.GeoDataFrame,
    name: str,
    types: list[str] | None,
) -> None:
    vals, transform, _ = _read(rasters[name])
    cx, cy = _centres(transform, vals.shape)
    s = sites if types is None else sites[sites["type"].isin(types)]
    rng = np.random.default_rng(3)
    valid = np.flatnonzero(np.isfinite(vals.ravel()))
    pick = rng.choice(valid, 400, replace=False)
    od = tt.od_matrix(
        rutland,
        np.column_stack([cx.ravel()[pick], cy.ravel()[pick]]),
        s[["easting", "northing"]].to_numpy(float),
    )
    routed = np.where(od.estimated, np.nan, od.minutes)
    assert np.allclose(vals.ravel()[pick], np.nanmin(routed, axis=1), rtol=1e-6, atol=1e-4)
    # nodata cells inside the buffered boundary are exactly those the engine cannot snap
    # (centre more than max_snap_m from a road, e.g. the middle of Rutland Water)
    extent = shapely.union_all(lsoa.geometry.to_numpy()).buffer(2000)
    in_ext = geometry_mask([extent], out_shape=vals.shape, transform=transform, invert=True).ravel()
    nod = np.flatnonzero(np.isnan(vals.ravel()) & in_ext)
    assert nod.size > 0
    sn = tt.snap_points(rutland, cx.ravel()[nod], cy.ravel()[nod])
    assert not sn.on_network.any()
    assert (sn.snap_m > tt.SnapSettings().max_snap_m).all()


def test_2sfca_raster_matches_the_formula(
    rasters: dict[str, Path], rutland: RoadGraph, sites: pd.DataFrame, demand: gpd.GeoDataFrame
) -> None:
    vals, transform, meta = _read(rasters["places_per_1000_childrens_home"])
    assert (
        meta["tags"]["units"] == "places per 1,000 children"
        and meta["tags"]["places_col"] == "available_places"
    )
    homes = sites[(sites["type"] == "childrens_home") & (sites["site_id"] != "nowhere")]
    dxy = np.column_stack([demand.geometry.x, demand.geometry.y])
    t_dem = tt.od_matrix(rutland, dxy, homes[["easting", "northing"]].to_numpy(float)).minutes
    pop = demand["pop_0_17"].to_numpy(float)
    avail = homes["available_places"].to_numpy(float)  # Oakham is full (0 available)
    ratio = [avail[j] / pop[t_dem[:, j] <= 30].sum() for j in range(len(homes))]
    assert ratio[0] == 0.0
    cx, cy = _centres(transform, vals.shape)
    valid = np.flatnonzero(np.isfinite(vals.ravel()))
    pick = np.random.default_rng(5).choice(valid, 300, replace=False)
    t_cell = tt.od_matrix(
        rutland,
        np.column_stack([cx.ravel()[pick], cy.ravel()[pick]]),
        homes[["easting", "northing"]].to_numpy(float),
    ).minutes
    expected = 1000 * ((t_cell <= 30) * np.array(ratio)).sum(axis=1)
    assert np.allclose(vals.ravel()[pick], expected, rtol=1e-5, atol=1e-6)
    # cells beyond 30 minutes of Uppingham are gaps (0), not nodata; cells near it are served
    assert (vals.ravel()[valid] == 0).any() and (vals.ravel()[valid] > 0).any()
    # the core function on the demand x site matrix gives the same ratios, per LSOA
    a, r = C.two_step_fca(t_dem, pop, avail, max_minutes=30, return_ratios=True)
    assert r == pytest.approx(ratio)
    assert a == pytest.approx(1000 * ((t_dem <= 30) * np.array(ratio)).sum(axis=1))


def test_zonal_summary_matches_a_direct_mask_computation(
    rasters: dict[str, Path], lsoa: gpd.GeoDataFrame
) -> None:
    path = rasters["minutes_to_any"]
    z = A.zonal_summary(path, lsoa, "lsoa11_code")
    assert list(z["lsoa11_code"]) == list(lsoa["lsoa11_code"])
    vals, transform, _ = _read(path)
    for geom, (_, row) in zip(lsoa.geometry, z.iterrows(), strict=True):
        inside = geometry_mask([geom], out_shape=vals.shape, transform=transform, invert=True)
        v = vals[inside]
        assert row["cells"] == inside.sum()
        assert row["cells_valid"] == np.isfinite(v).sum()
        assert row["mean"] == pytest.approx(np.nanmean(v)) and row["max"] == pytest.approx(
            np.nanmax(v)
        )
    assert (z["mean"] <= z["max"]).all() and (z["min"] <= z["mean"]).all()


def test_zonal_summary_small_and_empty_zones(tmp_path: Path) -> None:
    path = tmp_path / "r.tif"
    data = np.arange(16, dtype=np.float32).reshape(4, 4)
    data[3, 3] = A.NODATA
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:27700",
        transform=Affine(100, 0, 0, 0, -100, 400),
        nodata=A.NODATA,
    ) as dst:
        dst.write(data, 1)
    zones = gpd.GeoDataFrame(
        {"id": ["left", "tiny", "hole"]},
        geometry=[
            shapely.box(0, 0, 200, 400),
            shapely.box(210, 310, 220, 320),
            shapely.box(300, 0, 400, 100),
        ],
        crs="EPSG:27700",
    )
    z = A.zonal_summary(path, zones, "id").set_index("id")
    left = data[:, :2]
    assert (
        z.loc["left", "cells"] == 8
        and z.loc["left", "mean"] == pytest.approx(left.mean())
        and z.loc["left", "max"] == 13
    )
    assert z.loc["tiny", "cells"] == 1 and z.loc["tiny", "mean"] == 2.0  # the cell under the point
    assert (
        z.loc["hole", "cells"] == 1
        and z.loc["hole", "cells_valid"] == 0
        and np.isnan(z.loc["hole", "mean"])
    )


def test_bad_inputs_raise_with_a_fix(
    rutland: RoadGraph, sites: pd.DataFrame, demand: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    with pytest.raises(InputFileError, match="longitude"):
        A.access_rasters(rutland, sites, shapely.box(-0.8, 52.5, -0.5, 52.7), demand=demand)
    with pytest.raises(ConfigError, match="cell_m"):
        A.access_rasters(
            rutland, sites, shapely.box(480000, 300000, 490000, 310000), demand=demand, cell_m=0
        )
    with pytest.raises(InputFileError, match="zone"):
        A.zonal_summary(
            tmp_path / "missing.tif",
            gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(0, 0, 1, 1)]),
            "b",
        )
