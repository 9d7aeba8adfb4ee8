"""The method section and the configuration echoed as TOML into every report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosuff.config import road_times
from geosuff.reference import DFE_KM_PER_MILE, MPH_TO_KPH

if TYPE_CHECKING:
    from geosuff.results import Results, RunGraphMeta
from geosuff.publication.report.tables import _gap_note

logger = logging.getLogger(__name__)


def _method(results: Results) -> dict[str, Any]:
    sc = results.scenario
    a = sc.analysis
    gm = results.graph_meta or {}
    items = [
        (
            "DfE distance measure",
            f"Straight line between the grid references of the home and placement postcodes, in miles rounded to one decimal (km / {DFE_KM_PER_MILE:g}); 'over {a.far_miles:g} miles' when the rounded distance is greater than {a.far_miles:g}. Unknown postcodes count as 'not known'.",
        ),
        (
            "Inside / outside",
            "Upper-tier LA containing the placement postcode compared with the responsible council; 'adjoining' LAs share a boundary (within 500 m on generalised boundaries).",
        ),
        (
            "Road travel time" if road_times(sc) else "Travel time (estimated)",
            _speeds_text(results)
            + f" Catchment thresholds {', '.join(f'{m:g}' for m in a.minutes)} minutes; 'local' is {a.local_minutes:g} minutes; access rasters have {a.raster_cell_m:g} m cells."
            + _edge_text(results),
        ),
        ("Gap areas", _gap_note(results)),
        (
            "Candidate scores",
            "Each component is scored 0-1 (1 = best): children placed far away who could come home to the property (within its places), child population newly within reach of a suitable site, access to services, and a penalty for clustering near existing homes. The total weights them as configured. The best set of properties is chosen together with an exact optimiser (HiGHS mixed-integer programme), not one at a time; the greedy answer is given for comparison.",
        ),
        (
            "Disclosure control",
            f"Counts from 1 to {sc.disclosure.min_count - 1} children are shown as 'c'. Every count in this report, the map and the published tables is checked together, so that no withheld figure can be worked out from the others (by subtraction, or from several tables at once); further figures are withheld where needed. Percentages are withheld where their count is. Areas show bands, and a need is named only where at least {sc.disclosure.min_count} children have it. No child's id, postcode or location appears in this report or the map; provision sites are shown on the map at the centre of their 1 km grid square.",
        ),
        (
            "Road graph",
            _graph_text(gm)
            if road_times(sc)
            else "none (travel times estimated from the straight line).",
        ),
        (
            "Data vintages",
            "Postcodes: ONSPD / Code-Point Open as configured (shipped fallback: Code-Point Open 2014 for Rutland and a packaged ONSPD extract); LSOA 2011 population aged 0-17: ONS mid-2020; LA boundaries: ONS upper-tier LAs April 2023 (generalised); DfE statistics: children looked after in England 2021-2025.",
        ),
    ]
    from geosuff.publication.report.leavers import method_items

    items += method_items(results)
    return {
        "items": items,
        "timings": ", ".join(f"{k} {v:.1f} s" for k, v in (results.timings or {}).items())
        or "not recorded",
    }


def _edge_text(results: Results) -> str:
    """Which catchments reach the edge of the road network (``touches_network_edge``), or ""."""
    from geosuff.analysis.catchments import EDGE_BAND_M
    from geosuff.publication.maps import NETWORK_EDGE_NOTE

    c = results.catchments
    if c is None or len(c) == 0 or "touches_network_edge" not in c.columns:
        return ""
    flag = c["touches_network_edge"].fillna(False).astype(bool)
    if not flag.any():
        return " No catchment reaches the edge of the road network extract."
    by_count: dict[tuple[int, int], list[str]] = {}
    for m, grp in c.assign(_edge=flag).groupby("minutes", sort=True):
        n_all = int(grp["site_id"].nunique())
        n_edge = int(grp.loc[grp["_edge"], "site_id"].nunique())
        if n_edge:
            by_count.setdefault((n_edge, n_all), []).append(f"{float(m):g}")
    parts = [
        f"{f'all {n_all}' if n_edge == n_all else f'{n_edge} of {n_all}'} sites at"
        f" {', '.join(ms[:-1]) + ' and ' + ms[-1] if len(ms) > 1 else ms[0]} min"
        for (n_edge, n_all), ms in by_count.items()
    ]
    return (
        f" Catchments that reach the edge of the road network (a reached road within {EDGE_BAND_M / 1000:g} km"
        f" of the outline of the extract, or a main road cut off by it) {NETWORK_EDGE_NOTE}, so their"
        f" areas are understated: {'; '.join(parts)}."
    )


def _speeds_text(results: Results) -> str:
    """Road speeds in plain English, from the run's settings."""
    if not road_times(results.scenario):
        return (
            'Estimated, not measured on roads: no road network was used ([analysis] travel = "estimate"), so every '
            "travel time is the straight-line distance times a circuity factor, at a fallback speed. Supply an "
            "OpenStreetMap extract covering the council as [inputs] network for road travel times."
        )
    try:
        from geosuff.config import sections as gs

        sp = gs.speed_settings(results.scenario)
    except Exception:
        return "Shortest car travel time on the OpenStreetMap road network."
    limit_mph = sp.urban_limit_kph / MPH_TO_KPH
    table = (
        "the shipped UK table (geosuff/data/uk_speeds.csv)"
        if not sp.speed_table
        else f"the speed table {Path(str(sp.speed_table)).name}"
    )
    src = (
        "the tagged speed limit of each road, or where it has none the typical speed of its road class in "
        + table
        if sp.use_maxspeed
        else "the typical speed of each road class in " + table
    )
    return (
        f"Shortest car travel time on the OpenStreetMap road network. Speeds start from {src}. "
        f"Speed limits are not driving speeds, so roads of {limit_mph:.0f} mph or less (towns and villages) are driven at "
        f"{sp.urban_congestion_factor:.0%} of that speed and faster roads at {sp.congestion_factor:.0%} (never below {sp.min_speed_kph:g} km/h). "
        "One-way streets are respected; homes, placements and sites join the nearest road at walking-to-car speed, and points far from any road are estimated from the straight line."
    )


def _graph_text(gm: RunGraphMeta) -> str:
    if not gm:
        return "not recorded"
    parts = []
    if "nodes" in gm and "edges" in gm:
        parts.append(
            f"{int(gm['nodes']):,} junctions and {int(gm['edges']):,} one-way road segments (the largest part of the network in which every point can reach every other)"
        )
    src = gm.get("source")
    if src:
        parts.append(f"built from {Path(str(src)).name}")
    sha = gm.get("sha256")
    if sha:
        parts.append(f"file SHA-256 {str(sha)[:12]}…")
    if gm.get("scc_nodes_dropped"):
        parts.append(f"{int(gm['scc_nodes_dropped']):,} junctions on isolated fragments left out")
    return "; ".join(parts) + "." if parts else "not recorded"


# ----------------------------------------------------------------------------------------------
# TOML (the scenario, for the appendix)
# ----------------------------------------------------------------------------------------------
def to_toml(data: dict[str, Any]) -> str:
    """A plain TOML rendering of a nested dict (None values are left out)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif v is not None:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for name, sub in tables:
        _toml_table(name, sub, lines)
    return "\n".join(lines).strip() + "\n"


def _toml_table(name: str, d: dict[str, Any], lines: list[str]) -> None:
    simple = [(k, v) for k, v in d.items() if not isinstance(v, dict) and v is not None]
    nested = [(k, v) for k, v in d.items() if isinstance(v, dict)]
    if simple or not nested:
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in simple)
    for k, v in nested:
        _toml_table(f"{name}.{_toml_key(k)}", v, lines)


def _toml_key(k: Any) -> str:
    s = str(k)
    return s if s.replace("_", "").replace("-", "").isalnum() else '"' + s.replace('"', '\\"') + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v) if not (isinstance(v, float) and v.is_integer()) else f"{v:.1f}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return (
            "{ "
            + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None)
            + " }"
        )
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
