"""OD tables from point files (the ``geosuff traveltime`` command)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.config.sections import SnapSettings
from geosuff.inputs.points import read_points
from geosuff.routing.csgraph import ODResult
from geosuff.routing.matrix import od_matrix

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------- tables


def od_table(
    od: ODResult, from_ids: Sequence[Any], to_ids: Sequence[Any], *, decimals: int | None = 2
) -> pd.DataFrame:
    """Long table of an OD result: one row per (origin, destination) pair, none dropped.

    Columns ``from_id, to_id, minutes, km, estimated, reason``; ``minutes``/``km`` are empty
    (NaN) where there is no value, with the reason saying why. ``decimals`` rounds minutes and km
    (None keeps full precision).
    """
    n, m = od.minutes.shape
    fid = np.asarray(from_ids, dtype=object)
    tid = np.asarray(to_ids, dtype=object)
    if fid.shape[0] != n or tid.shape[0] != m:
        raise InputFileError(
            f"od_table got {fid.shape[0]} origin ids and {tid.shape[0]} destination ids for a {n}x{m} matrix.",
            fix="Pass one id per origin and per destination, in the same order as the points.",
        )
    minutes = od.minutes.ravel()
    km = od.km.ravel()
    if decimals is not None:
        minutes = np.round(minutes, decimals)
        km = np.round(km, decimals)
    return pd.DataFrame(
        {
            "from_id": np.repeat(fid, m),
            "to_id": np.tile(tid, n),
            "minutes": minutes,
            "km": km,
            "estimated": od.estimated.ravel(),
            "reason": od.reason.ravel().astype(str),
        }
    )


def _require_unique_ids(ids: pd.Series, file: str) -> None:
    """Raise :class:`InputFileError` naming the repeated ids of a point file (an OD pair must
    say which point it is from).
    """
    dup = ids[ids.duplicated(keep=False)]
    if not len(dup):
        return
    where = "; ".join(
        f"{k!r} on rows {', '.join(str(int(i) + 1) for i in g.index[:5])}"
        for k, g in list(dup.groupby(dup, sort=False))[:5]
    )
    n = dup.nunique()
    raise InputFileError(
        f"The point file {file} has {n} id(s) on more than one row: {where}.",
        fix="Give each point its own id (or remove the repeated rows), then rerun.",
    )


def od_table_from_files(
    network_path: str | Path,
    from_csv: str | Path,
    to_csv: str | Path,
    *,
    postcodes: Any = None,
    max_minutes: float | None = None,
    speeds: Any = None,
    snap: SnapSettings | None = None,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """OD table between two point files over the road network of an OSM extract.

    Backs ``geosuff traveltime --network OSMFILE --from A.csv --to B.csv [--max-minutes N]``.

    Parameters
    ----------
    network_path : str or Path
        OSM extract (.osm.pbf / .osm / .osm.bz2); the built graph is cached.
    from_csv, to_csv : str or Path
        Point files with ``id`` and ``easting``/``northing`` (EPSG:27700), ``lon``/``lat`` (WGS84)
        or ``postcode`` (located with :mod:`geosuff.inputs`).
    postcodes : PostcodeLookup or path, optional
        Postcode lookup for files with a ``postcode`` column.
    max_minutes : float, optional
    speeds : SpeedSettings, optional
    snap : SnapSettings, optional
    cache_dir : str or Path, optional

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, minutes, km, estimated, reason``, one row per pair (no coordinates are
        written: point locations may be personal data). A point that could not be located keeps its
        rows with the location reason.

    Raises
    ------
    InputFileError
        If an id is on more than one row of a point file (the message names them).
    """
    from geosuff.network import build_graph

    a = read_points(from_csv, postcodes=postcodes)
    b = read_points(to_csv, postcodes=postcodes)
    for pts, path in ((a, from_csv), (b, to_csv)):
        _require_unique_ids(pts["id"], Path(path).name)
    graph = build_graph(network_path, speeds=speeds, cache_dir=cache_dir)
    od = od_matrix(
        graph,
        np.column_stack([a["easting"], a["northing"]]),
        np.column_stack([b["easting"], b["northing"]]),
        max_minutes=max_minutes,
        settings=snap,
    )
    table = od_table(od, a["id"].to_numpy(), b["id"].to_numpy())
    # say why a point was not located (e.g. unknown postcode) instead of "has no coordinates"
    n, m = len(a), len(b)
    reasons = table["reason"].to_numpy(dtype=object)
    for side, why in (
        ("origin", np.repeat(a["reason"].to_numpy(dtype=object), m)),
        ("destination", np.tile(b["reason"].to_numpy(dtype=object), n)),
    ):
        for k in np.flatnonzero(why != ""):
            reasons[k] = reasons[k].replace(
                f"{side} has no coordinates", f"{side} not located: {why[k]}"
            )
    table["reason"] = reasons
    return table
