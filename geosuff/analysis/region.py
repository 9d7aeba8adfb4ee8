"""Regional measures over several councils' placements: arrays in, arrays out.

A region's *records* are every placement row of every council, one after the other (council
``i``'s rows are ``offsets[i] .. offsets[i + 1] - 1``). The cores here decide, per record, where
the child is placed (the *host*: a council of the region, outside it, not known, or a row not
counted) and the regional flags (inside own LA, inside the region, within 20 miles, within T
minutes); the publication layer turns them into disclosure-controlled tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Host of a placement in an LA not in the region (Wales, Scotland and NI included).
HOST_OUTSIDE = "outside"
#: Host of a counted placement whose LA is not known (no or unknown placement postcode).
HOST_NOT_KNOWN = "not_known"
#: Host of a row not counted (excluded on loading, or not in the snapshot): accounted for.
HOST_EXCLUDED = "excluded"
#: Labels of the hosts that are not a council of the region.
HOST_LABELS = {
    HOST_OUTSIDE: "Outside the region",
    HOST_NOT_KNOWN: "Placement LA not known",
    HOST_EXCLUDED: "Row not counted (see the council's qa/reconciliation.csv)",
}
#: The DfE distance line of the regional indicators (straight-line miles).
REGION_FAR_MILES = 20.0

Bool = npt.NDArray[np.bool_]
Obj = npt.NDArray[np.object_]


def host_codes(
    placement_la: Sequence[object] | npt.NDArray[np.object_],
    counted: Bool,
    region_codes: Sequence[str],
) -> Obj:
    """The host of each record: its placement LA's code when that is a council of the region,
    else :data:`HOST_OUTSIDE`; :data:`HOST_NOT_KNOWN` where the LA is not known and
    :data:`HOST_EXCLUDED` for rows not counted. Every record gets exactly one host.

    Parameters
    ----------
    placement_la : array of str or None, shape (n,)
        Upper-tier LA code of each placement (None / NaN / "" when not known).
    counted : bool array, shape (n,)
        Whether the row is counted (status not "excluded").
    region_codes : sequence of str
        The region's councils.
    """
    la = np.asarray(placement_la, dtype=object)
    counted = np.asarray(counted, dtype=bool)
    known = np.array([isinstance(v, str) and v != "" for v in la], dtype=bool)
    inside = np.isin(la.astype(str), np.asarray(list(region_codes), dtype=str)) & known
    out = np.full(la.shape[0], HOST_OUTSIDE, dtype=object)
    out[inside] = la[inside]
    out[~known] = HOST_NOT_KNOWN
    out[~counted] = HOST_EXCLUDED
    return out


def region_flags(
    *,
    placement_la: Obj,
    inside_own: Bool,
    dfe_miles: npt.NDArray[np.float64],
    minutes: npt.NDArray[np.float64],
    region_codes: Sequence[str],
    local_minutes: float,
    far_miles: float = REGION_FAR_MILES,
) -> dict[str, Bool]:
    """The regional indicator flags of each record.

    Parameters
    ----------
    placement_la : array of str or None, shape (n,)
        Placement LA code.
    inside_own : bool array, shape (n,)
        The council's own decision that the placement is inside its LA (``measures.inside_la``;
        not known: False).
    dfe_miles : float array, shape (n,)
        DfE straight-line miles (NaN: not known).
    minutes : float array, shape (n,)
        Travel minutes (NaN: not known).
    region_codes : sequence of str
    local_minutes : float
        T of "within T minutes" (minutes).
    far_miles : float
        The distance line (miles, default 20).

    Returns
    -------
    dict of str to bool array
        ``inside_own_la``, ``inside_region``, ``within_miles``, ``within_minutes`` (unknowns are
        False: they count as not shown to be so).
    """
    own = np.asarray(inside_own, dtype=bool)
    la = np.asarray(placement_la, dtype=object)
    known = np.array([isinstance(v, str) and v != "" for v in la], dtype=bool)
    in_region = known & np.isin(la.astype(str), np.asarray(list(region_codes), dtype=str))
    miles = np.asarray(dfe_miles, dtype=float)
    mins = np.asarray(minutes, dtype=float)
    with np.errstate(invalid="ignore"):
        within_miles = np.isfinite(miles) & (miles <= far_miles)
        within_minutes = np.isfinite(mins) & (mins <= local_minutes)
    return {
        "inside_own_la": own,
        "inside_region": in_region | own,
        "within_miles": within_miles,
        "within_minutes": within_minutes,
    }


def flow_members(
    council: Obj, host: Obj, councils: Sequence[str], hosts: Sequence[str]
) -> list[tuple[str, str, npt.NDArray[np.int64]]]:
    """The records of each (placing council, host) pair, in ``councils`` × ``hosts`` order,
    pairs with no record left out.

    Returns
    -------
    list of (council, host, record positions)
    """
    out = []
    for c in councils:
        mc = council == c
        for h in hosts:
            idx = np.flatnonzero(mc & (host == h)).astype(np.int64)
            if idx.size:
                out.append((c, h, idx))
    return out


def pooled_provision(
    *,
    council: Sequence[str],
    site_type: Sequence[str],
    places: npt.NDArray[np.float64],
    spare: npt.NDArray[np.float64],
    councils: Sequence[str],
    types: Sequence[str],
) -> pd.DataFrame:
    """Sites, places and spare places by council and type, then the region's totals per type
    (``council`` "region").

    Parameters
    ----------
    council, site_type : sequences of str, shape (n,)
        Each used site's council and type.
    places, spare : float arrays, shape (n,)
        Places and spare (available) places per site (NaN as 0).
    councils, types : sequences of str
        Order of the rows.

    Returns
    -------
    DataFrame
        ``council``, ``type``, ``sites``, ``places``, ``spare_places`` (integers), types with no
        site left out.
    """
    c = np.asarray(list(council), dtype=object)
    t = np.asarray(list(site_type), dtype=object)
    p = np.nan_to_num(np.asarray(places, dtype=float))
    s = np.nan_to_num(np.asarray(spare, dtype=float))
    rows = []
    for who in [*councils, "region"]:
        mc = np.ones(c.shape[0], bool) if who == "region" else c == who
        for typ in types:
            m = mc & (t == typ)
            if m.any():
                rows.append(
                    {
                        "council": who,
                        "type": typ,
                        "sites": int(m.sum()),
                        "places": int(round(float(p[m].sum()))),
                        "spare_places": int(round(float(s[m].sum()))),
                    }
                )
    return pd.DataFrame(rows, columns=["council", "type", "sites", "places", "spare_places"])


def withhold_split(gain: Any, split: Any, *, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Which cells of a table of totals and their split to withhold (joint siting's gains).

    Parameters
    ----------
    gain : array_like of int, shape (k,)
        Each row's total (children).
    split : array_like of int, shape (k, n)
        The row's split (children per council); rows sum to ``gain``.
    min_count : int
        Counts 1 to ``min_count - 1`` are withheld.

    Returns
    -------
    (gain_withheld, split_withheld) : bool arrays, shapes (k,) and (k, n)
        Small counts, and in a row where one split cell alone is withheld while the total is
        shown, the smallest other split cell too (or the total, with no other), so no withheld
        cell follows from the row's total minus the cells shown.
    """
    g = np.asarray(gain, dtype=np.int64).reshape(-1)
    s = np.asarray(split, dtype=np.int64).reshape(g.size, -1)
    small_g = (g >= 1) & (g < min_count)
    small_s = (s >= 1) & (s < min_count)
    for i in range(g.size):
        hidden = np.flatnonzero(small_s[i])
        if hidden.size != 1 or small_g[i]:
            continue
        others = np.flatnonzero(~small_s[i])
        if others.size:
            small_s[i, others[np.argmin(s[i, others])]] = True
        else:  # pragma: no cover - one council alone: its split is the total
            small_g[i] = True
    return small_g, small_s
