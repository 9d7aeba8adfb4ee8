"""Placements by provider sector (SSDA903 PLACE_PROVIDER): shares, the loader and the trend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff import reference
from geosuff.analysis import providers as pv
from geosuff.analysis import trend as tr
from geosuff.inputs import Boundaries, load_placements
from geosuff.inputs.postcodes import default_lookup
from geosuff.inputs.validate import reconciliation

DEMO_POSTCODES = reference.DATA_DIR / "postcodes_rutland_codepoint2014.csv"
REF = dt.date(2025, 3, 31)


def test_provider_codes_map_to_sectors() -> None:
    codes = reference.provider_codes()
    assert list(codes) == ["PR0", "PR1", "PR2", "PR3", "PR4", "PR5"]
    assert codes["PR1"].sector == "in_house"
    assert {codes[c].sector for c in ("PR2", "PR3", "PR4", "PR5")} == {"external"}
    assert codes["PR0"].sector == "parent"


def test_provider_shares_on_hand_made_placements() -> None:
    # children's homes: 1 in-house, 3 external; foster: 2 in-house, 1 external, 1 not known
    groups = ["childrens_home"] * 4 + ["foster"] * 4
    sectors = ["in_house", "external", "external", "external"]
    sectors += ["in_house", "in_house", "external", "not_known"]
    t = pv.provider_table(groups, sectors, group_order=("foster", "childrens_home"))
    assert t["place_group"].drop_duplicates().tolist() == ["foster", "childrens_home", "all"]
    by = t.set_index(["place_group", "sector"])
    assert by.loc[("childrens_home", "external"), "count"] == 3
    assert by.loc[("childrens_home", "external"), "denominator"] == 4
    assert by.loc[("childrens_home", "external"), "percent"] == pytest.approx(75.0)
    assert by.loc[("foster", "in_house"), "percent"] == pytest.approx(50.0)
    assert by.loc[("foster", "not_known"), "count"] == 1
    assert by.loc[("all", "external"), "count"] == 4
    assert by.loc[("all", "in_house"), "count"] == 3
    # each group's sectors partition its placements
    sums = t.groupby("place_group")["count"].sum()
    assert sums.to_dict() == {"all": 8, "childrens_home": 4, "foster": 4}


def test_no_provider_column_means_no_table() -> None:
    m = pd.DataFrame({"place_group": ["foster"], "provider_sector": ["not_known"]})
    assert pv.measures_provider_table(m) is None


EPISODES = """CHILD,PLACE,PLACE_PROVIDER,DOB,DECOM,DEC,HOME_POST,PL_POST
A,K2,PR4,01/01/2012,01/01/2023,,LE15 6AA,LE15 9AE
B,K2,pr1,01/01/2012,01/01/2023,,LE15 6AA,LE15 9AE
C,U4,PR9,01/01/2012,01/01/2023,,LE15 6AA,LE15 9AE
D,U4,,01/01/2012,01/01/2023,,LE15 6AA,LE15 9AE
E,K2,PR5,01/01/2012,01/01/2022,01/01/2024,LE15 6AA,LE15 9AE
F,K2,PR4,01/01/2012,01/01/2024,,LE15 6AA,LE15 9AE
"""


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("prov") / "episodes.csv"
    p.write_text(EPISODES)
    return p


def test_loader_reads_place_provider_and_accounts_for_unknown_codes(episodes: Path) -> None:
    lookup = default_lookup(DEMO_POSTCODES)
    loaded = load_placements(
        episodes, lookup=lookup, boundaries=Boundaries.load(), reference_date=REF
    )
    t = loaded.table
    assert t["provider_sector"].tolist() == [
        "external",
        "in_house",
        "not_known",
        "not_known",
        "external",
        "external",
    ]
    assert t["PLACE_PROVIDER"].tolist()[:2] == ["PR4", "PR1"]
    # the unknown and the blank code: still counted, with a clear reason
    assert t["status"].iloc[2] == "used" and t["status"].iloc[3] == "used"
    assert "unknown PLACE_PROVIDER code 'PR9'" in t["reason"].iloc[2]
    assert "PR0, PR1, PR2, PR3, PR4, PR5" in t["reason"].iloc[2]
    assert "PLACE_PROVIDER is blank" in t["reason"].iloc[3]
    codes = {i.code for i in loaded.issues if i.column == "PLACE_PROVIDER"}
    assert codes == {"place_provider.unknown", "place_provider.missing"}
    rec = reconciliation([loaded])
    assert len(rec) == 6
    assert "PR9" in rec.loc[rec["row"] == 3, "reason"].iloc[0]


def test_trend_has_the_external_share_and_the_provider_breakdown() -> None:
    def year(sectors: list[str], groups: list[str], far: list[bool]) -> pd.DataFrame:
        n = len(sectors)
        return pd.DataFrame(
            {
                "row": np.arange(1, n + 1),
                "far": far,
                "inside_la": [True] * n,
                "uasc": [False] * n,
                "place_group": groups,
                "provider_sector": sectors,
                "road_minutes": [10.0] * n,
            }
        )

    by_year = {
        2023: year(["in_house", "external"], ["childrens_home"] * 2, [False, True]),
        2024: year(
            ["in_house", "external", "external"], ["childrens_home"] * 3, [False, True, True]
        ),
    }
    rec = tr.trend_records(by_year, local_minutes=30, routed_rows={1, 2, 3})
    t = tr.trend_table(rec).set_index(["year", "measure", "breakdown", "group"])
    ext = t.loc[(2024, "external", "place_group", "childrens_home")]
    assert (ext["count"], ext["denominator"]) == (2, 3)
    assert t.loc[(2023, "external", "all", "all"), "count"] == 1
    # external residential placements: 1 -> 2, +100%
    far_ext = t.loc[(2024, "far", "provider", "external")]
    assert (far_ext["count"], far_ext["denominator"]) == (2, 2)
    assert t.loc[(2024, "far", "provider", "in_house"), "count"] == 0
    assert not any(k[1] == "external" and k[2] == "provider" for k in t.index)


def test_trend_without_providers_is_unchanged() -> None:
    m = pd.DataFrame(
        {
            "row": [1],
            "far": [True],
            "inside_la": [True],
            "uasc": [False],
            "place_group": ["foster"],
            "road_minutes": [5.0],
        }
    )
    rec = tr.trend_records({2024: m}, local_minutes=30, routed_rows={1})
    t = tr.trend_table(rec)
    assert set(t["measure"]) == set(tr.TREND_MEASURES)
    assert "provider" not in set(t["breakdown"])


def test_site_sector_column_is_read_and_bad_words_are_reported(tmp_path: Path) -> None:
    from geosuff.inputs import load_sites

    p = tmp_path / "sites.csv"
    p.write_text(
        "site_id,type,places,available_places,postcode,sector\n"
        "S1,childrens_home,2,0,LE15 6AA,In-house\n"
        "S2,childrens_home,3,1,LE15 9AE,Private\n"
        "S3,childrens_home,2,0,LE15 6AA,PR5\n"
        "S4,childrens_home,2,0,LE15 6AA,\n"
        "S5,childrens_home,2,0,LE15 6AA,run by aliens\n"
    )
    lookup = default_lookup(DEMO_POSTCODES)
    loaded = load_sites(p, lookup=lookup, boundaries=Boundaries.load())
    assert loaded.table["sector"].tolist() == [
        "in_house",
        "external",
        "external",
        "not_known",
        "not_known",
    ]
    bad = [i for i in loaded.issues if i.code == "site.sector_unknown"]
    assert [i.row for i in bad] == [5]
    assert (loaded.table["status"] != "excluded").all()  # an unknown sector excludes nothing


def test_trend_provider_groups_are_the_sectors_present() -> None:
    m = pd.DataFrame(
        {
            "row": [1, 2],
            "far": [True, False],
            "inside_la": [True, True],
            "uasc": [False, False],
            "place_group": ["foster", "foster"],
            "provider_sector": ["in_house", "external"],
            "road_minutes": [5.0, 5.0],
        }
    )
    t = tr.trend_table(tr.trend_records({2024: m}, local_minutes=30, routed_rows={1, 2}))
    groups = t.loc[t["breakdown"] == "provider", "group"].drop_duplicates().tolist()
    assert groups == ["in_house", "external"]  # no empty parent / not-known rows
