"""Shared types of the input loaders: :class:`Issue`, :class:`Loaded`, row statuses and the package data paths."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from geosuff import reference
from geosuff.config.database import DatabaseTable
from geosuff.reference import LTLA_UTLA_FILE, candidate_uses

logger = logging.getLogger(__name__)


PACKAGE_DATA = Path(str(resources.files("geosuff") / "data"))
#: The shipped England upper-tier LA boundaries (package data: also in a wheel install).
DEFAULT_BOUNDARIES = PACKAGE_DATA / "england_utla2023_buc.geojson"
DEMO_NETWORK = PACKAGE_DATA / "rutland-latest.osm.pbf"
DEMO_POSTCODES = PACKAGE_DATA / "postcodes_rutland_codepoint2014.csv"
LSOA_POINTS = PACKAGE_DATA / "lsoa11_pop0_17_mid2020_england.csv.gz"
LTLA_UTLA = LTLA_UTLA_FILE

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
_POSTCODE_IN_TEXT_RE = re.compile(
    r"(?<![A-Z0-9])([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][ABD-HJLNP-UW-Z]{2})(?![A-Z0-9])"
)
_NO_POSTCODE_WORDS = {
    "NA",
    "NONE",
    "NULL",
    "NIL",
    "UNKNOWN",
    "NK",
    "NOTKNOWN",
    "NFA",
    "NOFIXEDABODE",
    "TBC",
    "TBA",
    "0",
    "00",
    "X",
    "XX",
    "XXX",
}

SITE_TYPES_FILE = reference.SITE_TYPES_FILE
PLACEMENT_CODES_FILE = reference.PLACEMENT_CODES_FILE
PLACEMENT_GROUPS_FILE = reference.PLACEMENT_GROUPS_FILE

#: Candidate uses of the shipped siting rules (``geosuff/data/siting_rules.toml``). A scenario's
#: ``[siting.rules.<use>]`` adds more: pass them to ``load_candidates(uses=...)``.
CANDIDATE_USES: tuple[str, ...] = candidate_uses()

STATUS_USED = "used"
STATUS_ESTIMATE = "used-with-estimate"
STATUS_EXCLUDED = "excluded"
#: Row statuses, from best to worst.
STATUSES = (STATUS_USED, STATUS_ESTIMATE, STATUS_EXCLUDED)

#: The id column of each loaded table.
ID_COLUMNS = {"placements": "CHILD", "sites": "site_id", "candidates": "candidate_id"}

_EXCEL_ERRORS = {
    "#N/A",
    "#REF!",
    "#VALUE!",
    "#DIV/0!",
    "#NAME?",
    "#NULL!",
    "#NUM!",
    "#SPILL!",
    "#CALC!",
    "#GETTING_DATA",
}
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

    def text(self) -> str:
        """One plain line for a log or terminal: ``"to.csv row 3, postcode: problem"`` (the
        value is left out: it may be a child's postcode).
        """
        where = self.file or "input"
        if self.row is not None:
            where += f" row {self.row}"
        if self.column and not self.problem.lower().startswith(self.column.lower()):
            where += f", {self.column}"
        return f"{where}: {self.problem}"

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
    path: Path | DatabaseTable | None
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
