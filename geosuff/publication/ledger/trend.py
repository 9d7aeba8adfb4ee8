"""Figures of ``tables/trend.csv``: every year's counts registered in the ledger with their children."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geosuff.analysis import trend as tr
from geosuff.publication import disclosure as dc
from geosuff.publication.ledger.core import Ledger, Published

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

TABLE = "trend"


def record_positions(led: Ledger, records: tr.TrendRecords, measures: pd.DataFrame) -> np.ndarray:
    """Ledger positions of the trend's rows: the run's own records for the reference year (so
    its figures are the indicator tables' figures), new records for every other year's child.

    Parameters
    ----------
    led : Ledger
        The run's ledger (before :meth:`Ledger.solve`).
    records : TrendRecords
    measures : DataFrame
        The run's measures (positions = ledger records; ``row`` = input row).

    Returns
    -------
    ndarray of int64
        One position per row of ``records.frame``.
    """
    f = records.frame
    pos = np.full(len(f), -1, dtype=np.int64)
    if records.reference_year is not None and "row" in measures.columns:
        of_row = {int(r): i for i, r in enumerate(pd.to_numeric(measures["row"]).to_numpy())}
        own = (f["year"].to_numpy() == records.reference_year).nonzero()[0]
        for i in own:
            pos[i] = of_row.get(int(f["row"].iloc[i]), -1)
    new = np.flatnonzero(pos < 0)
    start = led.add_records(len(new))
    pos[new] = start + np.arange(len(new), dtype=np.int64)
    return pos


def register_trend(led: Ledger, results: Results) -> list[tuple[tr.TrendCell, int, int]] | None:
    """Register every trend figure; the cells with their count and denominator handles.

    What a reader can work out by differencing is registered too, as implied figures (not
    published, protected when small): the base minus the count (not far, inside...) and "all"
    minus "excluding UASC" (the UASC children), for counts and bases.
    """
    records = results.trend_records
    if records is None or len(records.frame) == 0:
        return None
    pos = record_positions(led, records, results.measures.reset_index(drop=True))
    led.record_sets[TABLE] = pos
    cells = tr.trend_cells(records)
    out = []
    allc: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
    for c in cells:
        label = f"{c.year} {c.measure} {c.breakdown} {c.group}"
        hn = led.add(pos[c.count], table=TABLE, label=label)
        hd = led.add(pos[c.denominator], table=TABLE, label=f"{label} base")
        led.add(pos[c.denominator & ~c.count], table=TABLE, label=f"{label} rest", kind=dc.IMPLIED)
        out.append((c, hn, hd))
        if c.breakdown == "all":
            allc[(c.year, c.measure)] = (c.count, c.denominator)
        elif c.breakdown == "excluding_uasc":
            an, ad = allc[(c.year, c.measure)]
            for sel, what in ((an & ~c.count, ""), (ad & ~c.denominator, " base")):
                led.add(pos[sel], table=TABLE, label=f"{label} UASC{what}", kind=dc.IMPLIED)
    return out


def fill_trend(pub: Published, led: Ledger, pending: dict[str, Any]) -> None:
    """``pub.trend`` from the solved ledger (counts or ``"c"``, percent to 1 decimal)."""
    items = pending.get(TABLE)
    if items is None:
        return
    pub.trend = pd.DataFrame(
        [
            {
                "year": c.year,
                "measure": c.measure,
                "breakdown": c.breakdown,
                "group": c.group,
                "count": led.text(hn),
                "denominator": led.text(hd),
                "percent": led.percent(hn, hd),
            }
            for c, hn, hd in items
        ],
        columns=list(tr.TREND_COLUMNS),
    )
