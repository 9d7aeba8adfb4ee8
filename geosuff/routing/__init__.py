"""The routing engine interface: snap points, OD matrices and pairs, node times, reachable sets, nearest-site minutes. The engine behind it is scipy csgraph on a contracted core graph."""

from __future__ import annotations

from geosuff.config.sections import (
    ACCESS_SPEED_KPH,
    CIRCUITY_FACTOR,
    FALLBACK_SPEED_KPH,
    MAX_SNAP_M,
    SnapSettings,
)
from geosuff.inputs.points import read_points
from geosuff.routing.csgraph import (
    CHUNK_BYTES,
    MIN_EDGE_S,
    REASON_NO_COORDS,
    SPARSE_REACH_FRACTION,
    ODResult,
    Snapped,
)
from geosuff.routing.files import (
    od_table,
    od_table_from_files,
)
from geosuff.routing.matrix import (
    nearest_minutes,
    node_times,
    od_matrix,
    reachable,
)
from geosuff.routing.snap import (
    snap_points,
)

__all__ = [
    "ACCESS_SPEED_KPH",
    "CIRCUITY_FACTOR",
    "FALLBACK_SPEED_KPH",
    "MAX_SNAP_M",
    "SnapSettings",
    "read_points",
    "MIN_EDGE_S",
    "SPARSE_REACH_FRACTION",
    "CHUNK_BYTES",
    "REASON_NO_COORDS",
    "Snapped",
    "ODResult",
    "snap_points",
    "od_matrix",
    "node_times",
    "reachable",
    "nearest_minutes",
    "od_table",
    "od_table_from_files",
]
