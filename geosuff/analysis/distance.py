"""Placement-distance measures: the DfE 20-mile measure, inside/outside the council, adjoining LAs.

Per placement (one row of the placements frame) this module computes

* the DfE straight-line distance in miles between the grid references of ``HOME_POST`` and
  ``PL_POST``, exactly as the DfE SSDA903 validator (``csc-validator-be-903``,
  ``lac_validator/datastore.py``) does::

      round(sqrt(dE² + dN²) / 1000 / 1.6093, 1)

  with numpy/pandas rounding (``Series.round(decimals=1)`` = ``numpy.round``: the float is scaled
  by 10 and rounded half to even, so a value stored as 20.05 becomes 20.0, not 20.1 as Python's
  ``round`` would give);
* the DfE category: "20 miles or less", "Over 20 miles" (rounded miles > 20) or
  "Not known or not recorded" (either postcode missing, malformed, unknown or terminated);
* the upper-tier LA of the placement and whether it is inside the responsible council. Like the
  validator, the placement LA is the upper-tier LA of the placement postcode's lower-tier LA
  (ONS LTLA→UTLA lookup, April 2023); codes starting W/S/N give the country ("WAL", "SCO",
  "NIR") and count as outside. Where only a point is known (placement given as coordinates, or
  an LA code the lookup does not know) the point is placed in the shipped upper-tier LA polygons
  (nearest polygon within :data:`POINT_SNAP_TOLERANCE_M` for coastal/edge points);
* whether a placement outside the council is in an *adjoining* LA (placements outside the LA and
  not in an adjoining LA need the approval of the Director of Children's Services). Adjacency comes
  from the upper-tier LA polygons: touching or within :data:`ADJACENCY_TOLERANCE_M` (the shipped
  polygons are generalised to 500 m, which opens slivers between real neighbours);
* the road travel time/distance passed in by the pipeline, and a flag where the road and the
  straight-line measures disagree about "far" (see :func:`placement_measures`).

Where this module goes beyond the validator (documented, deliberate):

* the validator leaves ``PL_LOCATION`` empty when the postcode has no LA; here a placement given
  only as a point is located with the LA polygons;
* the validator marks a known LA code that is not in its lookup as "OUT"; here such a code is
  located by its point when there is one, else left unknown with a reason;
* Channel Islands (``L…``) and Isle of Man (``M…``) codes get the countries "CI" / "IOM".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geosuff._errors import ConfigError, InputFileError
from geosuff.reference import (
    BNG,
    DFE_KM_PER_MILE,
    WGS84,
    describe_la_code,
    local_authorities,
    ltla_to_utla,
)

logger = logging.getLogger(__name__)

#: Kilometres per mile in the DfE guidance formula (not the exact 1.609344).
KM_PER_MILE_DFE = DFE_KM_PER_MILE
#: Metres per kilometre (the DfE formula divides by 1000, then by :data:`KM_PER_MILE_DFE`).
M_PER_KM = 1000.0
#: The DfE "placed more than 20 miles from home" line, in (rounded) miles.
DFE_FAR_MILES = 20.0
#: Default road travel time (minutes) treated as "far" when comparing with the 20-mile line.
#: 20 straight-line miles is about 25–28 road miles; at the 30–40 mph average of mixed
#: rural/urban driving that is 40–55 minutes, so 45 minutes is the road-time counterpart.
DEFAULT_FAR_MINUTES = 45.0
#: Points this far (metres) or less outside every LA polygon snap to the nearest one.
POINT_SNAP_TOLERANCE_M = 1_000.0
#: Two LA polygons closer than this (metres) are adjoining (the shipped polygons are
#: generalised to 500 m, so real neighbours can be separated by thin slivers).
ADJACENCY_TOLERANCE_M = 500.0

CATEGORY_NEAR = "20 miles or less"
CATEGORY_FAR = "Over 20 miles"
CATEGORY_UNKNOWN = "Not known or not recorded"

#: Country of a non-English LA code by its first letter (validator: S/N/W; plus L, M).
COUNTRY_BY_PREFIX = {"W": "WAL", "S": "SCO", "N": "NIR", "L": "CI", "M": "IOM"}
COUNTRY_NAMES = {
    "ENG": "England",
    "WAL": "Wales",
    "SCO": "Scotland",
    "NIR": "Northern Ireland",
    "CI": "Channel Islands",
    "IOM": "Isle of Man",
}

#: Columns :func:`placement_measures` adds (in this order).
MEASURE_COLUMNS = (
    "dfe_miles",
    "dfe_category",
    "far",
    "placement_la",
    "placement_la_name",
    "inside_la",
    "adjoining_la",
    "country",
    "la_source",
    "road_minutes",
    "road_km",
    "road_estimated",
    "measures_disagree",
    "reason",
)


# ----------------------------------------------------------------------------------------------
# The DfE formula
# ----------------------------------------------------------------------------------------------
def _as_float(values: Any) -> np.ndarray:
    """Any array-like (pandas NA, None, strings of numbers) as a float64 ndarray with NaN."""
    if isinstance(values, pd.Series | pd.Index):
        result: np.ndarray = pd.to_numeric(values, errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        return result
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind == "f":
        return arr.astype(float, copy=False)
    result = (
        pd.to_numeric(pd.Series(arr.ravel()), errors="coerce")
        .to_numpy(dtype=float, na_value=np.nan)
        .reshape(arr.shape)
    )
    return result


def dfe_miles(home_e: Any, home_n: Any, pl_e: Any, pl_n: Any) -> np.ndarray:
    """DfE straight-line distance (miles, 1 decimal) between home and placement grid references.

    Parameters
    ----------
    home_e, home_n, pl_e, pl_n : array-like of float
        Eastings/northings in metres (EPSG:27700) of the home and placement postcodes. Missing
        values (NaN, None, ``pd.NA``) give NaN.

    Returns
    -------
    ndarray of float64
        ``round(sqrt(dE² + dN²) / 1000 / 1.6093, 1)`` in miles, with the same operation order and
        rounding (``numpy.round``, half to even on the scaled float) as the DfE 903 validator, so
        the values agree bit for bit; NaN where any coordinate is missing.
    """
    he, hn, pe, pn = (_as_float(v) for v in (home_e, home_n, pl_e, pl_n))
    with np.errstate(invalid="ignore"):
        raw = np.sqrt((he - pe) ** 2 + (hn - pn) ** 2) / M_PER_KM / KM_PER_MILE_DFE
    result: np.ndarray = np.round(raw, 1)
    return result


def category_labels(far_miles: float = DFE_FAR_MILES) -> tuple[str, str, str]:
    """The (near, far, unknown) category labels for a miles line (DfE wording at 20 miles)."""
    if far_miles == DFE_FAR_MILES:
        return CATEGORY_NEAR, CATEGORY_FAR, CATEGORY_UNKNOWN
    return f"{far_miles:g} miles or less", f"Over {far_miles:g} miles", CATEGORY_UNKNOWN


def dfe_category(miles: Any, *, far_miles: float = DFE_FAR_MILES) -> np.ndarray:
    """DfE distance category of each (already rounded) distance.

    Parameters
    ----------
    miles : array-like of float
        Rounded DfE miles (from :func:`dfe_miles`); NaN where not known.
    far_miles : float, default 20.0
        The line in miles: ``miles > far_miles`` is "Over 20 miles"; exactly 20.0 is
        "20 miles or less". Other values relabel the categories ("10 miles or less", ...).

    Returns
    -------
    ndarray of str (object)
        "20 miles or less", "Over 20 miles" or "Not known or not recorded".
    """
    m = _as_float(miles)
    near, far, unknown = category_labels(far_miles)
    out = np.full(m.shape, unknown, dtype=object)
    known = np.isfinite(m)
    out[known & (m > far_miles)] = far
    out[known & ~(m > far_miles)] = near
    return out


# ----------------------------------------------------------------------------------------------
# Lookups and boundaries
# ----------------------------------------------------------------------------------------------
def _data_path(name: str) -> Path:
    return Path(str(resources.files("geosuff") / "data" / name))


@cache
def _ltla_lookup() -> tuple[dict[str, str], dict[str, str]]:
    """(LTLA23CD → UTLA23CD, UTLA23CD → UTLA23NM) from the shipped April 2023 lookup."""
    names = {la.utla_code: la.utla_name for la in local_authorities().values()}
    return ltla_to_utla(), names


def utla_of_ltla(code: str) -> str | None:
    """Upper-tier LA code of a lower-tier LA code (April 2023 lookup), or None if not listed."""
    to_utla, names = _ltla_lookup()
    code = code.strip().upper()
    if code in to_utla:
        return to_utla[code]
    return code if code in names else None


def default_boundaries_path() -> Path:
    """The shipped England upper-tier LA boundaries (``geosuff.inputs.DEFAULT_BOUNDARIES``)."""
    from geosuff.inputs import DEFAULT_BOUNDARIES

    return Path(DEFAULT_BOUNDARIES)


@dataclass(eq=False)
class PreparedBoundaries:
    """Upper-tier LA polygons in EPSG:27700 with a spatial index and a cached adjacency.

    Attributes
    ----------
    codes, names : ndarray of str
        LA code and name of each polygon.
    geoms : ndarray of shapely geometries
        Polygons in EPSG:27700 (metres).
    tree : shapely.STRtree
        Index on ``geoms``.
    """

    codes: np.ndarray
    names: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    _adjacency: dict[str, frozenset[str]] | None = field(default=None, repr=False)

    @property
    def name_of(self) -> dict[str, str]:
        return dict(zip(self.codes.tolist(), self.names.tolist(), strict=True))

    def adjacency(self) -> dict[str, frozenset[str]]:
        """Neighbours of every LA: polygons touching or within :data:`ADJACENCY_TOLERANCE_M`."""
        if self._adjacency is None:
            left, right = self.tree.query(
                self.geoms, predicate="dwithin", distance=ADJACENCY_TOLERANCE_M
            )
            keep = left != right
            nbrs: dict[str, set[str]] = {str(c): set() for c in self.codes}
            for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
                nbrs[str(self.codes[i])].add(str(self.codes[j]))
            self._adjacency = {k: frozenset(v) for k, v in nbrs.items()}
        return self._adjacency

    def locate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """LA code of each point and the distance (m) to it (0 inside; NaN where not found).

        Points inside no polygon take the nearest polygon within :data:`POINT_SNAP_TOLERANCE_M`.
        """
        n = x.shape[0]
        code = np.full(n, None, dtype=object)
        dist = np.full(n, np.nan)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return code, dist
        idx = np.flatnonzero(ok)
        pts = shapely.points(x[idx], y[idx])
        p_in, poly = self.tree.query(pts, predicate="intersects")
        # a point on a shared edge hits two polygons: keep the first (lowest index), deterministic
        order = np.lexsort((poly, p_in))
        p_in, poly = p_in[order], poly[order]
        first = np.r_[True, p_in[1:] != p_in[:-1]] if p_in.size else np.zeros(0, bool)
        code[idx[p_in[first]]] = self.codes[poly[first]]
        dist[idx[p_in[first]]] = 0.0
        miss = np.flatnonzero(pd.isna(code[idx]))
        if miss.size:
            (m_in, m_poly), m_dist = self.tree.query_nearest(
                pts[miss],
                max_distance=POINT_SNAP_TOLERANCE_M,
                return_distance=True,
                all_matches=False,
            )
            code[idx[miss[m_in]]] = self.codes[m_poly]
            dist[idx[miss[m_in]]] = m_dist
        return code, dist


_PREPARED: dict[str, PreparedBoundaries] = {}


def _fingerprint(gdf: gpd.GeoDataFrame, code_col: str) -> str:
    h = hashlib.sha1()
    h.update(str(gdf.crs).encode())
    h.update("\x1f".join(gdf[code_col].astype(str)).encode())
    for wkb in shapely.to_wkb(np.asarray(gdf.geometry.values)):
        h.update(wkb)
    return h.hexdigest()


def _code_name_columns(gdf: pd.DataFrame) -> tuple[str, str]:
    import re

    code = next(
        (c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dCD", str(c), re.I)), None
    )
    name = next(
        (c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dNM", str(c), re.I)), None
    )
    if code is None and "code" in gdf.columns:
        code, name = "code", ("name" if "name" in gdf.columns else None)
    if code is None:
        raise InputFileError(
            "The boundaries have no LA code column (e.g. UTLA23CD).",
            fix="Use ONS upper-tier LA boundaries with UTLAyyCD/UTLAyyNM columns, or 'code'/'name'.",
        )
    return code, name or code


def prepare_boundaries(boundaries: Any = None) -> PreparedBoundaries:
    """Upper-tier LA polygons ready for point lookups and adjacency (cached).

    Parameters
    ----------
    boundaries : None, path, GeoDataFrame or object with a ``gdf`` attribute
        ``None`` uses the shipped England upper-tier LA boundaries (2023, generalised 500 m).
        A GeoDataFrame needs an LA code column (``UTLA23CD``-style or ``code``) and a CRS.

    Returns
    -------
    PreparedBoundaries
        Cached by file path, or by a fingerprint of the codes and geometries.
    """
    if boundaries is None or isinstance(boundaries, str | Path):
        path = Path(boundaries) if boundaries is not None else default_boundaries_path()
        key = f"path:{path.resolve()}"
        if key in _PREPARED:
            return _PREPARED[key]
        if not path.exists():
            raise InputFileError(
                f"The boundaries file {path} does not exist.",
                fix="Remove the 'boundaries' setting to use the shipped England boundaries.",
            )
        gdf = gpd.read_file(path)
    else:
        gdf = getattr(boundaries, "gdf", boundaries)
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise TypeError(
                "boundaries must be None, a path, a GeoDataFrame or an object with .gdf"
            )
        key = ""
    code_col, name_col = _code_name_columns(gdf)
    if not key:
        key = "gdf:" + _fingerprint(gdf, code_col)
        if key in _PREPARED:
            return _PREPARED[key]
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    g = gdf.to_crs(BNG)
    geoms = shapely.make_valid(np.asarray(g.geometry.values))
    prepared = PreparedBoundaries(
        codes=g[code_col].astype(str).str.strip().str.upper().to_numpy(dtype=object),
        names=g[name_col].astype(str).str.strip().to_numpy(dtype=object),
        geoms=geoms,
        tree=shapely.STRtree(geoms),
    )
    _PREPARED[key] = prepared
    logger.debug("prepared %d LA boundaries (%s)", len(geoms), key[:60])
    return prepared


def adjacent_las(code: str, boundaries: Any = None) -> set[str]:
    """Upper-tier LAs adjoining ``code``: polygons touching or within 500 m (generalisation).

    Parameters
    ----------
    code : str
        Upper-tier LA code (e.g. ``"E06000017"``).
    boundaries : None, path, GeoDataFrame or Boundaries-like, optional
        LA polygons; ``None`` uses the shipped England boundaries. The adjacency of all LAs is
        computed once per boundary set and cached.

    Returns
    -------
    set of str
        Codes of the adjoining LAs (not including ``code``).
    """
    prepared = prepare_boundaries(boundaries)
    adj = prepared.adjacency()
    code = code.strip().upper()
    if code not in adj:
        raise ConfigError(
            f"The council code {code} is not in the LA boundaries.",
            fix="Use the GSS code of an English upper-tier LA, e.g. E06000017 for Rutland.",
        )
    return set(adj[code])


def resolve_council(council: str, boundaries: Any = None) -> tuple[str, str]:
    """The council's upper-tier LA code and name from a code (UTLA or unitary LTLA) or a name.

    Raises
    ------
    ConfigError
        If the council is unknown, or is a district (which does not run children's services).
    """
    prepared = prepare_boundaries(boundaries)
    names = prepared.name_of
    text = str(council).strip()
    up = text.upper()
    if up in names:
        return up, names[up]
    to_utla, utla_names = _ltla_lookup()
    if up in to_utla:
        utla = to_utla[up]
        raise ConfigError(
            f"{describe_la_code(up) or up}; children's services are run by "
            f"{utla_names.get(utla, utla)} ({utla}).",
            fix=f'Set council = "{utla}".',
        )
    by_name = {v.casefold(): k for k, v in names.items()}
    if text.casefold() in by_name:
        code = by_name[text.casefold()]
        return code, names[code]
    raise ConfigError(
        f"The council '{text}' is not an English upper-tier LA in the boundaries.",
        fix='Set council to its GSS code (UTLA23CD), e.g. "E06000017" for Rutland.',
    )


# ----------------------------------------------------------------------------------------------
# Placement LA
# ----------------------------------------------------------------------------------------------
@dataclass
class PlacementLocation:
    """Where each placement is (arrays of length n).

    Attributes
    ----------
    la : ndarray of object
        Upper-tier LA code, "WAL"/"SCO"/"NIR"/"CI"/"IOM" outside England, or None if not known.
    la_name : ndarray of object
        Name of ``la`` (country name outside England), or None.
    country : ndarray of object
        "ENG", one of the country codes above, or None when not known.
    source : ndarray of str
        How ``la`` was found: "postcode LA", "country of postcode LA", "point in LA polygon",
        "nearest LA polygon (N m)"; "" when not found.
    problem : ndarray of str
        Why ``la`` or ``country`` is not known, or a caveat ("" when none).
    """

    la: np.ndarray
    la_name: np.ndarray
    country: np.ndarray
    source: np.ndarray
    problem: np.ndarray


def _clean_codes(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, None, dtype=object)
    s = (
        pd.Series(values, dtype="string")
        if not isinstance(values, pd.Series)
        else values.astype("string")
    )
    s = s.str.strip().str.upper()
    s = s.mask(s == "")
    result: np.ndarray = s.to_numpy(dtype=object, na_value=None)
    return result


def locate_placements(
    pl_ltla: Any, pl_e: Any, pl_n: Any, *, boundaries: Any = None
) -> PlacementLocation:
    """Upper-tier LA and country of each placement, validator-style.

    The postcode's LA code decides when it is known (as in the DfE validator): W/S/N (and L/M)
    codes give the country; English LTLA codes map to their UTLA. Placements with no code, or a
    code the April 2023 lookup does not know, are located by their point in the LA polygons
    (nearest polygon within :data:`POINT_SNAP_TOLERANCE_M`).

    Parameters
    ----------
    pl_ltla : array-like of str or None
        Lower-tier LA code of the placement postcode (any country); missing where unknown.
    pl_e, pl_n : array-like of float
        Placement easting/northing in metres (EPSG:27700); NaN where unknown.
    boundaries : optional
        LA polygons for placements known only as a point (see :func:`prepare_boundaries`).

    Returns
    -------
    PlacementLocation
    """
    x, y = _as_float(pl_e), _as_float(pl_n)
    n = x.shape[0]
    codes = _clean_codes(pl_ltla, n)
    to_utla, utla_names = _ltla_lookup()
    la = np.full(n, None, dtype=object)
    country = np.full(n, None, dtype=object)
    source = np.full(n, "", dtype=object)
    problem = np.full(n, "", dtype=object)
    unknown_code = np.full(n, None, dtype=object)
    need_point = np.zeros(n, dtype=bool)
    for i, c in enumerate(codes):
        if c is None:
            need_point[i] = True
        elif c[:1] in COUNTRY_BY_PREFIX:
            la[i] = country[i] = COUNTRY_BY_PREFIX[c[:1]]
            source[i] = "country of postcode LA"
        elif c in to_utla or c in utla_names:
            la[i] = to_utla.get(c, c)
            country[i] = "ENG"
            source[i] = "postcode LA"
        else:
            need_point[i] = True
            unknown_code[i] = c

    has_point = np.isfinite(x) & np.isfinite(y)
    prepared: PreparedBoundaries | None = None
    idx = np.flatnonzero(need_point & has_point)
    if idx.size:
        prepared = prepare_boundaries(boundaries)
        found, dist = prepared.locate(x[idx], y[idx])
        for k, i in enumerate(idx.tolist()):
            if found[k] is not None:
                la[i] = found[k]
                country[i] = "ENG"
                source[i] = (
                    "point in LA polygon"
                    if dist[k] == 0
                    else f"nearest LA polygon ({dist[k]:.0f} m)"
                )
                if unknown_code[i] is not None:
                    source[i] += f"; LA code {unknown_code[i]} not in the LTLA→UTLA lookup"
            else:
                problem[i] = (
                    f"placement point is outside England (more than {POINT_SNAP_TOLERANCE_M:.0f} m "
                    "from every English LA); country not known"
                )
    for i in np.flatnonzero(need_point & ~has_point).tolist():
        problem[i] = (
            f"placement LA code {unknown_code[i]} is not in the LTLA→UTLA lookup and there is no point"
            if unknown_code[i] is not None
            else "placement LA not known"
        )

    names = dict(utla_names)
    if prepared is not None:
        names.update(prepared.name_of)
    la_name = np.array(
        [None if v is None else names.get(v, COUNTRY_NAMES.get(v, v)) for v in la], dtype=object
    )
    return PlacementLocation(
        la=la, la_name=la_name, country=country, source=source, problem=problem
    )


# ----------------------------------------------------------------------------------------------
# Per-placement measures
# ----------------------------------------------------------------------------------------------
_REQUIRED = ("home_e", "home_n", "pl_e", "pl_n")


def _optional_float(values: Any, n: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} values for {n} placements")
    return _as_float(values)


def _optional_bool(values: Any, n: int, name: str) -> pd.arrays.BooleanArray:
    if values is None:
        return pd.array([pd.NA] * n, dtype="boolean")
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} values for {n} placements")
    return pd.array([None if pd.isna(v) else bool(v) for v in values], dtype="boolean")


def _text(values: Any, n: int) -> list[str]:
    if values is None:
        return [""] * n
    return [
        "" if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))) else str(v)
        for v in values
    ]


def far_flags(miles: Any, *, far_miles: float = DFE_FAR_MILES) -> pd.arrays.BooleanArray:
    """Whether each (already rounded) distance is over the miles line: NA where not known.

    Parameters
    ----------
    miles : array-like of float
        Rounded DfE miles (from :func:`dfe_miles`); NaN where not known.
    far_miles : float, default 20.0
        The line in miles (``miles > far_miles`` is far; exactly on the line is not).

    Returns
    -------
    pandas BooleanArray
        True over the line, False on or within it, NA where the distance is not known.
    """
    m = _as_float(miles)
    known = np.isfinite(m)
    out = pd.array([pd.NA] * m.size, dtype="boolean")
    out[known] = m[known] > far_miles
    return out


def far_mask(measures: pd.DataFrame) -> np.ndarray:
    """The ``far`` column of a measures frame as a plain bool array (unknown distance: False).

    Stages pass this boolean rather than comparing category labels, so a scenario's
    ``far_miles`` (which also relabels ``dfe_category``) is honoured everywhere.
    """
    if "far" not in measures.columns:
        raise InputFileError(
            "The placement measures lack the boolean column 'far'.",
            fix="Compute them with geosuff.analysis.distance.placement_measures.",
        )
    result: np.ndarray = measures["far"].astype("boolean").fillna(False).to_numpy(bool)
    return result


def placement_measures(
    placements: pd.DataFrame,
    *,
    council: str,
    far_miles: float = DFE_FAR_MILES,
    boundaries: Any = None,
    road_minutes: Sequence[float] | np.ndarray | None = None,
    road_km: Sequence[float] | np.ndarray | None = None,
    road_estimated: Sequence[Any] | np.ndarray | None = None,
    far_minutes: float = DEFAULT_FAR_MINUTES,
) -> pd.DataFrame:
    """Distance and location measures of every placement (one output row per input row).

    Parameters
    ----------
    placements : DataFrame
        The loader's placements frame: ``home_e``, ``home_n``, ``pl_e``, ``pl_n`` (metres,
        EPSG:27700, NaN if unresolved) are required; ``pl_ltla``, ``home_reason``, ``pl_reason``
        are used when present. Not modified.
    council : str
        The responsible (upper-tier) LA: GSS code or name.
    far_miles : float, default 20.0
        Miles line of the category (DfE: 20).
    boundaries : optional
        Upper-tier LA polygons (see :func:`prepare_boundaries`); default: shipped England set.
    road_minutes, road_km : array-like of float, optional
        Road travel time (minutes) and distance (km) home → placement from the travel-time engine,
        in row order; NaN where not computed.
    road_estimated : array-like of bool, optional
        True where the engine estimated the road figures (e.g. a point far from any road).
    far_minutes : float, default :data:`DEFAULT_FAR_MINUTES`
        Road minutes treated as "far" for the disagreement flag.

    Returns
    -------
    DataFrame
        A new frame: the input columns plus :data:`MEASURE_COLUMNS`:

        ``dfe_miles`` (float, NaN unknown), ``dfe_category`` (str, display label),
        ``far`` (boolean: ``dfe_miles > far_miles``; NA when the distance is not known — use this
        rather than comparing ``dfe_category``), ``placement_la`` (UTLA code
        or WAL/SCO/NIR/CI/IOM), ``placement_la_name``, ``inside_la`` (boolean, NA unknown),
        ``adjoining_la`` (boolean: placed outside the council in an LA adjoining it; False when
        inside or further away; NA when unknown or outside England), ``country`` (ENG/WAL/...; NA when not known),
        ``la_source`` (how the placement LA was found, see :class:`PlacementLocation`),
        ``road_minutes``, ``road_km`` (float), ``road_estimated`` (boolean),
        ``measures_disagree`` (boolean: ``(dfe_miles > far_miles) != (road_minutes > far_minutes)``
        where both are known, NA otherwise — e.g. ≤20 miles across an estuary but over 45 min by
        road, or over 20 miles along a motorway but under 45 min), ``reason`` ("" when everything
        is known; else why the distance, the LA or the country is not known, e.g.
        "home postcode: terminated postcode").
    """
    missing = [c for c in _REQUIRED if c not in placements.columns]
    if missing:
        raise InputFileError(
            f"The placements table lacks the column(s) {', '.join(missing)}.",
            fix="Load placements with geosuff.inputs.load_placements.",
        )
    n = len(placements)
    code, _name = resolve_council(council, boundaries)
    out = placements.copy()

    miles = dfe_miles(
        placements["home_e"], placements["home_n"], placements["pl_e"], placements["pl_n"]
    )
    category = dfe_category(miles, far_miles=far_miles)
    loc = locate_placements(
        placements["pl_ltla"] if "pl_ltla" in placements.columns else None,
        placements["pl_e"],
        placements["pl_n"],
        boundaries=boundaries,
    )
    known_la = np.array([v is not None for v in loc.la], dtype=bool)
    outside_england_point = np.array(["outside England" in s for s in loc.problem], dtype=bool)
    inside = pd.array([pd.NA] * n, dtype="boolean")
    inside[known_la] = loc.la[known_la] == code
    inside[outside_england_point & ~known_la] = False

    neighbours = adjacent_las(code, boundaries)
    adjoining = pd.array([pd.NA] * n, dtype="boolean")
    eng = np.array([c == "ENG" for c in loc.country], dtype=bool)
    adjoining[eng] = np.array([la in neighbours for la in loc.la[eng]], dtype=bool)

    r_min = _optional_float(road_minutes, n, "road_minutes")
    r_km = _optional_float(road_km, n, "road_km")
    r_est = _optional_bool(road_estimated, n, "road_estimated")
    disagree = pd.array([pd.NA] * n, dtype="boolean")
    both = np.isfinite(miles) & np.isfinite(r_min)
    disagree[both] = (miles[both] > far_miles) != (r_min[both] > far_minutes)

    home_reason = _text(
        placements["home_reason"] if "home_reason" in placements.columns else None, n
    )
    pl_reason = _text(placements["pl_reason"] if "pl_reason" in placements.columns else None, n)
    he = _as_float(placements["home_e"])
    hn = _as_float(placements["home_n"])
    pe = _as_float(placements["pl_e"])
    pn = _as_float(placements["pl_n"])
    # the loader's reason (e.g. why a row is excluded) comes first, then the distance's
    given = _text(placements["reason"] if "reason" in placements.columns else None, n)
    reasons: list[str] = []
    for i in range(n):
        parts: list[str] = [given[i]] if given[i] else []
        if not np.isfinite(miles[i]):
            if not (np.isfinite(he[i]) and np.isfinite(hn[i])):
                parts.append(f"home postcode: {home_reason[i] or 'no grid reference'}")
            if not (np.isfinite(pe[i]) and np.isfinite(pn[i])):
                parts.append(f"placement postcode: {pl_reason[i] or 'no grid reference'}")
        pl_known = np.isfinite(pe[i]) and np.isfinite(pn[i])
        if loc.problem[i] and (pl_known or loc.problem[i] != "placement LA not known"):
            # (an unknown placement postcode is already given as the reason above)
            parts.append(str(loc.problem[i]))
        reasons.append("; ".join(dict.fromkeys(q for p in parts for q in p.split("; ") if q)))

    out["dfe_miles"] = miles
    out["dfe_category"] = pd.array(category, dtype="string")
    out["far"] = far_flags(miles, far_miles=far_miles)
    out["placement_la"] = pd.array(loc.la, dtype="string")
    out["placement_la_name"] = pd.array(loc.la_name, dtype="string")
    out["inside_la"] = inside
    out["adjoining_la"] = adjoining
    out["country"] = pd.array(loc.country, dtype="string")
    out["la_source"] = pd.array(loc.source, dtype="string")
    out["road_minutes"] = r_min
    out["road_km"] = r_km
    out["road_estimated"] = r_est
    out["measures_disagree"] = disagree
    out["reason"] = pd.array(reasons, dtype="string")
    logger.info(
        "placement measures for %s: %d placements, %d distance not known, %d over %g miles, "
        "%d inside the LA",
        code,
        n,
        int((~np.isfinite(miles)).sum()),
        int((miles > far_miles).sum()),
        far_miles,
        int(inside.sum()),
    )
    return out
