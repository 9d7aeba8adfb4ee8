"""``tables.xlsx``: every published table of a run in one Excel workbook.

One sheet per published table (the frames written to ``tables/<name>.csv``, with the same
values), after a ``README`` sheet that says what the workbook is (title, council, date, the
SYNTHETIC flag, what ``c`` means, sources, geosuff version). Each cell holds what the CSV holds:
a cell whose CSV text is a plain number is written as a number (integers as integers,
percentages with one decimal place), every other cell as text, so a withheld ``c`` stays the
text ``c``.

Text that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, e.g. a candidate property named ``=HYPERLINK(...)``) is stored as a
string with Excel's quote prefix, so it is shown as typed and never evaluated (the CSV holds
the same text after a ``'``, see :func:`geosuff.publication.files.neutral_text`). Line breaks are
Excel's (a carriage return becomes a line feed) and control characters that a workbook cannot
hold are dropped; nothing else differs from the CSV.

Usage
-----
>>> from geosuff.publication.workbook import write_workbook  # doctest: +SKIP
>>> write_workbook(out / "tables.xlsx", {"sensitivity": df}, info)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geosuff import __version__
from geosuff._io import atomic_path

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from geosuff.results import Results

logger = logging.getLogger(__name__)

__all__ = [
    "README_SHEET",
    "WorkbookInfo",
    "cell_value",
    "csv_cells",
    "excel_text",
    "is_percent_column",
    "sheet_names",
    "workbook_csv_copies",
    "workbook_info",
    "write_workbook",
]

#: Name of the first sheet, which says what the workbook is.
README_SHEET = "README"
#: Excel's limit on the length of a sheet name.
MAX_SHEET_NAME = 31
#: Excel's limit on the characters of one cell.
MAX_CELL_CHARS = 32767
#: First characters that make a spreadsheet read a text cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

INTEGER_FORMAT = "0"  # no thousands separator: years and ids are integers too
PERCENT_FORMAT = "0.0"

_INT = re.compile(r"-?(?:0|[1-9]\d{0,14})")
_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PERCENT = re.compile(r"(?:^|_)(?:pct|percent|percentage)(?:_|$)", re.IGNORECASE)
_MIN_WIDTH, _MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class WorkbookInfo:
    """What the README sheet says.

    Attributes
    ----------
    title : str
        The review's title.
    council : str
        Council name and GSS code.
    generated : str
        Date the workbook was made (ISO).
    reference_date : str or None
        The snapshot date of the analysis.
    synthetic : bool
        True for a run on synthetic data: the README says SYNTHETIC first.
    min_count : int
        The disclosure threshold: ``c`` = fewer than this many children, or would reveal one.
    sources : tuple of str
        Data sources and attribution.
    version : str
        geosuff version.
    """

    title: str
    council: str
    generated: str
    reference_date: str | None = None
    synthetic: bool = False
    min_count: int = 5
    sources: tuple[str, ...] = field(default_factory=tuple)
    version: str = __version__


def workbook_info(results: Results) -> WorkbookInfo:
    """The README facts of a run (title, council, dates, SYNTHETIC flag, threshold, sources)."""
    from geosuff.publication.maps import ATTRIBUTION

    sc = results.scenario
    ref = sc.analysis.reference_date
    sources = tuple(
        s.strip() for s in html.unescape(ATTRIBUTION).replace("\u00b7", "|").split("|") if s.strip()
    )
    return WorkbookInfo(
        title=sc.title or f"{results.council_name}: placement sufficiency gap review",
        council=f"{results.council_name} ({sc.council})",
        generated=dt.date.today().isoformat(),
        reference_date=ref.isoformat() if ref is not None else None,
        synthetic=bool(sc.synthetic),
        min_count=int(sc.disclosure.min_count),
        sources=sources,
    )


def sheet_names(names: Iterable[str]) -> dict[str, str]:
    """A valid, unique Excel sheet name (at most 31 characters, none of ``[]:*?/\\``, not
    ``README``) for each table name, in order.
    """
    used = {README_SHEET.lower()}
    out: dict[str, str] = {}
    for name in names:
        base = _SHEET_BAD.sub("_", str(name)).strip("'") or "table"
        cand = base[:MAX_SHEET_NAME]
        k = 2
        while cand.lower() in used:
            suffix = f"~{k}"
            cand = base[: MAX_SHEET_NAME - len(suffix)] + suffix
            k += 1
        used.add(cand.lower())
        out[name] = cand
    return out


def csv_cells(df: pd.DataFrame) -> list[list[str]]:
    """The cells of ``df`` as :func:`geosuff.publication.files.write_csv` writes them (header
    row first), as text. (Rows end in CRLF here so that a field holding a carriage return is
    quoted and read back whole.)
    """
    text = df.to_csv(index=False, lineterminator="\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


def cell_value(text: str) -> int | float | str | None:
    """What a CSV cell's text is written as: None for an empty cell, an int or float for a plain
    number (no leading zeros, so an id such as ``007`` stays text; at most 15 digits, Excel's
    precision), else the text itself.
    """
    if text == "":
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text) and any(ch in text for ch in ".eE"):
        return float(text)
    return text


def is_percent_column(name: str) -> bool:
    """True for a column of percentages (``pct_within``, ``computed_pct``, ``far_percent``...)."""
    return bool(_PERCENT.search(str(name)))


def excel_text(text: str) -> str:
    """The text a cell holds for a CSV cell's text: line breaks as Excel's ``\\n`` (XML turns a
    carriage return into a line feed anyway), without the control characters a workbook cannot
    hold, cut to Excel's 32,767 characters.
    """
    clean = _ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    if len(clean) > MAX_CELL_CHARS:
        clean = clean[: MAX_CELL_CHARS - 1] + "…"
    return clean


def _set_text(cell: Any, text: str) -> None:
    """Write text so Excel shows it as typed: never a formula, never an illegal character."""
    clean = excel_text(text)
    cell.value = clean
    if clean.startswith((*FORMULA_START, "\n")):
        cell.data_type = "s"
        cell.quotePrefix = True


def _write_sheet(ws: Worksheet, rows: list[list[str]]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    if not rows:
        return
    header = rows[0]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE3EA")
    widths = [len(h) for h in header]
    for j, h in enumerate(header, start=1):
        c = ws.cell(row=1, column=j)
        _set_text(c, h)
        c.font = bold
        c.fill = fill
        c.alignment = Alignment(vertical="top", wrap_text=False)
    pct = [is_percent_column(h) for h in header]
    for i, row in enumerate(rows[1:], start=2):
        for j, text in enumerate(row, start=1):
            v = cell_value(text)
            if v is None:
                continue
            c = ws.cell(row=i, column=j)
            if isinstance(v, str):
                _set_text(c, v)
            else:
                c.value = v
                if pct[j - 1]:
                    c.number_format = PERCENT_FORMAT
                elif isinstance(v, int):
                    c.number_format = INTEGER_FORMAT
            if j - 1 < len(widths):
                widths[j - 1] = max(widths[j - 1], len(text))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, _MIN_WIDTH), _MAX_WIDTH)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _readme_rows(info: WorkbookInfo, sheets: Mapping[str, str]) -> list[list[str]]:
    rows: list[list[str]] = [["item", "value"]]
    if info.synthetic:
        rows.append(["data", "SYNTHETIC: made-up children for demonstration, not real placements"])
    rows += [
        ["title", info.title],
        ["council", info.council],
        ["date", info.generated],
    ]
    if info.reference_date:
        rows.append(["reference date", info.reference_date])
    rows.append(
        [
            "suppression",
            f"c = withheld: fewer than {info.min_count} children or would reveal one",
        ]
    )
    rows += [["source", s] for s in info.sources]
    rows.append(["geosuff version", info.version])
    rows += [["sheet", f"{sheet}: tables/{name}.csv"] for name, sheet in sheets.items()]
    return rows


def write_workbook(
    path: str | Path, tables: Mapping[str, pd.DataFrame | None], info: WorkbookInfo
) -> Path:
    """Write ``tables.xlsx``: the README sheet, then one sheet per table (atomically).

    Parameters
    ----------
    path : str or Path
        The workbook to write.
    tables : mapping of str to DataFrame or None
        Table name (``tables/<name>.csv``) -> the frame written to that CSV; None is skipped.
    info : WorkbookInfo
        What the README sheet says (see :func:`workbook_info`).

    Returns
    -------
    Path
        ``path``.
    """
    from openpyxl import Workbook

    present = {k: v for k, v in tables.items() if v is not None}
    names = sheet_names(present)
    wb = Workbook()
    readme = wb.active
    assert readme is not None
    readme.title = README_SHEET
    _write_sheet(readme, _readme_rows(info, names))
    for name, df in present.items():
        _write_sheet(wb.create_sheet(names[name]), csv_cells(df))
    wb.properties.title = info.title
    wb.properties.creator = f"geosuff {info.version}"
    with atomic_path(path) as tmp:
        wb.save(tmp)
    logger.debug("wrote %s (%d sheets)", path, len(present) + 1)
    return Path(path)


def workbook_csv_copies(path: str | Path, folder: str | Path) -> list[Path]:
    """Every sheet of a workbook as a CSV in ``folder`` (``<workbook>-<sheet>.csv``), so the
    published-file check (:func:`geosuff.publication.disclosure.assert_publishable`) reads the
    workbook's cells as it reads the CSVs (an ``.xlsx`` is a zip it cannot read as text).
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    out: list[Path] = []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for i, ws in enumerate(wb.worksheets):
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            for row in ws.iter_rows(values_only=True):
                w.writerow(["" if v is None else v for v in row])
            p = folder / f"{Path(path).name}-{i:02d}-{_SHEET_BAD.sub('_', ws.title)}.csv"
            p.write_text(buf.getvalue(), encoding="utf-8")
            out.append(p)
    finally:
        wb.close()
    return out
