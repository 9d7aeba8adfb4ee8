"""``[siting] demand = "projected"`` and the care leavers' demand change the siting as expected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geosuff._errors import ConfigError
from geosuff.analysis import projection as pj
from geosuff.analysis.leaver_stage import with_leaver_demand
from geosuff.config.siting import SitingSettings, settings_from_dict
from geosuff.siting import select_sites


def _trend_frame() -> pd.DataFrame:
    """Foster children grow 20% a year, children's-home children stay at 10."""
    rows = []
    for k, y in enumerate(range(2021, 2026)):
        rows += [(y, "foster")] * int(round(10 * 1.2**k)) + [(y, "childrens_home")] * 10
    return pd.DataFrame(rows, columns=["year", "place_group"])


def _candidates() -> pd.DataFrame:
    # P and Q: short-breaks homes (any need, under 18), 5 bedrooms -> 4 places each;
    # R: a care-leaver unit (18-25), 3 places
    return pd.DataFrame(
        {
            "candidate_id": ["P", "Q", "R"],
            "easting": [0.0, 100000.0, 200000.0],
            "northing": [0.0, 0.0, 0.0],
            "bedrooms": [5, 5, 3],
            "uses": ["short_breaks", "short_breaks", "care_leaver_unit"],
        }
    )


def _demand() -> pd.DataFrame:
    # 2 foster children near P, 3 children's-home children near Q, all placed far
    need = ["foster", "foster", "childrens_home", "childrens_home", "childrens_home"]
    return pd.DataFrame(
        {
            "weight": 1.0,
            "over_20_miles": True,
            "within_20_miles": False,
            "outside_la": True,
            "inside_la": False,
            "need": need,
            "age": [10.0, 12.0, 14.0, 15.0, 13.0],
            "easting": [0.0, 100.0, 100000.0, 100100.0, 100200.0],
            "northing": 0.0,
        }
    )


def _minutes(demand: pd.DataFrame, cands: pd.DataFrame) -> np.ndarray:
    d = np.hypot(
        demand["easting"].to_numpy()[:, None] - cands["easting"].to_numpy()[None, :],
        demand["northing"].to_numpy()[:, None] - cands["northing"].to_numpy()[None, :],
    )
    return d / 1000.0  # a minute a km: each home is within 30 min of its own candidate only


def test_demand_setting_is_checked() -> None:
    assert settings_from_dict({"demand": "projected"}).demand == "projected"
    assert SitingSettings().demand == "current"
    with pytest.raises(ConfigError, match="demand"):
        settings_from_dict({"demand": "forecast"})


def test_projected_demand_moves_the_choice_to_the_growing_need() -> None:
    ratio = pj.demand_ratio(pj.projection_table(_trend_frame(), horizon=3))
    assert ratio["childrens_home"] == pytest.approx(1.0) and ratio["foster"] > 1.5
    cands = _candidates()
    settings = SitingSettings(max_minutes=30.0, k=1)
    dem = _demand()
    pos = np.arange(len(dem), dtype=np.int64)
    now, _ = with_leaver_demand(dem, pos, None)
    assert now["weight"].tolist() == [1.0] * 5
    sel = select_sites(cands, now, _minutes(now, cands), settings=settings)
    assert sel.chosen_ids == ("Q",) and sel.objective == pytest.approx(3.0)
    ahead, _ = with_leaver_demand(dem, pos, None, demand_scale=ratio)
    np.testing.assert_allclose(ahead["weight"], [ratio["foster"]] * 2 + [1.0] * 3)
    sel2 = select_sites(cands, ahead, _minutes(ahead, cands), settings=settings)
    # 2 foster children x ratio (> 1.5) outweigh 3 children's-home children
    assert sel2.chosen_ids == ("P",)
    assert sel2.objective == pytest.approx(2 * ratio["foster"])


def test_care_leavers_are_the_demand_for_care_leaver_units() -> None:
    cands = _candidates()
    dem = _demand()
    leavers = pd.DataFrame(
        {
            "position": np.array([7, 8], dtype=np.int64),
            "easting": [200000.0, 200100.0],
            "northing": [0.0, 0.0],
            "age": [19.0, 20.0],
            "outside_la": [False, True],
        }
    )
    both, pos = with_leaver_demand(dem, np.arange(5, dtype=np.int64), leavers)
    assert len(both) == 7 and pos.tolist() == [0, 1, 2, 3, 4, 7, 8]
    assert both["need"].tolist()[-2:] == ["care_leaver", "care_leaver"]
    m = _minutes(both, cands)
    settings = SitingSettings(max_minutes=30.0, k=3)
    sel = select_sites(cands, both, m, settings=settings)
    assert set(sel.chosen_ids) == {"P", "Q", "R"}
    assert sel.objective == pytest.approx(7.0)
    # R (care-leaver unit) takes exactly the two care leavers; P and Q none of them
    alloc = sel.allocation.tocsc()
    cols = sel.sites.attrs["columns"]
    for cid, j in zip(cols["candidate_id"].to_numpy()[sel.chosen], sel.chosen, strict=True):
        rows = set(alloc.indices[alloc.indptr[j] : alloc.indptr[j + 1]].tolist())
        assert (rows == {5, 6}) == (cid == "R"), (cid, rows)
    # without the care leavers, R serves nobody (children under 18 are not its people)
    alone = select_sites(cands, dem, _minutes(dem, cands), settings=settings)
    assert alone.objective == pytest.approx(5.0)
