"""Road network: OSM file -> routable drive graph in British National Grid with travel times.

The graph is held as plain numpy arrays (:class:`RoadGraph`) so that the travel-time engine
(:mod:`geosuff.traveltime`) can run compiled shortest paths on CSR matrices. Nodes are OSM nodes
of drivable ways (not topologically simplified), so every edge is a straight segment between two
nodes: snapping to the nearest edge and cutting an edge part-way (catchments) need no edge geometry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

CRS = "EPSG:27700"


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed drive graph in EPSG:27700, as arrays.

    Attributes
    ----------
    x, y : ndarray of float64, shape (n_nodes,)
        Node easting / northing in metres (EPSG:27700).
    osmid : ndarray of int64, shape (n_nodes,)
        OSM node id of each node (synthetic graphs use 0..n-1).
    u, v : ndarray of int32, shape (n_edges,)
        Edge tail / head node indices. A two-way road is two edges (u->v and v->u).
    length_m : ndarray of float64, shape (n_edges,)
        Edge length in metres (straight segment between its two nodes).
    time_s : ndarray of float64, shape (n_edges,)
        Edge travel time in seconds, calibration applied.
    speed_kph : ndarray of float64, shape (n_edges,)
        Modelled speed in km/h (after calibration) used to compute ``time_s``.
    highway : ndarray of object, shape (n_edges,)
        OSM ``highway`` class of each edge ("" for synthetic graphs).
    meta : dict
        Provenance: source file, its sha256, speed settings, build time.
    """

    x: np.ndarray
    y: np.ndarray
    osmid: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    speed_kph: np.ndarray
    highway: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.u.shape[0])

    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any,
        u: Any,
        v: Any,
        *,
        time_s: Any,
        length_m: Any | None = None,
        osmid: Any | None = None,
        highway: Any | None = None,
        meta: dict[str, Any] | None = None,
    ) -> RoadGraph:
        """Build a graph from node coordinates (m, EPSG:27700) and directed edges.

        ``length_m`` defaults to the straight-line length of each edge.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        u = np.asarray(u, dtype=np.int32)
        v = np.asarray(v, dtype=np.int32)
        t = np.asarray(time_s, dtype=np.float64)
        if length_m is None:
            length = np.hypot(x[v] - x[u], y[v] - y[u])
        else:
            length = np.asarray(length_m, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.where(t > 0, length / np.maximum(t, 1e-12) * 3.6, 0.0)
        return cls(
            x=x,
            y=y,
            osmid=np.arange(x.shape[0], dtype=np.int64) if osmid is None else np.asarray(osmid, dtype=np.int64),
            u=u,
            v=v,
            length_m=length,
            time_s=t,
            speed_kph=speed,
            highway=np.full(u.shape[0], "", dtype=object) if highway is None else np.asarray(highway, dtype=object),
            meta=dict(meta or {}),
        )

    def csr(self, weight: str = "time_s", *, reverse: bool = False) -> sp.csr_matrix:
        """Sparse adjacency matrix of ``weight`` ("time_s" or "length_m").

        Parallel edges keep the *minimum* weight (scipy would otherwise sum duplicates).
        Zero weights are stored as a tiny positive value so that csgraph does not drop them.
        With ``reverse=True`` the matrix of the reversed graph (for many-to-one searches).
        """
        w = getattr(self, weight)
        tail, head = (self.v, self.u) if reverse else (self.u, self.v)
        w = np.maximum(w, 1e-9)
        n = self.n_nodes
        key = tail.astype(np.int64) * n + head.astype(np.int64)
        order = np.lexsort((w, key))
        key_sorted = key[order]
        first = np.ones(key_sorted.shape[0], dtype=bool)
        first[1:] = key_sorted[1:] != key_sorted[:-1]
        keep = order[first]
        return sp.csr_matrix((w[keep], (tail[keep], head[keep])), shape=(n, n))
