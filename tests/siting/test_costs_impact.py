"""Yearly savings and payback of candidates, the [costs] section, and community impact."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geosuff._errors import ConfigError
from geosuff.config.costs import FROM_CONFIG, CostSettings, cost_settings_from_dict
from geosuff.config.siting import SitingSettings, settings_from_dict
from geosuff.publication.ledger.costs import NO_SAVING, publish_costs
from geosuff.reference import placement_costs
from geosuff.siting import costs as sc
from geosuff.siting import impact


# ----------------------------------------------------------------------------------------------
# The cost arithmetic
def test_yearly_savings_and_payback_on_hand_made_numbers() -> None:
    # 2 children, 6,000 -> 4,500 a week: 2 x 1,500 x 52 = 156,000 a year
    save = sc.yearly_savings([2, 1, 0, 3], [6000, 4000, 6000, np.nan], [4500, 4500, 4500, 100])
    assert save[0] == pytest.approx(156_000)
    assert save[1] == pytest.approx(-26_000)  # the new home costs more
    assert save[2] == 0
    assert np.isnan(save[3])
    pay = sc.payback_years([312_000, 100_000, 50_000, 1], save)
    assert pay[0] == pytest.approx(2.0)
    assert np.isinf(pay[1]) and np.isinf(pay[2])  # never pays back
    assert np.isnan(pay[3])
    assert sc.payback_years([0.0], [10.0])[0] == 0.0
    assert np.isnan(sc.payback_years([np.nan], [10.0])[0])
    # 50 weeks a year
    assert sc.yearly_savings([1], [100], [0], weeks_per_year=50)[0] == pytest.approx(5000)


def test_candidate_costs_per_use_and_operator() -> None:
    costs = cost_settings_from_dict(
        {
            "weekly_gbp": {"childrens_home": {"in_house": 5000, "external": 6000}},
            "lease_discount": 0.1,
            "weeks_per_year": 52,
        }
    )
    table = pd.DataFrame(
        {
            "candidate_id": ["A", "B", "C", "D"],
            "use": ["small_home", "lease_to_provider", "short_breaks", None],
            "rehoming_children": [2.0, 4.0, 3.0, np.nan],
            "cost": [208_000, 124_800, 10_000, 5_000],
        }
    )
    out = sc.candidate_costs(table, settings=SitingSettings(), costs=costs)
    assert out["cost_group"].tolist() == ["childrens_home", "childrens_home", "", ""]
    # A: 2 x (6,000 - 5,000) x 52 = 104,000 a year; 208,000 / 104,000 = 2 years
    assert out["yearly_saving_gbp"].iloc[0] == pytest.approx(104_000)
    assert out["payback_years"].iloc[0] == pytest.approx(2.0)
    # B: leased at 10% off the external price: 4 x 600 x 52 = 124,800; pays back in 1 year
    assert out["weekly_cost_new_gbp"].iloc[1] == pytest.approx(5400)
    assert out["yearly_saving_gbp"].iloc[1] == pytest.approx(124_800)
    assert out["payback_years"].iloc[1] == pytest.approx(1.0)
    # C: short breaks serve any need, no group's costs: nothing computed
    assert np.isnan(out["yearly_saving_gbp"].iloc[2]) and np.isnan(out["payback_years"].iloc[2])
    assert list(table.columns) == ["candidate_id", "use", "rehoming_children", "cost"]


def test_published_saving_is_withheld_with_its_children() -> None:
    t = pd.DataFrame(
        {
            "yearly_saving_gbp": [104_000.4, 52_000.0, -1000.0, np.nan],
            "payback_years": [2.04, 1.0, math.inf, np.nan],
            "weekly_cost_now_gbp": [6000.0, 6000.0, 6000.0, np.nan],
        }
    )
    out = publish_costs(t, ["2", "c", "0", ""])
    assert out["yearly_saving_gbp"].tolist() == ["104000", "c", "-1000", ""]
    assert out["payback_years"].tolist() == ["2.0", "c", NO_SAVING, ""]
    assert out["weekly_cost_now_gbp"].tolist() == ["6000", "6000", "6000", ""]


# ----------------------------------------------------------------------------------------------
# [costs]
def test_cost_defaults_come_from_the_data_file_with_their_sources() -> None:
    c = CostSettings()
    shipped = placement_costs()
    assert (
        c.weekly("childrens_home", "external")
        == shipped[("childrens_home", "external")].weekly_cost_gbp
    )
    assert all(p.source and p.price_year for p in shipped.values())
    assert "prices" in c.sources[("foster", "in_house")]
    assert math.isnan(c.weekly("supported", "external"))  # no published default shipped
    assert c.weeks_per_year == 52 and c.lease_discount == 0


def test_cost_overrides_replace_only_what_they_name() -> None:
    c = cost_settings_from_dict({"weekly_gbp": {"supported": {"external": 1400}}})
    assert c.weekly("supported", "external") == 1400
    assert c.sources[("supported", "external")] == FROM_CONFIG
    assert c.weekly("childrens_home", "in_house") == CostSettings().weekly(
        "childrens_home", "in_house"
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"weekly_cost": 5}, "unknown key 'weekly_cost' in [costs]"),
        ({"weekly_gbp": {"residential": {"in_house": 1}}}, "unknown placement group 'residential'"),
        ({"weekly_gbp": {"foster": {"private": 1}}}, "unknown sector 'private'"),
        ({"weekly_gbp": {"foster": {"in_house": "a lot"}}}, "must be a number"),
        ({"weekly_gbp": {"foster": {"in_house": -5}}}, "out of range"),
        ({"weekly_gbp": {"foster": 600}}, "must be a table of sectors"),
        ({"lease_discount": 1.5}, "lease_discount"),
        ({"weeks_per_year": 0}, "weeks_per_year"),
    ],
)
def test_costs_rejects_unknown_keys_and_bad_values(data: dict, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        cost_settings_from_dict(data, origin="council.toml")
    assert words in str(err.value)
    assert "council.toml" in str(err.value)


def test_lease_to_provider_rule_and_operator_check() -> None:
    s = SitingSettings()
    assert "lease_to_provider" in s.uses
    r = s.rules["lease_to_provider"]
    assert r.operator == "external" and r.serves_needs == ("childrens_home",)
    assert s.rules["small_home"].operator == "in_house"
    with pytest.raises(ConfigError, match="operator"):
        settings_from_dict({"rules": {"small_home": {"operator": "private"}}})


# ----------------------------------------------------------------------------------------------
# Community impact
def test_community_counts_and_rates_on_a_tiny_case() -> None:
    # 3 homes x 2 candidates; 2 areas x 2 candidates
    site_in = np.array([[True, False], [True, True], [False, False]])
    homes, places, kids = impact.community_counts(
        site_in, [2, 4, np.nan], [[1.0, 0.5], [0.0, 1.0]], [2000, 3000]
    )
    assert homes.tolist() == [2, 1]
    assert places.tolist() == [6, 4]
    assert kids.tolist() == [2000, 4000]
    assert impact.per_children(places, kids).tolist() == [30.0, 10.0]
    assert np.isnan(impact.per_children([1], [0])[0])


def test_community_impact_within_1km_and_the_catchment() -> None:
    # two square areas of 2 km x 2 km, 1,000 and 3,000 children
    areas = gpd.GeoDataFrame(
        {"pop_0_17": [1000.0, 3000.0]},
        geometry=[shapely.box(0, 0, 2000, 2000), shapely.box(2000, 0, 4000, 2000)],
        crs="EPSG:27700",
    )
    cands = pd.DataFrame(
        {"candidate_id": ["A", "B"], "easting": [1000.0, np.nan], "northing": [1000.0, np.nan]}
    )
    sites = pd.DataFrame(
        {
            "type": ["childrens_home", "childrens_home", "foster_cluster", "secure_home"],
            "places": [2, 3, 10, 4],
            "easting": [1500.0, 3500.0, 1000.0, 9000.0],
            "northing": [1000.0, 1000.0, 1000.0, 9000.0],
            "utla": ["E1", "E1", "E1", "E2"],
        }
    )
    site_minutes = np.array([[5.0, 5.0], [20.0, 20.0], [1.0, 1.0], [50.0, 50.0]])
    area_minutes = np.array([[5.0, 5.0], [20.0, 20.0]])
    out = impact.community_impact(
        cands,
        sites,
        areas,
        site_minutes=site_minutes,
        area_minutes=area_minutes,
        max_minutes=30,
        council="E1",
    )
    a = out.iloc[0]
    # within 1 km: the home 500 m away (the foster cluster is not a registered home)
    assert (a["homes_1km"], a["places_1km"]) == (1, 2)
    # children within 1 km: the circle (pi km^2) of the first area's 4 km^2
    kids = 1000 * math.pi / 4
    # (the circle is a 64-sided polygon: 0.2% less than pi km^2)
    assert a["places_per_10k_1km"] == pytest.approx(2 / kids * 10_000, rel=3e-3)
    # catchment (30 min): both council homes, both areas
    assert (a["homes_catchment"], a["places_catchment"]) == (2, 5)
    assert a["places_per_10k_catchment"] == pytest.approx(5 / 4000 * 10_000)
    # the council: its own two homes (the secure home is in E2) over its 4,000 children
    assert a["homes_per_10k_council"] == pytest.approx(2 / 4000 * 10_000)
    assert a["places_per_10k_council"] == pytest.approx(5 / 4000 * 10_000)
    assert np.isnan(out.iloc[1]["homes_1km"])  # no location


def test_readme_documents_every_costs_key() -> None:
    from pathlib import Path

    from geosuff.config.costs import COST_KEYS
    from geosuff.siting.costs import COST_COLUMNS
    from geosuff.siting.impact import IMPACT_COLUMNS

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("## Configuration", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    assert "[costs]" in block and "[costs.weekly_gbp]" in block
    for key in COST_KEYS:
        assert key in block, key
    for col in (*COST_COLUMNS, *IMPACT_COLUMNS, "PLACE_PROVIDER", "tables/providers.csv"):
        assert f"`{col}" in text, col


def test_chosen_set_saving_and_payback_rows() -> None:
    from geosuff.publication.ledger.costs import (
        PAYBACK_LABEL,
        SAVING_LABEL,
        chosen_set_costs,
        scenario_cost_rows,
    )

    cands = pd.DataFrame(
        {
            "candidate_id": ["A", "B", "C"],
            "weekly_cost_now_gbp": [6000.0, 1600.0, np.nan],
            "weekly_cost_new_gbp": [5000.0, 900.0, np.nan],
            "cost": [100_000, 50_000, 20_000],
        }
    )
    chosen = pd.DataFrame({"candidate_id": ["A", "B"], "children_assigned": ["2", "5"]})
    # 2 x 1,000 x 52 + 5 x 700 x 52 = 104,000 + 182,000 = 286,000; 150,000 / 286,000 = 0.5 years
    vals = chosen_set_costs(chosen, cands, weeks_per_year=52)
    assert vals == ("286000", "150000", "0.5")
    withheld = chosen.assign(children_assigned=["2", "c"])
    assert chosen_set_costs(withheld, cands, weeks_per_year=52) == ("c", "150000", "c")
    only_c = pd.DataFrame({"candidate_id": ["C"], "children_assigned": ["3"]})
    assert chosen_set_costs(only_c, cands, weeks_per_year=52) is None  # no costs apply
    scen = pd.DataFrame(
        [["Placed inside", "10", "12", "+2", "12", "+2"]],
        columns=[
            "indicator",
            "before",
            "after_new_sites",
            "change_new_sites",
            "after_with_spare_places",
            "change_with_spare_places",
        ],
    )
    out = scenario_cost_rows(scen, vals)
    assert out is not None and len(out) == 4
    assert out.loc[out["indicator"] == SAVING_LABEL, "change_new_sites"].item() == "286000"
    assert out.loc[out["indicator"] == PAYBACK_LABEL, "change_new_sites"].item() == "0.5"


def test_costs_section_is_checked_when_the_config_is_read(tmp_path) -> None:
    from geosuff.config import load_config
    from geosuff.config.sections import cost_settings

    base = (
        'council = "E06000017"\n[inputs]\nplacements = "p.csv"\nsites = "s.csv"\n'
        '[analysis]\ntravel = "estimate"\n'
    )
    good = tmp_path / "good.toml"
    good.write_text(
        base + "[costs]\nlease_discount = 0.2\n[costs.weekly_gbp]\n"
        "childrens_home = { in_house = 5200, external = 6100 }\n"
    )
    sc = load_config(good, check_files=False)
    c = cost_settings(sc)
    assert c.lease_discount == 0.2 and c.weekly("childrens_home", "external") == 6100
    bad = tmp_path / "bad.toml"
    bad.write_text(base + "[costs]\nlease_discount = 0.2\nweekly = 5\n")
    with pytest.raises(ConfigError, match="unknown key 'weekly' in \\[costs\\]"):
        load_config(bad, check_files=False)
