"""Hostile names in a council's inputs: never a live formula in a CSV or spreadsheet, never
live markup in the report or the map."""

from __future__ import annotations

import csv
import html
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from geosuff.publication import files as outputs

FORMULAS = [
    '=HYPERLINK("http://example.org","click")',
    "+SUM(A1:A9)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1)",
    "\tTabbed",
    "\rReturned",
]
MARKUP = [
    "</script><script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
]
HOSTILE = FORMULAS + MARKUP


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(1)", "'+SUM(1)"),
        ("-cmd", "'-cmd"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+5", "+5"),
        ("-2", "-2"),
        ("-1,234.5", "-1,234.5"),
        ("+12.5%", "+12.5%"),
        ("c", "c"),
        ("Oakham", "Oakham"),
        (-3, -3),
        (2.5, 2.5),
    ],
)
def test_neutral_text(value: object, want: object) -> None:
    assert outputs.neutral_text(value) == want


def _hostile_run(out: Path):
    from fixtures_results import make_results

    res = make_results(out)
    c = res.candidates.copy()
    c["name"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(c))]
    res.candidates = c
    return res


def test_hostile_names_are_neutralised_everywhere(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = _hostile_run(out)
    assert len(res.candidates) >= len(HOSTILE)
    outputs.write_all(res)

    ranked = (out / "tables" / "candidates_ranked.csv").read_text(encoding="utf-8")
    names = pd.read_csv(out / "tables" / "candidates_ranked.csv", dtype=str, keep_default_na=False)[
        "name"
    ].tolist()
    assert {f"'{h}" for h in FORMULAS} <= set(names), ranked[:500]
    # no cell of any CSV starts with a formula character unless it is a number as written
    csvs = sorted(out.rglob("*.csv"))
    assert len(csvs) > 5
    for p in csvs:
        with p.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    if cell.startswith(outputs.FORMULA_START):
                        assert outputs._NUMBER_TEXT.fullmatch(cell), (p.name, cell)

    # the workbook: the same names as typed text, never a formula
    wb = load_workbook(out / outputs.WORKBOOK)
    cells = [
        c
        for row in wb["candidates_ranked"].iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.lstrip("'").startswith(("=", "+", "-", "@"))
    ]
    assert cells
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)

    for page in ("report.html", "map.html"):
        text = (out / page).read_text(encoding="utf-8")
        for bad in MARKUP:
            assert bad not in text, page
        assert "<img src=x" not in text, page
        assert "<script>alert" not in text, page
    report = (out / "report.html").read_text(encoding="utf-8")
    assert html.escape(MARKUP[1], quote=False) in report or html.escape(MARKUP[1]) in report
