"""Every input row's fate (used / used with an estimate / excluded, with the reason): reconciliation and row_fates."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geosuff.inputs import (
    ID_COLUMNS,
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
    STATUSES,
    Loaded,
)

if TYPE_CHECKING:
    pass
from geosuff.inputs.validate.common import NETWORK_MARGIN_M, RECONCILIATION_COLUMNS, _join
from geosuff.inputs.validate.coverage import _RANK, distance_outside_box

logger = logging.getLogger(__name__)


def _extra_rows(extra: Any, base_rows: np.ndarray) -> dict[int, tuple[str | None, str, bool]]:
    """Normalise one table's extra status to {row: (status or None, reason, road_estimated)}."""
    out: dict[int, tuple[str | None, str, bool]] = {}
    if extra is None:
        return out
    if isinstance(extra, pd.DataFrame):
        df = extra
        if "row" in df.columns:
            rows = pd.to_numeric(df["row"], errors="coerce").to_numpy()
        elif len(df) == len(base_rows):
            rows = base_rows
        else:
            raise ValueError(
                "extra_status frames need a 'row' column (the loader's row number) or one row per input row"
            )
        st = (
            df["status"].to_numpy(dtype=object)
            if "status" in df
            else np.full(len(df), None, dtype=object)
        )
        rs = (
            df["reason"].to_numpy(dtype=object)
            if "reason" in df
            else np.full(len(df), "", dtype=object)
        )
        est = (
            df["road_estimated"].fillna(False).to_numpy(dtype=bool)
            if "road_estimated" in df
            else np.zeros(len(df), dtype=bool)
        )
        for r, s, why, e in zip(rows, st, rs, est, strict=True):
            if r is None or (isinstance(r, float) and math.isnan(r)):
                continue
            out[int(r)] = (
                None if s is None or (isinstance(s, float) and math.isnan(s)) else str(s),
                ""
                if why is None or (isinstance(why, float) and math.isnan(why)) or why is pd.NA
                else str(why),
                bool(e),
            )
        return out
    if isinstance(extra, Mapping):
        for r, v in extra.items():
            if isinstance(v, tuple | list):
                s, why = (v[0], v[1] if len(v) > 1 else "")
            elif isinstance(v, Mapping):
                s, why = v.get("status"), v.get("reason", "")
            else:
                s, why = v, ""
            out[int(r)] = (None if s is None else str(s), str(why or ""), False)
        return out
    raise TypeError(f"extra_status values must be DataFrames or dicts, not {type(extra).__name__}")


def reconciliation(
    loaded_tables: Sequence[Loaded], extra_status: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One row per input row of every table, with its final status and why.

    Parameters
    ----------
    loaded_tables : sequence of Loaded
        What the loaders returned (placements, sites, candidates).
    extra_status : mapping, optional
        Later stages' word on rows, keyed by table name. A value is either a DataFrame with a
        ``row`` column (the loader's row number; or exactly one row per input row in order) and
        any of ``status``, ``reason``, ``road_estimated``; or a dict ``{row: status}`` /
        ``{row: (status, reason)}``. Rows a later stage left out keep the loader's status.

    Returns
    -------
    DataFrame
        Columns ``table``, ``row``, ``id``, ``status``, ``reason``; the rows of each table in
        order. The final status is the worse of the loader's and the later stage's (``excluded``
        > ``used-with-estimate`` > ``used``): a later stage can downgrade a row but never bring an
        excluded row back. Reasons are combined. Every row that is not plainly ``used`` has a
        reason.

    Raises
    ------
    ValueError
        If a status is not one of :data:`~geosuff.inputs.STATUSES`, or the counts do not add up
        (a bug, never bad input).
    """
    parts = []
    extra_status = extra_status or {}
    for t in loaded_tables:
        tab = t.table
        n = len(tab)
        rows = tab["row"].to_numpy(dtype=np.int64)
        idc = t.id_column or ID_COLUMNS.get(t.name)
        ids = (
            tab[idc].astype("string").fillna("").to_numpy(dtype=object)
            if idc and idc in tab
            else np.full(n, "", dtype=object)
        )
        status = tab["status"].astype(str).to_numpy(dtype=object).copy()
        reason = (
            tab["reason"].astype("string").fillna("").to_numpy(dtype=object).copy()
            if "reason" in tab
            else np.full(n, "", dtype=object)
        )
        bad = sorted(set(status) - set(STATUSES))
        if bad:
            raise ValueError(f"{t.name}: unknown status {bad}")
        extra = _extra_rows(extra_status.get(t.name), rows)
        pos = {int(r): i for i, r in enumerate(rows)}
        unknown_rows = [r for r in extra if r not in pos]
        if unknown_rows:
            logger.warning(
                "%s: later stage reported rows that are not in the input: %s",
                t.name,
                unknown_rows[:5],
            )
        for r, (s, why, est) in extra.items():
            i = pos.get(r)
            if i is None:
                continue
            if s is not None:
                if s not in _RANK:
                    raise ValueError(f"{t.name} row {r}: unknown status {s!r}")
                if _RANK[s] > _RANK[status[i]]:
                    status[i] = s
            extra_reason = why
            if est and status[i] == STATUS_ESTIMATE and "road" not in why:
                extra_reason = _join(
                    why,
                    "road travel time estimated from the straight line (point off the road network)",
                )
            reason[i] = _join(str(reason[i]), extra_reason)
        for i in range(n):
            if status[i] != STATUS_USED and not reason[i]:
                reason[i] = (
                    "estimated by a later stage (see the run's issues)"
                    if status[i] == STATUS_ESTIMATE
                    else "excluded by a later stage (see the run's issues)"
                )
        parts.append(
            pd.DataFrame(
                {"table": t.name, "row": rows, "id": ids, "status": status, "reason": reason}
            )
        )
        counts = pd.Series(status).value_counts()
        if int(counts.sum()) != n or len(set(rows.tolist())) != n:
            raise ValueError(
                f"{t.name}: reconciliation does not add up ({int(counts.sum())} statuses for {n} rows)"
            )
    if not parts:
        return pd.DataFrame(columns=RECONCILIATION_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["row"] = out["row"].astype(np.int64)
    return out[RECONCILIATION_COLUMNS]


def reconciliation_summary(rec: pd.DataFrame) -> pd.DataFrame:
    """Rows per table and status: ``table``, ``rows``, ``used``, ``used-with-estimate``, ``excluded``."""
    if rec.empty:
        return pd.DataFrame(columns=["table", "rows", *STATUSES])
    ct = pd.crosstab(rec["table"], rec["status"]).reindex(columns=list(STATUSES), fill_value=0)
    order = list(dict.fromkeys(rec["table"]))
    ct = ct.reindex(order)
    ct.insert(0, "rows", ct.sum(axis=1))
    out = ct.reset_index()
    out.columns.name = None
    return out


# ----------------------------------------------------------------------------------------------
# The fate of every row: the one decision `validate` and `review` both print
# ----------------------------------------------------------------------------------------------
#: Reason given to rows whose travel times are all straight-line estimates (no road network).
REASON_NO_NETWORK = (
    'travel time is a straight-line estimate (no road network: [analysis] travel = "estimate")'
)

#: Coordinate columns holding each table's travel-time end points.
_POINT_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "placements": (("home_e", "home_n"), ("pl_e", "pl_n")),
    "sites": (("easting", "northing"),),
    "candidates": (("easting", "northing"),),
}


def _predicted_estimates(
    t: Loaded,
    *,
    road: bool,
    box: tuple[float, float, float, float] | None,
    network_name: str,
) -> pd.DataFrame | None:
    """Rows of one table whose travel times will be straight-line estimates: ``row``,
    ``status``, ``reason`` (None when the table has no travel-time end points).
    """
    cols = _POINT_COLUMNS.get(t.name)
    tab = t.table
    if cols is None or not all(c in tab for pair in cols for c in pair):
        return None
    n = len(tab)
    xy = [
        (
            pd.to_numeric(tab[e], errors="coerce").to_numpy(float),
            pd.to_numeric(tab[nn], errors="coerce").to_numpy(float),
        )
        for e, nn in cols
    ]
    located = np.ones(n, dtype=bool)
    for x, y in xy:
        located &= np.isfinite(x) & np.isfinite(y)
    live = (tab["status"] != STATUS_EXCLUDED).to_numpy() & located
    est = np.zeros(n, dtype=bool)
    reason = np.full(n, "", dtype=object)
    if not road:
        est = live
        reason[est] = REASON_NO_NETWORK
    elif box is not None:
        for x, y in xy:
            off = live & (
                np.nan_to_num(distance_outside_box(x, y, box), nan=0.0) > NETWORK_MARGIN_M
            )
            est |= off
        reason[est] = (
            f"road travel time estimated from the straight line (point outside {network_name})"
        )
    return pd.DataFrame(
        {
            "row": tab["row"].to_numpy(dtype=np.int64),
            "status": np.array([STATUS_ESTIMATE if e else None for e in est], dtype=object),
            "reason": reason,
        }
    )


def _combine(first: pd.DataFrame | None, later: Any) -> Any:
    """The worse of two stages' word on each row (see :func:`reconciliation`)."""
    if first is None:
        return later
    if later is None:
        return first
    if not isinstance(later, pd.DataFrame):
        later = pd.DataFrame(
            [
                {
                    "row": r,
                    "status": _extra_rows(later, np.array([]))[r][0],
                    "reason": _extra_rows(later, np.array([]))[r][1],
                }
                for r in later
            ]
        )
    lat = later.copy()
    if "row" not in lat.columns:
        if len(lat) != len(first):
            raise ValueError(
                "extra_status frames need a 'row' column (the loader's row number) or one row per input row"
            )
        lat["row"] = first["row"].to_numpy()
    lat["row"] = pd.to_numeric(lat["row"], errors="coerce")
    lat = lat.dropna(subset=["row"]).drop_duplicates("row").set_index("row")
    out = first.set_index("row")
    st = out["status"].to_numpy(dtype=object).copy()
    rs = out["reason"].to_numpy(dtype=object).copy()
    for i, r in enumerate(out.index):
        if r not in lat.index:
            continue
        s = lat.at[r, "status"] if "status" in lat else None
        if isinstance(s, str) and (st[i] is None or _RANK.get(s, 0) > _RANK.get(str(st[i]), 0)):
            st[i] = s
        why = lat.at[r, "reason"] if "reason" in lat else ""
        est = bool(lat.at[r, "road_estimated"]) if "road_estimated" in lat else False
        if est and st[i] is None:
            st[i] = STATUS_ESTIMATE
        if est and not rs[i]:
            why = _join(
                "" if pd.isna(why) else str(why),
                "road travel time estimated from the straight line (point off the road network)",
            )
        rs[i] = _join(str(rs[i]), "" if pd.isna(why) else str(why))
    return pd.DataFrame({"row": out.index.to_numpy(), "status": st, "reason": rs})


def row_fates(
    loaded_tables: Sequence[Loaded],
    *,
    road: bool,
    box: tuple[float, float, float, float] | None = None,
    network_name: str = "the road network",
    later: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The fate of every input row - used, used with an estimate, or excluded, and why.

    The one decision behind both ``geosuff validate`` and ``geosuff review`` (each prints
    :func:`fate_lines` of it). A row's status is the worst of:

    * the loader's (a row that cannot be read or located is excluded or estimated);
    * the travel-time prediction: with no road network (``road`` False) every located row's
      travel times are straight-line estimates; with one, rows with a point more than
      :data:`NETWORK_MARGIN_M` outside the network's extent ``box`` are estimated (sites and
      candidates more than :data:`NETWORK_FAR_M` outside are excluded beforehand by
      :func:`check_network_extent`, which both commands call);
    * ``later``: what later stages of a run found (``review`` only, e.g. a point inside the
      extent but further than ``max_snap_m`` from any road), as for :func:`reconciliation`.

    Parameters
    ----------
    loaded_tables : sequence of Loaded
        What the loaders returned (after :func:`check_network_extent`).
    road : bool, keyword-only
        True when travel times come from a road network (:func:`geosuff.config.road_times`).
    box : tuple of float, optional
        The network's extent (min_e, min_n, max_e, max_n; metres, EPSG:27700), from
        :func:`network_extent`.
    network_name : str
        How reasons name the network.
    later : mapping, optional
        Later stages' word on rows, keyed by table name (see :func:`reconciliation`).

    Returns
    -------
    DataFrame
        :func:`reconciliation` columns ``table``, ``row``, ``id``, ``status``, ``reason``.
    """
    later = dict(later or {})
    extra: dict[str, Any] = {}
    for t in loaded_tables:
        pred = _predicted_estimates(t, road=road, box=box, network_name=network_name)
        got = _combine(pred, later.pop(t.name, None))
        if got is not None:
            extra[t.name] = got
    return reconciliation(loaded_tables, extra)


def fate_lines(rec: pd.DataFrame) -> list[str]:
    """One line per table of :func:`row_fates`: ``"sites: 19 rows = 19 used + 0 used with an
    estimate + 0 excluded"`` - what ``validate`` and ``review`` both print.
    """
    return [
        f"{r['table']}: {r['rows']} rows = {r[STATUS_USED]} used + {r[STATUS_ESTIMATE]} used "
        f"with an estimate + {r[STATUS_EXCLUDED]} excluded"
        for r in reconciliation_summary(rec).to_dict("records")
    ]
