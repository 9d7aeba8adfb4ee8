"""Published tables go through disclosure control."""

from __future__ import annotations

import pandas as pd

from geosuff.outputs import published_dfe_comparison, published_indicator


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["foster", "childrens_home", "supported", "all"],
            "label": ["Foster", "Homes", "Supported", "All children"],
            "n": [21, 2, 9, 32],
            "n_within_miles": [11, 0, 4, 15],
            "pct_within_miles": [52.38, 0.0, 44.4, 46.875],
            "n_over_miles": [5, 1, 5, 11],
            "pct_over_miles": [23.8, 50.0, 55.6, 34.375],
            "n_distance_not_known": [5, 1, 0, 6],
            "pct_distance_not_known": [23.8, 50.0, 0.0, 18.75],
            "short_of_target": [3.0, 1.0, 2.0, 9.0],
        }
    )


def test_small_counts_and_their_percentages_are_suppressed() -> None:
    pub = published_indicator(_table(), 5)
    homes = pub[pub["group"] == "childrens_home"].iloc[0]
    assert homes["n"] == "c"  # a total of 2 children is itself suppressed
    assert homes["n_over_miles"] == "c" and homes["pct_over_miles"] == "c"
    assert homes["short_of_target"] == "c"
    sup = pub[pub["group"] == "supported"].iloc[0]
    assert sup["n_within_miles"] == "c" and sup["pct_within_miles"] == "c"
    # secondary: the supported row has a published total, so a lone "c" is joined by another
    row = [sup[c] for c in ("n_within_miles", "n_over_miles", "n_distance_not_known")]
    assert row.count("c") >= 2 or row.count("0") >= 1
    # no column of the body keeps a single suppressed cell while the total row is published
    for c in ("n_within_miles", "n_over_miles", "n_distance_not_known"):
        assert (pub[c].iloc[:-1] == "c").sum() != 1
    assert pub.loc[pub["group"] == "foster", "n"].iloc[0] == "21"


def test_dfe_comparison_computed_counts_suppressed() -> None:
    df = pd.DataFrame({"table": ["At 31 March"] * 3, "measure": ["near", "far", "unknown"], "computed_n": [30, 3, 7], "computed_pct": [75.0, 7.5, 17.5], "council_n": [30, 3, 7]})
    pub = published_dfe_comparison(df, 5)
    assert list(pub["computed_n"]).count("c") >= 2
    assert pub.loc[1, "computed_pct"] == "c"
    assert pub.loc[1, "council_n"] == 3  # the DfE's own published figure is left as published
