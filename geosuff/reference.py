"""Reference data: the one reader of geosuff's code lists, bands and fixed constants.

Everything a later layer needs to know about SSDA903 codes, site types, candidate uses, age and
count bands, LTLA -> UTLA and the DfE distance formula comes from here, read from the files in
``geosuff/data/`` (so that a new provision type or a new PLACE code is a data row, not code).
"""

from __future__ import annotations

import csv
import functools
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

#: British National Grid: all metric work.
BNG = "EPSG:27700"
#: WGS84 lon/lat: only at the map boundary and for lon/lat inputs.
WGS84 = "EPSG:4326"

#: The DfE placement-distance formula: ``round(sqrt(dE² + dN²) / 1000 / DFE_KM_PER_MILE, 1)``.
DFE_KM_PER_MILE = 1.6093

#: Folder of the shipped data files.
DATA_DIR = Path(str(resources.files("geosuff") / "data"))
LTLA_UTLA_FILE = DATA_DIR / "ltla_utla_apr23.csv"


@dataclass(frozen=True)
class LocalAuthority:
    """A lower-tier LA (district or unitary) and the upper-tier LA it belongs to (April 2023)."""

    code: str
    name: str
    utla_code: str
    utla_name: str

    @property
    def is_district(self) -> bool:
        return self.code != self.utla_code


@cache
def local_authorities() -> dict[str, LocalAuthority]:
    """Every English/Welsh LTLA of April 2023 by GSS code (``geosuff/data/ltla_utla_apr23.csv``)."""
    with LTLA_UTLA_FILE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        r["LTLA23CD"]: LocalAuthority(r["LTLA23CD"], r["LTLA23NM"], r["UTLA23CD"], r["UTLA23NM"])
        for r in rows
    }


@cache
def ltla_to_utla() -> dict[str, str]:
    """LTLA GSS code -> UTLA GSS code (unitary authorities map to themselves); cached, do not mutate."""
    return {code: la.utla_code for code, la in local_authorities().items()}


def describe_la_code(code: str) -> str | None:
    """A sentence for a code that is a district rather than a council with the duty, e.g.
    "E07000114 is Thanet, a district of Kent (E10000016)"; None when the code is not a district."""
    la = local_authorities().get(code)
    if la is None or not la.is_district:
        return None
    return f"{code} is {la.name}, a district of {la.utla_name} ({la.utla_code})"


# ----------------------------------------------------------------------------------------------
# Candidate uses: the shipped siting rules
# ----------------------------------------------------------------------------------------------
#: The shipped eligibility rules, one table per candidate use.
SITING_RULES_FILE = "data/siting_rules.toml"


@functools.cache
def _siting_rules_text() -> str:
    return resources.files("geosuff").joinpath(SITING_RULES_FILE).read_text("utf-8")


def siting_rules() -> dict[str, dict[str, Any]]:
    """The shipped ``geosuff/data/siting_rules.toml``: candidate use -> its rule fields (raw TOML
    values; :mod:`geosuff.config.siting` checks and types them)."""
    data = tomllib.loads(_siting_rules_text()).get("rules", {})
    return {str(use): dict(table) for use, table in data.items()}


def candidate_uses() -> tuple[str, ...]:
    """Candidate uses the shipped siting rules define, in file order. A scenario adds more with
    ``[siting.rules.<use>]``."""
    return tuple(siting_rules())
