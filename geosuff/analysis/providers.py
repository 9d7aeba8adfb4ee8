"""Placements by provider sector: in-house (the council's own provision) against external.

The sector of a placement comes from its SSDA903 ``PLACE_PROVIDER`` code
(``geosuff/data/placement_providers.csv``: PR1 own provision is ``in_house``; PR2 other LA, PR3
other public, PR4 private and PR5 voluntary are ``external``; PR0 parent is ``parent``); a blank
or unknown code is ``not_known``. Arrays and frames only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geosuff import reference

logger = logging.getLogger(__name__)

#: Columns of the providers table, in order.
PROVIDER_COLUMNS: tuple[str, ...] = (
    "place_group",
    "sector",
    "count",
    "denominator",
    "percent",
)
#: Sectors of the table, in order (every placement is in exactly one).
SECTORS: tuple[str, ...] = (
    reference.SECTOR_IN_HOUSE,
    reference.SECTOR_EXTERNAL,
    reference.SECTOR_PARENT,
    reference.SECTOR_NOT_KNOWN,
)
#: The ``place_group`` of the rows over every placement group.
ALL = "all"


@dataclass(frozen=True)
class ProviderCell:
    """One row of the providers table as masks over the placements.

    Attributes
    ----------
    place_group, sector : str
    count : ndarray of bool
        The placements of the group with that sector.
    denominator : ndarray of bool
        Every placement of the group.
    """

    place_group: str
    sector: str
    count: np.ndarray
    denominator: np.ndarray


def has_providers(sectors: Sequence[str] | np.ndarray) -> bool:
    """True when at least one placement has a known provider sector (the input had the column)."""
    s = np.asarray(sectors, dtype=object)
    return bool((s != reference.SECTOR_NOT_KNOWN).any())


def provider_cells(
    groups: Sequence[str] | np.ndarray,
    sectors: Sequence[str] | np.ndarray,
    *,
    group_order: Sequence[str] = (),
) -> list[ProviderCell]:
    """Every (placement group, sector) cell, the groups in ``group_order`` then the others
    (alphabetically), then ``all``; each group's four sectors partition its placements.

    Parameters
    ----------
    groups, sectors : array_like of str, shape (n,)
        Placement group and provider sector of each counted placement.
    group_order : sequence of str, optional
        Order of the groups (``placement_groups.csv``); groups with no placement are left out.

    Returns
    -------
    list of ProviderCell
    """
    g = np.asarray(groups, dtype=object).astype(str)
    s = np.asarray(sectors, dtype=object).astype(str)
    if g.shape != s.shape:
        raise ValueError("groups and sectors must have the same length")
    present = set(g.tolist())
    order = [x for x in group_order if x in present] + sorted(present - set(group_order))
    cells = []
    for grp in [*order, ALL]:
        base = np.ones(g.size, dtype=bool) if grp == ALL else g == grp
        for sec in SECTORS:
            cells.append(ProviderCell(grp, sec, base & (s == sec), base))
    return cells


def provider_table(
    groups: Sequence[str] | np.ndarray,
    sectors: Sequence[str] | np.ndarray,
    *,
    group_order: Sequence[str] = (),
) -> pd.DataFrame:
    """The raw (unsuppressed) providers table: :data:`PROVIDER_COLUMNS`, ``percent`` 0-100 of
    the group's placements (NaN when the group has none).
    """
    rows = []
    for c in provider_cells(groups, sectors, group_order=group_order):
        n, d = int(c.count.sum()), int(c.denominator.sum())
        rows.append((c.place_group, c.sector, n, d, 100.0 * n / d if d else np.nan))
    return pd.DataFrame(rows, columns=list(PROVIDER_COLUMNS))


def measures_provider_table(measures: pd.DataFrame) -> pd.DataFrame | None:
    """:func:`provider_table` of a run's counted placements (``status`` not excluded); None
    when no placement has a known provider sector (no ``PLACE_PROVIDER`` in the input).
    """
    m = measures
    if "status" in m.columns:
        m = m[m["status"].astype(str) != "excluded"]
    if "provider_sector" not in m.columns or not has_providers(m["provider_sector"].to_numpy()):
        return None
    return provider_table(
        m["place_group"].astype(str).to_numpy(),
        m["provider_sector"].astype(str).to_numpy(),
        group_order=tuple(reference.placement_groups()),
    )
