"""Does the road network cover the council and its points? Extents, distances outside them, the coverage check."""

from __future__ import annotations

import logging
import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geosuff._errors import InputFileError
from geosuff.inputs import (
    STATUS_EXCLUDED,
    STATUSES,
    Boundaries,
    Issue,
    Loaded,
)

if TYPE_CHECKING:
    pass
from geosuff.inputs.validate.common import (
    _WGS_TO_BNG,
    HOME_IN_COUNCIL_MIN_SHARE,
    NETWORK_FAR_M,
    NETWORK_MARGIN_M,
    NETWORK_MIN_COVER,
    _join,
)

logger = logging.getLogger(__name__)


@cache
def network_extent(path: str | Path) -> tuple[float, float, float, float] | None:
    """Bounding box (min_e, min_n, max_e, max_n; metres, EPSG:27700) of an OSM file's data.

    Read from the file header when it has one (Geofabrik/BBBike extracts do), else by scanning
    the node locations. None if the file has neither (empty).

    Raises
    ------
    InputFileError
        If the file is missing or is not an OSM file osmium can read.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            f"The network file {p} does not exist.", fix="Correct the 'network' path in the config."
        )
    if p.stat().st_size == 0:
        raise InputFileError(
            f"The network file {p.name} is empty.",
            fix="Download the OSM extract again (e.g. from Geofabrik).",
        )
    try:
        import osmium
    except ImportError:  # pragma: no cover - declared dependency
        return None
    box = None
    try:
        reader = osmium.io.Reader(str(p), osmium.osm.osm_entity_bits.NOTHING)
        try:
            h = reader.header().box()
            if h.valid():
                box = (h.bottom_left.lon, h.bottom_left.lat, h.top_right.lon, h.top_right.lat)
        finally:
            reader.close()
        if box is None:
            lo = [math.inf, math.inf, -math.inf, -math.inf]
            for obj in osmium.FileProcessor(str(p), osmium.osm.NODE):
                loc = getattr(obj, "location", None)
                if loc is None or not loc.valid():
                    continue
                x, y = loc.lon, loc.lat
                lo[0], lo[1], lo[2], lo[3] = (
                    min(lo[0], x),
                    min(lo[1], y),
                    max(lo[2], x),
                    max(lo[3], y),
                )
            if math.isfinite(lo[0]):
                box = (lo[0], lo[1], lo[2], lo[3])
    except Exception as err:  # osmium raises RuntimeError and others on non-OSM files
        raise InputFileError(
            f"The network file {p.name} could not be read as OpenStreetMap data ({type(err).__name__}: {err}).",
            fix="Give an OSM extract (.osm.pbf, .osm or .osm.bz2), e.g. from https://download.geofabrik.de/europe/united-kingdom.html.",
        ) from None
    if box is None:
        return None
    xs, ys = _WGS_TO_BNG.transform(
        [box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]]
    )
    return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))


def distance_outside_box(
    x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]
) -> np.ndarray:
    """Distance (m) of each point outside an axis-aligned box (0 inside; NaN for missing points)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx = np.maximum(np.maximum(box[0] - x, 0), x - box[2])
    dy = np.maximum(np.maximum(box[1] - y, 0), y - box[3])
    return np.hypot(dx, dy)


def check_network_extent(
    loaded: Loaded,
    box: tuple[float, float, float, float],
    *,
    network_name: str = "the road network",
) -> list[Issue]:
    """Issues for sites/candidates outside the road network's extent; rows further than
    :data:`NETWORK_FAR_M` are marked excluded in ``loaded.table`` (a new frame is assigned).
    """
    t = loaded.table
    if "easting" not in t:
        return []
    fname = loaded.path.name if loaded.path else loaded.name
    d = distance_outside_box(t["easting"].to_numpy(float), t["northing"].to_numpy(float), box)
    live = (t["status"] != STATUS_EXCLUDED).to_numpy()
    issues: list[Issue] = []
    far = live & (d > NETWORK_FAR_M)
    near = live & (d > NETWORK_MARGIN_M) & ~far
    col = "postcode" if "postcode" in t and t["postcode"].notna().any() else "easting"
    for i in np.flatnonzero(near):
        issues.append(
            Issue(
                fname,
                int(t["row"].iat[i]),
                col,
                f"{t['easting'].iat[i]:.0f}, {t['northing'].iat[i]:.0f}",
                f"point is {d[i] / 1000:.0f} km outside {network_name}; its travel times will be estimated from the straight line",
                "warning",
                "location.outside_network",
            )
        )
    if far.any():
        t = t.copy()
        status = t["status"].to_numpy(dtype=object).copy()
        reason = t["reason"].to_numpy(dtype=object).copy()
        for i in np.flatnonzero(far):
            issues.append(
                Issue(
                    fname,
                    int(t["row"].iat[i]),
                    col,
                    f"{t['easting'].iat[i]:.0f}, {t['northing'].iat[i]:.0f}",
                    f"point is {d[i] / 1000:.0f} km outside {network_name} (wrong coordinates, or the wrong network extract?); excluded",
                    "error",
                    "location.far_outside_network",
                )
            )
            status[i] = STATUS_EXCLUDED
            reason[i] = _join(str(reason[i]), f"{d[i] / 1000:.0f} km outside the road network")
        t["status"] = status
        t["reason"] = reason
        loaded.table = t
    return issues


def _extent_text(box: tuple[float, float, float, float]) -> str:
    return f"{box[0] / 1000:.0f}-{box[2] / 1000:.0f} km E, {box[1] / 1000:.0f}-{box[3] / 1000:.0f} km N"


def require_network_coverage(
    network: str | Path, boundaries: Boundaries, council: str, council_name: str = ""
) -> float:
    """Raise :class:`InputFileError` unless the road network file covers the council.

    The same test as ``validate``'s ``network.wrong_area`` error: a network whose extent holds
    (almost) none of the council's area would leave every point off the network. Returns the
    share of the council's area inside the network's extent (1.0 when it cannot be measured).
    """
    import shapely

    p = Path(network)
    box = network_extent(p)
    name = council_name or council
    fix = (
        "Supply a road network covering the council: a Geofabrik county extract "
        "(https://download.geofabrik.de/europe/united-kingdom/england.html) for the county holding it, "
        'as [inputs] network; or set [analysis] travel = "estimate" to use straight-line estimates of travel time.'
    )
    if box is None:
        raise InputFileError(
            f"The network file {p} holds no nodes, so it cannot cover {council} {name}.", fix=fix
        )
    if council not in set(boundaries.gdf["code"]):
        return 1.0
    geom = boundaries.geometry(council)
    if geom.area <= 0:
        return 1.0
    inside = float(shapely.intersection(geom, shapely.box(*box)).area / geom.area)
    if inside < NETWORK_MIN_COVER:
        raise InputFileError(
            f"The road network {p} does not cover the council {council} {name}: its extent is "
            f"{_extent_text(box)}, which holds {inside:.0%} of the council; every travel time would be a straight-line estimate.",
            fix=fix,
        )
    return inside


def _council_coverage(
    boundaries: Boundaries,
    council: str,
    council_name: str,
    box: tuple[float, float, float, float],
    net: str,
) -> list[Issue]:
    import shapely

    geom = boundaries.geometry(council)
    area = geom.area
    if area <= 0:
        return []
    inside = shapely.intersection(geom, shapely.box(*box)).area / area
    if inside < NETWORK_MIN_COVER:
        return [
            Issue(
                net,
                None,
                None,
                None,
                f"The network file {net} does not cover the council {council} {council_name} at all.",
                "error",
                "network.wrong_area",
            )
        ]
    if inside < 0.95:
        return [
            Issue(
                net,
                None,
                None,
                None,
                f"The network file {net} covers only {inside:.0%} of {council_name}; travel times elsewhere will be estimated.",
                "warning",
                "network.partial",
            )
        ]
    return []


def _check_council_homes(t: Loaded, council: str, council_name: str) -> list[Issue]:
    tab = t.table
    if "home_utla" not in tab:
        return []
    live = tab["status"] != STATUS_EXCLUDED
    known = tab.loc[live, "home_utla"].dropna()
    if len(known) < 5:
        return []
    share = float((known == council).mean())
    if share < HOME_IN_COUNCIL_MIN_SHARE:
        top = known.value_counts().index[0]
        fname = t.path.name if t.path else "placements"
        return [
            Issue(
                fname,
                None,
                "HOME_POST",
                None,
                f"Only {share:.0%} of the located home postcodes are in the council {council} {council_name} (most are in {top}); is the 'council' code in the config right?",
                "warning",
                "council.homes_elsewhere",
            )
        ]
    return []


# ----------------------------------------------------------------------------------------------
# Reconciliation
# ----------------------------------------------------------------------------------------------
_RANK = {s: i for i, s in enumerate(STATUSES)}
