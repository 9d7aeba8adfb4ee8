"""Joint siting of a region (issue #14): each council's siting tables from its run, the region's
choice (:func:`geosuff.siting.select_joint`) and its published table.

Each council task builds its :class:`~geosuff.siting.CouncilSiting` (children, candidates,
existing sites) from its own :class:`~geosuff.results.Results` as the single-council siting stage
does (``geosuff.pipeline.siting_stage``) and hands it back *restricted* in its
:class:`~geosuff.publication.region.CouncilPart`: children's homes stay in memory, never written.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd

from geosuff.analysis import distance
from geosuff.config import Scenario, road_times
from geosuff.config import sections as settings
from geosuff.results import Results
from geosuff.siting import CouncilSiting, JointSelection, select_joint

logger = logging.getLogger(__name__)


def council_siting(results: Results) -> CouncilSiting:
    """A council's siting tables for the region's joint choice (no candidates: an empty table;
    its children still count as demand).

    Children: every counted placement row with a located home (``weight`` 1, placed far by the
    council's ``far_miles``, ``outside_la``, ``need``, ``age``, ``easting``/``northing``).
    Candidates: the council's candidates it found eligible (its exclusion zones applied).
    Existing sites: its used provision sites with their spare places (``vacancies``).
    """
    cands = results.candidates
    usable = (
        pd.DataFrame(columns=["candidate_id", "easting", "northing", "bedrooms", "uses"])
        if cands is None
        else cands
    )
    if "status" in usable.columns:
        usable = usable[usable["status"].astype(str) != "excluded"]
    if "eligible" in usable.columns:
        usable = usable[usable["eligible"].astype("boolean").fillna(False).to_numpy(bool)]
    usable = usable.rename(columns={"suitable_uses": "uses"}).reset_index(drop=True)
    meas = results.measures
    m = meas[meas["status"].astype(str) != "excluded"]
    m = m[m["home_e"].notna() & m["home_n"].notna()].reset_index(drop=True)
    inside = m["inside_la"].astype("boolean")
    demand = pd.DataFrame(
        {
            "weight": 1.0,
            "over_20_miles": distance.far_mask(m),
            "outside_la": (inside == False).fillna(False).to_numpy(bool),  # noqa: E712
            "need": m["place_group"].astype(str).to_numpy(),
            "age": pd.to_numeric(m["age"], errors="coerce").to_numpy(float),
            "easting": m["home_e"].to_numpy(float),
            "northing": m["home_n"].to_numpy(float),
        }
    )
    s = results.sites
    used = s[s["status"].astype(str) != "excluded"] if "status" in s.columns else s
    existing = pd.DataFrame(
        {
            "site_type": used["type"].astype(str).to_numpy(),
            "vacancies": pd.to_numeric(used["available_places"], errors="coerce")
            .fillna(0)
            .to_numpy(float),
            "easting": pd.to_numeric(used["easting"], errors="coerce").to_numpy(float),
            "northing": pd.to_numeric(used["northing"], errors="coerce").to_numpy(float),
        }
    )
    existing = existing[np.isfinite(existing[["easting", "northing"]].to_numpy()).all(axis=1)]
    prefer = (
        dict(
            zip(
                usable["candidate_id"],
                pd.to_numeric(usable["total"], errors="coerce").fillna(-1.0),
                strict=True,
            )
        )
        if "total" in usable.columns
        else None
    )
    return CouncilSiting(
        council=results.scenario.council,
        candidates=usable,
        demand=demand,
        existing=existing.reset_index(drop=True),
        prefer=prefer,
    )


def estimate_minutes(scenario: Scenario) -> Any:
    """``minutes(origins_xy, destinations_xy)``: the councils' estimated travel times (straight
    line x ``circuity_factor`` at ``fallback_speed_kph``, as ``geosuff.routing`` estimates them).
    """
    snap = settings.snap_settings(scenario)

    def minutes(o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o = np.asarray(o, float).reshape(-1, 2)
        d = np.asarray(d, float).reshape(-1, 2)
        dist_m = np.hypot(o[:, None, 0] - d[None, :, 0], o[:, None, 1] - d[None, :, 1])
        out: np.ndarray = dist_m * snap.circuity_factor / (snap.fallback_speed_kph / 3.6) / 60.0
        return out

    return minutes


def region_joint(
    scenarios: list[Scenario], sitings: list[CouncilSiting], *, k: int
) -> JointSelection | None:
    """The region's best ``k`` properties of all councils' candidates (None: nothing to choose).

    The settings are the first council's ``[siting]`` with the region's ``k``; travel times are
    estimated as the councils' are (``travel = "estimate"``); with road travel the same estimate
    is used, a stand-in (logged).
    """
    if k <= 0 or all(len(c.candidates) == 0 for c in sitings):
        return None
    if any(road_times(sc) for sc in scenarios):
        logger.warning("Joint siting: travel times estimated (straight line), not by road.")
    return select_joint(
        sitings,
        settings=dataclasses.replace(settings.siting_settings(scenarios[0]), target=0.0),
        minutes=estimate_minutes(scenarios[0]),
        k=int(k),
    )
