"""End to end: a synthetic care-leavers file and a four-year history -> tables/care_leavers.csv,
tables/projection.csv, the report's section, disclosure control and projected siting demand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def leavers_run(tmp_path_factory: pytest.TempPathFactory):
    """SYNTHETIC Rutland, four years of episodes, care leavers, ``[siting] demand = "projected"``."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    folder = tmp_path_factory.mktemp("leavers")
    syn = synthesise("E06000017", folder, seed=2026, years=4, output_dir="out")
    text = syn.config.read_text(encoding="utf-8").replace(
        "[disclosure]", '[siting]\ndemand = "projected"\n\n[disclosure]'
    )
    syn.config.write_text(text, encoding="utf-8")
    return run(load_config(syn.config)), syn


def _csv(res, name: str) -> pd.DataFrame:
    out = Path(res.scenario.output.dir)
    return pd.read_csv(out / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)


def test_synth_writes_a_synthetic_oc3_file(leavers_run) -> None:
    _, syn = leavers_run
    cl = pd.read_csv(syn.folder / "care_leavers.csv", dtype=str, keep_default_na=False)
    assert list(cl.columns)[:5] == ["CHILD", "DOB", "IN_TOUCH", "ACCOM", "ACCOM_POST"]
    assert (cl["data_note"] == "SYNTHETIC").all()
    assert set(cl["IN_TOUCH"]) <= {"YES", "NO", "DIED", "REFU", "NREQ", "RHOM"}
    assert 'care_leavers = "care_leavers.csv"' in syn.config.read_text(encoding="utf-8")


def test_every_care_leaver_row_accounted_for(leavers_run) -> None:
    res, syn = leavers_run
    n_in = len(pd.read_csv(syn.folder / "care_leavers.csv", dtype=str))
    rec = res.reconciliation[res.reconciliation["table"] == "care_leavers"]
    assert len(rec) == n_in and rec["row"].tolist() == list(range(1, n_in + 1))
    ex = rec[rec["status"] == "excluded"]
    assert (ex["reason"] != "").all()
    summary = _csv(res, "reconciliation_summary")
    assert "care_leavers" in set(summary["table"])


def test_care_leavers_table_published_under_disclosure_control(leavers_run) -> None:
    res, _ = leavers_run
    raw = res.care_leaver_table
    pub = _csv(res, "care_leavers")
    assert list(pub.columns)[:6] == [
        "age_band",
        "measure",
        "category",
        "count",
        "denominator",
        "percent",
    ]
    assert len(pub) == len(raw)
    mc = res.scenario.disclosure.min_count
    for v, true in zip(pub["count"], raw["count"], strict=True):
        assert v == "c" or (int(v) == true and (true == 0 or true >= mc))
    # each block: shown cells never let a reader work out one withheld small cell
    for _, g in pub.groupby(["age_band", "measure"]):
        total = g["denominator"].iloc[0]
        hidden = (g["count"] == "c").sum()
        assert hidden != 1 or total == "c"
    led = res_ledger(res)
    assert led.result is not None and not led.result.unprotected.any()


def res_ledger(res):
    from geosuff.publication import ledger

    return ledger.build(res).ledger


def test_projection_published_rounded(leavers_run) -> None:
    res, _ = leavers_run
    p = _csv(res, "projection")
    assert set(p["breakdown"]) >= {"all", "place_group"}
    assert sorted(set(p["year"].astype(int))) == [2026, 2027, 2028]
    for col in ("projected", "lower_80", "upper_80", "lower_95", "upper_95"):
        for v in p[col]:
            assert v in ("c", ":") or int(v) % 5 == 0
    shown = p[p["projected"] != "c"]
    assert len(shown) and (shown["lower_95"].astype(int) <= shown["upper_95"].astype(int)).all()


def test_report_and_no_personal_data_published(leavers_run) -> None:
    res, syn = leavers_run
    out = Path(res.scenario.output.dir)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="leavers"' in html and "Care leavers aged 18 to 21" in html
    assert "not shipped with geosuff" in html and "log-linear" in html
    cl = pd.read_csv(syn.folder / "care_leavers.csv", dtype=str, keep_default_na=False)
    posts = {p for p in cl["ACCOM_POST"] if p}
    ids = set(cl["CHILD"])
    for f in [*out.glob("tables/*.csv"), out / "report.html", out / "map.html"]:
        text = f.read_text(encoding="utf-8")
        assert not any(p in text or p.replace(" ", "") in text for p in posts), f
        assert not any(i in text for i in ids), f


def test_projected_demand_weights_the_siting(leavers_run) -> None:
    from geosuff.analysis.projection import demand_ratio

    res, _ = leavers_run
    ratio = demand_ratio(res.projection)
    assert ratio and all(np.isfinite(v) and v >= 0 for v in ratio.values())
    assert res.scenario.siting["demand"] == "projected"
    # care-leaver units have care leavers to serve (unsuitable accommodation or outside)
    demand = int(res.care_leavers["demand"].sum())
    c = res.candidates
    clu = c[(c["use"] == "care_leaver_unit") & c["eligible"].astype(bool)]
    assert demand > 0 and len(clu)
    assert (pd.to_numeric(clu["rehoming_reachable"]) <= demand).all()
    assert pd.to_numeric(clu["rehoming_reachable"]).max() > 0


def test_pseudo_postcodes_are_not_personal_strings() -> None:
    """A care leaver whose ACCOM_POST is a ZZ99 pseudo-postcode ("address not known") must not make
    the DfE code forbidden: the placements' reasons quote it, and County Durham, Dorset and Derby
    synthetic reviews were refused for it (found by `make councils` after the merge)."""
    import pandas as pd

    from geosuff.publication.files import _leaver_strings

    class _R:
        care_leavers = pd.DataFrame(
            {
                "CHILD": ["CL0001", "CL0002"],
                "ACCOM_POST": ["ZZ99 3WZ", "LE15 6AA"],
                "accom_e": [float("nan"), 485996.0],
                "accom_n": [float("nan"), 308869.0],
            }
        )

    got = _leaver_strings(_R())  # type: ignore[arg-type]
    assert "ZZ99 3WZ" not in got and "ZZ993WZ" not in got
    assert {"CL0001", "LE15 6AA", "LE156AA", "485996 308869"} <= set(got)
