"""Routing for large jobs split into source chunks, run in process or as Dask tasks.

The graph is never shipped with a task: a task carries a small :class:`GraphSource` (the OSM
extract's path, speed settings, cache folder, CRS) and every process loads the graph once, from
geosuff's graph cache, into a module-level per-process cache keyed by that source
(:func:`load_graph`). With ``client=None`` the very same chunk functions run one after the other in
the calling process, so the two paths give the same numbers.

Results are bit-identical to the unchunked functions of :mod:`geosuff.routing.matrix`:

* :func:`od_matrix_chunked` / :func:`pair_times_chunked` run every search from the sources
  (``od_matrix(..., direction="forward")``); a row of an OD matrix does not depend on the other
  rows, so splitting the sources changes nothing (``od_matrix``'s default ``direction="auto"``
  also searches from the sources whenever there are no more sources than targets);
* :func:`nearest_by_type` takes, per site type, the minimum over chunks of sites of
  :func:`~geosuff.routing.matrix.nearest_minutes`; a minimum of Dijkstra distances is exact (float
  addition is monotone), so it equals one multi-source search over all the sites of that type.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geosuff._errors import ConfigError
from geosuff.config.sections import SnapSettings, SpeedSettings
from geosuff.network import CRS, RoadGraph, build_graph
from geosuff.routing.matrix import nearest_minutes, od_matrix
from geosuff.routing.snap import _as_xy

logger = logging.getLogger(__name__)

#: Default number of unique source points per OD task.
DEFAULT_OD_CHUNK = 256


@dataclass(frozen=True)
class GraphSource:
    """Where a process finds the road graph (small and picklable: this is what tasks carry).

    Attributes
    ----------
    osm_path : str
        The OSM extract (``.osm.pbf``); its graph is read from geosuff's graph cache (built and
        cached on first use), see :func:`geosuff.network.build_graph`.
    speeds : SpeedSettings
        Speed modelling (part of the cache key).
    cache_dir : str or None
        Graph cache folder; None for :func:`geosuff.network.default_cache_dir`.
    crs : str
        Projected CRS in metres (EPSG:27700).
    """

    osm_path: str
    speeds: SpeedSettings = field(default_factory=SpeedSettings)
    cache_dir: str | None = None
    crs: str = CRS

    def key(self) -> tuple[str, str, str | None, str, int, int]:
        """Per-process cache key: resolved path, settings, and the file's size and mtime (ns)."""
        p = Path(self.osm_path).expanduser().resolve()
        st = p.stat()
        return (str(p), repr(self.speeds), self.cache_dir, self.crs, st.st_size, st.st_mtime_ns)


_GRAPHS: dict[tuple[str, str, str | None, str, int, int], RoadGraph] = {}
_LOADS: dict[tuple[str, str, str | None, str, int, int], int] = {}
_LOAD_SECONDS: dict[tuple[str, str, str | None, str, int, int], float] = {}
_LOCK = threading.Lock()


def load_graph(source: GraphSource) -> RoadGraph:
    """The graph of ``source``, loaded at most once per process (cached at module level).

    Parameters
    ----------
    source : GraphSource

    Returns
    -------
    RoadGraph
    """
    key = source.key()
    with _LOCK:  # a worker runs tasks in threads: load once, not once per thread
        g = _GRAPHS.get(key)
        if g is None:
            t0 = time.perf_counter()
            g = build_graph(
                source.osm_path, speeds=source.speeds, cache_dir=source.cache_dir, crs=source.crs
            )
            _GRAPHS[key] = g
            _LOADS[key] = _LOADS.get(key, 0) + 1
            _LOAD_SECONDS[key] = time.perf_counter() - t0
            logger.info(
                "Process %d loaded %s in %.1f s", os.getpid(), source.osm_path, _LOAD_SECONDS[key]
            )
    return g


def graph_loads() -> dict[str, Any]:
    """How often this process loaded each graph, and its memory (for tests and benchmarks).

    Returns
    -------
    dict
        ``pid``; ``loads``: {osm path: number of loads}; ``load_seconds``: {osm path: s};
        ``peak_rss_mb``: the process's peak resident memory (MiB, ``getrusage``);
        ``cpu_s``: the process's CPU time so far (user + system, s).
    """
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "pid": os.getpid(),
        "loads": {k[0]: v for k, v in _LOADS.items()},
        "load_seconds": {k[0]: v for k, v in _LOAD_SECONDS.items()},
        "peak_rss_mb": ru.ru_maxrss / 1024.0,
        "cpu_s": ru.ru_utime + ru.ru_stime,
    }


def clear_graphs() -> None:
    """Forget this process's loaded graphs and load counts."""
    with _LOCK:
        _GRAPHS.clear()
        _LOADS.clear()
        _LOAD_SECONDS.clear()


def _warm(source: GraphSource) -> dict[str, Any]:
    load_graph(source)
    return graph_loads()


def warm_workers(source: GraphSource, *, client: Any | None = None) -> list[dict[str, Any]]:
    """Load the graph in every worker (or in this process) before timing or submitting work.

    Parameters
    ----------
    source : GraphSource
    client : dask.distributed.Client or None
        None loads it in the calling process.

    Returns
    -------
    list of dict
        :func:`graph_loads` of each process.
    """
    if client is None:
        return [_warm(source)]
    # the first load may build the graph from the extract and write the cache: do it on one
    # worker, then the others read the cache
    workers = sorted(client.scheduler_info()["workers"])
    first = client.run(_warm, source, workers=workers[:1])
    rest = client.run(_warm, source, workers=workers[1:]) if len(workers) > 1 else {}
    return [*first.values(), *rest.values()]


def _check_chunk(chunk_size: int | None, name: str = "chunk_size") -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ConfigError(
            f"{name} must be a positive whole number, got {chunk_size!r}.", fix="Use e.g. 256."
        )


def _run(fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], client: Any | None) -> list[Any]:
    """Run ``fn(*args)`` for each call: as Dask tasks (results in call order) or in process."""
    if client is None:
        return [fn(*args) for args in calls]
    futures = [client.submit(fn, *args, pure=False) for args in calls]
    return list(client.gather(futures))


# ----------------------------------------------------------------------------------- OD


@dataclass(frozen=True, eq=False)
class ChunkedOD:
    """Travel times of an OD job (matrix or pairs).

    Attributes
    ----------
    minutes : ndarray of float64
        Car minutes (NaN: no route, no coordinates or beyond ``max_minutes``), as
        :attr:`geosuff.routing.ODResult.minutes`.
    km : ndarray of float64
        Road km of the fastest path (NaN where ``minutes`` is, and everywhere without km).
    estimated : ndarray of bool
        True where a point of the pair is off the network (straight-line estimate).
    """

    minutes: np.ndarray
    km: np.ndarray
    estimated: np.ndarray


def _od_task(
    source: GraphSource,
    src_xy: np.ndarray,
    dst_xy: np.ndarray,
    rows: np.ndarray | None,
    cols: np.ndarray | None,
    max_minutes: float | None,
    settings: SnapSettings,
    with_km: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = load_graph(source)
    od = od_matrix(
        g,
        src_xy,
        dst_xy,
        max_minutes=max_minutes,
        settings=settings,
        with_km=with_km,
        direction="forward",
    )
    if rows is None or cols is None:
        return od.minutes, od.km, od.estimated
    return od.minutes[rows, cols], od.km[rows, cols], od.estimated[rows, cols]


def od_matrix_chunked(
    source: GraphSource,
    origins_xy: Any,
    destinations_xy: Any,
    *,
    client: Any | None = None,
    chunk_size: int = DEFAULT_OD_CHUNK,
    max_minutes: float | None = None,
    settings: SnapSettings | None = None,
    with_km: bool = True,
) -> ChunkedOD:
    """OD matrix of car times, split into chunks of ``chunk_size`` origins.

    Parameters
    ----------
    source : GraphSource
        The road graph, loaded once per process.
    origins_xy, destinations_xy : array-like, shape (n, 2) / (m, 2)
        Easting, northing (m, EPSG:27700). Graph nodes are given by their coordinates.
    client : dask.distributed.Client or None
        Run the chunks as Dask tasks; None runs them one by one in this process.
    chunk_size : int
        Origins per task (default 256).
    max_minutes : float, optional
        Cutoff (min), as in :func:`geosuff.routing.od_matrix`.
    settings : SnapSettings, optional
    with_km : bool
        Also measure road km (default True).

    Returns
    -------
    ChunkedOD
        Arrays of shape (n, m), equal to ``od_matrix(..., direction="forward")``.
    """
    _check_chunk(chunk_size)
    settings = settings or SnapSettings()
    ox, oy = _as_xy(origins_xy)
    dx, dy = _as_xy(destinations_xy)
    src = np.column_stack([ox, oy])
    dst = np.column_stack([dx, dy])
    n, m = src.shape[0], dst.shape[0]
    calls = [
        (source, src[s : s + chunk_size], dst, None, None, max_minutes, settings, with_km)
        for s in range(0, n, chunk_size)
    ]
    parts = _run(_od_task, calls, client) if n and m else []
    if not parts:
        return ChunkedOD(np.full((n, m), np.nan), np.full((n, m), np.nan), np.zeros((n, m), bool))
    return ChunkedOD(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def pair_times_chunked(
    source: GraphSource,
    origins_xy: Any,
    destinations_xy: Any,
    *,
    client: Any | None = None,
    chunk_size: int = DEFAULT_OD_CHUNK,
    max_minutes: float | None = None,
    settings: SnapSettings | None = None,
    with_km: bool = True,
) -> ChunkedOD:
    """Car times of (origin i -> destination i) pairs, e.g. each child's home -> placement.

    Pairs are grouped by unique origin point; each task searches from ``chunk_size`` unique
    origins to the unique destinations of their pairs.

    Parameters
    ----------
    source : GraphSource
        The road graph, loaded once per process.
    origins_xy, destinations_xy : array-like, shape (n, 2)
        Pair ends, easting/northing (m, EPSG:27700). Pairs with a NaN coordinate get NaN.
    client : dask.distributed.Client or None
        Run the chunks as Dask tasks; None runs them one by one in this process.
    chunk_size : int
        Unique origins per task (default 256).
    max_minutes : float, optional
        Cutoff (min).
    settings : SnapSettings, optional
    with_km : bool
        Also measure road km (default True).

    Returns
    -------
    ChunkedOD
        Arrays of shape (n,): pair i is entry ``[a, b]`` of
        ``od_matrix(graph, unique origins, unique destinations, direction="forward")``.
    """
    _check_chunk(chunk_size)
    settings = settings or SnapSettings()
    ox, oy = _as_xy(origins_xy)
    dx, dy = _as_xy(destinations_xy)
    if ox.shape != dx.shape:
        raise ConfigError(
            f"pairs need as many origins as destinations, got {ox.shape[0]} and {dx.shape[0]}.",
            fix="Give one destination per origin (row i of each is pair i).",
        )
    n = ox.shape[0]
    minutes = np.full(n, np.nan)
    km = np.full(n, np.nan)
    est = np.zeros(n, dtype=bool)
    src = np.column_stack([ox, oy])
    dst = np.column_stack([dx, dy])
    ok = np.flatnonzero(np.isfinite(src).all(axis=1) & np.isfinite(dst).all(axis=1))
    if not ok.size:
        return ChunkedOD(minutes, km, est)
    su, sinv = np.unique(src[ok], axis=0, return_inverse=True)
    sinv = sinv.ravel()
    order = np.argsort(sinv, kind="stable")
    bounds = np.searchsorted(sinv[order], np.arange(0, su.shape[0] + chunk_size, chunk_size))
    calls = []
    picks = []
    for c in range(bounds.shape[0] - 1):
        sel = order[bounds[c] : bounds[c + 1]]
        if not sel.size:
            continue
        start = c * chunk_size
        du, dinv = np.unique(dst[ok[sel]], axis=0, return_inverse=True)
        calls.append(
            (
                source,
                su[start : start + chunk_size],
                du,
                sinv[sel] - start,
                dinv.ravel(),
                max_minutes,
                settings,
                with_km,
            )
        )
        picks.append(ok[sel])
    for rows, (mi, kmi, ei) in zip(picks, _run(_od_task, calls, client), strict=True):
        minutes[rows], km[rows], est[rows] = mi, kmi, ei
    return ChunkedOD(minutes, km, est)


# ----------------------------------------------------------------------------- nearest sites


@dataclass(frozen=True, eq=False)
class NearestByType:
    """Minutes from each origin to the nearest site of each type.

    Attributes
    ----------
    types : tuple of str
        Site types, in column order (sorted).
    minutes : ndarray of float64, shape (n_origins, n_types)
        Minutes to the nearest site of the type (NaN: none reachable / beyond the cutoff / origin
        without coordinates), as :func:`geosuff.routing.nearest_minutes` with ``target_xy``.
    estimated : ndarray of bool, shape (n_origins, n_types)
        True where the value is a straight-line estimate (an off-network point on the pair).
    """

    types: tuple[str, ...]
    minutes: np.ndarray
    estimated: np.ndarray


def _nearest_task(
    source: GraphSource,
    sites_xy: np.ndarray,
    origins_xy: np.ndarray,
    max_minutes: float | None,
    settings: SnapSettings,
) -> tuple[np.ndarray, np.ndarray]:
    g = load_graph(source)
    minutes, est = nearest_minutes(
        g,
        sites_xy,
        origins_xy,
        max_minutes=max_minutes,
        settings=settings,
        return_estimated=True,
    )
    return minutes, est


def nearest_by_type(
    source: GraphSource,
    origins_xy: Any,
    sites_xy: Any,
    site_type: Any,
    *,
    client: Any | None = None,
    chunk_size: int | None = None,
    max_minutes: float | None = None,
    settings: SnapSettings | None = None,
) -> NearestByType:
    """Minutes from many origins (e.g. LSOA centroids) to the nearest site of each type.

    Each task is one multi-source search from (a chunk of) the sites of one type to all origins;
    chunks of the same type are combined by taking the minimum, which is exact.

    Parameters
    ----------
    source : GraphSource
        The road graph, loaded once per process.
    origins_xy : array-like, shape (n, 2)
        Origins, easting/northing (m, EPSG:27700).
    sites_xy : array-like, shape (k, 2)
        Sites, easting/northing (m).
    site_type : array-like of str, shape (k,)
        Type of each site.
    client : dask.distributed.Client or None
        Run the tasks on Dask; None runs them one by one in this process.
    chunk_size : int, optional
        Sites per task; None (default) one task per type (least total work).
    max_minutes : float, optional
        Cutoff (min).
    settings : SnapSettings, optional

    Returns
    -------
    NearestByType
    """
    _check_chunk(chunk_size)
    settings = settings or SnapSettings()
    ox, oy = _as_xy(origins_xy)
    sx, sy = _as_xy(sites_xy)
    kinds = np.asarray(site_type, dtype=object).astype(str)
    if kinds.shape[0] != sx.shape[0]:
        raise ConfigError(
            f"got {sx.shape[0]} sites but {kinds.shape[0]} site types.",
            fix="Give one type per site.",
        )
    origins = np.column_stack([ox, oy])
    if client is not None:
        origins_arg = client.scatter(origins, broadcast=True)
    else:
        origins_arg = origins
    types = tuple(sorted(set(kinds.tolist())))
    calls = []
    col = []
    for j, t in enumerate(types):
        idx = np.flatnonzero(kinds == t)
        step = chunk_size or idx.shape[0]
        for s in range(0, idx.shape[0], step):
            part = idx[s : s + step]
            calls.append(
                (source, np.column_stack([sx[part], sy[part]]), origins_arg, max_minutes, settings)
            )
            col.append(j)
    n = origins.shape[0]
    minutes = np.full((n, len(types)), np.nan)
    est = np.zeros((n, len(types)), dtype=bool)
    for j, (mi, ei) in zip(col, _run(_nearest_task, calls, client), strict=True):
        cur = minutes[:, j]
        # as in one search over all sites: a routed value wins a tie with an estimate
        better = np.isnan(cur) & ~np.isnan(mi) | (mi < cur)
        tie_routed = (mi == cur) & ~ei
        cur[better] = mi[better]
        est[better, j] = ei[better]
        est[tie_routed, j] = False
    return NearestByType(types, minutes, est)
