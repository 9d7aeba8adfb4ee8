"""Write a run's files: published (map, report, GeoPackage, CSVs) and, on request, restricted.

Published files carry no child-level rows, ids, postcodes or points: counts go through
:mod:`geosuff.disclosure`. Record-level tables are written only in ``restricted`` mode, into a
separate ``RESTRICTED/`` folder whose file names and ``README.txt`` say OFFICIAL-SENSITIVE
(no ``#`` line in the CSVs: Excel and pandas read them as they are).
Every file of a run (published, ``qa/``, ``rasters/``, ``RESTRICTED/`` and, from
:mod:`geosuff.pipeline`, ``manifest.json``) is first written to a hidden staging folder beside
the output folder (:func:`new_stage`, same file system) and moved into the output folder only
once the last disclosure check has passed (:func:`publish_stage`): a failed check or a killed
run leaves none of them (and no flagged file) in the output folder, whose previous files stay
as they were; the next run removes the staging folder left behind (:func:`clean_stages`).
Each file is moved with one rename, so each published file is replaced atomically (a reader
sees the previous or the new version, never part of one); ``manifest.json`` is moved last.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geosuff._errors import DisclosureError
from geosuff._io import atomic_path, atomic_write_text
from geosuff.inputs.postcodes import is_pseudo_postcode
from geosuff.publication import disclosure, qgis, workbook
from geosuff.publication.ledger import BREAKDOWNS
from geosuff.publication.maps import NETWORK_EDGE_NOTE, NETWORK_INSIDE_NOTE, generalise_points
from geosuff.publication.rasters import write_rasters

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results

logger = logging.getLogger(__name__)

RESTRICTED_DIR = "RESTRICTED"
RESTRICTED_BANNER = "OFFICIAL-SENSITIVE: record-level personal data. For the council's internal use only. Do not publish."

# Columns of the per-child table that may never appear in a published file.
CHILD_LEVEL = ["CHILD", "HOME_POST", "PL_POST", "home_e", "home_n", "pl_e", "pl_n", "DOB", "URN"]


def write_text(path: Path, text: str) -> Path:
    """Write text atomically (temp file in the same folder + rename)."""
    return atomic_write_text(path, text)


#: Column names holding percentages (published to 1 dp).
_PCT_RE = re.compile(r"(^|_)(pct|percent|percentage|share)(_|$)|%")
#: Column names holding money (published as whole pounds).
_MONEY_RE = re.compile(r"(^|_)(cost|costs|price|budget|value_gbp|gbp)(_|$)|£")
#: Decimal places of every other non-whole number (scores, norms, minutes, km, ages).
CSV_DECIMALS = 3
#: How dates are written: ``uk`` dd/mm/yyyy (the default, and whenever the input used UK dates)
#: or ``iso`` yyyy-mm-dd (when the input did).
DATE_FORMATS = {"uk": "%d/%m/%Y", "iso": "%Y-%m-%d"}


def _tidy_number(v: float | np.floating[Any], decimals: int) -> Any:
    if not np.isfinite(v):
        return v
    r = round(float(v), decimals)
    return int(r) if decimals == 0 or (decimals != 1 and r == int(r)) else r


def csv_ready(df: pd.DataFrame, *, date_style: str = "uk") -> pd.DataFrame:
    """The frame as it should read in a CSV: no raw floats.

    Whole numbers (bedrooms, counts, grid references held as floats) are integers; money
    (``cost``...) whole pounds; percentages (``pct_``...) 1 dp; every other number
    :data:`CSV_DECIMALS` dp (scores, minutes); dates ``dd/mm/yyyy`` (``date_style="uk"``) or
    ``yyyy-mm-dd`` (``"iso"``). Booleans, text and suppressed cells (``c``) are unchanged;
    columns mixing numbers and text get the same treatment cell by cell.

    Parameters
    ----------
    df : DataFrame
    date_style : {"uk", "iso"}

    Returns
    -------
    DataFrame
        A new frame (``df`` is not changed).
    """
    fmt = DATE_FORMATS.get(date_style, DATE_FORMATS["uk"])
    out = df.copy()
    for col in out.columns:
        s = out[col]
        name = str(col).lower()
        dec = 1 if _PCT_RE.search(name) else 0 if _MONEY_RE.search(name) else CSV_DECIMALS
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime(fmt).astype(object).where(s.notna(), "")
        elif pd.api.types.is_float_dtype(s):
            v = s.astype(float)
            fin = v[np.isfinite(v)]
            if dec != 1 and len(fin) and bool((fin.round(dec) == fin.round(dec).round(0)).all()):
                out[col] = v.round(dec).astype("Int64")
            elif dec == 0:
                out[col] = v.round(0).astype("Int64")
            else:
                out[col] = v.round(dec)
        elif s.dtype == object:
            out[col] = [
                _tidy_number(x, dec)
                if isinstance(x, float | np.floating)
                else x.strftime(fmt)
                if isinstance(x, pd.Timestamp | dt.date)
                else x
                for x in s
            ]
    return out


#: First characters that make a spreadsheet read a text cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A number as a person writes it (``-2``, ``+5``, ``1,234.5``, ``12.5%``, ``1e-3``): never
#: neutralised, even when it starts with a sign.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d[\d,]*)?\.?\d+(?:[eE][+-]?\d+)?%?")


def neutral_text(value: Any) -> Any:
    """A cell as a spreadsheet must show it: text that would be read as a formula is prefixed.

    Parameters
    ----------
    value : object
        One cell. Only a ``str`` starting with one of :data:`FORMULA_START` that is not a
        number as written (``-2``, ``+5``) is changed: it gets a leading ``'`` (OWASP's
        advice against CSV injection), so ``=HYPERLINK(...)`` is shown as typed.

    Returns
    -------
    object
        ``value``, or the prefixed text.
    """
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not _NUMBER_TEXT.fullmatch(value)
    ):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell (and column name) passed through :func:`neutral_text`."""
    out = df.rename(columns=neutral_text)
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(j, col.map(neutral_text, na_action="ignore").astype(col.dtype))
    return out


def write_csv(
    path: Path, df: pd.DataFrame, *, banner: str | None = None, date_style: str = "uk"
) -> Path:
    """Write a table as CSV atomically, tidied by :func:`csv_ready`.

    Text cells that a spreadsheet would read as a formula are prefixed with ``'``
    (:func:`neutral_text`); numbers are unchanged.
    ``banner`` (a restriction notice) is not written into the CSV - a ``#`` line breaks Excel
    and pandas - but into ``README.txt`` beside it (added once), and the file's name should say
    it too (``OFFICIAL-SENSITIVE_...``).
    """
    # rows end in \n; made with \r\n so that a field holding a carriage return is quoted
    # (with "\n" alone the csv module leaves a lone \r bare, which splits the row for readers)
    text = (
        neutralise_formulas(csv_ready(df, date_style=date_style))
        .to_csv(index=False, lineterminator="\r\n")
        .replace("\r\n", "\n")
    )
    if banner:
        readme = Path(path).parent / "README.txt"
        have = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        if banner not in have:
            write_text(readme, have + banner + "\n")
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
def published_areas(areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The areas-access layer as published: without the areas' reference points (easting, northing)."""
    if areas is None:
        return None
    keep = [c for c in areas.columns if c not in {"easting", "northing"}]
    return areas[keep].copy()


def published_sites(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Sites for publication, each at the centre of its 1 km grid square (never an address)."""
    s = sites[sites["status"] != "excluded"].copy()
    e = pd.to_numeric(s["easting"], errors="coerce").to_numpy(float)
    n = pd.to_numeric(s["northing"], errors="coerce").to_numpy(float)
    gen = np.ones(
        len(s), dtype=bool
    )  # every provision site: centre of its 1 km square, as on the map
    e, n = generalise_points(e, n)
    cols = [
        c
        for c in (
            "site_id",
            "name",
            "type",
            "places",
            "available_places",
            "rating",
            "on_network",
            "snap_m",
        )
        if c in s.columns
    ]
    out = gpd.GeoDataFrame(
        s[cols].reset_index(drop=True), geometry=gpd.points_from_xy(e, n), crs="EPSG:27700"
    )
    out["location_note"] = np.where(gen, "centre of its 1 km grid square", "as supplied")
    return out


def published_candidates(c: pd.DataFrame | None) -> gpd.GeoDataFrame | None:
    """Published candidates (from :attr:`geosuff.publish.Published.candidates`) as points."""
    if c is None:
        return None
    out = c.copy()
    e = pd.to_numeric(out.pop("easting"), errors="coerce") if "easting" in out else None
    n = pd.to_numeric(out.pop("northing"), errors="coerce") if "northing" in out else None
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("string")
    if e is None or n is None:
        return gpd.GeoDataFrame(out)
    return gpd.GeoDataFrame(
        out.reset_index(drop=True), geometry=gpd.points_from_xy(e, n), crs="EPSG:27700"
    )


def _leaver_strings(results: Results) -> list[str]:
    """Care leavers' ids, accommodation postcodes and their grid references ("E N"): never
    published.
    """
    t = results.care_leavers
    if t is None or len(t) == 0:
        return []
    out = {str(v) for v in t["CHILD"].dropna() if len(str(v)) >= 4}
    for v in t.get("ACCOM_POST", pd.Series(dtype=object)).dropna().astype(str).str.strip():
        # ZZ99 pseudo-postcodes are the DfE's codes for "address not known / no fixed abode",
        # not anyone's address: the reasons quote them (as for placements)
        if v and not is_pseudo_postcode(v):
            out |= {v, v.replace(" ", ""), v.upper(), v.upper().replace(" ", "")}
    xy = t[["accom_e", "accom_n"]].apply(pd.to_numeric, errors="coerce").dropna().to_numpy()
    out |= {f"{x:.0f} {y:.0f}" for x, y in xy}
    return sorted(out)


def _leaver_points(results: Results) -> np.ndarray:
    """Care leavers' accommodation points (EPSG:27700): never published exactly."""
    t = results.care_leavers
    if t is None or len(t) == 0:
        return np.zeros((0, 2))
    xy = t[["accom_e", "accom_n"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return xy[np.isfinite(xy).all(axis=1)]


def _personal_points(results: Results) -> np.ndarray:
    pts = disclosure.personal_points(results.measures, sites=results.sites)
    extra = _leaver_points(results)
    if len(extra):
        pts = np.vstack([pts.reshape(-1, 2), extra])
    c = results.candidates
    if c is None or not len(pts) or not {"easting", "northing"} <= set(c.columns):
        return pts
    cxy = c[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    cxy = cxy[np.isfinite(cxy).all(axis=1)]
    if not len(cxy):
        return pts
    from scipy.spatial import cKDTree

    d, _ = cKDTree(cxy).query(pts, distance_upper_bound=disclosure.POINT_TOLERANCE_M)
    return pts[~np.isfinite(d)]


def _without_geometry(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))


def _candidates_table(candidates: pd.DataFrame | None) -> pd.DataFrame | None:
    return _without_geometry(published_candidates(candidates))


@dataclass(frozen=True)
class Table:
    """Where a published table (``tables/<name>.csv``) comes from.

    Attributes
    ----------
    attribute : str
        The :class:`~geosuff.publication.ledger.Published` attribute holding it.
    key : str or None
        For a dict attribute (``indicators``), the key of the table in it.
    make : callable or None
        Turns the attribute's value into the written table (e.g. drops geometry); None writes
        the value as it is.
    """

    attribute: str
    key: str | None = None
    make: Callable[[Any], pd.DataFrame | None] | None = None

    def frame(self, pub: Published) -> pd.DataFrame | None:
        """The table to write for ``pub``, or None when the run did not make it."""
        value = getattr(pub, self.attribute)
        if self.key is not None:
            value = value.get(self.key) if value is not None else None
        if self.make is not None:
            return self.make(value)
        return value  # type: ignore[no-any-return]


#: Every published table: file name (``tables/<name>.csv``) -> where it comes from. A new output
#: table is one ledger function (registering its counts) plus one entry here.
TABLES: dict[str, Table] = {
    **{f"indicators_{by}": Table("indicators", key=by) for by in BREAKDOWNS},
    "dfe_comparison": Table("dfe_comparison"),
    "sensitivity": Table("sensitivity"),
    "distance_bands": Table("distance_bands"),
    "scenario_comparison": Table("scenario"),
    "placements_by_la": Table("placements_by_la"),
    "reconciliation_summary": Table("reconciliation_summary"),
    "rows_not_used_as_given": Table("reasons"),
    "issues_summary": Table("issues_summary"),
    "candidates_ranked": Table("candidates", make=_candidates_table),
    "chosen_sites": Table("chosen_sites"),
    "gap_areas": Table("gap_areas", make=_without_geometry),
    "trend": Table("trend"),
    "providers": Table("providers"),
    "care_leavers": Table("care_leavers"),
    "projection": Table("projection"),
}

#: The ``data_note`` of every published table and layer of a run on synthetic data.
SYNTHETIC_NOTE = "SYNTHETIC"

#: Part of the name of the hidden staging folder a run's files are written and checked in,
#: beside the output folder: ``.<folder name>.geosuff-staging-<random>``.
STAGING_PREFIX = ".geosuff-staging-"
#: Written last of a run's files (so a reader that finds it finds the whole run).
LAST_FILES = ("manifest.json",)


def _stage_prefix(out: Path) -> str:
    return f".{out.resolve().name}{STAGING_PREFIX}"


def clean_stages(out: Path) -> list[Path]:
    """Remove staging folders a killed or failed run left beside (or, before 0.x, inside)
    ``out``. Call it only while holding ``out``'s lock (:func:`geosuff._lock.output_lock`),
    which no other live run then holds.

    Returns
    -------
    list of Path
        The folders removed.
    """
    out = Path(out).resolve()
    left = [*out.parent.glob(_stage_prefix(out) + "*"), *out.glob(STAGING_PREFIX + "*")]
    for d in left:
        shutil.rmtree(d, ignore_errors=True)
        logger.info("removed %s, left by an unfinished earlier run", d)
    return left


def new_stage(out: Path) -> Path:
    """A new empty staging folder for a run into ``out``, beside it (same file system)."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_stage_prefix(out), dir=out.parent))


def staged_files(stage: Path) -> list[str]:
    """Every file in ``stage``, as sorted paths relative to it (``tables/x.csv``)."""
    return sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())


def _move(src: Path, dst: Path) -> None:
    """Replace ``dst`` by ``src`` with one rename (a copy beside ``dst`` first when the staging
    folder is on another file system, e.g. the output folder is a mount point).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)


def _refuse_links(out: Path, rels: list[str]) -> None:
    """:class:`~geosuff._errors.UnsafeOutputError` if the output folder, or a folder inside it
    that a file of the run goes to (``tables/``...), is a symbolic link: a move through it would
    write outside the output folder. Checked before anything moves. (A file that is a link is
    replaced by the rename itself, never followed.)
    """
    from geosuff._errors import UnsafeOutputError

    dirs = {out, *(out / Path(r).parent for r in rels)}
    for d in sorted(dirs):
        if d.is_symlink():
            raise UnsafeOutputError(
                f"{d} is a symbolic link (to {os.path.realpath(d)}); geosuff does not write "
                "through links, so nothing of this run was published.",
                fix=f"Delete the link {d} (geosuff never makes one) and run again.",
            )


def publish_stage(stage: Path, out: Path) -> None:
    """Move every file of ``stage`` to the same place in ``out``, :data:`LAST_FILES` last, then
    remove ``stage``. Each move is one rename: each file is replaced atomically.
    """
    rels = staged_files(stage)
    rels = [r for r in rels if r not in LAST_FILES] + [r for r in rels if r in LAST_FILES]
    _refuse_links(Path(out), rels)
    for rel in rels:
        _move(stage / rel, Path(out) / rel)
    shutil.rmtree(stage, ignore_errors=True)


#: Every published table in one Excel workbook (``[output] excel``), beside ``tables/``.
WORKBOOK = "tables.xlsx"
#: QGIS project over ``geosuff.gpkg``, in the same folder.
QGIS_PROJECT = "geosuff.qgs"

QA_DIR = "qa"
QA_README = (
    "Row-level quality lists for the council's own checking: one line per input row (status and\n"
    "reason) and per validation problem. They hold no child id, postcode or location, but they\n"
    "are lists of the rows of a child-level file, so they are not for publication: publish the\n"
    "counts in tables/reconciliation_summary.csv and tables/issues_summary.csv instead.\n"
)


def published_tables(results: Results, pub: Published) -> dict[str, pd.DataFrame]:
    """Every published table the run filled (``tables/<name>.csv``), by name."""
    out: dict[str, pd.DataFrame] = {}
    for name, t in TABLES.items():
        df = t.frame(pub)
        if df is None:
            continue
        if results.scenario.synthetic:  # every published table says so, as the synthetic inputs do
            df = df.assign(data_note=SYNTHETIC_NOTE)
        out[name] = df
    return out


def published_layers(results: Results, pub: Published) -> dict[str, gpd.GeoDataFrame]:
    """The layers of ``geosuff.gpkg`` (EPSG:27700), by name."""
    cand = published_candidates(pub.candidates)
    gaps_pub = pub.gap_areas
    layers: dict[str, gpd.GeoDataFrame] = {
        "council_boundary": results.boundary,
        "sites": published_sites(results.sites),
    }
    if results.catchments is not None:
        layers["catchments"] = _with_extent_note(results.catchments)
    if results.served is not None:
        layers["served_areas"] = _with_extent_note(results.served)
    pa = published_areas(results.areas)
    if pa is not None:
        layers["areas_access"] = pa
    if gaps_pub is not None and len(gaps_pub) and isinstance(gaps_pub, gpd.GeoDataFrame):
        layers["gap_areas"] = gaps_pub
    if cand is not None and isinstance(cand, gpd.GeoDataFrame) and "geometry" in cand:
        layers["candidates"] = cand
    if results.scenario.synthetic:
        layers = {
            k: (v.assign(data_note=SYNTHETIC_NOTE) if v is not None else v)
            for k, v in layers.items()
        }
    return layers


def write_all(
    results: Results, published: Published | None = None, *, stage: Path | None = None
) -> dict[str, Path]:
    """Write every output of a run; returns name -> path (in the output folder).

    Published files (report, map, GeoPackage, ``tables/``) are made from
    :func:`geosuff.publication.ledger.build`; row-level quality lists go to ``qa/``, access
    rasters to ``rasters/`` and record-level tables, on request, to ``RESTRICTED/``.

    Parameters
    ----------
    results : Results
    published : Published, optional
        The run's published figures (made here if not given).
    stage : Path, optional
        A staging folder from :func:`new_stage`: the files are written there (the paths
        returned are where :func:`publish_stage` will put them) and the caller publishes them.
        Without it, the files are staged here and published before returning.

    Raises
    ------
    DisclosureError
        If a published file fails the last check (nothing is then published).
    """
    from geosuff.publication import ledger as publish

    out = results.out_dir
    pub = published if published is not None else publish.build(results)
    own = stage is None
    where = new_stage(out) if stage is None else stage
    try:
        staged = _write_staged(results, pub, where)
        if own:
            publish_stage(where, out)
    except DisclosureError:
        logger.error(
            "disclosure check failed: no published file of this run was written to %s", out
        )
        raise
    finally:
        if own:
            shutil.rmtree(where, ignore_errors=True)
    files = {key: out / Path(p).relative_to(where) for key, p in staged.items()}
    for name, p in results.rasters.items():
        p = Path(p)
        final = out / p.relative_to(where) if p.is_relative_to(where) else p
        results.rasters[name] = final
        files[f"raster_{name}"] = final
    logger.info("wrote %d files to %s", len(files), out)
    return files


def _write_staged(results: Results, pub: Published, stage: Path) -> dict[str, Path]:
    """Write every file of the run into ``stage`` (published ones checked): name -> path."""
    from geosuff.publication import maps, report

    files = _write_checked(results, pub, stage, maps, report)
    if results.scenario.output.restricted or results.scenario.mode == "restricted":
        files.update(_write_restricted(results, stage / RESTRICTED_DIR))
    return files


def _write_restricted(results: Results, rdir: Path) -> dict[str, Path]:
    """Write the record-level tables (only when asked) into ``rdir``."""
    files: dict[str, Path] = {}
    rec = results.reconciliation
    write_text(rdir / "README.txt", RESTRICTED_BANNER + "\n")
    files["restricted_measures"] = write_csv(
        rdir / "OFFICIAL-SENSITIVE_placement_measures.csv",
        results.measures,
        banner=RESTRICTED_BANNER,
        date_style=results.date_style,
    )
    if rec is not None:
        files["restricted_reconciliation"] = write_csv(
            rdir / "OFFICIAL-SENSITIVE_reconciliation_with_ids.csv",
            rec,
            banner=RESTRICTED_BANNER,
        )
    if results.issues is not None:
        files["restricted_issues"] = write_csv(
            rdir / "OFFICIAL-SENSITIVE_issues_with_values.csv",
            results.issues,
            banner=RESTRICTED_BANNER,
        )
    return files


def _write_tables(results: Results, pub: Published, stage: Path) -> dict[str, Path]:
    """Write one CSV per filled :data:`TABLES` entry (and ``tables.xlsx``) into ``stage``."""
    files: dict[str, Path] = {}
    written: dict[str, pd.DataFrame] = {}
    for name, df in published_tables(results, pub).items():
        files[f"{name}.csv"] = write_csv(
            stage / "tables" / f"{name}.csv", df, date_style=results.date_style
        )
        written[name] = csv_ready(df, date_style=results.date_style)
    if results.scenario.output.excel:  # the same tables, one sheet each
        files[WORKBOOK] = workbook.write_workbook(
            stage / WORKBOOK, written, workbook.workbook_info(results)
        )
    return files


def _write_checked(
    results: Results, pub: Published, stage: Path, maps: Any, report: Any
) -> dict[str, Path]:
    """Write the published files (and the row-level quality lists and rasters) into ``stage``
    and check them all; returns name -> path in ``stage``. Raises
    :class:`~geosuff._errors.DisclosureError` if the check fails.
    """
    files: dict[str, Path] = {}

    # strings that may never be published: child ids, postcodes and grid references of children's
    # homes and placements, and of children's homes / foster clusters
    forbidden = disclosure.personal_strings(
        results.measures, sites=results.sites, extra=_leaver_strings(results)
    )

    # tables (published): one file per TABLES entry that the run filled, and the workbook
    files.update(_write_tables(results, pub, stage))

    # row-level quality lists (not for publication, but nothing personal in them either)
    rec = results.reconciliation
    if rec is not None:
        write_text(stage / QA_DIR / "README.txt", QA_README)
        files["qa_reconciliation"] = write_csv(
            stage / QA_DIR / "reconciliation.csv", disclosure.redact_reconciliation(rec, forbidden)
        )
    if results.issues is not None:
        files["qa_issues"] = write_csv(
            stage / QA_DIR / "issues.csv", disclosure.redact_issues(results.issues, forbidden)
        )

    # GeoPackage
    layers = published_layers(results, pub)
    files["geosuff.gpkg"] = write_gpkg(stage / "geosuff.gpkg", layers)
    files[QGIS_PROJECT] = qgis.write_project(
        stage / QGIS_PROJECT, files["geosuff.gpkg"], qgis.project_info(results)
    )

    # access rasters (GeoTIFF), before the map that overlays them
    results.rasters.update(write_rasters(results.access_rasters, stage / "rasters"))

    # map and report
    files["map.html"] = maps.write_map(
        results,
        stage / "map.html",
        self_contained=results.scenario.output.self_contained,
        published=pub,
    )
    files["report.html"] = report.write_report(results, stage / "report.html", published=pub)

    # the published figures by definition, for later runs' [disclosure] previous
    if pub.ledger is not None and pub.ledger.result is not None:
        from geosuff.publication.ledger import previous

        files[previous.DISCLOSURE_FILE] = previous.write_record(
            stage / previous.DISCLOSURE_FILE,
            pub.ledger,
            council=results.scenario.council,
            reference_date=results.scenario.analysis.reference_date,
            synthetic=results.scenario.synthetic,
        )

    # last line of defence: no child id, postcode or grid reference in any published file, and no
    # child's home, placement or children's home / foster point (other than where a council
    # property, published anyway, stands on the same spot). Checked in the staging folder, so a
    # failure publishes nothing (the caller removes the staging folder).
    checked = [
        p for p in files.values() if Path(p).suffix in {".csv", ".html", ".json", ".gpkg", ".qgs"}
    ]
    with tempfile.TemporaryDirectory(dir=stage) as copies:  # an .xlsx is checked cell by cell
        for p in files.values():
            if Path(p).suffix == ".xlsx":
                checked += workbook.workbook_csv_copies(p, copies)
        disclosure.assert_publishable(
            checked, forbidden, points=_personal_points(results), strict=False
        )
    return files


def _with_extent_note(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A catchments / served-areas layer with ``network_extent``: its ``touches_network_edge`` in
    words ("may extend beyond the road network extract" or "within the road network extract").
    """
    if "touches_network_edge" not in gdf.columns:
        return gdf
    flag = gdf["touches_network_edge"].fillna(False).astype(bool).to_numpy()
    return gdf.assign(network_extent=np.where(flag, NETWORK_EDGE_NOTE, NETWORK_INSIDE_NOTE))
