"""Figures of ``tables/providers.csv``: placements by provider sector, registered in the ledger."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geosuff import reference
from geosuff.analysis import providers as pv
from geosuff.publication.ledger.core import Ledger, Published

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

TABLE = "providers"


def register_providers(
    led: Ledger, results: Results
) -> list[tuple[pv.ProviderCell, int, int]] | None:
    """Register every figure of the providers table (each group's sectors, and its total);
    None when the placements carry no provider sector.
    """
    m = results.measures.reset_index(drop=True)
    if "provider_sector" not in m.columns:
        return None
    status = m["status"].astype(str).to_numpy() if "status" in m else np.full(len(m), "used")
    counted = status != "excluded"
    sectors = m["provider_sector"].astype(str).to_numpy()
    if not pv.has_providers(sectors[counted]):
        return None
    pos = np.flatnonzero(counted)
    cells = pv.provider_cells(
        m["place_group"].astype(str).to_numpy()[counted],
        sectors[counted],
        group_order=tuple(reference.placement_groups()),
    )
    out = []
    bases: dict[str, int] = {}
    for c in cells:
        if c.place_group not in bases:
            bases[c.place_group] = led.add(
                pos[c.denominator], table=TABLE, label=f"{c.place_group} placements"
            )
        h = led.add(pos[c.count], table=TABLE, label=f"{c.place_group} {c.sector}")
        out.append((c, h, bases[c.place_group]))
    return out


def fill_providers(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    """``pub.providers`` from the solved ledger (counts or ``"c"``, percent to 1 decimal)."""
    items = pending.get(TABLE)
    if items is None:
        return
    pub.providers = pd.DataFrame(
        [
            {
                "place_group": c.place_group,
                "sector": c.sector,
                "count": led.text(h),
                "denominator": led.text(hd),
                "percent": led.percent(h, hd),
            }
            for c, h, hd in items
        ],
        columns=list(pv.PROVIDER_COLUMNS),
    )
