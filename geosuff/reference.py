"""Reference data: the one reader of geosuff's code lists, bands and fixed constants.

Everything a later layer needs to know about SSDA903 codes, site types, candidate uses, age and
count bands, LTLA -> UTLA and the DfE distance formula comes from here, read from the files in
``geosuff/data/`` (so that a new provision type or a new PLACE code is a data row, not code).
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

#: British National Grid: all metric work.
BNG = "EPSG:27700"
#: WGS84 lon/lat: only at the map boundary and for lon/lat inputs.
WGS84 = "EPSG:4326"


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
