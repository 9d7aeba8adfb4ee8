"""Redaction of identifiers in free text and the last check of every published file for child-level data."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geosuff._errors import DisclosureError
from geosuff.publication.disclosure.suppression import POINT_TOLERANCE_M
from geosuff.reference import is_sensitive_site_type

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# Record-level text in tables that are published (issues, reconciliation)
# ----------------------------------------------------------------------------------------------
_POSTCODE_TEXT_RE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b", re.I)
_DISTRICT_RE = re.compile(r"\b(district) [A-Z]{1,2}[0-9][A-Z0-9]?\b", re.I)
_QUOTED_RE = re.compile(r"'[^']*'")
_BIG_NUMBER_RE = re.compile(r"(?<![\d.])\d{5,}(?:\.\d+)?(?![\d])")
_COORD_PAIR_RE = re.compile(r"-?\d+\.\d+, ?-?\d+\.\d+")
REDACTED = "[withheld]"
#: A DfE distance category on any line ("20 miles or less", "Over 25 miles"): never redacted.
_CATEGORY_RE = re.compile(r"(?:\d+(?:\.\d+)? miles or less|over \d+(?:\.\d+)? miles)", re.I)


@cache
def published_labels() -> frozenset[str]:
    """Names that are the DfE's or the code lists' own, never a child's (upper case): the
    distance categories, the DfE statistics' characteristics, PLACE codes with their
    descriptions and groups, placement-type groups and provision site types.

    :func:`redact_text` keeps a quoted value that is one of these (a reason such as "the distance
    is counted as 'Not known or not recorded'" stays a sentence); ids, postcodes and coordinates
    are still redacted.
    """
    from geosuff.analysis import distance
    from geosuff.inputs import codes
    from geosuff.inputs import dfe_stats as ds

    names: set[str] = {distance.CATEGORY_NEAR, distance.CATEGORY_FAR, distance.CATEGORY_UNKNOWN}
    names |= {str(v) for k, v in vars(ds).items() if k.isupper() and isinstance(v, str)}
    for frame, cols in (
        (codes.placement_codes(), ("code", "description", "group", "dfe_group")),
        (codes.placement_groups(), ("group", "label")),
        (codes.site_types(), ("type", "label")),
    ):
        for c in cols:
            if c in frame:
                names |= {str(x) for x in frame[c].dropna()}
    return frozenset(" ".join(x.upper().split()) for x in names if x.strip())


def _redact_quoted(m: re.Match[str]) -> str:
    inner = " ".join(m.group()[1:-1].split())
    if inner and (inner.upper() in published_labels() or _CATEGORY_RE.fullmatch(inner)):
        return m.group()
    return REDACTED


_TOKEN_RE = re.compile(r"[A-Z0-9]+")


class ForbiddenStrings:
    """A set of strings that may not be published (child ids, postcodes, grid references),
    matched in linear time: as whole tokens, or two tokens with white space between (a postcode
    written "LE15 6AB"), case-insensitively; strings with other characters by substring search.

    Checking tens of thousands of strings against a published file one by one is quadratic; a
    council's cohort needs this to be linear in the text.
    """

    def __init__(self, forbidden: Iterable[str], *, min_len: int = 1) -> None:
        self.tokens: set[str] = set()
        self.other: list[str] = []
        for f in forbidden:
            u = " ".join(str(f).upper().split())
            if len(u) < min_len or not u:
                continue
            parts = u.split(" ")
            if len(parts) <= 2 and all(_TOKEN_RE.fullmatch(p) for p in parts):
                self.tokens.add(u)
            else:
                self.other.append(u)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, string) of every forbidden string in ``text``, longest first where they
        overlap.
        """
        up = text.upper()
        toks = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(up)]
        found: list[tuple[int, int, str]] = []
        for i, (a, b, t) in enumerate(toks):
            if i + 1 < len(toks):
                a2, b2, t2 = toks[i + 1]
                if up[b:a2].isspace() and f"{t} {t2}" in self.tokens:
                    found.append((a, b2, f"{t} {t2}"))
            if t in self.tokens:
                found.append((a, b, t))
        for o in self.other:
            start = up.find(o)
            while start >= 0:
                found.append((start, start + len(o), o))
                start = up.find(o, start + 1)
        found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
        out: list[tuple[int, int, str]] = []
        end = -1
        for a, b, t in found:
            if a >= end:
                out.append((a, b, t))
                end = b
        return out

    def found(self, text: str) -> list[str]:
        """The forbidden strings present in ``text`` (each once)."""
        return sorted({t for _, _, t in self.spans(text)})

    def redact(self, text: str) -> str:
        pieces, last = [], 0
        for a, b, _ in self.spans(text):
            pieces.append(text[last:a])
            pieces.append(REDACTED)
            last = b
        pieces.append(text[last:])
        return "".join(pieces)


def redact_text(text: Any, forbidden: Iterable[str] | ForbiddenStrings = ()) -> str:
    """Text with postcodes, quoted values, coordinates, long numbers and ``forbidden`` strings
    replaced by ``[withheld]`` (for problems and reasons written to published files). A quoted
    value that is a DfE category or a code-list name (:func:`published_labels`) is kept.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ""
    s = str(text)
    matcher = (
        forbidden
        if isinstance(forbidden, ForbiddenStrings)
        else ForbiddenStrings(forbidden, min_len=3)
    )
    s = matcher.redact(s)
    s = _QUOTED_RE.sub(_redact_quoted, s)
    s = _POSTCODE_TEXT_RE.sub(REDACTED, s)
    s = _DISTRICT_RE.sub(r"\1 " + REDACTED, s)
    s = _COORD_PAIR_RE.sub(REDACTED, s)
    s = _BIG_NUMBER_RE.sub(REDACTED, s)
    return s


def redact_issues(issues: pd.DataFrame, forbidden: Iterable[str] = ()) -> pd.DataFrame:
    """A publishable copy of a validation issues table: no ``value`` column, values taken out of
    ``problem`` (see :func:`redact_text`). Row numbers and column names are kept.
    """
    out = issues.drop(columns=[c for c in ("value",) if c in issues.columns]).copy()
    forb = ForbiddenStrings(forbidden, min_len=3)
    if "problem" in out:
        out["problem"] = [redact_text(p, forb) for p in out["problem"]]
    if "column" in out:
        out["column"] = [
            ("" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c))
            for c in out["column"]
        ]
    return out


def redact_reconciliation(rec: pd.DataFrame, forbidden: Iterable[str] = ()) -> pd.DataFrame:
    """A publishable copy of the reconciliation: no ``id`` column (child ids are never published),
    values taken out of ``reason``.
    """
    out = rec.drop(columns=[c for c in ("id",) if c in rec.columns]).copy()
    forb = ForbiddenStrings(forbidden, min_len=3)
    if "reason" in out:
        out["reason"] = [redact_text(r, forb) for r in out["reason"]]
    return out


# ----------------------------------------------------------------------------------------------
# Checks on written files
# ----------------------------------------------------------------------------------------------
def sensitive_site_rows(sites: pd.DataFrame) -> np.ndarray:
    """Which sites' exact locations are never published (children live there): boolean array,
    one per row. Fails closed: a type not in ``site_types.csv`` (or missing) counts as sensitive,
    as does every row of a table without a ``type`` column.
    """
    if "type" not in sites:
        return np.ones(len(sites), dtype=bool)
    return np.array(
        [is_sensitive_site_type(t) for t in sites["type"].astype(str)], dtype=bool
    ).reshape(len(sites))


def personal_strings(  # noqa: C901
    placements: pd.DataFrame,
    *,
    sites: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    extra: Iterable[str] = (),
) -> list[str]:
    """Strings that must not appear in published files: child ids, home/placement postcodes and
    their grid references (as the pair ``"E N"``, never a lone easting or northing); with ``sites``, the postcodes of homes and foster clusters; with
    ``candidates``, the candidate properties' postcodes.
    """
    out: set[str] = set(extra)
    for col in ("CHILD",):
        if col in placements:
            out |= {str(v) for v in placements[col].dropna() if len(str(v)) >= 4}
    for col in ("HOME_POST", "PL_POST"):
        if col in placements:
            for v in placements[col].dropna():
                v = str(v).strip()
                if v:
                    out.add(v)
                    out.add(v.replace(" ", ""))
    # Grid references only as the pair "E N": a lone easting or northing is just a number
    # (southern councils' northings, 100 000-300 000, are also property costs, distances and
    # counts). Pairs written any other way are found by the point check
    # (:func:`personal_points` with :func:`check_published_file`).
    for e, n in (("home_e", "home_n"), ("pl_e", "pl_n")):
        if e in placements and n in placements:
            pts = placements[[e, n]].apply(pd.to_numeric, errors="coerce").dropna().to_numpy()
            for x, y in pts:
                out.add(f"{x:.0f} {y:.0f}")
    for frame, only_sensitive in ((sites, True), (candidates, False)):
        if frame is None or "postcode" not in frame:
            continue
        sel = frame
        if only_sensitive:
            sel = frame[sensitive_site_rows(frame)]
        for v in sel["postcode"].dropna():
            v = str(v).strip()
            if v and v.upper() not in {"<NA>", "NAN"}:
                out.add(v)
                out.add(v.replace(" ", ""))
    return sorted(s for s in out if s)


def personal_points(placements: pd.DataFrame, *, sites: pd.DataFrame | None = None) -> np.ndarray:
    """Points (EPSG:27700, shape (n, 2)) that must never be published exactly: children's homes,
    placements (carers' homes) and, with ``sites``, children's homes and foster clusters.
    """
    parts = []
    for e, n in (("home_e", "home_n"), ("pl_e", "pl_n")):
        if e in placements and n in placements:
            parts.append(
                placements[[e, n]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
            )
    if sites is not None and {"easting", "northing"} <= set(sites.columns):
        sel = sites[sensitive_site_rows(sites)]
        parts.append(
            sel[["easting", "northing"]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        )
    if not parts:
        return np.empty((0, 2))
    pts = np.vstack(parts)
    pts = pts[np.isfinite(pts).all(axis=1)]
    return np.unique(pts, axis=0) if len(pts) else np.empty((0, 2))


_FLOAT_RE = re.compile(r"-?\d+(?:\.\d+)?")
#: Rows with more numbers than this are checked for adjacent pairs only (all pairs is quadratic).
_MAX_ROW_NUMBERS = 200


def _decimals(tokens: Sequence[str]) -> np.ndarray:
    return np.array([len(t.split(".", 1)[1]) if "." in t else 0 for t in tokens], dtype=np.int64)


def _pairs_to_bng(a: np.ndarray, b: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """Candidate points (EPSG:27700) from ordered number pairs ``(a[i], b[i])``: (lat, lon) or
    (lon, lat) in the UK (where ``fine``), easting/northing or northing/easting.
    """
    out = []
    latlon = fine & (a >= 49) & (a <= 61.5) & (b >= -9) & (b <= 2.5)
    lonlat = fine & (a >= -9) & (a <= 2.5) & (b >= 49) & (b <= 61.5)
    if latlon.any() or lonlat.any():
        from pyproj import Transformer

        to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
        if latlon.any():
            x, y = to_bng.transform(b[latlon], a[latlon])
            out.append(np.c_[x, y])
        if lonlat.any():
            x, y = to_bng.transform(a[lonlat], b[lonlat])
            out.append(np.c_[x, y])
    en = (a >= 1000) & (a <= 700_000) & (b >= 1000) & (b <= 1_300_000)
    if en.any():
        out.append(np.c_[a[en], b[en]])
    ne = (b >= 1000) & (b <= 700_000) & (a >= 1000) & (a <= 1_300_000)
    if ne.any():
        out.append(np.c_[b[ne], a[ne]])
    return np.vstack(out) if out else np.empty((0, 2))


def _points_in_text(text: str, *, min_decimals: int = 0) -> np.ndarray:
    """Candidate points (EPSG:27700) written in a text: consecutive number pairs that look like
    (lat, lon), (lon, lat) in the UK, or easting/northing (either order). With
    ``min_decimals``, degree pairs need at least that many decimals (geosuff rounds every
    published lon/lat to :data:`geosuff.maps.COORD_DECIMALS`, so finer ones can only be a leak).

    A point is always a *pair*: a lone number equal to a child's easting or northing is not a
    location.
    """
    toks = _FLOAT_RE.findall(text)
    if len(toks) < 2:
        return np.empty((0, 2))
    nums = np.array([float(x) for x in toks], dtype=float)
    a, b = nums[:-1], nums[1:]
    if min_decimals:
        dec = _decimals(toks)
        fine = (dec[:-1] >= min_decimals) & (dec[1:] >= min_decimals)
    else:
        fine = np.ones(a.size, dtype=bool)
    return _pairs_to_bng(a, b, fine)


def _points_in_rows(rows: Iterable[Sequence[Any]], *, min_decimals: int = 0) -> np.ndarray:
    """Candidate points (EPSG:27700) in the rows of a table: every ordered pair of numbers in the
    same row (any two columns, or two numbers in one cell such as ``"POINT (E N)"``), read as
    in :func:`_points_in_text`. Numbers in different rows are never paired.
    """
    aa, bb, ff = [], [], []
    for row in rows:
        toks = [t for cell in row if cell is not None for t in _FLOAT_RE.findall(str(cell))]
        if len(toks) < 2:
            continue
        nums = np.array([float(x) for x in toks], dtype=float)
        if len(nums) > _MAX_ROW_NUMBERS:
            i, j = np.arange(len(nums) - 1), np.arange(1, len(nums))
        else:
            i, j = np.nonzero(~np.eye(len(nums), dtype=bool))
        aa.append(nums[i])
        bb.append(nums[j])
        if min_decimals:
            dec = _decimals(toks)
            ff.append((dec[i] >= min_decimals) & (dec[j] >= min_decimals))
        else:
            ff.append(np.ones(i.size, dtype=bool))
    if not aa:
        return np.empty((0, 2))
    return _pairs_to_bng(np.concatenate(aa), np.concatenate(bb), np.concatenate(ff))


def _csv_rows(text: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text)))


def _points_in_vector_file(
    path: Path, *, points_only: bool = False, min_decimals: int = 0
) -> tuple[np.ndarray, str]:
    """The coordinates (EPSG:27700) of every layer of a vector file - all vertices, or with
    ``points_only`` those of point features only - plus number pairs in the same attribute row
    (:func:`_points_in_rows`), and the attribute text.
    """
    import pyogrio
    import shapely

    pts, texts = [], []
    for name, _ in pyogrio.list_layers(path):
        gdf = pyogrio.read_dataframe(path, layer=name)
        attrs = gdf.drop(columns=[c for c in ("geometry",) if c in gdf.columns])
        texts.append(attrs.astype(str).to_csv(index=False))
        if len(attrs.columns) and len(attrs):
            pts.append(
                _points_in_rows(
                    attrs.astype(str).itertuples(index=False, name=None), min_decimals=min_decimals
                )
            )
        if "geometry" in gdf and len(gdf):
            g = gdf.geometry
            if g.crs is not None and g.crs.to_epsg() != 27700:
                g = g.to_crs("EPSG:27700")
            geoms = np.asarray(g.values)
            if points_only:
                geoms = geoms[np.isin(shapely.get_type_id(geoms), [0, 4])]  # Point, MultiPoint
            pts.append(shapely.get_coordinates(geoms))
    pts = [p for p in pts if len(p)]
    return (np.vstack(pts) if pts else np.empty((0, 2))), "\n".join(texts)


def check_published_file(
    path: str | Path,
    forbidden: Iterable[str] | ForbiddenStrings,
    *,
    points: np.ndarray | None = None,
    tolerance_m: float = POINT_TOLERANCE_M,
    strict: bool = True,
) -> list[str]:
    """The personal data found in a file.

    Looks for the ``forbidden`` strings (case-insensitive; numbers as whole tokens) and, with
    ``points`` (EPSG:27700), for any coordinate *pair* within ``tolerance_m`` of one of them:
    written as lat/lon or lon/lat (web maps), as easting/northing (either order) - two adjacent
    numbers in a text, or any two numbers of the same row of a CSV or GeoPackage attribute
    table - or stored as geometry in a GeoPackage. Both coordinates must match the same point:
    a lone number that equals a child's easting or northing (a cost, a distance, a count) is
    not a location. Returns the strings found and ``"point near (E, N)"`` entries.

    ``strict=False`` (the pipeline's own last check, which must not stop a run on a chance
    coincidence) looks only at point features of vector files and at degree pairs written with 4
    or more decimals (every lon/lat geosuff publishes is rounded to 3), not at the vertices of
    catchment or area polygons, which can pass within a few metres of a home by chance.
    """
    p = Path(path)
    found: list[str] = []
    file_pts = np.empty((0, 2))
    min_dec = 0 if strict else 4
    want_points = points is not None and len(points) > 0
    if p.suffix.lower() in {".gpkg", ".shp", ".fgb"}:
        file_pts, text = _points_in_vector_file(p, points_only=not strict, min_decimals=min_dec)
    else:
        text = p.read_text(encoding="utf-8", errors="ignore")
        if p.suffix.lower() in {".html", ".htm"}:  # the report's line-break hints split words
            text = text.replace("<wbr>", "")
        if want_points:
            if (
                p.suffix.lower() == ".csv"
            ):  # pairs within a row (any two columns), never across rows
                file_pts = _points_in_rows(_csv_rows(text), min_decimals=min_dec)
            else:
                file_pts = _points_in_text(text, min_decimals=min_dec)
    matcher = forbidden if isinstance(forbidden, ForbiddenStrings) else ForbiddenStrings(forbidden)
    found += matcher.found(text)
    if want_points and len(file_pts):
        from scipy.spatial import cKDTree

        pts = np.asarray(points, dtype=float)
        tree = cKDTree(pts)
        d, k = tree.query(file_pts, distance_upper_bound=tolerance_m)
        hit = np.isfinite(d)
        for kk in np.unique(k[hit])[:20]:
            x, y = pts[kk]
            found.append(f"point near ({x:.0f}, {y:.0f})")
    return found


def assert_publishable(
    paths: Iterable[str | Path],
    forbidden: Iterable[str] | ForbiddenStrings,
    *,
    points: np.ndarray | None = None,
    tolerance_m: float = POINT_TOLERANCE_M,
    strict: bool = True,
) -> None:
    """Raise :class:`DisclosureError` if any published file contains personal data (see
    :func:`check_published_file`). The message names files, never the data found.
    """
    forb = forbidden if isinstance(forbidden, ForbiddenStrings) else ForbiddenStrings(forbidden)
    problems: dict[str, int] = {}
    for p in paths:
        hits = check_published_file(p, forb, points=points, tolerance_m=tolerance_m, strict=strict)
        if hits:
            problems[Path(p).name] = len(hits)
    if problems:
        raise DisclosureError(
            "Published outputs would contain child-level data (ids, postcodes or points): "
            + "; ".join(f"{k}: {v} item(s)" for k, v in problems.items())
            + ".",
            fix="This is a bug in geosuff - please report it; do not publish these files.",
        )


def safe_value(v: Any) -> str:
    """A value as text; None and NaN as ""."""
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
