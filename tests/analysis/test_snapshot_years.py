"""geosuff.analysis.trend: snapshot years and the per-year measures."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geosuff.analysis import trend as tr


def _dates(*xs: str | None) -> pd.Series:
    return pd.to_datetime(pd.Series(list(xs), dtype=object), dayfirst=True)


def test_snapshot_years_are_the_31_marches_the_episodes_cover() -> None:
    decom = _dates("01/05/2021", "01/01/2023", "01/06/2024")
    dec = _dates("01/06/2022", None, None)
    # 31/03/2021: nothing open yet; 2022 (first episode), 2023 (second), 2024, 2025
    assert tr.snapshot_years(decom, dec, until=dt.date(2025, 3, 31)) == [2022, 2023, 2024, 2025]
    # before 31 March, the latest snapshot is the previous year's
    assert tr.snapshot_years(decom, dec, until=dt.date(2025, 2, 1)) == [2022, 2023, 2024]


def test_a_snapshot_file_without_end_dates_is_one_year() -> None:
    decom = _dates("01/05/2015", "01/01/2023")
    assert tr.snapshot_years(decom, _dates(None, None), until=dt.date(2025, 3, 31)) == [2025]


def _measures(rows: list[int], minutes: list[float]) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "row": rows,
            "far": pd.array([i % 2 == 0 for i in range(n)], dtype="boolean"),
            "inside_la": pd.array([True] * (n - 1) + [None], dtype="boolean"),
            "road_minutes": minutes,
            "uasc": pd.array([False] * n, dtype="boolean"),
            "place_group": ["fostering"] * n,
            "status": ["used"] * (n - 1) + ["excluded"],
        }
    )


def test_travel_time_measure_only_for_years_whose_children_were_all_routed() -> None:
    rec = tr.trend_records(
        {
            2024: _measures([1, 2, 3, 9], [10.0, 50.0, np.nan, 1.0]),
            2025: _measures([1, 2, 3], [10.0, 50.0, 5.0]),
        },
        local_minutes=30,
        routed_rows={1, 2, 3},
    )
    # 2024's row 9 is excluded (not counted), so every counted child was routed
    assert rec.minutes_years == (2024, 2025)
    t = tr.trend_table(rec)
    w = t[(t["measure"] == "within_local_minutes") & (t["breakdown"] == "all")]
    assert list(w["count"]) == [1, 1] and list(w["denominator"]) == [3, 2]
    rec2 = tr.trend_records(
        {2024: _measures([1, 7, 3], [10.0, 5.0, 5.0])}, local_minutes=30, routed_rows={1, 3}
    )
    assert rec2.minutes_years == ()
    assert "within_local_minutes" not in set(tr.trend_table(rec2)["measure"])
    assert list(tr.trend_table(rec2).columns) == list(tr.TREND_COLUMNS)
