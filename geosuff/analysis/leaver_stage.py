"""The run's care-leavers and projection stage: load and measure the care leavers, project the
years' snapshots, and the extra siting demand (care leavers, projected weights).

Called by :mod:`geosuff.pipeline` (a few hooks); arrays and frames, no files written.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff.inputs import Loaded
from geosuff.reference import BNG

if TYPE_CHECKING:
    from geosuff.analysis.trend import TrendRecords
    from geosuff.config import Scenario

logger = logging.getLogger(__name__)


def care_leaver_stage(
    scenario: Scenario,
    inp: dict[str, Any],
    boundary: gpd.GeoDataFrame,
    centre: tuple[float, float] | None,
) -> Loaded | None:
    """The care leavers (``[inputs] care_leavers``) with their measures, or None when not given.

    The returned table is :func:`geosuff.inputs.care_leavers.load_care_leavers`' with the
    columns of :func:`geosuff.analysis.care_leavers.care_leaver_measures`; ``meta["centre"]``
    is the council's representative point (where care leavers living outside stand as demand).
    """
    path = scenario.inputs.care_leavers
    if path is None:
        return None
    from geosuff.analysis.care_leavers import care_leaver_measures
    from geosuff.inputs.care_leavers import load_care_leavers

    a = scenario.analysis
    loaded = load_care_leavers(
        path,
        lookup=inp["lookup"],
        boundaries=inp["boundaries"],
        reference_date=inp["reference_date"],
        min_age=a.care_leaver_min_age,
        max_age=a.care_leaver_max_age,
    )
    geom = boundary.to_crs(BNG).geometry.iloc[0] if boundary.crs else boundary.geometry.iloc[0]
    loaded.table = care_leaver_measures(
        loaded.table, council=scenario.council, boundary=geom, far_miles=a.far_miles
    )
    if centre is None:
        rp = geom.representative_point()
        centre = (float(rp.x), float(rp.y))
    loaded.meta.update(
        centre=centre,
        min_age=a.care_leaver_min_age,
        max_age=a.care_leaver_max_age,
        far_miles=a.far_miles,
    )
    return loaded


def projection_stage(scenario: Scenario, records: TrendRecords) -> pd.DataFrame | None:
    """The raw projection (:func:`geosuff.analysis.projection.projection_table`) of the years'
    snapshots, ``[analysis] projection_years`` ahead; None without snapshots.
    """
    from geosuff.analysis.projection import projection_table

    if len(records.frame) == 0:
        return None
    a = scenario.analysis
    return projection_table(
        records.frame, horizon=a.projection_years, growth=a.child_population_growth
    )


def siting_demand_extras(
    scenario: Scenario,
    leavers: Loaded | None,
    projection: pd.DataFrame | None,
    *,
    n_measures: int,
) -> dict[str, Any]:
    """Keyword arguments of :func:`siting_stage` beyond the children placed far: the
    care-leaver demand rows and, with ``[siting] demand = "projected"``, the weights' scale.
    """
    from geosuff.analysis.care_leavers import demand_points
    from geosuff.analysis.projection import demand_ratio

    out: dict[str, Any] = {}
    if leavers is not None:
        pts = demand_points(leavers.table, centre=leavers.meta["centre"])
        pts["position"] = pts["position"] + n_measures  # ledger records after the children
        out["care_leaver_demand"] = pts
    if scenario.siting.get("demand") == "projected":
        ratio = demand_ratio(projection) if projection is not None else {}
        if not ratio:
            logger.warning(
                '[siting] demand = "projected" but no projection was made (the placements need '
                "episode dates, DECOM/DEC, over two or more years): current demand used"
            )
        out["demand_scale"] = ratio
    return out


def leaver_results(leavers: Loaded | None, projection: pd.DataFrame | None) -> dict[str, Any]:
    """The :class:`Results` fields of the care leavers and the projection."""
    from geosuff.analysis.care_leavers import care_leaver_table

    out: dict[str, Any] = {"projection": projection}
    if leavers is not None:
        out["care_leavers"] = leavers.table
        out["care_leaver_table"] = care_leaver_table(
            leavers.table,
            min_age=int(leavers.meta.get("min_age", 18)),
            max_age=int(leavers.meta.get("max_age", 21)),
            far_miles=float(leavers.meta.get("far_miles", 20.0)),
        )
    return out


def leaver_reconciliation(leavers: Loaded) -> pd.DataFrame:
    """The care leavers' rows of ``qa/reconciliation.csv`` (every row: status and reason)."""
    t = leavers.table
    return pd.DataFrame(
        {
            "table": "care_leavers",
            "row": t["row"].to_numpy(),
            "id": t["CHILD"].astype(str).to_numpy(),
            "status": t["status"].astype(str).to_numpy(),
            "reason": t["reason"].astype(str).to_numpy(),
        }
    )


def with_leaver_demand(
    demand: pd.DataFrame,
    positions: np.ndarray,
    care_leavers: pd.DataFrame | None,
    *,
    demand_scale: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The siting demand with the care leavers' rows appended, weights scaled.

    ``demand_scale`` (``[siting] demand = "projected"``) multiplies each child's weight by the
    projected / current ratio of their placement group. A care leaver (in unsuitable
    accommodation or living outside the council) is one row of need ``care_leaver`` that counts
    as placed far (so only a use serving ``care_leaver``, the care-leaver unit, can take them);
    ``positions`` (ledger records) grows by their record positions.
    """
    from geosuff.analysis.projection import scale_weights

    if demand_scale:
        demand = demand.assign(weight=scale_weights(demand["need"], demand_scale))
    if care_leavers is None or len(care_leavers) == 0:
        return demand, positions
    cl = pd.DataFrame(
        {
            "weight": 1.0,
            "over_20_miles": True,
            "within_20_miles": False,
            "outside_la": care_leavers["outside_la"].to_numpy(bool),
            "inside_la": ~care_leavers["outside_la"].to_numpy(bool),
            "need": "care_leaver",
            "age": care_leavers["age"].to_numpy(float),
            "easting": care_leavers["easting"].to_numpy(float),
            "northing": care_leavers["northing"].to_numpy(float),
        }
    )
    return (
        pd.concat([demand, cl], ignore_index=True),
        np.concatenate([positions, care_leavers["position"].to_numpy(np.int64)]),
    )
