"""Breakdowns of the indicators beyond the DfE's: excluding UASC, the district (LTLA) and the
council's own sub-area of the child's home, and the child's needs (``DISABLED`` / ``NEED``).

The district is the lower-tier LA of the home postcode in the postcode lookup (ONSPD ``laua``),
the same lookup that gives the DfE inside/outside measure its placement LA; a home given by
coordinates has no district (it is "not known"). The DfE distance and inside/outside measures are
not touched: these are groupings of the same children.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geosuff.reference import local_authorities, ltla_to_utla, needs, site_types

logger = logging.getLogger(__name__)

#: Breakdowns this module adds to the indicator tables (``indicators_<name>``), in report order.
EXTRA_BREAKDOWNS: tuple[str, ...] = ("excluding_uasc", "district", "subarea", "need", "disabled")
#: ``district`` of a child whose home is in another council.
DISTRICT_OUTSIDE = "outside"


def council_districts(council: str) -> dict[str, str]:
    """The districts (LTLA code -> name) of an upper-tier council; empty for a unitary council
    (its only lower-tier LA is itself, so a district breakdown would repeat the overall row).
    """
    out = {la.code: la.name for la in local_authorities().values() if la.utla_code == council}
    if set(out) <= {council}:
        return {}
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def home_district(home_ltla: pd.Series, council: str) -> tuple[np.ndarray, np.ndarray]:
    """District code and name of each child's home.

    Parameters
    ----------
    home_ltla : Series of str
        Lower-tier LA of the home postcode (NA when not known, e.g. a home given by coordinates).
    council : str
        The responsible upper-tier council's GSS code.

    Returns
    -------
    (ndarray of object, ndarray of object)
        Code (an LTLA code of the council, :data:`DISTRICT_OUTSIDE`, or None when not known) and
        its name (None when not known).
    """
    districts = council_districts(council)
    to_utla = ltla_to_utla()
    codes = home_ltla.astype("string").str.strip().str.upper()
    code_out = np.full(len(codes), None, dtype=object)
    name_out = np.full(len(codes), None, dtype=object)
    for i, c in enumerate(codes.to_numpy(dtype=object, na_value=None)):
        if not c:
            continue
        if c in districts:
            code_out[i], name_out[i] = c, districts[c]
        elif to_utla.get(c, c) != council:
            code_out[i], name_out[i] = DISTRICT_OUTSIDE, "Home outside the council"
    return code_out, name_out


def home_subarea(home_e: np.ndarray, home_n: np.ndarray, subareas: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the sub-area each home point (EPSG:27700 metres) falls in; None outside them all
    or where the home is not located. A point on a shared edge goes to the first area listed.
    """
    e = np.asarray(home_e, dtype=float)
    n = np.asarray(home_n, dtype=float)
    out = np.full(e.shape, None, dtype=object)
    ok = np.isfinite(e) & np.isfinite(n)
    if not ok.any() or len(subareas) == 0:
        return out
    pts = shapely.points(e[ok], n[ok])
    tree = shapely.STRtree(subareas.geometry.to_numpy())
    p_idx, a_idx = tree.query(pts, predicate="intersects")
    names = np.array([*subareas["name"].astype(str), None], dtype=object)
    best = np.full(len(pts), len(names) - 1, dtype=np.int64)
    np.minimum.at(best, p_idx, a_idx)  # the first area listed wins
    out[ok] = names[best]
    return out


def add_home_breakdowns(
    measures: pd.DataFrame, *, council: str, subareas: gpd.GeoDataFrame | None = None
) -> pd.DataFrame:
    """A copy of ``measures`` with the breakdown columns of the child's home.

    Adds ``district`` / ``district_name`` (only for a council with districts, from
    ``home_ltla``) and ``subarea`` (only when ``subareas`` is given; None outside every
    sub-area). Nothing else changes.
    """
    out = measures.copy()
    if council_districts(council) and "home_ltla" in out.columns:
        code, name = home_district(out["home_ltla"], council)
        out["district"] = pd.array(code, dtype="string")
        out["district_name"] = pd.array(name, dtype="string")
    if subareas is not None:
        out["subarea"] = pd.array(
            home_subarea(
                out["home_e"].to_numpy(dtype=float), out["home_n"].to_numpy(dtype=float), subareas
            ),
            dtype="string",
        )
    return out


def available_breakdowns(measures: pd.DataFrame) -> list[str]:
    """Which of :data:`EXTRA_BREAKDOWNS` the measures can be broken down by."""
    out = ["excluding_uasc"] if "uasc" in measures.columns else []
    for by, col in (("district", "district"), ("subarea", "subarea")):
        if col in measures.columns:
            out.append(by)
    if "needs" in measures.columns and measures["needs"].notna().any():
        out.append("need")
    if "disabled" in measures.columns and measures["disabled"].notna().any():
        out.append("disabled")
    return out


# ----------------------------------------------------------------------------------------------
# Gap areas: which children's needs lack provision
# ----------------------------------------------------------------------------------------------
#: Columns :func:`gap_needs` adds to the gap areas (publishable: names of needs, no counts).
GAP_NEED_COLUMNS: tuple[str, ...] = ("children_needs", "needs_lacking")


def site_types_serving_need(code: str) -> list[str]:
    """Site types equipped for a need (``site_types.csv`` ``serves_need_codes``)."""
    return [t.type for t in site_types().values() if code in t.serves_need_codes]


def _need_sets(measures: pd.DataFrame) -> pd.Series:
    text = measures["needs"].astype("string")
    return pd.Series(
        [set() if pd.isna(t) or t == "" else set(str(t).split(";")) for t in text],
        index=measures.index,
        dtype=object,
    )


def gap_needs(
    gap: gpd.GeoDataFrame,
    measures: pd.DataFrame,
    area_minutes_to_type: pd.DataFrame | None,
    *,
    minutes: float,
    min_count: int,
) -> gpd.GeoDataFrame:
    """Name the children's needs of each gap area and those no suitable provision reaches.

    For each gap area, the needs (``needs.csv``) of its far-placed children
    (``gap.attrs["members"]``, index labels of ``measures``) are named where at least
    ``min_count`` of them have the need (as the placement groups are). A named need *lacks
    provision* when the median over its children (their own home areas) of the minutes to the
    nearest site of a type equipped for it (``serves_need_codes``) with spare places is over
    ``minutes`` (unreachable counts as infinitely far), or when no site type is equipped for it.

    Parameters
    ----------
    gap : GeoDataFrame
        :func:`geosuff.analysis.gaps.gap_areas` output (with ``attrs["members"]``).
    measures : DataFrame
        The counted placement measures it was made from (``needs``, ``home_area``).
    area_minutes_to_type : DataFrame or None
        Index area id, one column per site type: minutes to the nearest such site with spare
        places (None: not modelled, so no need is said to lack provision).
    minutes : float, keyword-only
        The local travel-time line (minutes).
    min_count : int, keyword-only
        Fewest children for a need to be named.

    Returns
    -------
    GeoDataFrame
        ``gap`` with :data:`GAP_NEED_COLUMNS`: ``children_needs`` (labels, "; "-joined; with
        "other needs (each of fewer than N children)" when some are too few to name) and
        ``needs_lacking`` (e.g. "Disabled children: no short breaks home with spare places within
        30 min"); unchanged when the placements record no needs. Its ``attrs`` are kept, and
        the two columns are added to ``attrs["publish_columns"]``.
    """
    if gap is None or "needs" not in measures.columns or not measures["needs"].notna().any():
        return gap
    if "members" not in gap.attrs and len(gap):
        return gap  # not made by gap_areas: its children are not known
    attrs = dict(gap.attrs)
    sets = _need_sets(measures)
    home = (
        measures["home_area"].astype("string")
        if "home_area" in measures.columns
        else pd.Series(pd.NA, index=measures.index, dtype="string")
    )
    labels = {nd.code: nd.label for nd in needs().values()}
    type_labels = {t.type: t.label for t in site_types().values()}
    named_col, lacking_col = [], []
    for members in attrs.get("members", []):
        idx = [m for m in np.asarray(members) if m in sets.index]
        kid_sets = sets.loc[idx]
        named, lacking, hidden = [], [], False
        for code in labels:
            kids = [i for i, s in zip(idx, kid_sets, strict=True) if code in s]
            if not kids:
                continue
            if len(kids) < min_count:
                hidden = True
                continue
            named.append(labels[code])
            types = site_types_serving_need(code)
            if not types:
                lacking.append(f"{labels[code]}: no provision type in geosuff's list serves it")
                continue
            if area_minutes_to_type is None:
                continue
            homes = [str(h) for h in home.loc[kids] if not pd.isna(h)]
            sub = area_minutes_to_type.reindex(index=homes, columns=types)
            vals = sub.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            vals = np.where(np.isfinite(vals), vals, np.inf)
            best = float(np.median(vals, axis=0).min()) if vals.size else np.inf
            if best > minutes:
                kinds = " or ".join(type_labels.get(t, t).lower() for t in types)
                lacking.append(
                    f"{labels[code]}: no {kinds} with spare places within {minutes:g} min"
                )
        if hidden:
            named.append(f"other needs (each of fewer than {min_count} children)")
        named_col.append("; ".join(named))
        lacking_col.append("; ".join(lacking))
    out = gap.copy()
    out["children_needs"] = named_col
    out["needs_lacking"] = lacking_col
    pub_cols = list(attrs.get("publish_columns") or [])
    attrs["publish_columns"] = [*pub_cols, *(c for c in GAP_NEED_COLUMNS if c not in pub_cols)]
    out.attrs.update(attrs)
    return out
