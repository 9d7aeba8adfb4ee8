"""tables/providers.csv through the ledger: small counts withheld, no sector worked out by
subtracting the others from the group's total."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from fixtures_results import make_results

from geosuff.analysis.providers import measures_provider_table
from geosuff.publication import ledger
from geosuff.publication.files import TABLES


def test_providers_table_is_published_under_disclosure_control(tmp_path: Path) -> None:
    res = make_results(tmp_path, n_children=90)
    raw = measures_provider_table(res.measures)
    assert raw is not None  # the synthetic cohort has PLACE_PROVIDER
    pub = ledger.build(res)
    t = pub.providers
    assert t is not None and "providers" in TABLES
    assert len(t) == len(raw)
    mc = res.scenario.disclosure.min_count
    for (_, p), (_, r) in zip(t.iterrows(), raw.iterrows(), strict=True):
        assert (p["place_group"], p["sector"]) == (r["place_group"], r["sector"])
        if p["count"] != "c":
            assert int(p["count"]) == r["count"]
            assert r["count"] == 0 or r["count"] >= mc
        else:
            assert p["percent"] == "c"
        if 0 < r["count"] < mc:
            assert p["count"] == "c"
    # a group whose total is shown never has exactly one sector withheld (it would follow)
    for _, g in t.groupby("place_group"):
        if g["denominator"].iloc[0] != "c":
            assert (g["count"] == "c").sum() != 1
    all_rows = t[t["place_group"] == "all"]
    shown = all_rows[all_rows["count"] != "c"]
    assert pd.to_numeric(shown["count"]).sum() <= int(all_rows["denominator"].iloc[0])
