"""The regional array cores on tiny arrays, and the joint ledger on two hand-made councils."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff.analysis import region as core

A, B, X = "E06000017", "E10000018", "E10000019"


def test_host_codes_give_every_record_one_host():
    la = np.array([A, B, X, None, "", A], dtype=object)
    counted = np.array([True, True, True, True, True, False])
    host = core.host_codes(la, counted, [A, B])
    assert host.tolist() == [
        A,
        B,
        core.HOST_OUTSIDE,
        core.HOST_NOT_KNOWN,
        core.HOST_NOT_KNOWN,
        core.HOST_EXCLUDED,
    ]


def test_region_flags():
    f = core.region_flags(
        placement_la=np.array([A, B, X, None], dtype=object),
        inside_own=np.array([True, False, False, False]),
        dfe_miles=np.array([3.0, 20.0, 20.1, np.nan]),
        minutes=np.array([10.0, 31.0, np.nan, 5.0]),
        region_codes=[A, B],
        local_minutes=30.0,
    )
    assert f["inside_own_la"].tolist() == [True, False, False, False]
    assert f["inside_region"].tolist() == [True, True, False, False]
    assert f["within_miles"].tolist() == [True, True, False, False]  # 20.0 is "20 miles or less"
    assert f["within_minutes"].tolist() == [True, False, False, True]


def test_flow_members_partition_the_records():
    council = np.array([A, A, B, B, B], dtype=object)
    host = np.array([A, B, B, core.HOST_OUTSIDE, B], dtype=object)
    rows = core.flow_members(council, host, [A, B], [A, B, core.HOST_OUTSIDE])
    assert [(c, h, idx.tolist()) for c, h, idx in rows] == [
        (A, A, [0]),
        (A, B, [1]),
        (B, B, [2, 4]),
        (B, core.HOST_OUTSIDE, [3]),
    ]
    assert sorted(np.concatenate([r[2] for r in rows]).tolist()) == list(range(5))


def test_pooled_provision_sums_councils():
    t = core.pooled_provision(
        council=[A, A, B],
        site_type=["childrens_home", "foster_cluster", "childrens_home"],
        places=np.array([4.0, 6.0, 3.0]),
        spare=np.array([1.0, np.nan, 2.0]),
        councils=[A, B],
        types=["childrens_home", "foster_cluster"],
    )
    reg = t[t["council"] == "region"].set_index("type")
    assert (
        reg.loc["childrens_home", "places"] == 7 and reg.loc["childrens_home", "spare_places"] == 3
    )
    assert reg.loc["childrens_home", "sites"] == 2
    assert reg.loc["foster_cluster", "spare_places"] == 0
    assert len(t[t["council"] == B]) == 1  # no foster cluster in B: no row


def _part(code: str, inside: int, outside: int):
    """A council whose own ledger publishes its total, inside and outside counts."""
    from geosuff.publication.ledger import Ledger
    from geosuff.publication.region import CouncilPart, council_figures

    n = inside + outside
    ins = np.arange(n) < inside
    led = Ledger(n, min_count=5)
    led.add(np.ones(n, bool), table="indicators_overall", label="all", keep=True)
    led.add(ins, table="indicators_overall", label="inside")
    led.add(~ins, table="indicators_overall", label="outside")
    led.solve()
    rec = pd.DataFrame(
        {
            "status": "used",
            "placement_la": np.where(ins, code, X),
            "placement_la_name": "",
            "inside_la": ins,
            "dfe_miles": np.nan,
            "road_minutes": np.nan,
            "place_group": "foster",
        }
    )
    return CouncilPart(
        code=code,
        name=code,
        synthetic=True,
        records=rec,
        figures=council_figures(led),
        sites=pd.DataFrame(
            {"type": ["childrens_home"], "places": [2.0], "available_places": [1.0]}
        ),
        boundary=gpd.GeoDataFrame({"code": [code], "name": [code]}, geometry=[None], crs=27700),
        local_minutes=30.0,
        min_count=5,
        travel="estimated",
    )


def test_region_cannot_reveal_a_council_cell_by_differencing():
    """A withholds its inside/outside split (3 outside); B shows its own. Publishing the
    region's "inside own LA" (7 + 12) would give A's 7, hence its 3: the joint ledger withholds it.
    """
    from geosuff.publication.region import build_region

    a, b = _part(A, 7, 3), _part(B, 12, 8)
    assert a.figures.shown == [True, False, False]
    assert b.figures.shown == [True, True, True]
    pub = build_region([a, b])
    ind = pub.indicators.set_index(["scope", "place_group"])
    assert ind.loc[(B, "all"), "n_inside_own_la"] == "12"
    assert ind.loc[(A, "all"), "n_inside_own_la"] == "c"
    assert ind.loc[("region", "all"), "n"] == "30"
    assert ind.loc[("region", "all"), "n_inside_own_la"] == "c"
    # the flows cannot give it either: A's cells to itself and to outside the region are withheld
    f = pub.flows.set_index(["placing_council", "host"])["children"]
    assert f[(A, A)] == "c" and f[(A, core.HOST_OUTSIDE)] == "c"
    assert f[(B, B)] == "12"
    audit = pub.ledger.audit()
    small = audit[(audit["value"] >= 1) & (audit["value"] < 5)]
    assert len(small) and ((small["upper"] - small["lower"]) > 0.5).all()


def test_region_file_check_finds_a_child_id_and_a_home(tmp_path):
    from geosuff.publication.region import check_region_files

    a = _part(A, 7, 3)
    a.forbidden = ["SYN0070001", "LE1 5WW"]
    a.points = np.array([[452000.0, 304000.0]])
    clean = tmp_path / "flows.csv"
    clean.write_text("placing_council,host,children\nE06000017,outside,c\n")
    leak = tmp_path / "leak.csv"
    leak.write_text("id,children\nSYN0070001,3\n")
    home = tmp_path / "home.html"
    home.write_text("<p>near 452001, 304002</p>")
    assert check_region_files([clean], [a]) == []
    assert check_region_files([leak], [a]) == ["leak.csv: SYN0070001"]
    assert check_region_files([home], [a])[0].startswith("home.html: point near")
