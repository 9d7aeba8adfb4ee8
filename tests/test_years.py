"""End to end: a three-year episodes history -> tables/trend.csv, suppression and the report's charts."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

NEAR = ("DL15 0UP", "DL14 6HQ")  # home and placement in County Durham
FAR = ("SR7 7WG", "NG18 2SD")  # placed in Nottinghamshire


def _episodes() -> list[dict[str, str]]:
    """Episodes over 2023-2025 with known snapshots (see the counts in the test)."""
    rows: list[dict[str, str]] = []

    def ep(child: str, dob: str, decom: str, dec: str, pair: tuple[str, str], uasc: str = "0"):
        rows.append(
            {
                "CHILD": child,
                "DOB": dob,
                "UASC": uasc,
                "DECOM": decom,
                "DEC": dec,
                "PLACE": "U1",
                "HOME_POST": pair[0],
                "PL_POST": pair[1],
            }
        )

    for i in range(12):  # in every year, near
        ep(f"S{i}", "01/05/2012", "01/01/2022", "", NEAR)
    for i in range(6):  # in every year, far
        ep(f"F{i}", "01/05/2011", "01/06/2022", "", FAR)
    ep("T18", "01/09/2006", "01/01/2021", "", FAR)  # 18 by 31/03/2025: not counted then
    for i in range(5):  # ended before 31/03/2024
        ep(f"E{i}", "01/05/2010", "01/05/2022", "01/02/2024", FAR)
    ep("X", "01/05/2013", "01/01/2022", "01/10/2023", FAR)  # two episodes: far, then near
    ep("X", "01/05/2013", "01/10/2023", "", NEAR)
    for i in range(2):  # UASC from 2023-06: 2024 and 2025
        ep(f"U{i}", "01/05/2009", "01/06/2023", "", FAR, uasc="1")
    for i in range(5):  # new in 2024-25, near
        ep(f"N{i}", "01/05/2015", "01/06/2024", "", NEAR)
    return rows


@pytest.fixture(scope="module")
def history_run(tmp_path_factory: pytest.TempPathFactory):
    """The pipeline on the hand-made history (County Durham, estimated travel times)."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    folder = tmp_path_factory.mktemp("years")
    syn = synthesise("E06000047", folder, seed=4, n_children=30)
    with syn.placements.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(_episodes()[0]))
        w.writeheader()
        w.writerows(_episodes())
    text = syn.config.read_text(encoding="utf-8").replace(
        "reference_date = 2025-03-31", "reference_date = 2025-03-31\nyears = [2023, 2024, 2025]"
    )
    syn.config.write_text(text, encoding="utf-8")
    return run(load_config(syn.config))


def _csv(res, name: str) -> pd.DataFrame:
    out = Path(res.scenario.output.dir)
    return pd.read_csv(out / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)


def test_trend_counts_each_31_march(history_run) -> None:
    """Ended episodes, a child turning 18 and a child with two episodes, counted per year."""
    res = history_run
    m = res.measures
    near_row = int(m.index[m["HOME_POST"] == NEAR[0]][0])
    far_row = int(m.index[m["HOME_POST"] == FAR[0]][0])
    assert not bool(m.loc[near_row, "far"]) and bool(m.loc[near_row, "inside_la"])
    assert bool(m.loc[far_row, "far"]) and not bool(m.loc[far_row, "inside_la"])
    t = res.trend
    assert list(t.columns[:7]) == [
        "year",
        "measure",
        "breakdown",
        "group",
        "count",
        "denominator",
        "percent",
    ]

    def raw(year: int, measure: str, breakdown: str = "all") -> tuple[int, int]:
        r = t[(t["year"] == year) & (t["measure"] == measure) & (t["breakdown"] == breakdown)]
        assert len(r) == 1
        return int(r["count"].iloc[0]), int(r["denominator"].iloc[0])

    # 2023: 12 near + 6 far + T18 + 5 ended + X (first, far) = 25, far 13
    # 2024: 12 + 6 + T18 (17) + X (near) + 2 UASC far = 22, far 9; without UASC 20, far 7
    # 2025: 12 + 6 + X + 2 UASC + 5 new near = 26 (T18 is 18), far 8; without UASC 24, far 6
    want = {2023: (13, 25), 2024: (9, 22), 2025: (8, 26)}
    for year, (far, n) in want.items():
        assert raw(year, "far") == (far, n)
        assert raw(year, "outside_la") == (far, n)
    assert raw(2024, "far", "excluding_uasc") == (7, 20)
    assert raw(2025, "far", "excluding_uasc") == (6, 24)
    near_local = float(m.loc[near_row, "road_minutes"]) <= res.scenario.analysis.local_minutes
    far_local = float(m.loc[far_row, "road_minutes"]) <= res.scenario.analysis.local_minutes
    for year, (far, n) in want.items():
        assert raw(year, "within_local_minutes") == (near_local * (n - far) + far_local * far, n)
    # the reference year is the run's own snapshot: the same figures as the indicators
    ov = res.indicators["overall"]
    assert int(ov["n"].iloc[-1]) == 26


def test_trend_csv_published_and_small_counts_protected(history_run) -> None:
    """Counts and percents exact where shown; the 2 UASC children of 2024 cannot be worked out
    by differencing "all" and "excluding_uasc" (for the count or the base).
    """
    pub = _csv(history_run, "trend")
    assert list(pub.columns[:7]) == list(history_run.trend.columns)
    row = pub[(pub["year"] == "2023") & (pub["measure"] == "far") & (pub["breakdown"] == "all")]
    assert (row["count"].iloc[0], row["denominator"].iloc[0], row["percent"].iloc[0]) == (
        "13",
        "25",
        "52.0",
    )
    for year in ("2024", "2025"):
        for measure in ("far", "outside_la"):
            sub = pub[(pub["year"] == year) & (pub["measure"] == measure)]
            a = sub[sub["breakdown"] == "all"].iloc[0]
            e = sub[sub["breakdown"] == "excluding_uasc"].iloc[0]
            assert "c" in (a["count"], e["count"]), (year, measure)
            assert "c" in (a["denominator"], e["denominator"]), (year, measure)
    for _, r in pub.iterrows():
        if "c" not in (r["count"], r["denominator"]):
            assert float(r["percent"]) == pytest.approx(
                100 * int(r["count"]) / int(r["denominator"]), abs=0.05
            )
    # no figure of 1-4 is published
    shown = [int(x) for x in np.concatenate([pub["count"], pub["denominator"]]) if x != "c"]
    assert not [x for x in shown if 0 < x < 5]


def test_report_draws_a_trend_chart_per_measure(history_run) -> None:
    out = Path(history_run.scenario.output.dir)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count('<figure class="trend">') == 3  # no PLACE_PROVIDER: no external chart
    assert "Placed with an external provider" not in report
    assert "Placed more than 20 miles from home (straight line, %)" in report
    assert "Placed within 30 minutes of home (%)" in report


def test_ledger_audit_cannot_pin_down_the_uasc_children(history_run) -> None:
    """The implied UASC figures (all minus excluding UASC) are protected: a reader's range for
    each, given everything published, is wider than one value.
    """
    from geosuff.publication.ledger import build

    led = build(history_run).ledger
    a = led.audit()
    uasc = a[a["labels"].str.contains("trend: 2024 far excluding_uasc all UASC")]
    assert len(uasc) == 1 and int(uasc["value"].iloc[0]) == 2
    assert float(uasc["upper"].iloc[0]) - float(uasc["lower"].iloc[0]) >= 1


def test_synthetic_history_shows_a_trend(tmp_path) -> None:
    """`synthesise(..., years=3)`: ended episodes (DEC) give each 31 March about n children."""
    from geosuff.config import load_config
    from geosuff.pipeline import run
    from geosuff.synth import synthesise

    syn = synthesise("E06000047", tmp_path / "in", seed=5, n_children=40, years=3)
    eps = pd.read_csv(syn.placements, dtype=str, keep_default_na=False)
    assert (eps["data_note"] == "SYNTHETIC").all()
    assert (eps["DEC"] != "").any() and (eps["DEC"] == "").sum() == 40
    res = run(load_config(syn.config))
    t = res.trend
    assert sorted(set(t["year"])) == [2023, 2024, 2025]
    base = t[(t["measure"] == "far") & (t["breakdown"] == "all")].set_index("year")["denominator"]
    assert base[2025] == 40 and all(30 <= base[y] <= 45 for y in (2023, 2024))
    out = Path(res.scenario.output.dir)
    pub = pd.read_csv(out / "tables" / "trend.csv", dtype=str, keep_default_na=False)
    assert (pub["data_note"] == "SYNTHETIC").all()
    report = (out / "report.html").read_text(encoding="utf-8")
    # far, outside the council, within local minutes, and (synthetic PLACE_PROVIDER) external
    assert report.count('<figure class="trend">') == 4
    assert "Placed with an external provider" in report
