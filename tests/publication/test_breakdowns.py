"""The extra breakdowns end to end on a SYNTHETIC county (Kent: districts, a hand-made sub-area
layer, DISABLED / NEED): published under disclosure control, in tables/, trend.csv and the report.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_ledger import check_safe

from geosuff.reference import BNG

KENT = "E10000016"


@pytest.fixture(scope="module")
def kent_run(tmp_path_factory: pytest.TempPathFactory):
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    root = tmp_path_factory.mktemp("kent")
    syn = synthesise(KENT, root / "inputs", seed=7, n_children=80, years=2)
    loc = root / "inputs" / "localities.gpkg"
    gpd.GeoDataFrame(
        {"locality": ["West Kent", "East Kent"]},
        geometry=[
            shapely.box(500_000, 100_000, 590_000, 200_000),
            shapely.box(590_000, 100_000, 660_000, 200_000),
        ],
        crs=BNG,
    ).to_file(loc, driver="GPKG")
    sc = load_config(syn.config)
    sc = sc.model_copy(
        update={
            "inputs": sc.inputs.model_copy(update={"subareas": loc, "subareas_name": "locality"}),
            "output": sc.output.model_copy(update={"dir": root / "out", "excel": False}),
        }
    )
    return run(sc)


@pytest.mark.slow
def test_breakdowns_are_published_safely(kent_run) -> None:
    from geosuff.publication import ledger

    res = kent_run
    for by in ("excluding_uasc", "district", "subarea", "need", "disabled"):
        assert by in res.indicators, by
    raw = res.indicators["district"]
    assert len(raw) == 14  # Kent's 12 districts with children, "not known", all
    assert raw["n"].iloc[:-1].sum() == raw["n"].iloc[-1]  # one district per child
    sub = res.indicators["subarea"].set_index("group")
    assert set(sub.index) >= {"East Kent", "West Kent", "all"}
    pub = ledger.build(res)
    led = pub.ledger
    assert led is not None
    check_safe(led)  # no small count recoverable from all the tables together
    mc = led.min_count
    for by in ("excluding_uasc", "district", "subarea", "need", "disabled"):
        p = pub.indicators[by]
        r = res.indicators[by]
        assert list(p["label"]) == list(r["label"])
        for col in ("n", "n_over_miles", "n_inside_la"):
            for shown, true in zip(p[col], r[col], strict=True):
                assert shown == "c" or (int(shown) == true and not 0 < true < mc), (by, col)
    # all minus excluding UASC: shown only when the difference is not small
    ex, al = pub.indicators["excluding_uasc"].iloc[0], pub.indicators["excluding_uasc"].iloc[-1]
    for col in ("n", "n_over_miles", "n_inside_la"):
        if "c" not in (ex[col], al[col]):
            d = int(al[col]) - int(ex[col])
            assert not 0 < d < mc
    head = pub.headline["excluding_uasc"]
    raw_ex = res.indicators["excluding_uasc"].iloc[0]
    assert head["n"] == ex["n"] and head["far"] == ex["n_over_miles"]
    for key, col in (("n", "n"), ("far", "n_over_miles"), ("inside", "n_inside_la")):
        assert head[key] in ("c", str(raw_ex[col])), key


@pytest.mark.slow
def test_breakdowns_in_tables_trend_and_report(kent_run) -> None:
    res = kent_run
    tables = res.out_dir / "tables"
    for by in ("excluding_uasc", "district", "subarea", "need", "disabled"):
        df = pd.read_csv(tables / f"indicators_{by}.csv", dtype=str, keep_default_na=False)
        assert df["label"].iloc[-1] == "All children" and len(df) >= 2
    d = pd.read_csv(tables / "indicators_district.csv", dtype=str, keep_default_na=False)
    assert "Canterbury" in set(d["label"])
    trend = pd.read_csv(tables / "trend.csv", dtype=str, keep_default_na=False)
    assert {"all", "excluding_uasc", "district", "subarea", "need", "disabled"} <= set(
        trend["breakdown"]
    )
    assert {"East Kent", "West Kent"} <= set(trend.loc[trend["breakdown"] == "subarea", "group"])
    # each year's district rows count every child of the year's "all" base
    raw = res.trend
    for y in raw["year"].unique():
        base = raw[(raw["year"] == y) & (raw["measure"] == "far")]
        dist = base[base["breakdown"] == "district"]["denominator"].sum()
        assert dist == base[base["breakdown"] == "all"]["denominator"].iloc[0]
    html = (res.out_dir / "report.html").read_text(encoding="utf-8")
    for title in (
        "Excluding unaccompanied asylum-seeking children (UASC)",
        "By district of the child&#39;s home",
        "By sub-area of the child&#39;s home",
        "By the child&#39;s needs",
        "Disabled children",
    ):
        assert title in html, title
    assert "Excluding UASC" in html.split('id="indicators"')[0]  # in the summary's headlines
    gap = pd.read_csv(tables / "gap_areas.csv", dtype=str, keep_default_na=False)
    assert {"children_needs", "needs_lacking"} <= set(gap.columns)
    # no child-level figure: the new gap columns name needs, never counts
    assert not any(
        ch.isdigit() for v in gap["children_needs"] for ch in v.replace("fewer than 5", "")
    )


def test_the_synthetic_needs_are_plausible(tmp_path: Path) -> None:
    from geosuff.synth import synthesise

    syn = synthesise("E06000017", tmp_path, seed=3, n_children=400)
    p = pd.read_csv(syn.placements, dtype=str, keep_default_na=False)
    assert {"DISABLED", "NEED"} <= set(p.columns) and set(p["DISABLED"]) == {"Y", "N"}
    share = (p["DISABLED"] == "Y").mean()
    assert 0.08 <= share <= 0.17
    codes = {c for v in p["NEED"] for c in v.split(";") if c}
    from geosuff.reference import needs

    assert codes <= set(needs()) and len(codes) >= 4
    semh_homes = p[p["PLACE"].str.startswith("K")]["NEED"].str.contains("semh").mean()
    assert semh_homes > p[p["PLACE"].str.startswith("U")]["NEED"].str.contains("semh").mean()
    assert np.all(p["data_note"] == "SYNTHETIC")
