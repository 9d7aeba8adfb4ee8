"""The whole job: ``run(scenario) -> Results``.

Data flows one way: inputs → road network → travel times → catchments / placement measures and
gaps → site scoring and selection → outputs (map, report, GeoPackage, CSVs, manifest).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geosuff import __version__
from geosuff._lock import output_lock
from geosuff.analysis.catchments import ACCESS_DISTANCE_M
from geosuff.analysis.leaver_stage import (
    care_leaver_stage,
    leaver_reconciliation,
    leaver_results,
    projection_stage,
    siting_demand_extras,
    with_leaver_demand,
)
from geosuff.analysis.subgroups import available_breakdowns, gap_needs
from geosuff.analysis.trend import (
    TrendRecords,
    snapshot_date,
    snapshot_years,
    trend_records,
    trend_table,
)
from geosuff.config import Scenario, load_config, road_times
from geosuff.config import sections as settings
from geosuff.config.database import DatabaseTable
from geosuff.config.siting import scenario_uses
from geosuff.inputs import (
    Boundaries,
    Issue,
    Loaded,
    default_lookup,
    default_reference_date,
    load_areas,
    load_candidates,
    load_lsoa_points,
    load_placements,
    load_sites,
    site_types,
)
from geosuff.reference import BNG
from geosuff.results import Linkage, Results, RunGraphMeta

if TYPE_CHECKING:
    from geosuff.siting import Selection

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]

STAGES = [
    "load inputs",
    "road network",
    "travel times",
    "catchments",
    "placement measures and gaps",
    "site scoring",
    "outputs",
]


@dataclass
class _Clock:
    progress: ProgressFn | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        i = STAGES.index(name) if name in STAGES else len(STAGES) - 1
        if self.progress:
            self.progress(name, i, len(STAGES))
        logger.info("stage: %s", name)
        t = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t, 3)
        logger.info("stage %s took %.2f s", name, self.timings[name])


# ----------------------------------------------------------------------------------------------
def load_inputs(scenario: Scenario) -> dict[str, Any]:
    """Load and validate every input table (nothing dropped; see ``status``/``reason``)."""
    boundaries = Boundaries.load(scenario.inputs.boundaries)
    boundaries.geometry(scenario.council)  # raises a clear error for an unknown council
    lookup = default_lookup(scenario.inputs.postcodes, fallback=scenario.inputs.use_onspd_fallback)
    ref = scenario.analysis.reference_date or default_reference_date()
    placements = load_placements(
        scenario.inputs.placements, lookup=lookup, boundaries=boundaries, reference_date=ref
    )
    sites = load_sites(scenario.inputs.sites, lookup=lookup, boundaries=boundaries)
    candidates = (
        load_candidates(
            scenario.inputs.candidates,
            lookup=lookup,
            boundaries=boundaries,
            uses=scenario_uses(scenario.siting),
        )
        if scenario.inputs.candidates
        else None
    )
    return {
        "boundaries": boundaries,
        "lookup": lookup,
        "subareas": _subareas(scenario),
        "placements": placements,
        "sites": sites,
        "candidates": candidates,
        "reference_date": ref,
    }


def _subareas(scenario: Scenario) -> gpd.GeoDataFrame | None:
    """The ``[inputs] subareas`` layer (None when not configured)."""
    from geosuff.inputs.subareas import load_subareas

    i = scenario.inputs
    return None if i.subareas is None else load_subareas(i.subareas, name_column=i.subareas_name)


def _home_breakdowns(scenario: Scenario, inp: dict[str, Any], m: pd.DataFrame) -> pd.DataFrame:
    """District and sub-area of each child's home (:mod:`geosuff.analysis.subgroups`)."""
    from geosuff.analysis.subgroups import add_home_breakdowns

    return add_home_breakdowns(m, council=scenario.council, subareas=inp.get("subareas"))


def _year_measures(
    scenario: Scenario, inp: dict[str, Any], measures: pd.DataFrame, year: int
) -> pd.DataFrame:
    """Placement measures of the snapshot at 31 March ``year`` (travel times from ``measures``,
    by input row: the same episodes, so the same journeys).
    """
    from geosuff.analysis import distance

    a = scenario.analysis
    pt = load_placements(
        scenario.inputs.placements,
        lookup=inp["lookup"],
        boundaries=inp["boundaries"],
        reference_date=snapshot_date(year),
    ).table
    by_row = pd.Series(
        pd.to_numeric(measures["road_minutes"], errors="coerce").to_numpy(float),
        index=pd.to_numeric(measures["row"]).to_numpy(),
    )
    mins = pd.to_numeric(pt["row"]).map(by_row).to_numpy(float)
    out = distance.placement_measures(
        pt,
        council=scenario.council,
        far_miles=a.far_miles,
        boundaries=inp["boundaries"],
        road_minutes=mins,
        far_minutes=a.far_minutes,
    )
    out = _home_breakdowns(scenario, inp, out)
    if inp.get("areas") is not None:
        out["home_district"] = home_districts(pt, inp["areas"])
    return out


def home_districts(pt: pd.DataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Lower-tier LA (district) code of each row's home, by the small area containing it ("" =
    not known): the projection's home-district series.
    """
    aid = assign_area(pt["home_e"].to_numpy(float), pt["home_n"].to_numpy(float), areas)
    if "district_code" not in areas.columns:
        return np.full(len(pt), "", dtype=object)
    of = dict(zip(areas["area_id"].astype(str), areas["district_code"].astype(str), strict=True))
    return np.array([of.get(str(a), "") if a is not None else "" for a in aid], dtype=object)


def placement_trend(
    scenario: Scenario, inp: dict[str, Any], measures: pd.DataFrame
) -> TrendRecords | None:
    """The children of each year's 31 March snapshot (``[analysis] years``, default every 31
    March the episodes cover); None when the placements have no start dates (DECOM).
    """
    pt = inp["placements"].table
    ref = inp["reference_date"]
    if "DECOM" not in pt.columns or not pt["DECOM"].notna().any():
        logger.info("trend not measured: the placements have no episode start dates (DECOM)")
        return None
    years = scenario.analysis.years or snapshot_years(pt["DECOM"], pt["DEC"], until=ref)
    later = [y for y in years if snapshot_date(y) > ref]
    if later:
        logger.warning("trend: years %s are after the reference date %s; left out", later, ref)
    own = ref.year if snapshot_date(ref.year) == ref else None
    by_year = {
        int(y): measures if y == own else _year_measures(scenario, inp, measures, int(y))
        for y in years
        if snapshot_date(y) <= ref
    }
    routed = {int(r) for r in pd.to_numeric(measures["row"]).to_numpy()}
    return trend_records(
        by_year,
        local_minutes=scenario.analysis.local_minutes,
        routed_rows=routed,
        reference_year=own,
    )


def neighbours_and_centres(
    council: str, boundaries: Boundaries
) -> tuple[gpd.GeoDataFrame, dict[str, tuple[float, float]]]:
    """The LAs adjoining ``council`` and every LA's representative point, from ``boundaries``.

    Computed once per run from the scenario's own ``[inputs] boundaries`` and kept in
    :class:`Results` (``neighbours``, ``la_centres``) so publication never re-reads inputs.
    """
    from geosuff.analysis.distance import adjacent_las

    gdf = boundaries.gdf
    codes = adjacent_las(council, boundaries)
    neighbours = (
        gdf[gdf["code"].isin(codes)][["code", "name", "geometry"]].copy().reset_index(drop=True)
    )
    g = gdf.to_crs(BNG) if gdf.crs is not None else gdf
    rp = g.geometry.representative_point()
    centres = {str(c): (float(x), float(y)) for c, x, y in zip(g["code"], rp.x, rp.y, strict=True)}
    return neighbours, centres


def council_areas(scenario: Scenario, boundaries: Boundaries) -> gpd.GeoDataFrame:
    """Small areas of the council with child population.

    LSOA polygons when supplied (or shipped, for Rutland); otherwise Voronoi cells of the LSOA
    representative points clipped to the council boundary (stated in the report).
    """
    areas = load_areas(scenario.inputs.areas, council=scenario.council)
    if areas is not None:
        areas = areas.copy()
        areas["area_method"] = "LSOA 2011 polygons"
    else:
        pts = load_lsoa_points(utla={scenario.council})
        geom = boundaries.geometry(scenario.council)
        mp = shapely.multipoints(np.c_[pts["easting"], pts["northing"]])
        cells = shapely.get_parts(shapely.voronoi_polygons(mp, extend_to=geom.buffer(5000)))
        pts_geom = gpd.points_from_xy(pts["easting"], pts["northing"])
        tree = shapely.STRtree(cells)
        idx_pt, idx_cell = tree.query(pts_geom, predicate="within")
        order = np.empty(len(pts), dtype=int)
        order[idx_pt] = idx_cell
        polys = shapely.intersection(cells[order], geom)
        areas = gpd.GeoDataFrame(
            {
                "area_id": pts["lsoa11_code"],
                "area_name": pts["lsoa11_name"],
                "pop_0_17": pts["pop_0_17"].astype(float),
            },
            geometry=polys,
            crs=BNG,
        )
        areas["area_method"] = "Voronoi cells of LSOA 2011 representative points"
    if "district_code" not in areas.columns:
        # district (lower-tier LA) of each LSOA: a coarser level for gap areas
        lsoa = load_lsoa_points().set_index("lsoa11_code")
        aid = areas["area_id"].astype(str)
        areas["district_code"] = aid.map(lsoa["LTLA23CD"]).fillna("").to_numpy(dtype=object)
        areas["district_name"] = aid.map(lsoa["LTLA23NM"]).fillna("").to_numpy(dtype=object)
    rp = areas.geometry.representative_point()
    areas["easting"] = rp.x.to_numpy()
    areas["northing"] = rp.y.to_numpy()
    return areas.reset_index(drop=True)


def assign_area(x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Area id containing each point (None outside every area or where the point is unknown)."""
    out = np.full(len(x), None, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return out
    pts = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), crs=BNG)
    ip, ia = areas.sindex.query(pts, predicate="intersects")
    res = np.full(ok.sum(), None, dtype=object)
    res[ip] = areas["area_id"].to_numpy()[ia]
    out[ok] = res
    return out


# ----------------------------------------------------------------------------------------------
def _pair_times(
    graph: Any, home_xy: np.ndarray, pl_xy: np.ndarray, snap: Any, *, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Road minutes, km and estimated flag for each (home, placement) pair (NaN if a point is unknown)."""
    from geosuff import routing as traveltime

    n = home_xy.shape[0]
    minutes = np.full(n, np.nan)
    km = np.full(n, np.nan)
    est = np.zeros(n, dtype=bool)
    ok = np.isfinite(home_xy).all(axis=1) & np.isfinite(pl_xy).all(axis=1)
    if not ok.any():
        return minutes, km, est
    idx = np.flatnonzero(ok)
    hu, hinv = np.unique(home_xy[idx], axis=0, return_inverse=True)
    hinv = hinv.ravel()
    for start in range(0, hu.shape[0], chunk):
        sel = np.flatnonzero((hinv >= start) & (hinv < start + chunk))
        rows = idx[sel]
        pu, pinv = np.unique(pl_xy[rows], axis=0, return_inverse=True)
        od = traveltime.od_matrix(graph, hu[start : start + chunk], pu, settings=snap)
        r = hinv[sel] - start
        c = pinv.ravel()
        minutes[rows] = od.minutes[r, c]
        km[rows] = od.km[r, c]
        est[rows] = od.estimated[r, c]
    return minutes, km, est


def _xy(df: pd.DataFrame, e: str = "easting", n: str = "northing") -> np.ndarray:
    return np.c_[
        pd.to_numeric(df[e], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(df[n], errors="coerce").to_numpy(dtype=float),
    ]


def area_minutes_to_types(
    areas_minutes: np.ndarray, sites: pd.DataFrame, areas: pd.DataFrame, *, spare_only: bool
) -> pd.DataFrame:
    """Minutes from each area to the nearest site of each type (with spare places if asked)."""
    cols = {}
    for typ in site_types()["type"]:
        m = (sites["type"] == typ).to_numpy()
        if spare_only:
            m &= pd.to_numeric(sites["available_places"], errors="coerce").fillna(0).to_numpy() > 0
        if m.any():
            cols[typ] = np.nanmin(
                np.where(np.isnan(areas_minutes[:, m]), np.inf, areas_minutes[:, m]), axis=1
            )
        else:
            cols[typ] = np.full(len(areas), np.inf)
    df = pd.DataFrame(cols, index=areas["area_id"].to_numpy())
    return df.replace(np.inf, np.nan)


# ----------------------------------------------------------------------------------------------
def _basemap(scenario: Scenario, graph: Any, boundary: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The map's offline background (``[output] basemap = "roads"``), or None (other backgrounds,
    or no road network).
    """
    network_path = scenario.inputs.network
    if scenario.output.background != "roads" or network_path is None or not road_times(scenario):
        return None
    from geosuff.publication.maps.basemap import basemap_extent, build_basemap

    return build_basemap(graph, network_path, basemap_extent(boundary))


def estimate_graph() -> Any:
    """A stand-in road graph with no road anywhere near Great Britain, for ``travel = "estimate"``.

    Every point is then off the network, so every travel time is the routing layer's own
    straight-line estimate (distance x circuity at the fallback speed) and is flagged estimated.
    """
    from geosuff.network import RoadGraph

    far = -2.0e6  # metres, EPSG:27700: some 2,000 km south-west of the grid's origin
    return RoadGraph.from_arrays(
        np.array([far, far + 100.0]),
        np.array([far, far]),
        np.array([0, 1]),
        np.array([1, 0]),
        time_s=np.array([10.0, 10.0]),
        meta={"source": "none (travel = estimate)", "travel": "estimate"},
    )


def run(
    scenario: Scenario,
    *,
    progress: ProgressFn | None = None,
    write: bool = True,
    cache_dir: Path | None = None,
) -> Results:
    """Run the whole job on a scenario and (by default) write every output.

    A writing run holds the output folder's lock (:func:`geosuff._lock.output_lock`) from start
    to end: a second run into the same folder meanwhile raises
    :class:`~geosuff._errors.LockedError`.

    Parameters
    ----------
    scenario : Scenario
        From :func:`geosuff.config.load_config`.
    progress : callable, optional
        ``progress(stage_name, index, n_stages)`` called as each stage starts (the CLI draws a bar).
    write : bool
        Write outputs to ``scenario.output.dir`` (default True).
    cache_dir : Path, optional
        Road-graph cache folder (default: ``$GEOSUFF_CACHE_DIR`` or ``~/.cache/geosuff``).

    Returns
    -------
    Results
    """
    if not write:
        return _run(scenario, progress=progress, write=False, cache_dir=cache_dir)
    from geosuff.config.safety import check_output_dir

    # a scenario made in code (or a folder replaced by a link since the config was read)
    check_output_dir(Path(os.path.abspath(scenario.output.dir)))
    with output_lock(scenario.output.dir):
        from geosuff.publication.files import clean_stages

        # staging folders a killed run left: removed by the next run even if it stops early
        clean_stages(scenario.output.dir)
        return _run(scenario, progress=progress, write=True, cache_dir=cache_dir)


def _run(
    scenario: Scenario,
    *,
    progress: ProgressFn | None = None,
    write: bool = True,
    cache_dir: Path | None = None,
) -> Results:
    """The run behind :func:`run` (which holds the lock).

    Parameters
    ----------
    scenario : Scenario
        From :func:`geosuff.config.load_config`.
    progress : callable, optional
        ``progress(stage_name, index, n_stages)`` called as each stage starts (the CLI draws a bar).
    write : bool
        Write outputs to ``scenario.output.dir`` (default True).
    cache_dir : Path, optional
        Road-graph cache folder (default: ``$GEOSUFF_CACHE_DIR`` or ``~/.cache/geosuff``).
    """
    from geosuff import network
    from geosuff import routing as traveltime
    from geosuff.analysis import access, distance, gaps
    from geosuff.analysis import catchments as catch

    clock = _Clock(progress)
    a = scenario.analysis
    min_count = scenario.disclosure.min_count

    with clock.stage("load inputs"):
        inp = load_inputs(scenario)
        boundaries: Boundaries = inp["boundaries"]
        placements: Loaded = inp["placements"]
        sites_l: Loaded = inp["sites"]
        cands_l: Loaded | None = inp["candidates"]
        council_name = boundaries.name(scenario.council)
        boundary = boundaries.gdf[boundaries.gdf["code"] == scenario.council].copy()
        areas = council_areas(scenario, boundaries)
        inp["areas"] = areas
        neighbours, la_centres = neighbours_and_centres(scenario.council, boundaries)

    net_box: tuple[float, float, float, float] | None = None
    net_label = "the road network"
    with clock.stage("road network"):
        if road_times(scenario) and scenario.inputs.network is not None:
            from geosuff.inputs.validate import (
                check_network_extent,
                network_extent,
                require_network_coverage,
            )

            require_network_coverage(
                scenario.inputs.network, boundaries, scenario.council, council_name
            )
            # the same exclusions as `geosuff validate` (sites far outside the network)
            net_box = network_extent(scenario.inputs.network)
            net_label = f"the road network {Path(scenario.inputs.network).name}"
            if net_box is not None:
                for t in (sites_l, cands_l):
                    if t is not None:
                        t.issues = [
                            *t.issues,
                            *check_network_extent(t, net_box, network_name=net_label),
                        ]
            graph = network.build_graph(
                scenario.inputs.network,
                speeds=settings.speed_settings(scenario),
                cache_dir=cache_dir,
            )
        else:
            logger.info(
                'no road network ([analysis] travel = "estimate"): travel times are straight-line estimates'
            )
            graph = estimate_graph()
        snap = settings.snap_settings(scenario)
        basemap = _basemap(scenario, graph, boundary)

    with clock.stage("travel times"):
        pt = placements.table
        road_min, road_km, road_est = _pair_times(
            graph, _xy(pt, "home_e", "home_n"), _xy(pt, "pl_e", "pl_n"), snap
        )
        sites = sites_l.table.copy()
        used_sites = sites[sites["status"] != "excluded"].reset_index(drop=True)
        site_snap = traveltime.snap_points(
            graph,
            used_sites["easting"].to_numpy(float),
            used_sites["northing"].to_numpy(float),
            settings=snap,
        )
        used_sites["snap_m"] = site_snap.snap_m
        used_sites["on_network"] = site_snap.on_network
        areas_od = traveltime.od_matrix(graph, _xy(areas), _xy(used_sites), settings=snap)
        areas_minutes = areas_od.minutes

    with clock.stage("catchments"):
        on = used_sites[used_sites["on_network"]].reset_index(drop=True)
        catchments = catch.site_catchments(graph, on, a.minutes, access_m=a.access_m, settings=snap)
        served = catch.served_areas(catchments, on)
        places = (
            pd.to_numeric(used_sites["available_places"], errors="coerce").fillna(0).to_numpy(float)
        )
        areas["places_per_1000"] = catch.two_step_fca(
            areas_minutes, areas["pop_0_17"].to_numpy(float), places, max_minutes=a.local_minutes
        )
        for typ, col in area_minutes_to_types(
            areas_minutes, used_sites, areas, spare_only=False
        ).items():
            areas[f"min_{typ}"] = col.to_numpy()
        rasters = access.access_rasters(
            graph,
            used_sites,
            boundary.geometry.iloc[0],
            cell_m=a.raster_cell_m,
            fca_minutes=a.local_minutes,
            demand=areas,
            settings=snap,
        )

    with clock.stage("placement measures and gaps"):
        measures = distance.placement_measures(
            pt,
            council=scenario.council,
            far_miles=a.far_miles,
            boundaries=boundaries,
            road_minutes=road_min,
            road_km=road_km,
            road_estimated=road_est,
            far_minutes=a.far_minutes,
        ).reset_index(drop=True)
        measures["home_area"] = pd.array(
            assign_area(pt["home_e"].to_numpy(float), pt["home_n"].to_numpy(float), areas),
            dtype="string",
        )
        measures = _home_breakdowns(scenario, inp, measures)
        measures["home_district"] = home_districts(pt, areas)
        loader_status = pt["status"].astype(str).to_numpy()
        estimated = measures["road_estimated"].fillna(False).to_numpy(bool)
        measures["status"] = np.where(
            loader_status == "excluded",
            "excluded",
            np.where(
                estimated | (loader_status == "used-with-estimate"), "used-with-estimate", "used"
            ),
        )
        counted = measures[measures["status"] != "excluded"]
        indicators = {
            by: gaps.indicator_table(
                counted,
                by=by,
                far_miles=a.far_miles,
                minutes=a.local_minutes,
                local_target=a.local_target,
                within_miles_target=a.within_miles_target,
            )
            for by in ("overall", "place_group", "age_band", "uasc", *available_breakdowns(counted))
        }
        # every row: the snapshot for "at 31 March", the year's starts (ended ones too) for
        # "new placements in year"
        dfe_cmp = gaps.dfe_comparison(
            measures, council=scenario.council, reference_date=inp["reference_date"]
        )
        sens = gaps.sensitivity_table(
            counted, miles=tuple(a.sensitivity_miles), minutes=tuple(a.sensitivity_minutes)
        )
        spare = area_minutes_to_types(areas_minutes, used_sites, areas, spare_only=True)
        gap_areas = gaps.gap_areas(
            counted,
            areas,
            area_minutes_to_type=spare,
            minutes=a.local_minutes,
            min_count=min_count,
            minutes_source="road" if road_times(scenario) else "straight-line estimate",
        )
        gap_areas = gap_needs(
            gap_areas, counted, spare, minutes=a.local_minutes, min_count=min_count
        )
        flows = placement_flows(counted)
        trend_rec = placement_trend(scenario, inp, measures)
        leavers = care_leaver_stage(scenario, inp, boundary, la_centres.get(scenario.council))
        projection = None if trend_rec is None else projection_stage(scenario, trend_rec)

    candidates = None
    selection = None
    scen_cmp = None
    linkage: Linkage = {}
    exclusions, services = _siting_layers(scenario, inp["lookup"])
    with clock.stage("site scoring"):
        if cands_l is not None:
            candidates, selection, scen_cmp, linkage = siting_stage(
                cands_l.table,
                counted,
                used_sites,
                areas,
                areas_minutes,
                graph=graph,
                settings=settings.siting_settings(scenario),
                snap=snap,
                council=scenario.council,
                boundaries=boundaries,
                exclusions=exclusions,
                services=services,
                costs=settings.cost_settings(scenario),
                **siting_demand_extras(scenario, leavers, projection, n_measures=len(measures)),
            )

    results = Results(
        scenario=scenario,
        council_name=council_name,
        boundary=boundary,
        neighbours=neighbours,
        la_centres=la_centres,
        measures=measures,
        sites=pd.concat([used_sites, sites[sites["status"] == "excluded"]], ignore_index=True),
        candidates=candidates,
        catchments=catchments,
        served=served,
        areas=areas,
        gap_areas=gap_areas,
        indicators=indicators,
        dfe_comparison=dfe_cmp,
        sensitivity=sens,
        selection=selection,
        scenario_comparison=scen_cmp,
        access_rasters=rasters,
        flows=flows,
        linkage=linkage,
        graph_meta=cast(
            RunGraphMeta,
            {
                "nodes": graph.n_nodes,
                "edges": graph.n_edges,
                **{
                    k: v
                    for k, v in graph.meta.items()
                    if isinstance(v, (str, int, float, bool, dict, list))
                },
            },
        ),
        timings=clock.timings,
        trend=None if trend_rec is None else trend_table(trend_rec),
        trend_records=trend_rec,
        basemap=basemap,
        **leaver_results(leavers, projection),
    )
    tables: list[Loaded] = [placements, sites_l] + ([cands_l] if cands_l is not None else [])
    styles = {t.meta.get("date_style") for t in tables} - {None}
    results.date_style = "iso" if styles == {"iso"} else "uk"
    results.reconciliation = reconciliation(
        tables,
        measures=measures,
        sites=used_sites,
        candidates=candidates,
        road=road_times(scenario),
        box=net_box,
        network_name=net_label,
    )
    extra_rec = [
        pd.DataFrame(
            {
                "table": name,
                "row": layer["row"].to_numpy(),
                "id": layer[idc].astype(str).to_numpy(),
                "status": layer["status"].to_numpy(),
                "reason": layer["reason"].astype(str).to_numpy(),
            }
        )
        for name, layer, idc in (("exclusions", exclusions, "name"), ("services", services, "id"))
        if layer is not None
    ]
    if leavers is not None:
        extra_rec.append(leaver_reconciliation(leavers))
    if extra_rec:
        results.reconciliation = pd.concat([results.reconciliation, *extra_rec], ignore_index=True)
    results.issues = pd.DataFrame(
        [i.as_dict() for t in tables for i in t.issues],
        columns=list(Issue("", None, None, None, "").as_dict()),
    )

    if write:
        with clock.stage("outputs"):
            write_outputs(results)
    return results


def siting_stage(
    candidates: pd.DataFrame,
    measures: pd.DataFrame,
    sites: pd.DataFrame,
    areas: pd.DataFrame,
    areas_site_minutes: np.ndarray,
    *,
    graph: Any,
    settings: Any,
    snap: Any,
    council: str,
    boundaries: Boundaries,
    exclusions: gpd.GeoDataFrame | None = None,
    services: pd.DataFrame | None = None,
    costs: Any | None = None,
    care_leaver_demand: pd.DataFrame | None = None,
    demand_scale: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, Selection | None, pd.DataFrame | None, Linkage]:
    """Score every candidate and choose the best set (exact MILP), with before/after indicators.

    Demand is the children (one row per counted placement with a located home): placed far (over
    ``far_miles`` and/or outside the council), their need (placement group) and age. Coverage gain
    uses the council's small areas weighted by child population. Existing sites stay open with
    their spare places. Candidates excluded on loading keep their row with the reason.
    """
    from geosuff import routing as traveltime
    from geosuff import siting
    from geosuff.analysis import distance

    usable = candidates[candidates["status"] != "excluded"].reset_index(drop=True)
    home_ok = measures["home_e"].notna() & measures["home_n"].notna()
    m = measures[home_ok].reset_index(drop=True)
    inside_known = m["inside_la"].astype("boolean")
    far_known = m["far"].astype("boolean")
    demand = pd.DataFrame(
        {
            "weight": 1.0,
            # the siting demand columns keep their names; they mean "over / within far_miles"
            "over_20_miles": distance.far_mask(m),
            "within_20_miles": (far_known == False).fillna(False).to_numpy(bool),  # noqa: E712
            "outside_la": (inside_known == False).fillna(False).to_numpy(bool),  # noqa: E712
            "inside_la": (inside_known == True).fillna(False).to_numpy(bool),  # noqa: E712
            "need": m["place_group"].astype(str).to_numpy(),
            "need_codes": m["needs"].astype("string").to_numpy(dtype=object, na_value=None)
            if "needs" in m
            else None,
            "age": pd.to_numeric(m["age"], errors="coerce").to_numpy(float),
            "easting": m["home_e"].to_numpy(float),
            "northing": m["home_n"].to_numpy(float),
        }
    )
    positions = measures.index.to_numpy(dtype=np.int64)[home_ok.to_numpy()]
    demand, positions = with_leaver_demand(
        demand, positions, care_leaver_demand, demand_scale=demand_scale
    )
    cxy = _xy(usable)
    cand_in = boundaries.la_at(cxy[:, 0], cxy[:, 1]) == council
    cands = usable.assign(inside_la=cand_in)
    existing = pd.DataFrame(
        {
            "site_type": sites["type"].astype(str).to_numpy(),
            "vacancies": pd.to_numeric(sites["available_places"], errors="coerce")
            .fillna(0)
            .to_numpy(float),
            "easting": sites["easting"].to_numpy(float),
            "northing": sites["northing"].to_numpy(float),
        }
    )
    home_xy = demand[["easting", "northing"]].to_numpy(float)
    d_cand = traveltime.od_matrix(graph, home_xy, cxy, settings=snap).minutes
    d_exist = traveltime.od_matrix(graph, home_xy, _xy(sites), settings=snap).minutes
    population = pd.DataFrame({"weight": areas["pop_0_17"].to_numpy(float)})
    p_cand = traveltime.od_matrix(graph, _xy(areas), cxy, settings=snap).minutes
    zones = exclusions[exclusions["status"] == "used"] if exclusions is not None else None
    services_minutes = None
    if services is not None:
        located = services[np.isfinite(services["easting"].to_numpy(float))]
        if len(located):
            services_minutes = traveltime.od_matrix(graph, _xy(located), cxy, settings=snap).minutes
    scores = siting.score_candidates(
        cands,
        demand,
        d_cand,
        settings=settings,
        existing=existing,
        existing_minutes=d_exist,
        population=population,
        population_minutes=p_cand,
        population_existing_minutes=areas_site_minutes,
        services_minutes=services_minutes,
        exclusion_zones=zones,
    )
    selection = None
    scen = None
    # child-level links for disclosure control (geosuff.publish): which rows each count counts,
    # as positions in ``measures``
    # ``measures`` is a row-filtered view of the run's measures table (a RangeIndex): its index
    # labels are positions in that table
    members = scores.attrs.get("rehoming_members") or [np.zeros(0, np.int64)] * len(scores)
    linkage: Linkage = {
        "rehoming": {
            str(c): positions[np.asarray(mm, dtype=np.int64)]
            for c, mm in zip(scores["candidate_id"], members, strict=True)
        },
    }
    if bool(scores["eligible"].any()):
        prefer = dict(
            zip(
                scores["candidate_id"],
                pd.to_numeric(scores["total"], errors="coerce").fillna(-1.0),
                strict=True,
            )
        )
        selection = siting.select_sites(
            cands,
            demand,
            d_cand,
            settings=settings,
            existing=existing,
            existing_minutes=d_exist,
            exclusion_zones=zones,
            prefer=prefer,
        )
        kw = {
            "candidates": cands,
            "demand_minutes": d_cand,
            "settings": settings,
            "existing": existing,
            "existing_minutes": d_exist,
        }
        scen = siting.scenario_table(demand, selection, **kw)
        masks = siting.scenario_masks(demand, selection, **kw)
        # (before, with the new sites alone, if today's spare places were also filled)
        linkage["scenario"] = {
            label: (positions[m.before], positions[m.new_sites], positions[m.with_spare_places])
            for label, m in masks.items()
        }
        alloc = selection.allocation.tocsc()
        assert selection.sites is not None
        cols = selection.sites.attrs["columns"]
        linkage["assigned"] = {
            str(cid): positions[alloc.indices[alloc.indptr[j] : alloc.indptr[j + 1]]]
            for cid, j in zip(
                cols["candidate_id"].to_numpy()[selection.chosen], selection.chosen, strict=True
            )
        }
    info_cols = [
        c
        for c in (
            "candidate_id",
            "name",
            "bedrooms",
            "uses",
            "condition",
            "cost",
            "tenure",
            "available_from",
            "easting",
            "northing",
            "row",
            "status",
            "reason",
        )
        if c in candidates.columns
    ]
    table = (
        usable[info_cols]
        .rename(columns={"uses": "suitable_uses"})
        .merge(scores, on="candidate_id", how="left")
    )
    table = _candidate_costs_and_impact(
        table,
        sites,
        areas,
        p_cand,
        graph=graph,
        snap=snap,
        settings=settings,
        costs=costs,
        council=council,
    )
    excluded = candidates[candidates["status"] == "excluded"][info_cols].rename(
        columns={"uses": "suitable_uses"}
    )
    if len(excluded):
        excluded = excluded.assign(eligible=False, ineligible_reason=excluded["reason"])
        table = pd.concat([table, excluded], ignore_index=True)
    chosen = set(selection.chosen_ids) if selection is not None else set()
    table["chosen"] = table["candidate_id"].isin(chosen)
    table = table.sort_values(["rank", "row"], na_position="last").reset_index(drop=True)
    return table, selection, scen, linkage


def _candidate_costs_and_impact(
    table: pd.DataFrame,
    sites: pd.DataFrame,
    areas: Any,
    area_minutes: np.ndarray,
    *,
    graph: Any,
    snap: Any,
    settings: Any,
    costs: Any | None,
    council: str,
) -> pd.DataFrame:
    """The usable candidates' table with the yearly saving and payback (``[costs]``) and the
    community impact columns (:mod:`geosuff.siting.costs`, :mod:`geosuff.siting.impact`).
    """
    from geosuff import routing as traveltime
    from geosuff.config.costs import CostSettings
    from geosuff.siting import costs as sc
    from geosuff.siting import impact

    table = sc.candidate_costs(table, settings=settings, costs=costs or CostSettings())
    if len(table) == 0:
        return table
    site_minutes = traveltime.od_matrix(graph, _xy(sites), _xy(table), settings=snap).minutes
    return impact.community_impact(
        table,
        sites,
        areas,
        site_minutes=site_minutes,
        area_minutes=area_minutes,
        max_minutes=settings.max_minutes,
        council=council,
    )


def _siting_layers(
    scenario: Scenario, lookup: Any
) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    """The optional exclusion zones and services layer of a scenario (every row kept);
    ``lookup`` is the run's postcode lookup.
    """
    from geosuff import routing as traveltime
    from geosuff.inputs import load_exclusions

    inp = scenario.inputs
    exclusions = load_exclusions(inp.exclusions) if inp.exclusions else None
    services = None
    if inp.services:
        services = traveltime.read_points(inp.services, postcodes=lookup)
        services["row"] = np.arange(1, len(services) + 1)
        located = np.isfinite(services["easting"].to_numpy(float))
        services["status"] = np.where(located, "used", "excluded")
        if not located.any():
            logger.warning(
                "no service in %s could be located: the access component is left out",
                Path(inp.services).name,
            )
    return exclusions, services


def placement_flows(measures: pd.DataFrame) -> pd.DataFrame:
    """Children by home area × placement LA (raw counts: publish through disclosure)."""
    from geosuff.analysis import distance

    m = measures[measures["placement_la"].notna()]
    if m.empty:
        return pd.DataFrame(
            columns=["home_area", "placement_la", "placement_la_name", "children", "far"]
        )
    g = m.assign(far=distance.far_mask(m).astype(int), one=1).groupby(
        ["home_area", "placement_la", "placement_la_name"], dropna=False
    )
    return g.agg(children=("one", "sum"), far=("far", "sum")).reset_index()


def reconciliation(
    tables: list[Loaded],
    *,
    measures: pd.DataFrame,
    sites: pd.DataFrame,
    candidates: pd.DataFrame | None,
    road: bool = True,
    box: tuple[float, float, float, float] | None = None,
    network_name: str = "the road network",
) -> pd.DataFrame:
    """One row per input row of every table: ``table``, ``row``, ``id``, ``status``, ``reason``.

    The fate of each row is :func:`geosuff.inputs.validate.row_fates` - the same decision
    ``geosuff validate`` prints - with what this run's routing found (``measures``' and
    ``sites``' ``road_estimated``) as the later stage's word.
    """
    try:
        from geosuff.inputs import validate

        fn = getattr(validate, "row_fates", None)
    except ImportError:
        fn = None
    extra = {"placements": measures, "sites": sites}
    if "on_network" in sites and "road_estimated" not in sites:
        extra["sites"] = sites.assign(road_estimated=~sites["on_network"].astype(bool))
    if candidates is not None:
        extra["candidates"] = candidates
    if fn is not None:
        result: pd.DataFrame = fn(
            tables, road=road, box=box, network_name=network_name, later=extra
        )
        return result
    rows = []
    id_cols = {"placements": "CHILD", "sites": "site_id", "candidates": "candidate_id"}
    for t in tables:
        tab = extra.get(t.name, t.table)
        base = t.table.set_index("row")
        if "row" in tab.columns:
            tab = tab.set_index("row")
        for r in base.index:
            st = (
                tab["status"].get(r, base["status"].get(r))
                if "status" in tab
                else base["status"].get(r)
            )
            rs = tab["reason"].get(r, "") if "reason" in tab else base["reason"].get(r, "")
            rows.append(
                {
                    "table": t.name,
                    "row": int(r),
                    "id": str(base[id_cols[t.name]].get(r, "")),
                    "status": st if isinstance(st, str) else "excluded",
                    "reason": "" if pd.isna(rs) else str(rs),
                }
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_outputs(results: Results) -> dict[str, Path]:
    """Write map, report, GeoPackage, CSVs and the run manifest into the output folder.

    Every file is written into a staging folder beside the output folder, checked, and only
    then moved in (:func:`geosuff.publication.files.publish_stage`), the manifest last; files
    of the previous run that this run did not write are then removed. ``manifest.json`` lists
    every file of the run with its sha256. Call it holding the folder's lock (as :func:`run`
    does): staging folders left by killed runs are removed first.
    """
    from geosuff.publication import files as outputs
    from geosuff.publication import ledger

    out = results.out_dir
    previous = _previous_files(out)
    pub = ledger.build(results)
    outputs.clean_stages(out)
    stage = outputs.new_stage(out)
    try:
        files = outputs.write_all(results, pub, stage=stage)
        results.files.update(files)
        written = outputs.staged_files(stage)
        manifest = _manifest(results, written, {rel: _sha256(stage / rel) for rel in written})
        outputs.write_text(
            stage / "manifest.json", json.dumps(manifest, indent=2, default=str, sort_keys=True)
        )
        outputs.publish_stage(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    results.files["manifest"] = out / "manifest.json"
    _remove_stale(out, previous, {*written, "manifest.json"})
    if results.scenario.output.database is not None:
        from geosuff.publication.database import write_database

        write_database(results, pub, manifest, target=results.scenario.output.database)
    return results.files


def _manifest(results: Results, written: list[str], sha256: dict[str, str]) -> dict[str, Any]:
    """The run manifest: versions, council, config, inputs (sha256), timings and every file."""
    return {
        "geosuff_version": __version__,
        "python": platform.python_version(),
        "council": results.scenario.council,
        "council_name": results.council_name,
        "synthetic": results.scenario.synthetic,
        "config": results.scenario.to_toml_dict(),
        "inputs": {
            k: {"path": str(v), "sha256": _sha256(Path(v))}
            for k, v in results.scenario.inputs.model_dump().items()
            if isinstance(v, Path) and Path(v).is_file()
        }
        | {
            k: {"database": str(v), "table": f"{v.schema}.{v.table}"}
            for k, v in dict(results.scenario.inputs).items()
            if isinstance(v, DatabaseTable)
        },
        "graph": results.graph_meta,
        "timings_s": results.timings,
        "files": written,
        "files_sha256": sha256,
    }


def _previous_files(out_dir: Path) -> list[str]:
    """Files the last run wrote into ``out_dir`` (from its manifest)."""
    try:
        old = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        return [str(f) for f in old.get("files", [])]
    except (OSError, ValueError, AttributeError):
        return []


def _remove_stale(out_dir: Path, previous: list[str], current: set[str]) -> None:
    """Delete files an earlier run wrote that this run did not (e.g. a table an option turned
    off), so the folder never mixes two runs. Only files named in the earlier manifest, inside
    the output folder and outside ``inputs/``, are touched.
    """
    root = out_dir.resolve()
    for rel in previous:
        if rel in current or rel.startswith("inputs/"):
            continue
        p = (out_dir / rel).resolve()
        if p.is_file() and p.is_relative_to(root):
            p.unlink()
            logger.info("removed %s (written by an earlier run, not by this one)", rel)


def run_config(path: str | Path, **kwargs: Any) -> Results:
    """Load a config file and run it."""
    return run(load_config(path), **kwargs)


def run_demo(
    out_root: str | Path = "outputs",
    *,
    council: str = "E06000017",
    seed: int = 2026,
    progress: ProgressFn | None = None,
    n_children: int | None = None,
) -> Results:
    """Generate the synthetic demo for ``council`` (Rutland by default) and run it."""
    from geosuff.synth import synthesise

    out = Path(out_root) / council
    syn = synthesise(council, out / "inputs", seed=seed, n_children=n_children, output_dir="..")
    return run(load_config(syn.config), progress=progress)


def catchments_from_files(
    network_path: str | Path,
    sites_csv: str | Path,
    minutes: float | Iterable[float],
    out_path: str | Path | None = None,
    *,
    access_m: float = ACCESS_DISTANCE_M,
    cell_m: float | None = None,
    cache_dir: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Catchments for a sites file over an OSM extract (``geosuff catchments``).

    Parameters
    ----------
    network_path : str or Path
        OSM extract (.osm.pbf / .osm / .osm.bz2).
    sites_csv : str or Path
        Sites table: ``site_id``, ``type``, ``places`` and a location (easting/northing, lon/lat or
        postcode), read with :func:`geosuff.inputs.load_sites`; rows with problems are skipped
        (logged).
    minutes : float or iterable of float
        Thresholds.
    out_path : str or Path, optional
        GeoPackage to write (layer ``catchments``; one polygon per site and threshold, EPSG:27700;
        no site coordinates are written).
    access_m, cell_m : float
        See :func:`geosuff.analysis.catchments.catchment_polygons`.
    cache_dir : str or Path, optional
        Road-graph cache folder.

    Returns
    -------
    geopandas.GeoDataFrame
        The catchments written.
    """
    from geosuff import inputs
    from geosuff._errors import InputFileError
    from geosuff.analysis.catchments import _check_minutes, site_catchments
    from geosuff.network import build_graph

    mins = _check_minutes(minutes)
    loaded = inputs.load_sites(sites_csv, lookup=inputs.default_lookup())
    table = loaded.table
    bad = table[table["status"] != "used"]
    for _, r in bad.iterrows():
        logger.warning("site row %s skipped: %s", r.get("row"), r.get("reason"))
    used = table[table["status"] == "used"].reset_index(drop=True)
    if used.empty:
        raise InputFileError(
            f"No usable sites in {Path(sites_csv).name}.",
            fix="Each site needs a site_id, a known type, places and a location.",
        )
    graph = build_graph(network_path, cache_dir=cache_dir)
    gdf = site_catchments(graph, used, mins, access_m=access_m, cell_m=cell_m)
    if out_path is not None:
        from geosuff._io import atomic_path

        with atomic_path(out_path) as tmp:
            tmp.unlink()
            gdf.to_file(tmp, layer="catchments", driver="GPKG", engine="pyogrio")
    return gdf
