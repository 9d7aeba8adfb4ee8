"""Demand for siting: who could be re-homed where, and the checks on candidate and demand arrays."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.config.siting import EligibilityRules, SitingSettings
from geosuff.reference import site_types
from geosuff.siting._constants import CROW_FLY_SPEED_KPH

logger = logging.getLogger(__name__)


def straight_line_minutes(
    origins_xy: Any, destinations_xy: Any, *, speed_kph: float = CROW_FLY_SPEED_KPH
) -> np.ndarray:
    """Crow-fly travel time in minutes between BNG points at ``speed_kph``.

    Parameters
    ----------
    origins_xy, destinations_xy : array_like, shape (n, 2) / (m, 2)
        Easting, northing in metres (EPSG:27700).
    speed_kph : float
        Assumed speed in km/h.

    Returns
    -------
    ndarray, shape (n, m)
        Minutes.
    """
    from scipy.spatial.distance import cdist

    o = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(destinations_xy, dtype=np.float64).reshape(-1, 2)
    result: np.ndarray = cdist(o, d) / 1000.0 / speed_kph * 60.0
    return result


# ---------------------------------------------------------------------------------------------
# Candidates, demand and eligibility
# ---------------------------------------------------------------------------------------------

_CANDIDATE_COLUMNS = ("candidate_id", "easting", "northing", "bedrooms", "uses")


def _norm_token(text: str) -> str:
    return str(text).strip().lower().replace("-", "_").replace(" ", "_")


def _parse_uses(value: Any) -> tuple[str, ...]:
    """Uses listed for one candidate: a list, or text separated by ';' or ','. Empty = none given."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.replace(",", ";").split(";")
    elif isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        items = value
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        tok = _norm_token(item)
        if tok and tok not in out:
            out.append(tok)
    return tuple(out)


def _site_type_groups() -> dict[str, set[str]]:
    """``site_types.csv``: site type -> placement groups it serves."""
    return {t.type: set(t.serves) for t in site_types().values()}


@dataclass(frozen=True, eq=False)
class _Demand:
    weight: np.ndarray
    far: np.ndarray
    need: np.ndarray  # object, None = unknown
    age: np.ndarray  # float, nan = unknown
    #: object, per child the set of its needs.csv codes (None = not recorded): "need_codes"
    codes: np.ndarray | None = None

    def compatible(self, rules: EligibilityRules) -> np.ndarray:
        ok = np.ones(self.weight.size, dtype=bool)
        if rules.serves_needs:
            known = np.array([n is not None for n in self.need], dtype=bool)
            ok &= ~known | np.isin(self.need.astype(str), list(rules.serves_needs))
        if rules.serves_need_codes and self.codes is not None:
            # a use equipped for some needs (short breaks: disabled children) serves children
            # with one of them; children whose needs are not recorded are not ruled out
            want = set(rules.serves_need_codes)
            ok &= np.array([c is None or bool(c & want) for c in self.codes], dtype=bool)
        with np.errstate(invalid="ignore"):
            ok &= np.isnan(self.age) | ((self.age >= rules.min_age) & (self.age < rules.max_age))
        return ok


def _bool_column(df: pd.DataFrame, name: str) -> np.ndarray:
    """A yes/no column as float (1, 0, nan = not known)."""
    col = df[name]
    if col.dtype == bool:
        result: np.ndarray = col.to_numpy(dtype=np.float64)
        return result
    mapping = {
        "true": 1.0,
        "yes": 1.0,
        "y": 1.0,
        "1": 1.0,
        "false": 0.0,
        "no": 0.0,
        "n": 0.0,
        "0": 0.0,
    }
    out = np.full(len(df), np.nan)
    for i, v in enumerate(col.tolist()):
        if isinstance(v, (bool, np.bool_)):
            out[i] = float(v)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v):
            out[i] = 1.0 if v else 0.0
        elif isinstance(v, str) and v.strip().lower() in mapping:
            out[i] = mapping[v.strip().lower()]
    return out


def _demand_arrays(
    demand: pd.DataFrame, settings: SitingSettings, *, what: str = "demand"
) -> _Demand:
    """Weights, placed-far flags, needs and ages of a demand table.

    Columns used (all optional): ``weight`` (default 1), ``over_20_miles`` and ``outside_la``
    (yes/no; combined by ``settings.far_rule``; without either column every row counts as far),
    ``need`` (placement group), ``age`` (years), ``need_codes`` (``;``-joined ``needs.csv``
    codes, "" none, NA not recorded: for uses with ``serves_need_codes``).
    """
    n = len(demand)
    if "weight" in demand:
        weight = pd.to_numeric(demand["weight"], errors="coerce").to_numpy(dtype=np.float64)
        if np.any(~np.isfinite(weight)) or np.any(weight < 0):
            raise InputFileError(
                f"The {what} table has missing or negative weights.",
                fix="Give every row a weight >= 0 (number of children).",
            )
    else:
        weight = np.ones(n)
    over = _bool_column(demand, "over_20_miles") if "over_20_miles" in demand else None
    outside = _bool_column(demand, "outside_la") if "outside_la" in demand else None
    if over is None and outside is None:
        far = np.ones(n, dtype=bool)
    else:
        over_b = np.nan_to_num(over, nan=0.0) > 0 if over is not None else np.zeros(n, bool)
        out_b = np.nan_to_num(outside, nan=0.0) > 0 if outside is not None else np.zeros(n, bool)
        far = {"either": over_b | out_b, "over_20_miles": over_b, "outside_la": out_b}[
            settings.far_rule
        ]
    if "need" in demand:
        need = np.array(
            [
                None if pd.isna(v) or str(v).strip() == "" else _norm_token(v)
                for v in demand["need"]
            ],
            dtype=object,
        )
    else:
        need = np.full(n, None, dtype=object)
    age = (
        pd.to_numeric(demand["age"], errors="coerce").to_numpy(dtype=np.float64)
        if "age" in demand
        else np.full(n, np.nan)
    )
    codes = None
    if "need_codes" in demand:
        codes = np.array(
            [
                None if pd.isna(v) else frozenset(t for t in str(v).split(";") if t)
                for v in demand["need_codes"]
            ],
            dtype=object,
        )
    return _Demand(weight, far, need, age, codes)


def _check_matrix(m: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    arr = np.asarray(m, dtype=np.float64)
    if arr.shape != shape:
        raise InputFileError(
            f"{name} has shape {arr.shape}, expected {shape}.",
            fix="Compute it for the same rows and columns, in the same order, as the tables given.",
        )
    return arr


def _check_candidates(candidates: pd.DataFrame) -> None:
    missing = [c for c in _CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise InputFileError(
            "The candidates table lacks column(s): " + ", ".join(missing) + ".",
            fix="Give candidate_id, easting, northing (EPSG:27700), bedrooms and uses.",
        )
    ids = candidates["candidate_id"]
    if ids.isna().any() or ids.duplicated().any():
        dup = ids[ids.duplicated()].astype(str).unique()[:5]
        raise InputFileError(
            "candidate_id must be filled in and unique"
            + (f" (repeated: {', '.join(dup)})" if len(dup) else "")
            + ".",
            fix="Give each candidate building its own id.",
        )


def _exclusion_hits(xy: np.ndarray, zones: Any, settings: SitingSettings) -> list[list[str]]:
    """For each point, the reasons (zone names) it falls within an exclusion zone plus buffer."""
    import shapely

    hits: list[list[str]] = [[] for _ in range(xy.shape[0])]
    if zones is None or len(zones) == 0:
        return hits
    import geopandas as gpd

    gdf = (
        zones
        if isinstance(zones, gpd.GeoDataFrame)
        else gpd.GeoDataFrame(geometry=gpd.GeoSeries(zones))
    )
    if gdf.crs is not None and not gdf.crs.equals("EPSG:27700"):
        gdf = gdf.to_crs("EPSG:27700")
    pts = shapely.points(xy[:, 0], xy[:, 1])
    valid = np.isfinite(xy).all(axis=1)
    names = (
        gdf["name"].astype(str).tolist()
        if "name" in gdf
        else [f"zone {i + 1}" for i in range(len(gdf))]
    )
    buffers = (
        pd.to_numeric(gdf["buffer_m"], errors="coerce").fillna(0.0).to_numpy()
        if "buffer_m" in gdf
        else np.zeros(len(gdf))
    )
    for geom, name, buf in zip(gdf.geometry.to_numpy(), names, buffers, strict=True):
        if geom is None or geom.is_empty:
            continue
        dist = float(buf) + settings.exclusion_buffer_m
        inside = shapely.dwithin(geom, pts, dist) & valid
        for i in np.flatnonzero(inside):
            hits[i].append(f"in exclusion zone '{name}'" + (f" (+{dist:g} m)" if dist > 0 else ""))
    return hits


def _options(  # noqa: C901
    candidates: pd.DataFrame, settings: SitingSettings, exclusion_zones: Any
) -> pd.DataFrame:
    """One row per (candidate, use considered): places, eligibility and reasons.

    Columns: ``cand`` (row position), ``use``, ``places``, ``eligible``, ``reason`` (of this
    option), ``cand_reason`` (hard constraints on the building, shared by its uses).
    """
    _check_candidates(candidates)
    xy = (
        candidates[["easting", "northing"]]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(np.float64)
    )
    bedrooms = pd.to_numeric(candidates["bedrooms"], errors="coerce").to_numpy(np.float64)
    cand_reasons: list[list[str]] = _exclusion_hits(xy, exclusion_zones, settings)
    for i_bad in np.flatnonzero(~np.isfinite(xy).all(axis=1)):
        cand_reasons[i_bad].insert(0, "no grid reference (easting/northing)")
    if "condition" in candidates and settings.excluded_conditions:
        bad = {_norm_token(c) for c in settings.excluded_conditions}
        for i, v in enumerate(candidates["condition"].tolist()):
            if not pd.isna(v) and _norm_token(v) in bad:
                cand_reasons[i].append(f"condition '{v}' is excluded")
    if "cost" in candidates and math.isfinite(settings.max_cost):
        cost = pd.to_numeric(candidates["cost"], errors="coerce").to_numpy(np.float64)
        for i in map(int, np.flatnonzero(cost > settings.max_cost)):
            cand_reasons[i].append(f"cost {cost[i]:,.0f} above max_cost {settings.max_cost:,.0f}")
    if "tenure" in candidates and settings.allowed_tenures:
        ok = {_norm_token(t) for t in settings.allowed_tenures}
        for i, v in enumerate(candidates["tenure"].tolist()):
            if not pd.isna(v) and _norm_token(v) not in ok:
                cand_reasons[i].append(
                    f"tenure '{v}' not allowed (allowed: {', '.join(settings.allowed_tenures)})"
                )
    if "available_from" in candidates and settings.available_by:
        avail = pd.to_datetime(candidates["available_from"], errors="coerce")
        limit = pd.Timestamp(settings.available_by)
        for i in map(int, np.flatnonzero((avail > limit).to_numpy())):
            cand_reasons[i].append(
                f"available from {avail.iloc[i].date().isoformat()}, after {settings.available_by}"
            )
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(candidates["uses"].tolist()):
        listed = _parse_uses(raw)
        unknown = [u for u in listed if u not in settings.rules]
        if unknown:
            raise InputFileError(
                f"Candidate {candidates['candidate_id'].iloc[i]!r} lists unknown use(s): "
                + ", ".join(unknown)
                + ".",
                fix="Use " + ", ".join(sorted(settings.rules)) + " or add [siting.rules.<use>].",
            )
        uses = [u for u in (listed or settings.uses) if u in settings.uses]
        if not uses:
            rows.append(
                dict(
                    cand=i,
                    use="",
                    places=0,
                    eligible=False,
                    reason="none of its uses is considered ([siting] uses)",
                )
            )
            continue
        for use in uses:
            rules = settings.rules[use]
            b = bedrooms[i]
            if not np.isfinite(b):
                reason, places = "bedrooms not known", 0
            elif not rules.min_bedrooms <= b <= rules.max_bedrooms:
                reason = (
                    f"{use} needs {rules.min_bedrooms}-{rules.max_bedrooms} bedrooms (has {b:g})"
                )
                places = rules.places(int(b))
            else:
                places = rules.places(int(b))
                reason = "" if places > 0 else f"{use} gives no places with {b:g} bedrooms"
            rows.append(dict(cand=i, use=use, places=places, eligible=not reason, reason=reason))
    opts = pd.DataFrame(rows, columns=["cand", "use", "places", "eligible", "reason"])
    opts["cand_reason"] = ["; ".join(cand_reasons[c]) for c in opts["cand"]]
    opts["eligible"] = opts["eligible"] & (opts["cand_reason"] == "")
    return opts.reset_index(drop=True)


def _existing_compat(
    existing: pd.DataFrame | None, dem: _Demand, settings: SitingSettings
) -> np.ndarray:
    """(n_demand, n_existing): whether each existing site can serve each demand row."""
    if existing is None or len(existing) == 0:
        return np.zeros((dem.weight.size, 0), dtype=bool)
    if "site_type" not in existing:
        return np.ones((dem.weight.size, len(existing)), dtype=bool)
    groups = _site_type_groups()
    by_type = {r.site_type: u for u, r in settings.rules.items() if r.site_type}
    cols: dict[str, np.ndarray] = {}
    out = np.ones((dem.weight.size, len(existing)), dtype=bool)
    for e, t in enumerate(existing["site_type"].tolist()):
        t = "" if pd.isna(t) else _norm_token(t)
        if t not in cols:
            if t in by_type:
                cols[t] = dem.compatible(settings.rules[by_type[t]])
            elif t in groups and groups[t]:
                cols[t] = dem.compatible(EligibilityRules(serves_needs=tuple(sorted(groups[t]))))
            else:
                cols[t] = np.ones(dem.weight.size, dtype=bool)
        out[:, e] = cols[t]
    return out


def _within(minutes: np.ndarray, limit: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        result: np.ndarray = np.isfinite(minutes) & (minutes <= limit)
        return result
