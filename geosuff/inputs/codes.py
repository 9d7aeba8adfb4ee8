"""Code lists (read from data files)."""

from __future__ import annotations

import logging
import re
from functools import cache

import pandas as pd

from geosuff.inputs._base import PLACEMENT_CODES_FILE, PLACEMENT_GROUPS_FILE, SITE_TYPES_FILE

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Code lists (kept in data files)
# ----------------------------------------------------------------------------------------------
@cache
def placement_codes() -> pd.DataFrame:
    """SSDA903 PLACE codes with their placement-type group (from ``data/placement_codes.csv``)."""
    return pd.read_csv(PLACEMENT_CODES_FILE, dtype=str)


@cache
def placement_groups() -> pd.DataFrame:
    return pd.read_csv(
        PLACEMENT_GROUPS_FILE,
        dtype={"group": str, "label": str, "order": int, "site_types": str},
        keep_default_na=False,
    )


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
