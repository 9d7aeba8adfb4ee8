"""tables.xlsx: every published table in one workbook, equal to the CSVs, formulas never live."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from geosuff import __version__
from geosuff.publication import workbook as wb
from geosuff.publication.files import FORMULA_START, TABLES, WORKBOOK

INJECTED = '=HYPERLINK("http://x","y")'


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _sheet_rows(ws) -> list[list[object]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _assert_sheet_equals_csv(ws, rows: list[list[str]]) -> None:
    got = _sheet_rows(ws)
    assert len(got) == len(rows), ws.title
    for i, (g, want) in enumerate(zip(got, rows, strict=True)):
        g = g + [None] * (len(want) - len(g))
        assert len(g) == len(want), (ws.title, i)
        for j, (cell, text) in enumerate(zip(g, want, strict=True)):
            if text == "":
                assert cell is None, (ws.title, i, j)
            elif wb.cell_value(text) is not None and not isinstance(wb.cell_value(text), str):
                assert isinstance(cell, int | float) and not isinstance(cell, bool), (
                    ws.title,
                    i,
                    j,
                    cell,
                )
                # Excel keeps 15 significant digits (openpyxl writes 16)
                assert cell == pytest.approx(float(text), rel=1e-15, abs=0), (ws.title, i, j)
            else:
                # the CSV's neutralising ' is the workbook cell's quote prefix
                if text.startswith("'") and text[1:].startswith(FORMULA_START):
                    text = text[1:]
                assert cell == wb.excel_text(text), (ws.title, i, j)


# ----------------------------------------------------------------------------------------------
# the demo
# ----------------------------------------------------------------------------------------------
def test_demo_workbook_has_every_table_equal_to_its_csv(demo_results) -> None:
    out = demo_results.out_dir
    path = out / WORKBOOK
    assert path.is_file() and (out / "tables").is_dir()
    csvs = {p.stem: p for p in (out / "tables").glob("*.csv")}
    assert set(csvs) <= set(TABLES)
    book = load_workbook(path)
    names = wb.sheet_names([n for n in TABLES if n in csvs])
    assert book.sheetnames == [wb.README_SHEET, *names.values()]
    assert all(len(s) <= wb.MAX_SHEET_NAME for s in book.sheetnames)
    assert len({s.lower() for s in book.sheetnames}) == len(book.sheetnames)
    for table, sheet in names.items():
        ws = book[sheet]
        assert ws.freeze_panes == "A2", sheet
        _assert_sheet_equals_csv(ws, _csv_rows(csvs[table]))
        assert all(ws.column_dimensions[c].width >= 8 for c in ws.column_dimensions)
    # a count or percentage withheld stays the text "c"; a percentage is a number with 1 dp
    ov = book[names["indicators_overall"]]
    header = [c.value for c in ov[1]]
    j = header.index("pct_within_miles") + 1
    cell = ov.cell(row=2, column=j)
    assert isinstance(cell.value, float | int) and cell.number_format == wb.PERCENT_FORMAT
    n = ov.cell(row=2, column=header.index("n") + 1)
    assert isinstance(n.value, int) and n.number_format == wb.INTEGER_FORMAT
    withheld = [c for row in book[names["indicators_age_band"]].iter_rows() for c in row]
    assert any(c.value == "c" and c.data_type == "s" for c in withheld)


def test_demo_workbook_readme(demo_results) -> None:
    book = load_workbook(demo_results.out_dir / WORKBOOK)
    ws = book[wb.README_SHEET]
    assert ws.freeze_panes == "A2"
    items = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    text = "\n".join(str(v) for r in ws.iter_rows(values_only=True) for v in r if v is not None)
    assert items["data"].startswith("SYNTHETIC")
    assert items["council"] == "Rutland (E06000017)"
    assert items["suppression"] == "c = withheld: fewer than 5 children or would reveal one"
    assert items["geosuff version"] == __version__
    assert "OpenStreetMap" in text and "Crown copyright" in text
    assert "indicators_overall: tables/indicators_overall.csv" in text
    assert items["title"] and items["date"]


# ----------------------------------------------------------------------------------------------
# formula injection, the option, the check
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory):
    """A run whose candidate names would be formulas in a spreadsheet."""
    from fixtures_results import make_results

    from geosuff.publication import files

    res = make_results(tmp_path_factory.mktemp("inject") / "out")
    assert res.candidates is not None and "name" in res.candidates
    names = [INJECTED, "+1+2", "@SUM(A1:A2)", "-2+3", "\tcmd", "\rcmd"]
    c = res.candidates.copy()
    c["name"] = c["name"].astype(object)
    for i, v in enumerate(names[: len(c)]):
        c.iloc[i, c.columns.get_loc("name")] = v
    res.candidates = c
    files.write_all(res)
    return res, names[: len(c)]


def test_formula_like_text_is_stored_as_text(injected) -> None:
    res, names = injected
    path = res.out_dir / WORKBOOK
    book = load_workbook(path)
    sheet = wb.sheet_names(["candidates_ranked"])["candidates_ranked"]
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    col = header.index("name") + 1
    cells = {
        ws.cell(row=i, column=col).value: ws.cell(row=i, column=col)
        for i in range(2, ws.max_row + 1)
    }
    for v in names:
        cell = cells[wb.excel_text(v)]  # the value as given, not a formula's result
        assert cell.data_type == "s" and cell.quotePrefix, v
    # and there is no formula anywhere in the file
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode("utf-8") and "<f " not in z.read(
                    name
                ).decode("utf-8"), name
    assert book[wb.README_SHEET]["A1"].value == "item"
    # the CSV of the same table holds the same text (a carriage return quoted, the row whole)
    rows = _csv_rows(res.out_dir / "tables" / "candidates_ranked.csv")
    assert len(rows) == len(res.candidates) + 1
    _assert_sheet_equals_csv(ws, rows)


def test_cell_value_numbers_and_text() -> None:
    assert wb.cell_value("") is None
    assert wb.cell_value("12") == 12 and isinstance(wb.cell_value("12"), int)
    assert wb.cell_value("-3") == -3
    assert wb.cell_value("46.9") == 46.9
    assert wb.cell_value("1e-05") == 1e-05
    for text in ("c", "007", "5–9", "+5", "True", "E06000017", "2025-03-31", "1234567890123456"):
        assert wb.cell_value(text) == text, text
    assert wb.excel_text("a\r\nb\rc\x01") == "a\nb\nc"
    assert wb.is_percent_column("pct_within") and wb.is_percent_column("computed_pct")
    assert not wb.is_percent_column("n_within") and not wb.is_percent_column("capacity")


def test_sheet_names_are_valid_and_unique() -> None:
    long = "a" * 40
    names = wb.sheet_names([long, long + "b", "x/y:z", "README", "readme"])
    vals = list(names.values())
    assert all(len(v) <= 31 for v in vals)
    assert len({v.lower() for v in vals} | {"readme"}) == len(vals) + 1
    assert names["x/y:z"] == "x_y_z"


def test_excel_off_writes_no_workbook(tmp_path: Path) -> None:
    from fixtures_results import make_results

    from geosuff.publication import files

    res = make_results(tmp_path / "out", synthetic=False)
    res.scenario = res.scenario.model_copy(
        update={"output": res.scenario.output.model_copy(update={"excel": False})}
    )
    written = files.write_all(res)
    assert WORKBOOK not in written and not (res.out_dir / WORKBOOK).exists()
    assert (res.out_dir / "tables").is_dir()


def test_write_workbook_not_synthetic(tmp_path: Path) -> None:
    import pandas as pd

    info = wb.WorkbookInfo(title="T", council="Rutland (E06000017)", generated="2026-01-01")
    df = pd.DataFrame({"label": ["=1+1", "ok"], "n": ["c", "7"], "pct_x": ["c", "33.3"]})
    p = wb.write_workbook(tmp_path / "t.xlsx", {"t": df, "none": None}, info)
    book = load_workbook(p)
    assert book.sheetnames == ["README", "t"]
    readme = {r[0]: r[1] for r in book["README"].iter_rows(min_row=2, values_only=True)}
    assert "data" not in readme  # no SYNTHETIC flag on real data
    ws = book["t"]
    assert [c.value for c in ws[2]] == ["=1+1", "c", "c"] and ws["A2"].data_type == "s"
    assert [c.value for c in ws[3]] == ["ok", 7, 33.3]
    assert ws["C3"].number_format == "0.0"


def test_workbook_goes_through_the_published_file_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forbidden string found only in the workbook stops the run and publishes nothing."""
    from fixtures_results import make_results

    from geosuff._errors import DisclosureError
    from geosuff.publication import disclosure as dc
    from geosuff.publication import files

    res = make_results(tmp_path / "out")
    real = dc.personal_strings
    monkeypatch.setattr(
        files.disclosure,
        "personal_strings",
        lambda *a, **k: [*real(*a, **k), "c = withheld"],  # only in the README sheet
    )
    with pytest.raises(DisclosureError, match="tables.xlsx"):
        files.write_all(res)
    assert not (res.out_dir / WORKBOOK).exists() and not (res.out_dir / "tables").exists()


def test_demo_workbook_and_project_hold_no_personal_data(demo_results, tmp_path: Path) -> None:
    """The strict published-file check (every text pair at any precision) on every sheet of
    tables.xlsx and on geosuff.qgs."""
    from geosuff.publication import disclosure
    from geosuff.publication.files import QGIS_PROJECT

    out = demo_results.out_dir
    forb = disclosure.personal_strings(demo_results.measures, sites=demo_results.sites)
    pts = disclosure.personal_points(demo_results.measures, sites=demo_results.sites)
    copies = wb.workbook_csv_copies(out / WORKBOOK, tmp_path)
    assert len(copies) == len(load_workbook(out / WORKBOOK).sheetnames)
    for p in [*copies, out / QGIS_PROJECT]:
        assert disclosure.check_published_file(p, forb, points=pts, strict=True) == [], p.name
