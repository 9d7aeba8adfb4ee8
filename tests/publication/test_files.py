"""How published and restricted CSVs read (geosuff.publication.files): no raw floats, dates
as the input wrote them, dense ranks, and no ``#`` line (issue #18.9, #12.9)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geosuff.publication.files import csv_ready, write_csv


@pytest.mark.parametrize(
    ("column", "values", "want"),
    [
        ("bedrooms", [3.0, 2.0], ["3", "2"]),  # whole numbers as integers
        ("cost", [137000.0, 64999.6], ["137000", "65000"]),  # money in whole pounds
        ("pct_within_miles", [47.0, 46.94], ["47.0", "46.9"]),  # percentages 1 dp
        ("total", [0.8148148148148148, 1.0], ["0.815", "1.0"]),  # scores 3 dp
        ("coverage_gain", ["c", 7850.0], ["c", "7850"]),  # suppressed cells mixed with numbers
        ("council_n", [15.0, np.nan], ["15", ""]),  # counts with a gap stay integers
        ("available_from", pd.to_datetime(["2026-09-28", None]), ["28/09/2026", ""]),
        ("chosen", [True, False], ["True", "False"]),
    ],
)
def test_csv_cells(tmp_path: Path, column: str, values: list, want: list[str]) -> None:
    p = write_csv(tmp_path / "t.csv", pd.DataFrame({"k": ["x", "y"], column: values}))
    got = [line.split(",", 1)[1] for line in p.read_text(encoding="utf-8").splitlines()]
    assert got[0] == column and got[1:] == want


def test_iso_dates_stay_iso_and_the_input_frame_is_unchanged() -> None:
    df = pd.DataFrame({"DECOM": pd.to_datetime(["2024-04-01"]), "age": [15.90965092402464]})
    out = csv_ready(df, date_style="iso")
    assert out["DECOM"].tolist() == ["2024-04-01"] and out["age"].tolist() == [15.91]
    assert df["age"].iloc[0] == 15.90965092402464


def test_restriction_notice_goes_beside_the_csv_not_into_it(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "OFFICIAL-SENSITIVE_x.csv", pd.DataFrame({"a": [1]}), banner="NOTICE")
    write_csv(tmp_path / "OFFICIAL-SENSITIVE_y.csv", pd.DataFrame({"a": [2]}), banner="NOTICE")
    assert p.read_text(encoding="utf-8") == "a\n1\n"
    assert (tmp_path / "README.txt").read_text(encoding="utf-8") == "NOTICE\n"  # once


_RAW_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{4,}(?![\w.])")


def test_demo_csvs_have_no_raw_floats_and_uk_dates(demo_results) -> None:
    tables = demo_results.out_dir / "tables"
    for p in sorted(tables.glob("*.csv")):
        text = p.read_text(encoding="utf-8")
        assert not text.startswith("#"), p.name
        assert not _RAW_FLOAT.search(text), (p.name, _RAW_FLOAT.search(text))
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        for col in df.columns:
            if col.startswith("pct_") or col.endswith("_pct"):
                vals = [v for v in df[col] if v not in ("", "c")]
                assert all(re.fullmatch(r"-?\d+\.\d", v) for v in vals), (p.name, col, vals)
    cand = pd.read_csv(tables / "candidates_ranked.csv", dtype=str, keep_default_na=False)
    for col in ("bedrooms", "cost"):
        assert all(re.fullmatch(r"\d*", v) for v in cand[col]), (col, list(cand[col]))
    assert all(re.fullmatch(r"(\d\d/\d\d/\d{4})?", v) for v in cand["available_from"])
    assert all(re.fullmatch(r"(\d\.\d{1,3})?", v) for v in cand["total"])
    ranks = sorted({int(r) for r in cand["rank"] if r})
    assert ranks == list(range(1, len(ranks) + 1))  # dense: 1, 1, 2, ...


def test_restricted_csvs_read_cleanly(demo_restricted_results) -> None:
    rdir = demo_restricted_results.out_dir / "RESTRICTED"
    assert "OFFICIAL-SENSITIVE" in (rdir / "README.txt").read_text(encoding="utf-8")
    for p in rdir.glob("*.csv"):
        assert p.name.startswith("OFFICIAL-SENSITIVE_")
        head = p.read_text(encoding="utf-8").splitlines()[0]
        assert not head.startswith("#")
    m = pd.read_csv(rdir / "OFFICIAL-SENSITIVE_placement_measures.csv", dtype=str)
    assert "CHILD" in m.columns and "DECOM" in m.columns
    decom = m["DECOM"].dropna()
    assert len(decom) and decom.str.fullmatch(r"\d\d/\d\d/\d{4}").all()  # the inputs' UK dates
    assert m["home_e"].dropna().str.fullmatch(r"\d+").all()
