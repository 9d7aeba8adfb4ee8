"""Validation building blocks: issue columns and text, the shared limits."""

from __future__ import annotations

import logging
import math
import re
import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyproj import Transformer

from geosuff._errors import GeosuffError
from geosuff.inputs import (
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
    STATUSES,
    Issue,
    Loaded,
)
from geosuff.reference import BNG, WGS84

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


ISSUE_COLUMNS = ["file", "row", "column", "value", "problem", "severity", "code"]
RECONCILIATION_COLUMNS = ["table", "row", "id", "status", "reason"]

#: Sites/candidates further than this outside the road network's extent are reported (warning:
#: their travel times are estimated).
NETWORK_MARGIN_M = 2_000.0
#: ... and further than this are errors (wrong coordinates, or the wrong network extract).
NETWORK_FAR_M = 50_000.0
#: Below this share of located home postcodes inside the council, the council code is queried.
HOME_IN_COUNCIL_MIN_SHARE = 0.5
#: Rows listed per kind of problem in the text report before "... and N more".
REPORT_EXAMPLES = 5


# ----------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------


def _one_line(r: Mapping[str, Any]) -> str:
    where = str(r.get("file") or "")
    if r.get("row") is not None and not pd.isna(r.get("row")):
        where += f" row {int(r['row'])}"
    return f"{where}: {r.get('problem')}"


def _generic(problem: str) -> str:
    """The problem text with row-specific numbers and values taken out (for group headings)."""
    s = re.sub(r"\brow \d+", "row N", str(problem))
    return s


def _row_text(
    r: Mapping[str, Any], lines: Mapping[tuple[str, int], int], *, show_values: bool
) -> str:
    row = int(r["row"])
    ln = lines.get((str(r["file"]), row))
    where = f"row {row}" + (f" (line {ln})" if ln is not None else "")
    col = r.get("column")
    if col is not None and not (isinstance(col, float) and math.isnan(col)) and col != "":
        where += f", {col}"
        val = r.get("value")
        if show_values and val is not None and not (isinstance(val, float) and math.isnan(val)):
            v = str(val)
            where += f" = {v[:40] + '...' if len(v) > 40 else v!r}"
    return f"{where}: {r['problem']}"


def _line_numbers(loaded: Mapping[str, Loaded]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for t in loaded.values():
        if t.path is None or "line" not in t.table:
            continue
        for row, line in zip(t.table["row"].tolist(), t.table["line"].tolist(), strict=True):
            out[(t.path.name, int(row))] = int(line)
    return out


def issues_frame(issues: Sequence[Issue]) -> pd.DataFrame:
    """Issues as a DataFrame with :data:`ISSUE_COLUMNS` (``row`` as nullable integer)."""
    df = pd.DataFrame([i.as_dict() for i in issues], columns=ISSUE_COLUMNS)
    df["row"] = pd.array(df["row"].tolist(), dtype="Int64")
    return df


# ----------------------------------------------------------------------------------------------
# Road network extent
# ----------------------------------------------------------------------------------------------
#: Below this share of the council's area inside the network's extent, the network does not cover it.
NETWORK_MIN_COVER = 0.01
_WGS_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)


def _join(*parts: str) -> str:
    seen: list[str] = []
    for p in parts:
        for q in str(p).split("; "):
            q = q.strip()
            if q and q != "nan" and q not in seen:
                seen.append(q)
    return "; ".join(seen)


# ----------------------------------------------------------------------------------------------
# Whole scenario
# ----------------------------------------------------------------------------------------------
def _fatal(file: str, err: BaseException) -> Issue:
    if isinstance(err, GeosuffError):
        return Issue(file, None, None, None, str(err), "error", "file.fatal")
    logger.debug(
        "internal error while validating %s:\n%s", file, "".join(traceback.format_exception(err))
    )
    return Issue(
        file,
        None,
        None,
        None,
        f"geosuff could not check {file}: internal error {type(err).__name__}: {err}. Please report this with the file's layout (not its data).",
        "error",
        "internal",
    )


def _describe(t: Loaded, rec: pd.DataFrame | None = None) -> str:
    m = t.meta
    how = []
    if m.get("format") == "xlsx":
        how.append(f"Excel sheet {m.get('sheet')!r}")
    else:
        how.append(f"{m.get('encoding', '?')} text, {m.get('delimiter', 'comma')}-separated")
    if m.get("header_line", 1) != 1:
        how.append(f"header on line {m.get('header_line')}")
    c = t.status_counts()
    if rec is not None:
        vc = rec.loc[rec["table"] == t.name, "status"].value_counts()
        c = {s: int(vc.get(s, 0)) for s in STATUSES}
    name = t.path.name if t.path else t.name
    return f"{t.name}: {name} ({', '.join(how)}): {len(t.table)} rows - {c[STATUS_USED]} used, {c[STATUS_ESTIMATE]} used with an estimate, {c[STATUS_EXCLUDED]} excluded"
