"""A hand-made :class:`geosuff.results.Results` for map and report tests.

Real inputs (the synthetic Rutland cohort from :mod:`geosuff.synth`, loaded with the real loaders,
real DfE measures and real gap tables from :mod:`geosuff.gaps`), with the road-network stages
replaced by straight-line stand-ins so the fixture builds in seconds without a road graph:
catchments are circles at :data:`CROW_KPH`, the access raster is straight-line minutes to the
nearest site, candidate scores are simple documented formulas. Nothing here is used by geosuff.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin

from geosuff.config import load_config
from geosuff.reference import BNG
from geosuff.results import Results

CROW_KPH = 35.0
COUNCIL = "E06000017"


@dataclass
class FakeSelection:
    """The attributes of ``geosuff.siting.Selection`` the outputs read."""

    chosen_ids: tuple[Any, ...]
    objective: float
    fixed_objective: float
    k: int
    status: str = "Optimal"
    mip_gap: float = 0.0
    greedy_objective: float = 0.0
    greedy_gap: float = 0.0
    marginal_gain: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    addition_gain: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    capacitated: bool = True

    @property
    def optimal(self) -> bool:
        return self.status == "Optimal"

    def summary(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "chosen": list(self.chosen_ids),
            "objective": self.objective,
            "before": self.fixed_objective,
            "gain": self.objective - self.fixed_objective,
            "status": self.status,
            "mip_gap": self.mip_gap,
            "greedy_objective": self.greedy_objective,
            "greedy_gap": self.greedy_gap,
        }


def _minutes(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    d = np.hypot(ax[:, None] - bx[None, :], ay[:, None] - by[None, :])
    return d / 1000.0 / CROW_KPH * 60.0


@cache
def _inputs(n_children: int, seed: int, root: str) -> dict[str, Any]:
    from geosuff.inputs import (
        Boundaries,
        default_lookup,
        load_candidates,
        load_placements,
        load_sites,
    )
    from geosuff.synth import synthesise

    syn = synthesise(COUNCIL, Path(root) / "inputs", seed=seed, n_children=n_children)
    sc = load_config(syn.config)
    b = Boundaries.load(sc.inputs.boundaries)
    lookup = default_lookup(sc.inputs.postcodes, fallback=True)
    ref = sc.analysis.reference_date
    return {
        "scenario": sc,
        "boundaries": b,
        "placements": load_placements(
            sc.inputs.placements, lookup=lookup, boundaries=b, reference_date=ref
        ),
        "sites": load_sites(sc.inputs.sites, lookup=lookup, boundaries=b),
        "candidates": load_candidates(sc.inputs.candidates, lookup=lookup, boundaries=b),
    }


@cache
def _shared_root() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="geosuff-fixture-")


def make_results(
    out_dir: Path,
    *,
    n_children: int = 90,
    seed: int = 11,
    optional: bool = True,
    synthetic: bool = True,
) -> Results:
    """Build the fixture. ``optional=False`` leaves every optional table out (None/empty).

    The synthetic inputs are generated once per process (in a temporary folder) and reused.
    """
    from geosuff.analysis import distance, gaps
    from geosuff.inputs import load_areas
    from geosuff.pipeline import neighbours_and_centres

    inp = _inputs(n_children, seed, _shared_root())
    sc = inp["scenario"]
    sc = sc.model_copy(
        update={
            "synthetic": synthetic,
            "output": sc.output.model_copy(update={"dir": Path(out_dir)}),
        }
    )
    boundaries = inp["boundaries"]
    boundary = boundaries.gdf[boundaries.gdf["code"] == COUNCIL].copy().reset_index(drop=True)
    neighbours, la_centres = neighbours_and_centres(COUNCIL, boundaries)
    pt = inp["placements"].table
    sites = inp["sites"].table.copy()
    used = sites[sites["status"] == "used"].reset_index(drop=True)
    used["snap_m"] = 12.0
    used["on_network"] = True

    home_e, home_n = pt["home_e"].to_numpy(float), pt["home_n"].to_numpy(float)
    km = (
        np.hypot(home_e - pt["pl_e"].to_numpy(float), home_n - pt["pl_n"].to_numpy(float))
        / 1000
        * 1.3
    )
    measures = distance.placement_measures(
        pt,
        council=COUNCIL,
        far_miles=sc.analysis.far_miles,
        road_minutes=km / 60 * 60,
        road_km=km,
        road_estimated=np.zeros(len(pt), bool),
    )
    areas = load_areas(council=COUNCIL)
    assert areas is not None
    rp = areas.geometry.representative_point()
    areas["easting"], areas["northing"] = rp.x.to_numpy(), rp.y.to_numpy()
    idx = gaps.assign_areas(home_e, home_n, areas)
    measures["home_area"] = pd.array(
        [str(areas["area_id"].iloc[i]) if i >= 0 else None for i in idx], dtype="string"
    )

    amin = _minutes(
        areas["easting"].to_numpy(),
        areas["northing"].to_numpy(),
        used["easting"].to_numpy(float),
        used["northing"].to_numpy(float),
    )
    for typ in sorted(used["type"].unique()):
        areas[f"min_{typ}"] = amin[:, (used["type"] == typ).to_numpy()].min(axis=1)
    places = used["available_places"].to_numpy(float)
    w = (amin <= sc.analysis.local_minutes) * places[None, :]
    areas["places_per_1000"] = w.sum(axis=1) / max(float(areas["pop_0_17"].sum()), 1.0) * 1000 * 5

    if not optional:
        return Results(
            scenario=sc,
            council_name="Rutland",
            boundary=boundary,
            neighbours=neighbours,
            la_centres=la_centres,
            measures=measures,
            sites=used,
        )

    a = sc.analysis
    indicators = {
        by: gaps.indicator_table(
            measures,
            by=by,
            far_miles=a.far_miles,
            minutes=a.local_minutes,
            local_target=a.local_target,
        )
        for by in ("overall", "place_group", "age_band", "uasc")
    }
    spare = pd.DataFrame(
        {
            t: amin[:, ((used["type"] == t) & (used["available_places"] > 0)).to_numpy()].min(
                axis=1
            )
            if ((used["type"] == t) & (used["available_places"] > 0)).any()
            else np.nan
            for t in used["type"].unique()
        },
        index=areas["area_id"],
    )
    gap = gaps.gap_areas(
        measures, areas, area_minutes_to_type=spare, minutes=a.local_minutes, min_count=3
    )

    # catchments: circles per site and threshold (straight-line stand-in for road isochrones)
    rows = []
    for s in used.itertuples(index=False):
        for mins in a.minutes:
            poly = shapely.Point(s.easting, s.northing).buffer(
                mins / 60 * CROW_KPH * 1000 * 0.8, 32
            )
            rows.append(
                {
                    "site_id": s.site_id,
                    "type": s.type,
                    "minutes": float(mins),
                    "area_km2": poly.area / 1e6,
                    "geometry": poly,
                }
            )
    catchments = gpd.GeoDataFrame(rows, crs=BNG)
    served = catchments.dissolve(by=["type", "minutes"], as_index=False)[
        ["type", "minutes", "geometry"]
    ]
    served["area_km2"] = served.area / 1e6

    # access raster: straight-line minutes to the nearest site, 250 m cells, council only
    geom = boundary.geometry.iloc[0]
    cell = a.raster_cell_m
    x0, y0, x1, y1 = geom.bounds
    x0, y1 = np.floor(x0 / cell) * cell - cell, np.ceil(y1 / cell) * cell + cell
    width, height = int(np.ceil((x1 - x0) / cell)) + 1, int(np.ceil((y1 - y0) / cell)) + 1
    tr = from_origin(x0, y1, cell, cell)
    cx = x0 + (np.arange(width) + 0.5) * cell
    cy = y1 - (np.arange(height) + 0.5) * cell
    gx, gy = np.meshgrid(cx, cy)
    mins = (
        _minutes(
            gx.ravel(),
            gy.ravel(),
            used["easting"].to_numpy(float),
            used["northing"].to_numpy(float),
        )
        .min(axis=1)
        .reshape(gx.shape)
    )
    outside = geometry_mask([geom], out_shape=(height, width), transform=tr)
    mins = np.where(outside, np.nan, mins).astype("float32")
    rpath = Path(out_dir) / "rasters" / "minutes_any_site.tif"
    rpath.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        rpath,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs=BNG,
        transform=tr,
        nodata=np.nan,
    ) as dst:
        dst.write(mins, 1)

    # flows (as geosuff.pipeline.placement_flows)
    m = measures[measures["placement_la"].notna()]
    flows = (
        m.assign(far=distance.far_mask(m).astype(int), one=1)
        .groupby(["home_area", "placement_la", "placement_la_name"], dropna=False)
        .agg(children=("one", "sum"), far=("far", "sum"))
        .reset_index()
    )

    # candidates: simple documented scores (stand-in for geosuff.siting), with the columns and
    # child-level links geosuff.siting / geosuff.pipeline give (for geosuff.publish)
    cands = inp["candidates"].table.copy()
    ce, cn = cands["easting"].to_numpy(float), cands["northing"].to_numpy(float)
    far = (measures["dfe_miles"] > a.far_miles).to_numpy()
    far_pos = np.flatnonzero(far)
    reach = (
        _minutes(ce, cn, home_e[far], home_n[far]) <= a.local_minutes
    )  # (candidates, far children)
    near_far = reach.sum(axis=1).astype(float)
    cov = (_minutes(ce, cn, home_e, home_n) <= 15).sum(axis=1).astype(float)
    cl = (
        _minutes(ce, cn, used["easting"].to_numpy(float), used["northing"].to_numpy(float)) <= 3
    ).sum(axis=1)
    cands["use"] = [str(u).split(";")[0] for u in cands["uses"]]
    cands["places"] = np.clip(
        pd.to_numeric(cands["bedrooms"], errors="coerce").fillna(1).to_numpy(int) - 1, 1, 5
    )
    cands["rehoming_reachable"] = near_far
    cands["rehoming_norm"] = np.minimum(near_far, cands["places"]) / max(
        float(np.minimum(near_far, cands["places"]).max()), 1.0
    )
    cands["coverage_gain"] = cov
    cands["coverage_norm"] = cov / max(cov.max(), 1)
    cands["homes_nearby"] = cl
    cands["clustering_norm"] = np.minimum(cl, 3) / 3
    cands["total"] = (
        0.5 * cands["rehoming_norm"]
        + 0.25 * cands["coverage_norm"]
        + 0.15 * (1 - cands["clustering_norm"])
    ) / 0.9
    cands["eligible"] = cands["condition"].astype(str) != "poor"
    cands["ineligible_reason"] = np.where(cands["eligible"], "", "condition 'poor' is excluded")
    order = (
        cands[cands["eligible"]]
        .sort_values(["total", "candidate_id"], ascending=[False, True])
        .index
    )
    cands["rank"] = pd.array([pd.NA] * len(cands), dtype="Int64")
    cands.loc[order, "rank"] = np.arange(1, len(order) + 1)
    chosen = tuple(cands.loc[order[:2], "candidate_id"].astype(str))
    cands["chosen"] = cands["candidate_id"].astype(str).isin(chosen)
    linkage: dict[str, Any] = {
        "rehoming": {str(c): far_pos[reach[i]] for i, c in enumerate(cands["candidate_id"])}
    }
    # before/after: 4 far children could already come home; the chosen set adds those it reaches
    before_far = far_pos[:4]
    chosen_rows = np.flatnonzero(cands["chosen"].to_numpy())
    after_far = np.union1d(before_far, far_pos[reach[chosen_rows].any(axis=0)])
    within = np.flatnonzero((measures["far"] == False).fillna(False).to_numpy(bool))  # noqa: E712
    # (before, with the new sites alone, if today's spare places were also filled)
    # the new sites alone take at most their places
    n_places = int(cands.loc[cands["chosen"], "places"].sum())
    new_far = np.setdiff1d(after_far, before_far)[:n_places]
    linkage["scenario"] = {
        "Placed 20 miles or less from home": (
            within,
            np.union1d(within, new_far),
            np.union1d(within, after_far),
        ),
        "Placed far who could come home within 30 min (within places)": (
            before_far,
            after_far,
            after_far,
        ),
    }
    sel = FakeSelection(
        chosen_ids=chosen,
        objective=float(after_far.size),
        fixed_objective=float(before_far.size),
        k=2,
        greedy_objective=float(after_far.size),
    )
    new_places = float(cands.loc[cands["chosen"], "places"].sum())
    scen = pd.DataFrame(
        [
            (label, float(len(b)), float(len(an)), float(len(asp)))
            for label, (b, an, asp) in linkage["scenario"].items()
        ]
        + [("Places in new sites", 0.0, new_places, new_places)],
        columns=["indicator", "before", "after_new_sites", "after_with_spare_places"],
    )
    scen["change_new_sites"] = scen["after_new_sites"] - scen["before"]
    scen["change_with_spare_places"] = scen["after_with_spare_places"] - scen["before"]

    issues = pd.DataFrame(
        [
            i.as_dict()
            for t in (inp["placements"], inp["sites"], inp["candidates"])
            for i in t.issues
        ]
    )
    recon = pd.DataFrame(
        {
            "table": "placements",
            "row": pt["row"],
            "id": pt["CHILD"],
            "status": measures["status"],
            "reason": measures["reason"],
        }
    )
    return Results(
        scenario=sc,
        council_name="Rutland",
        boundary=boundary,
        neighbours=neighbours,
        la_centres=la_centres,
        measures=measures,
        sites=used,
        candidates=cands,
        catchments=catchments,
        served=served,
        areas=areas,
        gap_areas=gap,
        indicators=indicators,
        dfe_comparison=gaps.dfe_comparison(
            measures, council=COUNCIL, reference_date=a.reference_date
        ),
        sensitivity=gaps.sensitivity_table(
            measures, miles=tuple(a.sensitivity_miles), minutes=tuple(a.sensitivity_minutes)
        ),
        selection=sel,
        scenario_comparison=scen,
        reconciliation=recon,
        issues=issues,
        rasters={"any_site": rpath},
        flows=flows,
        linkage=linkage,
        graph_meta={"nodes": 0, "edges": 0, "source": "fixture (no road graph)"},
        timings={"fixture": 0.0},
    )


def forbidden_strings(results: Results) -> list[str]:
    """Every child-level string the published files must not contain: ids, postcodes, grid
    references (disclosure.personal_strings) and lon/lat of every home and placement point at 4,
    5 and 6 decimals."""
    from geosuff.publication import disclosure
    from geosuff.publication.maps import _TO_WGS84

    m = results.measures
    out = set(disclosure.personal_strings(m))
    for e, n in (("home_e", "home_n"), ("pl_e", "pl_n")):
        pts = m[[e, n]].dropna().to_numpy(float)
        lon, lat = _TO_WGS84.transform(pts[:, 0], pts[:, 1])
        for d in (4, 5, 6):
            out |= {f"{v:.{d}f}" for v in lon} | {f"{v:.{d}f}" for v in lat}
    return sorted(out)
