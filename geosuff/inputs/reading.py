"""Reading councils' files: CSV (any common encoding and delimiter, gzip) and Excel ``.xlsx``, header detection, column mapping."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError, MissingColumnError
from geosuff.config.database import DatabaseTable
from geosuff.inputs._base import (
    _EXCEL_ERRORS,
    _STRIP_CHARS,
    MAX_HEADER_SCAN_ROWS,
    MAX_LINES_PER_VALUE,
    Issue,
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Reading files
# ----------------------------------------------------------------------------------------------
@dataclass
class RawTable:
    """A file read as text cells: one row per data row, plus what was noticed while reading."""

    df: pd.DataFrame
    lines: np.ndarray
    header_line: int
    bad_rows: dict[int, str]
    issues: list[Issue]
    meta: dict[str, Any]


def read_table(
    path: str | Path, *, name: str = "input", expect_columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read a CSV or Excel file as text columns.

    Parameters
    ----------
    path : str or Path
        CSV/TSV/TXT (UTF-8 with or without BOM, Windows-1252, UTF-16; ``,`` ``;`` tab or ``|``
        separated; may be gzip-compressed) or Excel ``.xlsx``.
    name : str, keyword-only
        What the file is, for messages ("placements").
    expect_columns : iterable of str, keyword-only, optional
        Column names the file should have: used to find the header row below title rows and to
        choose the sheet of a workbook.

    Returns
    -------
    DataFrame
        All cells as stripped strings ("" for empty). Trailing blank rows are dropped; blank rows
        between data rows are kept (loaders report them). Column names are stripped.

    Raises
    ------
    InputFileError
        If the file is missing, empty, or not a table (with what it looks like and how to fix it).
    """
    raw = read_raw(path, name=name, expect_columns=expect_columns)
    for iss in raw.issues:
        logger.warning("%s: %s", iss.file, iss.problem)
    return raw.df


def as_source(path: str | Path | DatabaseTable) -> Path | DatabaseTable:
    """An input as a :class:`Path`, or the :class:`DatabaseTable` it is."""
    return path if isinstance(path, DatabaseTable) else Path(path)


def read_raw(
    path: str | Path | DatabaseTable,
    *,
    name: str = "input",
    expect_columns: Iterable[str] | None = None,
) -> RawTable:
    """Read a table like :func:`read_table`, keeping line numbers, unreadable rows and issues.
    A :class:`DatabaseTable` is read from PostgreSQL
    (:func:`geosuff.inputs.database.read_db_raw`).
    """
    if isinstance(path, DatabaseTable):
        from geosuff.inputs.database import read_db_raw

        return read_db_raw(path, name=name, expect_columns=expect_columns)
    path = Path(path)
    fname = path.name
    if not path.exists():
        raise InputFileError(
            f"The {name} file {path} does not exist.", fix="Check the path in your config file."
        )
    if path.is_dir():
        raise InputFileError(
            f"The {name} path {path} is a folder, not a file.",
            fix="Give the path of the CSV or .xlsx file itself.",
        )
    from geosuff.config.safety import check_input_size, max_input_bytes

    check_input_size(path.stat().st_size, what=f"The {name} file {fname}")
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\x00"):
        raise InputFileError(
            f"The {name} file {fname} is empty.", fix="Export the table again, with its header row."
        )
    expect = [str(c) for c in expect_columns] if expect_columns is not None else []
    kind = _sniff_kind(data)
    meta: dict[str, Any] = {}
    if kind == "gzip":
        try:
            data = _gunzip_bounded(data, max_input_bytes(), what=f"The {name} file {fname}")
        except (OSError, EOFError, zlib.error) as err:
            raise InputFileError(
                f"The {name} file {fname} is a damaged gzip archive ({err}).",
                fix="Compress it again or give the plain CSV.",
            ) from None
        meta["compression"] = "gzip"
        if not data.strip(b" \t\r\n\x00"):
            raise InputFileError(
                f"The {name} file {fname} is empty (inside the gzip archive).",
                fix="Export the table again, with its header row.",
            )
        kind = _sniff_kind(data)
    if kind == "xlsx":
        return _read_xlsx(data, fname=fname, name=name, expect=expect, meta=meta)
    _refuse_non_table(kind, fname=fname, name=name, suffix=path.suffix.lower())
    text, encoding, enc_issue = _decode(data, fname)
    meta["encoding"] = encoding
    issues = [enc_issue] if enc_issue else []
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        issues.append(
            Issue(
                fname,
                None,
                None,
                None,
                f"{fname} is named .xlsx but is a text (CSV) file; read it as CSV.",
                "warning",
                "file.extension_mismatch",
            )
        )
    if text.lstrip(_STRIP_CHARS)[:1] == "<":
        _refuse_markup(text, fname=fname, name=name)
    return _read_delimited(text, fname=fname, name=name, expect=expect, issues=issues, meta=meta)


def _gunzip_bounded(data: bytes, limit: int, *, what: str) -> bytes:
    """``gzip.decompress`` that stops (:class:`InputTooLargeError`) past ``limit`` bytes, so a
    gzip bomb never fills memory.
    """
    from geosuff.config.safety import check_input_size

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        check_input_size(limit + 1, what=f"{what} (unpacked)")
    return out


def _check_xlsx_size(data: bytes, *, fname: str, name: str) -> None:
    """Refuse a workbook whose parts unpack to more than the input limit (a zip bomb): the sizes
    the zip declares bound what :mod:`zipfile` will unpack, and are checked before unpacking.
    """
    from geosuff.config.safety import check_input_size

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        return  # openpyxl then reports the damaged file
    check_input_size(sum(i.file_size for i in infos), what=f"The {name} file {fname} (unpacked)")


def _sniff_kind(data: bytes) -> str:
    """What a file's bytes look like: "xlsx", "gzip", "ole", "pdf", "sqlite", "zip", "ods",
    "image", "binary" or "text".
    """
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return "zip-damaged"
        if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
            return "xlsx"
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"SQLite format 3"):
        return "sqlite"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"GIF8"):
        return "image"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "text"
    sample = data[:4096]
    nul = sample.count(b"\x00")
    if nul:
        # UTF-16 without BOM: every other byte is NUL for ASCII text
        if nul >= len(sample) // 3 and (
            sample[1::2].count(b"\x00") > 0.9 * len(sample[1::2])
            or sample[0::2].count(b"\x00") > 0.9 * len(sample[0::2])
        ):
            return "text"
        return "binary"
    return "text"


def _refuse_non_table(kind: str, *, fname: str, name: str, suffix: str) -> None:
    fix_save = "Open it in Excel and use File > Save As > CSV UTF-8 (or Excel Workbook .xlsx)."
    if kind == "ole":
        raise InputFileError(
            f"The {name} file {fname} is an old Excel 97-2003 workbook (.xls) or a password-protected workbook, which geosuff cannot read.",
            fix=fix_save + " Remove any password first.",
        )
    if kind == "ods":
        raise InputFileError(
            f"The {name} file {fname} is an OpenDocument spreadsheet (.ods).",
            fix="Save it as .xlsx or CSV.",
        )
    if kind == "zip":
        raise InputFileError(
            f"The {name} file {fname} is a ZIP archive, not a table.",
            fix="Unzip it and give the CSV or .xlsx inside.",
        )
    if kind == "zip-damaged":
        raise InputFileError(
            f"The {name} file {fname} looks like an Excel workbook but is damaged (not a valid ZIP container).",
            fix="Export it again, or save it as CSV.",
        )
    if kind == "pdf":
        raise InputFileError(
            f"The {name} file {fname} is a PDF document, not a table.",
            fix="Export the data from the case-management system as CSV or .xlsx.",
        )
    if kind == "sqlite":
        raise InputFileError(
            f"The {name} file {fname} is a database (SQLite/GeoPackage), not a table.",
            fix="Export the table as CSV or .xlsx.",
        )
    if kind == "image":
        raise InputFileError(
            f"The {name} file {fname} is an image, not a table.",
            fix="Give the CSV or .xlsx export.",
        )
    if kind == "binary":
        raise InputFileError(
            f"The {name} file {fname} contains binary data (NUL bytes) and is not a text table.",
            fix=fix_save,
        )


def _refuse_markup(text: str, *, fname: str, name: str) -> None:
    head = text.lstrip(_STRIP_CHARS)[:2000].lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise InputFileError(
            f"The {name} file {fname} is an Excel 2003 XML spreadsheet.",
            fix="Open it in Excel and save it as .xlsx or CSV UTF-8.",
        )
    if "<html" in head or "<table" in head or "<!doctype html" in head:
        raise InputFileError(
            f"The {name} file {fname} is a web page (HTML), as some case-management systems write when they 'export to Excel'.",
            fix="Open it in Excel and save it as .xlsx or CSV UTF-8.",
        )
    if head.startswith("<?xml") or head.startswith("<"):
        raise InputFileError(
            f"The {name} file {fname} is an XML document, not a table.",
            fix="Export the table as CSV or .xlsx.",
        )


def _decode(data: bytes, fname: str) -> tuple[str, str, Issue | None]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 or Windows-1252, saying which."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig", None
        except UnicodeDecodeError:
            data = data[len(codecs.BOM_UTF8) :]
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        enc = (
            "utf-16-le"
            if data[1:4096:2].count(b"\x00") > data[0:4096:2].count(b"\x00")
            else "utf-16-be"
        )
        try:
            return data.decode(enc), enc, None
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as err:
        pos = err.start
    for enc in ("cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        line = data[:pos].count(b"\n") + 1
        label = "Windows-1252 (Excel's default 'CSV' in the UK)" if enc == "cp1252" else "Latin-1"
        return (
            text,
            enc,
            Issue(
                fname,
                None,
                None,
                None,
                f"{fname} is not UTF-8 (first non-UTF-8 byte on line {line}); read it as {label}. Check accented names and '£' signs; save as 'CSV UTF-8' to avoid this.",
                "warning",
                "file.encoding",
            ),
        )
    raise InputFileError(
        f"{fname} is not a text file.", fix="Save it as CSV UTF-8."
    )  # pragma: no cover - latin-1 decodes anything


def _sniff_delimiter(lines: Sequence[str]) -> str:
    """The separator of a delimited text file from its first lines (``,`` ``\\t`` ``;`` ``|``)."""
    counts: dict[str, list[int]] = {d: [] for d in (",", "\t", ";", "|")}
    for ln in lines:
        # ignore separators inside quotes
        unq = re.sub(r'"[^"]*"', "", ln)
        for d in counts:
            counts[d].append(unq.count(d))
    best, best_score = ",", 0.0
    for d, c in counts.items():
        if not c or max(c) == 0:
            continue
        # consistent, frequent separators win; a comma wins ties
        consistent = sum(1 for x in c if x == c[0] and x > 0) / len(c)
        score = consistent * c[0] + (0.1 if d == "," else 0.0)
        if score > best_score:
            best, best_score = d, score
    return best


def _clean_cell(v: str) -> str:
    return v.strip(_STRIP_CHARS)


def _read_delimited(
    text: str,
    *,
    fname: str,
    name: str,
    expect: list[str],
    issues: list[Issue],
    meta: dict[str, Any],
) -> RawTable:
    lines = text.splitlines()
    delimiter = None
    if lines and re.fullmatch(r"\s*sep=(.)\s*", lines[0]):
        # Excel's "sep=;" hint line
        delimiter = re.fullmatch(r"\s*sep=(.)\s*", lines[0]).group(1)  # type: ignore[union-attr]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        meta["sep_line"] = True
    nonblank = [
        ln for ln in text.splitlines()[: MAX_HEADER_SCAN_ROWS + 5] if ln.strip(_STRIP_CHARS + ",;|")
    ]
    if delimiter is None:
        delimiter = _sniff_delimiter(nonblank[:10])
    meta["delimiter"] = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(
        delimiter, delimiter
    )
    meta["format"] = "delimited text"
    if delimiter == ";":
        issues.append(
            Issue(
                fname,
                None,
                None,
                None,
                f"{fname} is separated by semicolons (European Excel setting); read it as such.",
                "warning",
                "file.delimiter",
            )
        )
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, 50_000_000))
    try:
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False
        )
        rows: list[list[str]] = []
        starts: list[int] = []
        prev_end = 0
        try:
            for rec in reader:
                start = prev_end + 1
                prev_end = reader.line_num
                if prev_end - start + 1 > MAX_LINES_PER_VALUE:
                    raise InputFileError(
                        f'The {name} file {fname} has a quote (") opened on line {start} that is not closed until line {prev_end}, so those lines run together as one value.',
                        fix="Remove the stray quote mark or close it, then save the file again.",
                    )
                rows.append(rec)
                starts.append(start)
        except csv.Error as err:
            raise InputFileError(
                f"The {name} file {fname} could not be read as CSV near line {reader.line_num} ({err}).",
                fix="Save it again as CSV UTF-8 from Excel.",
            ) from None
    finally:
        csv.field_size_limit(old_limit)
    return _rows_to_table(
        rows, starts, fname=fname, name=name, expect=expect, issues=issues, meta=meta
    )


def _excel_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0, 0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v)


def _read_xlsx(
    data: bytes, *, fname: str, name: str, expect: list[str], meta: dict[str, Any]
) -> RawTable:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - declared dependency
        raise InputFileError(
            f"Reading Excel file {fname} needs the openpyxl package.",
            fix="pip install openpyxl, or save the file as CSV.",
        ) from None
    _check_xlsx_size(data, fname=fname, name=name)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds on damaged files
        raise InputFileError(
            f"The {name} file {fname} could not be opened as an Excel workbook ({type(err).__name__}: {err}).",
            fix="Open it in Excel and save it again as .xlsx, or as CSV UTF-8.",
        ) from None
    issues: list[Issue] = []
    sheets: list[tuple[str, list[list[str]]]] = []
    try:
        for ws in wb.worksheets:
            rows = [[_excel_cell(v) for v in r] for r in ws.iter_rows(values_only=True)]
            while rows and not any(c.strip(_STRIP_CHARS) for c in rows[-1]):
                rows.pop()
            if rows:
                sheets.append((ws.title, rows))
    finally:
        wb.close()
    if not sheets:
        raise InputFileError(
            f"The {name} file {fname} is an Excel workbook with no data in any sheet.",
            fix="Export the table again, with its header row.",
        )
    chosen = 0
    if expect and len(sheets) > 1:
        scores = [
            max((_header_score(r, expect) for r in rows[:MAX_HEADER_SCAN_ROWS]), default=0)
            for _, rows in sheets
        ]
        chosen = int(np.argmax(scores))
    if len(sheets) > 1:
        issues.append(
            Issue(
                fname,
                None,
                None,
                None,
                f"{fname} has {len(sheets)} sheets with data ({', '.join(repr(s) for s, _ in sheets)}); read sheet {sheets[chosen][0]!r}.",
                "warning",
                "excel.many_sheets",
            )
        )
    title, rows = sheets[chosen]
    meta.update({"format": "xlsx", "sheet": title})
    return _rows_to_table(
        rows,
        list(range(1, len(rows) + 1)),
        fname=fname,
        name=name,
        expect=expect,
        issues=issues,
        meta=meta,
    )


def _canon(s: Any) -> str:
    """A column name reduced to upper-case words joined by ``_`` ("Home Postcode" -> "HOME_POSTCODE")."""
    return re.sub(r"[^A-Z0-9]+", "_", str(s).strip(_STRIP_CHARS).upper()).strip("_")


def _header_score(row: Sequence[str], expect: Sequence[str]) -> int:
    want = {_canon(e) for e in expect}
    return sum(1 for c in row if _canon(c) in want)


def _rows_to_table(  # noqa: C901
    rows: list[list[str]],
    lines: list[int],
    *,
    fname: str,
    name: str,
    expect: list[str],
    issues: list[Issue],
    meta: dict[str, Any],
) -> RawTable:
    def blank(r: Sequence[str]) -> bool:
        return not any(_clean_cell(c) for c in r)

    first = next((i for i, r in enumerate(rows) if not blank(r)), None)
    if first is None:
        raise InputFileError(
            f"The {name} file {fname} has no header row (it is blank).",
            fix="Export the table again, with its header row.",
        )
    header_at = first
    if expect:
        scores = [
            (_header_score(r, expect), i)
            for i, r in enumerate(rows[: first + MAX_HEADER_SCAN_ROWS])
        ]
        best_score, best_i = max(scores, key=lambda t: (t[0], -t[1]))
        if best_score > _header_score(rows[first], expect):
            header_at = best_i
            issues.append(
                Issue(
                    fname,
                    None,
                    None,
                    None,
                    f"The header of {fname} is on line {lines[best_i]}; the {best_i - first} line(s) above it (a title?) were skipped.",
                    "warning",
                    "file.header_not_first",
                )
            )
    header = [_clean_cell(c) for c in rows[header_at]]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise InputFileError(
            f"The {name} file {fname} has an empty header row.",
            fix="Put the column names in the first row.",
        )
    ncol = len(header)
    body = rows[header_at + 1 :]
    body_lines = lines[header_at + 1 :]
    while body and blank(body[-1]):
        body.pop()
        body_lines.pop()
    names: list[str] = []
    seen: dict[str, int] = {}
    dup_cols: dict[str, list[int]] = {}
    for j, h in enumerate(header):
        h = h or f"column {j + 1}"
        key = h.upper()
        dup_cols.setdefault(key, []).append(j + 1)
        if key in seen:
            seen[key] += 1
            h = f"{h}.{seen[key]}"
        else:
            seen[key] = 1
        names.append(h)
    dup_cols = {k: v for k, v in dup_cols.items() if len(v) > 1}
    meta["duplicate_columns"] = dup_cols
    for j, h in enumerate(header):
        if h == "" and any(j < len(r) and _clean_cell(r[j]) for r in body):
            issues.append(
                Issue(
                    fname,
                    None,
                    f"column {j + 1}",
                    None,
                    f"Column {j + 1} of {fname} has values but no name in the header; it is ignored.",
                    "warning",
                    "column.unnamed",
                )
            )
    bad: dict[int, str] = {}
    cols: list[list[str]] = [[] for _ in range(ncol)]
    widths = [len(r) for r in body if not blank(r)]
    # rows of an export all ending in a separator (trailing empty field) are fine; one row
    # longer than the others is a value split by an unquoted separator
    usual = max(ncol, int(np.bincount(widths).argmax())) if widths else ncol
    for i, r in enumerate(body):
        cells = [_clean_cell(c) for c in r]
        if len(cells) > ncol:
            extra = cells[ncol:]
            if any(extra) or len(cells) > usual:
                bad[i] = (
                    f"line {body_lines[i]} has {len(cells)} fields but the header has {ncol} columns (a separator inside a value without quotes?); the row is excluded"
                )
            cells = cells[:ncol]
        elif len(cells) < ncol and not blank(cells):
            if len(cells) > 1 or ncol <= 2:
                issues.append(
                    Issue(
                        fname,
                        i + 1,
                        None,
                        None,
                        f"line {body_lines[i]} has {len(cells)} fields but the header has {ncol}; the missing values are read as blank.",
                        "warning",
                        "row.short",
                    )
                )
            else:
                bad[i] = (
                    f"line {body_lines[i]} has 1 field but the header has {ncol} columns (a line break inside a value?); the row is excluded"
                )
        cells = cells + [""] * (ncol - len(cells))
        for j in range(ncol):
            cols[j].append(cells[j])
    df = pd.DataFrame({names[j]: pd.Series(cols[j], dtype=object) for j in range(ncol)})
    # Excel error values (#N/A, #REF! ...) are blanked and reported
    for c in df.columns:
        col = df[c]
        hit = col.isin(_EXCEL_ERRORS)
        if hit.any():
            for i in _where(hit.to_numpy()):
                issues.append(
                    Issue(
                        fname,
                        int(i) + 1,
                        str(c),
                        str(col.iat[i]),
                        f"Excel error value {col.iat[i]} (a broken formula); read as blank.",
                        "warning",
                        "excel.error_value",
                    )
                )
            df.loc[hit, c] = ""
    meta["header_line"] = lines[header_at]
    meta["columns"] = list(df.columns)
    return RawTable(df, np.asarray(body_lines, dtype=np.int64), lines[header_at], bad, issues, meta)


def _require(
    df: pd.DataFrame,
    columns: list[str],
    *,
    name: str,
    path: Path | DatabaseTable | None,
    hint: str = "",
) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        where = path.name if path else name
        import difflib

        have = [str(c) for c in df.columns]
        near = []
        for m in missing:
            close = difflib.get_close_matches(m.upper(), [h.upper() for h in have], n=1, cutoff=0.6)
            if close:
                orig = next(h for h in have if h.upper() == close[0])
                near.append(f"{orig!r} for {m!r}?")
        raise MissingColumnError(
            f"The {name} file {where} has no column(s) {', '.join(repr(c) for c in missing)} "
            f"(it has: {', '.join(map(repr, have[:12]))}{', ...' if len(have) > 12 else ''})"
            + (f"; did you mean {'; '.join(near)}" if near else "")
            + ".",
            fix=hint or "Rename the columns to match the README's input contract.",
        )


def _find_col(df: pd.DataFrame, *names: str) -> str | None:
    lower = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n.lower() in lower:
            return str(lower[n.lower()])
    return None


def _base_name(col: str) -> str:
    """A column name without the ``.2`` suffix given to repeated header names."""
    return re.sub(r"\.\d+$", "", col)


def _map_columns(
    raw: RawTable, spec: Mapping[str, Sequence[str]], *, fname: str, name: str
) -> tuple[pd.DataFrame, list[Issue]]:
    """Rename columns to their canonical names.

    ``spec`` maps a canonical name to accepted aliases (compared with :func:`_canon`). An exact
    match (ignoring case, spaces and punctuation) is silent; an alias gives a warning; two
    columns for one name is a fatal error. Unknown columns are kept under their own names.
    """
    issues: list[Issue] = []
    df = raw.df
    mapping: dict[str, str] = {}
    claimed: dict[str, list[str]] = {}
    for col in df.columns:
        base = re.sub(r"\.\d+$", "", str(col)) if str(col) not in {c for c in spec} else str(col)
        c = _canon(base)
        for canon, aliases in spec.items():
            if c == _canon(canon) or c in {_canon(a) for a in aliases}:
                claimed.setdefault(canon, []).append(str(col))
                break
    for canon, cols in claimed.items():
        if len(cols) > 1:
            raise InputFileError(
                f"The {name} file {fname} has {len(cols)} columns for {canon}: {', '.join(repr(_base_name(c)) for c in cols)}.",
                fix=f"Keep one {canon} column and delete or rename the others.",
            )
        col = cols[0]
        mapping[col] = canon
        if _canon(col) != _canon(canon):
            issues.append(
                Issue(
                    fname,
                    None,
                    col,
                    None,
                    f"Column {col!r} read as {canon}.",
                    "warning",
                    "column.alias",
                )
            )
    return df.rename(columns=mapping), issues


_PERSONAL_COLUMN_RE = re.compile(
    r"(NAME|ADDRESS|ADDR|STREET|NHS|UPN|ULN|PHONE|MOBILE|EMAIL|CARER|NI_?NUMBER|NINO|ETHNIC|RELIGION)",
    re.I,
)


def _unused_columns_issue(
    df: pd.DataFrame, used: Iterable[str], *, fname: str, keep_ok: Iterable[str] = ()
) -> list[Issue]:
    used_set = set(used) | set(keep_ok)
    extra = [str(c) for c in df.columns if str(c) not in used_set]
    if not extra:
        return []
    personal = [c for c in extra if _PERSONAL_COLUMN_RE.search(c)]
    out = []
    if personal:
        out.append(
            Issue(
                fname,
                None,
                ", ".join(personal),
                None,
                f"Column(s) {', '.join(map(repr, personal))} look like personal data that geosuff does not need; they are ignored and never written out. Leave them out of the export.",
                "warning",
                "column.personal",
            )
        )
    other = [c for c in extra if c not in personal]
    if other:
        logger.info("%s: columns not used: %s", fname, ", ".join(other))
    return out


# ----------------------------------------------------------------------------------------------
# Postcodes
# ----------------------------------------------------------------------------------------------
def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values as an object array (for indexing row by row without pandas overhead)."""
    result: np.ndarray = df[name].to_numpy(dtype=object)
    return result


def _where(mask: Any) -> list[int]:
    """Positions (Python ints) where ``mask`` is true."""
    return [int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool))]
