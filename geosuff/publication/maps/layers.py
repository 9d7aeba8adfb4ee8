"""Map layers: boundaries, provision, catchments, access, gap areas, candidates and flows, and the grouped layer control."""

from __future__ import annotations

import base64
import html
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from geosuff.config import road_times, travel_phrase
from geosuff.publication import disclosure as dc
from geosuff.reference import (
    BNG,
)

if TYPE_CHECKING:
    from geosuff.publication.ledger import Published
    from geosuff.results import Results
from geosuff.publication.maps.geo import (
    generalise_points,
    published_geojson,
    raster_overlay,
    to_lonlat,
)
from geosuff.publication.maps.parts import (
    _band_key,
    _band_label,
    _candidate_rows,
    _chosen_ids,
    _colour_for,
    _first_col,
    _fmt_num,
    _HtmlPopup,
    _nice_breaks,
    _ordered_types,
    _popup_table,
    _rank_colour,
    _section,
    _site_labels,
    _spread,
    siting_minutes,
)
from geosuff.publication.maps.style import (
    ACCESS_COLOURS,
    CHOSEN_COLOUR,
    GAP_COLOURS,
    GENERALISE_M,
    GROUP_AREAS,
    GROUP_BOUNDARIES,
    GROUP_CANDIDATES,
    GROUP_CATCHMENTS,
    GROUP_PROVISION,
    LAYER_ACCESS_AREAS,
    LAYER_ACCESS_PREFIX,
    LAYER_BOUNDARY,
    LAYER_CANDIDATES,
    LAYER_CATCHMENT_PREFIX,
    LAYER_CHOSEN,
    LAYER_FLOWS,
    LAYER_GAPS,
    LAYER_GROUPS,
    LAYER_NEIGHBOURS,
    LAYER_SITES_PREFIX,
    NETWORK_EDGE_NOTE,
    NETWORK_INSIDE_NOTE,
    site_style,
)

logger = logging.getLogger(__name__)


def layer_group(name: str) -> str:
    """The layer-control group (one of :data:`LAYER_GROUPS`) of the overlay called ``name``."""
    if name in (LAYER_BOUNDARY, LAYER_NEIGHBOURS):
        return GROUP_BOUNDARIES
    if name.startswith(LAYER_SITES_PREFIX):
        return GROUP_PROVISION
    if name in (LAYER_GAPS, LAYER_FLOWS, LAYER_ACCESS_AREAS):
        return GROUP_AREAS
    if name in (LAYER_CANDIDATES, LAYER_CHOSEN):
        return GROUP_CANDIDATES
    return GROUP_CATCHMENTS  # catchments, access-time and other rasters


def legend_ranks(ranks: pd.Series, *, most: int = 5) -> list[int]:
    """Up to ``most`` ranks to show in the candidates' legend: the best, the last and evenly
    spaced ones between, all of them ranks that a published candidate has (ties share a rank,
    so ``1, 1, 3`` gives ``[1, 3]``).
    """
    real = sorted({int(v) for v in pd.to_numeric(ranks, errors="coerce").dropna()})
    if len(real) <= most:
        return real
    idx = np.round(np.linspace(0, len(real) - 1, most)).astype(int)
    return [real[i] for i in dict.fromkeys(idx.tolist())]


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------
def _add_boundaries(m: folium.Map, results: Results, boundary: gpd.GeoDataFrame) -> None:
    neighbours = _neighbours(results)
    if neighbours is not None and len(neighbours):
        fg = folium.FeatureGroup(name=LAYER_NEIGHBOURS, show=True)
        folium.GeoJson(
            published_geojson(neighbours, ["name", "code"], simplify_m=100.0),
            style_function=lambda f: {
                "color": "#7b8794",
                "weight": 1.2,
                "fillColor": "#cbd2d9",
                "fillOpacity": 0.35,
                "dashArray": "4 3",
            },
            tooltip=folium.GeoJsonTooltip(["name"], aliases=["Neighbouring council"]),
        ).add_to(fg)
        fg.add_to(m)
    fg = folium.FeatureGroup(name=LAYER_BOUNDARY, show=True)
    b = boundary.copy()
    if "name" not in b:
        b["name"] = results.council_name
    folium.GeoJson(
        published_geojson(b, ["name"], simplify_m=50.0),
        style_function=lambda f: {"color": "#1f2933", "weight": 3, "fill": False},
        tooltip=folium.GeoJsonTooltip(["name"], aliases=["Council"]),
    ).add_to(fg)
    fg.add_to(m)


def _neighbours(results: Results) -> gpd.GeoDataFrame | None:
    """The adjoining LAs the pipeline put in ``results.neighbours`` (publication never re-reads
    the boundaries: the scenario may have its own ``[inputs] boundaries``).
    """
    nb = results.neighbours
    if nb is None or len(nb) == 0:
        return None
    return nb.to_crs(BNG) if nb.crs is not None else nb.set_crs(BNG)


def _add_sites(m: folium.Map, results: Results, legend: list[tuple[list[str], str]]) -> bool:
    s = results.sites
    if s is None or len(s) == 0 or not {"easting", "northing", "type"} <= set(s.columns):
        return False
    if "status" in s:
        s = s[s["status"].astype(str).str.startswith("used")]
    e = pd.to_numeric(s["easting"], errors="coerce").to_numpy(float)
    n = pd.to_numeric(s["northing"], errors="coerce").to_numpy(float)
    ok = np.isfinite(e) & np.isfinite(n)
    s = s[ok].copy()
    if s.empty:
        return False
    ge, gn = generalise_points(e[ok], n[ok])
    s["_ge"], s["_gn"] = ge, gn
    s["_places"] = pd.to_numeric(s["places"], errors="coerce") if "places" in s else np.nan
    s["_avail"] = (
        pd.to_numeric(s["available_places"], errors="coerce") if "available_places" in s else np.nan
    )
    labels = _site_labels()
    names: list[str] = []
    for typ in _ordered_types(s["type"].astype(str).unique()):
        letter, colour = site_style(typ)
        label = labels.get(typ, typ.replace("_", " ").capitalize())
        name = f"{LAYER_SITES_PREFIX}{label}"
        names.append(name)
        fg = folium.FeatureGroup(name=name, show=True)
        sub = s[s["type"].astype(str) == typ]
        for (ce, cn), grp in sub.groupby(["_ge", "_gn"], sort=True):
            lon, lat = to_lonlat([ce], [cn])
            k = len(grp)
            ratings = sorted(
                {
                    str(r)
                    for r in grp.get("rating", pd.Series(dtype=str)).dropna()
                    if str(r).strip() and str(r) != "<NA>"
                }
            )
            rows = [
                ("Type", label),
                ("Sites in this 1 km square", str(k)),
                ("Places", _fmt_num(grp["_places"].sum(min_count=1))),
                ("Spare places", _fmt_num(grp["_avail"].sum(min_count=1))),
            ]
            if ratings:
                rows.append(
                    ("Ofsted rating" + ("s" if len(ratings) > 1 else ""), "; ".join(ratings))
                )
            if "site_id" in grp:
                rows.append(
                    ("Site id" + ("s" if k > 1 else ""), ", ".join(str(v) for v in grp["site_id"]))
                )
            popup = _popup_table(
                f"{label}{' ×' + str(k) if k > 1 else ''}",
                rows,
                note="Location generalised to the centre of its 1 km grid square; no address is shown.",
            )
            badge = f'<span class="gs-badge">{k}</span>' if k > 1 else ""
            icon = folium.DivIcon(
                html=f'<div class="gs-site" style="background:{colour}" data-type="{html.escape(typ)}">{letter}{badge}</div>',
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name="gs-site-icon",
            )
            mk = folium.Marker(
                [float(lat[0]), float(lon[0])],
                icon=icon,
                tooltip=f"{label}{f' ({k})' if k > 1 else ''}",
                rise_on_hover=True,  # a marker half under another comes to the front
            )
            _HtmlPopup(popup, max_width=340).add_to(mk)
            mk.add_to(fg)
        fg.add_to(m)
    items = "".join(
        f'<div class="gs-row"><span class="gs-site gs-site-sm" style="background:{site_style(t)[1]}" data-type="{html.escape(t)}">{site_style(t)[0]}</span>{html.escape(labels.get(t, t))}</div>'
        for t in _ordered_types(s["type"].astype(str).unique())
    )
    if s.groupby(["type", "_ge", "_gn"]).size().max() > 1:  # a marker carries a count badge
        items += '<div class="gs-row"><span class="gs-site gs-site-sm" style="background:#7b8794">&nbsp;<span class="gs-badge">2</span></span>&nbsp;number of sites of that type in the square</div>'
    legend.append(
        (
            names,
            _section(
                "Provision sites",
                items
                + f'<div class="gs-note">Shown at the centre of their {GENERALISE_M / 1000:g} km grid square.</div>',
                "sites",
            ),
        )
    )
    return True


def _add_catchments(m: folium.Map, results: Results, legend: list[tuple[list[str], str]]) -> bool:
    gdf = (
        results.served if results.served is not None and len(results.served) else results.catchments
    )
    if gdf is None or len(gdf) == 0:
        return False
    mcol = _first_col(gdf, ("minutes", "threshold_min", "threshold", "max_minutes"))
    tcol = _first_col(gdf, ("type", "site_type"))
    if mcol is None:
        return False
    g = gdf.copy()
    g["_min"] = pd.to_numeric(g[mcol], errors="coerce")
    g["_type"] = g[tcol].astype(str) if tcol else "all"
    if "touches_network_edge" in g.columns:
        g["_edge"] = g["touches_network_edge"].fillna(False).astype(bool)
    else:
        g["_edge"] = False
    if gdf is results.catchments:  # dissolve per type and threshold: single sites are not outlined
        edge = g.groupby(["_type", "_min"])["_edge"].any()
        g = g.dissolve(by=["_type", "_min"], as_index=False)
        g["_edge"] = [bool(edge[(t, v)]) for t, v in zip(g["_type"], g["_min"], strict=True)]
    g["edge_note"] = np.where(g["_edge"], NETWORK_EDGE_NOTE, NETWORK_INSIDE_NOTE)
    labels = _site_labels()
    g["type_label"] = [labels.get(t, t.replace("_", " ")) for t in g["_type"]]
    g["minutes_label"] = [f"{v:g} min" for v in g["_min"]]
    if "area_km2" not in g:
        g["area_km2"] = (g.geometry.to_crs(BNG).area / 1e6).round(1)
    else:
        g["area_km2"] = pd.to_numeric(g["area_km2"], errors="coerce").round(1)
    local = results.scenario.analysis.local_minutes
    names = []
    for mins in sorted(g["_min"].dropna().unique()):
        name = f"{LAYER_CATCHMENT_PREFIX}within {mins:g} min {travel_phrase(results.scenario)}"
        names.append(name)
        fg = folium.FeatureGroup(name=name, show=bool(math.isclose(mins, local)))
        sub = g[g["_min"] == mins]
        colours = {t: site_style(t)[1] for t in sub["_type"]}
        gj = published_geojson(
            sub.assign(site_type=sub["_type"]),
            ["site_type", "type_label", "minutes_label", "area_km2", "edge_note"],
        )
        folium.GeoJson(
            gj,
            style_function=lambda f, c=colours: {
                "color": c.get(f["properties"]["site_type"], "#616e7c"),
                "weight": 1.5,
                "fillColor": c.get(f["properties"]["site_type"], "#616e7c"),
                "fillOpacity": 0.05,
            },
            tooltip=folium.GeoJsonTooltip(
                ["type_label", "minutes_label", "area_km2", "edge_note"],
                aliases=["Served by", "Within", "Area (km²)", "Extent"],
            ),
            popup=folium.GeoJsonPopup(
                ["type_label", "minutes_label", "area_km2", "edge_note"],
                aliases=["Served by", "Within", "Area (km²)", "Extent"],
            ),
        ).add_to(fg)
        fg.add_to(m)
    how = "by road" if road_times(results.scenario) else "(estimated from the straight line)"
    legend.append(
        (
            names,
            _section(
                "Catchments",
                f'<div class="gs-note">Area reachable {how} within the threshold from the nearest site of each type (outline colour = site type). One layer per threshold.</div>'
                + (
                    f'<div class="gs-note">Catchments that reach the edge of the road network {NETWORK_EDGE_NOTE} (see the details of each outline).</div>'
                    if bool(g["_edge"].any())
                    else ""
                ),
                "catchments",
            ),
        )
    )
    return True


def _raster_info(path: Path) -> tuple[str, str, float]:
    """Units (tag ``units``, default "minutes"), description and maximum of a raster."""
    import rasterio

    with rasterio.open(path) as src:
        units = str(src.tags().get("units", "minutes"))
        desc = str(src.descriptions[0] or "") if src.descriptions else ""
        band = src.read(1, masked=True)
        hi = float(band.max()) if band.count() else 0.0
    return units, desc, hi


def _add_access_rasters(
    m: folium.Map, results: Results, legend: list[tuple[list[str], str]]
) -> bool:
    rasters = {
        k: Path(v) for k, v in (results.rasters or {}).items() if v is not None and Path(v).exists()
    }
    if not rasters:
        return False
    minutes = sorted(float(v) for v in results.scenario.analysis.minutes)[: len(ACCESS_COLOURS) - 1]
    colours = _spread(ACCESS_COLOURS, len(minutes) + 1)
    labels = _site_labels()
    time_names: list[str] = []
    other: dict[str, list[str]] = {}
    other_legend: dict[str, str] = {}
    # "any site" first, then by type
    keys = sorted(rasters, key=lambda k: (0 if k.endswith("any") or "any_site" in k else 1, k))
    for key in keys:
        path = rasters[key]
        try:
            units, desc, hi = _raster_info(path)
            is_time = units.lower().startswith("min")
            if is_time:
                breaks, cols = minutes, colours
            else:
                breaks = _nice_breaks(hi)
                cols = _spread(
                    ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"], len(breaks) + 1
                )
            png, bounds = raster_overlay(path, breaks=breaks, colours=cols)
        except Exception as err:  # a broken raster must not stop the map
            logger.warning("raster %s not drawn: %s", path.name, err)
            continue
        typ = next((t for t in sorted(labels, key=len, reverse=True) if t in key), None)
        what = (
            f"nearest {labels[typ].lower()}"
            if typ
            else ("nearest site of any type" if "any" in key else key.replace("_", " "))
        )
        if is_time:
            name = f"{LAYER_ACCESS_PREFIX}{what}"
            show = not time_names
            time_names.append(name)
        else:
            name = f"{units.capitalize()}: {labels[typ] if typ else key.replace('_', ' ')} (raster)"
            show = False
            other.setdefault(units, []).append(name)
            edges = [0.0, *breaks]
            other_legend[units] = "".join(
                f'<div class="gs-row"><span class="gs-swatch" style="background:{c}"></span>{_band_label(edges, j, unit="")}</div>'
                for j, c in enumerate(cols)
            )
        fg = folium.FeatureGroup(name=name, show=show)
        folium.raster_layers.ImageOverlay(
            image="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            bounds=bounds,
            opacity=0.55,
            interactive=False,
            cross_origin=False,
            zindex=1,
            className="gs-raster",
        ).add_to(fg)
        fg.add_to(m)
    if time_names:
        edges = [0.0, *minutes]
        items = "".join(
            f'<div class="gs-row"><span class="gs-swatch" style="background:{c}"></span>{_band_label(edges, j)}</div>'
            for j, c in enumerate(colours)
        )
        legend.append(
            (
                time_names,
                _section(
                    "Road minutes to the nearest site"
                    if road_times(results.scenario)
                    else "Minutes to the nearest site (estimated)",
                    items
                    + f'<div class="gs-note">{results.scenario.analysis.raster_cell_m:g} m cells; coloured in threshold bands.</div>',
                    "access",
                ),
            )
        )
    for units, names in other.items():
        legend.append(
            (
                names,
                _section(
                    units.capitalize(),
                    other_legend[units]
                    + f'<div class="gs-note">{results.scenario.analysis.raster_cell_m:g} m cells.</div>',
                    "raster-other",
                ),
            )
        )
    return bool(time_names or other)


def _add_area_access(m: folium.Map, results: Results, legend: list[tuple[list[str], str]]) -> bool:
    a = results.areas
    if a is None or len(a) == 0 or "places_per_1000" not in a:
        return False
    g = a.copy()
    v = pd.to_numeric(g["places_per_1000"], errors="coerce")
    g["ppk"] = v.round(2)
    g["area_label"] = (
        g["area_name"].astype(str) if "area_name" in g else g.get("area_id", "").astype(str)
    )
    hi = float(np.nanmax(v)) if np.isfinite(v).any() else 0.0
    breaks = _nice_breaks(hi)
    colours = _spread(["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"], len(breaks) + 1)
    fg = folium.FeatureGroup(name=LAYER_ACCESS_AREAS, show=False)
    folium.GeoJson(
        published_geojson(g, ["area_label", "ppk"]),
        style_function=lambda f, b=breaks, c=colours: {
            "color": "#52606d",
            "weight": 0.6,
            "fillColor": _colour_for(f["properties"]["ppk"], b, c),
            "fillOpacity": 0.65,
        },
        tooltip=folium.GeoJsonTooltip(
            ["area_label", "ppk"], aliases=["Area", "Places per 1,000 children"]
        ),
    ).add_to(fg)
    fg.add_to(m)
    edges = [0.0, *breaks]
    items = "".join(
        f'<div class="gs-row"><span class="gs-swatch" style="background:{c}"></span>{_band_label(edges, j, unit="")}</div>'
        for j, c in enumerate(colours)
    )
    minutes = results.scenario.analysis.local_minutes
    legend.append(
        (
            [LAYER_ACCESS_AREAS],
            _section(
                "Places per 1,000 children",
                items
                + f'<div class="gs-note">Two-step floating catchment, {minutes:g} min {travel_phrase(results.scenario)}.</div>',
                "areas",
            ),
        )
    )
    return True


def _add_gaps(
    m: folium.Map, results: Results, pub: Published, legend: list[tuple[list[str], str]]
) -> bool:
    gp = pub.gap_areas
    if gp is None or len(gp) == 0 or "geometry" not in gp:
        return False
    g = gp.copy()
    if "count_band" not in g:
        raw = _first_col(g, ("n_far", "children", "n_children", "count"))
        if raw is None:
            return False
        g["count_band"] = [
            dc.count_band(int(v), min_count=results.scenario.disclosure.min_count)
            for v in pd.to_numeric(g[raw], errors="coerce").fillna(0)
        ]
    g["count_band"] = g["count_band"].astype(str)
    bands = sorted(g["count_band"].unique(), key=_band_key)
    colours = dict(zip(bands, _spread(GAP_COLOURS[1:], len(bands)), strict=True))
    g["area_label"] = (
        g["area_name"].astype(str)
        if "area_name" in g
        else g.get("area_id", pd.Series("", index=g.index)).astype(str)
    )
    for c in ("needed_groups", "lacks", "evidence"):
        g[c] = g[c].fillna("").astype(str) if c in g else ""
    g["rank"] = (
        pd.to_numeric(g["rank"], errors="coerce").fillna(0).astype(int)
        if "rank" in g
        else np.arange(1, len(g) + 1)
    )
    g["gap"] = (
        g["outside_catchment"].map({True: "yes", False: "no"}).fillna("not assessed").astype(str)
        if "outside_catchment" in g
        else "not assessed"
    )
    fg = folium.FeatureGroup(name=LAYER_GAPS, show=True)
    folium.GeoJson(
        published_geojson(
            g, ["rank", "area_label", "count_band", "needed_groups", "lacks", "gap", "evidence"]
        ),
        style_function=lambda f, c=colours: {
            "color": "#7f0000" if f["properties"]["gap"] == "yes" else "#a63603",
            "weight": 2.5 if f["properties"]["gap"] == "yes" else 1.2,
            "fillColor": c.get(f["properties"]["count_band"], "#fcae91"),
            "fillOpacity": 0.6,
        },
        highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(
            ["rank", "area_label", "count_band", "needed_groups", "lacks"],
            aliases=["Gap rank", "Area", "Children placed far away", "Needs", "Lacks"],
        ),
        popup=folium.GeoJsonPopup(
            ["area_label", "evidence"], aliases=["Area", "Evidence"], max_width=360
        ),
    ).add_to(fg)
    fg.add_to(m)
    far = results.scenario.analysis.far_miles
    items = "".join(
        f'<div class="gs-row"><span class="gs-swatch" style="background:{colours[b]}"></span>{html.escape(b)} children</div>'
        for b in bands
    )
    items += '<div class="gs-row"><span class="gs-swatch gs-swatch-gap"></span>outside every suitable catchment</div>'
    legend.append(
        (
            [LAYER_GAPS],
            _section(
                f"Gap areas: children placed over {far:g} miles away",
                items
                + f'<div class="gs-note">Home areas with at least {results.scenario.disclosure.min_count} such children; counts shown as bands only.</div>',
                "gaps",
            ),
        )
    )
    return True


def _add_candidates(
    m: folium.Map, results: Results, pub: Published, legend: list[tuple[list[str], str]]
) -> bool:
    c = pub.candidates
    if c is None or len(c) == 0 or not {"easting", "northing"} <= set(c.columns):
        return False
    e = pd.to_numeric(c["easting"], errors="coerce").to_numpy(float)
    n = pd.to_numeric(c["northing"], errors="coerce").to_numpy(float)
    ok = np.isfinite(e) & np.isfinite(n)
    if not ok.any():
        return False
    c = c[ok].copy()
    lon, lat = to_lonlat(e[ok], n[ok])
    rank = (
        pd.to_numeric(c["rank"], errors="coerce")
        if "rank" in c
        else pd.Series(np.nan, index=c.index)
    )
    eligible = c["eligible"].fillna(False).astype(bool) if "eligible" in c else rank.notna()
    chosen_ids = _chosen_ids(results)
    idcol = _first_col(c, ("candidate_id", "id", "site_id"))
    n_rank = int(rank[eligible].max()) if eligible.any() and rank[eligible].notna().any() else 1
    fg = folium.FeatureGroup(name=LAYER_CANDIDATES, show=True)
    fgc = folium.FeatureGroup(name=LAYER_CHOSEN, show=True)
    any_chosen = False
    order = np.argsort(-rank.fillna(1e9).to_numpy())  # draw best last (on top)
    for j in order:
        row = c.iloc[j]
        cid = str(row[idcol]) if idcol else str(j + 1)
        r = rank.iloc[j]
        el = bool(eligible.iloc[j])
        colour = _rank_colour(float(r), n_rank) if el and np.isfinite(r) else "#9aa5b1"
        text = f"{int(r)}" if el and np.isfinite(r) else "×"
        is_chosen = cid in chosen_ids
        title = f"Candidate {cid}" + (
            f" - rank {int(r)}" if el and np.isfinite(r) else " - not eligible"
        )
        if is_chosen:
            title += " - CHOSEN"
        popup = _popup_table(
            title,
            _candidate_rows(row, minutes=siting_minutes(results)),
            note="Each component has a 0-1 score (1 = best); the total weights them as set in [siting].",
        )
        icon = folium.DivIcon(
            html=f'<div class="gs-cand{" gs-cand-chosen" if is_chosen else ""}{"" if el else " gs-cand-no"}" style="background:{colour}">{text}</div>',
            icon_size=(26, 26),
            icon_anchor=(13, 13),
            class_name="gs-cand-icon",
        )
        mk = folium.Marker(
            [float(lat[j]), float(lon[j])],
            icon=icon,
            tooltip=title,
            z_index_offset=1000 if is_chosen else 0,
            rise_on_hover=True,
        )
        _HtmlPopup(popup, max_width=380).add_to(mk)
        mk.add_to(fg)
        if is_chosen:
            any_chosen = True
            folium.CircleMarker(
                [float(lat[j]), float(lon[j])],
                radius=19,
                color=CHOSEN_COLOUR,
                weight=4,
                fill=False,
                tooltip=f"Chosen: {cid}",
            ).add_to(fgc)
    fg.add_to(m)
    names = [LAYER_CANDIDATES]
    if any_chosen:
        fgc.add_to(m)
        names.append(LAYER_CHOSEN)
    ramp = "".join(
        f'<span class="gs-cand gs-cand-sm" style="background:{_rank_colour(r, n_rank)}">{r}</span>'
        for r in legend_ranks(rank[eligible])
    )
    items = f'<div class="gs-row">{ramp} rank (1 = best)</div>' if ramp else ""
    if not eligible.all() or rank[eligible].isna().any():
        items += '<div class="gs-row"><span class="gs-cand gs-cand-sm" style="background:#9aa5b1">×</span>not eligible</div>'
    if any_chosen:
        items += f'<div class="gs-row"><span class="gs-ring" style="border-color:{CHOSEN_COLOUR}"></span>chosen set (optimal)</div>'
    legend.append((names, _section("Candidate properties", items, "candidates")))
    return True


def _add_flows(
    m: folium.Map, results: Results, pub: Published, legend: list[tuple[list[str], str]]
) -> bool:
    if results.flows is None and not len(pub.flows):
        return False
    lines, summary = pub.flows, pub.flows_summary
    mc = results.scenario.disclosure.min_count
    far_miles = results.scenario.analysis.far_miles
    fg = folium.FeatureGroup(name=LAYER_FLOWS, show=False)
    for r in lines.itertuples(index=False):
        lon, lat = to_lonlat([r.from_e, r.to_e], [r.from_n, r.to_n])
        tip = f"{html.escape(r.from_label)} &rarr; {html.escape(r.to_label)}: {r.children} children, band {html.escape(r.band)} ({r.far} over {far_miles:g} miles)"
        folium.PolyLine(
            [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]],
            weight=float(r.width),
            color="#6b46c1",
            opacity=0.7,
            tooltip=tip,
        ).add_to(fg)
        folium.CircleMarker(
            [float(lat[1]), float(lon[1])],
            radius=4,
            color="#6b46c1",
            fill=True,
            fill_opacity=1,
            tooltip=html.escape(r.to_label),
        ).add_to(fg)
    fg.add_to(m)
    note = (
        f"Lines join home areas (or the council's centre) to the centre of the placement council, "
        f"width by band of children. Only flows of {mc} or more children are drawn. "
        f"Placed inside the council: {summary.get('inside', ':')}. Not drawn (smaller flows or unknown LA, "
        f"{summary.get('other_las', '0')} councils): {summary.get('other', ':')}."
    )
    legend.append(
        (
            [LAYER_FLOWS],
            _section(
                "Placement flows",
                '<div class="gs-row"><span class="gs-line"></span>children placed outside the council</div>'
                + (
                    '<div class="gs-row"><span class="gs-dot"></span>centre of the placement council</div>'
                    if len(lines)
                    else ""
                )
                + f'<div class="gs-note">{html.escape(note)}</div>',
                "flows",
            ),
        )
    )
    return True


# ----------------------------------------------------------------------------------------------
# Controls (legend, title, attribution) and assets
# ----------------------------------------------------------------------------------------------
class _GroupedLayerControl(folium.LayerControl):
    """folium's layer control, collapsed to an icon (it opens on hover or click), with the
    overlays in the order of :data:`LAYER_GROUPS` under a heading per group.

    Plain Leaflet (no plugin: the grouped-layers plugin is only on a CDN, and the map must draw
    offline); the headings are re-inserted each time Leaflet redraws the list.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }}_groups = {{ this.groups|tojson }};
        var {{ this.get_name() }}_Control = L.Control.Layers.extend({
          _update: function() {
            L.Control.Layers.prototype._update.call(this);
            var groups = {{ this.get_name() }}_groups, last = null;
            var labels = this._overlaysList.querySelectorAll('label');
            labels.forEach(function(lab){
              var span = lab.querySelector('span span') || lab.querySelector('span');
              var g = groups[span ? span.textContent.trim() : ''] || '';
              if (g && g !== last) {
                var h = L.DomUtil.create('div', 'gs-layer-group');
                h.textContent = g;
                h.setAttribute('data-group', g);
                lab.parentNode.insertBefore(h, lab);
              }
              last = g;
            });
            return this;
          }
        });
        var {{ this.get_name() }} = new {{ this.get_name() }}_Control(
            { {%- for key, val in this.base_layers.items() %}{{ key|tojson }}: {{ val }},{% endfor -%} },
            { {%- for key, val in this.overlays.items() %}{{ key|tojson }}: {{ val }},{% endfor -%} },
            {{ this.options|tojson }}
        ).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, *, position: str = "topright") -> None:
        super().__init__(position=position, collapsed=True)
        self.groups: dict[str, str] = {}

    def render(self, **kwargs: Any) -> Any:
        """Collect the map's layers (as folium does), then order the overlays by group."""
        self.reset()
        parent = self._parent
        if parent is None:
            raise RuntimeError("add the layer control to a map before rendering it")
        for item in parent._children.values():
            if not isinstance(item, folium.map.Layer) or not item.control:
                continue
            if not item.overlay:
                self.base_layers[item.layer_name] = item.get_name()
            else:
                self.overlays[item.layer_name] = item.get_name()
        order = {g: i for i, g in enumerate(LAYER_GROUPS)}
        names = sorted(self.overlays, key=lambda n: order[layer_group(n)])  # stable in a group
        self.overlays = type(self.overlays)((n, self.overlays[n]) for n in names)
        self.groups = {n: layer_group(n) for n in names}
        return MacroElement.render(self, **kwargs)


class _FitClear(MacroElement):
    """Fit the map to ``bounds`` with the padding the title, legend and layer control take, so
    no marker inside the council is drawn under a panel (plain 10 px on a narrow screen).
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }};
          function w(sel){ var el = document.querySelector(sel); return el ? el.offsetWidth : 0; }
          var left = w('.gs-title') + 20;
          var right = Math.max(w('.gs-legend'), w('.leaflet-control-layers')) + 20;
          if (map.getSize().x - left - right < 320) { left = 10; right = 10; }
          map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [left, 10], paddingBottomRight: [right, 10], animate: false});
        })();
        {% endmacro %}"""
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitClear"
        self.bounds = bounds
