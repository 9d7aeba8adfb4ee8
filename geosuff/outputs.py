"""Write a run's files: published (map, report, GeoPackage, CSVs) and, on request, restricted.

Published files carry no child-level rows, ids, postcodes or points: counts go through
:mod:`geosuff.disclosure`. Record-level tables are written only in ``restricted`` mode, into a
separate ``RESTRICTED/`` folder whose file names and first line say OFFICIAL-SENSITIVE.
Every file is written atomically (temporary file in the same folder, then rename).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff import disclosure
from geosuff.io import atomic_path, atomic_write_text
from geosuff.maps import generalise_points

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

RESTRICTED_DIR = "RESTRICTED"
RESTRICTED_BANNER = "OFFICIAL-SENSITIVE: record-level personal data. For the council's internal use only. Do not publish."

# Columns of the per-child table that may never appear in a published file.
CHILD_LEVEL = ["CHILD", "HOME_POST", "PL_POST", "home_e", "home_n", "pl_e", "pl_n", "DOB", "URN"]


def write_text(path: Path, text: str) -> Path:
    """Write text atomically (temp file in the same folder + rename)."""
    return atomic_write_text(path, text)


def write_csv(path: Path, df: pd.DataFrame, *, banner: str | None = None) -> Path:
    text = df.to_csv(index=False, lineterminator="\n")
    if banner:
        text = f"# {banner}\n" + text
    return write_text(path, text)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write named layers to one GeoPackage atomically."""
    with atomic_path(path) as tmp:
        tmp.unlink()
        for name, gdf in layers.items():
            if gdf is not None and len(gdf):
                gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return Path(path)


# ----------------------------------------------------------------------------------------------
def published_indicator(df: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """An indicator table for publication.

    Count columns (``n`` = the row's total, ``n_*`` = counts within it) go through
    :func:`disclosure.publish_block` (primary and secondary suppression, a final "all"/"total"
    row treated as the column total); ``pct_*`` are withheld where their count or the row total is
    suppressed; any other derived number (e.g. ``short_of_*``) is withheld on rows with a
    suppressed count.
    """
    count_cols = [c for c in df.columns if c.startswith("n_")]
    total_col = "n" if "n" in df.columns else None
    if not count_cols and total_col is None:
        return df.copy()
    out = df.copy()
    cells = df[count_cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(dtype=float)
    totals = pd.to_numeric(df[total_col], errors="coerce").fillna(0).to_numpy(dtype=float) if total_col else cells.sum(axis=1)
    label = df.columns[0]
    total_row = len(df) > 1 and str(df[label].iloc[-1]).strip().lower() in {"all", "total", "all children"}
    cs, ts = disclosure.publish_block(cells, totals, min_count=min_count, total_row=total_row)
    for j, c in enumerate(count_cols):
        out[c] = cs[:, j]
    if total_col:
        out[total_col] = ts
    row_sup = (cs == disclosure.SUPPRESSED).any(axis=1) | (ts == disclosure.SUPPRESSED)
    for c in df.columns:
        if c in count_cols or c == total_col:
            continue
        if c.startswith("pct_"):
            num = f"n_{c[4:]}"
            sup = (out[num] == disclosure.SUPPRESSED).to_numpy() if num in out else row_sup
            sup = sup | (ts == disclosure.SUPPRESSED)
            out[c] = [disclosure.SUPPRESSED if s_ else ("" if pd.isna(v) else round(float(v), 1)) for s_, v in zip(sup, df[c], strict=True)]
        elif pd.api.types.is_numeric_dtype(df[c]) and c not in {"threshold", "minutes", "miles", "order", "target"} and not c.startswith("target"):
            out[c] = [disclosure.SUPPRESSED if s_ else v for s_, v in zip(row_sup, df[c], strict=True)]
    return out


def published_dfe_comparison(df: pd.DataFrame | None, min_count: int) -> pd.DataFrame | None:
    """The DfE comparison with the council's *computed* counts suppressed (published DfE figures
    are already public)."""
    if df is None or "computed_n" not in df.columns:
        return df
    out = df.copy().astype({"computed_n": object, "computed_pct": object})
    for _, idx in df.groupby("table", sort=False).groups.items():
        n = pd.to_numeric(df.loc[idx, "computed_n"], errors="coerce").fillna(0).to_numpy(float)
        cs, _ = disclosure.publish_block(n[None, :], np.array([n.sum()]), min_count=min_count)
        out.loc[idx, "computed_n"] = cs[0]
        pct = df.loc[idx, "computed_pct"].to_numpy()
        out.loc[idx, "computed_pct"] = [disclosure.SUPPRESSED if c == disclosure.SUPPRESSED else ("" if pd.isna(p) else round(float(p), 1)) for c, p in zip(cs[0], pct, strict=True)]
    return out


def published_areas(areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if areas is None:
        return None
    keep = [c for c in areas.columns if c not in {"easting", "northing"}]
    return areas[keep].copy()


def published_gaps(gaps: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if gaps is None or len(gaps) == 0:
        return gaps
    keep = gaps.attrs.get("publish_columns")
    if keep:
        cols = [c for c in gaps.columns if c in set(keep) or c == "geometry"]
        return gaps[cols].copy()
    raw = [c for c in gaps.columns if c in {"n_far", "children", "count", "n_children"} or c.startswith("n_")]
    return gaps.drop(columns=raw)


def published_sites(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Sites for publication, each at the centre of its 1 km grid square (never an address)."""
    s = sites[sites["status"] != "excluded"].copy()
    e = pd.to_numeric(s["easting"], errors="coerce").to_numpy(float)
    n = pd.to_numeric(s["northing"], errors="coerce").to_numpy(float)
    gen = np.ones(len(s), dtype=bool)  # every provision site: centre of its 1 km square, as on the map
    e, n = generalise_points(e, n)
    cols = [c for c in ("site_id", "name", "type", "places", "available_places", "rating", "on_network", "snap_m") if c in s.columns]
    out = gpd.GeoDataFrame(s[cols].reset_index(drop=True), geometry=gpd.points_from_xy(e, n), crs="EPSG:27700")
    out["location_note"] = np.where(gen, "centre of its 1 km grid square", "as supplied")
    return out


def published_candidates(c: pd.DataFrame | None) -> gpd.GeoDataFrame | None:
    if c is None:
        return None
    drop = [col for col in c.columns if col in {"postcode", "location_source", "ltla", "utla", "row"}]
    out = c.drop(columns=drop)
    e = pd.to_numeric(out.pop("easting"), errors="coerce") if "easting" in out else None
    n = pd.to_numeric(out.pop("northing"), errors="coerce") if "northing" in out else None
    if e is None or n is None:
        return gpd.GeoDataFrame(out)
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("string")
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=gpd.points_from_xy(e, n), crs="EPSG:27700")


def _selection_table(sel: Any) -> pd.DataFrame | None:
    if sel is None:
        return None
    to_frame = getattr(sel, "to_frame", None)
    if callable(to_frame):
        res: pd.DataFrame = to_frame()
        return res
    return None


def write_all(results: Results) -> dict[str, Path]:
    """Write every output of a run; returns name -> path."""
    from geosuff import maps, report

    out = results.out_dir
    out.mkdir(parents=True, exist_ok=True)
    mc = results.scenario.disclosure.min_count
    files: dict[str, Path] = {}

    # strings that may never be published: child ids, postcodes and grid references of children's
    # homes and placements, and of children's homes / foster clusters
    forbidden = disclosure.personal_strings(results.measures, sites=results.sites)

    # tables (published)
    tables: dict[str, pd.DataFrame | None] = {}
    for key, df in results.indicators.items():
        tables[f"indicators_{key}"] = published_indicator(df, mc)
    tables["dfe_comparison"] = published_dfe_comparison(results.dfe_comparison, mc)
    tables["sensitivity"] = published_indicator(results.sensitivity, mc) if results.sensitivity is not None else None
    tables["scenario_comparison"] = published_indicator(results.scenario_comparison, mc) if results.scenario_comparison is not None else None
    if results.flows is not None and len(results.flows):
        f = results.flows.groupby(["placement_la", "placement_la_name"], dropna=False)[["children", "far"]].sum().reset_index()
        tables["placements_by_la"] = disclosure.publish_counts(f, ["children", "far"], min_count=mc)
    rec = results.reconciliation
    if rec is not None:
        tables["reconciliation"] = disclosure.redact_reconciliation(rec, forbidden)
        summary = rec.groupby(["table", "status"]).size().rename("rows").reset_index()
        tables["reconciliation_summary"] = summary
    if results.issues is not None:
        tables["issues"] = disclosure.redact_issues(results.issues, forbidden)
    cand = published_candidates(results.candidates)
    if cand is not None:
        tables["candidates_ranked"] = pd.DataFrame(cand.drop(columns="geometry"))
    sel = _selection_table(results.selection)
    if sel is not None:
        tables["chosen_sites"] = sel
    gaps_pub = published_gaps(results.gap_areas)
    if gaps_pub is not None:
        tables["gap_areas"] = pd.DataFrame(gaps_pub.drop(columns="geometry", errors="ignore"))
    for name, df in tables.items():
        if df is None:
            continue
        files[f"{name}.csv"] = write_csv(out / "tables" / f"{name}.csv", df)

    # GeoPackage
    layers: dict[str, gpd.GeoDataFrame] = {
        "council_boundary": results.boundary,
        "sites": published_sites(results.sites),
    }
    if results.catchments is not None:
        layers["catchments"] = results.catchments
    if results.served is not None:
        layers["served_areas"] = results.served
    pa = published_areas(results.areas)
    if pa is not None:
        layers["areas_access"] = pa
    if gaps_pub is not None and len(gaps_pub) and isinstance(gaps_pub, gpd.GeoDataFrame):
        layers["gap_areas"] = gaps_pub
    if cand is not None and isinstance(cand, gpd.GeoDataFrame) and "geometry" in cand:
        layers["candidates"] = cand
    files["geosuff.gpkg"] = write_gpkg(out / "geosuff.gpkg", layers)

    # map and report
    files["map.html"] = maps.write_map(results, out / "map.html", self_contained=results.scenario.output.self_contained)
    files["report.html"] = report.write_report(results, out / "report.html")
    for name, p in results.rasters.items():
        files[f"raster_{name}"] = Path(p)

    # restricted, record-level (only when asked)
    if results.scenario.output.restricted or results.scenario.mode == "restricted":
        rdir = out / RESTRICTED_DIR
        write_text(rdir / "README.txt", RESTRICTED_BANNER + "\n")
        files["restricted_measures"] = write_csv(rdir / "OFFICIAL-SENSITIVE_placement_measures.csv", results.measures, banner=RESTRICTED_BANNER)
        if rec is not None:
            files["restricted_reconciliation"] = write_csv(rdir / "OFFICIAL-SENSITIVE_reconciliation_with_ids.csv", rec, banner=RESTRICTED_BANNER)
        if results.issues is not None:
            files["restricted_issues"] = write_csv(rdir / "OFFICIAL-SENSITIVE_issues_with_values.csv", results.issues, banner=RESTRICTED_BANNER)

    # last line of defence: no child-level value in any published text file
    published = [p for k, p in files.items() if not k.startswith("restricted") and Path(p).suffix in {".csv", ".html", ".json", ".gpkg"}]
    disclosure.assert_publishable(published, forbidden)
    logger.info("wrote %d files to %s", len(files), out)
    return files
