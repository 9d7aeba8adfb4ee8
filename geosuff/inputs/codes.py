"""Code lists (read from data files)."""

from __future__ import annotations

import logging

import pandas as pd

from geosuff import reference
from geosuff.reference import normalise_site_type

logger = logging.getLogger(__name__)

__all__ = ["normalise_site_type", "placement_codes", "placement_groups", "site_types"]


# ----------------------------------------------------------------------------------------------
# Code lists (kept in data files, read by geosuff.reference)
# ----------------------------------------------------------------------------------------------
def placement_codes() -> pd.DataFrame:
    """SSDA903 PLACE codes with their placement-type group (:func:`geosuff.reference.placement_codes`
    as a table: ``code``, ``description``, ``group``, ``dfe_group``).
    """
    rows = [
        (c.code, c.description, c.group, c.dfe_group) for c in reference.placement_codes().values()
    ]
    return pd.DataFrame(rows, columns=["code", "description", "group", "dfe_group"], dtype=str)


def placement_groups() -> pd.DataFrame:
    """Placement groups (:func:`geosuff.reference.placement_groups` as a table: ``group``,
    ``label``, ``order``, ``site_types`` joined by ``;``).
    """
    rows = [
        (g.group, g.label, g.order, ";".join(g.site_types))
        for g in reference.placement_groups().values()
    ]
    df = pd.DataFrame(rows, columns=["group", "label", "order", "site_types"])
    return df.astype({"group": str, "label": str, "order": int, "site_types": str})


def site_types() -> pd.DataFrame:
    """Provision types (:func:`geosuff.reference.site_types` as a table: ``type``, ``label``,
    ``serves_groups`` joined by ``;``, ``marker``, ``colour``, ``sensitive``).
    """
    rows = [
        (t.type, t.label, ";".join(t.serves), t.marker, t.colour, t.sensitive)
        for t in reference.site_types().values()
    ]
    return pd.DataFrame(
        rows, columns=["type", "label", "serves_groups", "marker", "colour", "sensitive"]
    )
