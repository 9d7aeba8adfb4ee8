"""A region's published tables, report and map, under one disclosure ledger with its councils.

Every figure each council publishes (its own ledger: shown counts, withheld ``c`` counts, bands)
is copied into one regional :class:`~geosuff.publication.ledger.Ledger` over all the councils'
records: a figure the council shows is *forced* (a reader knows it), a figure it withholds is
*implied* (not shown, protected when small). The regional figures (flows, regional indicators)
are then registered over the same records and the suppression is solved for all of them
together, so no small count of any council can be worked out by differencing the region
against its councils (or against the other regional tables).
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from branca.element import Element

from geosuff.analysis import gaps
from geosuff.analysis import region as core
from geosuff.config import road_times
from geosuff.inputs import site_types
from geosuff.publication import disclosure as dc
from geosuff.publication.ledger import FLOW_BANDS, SUPPRESSED, Ledger
from geosuff.publication.ledger import build as build_ledger
from geosuff.publication.maps.geo import to_lonlat
from geosuff.publication.maps.parts import _asset, _HtmlPopup, _inline_assets, _stable_ids
from geosuff.publication.maps.style import ATTRIBUTION, COORD_DECIMALS
from geosuff.reference import BNG
from geosuff.siting import CouncilSiting, JointSelection

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

#: Columns of a council's records the region needs (one row per placement row of the council).
RECORD_COLUMNS = (
    "status",
    "placement_la",
    "placement_la_name",
    "inside_la",
    "dfe_miles",
    "road_minutes",
    "place_group",
)
#: The regional indicator measures, in order: (name, column label).
REGION_MEASURES: tuple[tuple[str, str], ...] = (
    ("inside_own_la", "placed inside own LA"),
    ("inside_region", "placed inside the region"),
    ("within_miles", f"placed {core.REGION_FAR_MILES:g} miles or less from home"),
    ("within_minutes", "placed within T minutes of home"),
)


@dataclass
class CouncilFigures:
    """A council's published figures as the regional ledger needs them (from its own ledger).

    Attributes
    ----------
    n_records : int
        Records of the council's ledger (its placement rows first, then e.g. other years').
    members : list of int arrays
        The records each figure counts.
    kind : list of int
        :data:`geosuff.publication.disclosure.EXACT` etc.
    shown : list of bool
        Whether the council publishes the figure as its count.
    lower, upper : list of float
        Published band of a figure (NaN: none).
    """

    n_records: int
    members: list[npt.NDArray[np.int64]]
    kind: list[int]
    shown: list[bool]
    lower: list[float]
    upper: list[float]


@dataclass
class CouncilPart:
    """What one council's run hands to the region (small, picklable: Dask moves it).

    Attributes
    ----------
    code, name : str
        The council.
    synthetic : bool
    records : DataFrame
        One row per placement row (``RECORD_COLUMNS``); *restricted*, never written.
    figures : CouncilFigures
    sites : DataFrame
        Used provision sites: ``type``, ``places``, ``available_places``.
    boundary : GeoDataFrame
        The council polygon (EPSG:27700).
    local_minutes : float
    min_count : int
    travel : str
        "by road" or "estimated".
    la_names : dict of str to str
        Names of the LAs its children are placed in.
    forbidden : list of str
        *Restricted.* Strings no published file may contain (child ids, postcodes, grid
        references: :func:`geosuff.publication.disclosure.personal_strings`).
    points : float array, shape (n, 2)
        *Restricted.* Children's homes and placements (EPSG:27700), never published exactly.
    siting : CouncilSiting or None
        *Restricted.* Its children, candidates and existing sites for the region's joint siting
        (:func:`geosuff.region.joint.council_siting`), in memory only.
    """

    code: str
    name: str
    synthetic: bool
    records: pd.DataFrame
    figures: CouncilFigures
    sites: pd.DataFrame
    boundary: gpd.GeoDataFrame
    local_minutes: float
    min_count: int
    travel: str
    la_names: dict[str, str] = field(default_factory=dict)
    forbidden: list[str] = field(default_factory=list)
    points: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 2)))
    siting: CouncilSiting | None = None


def check_region_files(paths: list[Path], parts: list[CouncilPart]) -> list[str]:
    """Personal data found in the region's files (the councils' child ids, postcodes, grid
    references and home/placement points; :func:`geosuff.publication.disclosure.check_published_file`).
    """
    forbidden = dc.ForbiddenStrings(sorted({s for p in parts for s in p.forbidden}))
    pts = [p.points for p in parts if len(p.points)]
    points = np.vstack(pts) if pts else None
    found = []
    for path in paths:
        hits = dc.check_published_file(path, forbidden, points=points, strict=False)
        found += [f"{path.name}: {h}" for h in hits]
    return found


def council_figures(led: Ledger) -> CouncilFigures:
    """The figures of a solved council ledger."""
    return CouncilFigures(
        n_records=led.n_records,
        members=[np.asarray(m, dtype=np.int64) for m in led.members],
        kind=[int(k) for k in led.kind],
        shown=[led.shown(h) for h in range(len(led.members))],
        lower=[float(x) for x in led.lower],
        upper=[float(x) for x in led.upper],
    )


def council_part(results: Results) -> CouncilPart:
    """The region's view of a council run (its ledger rebuilt: the same figures its files show)."""
    pub = build_ledger(results)
    assert pub.ledger is not None
    m = results.measures.reset_index(drop=True)
    rec = pd.DataFrame({c: m[c] if c in m.columns else None for c in RECORD_COLUMNS})
    s = results.sites
    used = s[s["status"].astype(str) != "excluded"] if "status" in s.columns else s
    sites = pd.DataFrame(
        {
            "type": used["type"].astype(str).to_numpy(),
            "places": pd.to_numeric(used["places"], errors="coerce").to_numpy(float),
            "available_places": pd.to_numeric(
                used.get("available_places", pd.Series(np.nan, index=used.index)),
                errors="coerce",
            ).to_numpy(float),
        }
    )
    names = (
        m[["placement_la", "placement_la_name"]].dropna().drop_duplicates("placement_la")
        if {"placement_la", "placement_la_name"} <= set(m.columns)
        else pd.DataFrame(columns=["placement_la", "placement_la_name"])
    )
    boundary = results.boundary
    boundary = boundary.to_crs(BNG) if boundary.crs is not None else boundary.set_crs(BNG)
    sc = results.scenario
    return CouncilPart(
        code=sc.council,
        name=results.council_name,
        synthetic=sc.synthetic,
        records=rec,
        figures=council_figures(pub.ledger),
        sites=sites,
        boundary=boundary[["code", "name", "geometry"]].reset_index(drop=True),
        local_minutes=float(sc.analysis.local_minutes),
        min_count=int(sc.disclosure.min_count),
        travel="by road" if road_times(sc) else "estimated",
        la_names={str(a): str(b) for a, b in zip(names.iloc[:, 0], names.iloc[:, 1], strict=True)},
        forbidden=dc.personal_strings(m, sites=results.sites),
        points=np.asarray(dc.personal_points(m, sites=results.sites), dtype=float).reshape(-1, 2),
    )


# ----------------------------------------------------------------------------------------------
@dataclass
class RegionPublished:
    """The region's published tables (counts as strings: a count or ``"c"``).

    Attributes
    ----------
    flows : DataFrame
        ``placing_council``, ``placing_council_name``, ``host``, ``host_name``, ``children``:
        every placement row of every council in exactly one row (``host`` "all": the council's
        total).
    indicators : DataFrame
        ``scope`` (council code or "region"), ``scope_name``, ``place_group``, ``group``, ``n``,
        then ``n_<measure>``/``pct_<measure>`` for :data:`REGION_MEASURES`.
    provision : DataFrame
        ``council``, ``council_name``, ``type``, ``type_label``, ``sites``, ``places``,
        ``spare_places`` (places, not children: not suppressed).
    ledger : Ledger
        Every council's figures and the region's (internal: tests and assurance).
    flow_lines : DataFrame
        Between councils of the region, for the map: ``from``, ``to``, ``children`` (published
        text), ``band`` (published band label), ``width``.
    """

    flows: pd.DataFrame
    indicators: pd.DataFrame
    provision: pd.DataFrame
    ledger: Ledger
    flow_lines: pd.DataFrame
    handles: dict[str, Any] = field(default_factory=dict)


def _copy_council_figures(led: Ledger, part: CouncilPart, offset: int) -> None:
    f = part.figures
    for h, members in enumerate(f.members):
        k = f.kind[h]
        if k == dc.BAND:
            kind = dc.BAND
        elif k == dc.FORCED or (k == dc.EXACT and f.shown[h]):
            kind = dc.FORCED
        else:
            kind = dc.IMPLIED
        led.add(
            members + offset,
            table=f"council:{part.code}",
            label=str(h),
            kind=kind,
            lower=f.lower[h],
            upper=f.upper[h],
        )


def build_region(parts: list[CouncilPart]) -> RegionPublished:  # noqa: C901
    """Register every council's and the region's figures in one ledger, solve, make the tables.

    Parameters
    ----------
    parts : list of CouncilPart
        The councils, in the region file's order.
    """
    codes = [p.code for p in parts]
    names = {p.code: p.name for p in parts}
    min_count = max(p.min_count for p in parts)
    local_minutes = parts[0].local_minutes
    sizes = [p.figures.n_records for p in parts]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    led = Ledger(int(offsets[-1]), min_count=min_count)
    for p, off in zip(parts, offsets[:-1], strict=False):
        _copy_council_figures(led, p, int(off))

    # the regional records: every placement row of every council, at its ledger position
    recs = []
    for p, off in zip(parts, offsets[:-1], strict=False):
        r = p.records.reset_index(drop=True).copy()
        r["council"] = p.code
        r["position"] = np.arange(len(r), dtype=np.int64) + int(off)
        recs.append(r)
    allr = pd.concat(recs, ignore_index=True)
    council = allr["council"].to_numpy(dtype=object)
    pos = allr["position"].to_numpy(dtype=np.int64)
    counted = allr["status"].astype(str).to_numpy() != "excluded"
    pla = allr["placement_la"].to_numpy(dtype=object)
    host = core.host_codes(pla, counted, codes)
    la_names = {k: v for p in parts for k, v in p.la_names.items()}

    # flows: placing council x host
    hosts = [*codes, core.HOST_OUTSIDE, core.HOST_NOT_KNOWN, core.HOST_EXCLUDED]
    flow_rows: list[tuple[str, str, int]] = []
    for c in codes:
        h = led.add(pos[council == c], table="region:flows", label=f"{c} / all", keep=True)
        flow_rows.append((c, "all", h))
    for c, hst, idx in core.flow_members(council, host, codes, hosts):
        h = led.add(pos[idx], table="region:flows", label=f"{c} / {hst}")
        flow_rows.append((c, hst, h))

    # regional indicators by placement group, for each council and the region
    cm = allr[counted].reset_index(drop=True)
    flags = core.region_flags(
        placement_la=cm["placement_la"].to_numpy(dtype=object),
        inside_own=cm["inside_la"].astype("boolean").fillna(False).to_numpy(dtype=bool),
        dfe_miles=pd.to_numeric(cm["dfe_miles"], errors="coerce").to_numpy(float),
        minutes=pd.to_numeric(cm["road_minutes"], errors="coerce").to_numpy(float),
        region_codes=codes,
        local_minutes=local_minutes,
    )
    cpos = cm["position"].to_numpy(dtype=np.int64)
    ccouncil = cm["council"].to_numpy(dtype=object)
    keys, order, labels = gaps._grouping(cm, "place_group")
    ind_rows: list[tuple[str, str, str, int, list[int]]] = []
    region_total = led.add(cpos, table="region:indicators", label="region / all", keep=True)
    for scope in [*codes, "region"]:
        ms = np.ones(len(cm), bool) if scope == "region" else ccouncil == scope
        for g in [*order, "all"]:
            mg = ms & (np.ones(len(cm), bool) if g == "all" else keys == g)
            if not mg.any() and g != "all":
                continue
            lab = f"{scope} / {g}"
            n_h = led.add(cpos[mg], table="region:indicators", label=f"{lab} / n", keep=True)
            hs = [
                led.add(cpos[mg & flags[name]], table="region:indicators", label=f"{lab} / {name}")
                for name, _ in REGION_MEASURES
            ]
            ind_rows.append((scope, g, labels.get(g, gaps.ALL_LABEL), n_h, hs))
    led.headline(region_total)
    led.solve()

    flows = pd.DataFrame(
        [
            {
                "placing_council": c,
                "placing_council_name": names[c],
                "host": hst,
                "host_name": "All rows"
                if hst == "all"
                else names.get(hst, core.HOST_LABELS.get(hst, la_names.get(hst, hst))),
                "children": led.text(h),
            }
            for c, hst, h in flow_rows
        ]
    )
    ind = []
    for scope, g, glabel, n_h, hs in ind_rows:
        row: dict[str, Any] = {
            "scope": scope,
            "scope_name": "Region" if scope == "region" else names[scope],
            "place_group": g,
            "group": glabel,
            "n": led.text(n_h),
        }
        for (name, _), h in zip(REGION_MEASURES, hs, strict=True):
            row[f"n_{name}"] = led.text(h)
            row[f"pct_{name}"] = led.percent(h, n_h)
        ind.append(row)
    indicators = pd.DataFrame(ind)

    labels_t = dict(zip(site_types()["type"], site_types()["label"], strict=True))
    st = pd.concat([p.sites.assign(council=p.code) for p in parts], ignore_index=True)
    prov = core.pooled_provision(
        council=st["council"].astype(str).tolist(),
        site_type=st["type"].astype(str).tolist(),
        places=st["places"].to_numpy(float),
        spare=st["available_places"].to_numpy(float),
        councils=codes,
        types=list(labels_t),
    )
    prov.insert(1, "council_name", [names.get(c, "Region") for c in prov["council"]])
    prov.insert(3, "type_label", [labels_t.get(t, t) for t in prov["type"]])

    lines = []
    for c, hst, h in flow_rows:
        if hst in codes and hst != c:
            # the band is drawn only for a published count: a band of a withheld one would
            # narrow it (the ledger did not audit such bands)
            n = led.count(h)
            band = next(((lo, hi, w) for lo, hi, w in FLOW_BANDS if lo <= n < hi), None)
            if not led.shown(h) or band is None:
                label, width = SUPPRESSED, 1.5
            else:
                label = f"{band[0]}+" if math.isinf(band[1]) else f"{band[0]}-{int(band[1]) - 1}"
                width = band[2]
            lines.append(
                {"from": c, "to": hst, "children": led.text(h), "band": label, "width": width}
            )
    return RegionPublished(
        flows=flows,
        indicators=indicators,
        provision=prov,
        ledger=led,
        flow_lines=pd.DataFrame(lines, columns=["from", "to", "children", "band", "width"]),
        handles={"flows": flow_rows, "indicators": ind_rows},
    )


# ----------------------------------------------------------------------------------------------
def joint_siting_published(
    joint: JointSelection, *, min_count: int, names: dict[str, str] | None = None
) -> tuple[pd.DataFrame, str]:
    """The region's joint siting as published: ``tables/joint_siting.csv`` and the report text.

    One row per chosen property in order of addition: ``rank``, ``council`` (owning it),
    ``candidate_id``, ``use``, ``places``, ``gain`` (children who could come home because it was
    added) and ``gain_<code>`` per council (its children among them). Counts 1 to
    ``min_count - 1`` are ``c``, and a row's split is protected against its total
    (:func:`geosuff.analysis.region.withhold_split`); the total gain is given only when no
    row's gain is withheld.
    """
    assert joint.sites is not None
    t = joint.sites
    codes = list(joint.councils)
    gain = np.rint(t["gain"].to_numpy(float)).astype(np.int64)
    split = np.rint(t[[f"gain_{c}" for c in codes]].to_numpy(float)).astype(np.int64)
    wg, ws = core.withhold_split(gain, split, min_count=min_count)
    places = t["places"].to_numpy(float)
    out = pd.DataFrame(
        {
            "rank": t["rank"].to_numpy(np.int64),
            "council": t["council"].astype(str).to_numpy(),
            "candidate_id": t["candidate_id"].astype(str).to_numpy(),
            "use": t["use"].astype(str).to_numpy(),
            "places": ["" if not np.isfinite(p) else f"{p:g}" for p in places],
            "gain": [SUPPRESSED if w else str(v) for v, w in zip(gain, wg, strict=True)],
        }
    )
    for j, c in enumerate(codes):
        out[f"gain_{c}"] = [
            SUPPRESSED if w else str(v) for v, w in zip(split[:, j], ws[:, j], strict=True)
        ]
    names = names or {}
    owners = ", ".join(f"{names.get(c, c)} {int((out['council'] == c).sum())}" for c in codes)
    total = (
        f"{int(gain.sum())} more children placed far could come home"
        if not wg.any()
        else "the number of children who could come home is in tables/joint_siting.csv "
        "(some counts withheld)"
    )
    text = (
        f"Choosing the best {len(out)} properties of all the councils' candidates together "
        f"(existing sites of the whole region open with their spare places; travel times "
        f"estimated): {total}. Properties chosen per council: {owners}. Each property's gain "
        "is split by the council of the children it brings home (tables/joint_siting.csv; "
        f"counts below {min_count} are c)."
    )
    return out, text


def _table_html(df: pd.DataFrame, columns: dict[str, str]) -> str:
    head = "".join(f"<th>{html.escape(v)}</th>" for v in columns.values())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in columns) + "</tr>"
        for _, r in df.iterrows()
    )
    return f'<div class="table-wrap"><table class="wide"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def region_report_html(
    name: str, parts: list[CouncilPart], pub: RegionPublished, *, joint_siting: str = ""
) -> str:
    """The region's HTML report: shares per council side by side, flows, pooled provision."""
    synthetic = any(p.synthetic for p in parts)
    minutes = parts[0].local_minutes
    travel = "estimated" if any(p.travel == "estimated" for p in parts) else "by road"
    ind = pub.indicators
    side = ind[ind["place_group"] == "all"]
    cols = {"scope_name": "Council", "n": "Children"}
    for m, lab in REGION_MEASURES:
        lab = lab.replace("T minutes", f"{minutes:g} minutes ({travel})")
        cols[f"pct_{m}"] = f"% {lab}"
    by_group = ind[ind["scope"] == "region"]
    gcols = {"group": "Placement type", "n": "Children"} | {
        k: v for k, v in cols.items() if k.startswith("pct_")
    }
    flows = pub.flows[pub.flows["host"] != "all"]
    fcols = {
        "placing_council_name": "Placing council",
        "host_name": "Placed in",
        "children": "Children",
    }
    pcols = {
        "council_name": "Council",
        "type_label": "Provision",
        "sites": "Sites",
        "places": "Places",
        "spare_places": "Spare places",
    }
    wh = pub.ledger.withheld()
    councils = ", ".join(html.escape(f"{p.name} ({p.code})") for p in parts)
    banner = (
        '<div class="synthetic" role="alert">SYNTHETIC DATA - not real children. For '
        "demonstration and testing only.</div>"
        if synthetic
        else ""
    )
    links = "".join(
        f'<li><a href="../{html.escape(p.code)}/report.html">{html.escape(p.name)}</a></li>'
        for p in parts
    )
    siting = f"<h2>Joint siting</h2><p>{html.escape(joint_siting)}</p>" if joint_siting else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)} - regional sufficiency review</title>
<style>{_asset("report.css")}</style></head>
<body>{banner}
<p class="kicker">Regional sufficiency review</p>
<h1>{html.escape(name)}</h1>
<p class="meta">Councils: {councils}. <a href="map.html">Regional map</a>.</p>
<h2>Shares per council</h2>
<p>Every council's children in care at its snapshot date; "inside the region" counts a placement
in any council of the region. Travel minutes are {travel}.</p>
{_table_html(side, cols)}
<h2>The region by placement type</h2>
{_table_html(by_group, gcols)}
<h2>Placements between councils</h2>
<p>Every placement row of every council is in one row of this table (tables/flows.csv).</p>
{_table_html(flows, fcols)}
<h2>Pooled provision</h2>
<p>Places and spare places of the provision sites each council listed.</p>
{_table_html(pub.provision, pcols)}
{siting}
<h2>Disclosure control</h2>
<p>Counts of 1 to {wh.min_count - 1} children are shown as "{SUPPRESSED}", and so is any further
figure from which one could be worked out - including by subtracting the councils' own published
figures from the region's: the councils' and the region's figures are decided together
({wh.withheld} of the region's and councils' {wh.figures} figures withheld).</p>
<h2>Council reports</h2><ul>{links}</ul>
</body></html>
"""


def region_map(parts: list[CouncilPart], pub: RegionPublished, *, name: str) -> str:
    """The region's map (HTML): councils outlined, flow lines between councils (width by band),
    each council's shares in its popup. Leaflet inlined; no background tiles.
    """
    bounds = pd.concat([p.boundary for p in parts], ignore_index=True)
    gb = gpd.GeoDataFrame(bounds, geometry="geometry", crs=BNG)
    minx, miny, maxx, maxy = gb.total_bounds
    lon, lat = to_lonlat([minx, maxx], [miny, maxy])
    m = folium.Map(
        location=[float(lat.mean()), float(lon.mean())],
        zoom_start=9,
        tiles=None,
        control_scale=True,
    )
    m.default_js = []
    m.default_css = []
    _inline_assets(m)
    root: Any = m.get_root()
    root.title = f"{name} - regional placement map"
    ind = pub.indicators
    simple = gb.assign(geometry=gb.geometry.simplify(200.0)).to_crs(4326)
    centres: dict[str, tuple[float, float]] = {}
    for p, geom in zip(parts, simple.geometry, strict=True):
        rp = p.boundary.geometry.iloc[0].representative_point()
        lo, la = to_lonlat([rp.x], [rp.y])
        centres[p.code] = (float(la[0]), float(lo[0]))
        row = ind[(ind["scope"] == p.code) & (ind["place_group"] == "all")]
        cells = "".join(
            f"<tr><th>{html.escape(lab)}</th><td>{html.escape(str(row.iloc[0][f'pct_{k}']))}%</td></tr>"
            for k, lab in REGION_MEASURES
            if len(row)
        )
        popup = f"<b>{html.escape(p.name)}</b><table>{cells}</table>"
        gj = folium.GeoJson(
            geom.__geo_interface__,
            name=p.name,
            style_function=lambda _f: {"color": "#1f2933", "weight": 2, "fillOpacity": 0.08},
            tooltip=p.name,
        ).add_to(m)
        _HtmlPopup(popup, max_width=320).add_to(gj)
    for _, r in pub.flow_lines.iterrows():
        a, b = centres[str(r["from"])], centres[str(r["to"])]
        folium.PolyLine(
            [
                [round(a[0], COORD_DECIMALS), round(a[1], COORD_DECIMALS)],
                [round(b[0], COORD_DECIMALS), round(b[1], COORD_DECIMALS)],
            ],
            weight=float(r["width"]),
            color="#c2410c",
            opacity=0.8,
            tooltip=html.escape(
                f"{r['from']} to {r['to']}: {r['children']} children"
                + ("" if r["band"] == SUPPRESSED else f" ({r['band']} band)")
            ),
        ).add_to(m)
    sw = [round(float(lat.min()), COORD_DECIMALS), round(float(lon.min()), COORD_DECIMALS)]
    ne = [round(float(lat.max()), COORD_DECIMALS), round(float(lon.max()), COORD_DECIMALS)]
    m.fit_bounds([sw, ne])
    note = (
        '<div style="position:absolute;top:0;left:0;right:0;z-index:1000;background:#b91c1c;'
        'color:#fff;padding:4px 8px">SYNTHETIC DATA - not real children.</div>'
        if any(p.synthetic for p in parts)
        else ""
    )
    root.html.add_child(
        Element(
            f'{note}<div style="position:absolute;bottom:18px;left:8px;z-index:1000;background:#fff;'
            f'padding:4px 8px;font:12px sans-serif">{html.escape(name)}: councils outlined; lines: '
            f"children placed by one council in another (width by band). {ATTRIBUTION}</div>"
        )
    )
    _stable_ids(root)
    text: str = root.render()
    return text
