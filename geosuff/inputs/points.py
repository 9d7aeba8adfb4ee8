"""Point files (``id`` + a location) for travel times and services."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from geosuff._errors import InputFileError
from geosuff.inputs.locations import locate_points
from geosuff.inputs.postcodes import PostcodeLookup, default_lookup
from geosuff.inputs.reading import read_table

logger = logging.getLogger(__name__)


def read_points(path: str | Path, *, postcodes: Any = None) -> pd.DataFrame:
    """Read a point file for travel times: ``id`` plus ``postcode``, ``lon``/``lat`` (WGS84) or
    ``easting``/``northing`` (EPSG:27700), located with :func:`geosuff.locate_points`.

    Parameters
    ----------
    path : str or Path
        CSV or Excel file.
    postcodes : PostcodeLookup, str or Path, optional
        Postcode lookup (or its file); None uses :func:`geosuff.default_lookup`.

    Returns
    -------
    pandas.DataFrame
        New frame with ``id``, ``easting``, ``northing`` (m; NaN where not located) and ``reason``
        ("" or why the point has no location). Every input row is kept.
    """
    p = Path(path)
    df = read_table(p, name="point")
    id_col = next((c for c in df.columns if c.lower() == "id"), None)
    if id_col is None:
        raise InputFileError(
            f"The point file {p.name} has no 'id' column (it has: {', '.join(map(str, df.columns[:12]))}).",
            fix="Add an id column identifying each point.",
        )
    lookup = postcodes
    if not isinstance(lookup, PostcodeLookup):
        has_pc = any(c.lower() in {"postcode", "post_code", "pcd"} for c in df.columns)
        lookup = default_lookup(lookup) if has_pc else None
    located, issues = locate_points(df, lookup, file=p.name)
    for issue in issues:
        logger.warning("%s", issue.text())
    return pd.DataFrame(
        {
            "id": df[id_col].astype(str).to_numpy(),
            "easting": located["easting"].to_numpy(dtype=float),
            "northing": located["northing"].to_numpy(dtype=float),
            "reason": located["location_reason"].fillna("").astype(str).to_numpy(),
        }
    )
