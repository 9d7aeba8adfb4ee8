"""``geosuff.qgs``: a QGIS project over the run's GeoPackage, styled like the web map.

Every layer of ``geosuff.gpkg`` is referenced by a path relative to the project
(``./geosuff.gpkg|layername=sites``), so the output folder can be moved or zipped and the
project still opens. Layers are grouped (Provision, Candidates, Catchments, Gap areas,
Boundaries) and drawn with the web map's colours: provision types in their
``site_types.csv`` colours, one catchment layer per threshold outlined in the colour of the
site type, gap areas by count band, candidates by rank (dark green = 1) with the chosen set
ringed. The project CRS is EPSG:27700 (British National Grid). The project is plain XML (QGIS
3 ``.qgs``); it holds no data of its own, only references and styles, and no coordinates other
than the council's extent rounded out to whole kilometres.

Usage
-----
>>> from geosuff.publication.qgis import write_project  # doctest: +SKIP
>>> write_project(out / "geosuff.qgs", out / "geosuff.gpkg", project_info(results))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geosuff import __version__
from geosuff._io import atomic_write_text
from geosuff.config import travel_phrase
from geosuff.reference import BNG, site_types

if TYPE_CHECKING:
    from geosuff.results import Results

logger = logging.getLogger(__name__)

__all__ = [
    "GROUPS",
    "ProjectInfo",
    "layer_sources",
    "project_info",
    "project_xml",
    "write_project",
]

#: Layer-tree groups, top (drawn last, on top) first.
GROUPS = ("Provision", "Candidates", "Catchments", "Gap areas", "Boundaries")
#: Which group each GeoPackage layer goes in (a layer not named here goes in Boundaries).
LAYER_GROUPS = {
    "sites": "Provision",
    "candidates": "Candidates",
    "served_areas": "Catchments",
    "catchments": "Catchments",
    "gap_areas": "Gap areas",
    "areas_access": "Gap areas",
    "council_boundary": "Boundaries",
}
#: Colour of candidates that are not eligible (as on the web map).
NOT_ELIGIBLE_COLOUR = "#9aa5b1"
#: Fill of the places-per-1,000 areas, low to high (as on the web map).
AREA_ACCESS_COLOURS = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
BOUNDARY_COLOUR = "#1f2933"
GAP_OUTLINE_COLOUR = "#7f0000"
AREA_OUTLINE_COLOUR = "#52606d"


@dataclass(frozen=True)
class ProjectInfo:
    """What the project says about the run.

    Attributes
    ----------
    title : str
        Project title.
    travel : str
        How travel times were made ("by road" or "estimated"), for layer names.
    local_minutes : float
        The catchment threshold shown when the project opens.
    extent : tuple of float or None
        (xmin, ymin, xmax, ymax) in EPSG:27700 to open at, rounded out to whole kilometres.
    synthetic : bool
        True for a run on synthetic data: the title says SYNTHETIC.
    """

    title: str
    travel: str = "by road"
    local_minutes: float = 30.0
    extent: tuple[float, float, float, float] | None = None
    synthetic: bool = False
    groups: Sequence[str] = field(default=GROUPS)


def project_info(results: Results) -> ProjectInfo:
    """The project facts of a run: title, travel phrase, local threshold, council extent."""
    sc = results.scenario
    title = sc.title or f"{results.council_name}: placement sufficiency gap review"
    extent = None
    b = results.boundary
    if b is not None and len(b):
        x0, y0, x1, y1 = (float(v) for v in b.to_crs(BNG).total_bounds)
        if all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            km = 1000.0
            extent = (
                math.floor(x0 / km) * km,
                math.floor(y0 / km) * km,
                math.ceil(x1 / km) * km,
                math.ceil(y1 / km) * km,
            )
    return ProjectInfo(
        title=("SYNTHETIC - " if sc.synthetic else "") + title,
        travel=travel_phrase(sc),
        local_minutes=float(sc.analysis.local_minutes),
        extent=extent,
        synthetic=bool(sc.synthetic),
    )


# ----------------------------------------------------------------------------------------------
# styles
# ----------------------------------------------------------------------------------------------
def _rgba(colour: str, alpha: float = 1.0) -> str:
    c = colour.lstrip("#")
    r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return f"{r},{g},{b},{round(alpha * 255)}"


def _props(layer: ET.Element, props: Mapping[str, str]) -> None:
    """Symbol-layer properties, in both forms QGIS 3 reads (``Option`` map and ``prop``)."""
    opt = ET.SubElement(layer, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opt, "Option", name=k, value=v, type="QString")
    for k, v in props.items():
        ET.SubElement(layer, "prop", k=k, v=v)


def _symbol(
    name: str,
    kind: str,
    colour: str | None,
    *,
    outline: str | None = None,
    fill_alpha: float = 1.0,
    outline_width: float = 0.4,
    size: float = 3.0,
) -> ET.Element:
    """A QGIS symbol: ``kind`` "fill" (polygon) or "marker" (point); ``colour`` None = no fill."""
    sym = ET.Element(
        "symbol",
        type=kind,
        name=name,
        alpha="1",
        clip_to_extent="1",
        force_rhr="0",
    )
    cls = "SimpleFill" if kind == "fill" else "SimpleMarker"
    lay = ET.SubElement(sym, "layer", {"class": cls, "pass": "0", "locked": "0", "enabled": "1"})
    line = outline or colour or "#000000"
    props = {
        "color": _rgba(colour, fill_alpha) if colour else "0,0,0,0",
        "outline_color": _rgba(line),
        "outline_style": "solid",
        "outline_width": f"{outline_width:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
    }
    if kind == "fill":
        props["style"] = "solid" if colour else "no"
    else:
        props.update({"name": "circle", "size": f"{size:g}", "size_unit": "MM"})
    _props(lay, props)
    return sym


def _single(symbol: ET.Element) -> ET.Element:
    r = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", forceraster="0")
    symbol.set("name", "0")
    ET.SubElement(r, "symbols").append(symbol)
    return r


def _categorized(
    attr: str, cats: Sequence[tuple[str, str, ET.Element]], *, other: ET.Element | None = None
) -> ET.Element:
    """Categories (value, label, symbol) of ``attr``; ``other``: the symbol of every other value."""
    r = ET.Element(
        "renderer-v2", type="categorizedSymbol", attr=attr, symbollevels="0", forceraster="0"
    )
    ce = ET.SubElement(r, "categories")
    se = ET.SubElement(r, "symbols")
    rows = list(cats) + ([("", "other", other)] if other is not None else [])
    for i, (value, label, sym) in enumerate(rows):
        ET.SubElement(ce, "category", render="true", symbol=str(i), value=value, label=label)
        sym.set("name", str(i))
        se.append(sym)
    return r


def _rules(rules: Sequence[tuple[str, str, ET.Element]]) -> ET.Element:
    """A rule-based renderer: (label, filter expression or "ELSE", symbol), drawn in order."""
    r = ET.Element("renderer-v2", type="RuleRenderer", symbollevels="0", forceraster="0")
    root = ET.SubElement(r, "rules", key="root")
    se = ET.SubElement(r, "symbols")
    for i, (label, expr, sym) in enumerate(rules):
        ET.SubElement(root, "rule", key=f"rule{i}", symbol=str(i), label=label, filter=expr)
        sym.set("name", str(i))
        se.append(sym)
    return r


def _graduated(
    attr: str, breaks: Sequence[float], colours: Sequence[str], *, outline: str
) -> ET.Element:
    r = ET.Element(
        "renderer-v2",
        type="graduatedSymbol",
        attr=attr,
        graduatedMethod="GraduatedColor",
        symbollevels="0",
        forceraster="0",
    )
    re_ = ET.SubElement(r, "ranges")
    se = ET.SubElement(r, "symbols")
    edges = [0.0, *breaks, 1e12]
    for i, colour in enumerate(colours):
        lo, hi = edges[i], edges[i + 1]
        label = f"over {lo:g}" if hi >= 1e12 else f"{lo:g} to {hi:g}"
        ET.SubElement(
            re_,
            "range",
            render="true",
            symbol=str(i),
            lower=f"{lo:g}",
            upper=f"{hi:g}",
            label=label,
        )
        se.append(
            _symbol(str(i), "fill", colour, outline=outline, fill_alpha=0.65, outline_width=0.2)
        )
    return r


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ----------------------------------------------------------------------------------------------
# layers
# ----------------------------------------------------------------------------------------------
@dataclass
class _Layer:
    layer: str  # GeoPackage layer name
    name: str  # shown in QGIS
    group: str
    renderer: ET.Element
    subset: str | None = None
    visible: bool = True


def _site_layers(df: pd.DataFrame) -> list[_Layer]:
    from geosuff.publication.maps import LAYER_SITES_PREFIX, site_style

    types = site_types()
    present = [str(t) for t in pd.unique(df["type"].astype(str))] if "type" in df else []
    order = [t for t in types if t in present] + sorted(t for t in present if t not in types)
    cats = []
    for t in order:
        colour = site_style(t)[1]
        label = types[t].label if t in types else t.replace("_", " ")
        cats.append((t, label, _symbol("", "marker", colour, outline="#ffffff", size=4.0)))
    return [
        _Layer(
            "sites",
            f"{LAYER_SITES_PREFIX}sites (centre of their 1 km square)",
            "Provision",
            _categorized("type", cats),
        )
    ]


def _catchment_layers(layer: str, df: pd.DataFrame, info: ProjectInfo) -> list[_Layer]:
    from geosuff.publication.maps import LAYER_CATCHMENT_PREFIX, site_style

    if "minutes" not in df:
        return [
            _Layer(layer, layer.replace("_", " "), "Catchments", _single(_symbol("", "fill", None)))
        ]
    types = site_types()
    present = sorted({str(t) for t in df["type"].astype(str)}) if "type" in df else []
    order = [t for t in types if t in present] + [t for t in present if t not in types]
    cats = [
        (
            t,
            types[t].label if t in types else t.replace("_", " "),
            _symbol("", "fill", site_style(t)[1], fill_alpha=0.05, outline_width=0.5),
        )
        for t in order
    ]
    out = []
    minutes = sorted(
        float(m) for m in pd.to_numeric(df["minutes"], errors="coerce").dropna().unique()
    )
    what = "" if layer == "served_areas" else "each site, "
    for mins in minutes:
        out.append(
            _Layer(
                layer,
                f"{LAYER_CATCHMENT_PREFIX}{what}within {mins:g} min {info.travel}",
                "Catchments",
                _categorized("type", cats) if "type" in df else _single(cats[0][2]),
                subset=f"{_q('minutes')} = {mins:g}",
                visible=layer == "served_areas" and math.isclose(mins, info.local_minutes),
            )
        )
    return out


def _gap_layers(df: pd.DataFrame) -> list[_Layer]:
    from geosuff.publication.maps import GAP_COLOURS, LAYER_GAPS
    from geosuff.publication.maps.parts import _band_key, _spread

    if "count_band" not in df:
        return [
            _Layer(
                "gap_areas", LAYER_GAPS, "Gap areas", _single(_symbol("", "fill", GAP_COLOURS[2]))
            )
        ]
    bands = sorted({str(b) for b in df["count_band"].astype(str)}, key=_band_key)
    colours = dict(zip(bands, _spread(GAP_COLOURS[1:], len(bands)), strict=True))
    cats = [
        (
            b,
            f"{b} children",
            _symbol(
                "",
                "fill",
                colours[b],
                outline=GAP_OUTLINE_COLOUR,
                fill_alpha=0.6,
                outline_width=0.6,
            ),
        )
        for b in bands
    ]
    return [_Layer("gap_areas", LAYER_GAPS, "Gap areas", _categorized("count_band", cats))]


def _area_access_layers(df: pd.DataFrame) -> list[_Layer]:
    from geosuff.publication.maps import LAYER_ACCESS_AREAS
    from geosuff.publication.maps.parts import _nice_breaks, _spread

    col = "places_per_1000"
    if col not in df:
        return [
            _Layer(
                "areas_access",
                "Areas",
                "Gap areas",
                _single(_symbol("", "fill", None, outline=AREA_OUTLINE_COLOUR)),
                visible=False,
            )
        ]
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
    hi = float(np.nanmax(v)) if np.isfinite(v).any() else 0.0
    breaks = _nice_breaks(hi)
    colours = _spread(AREA_ACCESS_COLOURS, len(breaks) + 1)
    return [
        _Layer(
            "areas_access",
            LAYER_ACCESS_AREAS,
            "Gap areas",
            _graduated(col, breaks, colours, outline=AREA_OUTLINE_COLOUR),
            visible=False,
        )
    ]


def _candidate_layers(df: pd.DataFrame) -> list[_Layer]:
    from geosuff.publication.maps import CHOSEN_COLOUR, LAYER_CANDIDATES, LAYER_CHOSEN
    from geosuff.publication.maps.parts import _rank_colour

    rank = pd.to_numeric(df["rank"], errors="coerce") if "rank" in df else pd.Series(dtype=float)
    elig = (
        df["eligible"].astype(str).str.lower().isin({"true", "1"})
        if "eligible" in df
        else rank.notna()
    )
    ranks = sorted({int(r) for r in rank[elig.to_numpy(bool)].dropna()}) if len(rank) else []
    n_rank = max(ranks) if ranks else 1
    rules: list[tuple[str, str, ET.Element]] = []
    el_expr = f"{_q('eligible')} AND " if "eligible" in df else ""
    for r in ranks:
        rules.append(
            (
                f"rank {r}",
                f"{el_expr}{_q('rank')} = {r}",
                _symbol("", "marker", _rank_colour(float(r), n_rank), outline="#ffffff", size=5.0),
            )
        )
    rules.append(
        (
            "not eligible",
            "ELSE",
            _symbol("", "marker", NOT_ELIGIBLE_COLOUR, outline="#ffffff", size=4.0),
        )
    )
    out = [_Layer("candidates", LAYER_CANDIDATES, "Candidates", _rules(rules))]
    if "chosen" in df and df["chosen"].astype(str).str.lower().isin({"true", "1"}).any():
        ring = _symbol("", "marker", None, outline=CHOSEN_COLOUR, outline_width=1.0, size=8.0)
        out.insert(
            0,
            _Layer(
                "candidates",
                LAYER_CHOSEN,
                "Candidates",
                _single(ring),
                subset=f"{_q('chosen')} = 1",
            ),
        )
    return out


def _boundary_layers(layer: str) -> list[_Layer]:
    from geosuff.publication.maps import LAYER_BOUNDARY

    name = LAYER_BOUNDARY if layer == "council_boundary" else layer.replace("_", " ")
    sym = _symbol("", "fill", None, outline=BOUNDARY_COLOUR, outline_width=0.8)
    return [_Layer(layer, name, "Boundaries", _single(sym))]


def _layers_for(name: str, df: pd.DataFrame, info: ProjectInfo) -> list[_Layer]:
    if name == "sites":
        return _site_layers(df)
    if name in {"catchments", "served_areas"}:
        return _catchment_layers(name, df, info)
    if name == "gap_areas":
        return _gap_layers(df)
    if name == "areas_access":
        return _area_access_layers(df)
    if name == "candidates":
        return _candidate_layers(df)
    return _boundary_layers(name)


# ----------------------------------------------------------------------------------------------
# project XML
# ----------------------------------------------------------------------------------------------
def _srs(parent: ET.Element) -> None:
    from pyproj import CRS

    crs = CRS.from_user_input(BNG)
    with warnings.catch_warnings():  # a PROJ string loses detail; QGIS reads the WKT first
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    s = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    for tag, text in (
        ("wkt", crs.to_wkt()),
        ("proj4", proj4),
        ("srsid", "2437"),
        ("srid", "27700"),
        ("authid", BNG),
        ("description", crs.name),
        ("projectionacronym", "tmerc"),
        ("ellipsoidacronym", "EPSG:7001"),
        ("geographicflag", "false"),
    ):
        ET.SubElement(s, tag).text = text


def _source(gpkg_name: str, layer: str, subset: str | None) -> str:
    src = f"./{gpkg_name}|layername={layer}"
    return src + (f"|subset={subset}" if subset else "")


def _geometry_kind(geometry_type: str) -> str:
    g = geometry_type.lower()
    if "point" in g:
        return "Point"
    if "line" in g:
        return "Line"
    return "Polygon"


def project_xml(
    gpkg_name: str,
    layers: Mapping[str, tuple[str, pd.DataFrame]],
    info: ProjectInfo,
) -> str:
    """The ``.qgs`` text.

    Parameters
    ----------
    gpkg_name : str
        File name of the GeoPackage, in the project's folder.
    layers : mapping of str to (str, DataFrame)
        GeoPackage layer name -> (geometry type, its attribute table), in GeoPackage order.
    info : ProjectInfo
        Title, travel phrase, threshold shown, extent.
    """
    entries: list[tuple[_Layer, str]] = []
    for name, (gtype, df) in layers.items():
        entries += [(lay, gtype) for lay in _layers_for(name, df, info)]
    ids = {}
    for lay, _ in entries:
        key = f"{lay.layer}|{lay.subset or ''}|{lay.name}"
        ids[id(lay)] = f"{lay.layer}_{hashlib.sha1(key.encode()).hexdigest()[:12]}"

    root = ET.Element("qgis", projectname=info.title, version="3.22.0-Białowieża")
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = info.title
    _srs(ET.SubElement(root, "projectCrs"))

    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for group in info.groups:
        members = [lay for lay, _ in entries if lay.group == group]
        if not members:
            continue
        g = ET.SubElement(tree, "layer-tree-group", name=group, checked="Qt::Checked", expanded="1")
        ET.SubElement(g, "customproperties")
        for lay in members:
            ET.SubElement(
                g,
                "layer-tree-layer",
                id=ids[id(lay)],
                name=lay.name,
                source=_source(gpkg_name, lay.layer, lay.subset),
                providerKey="ogr",
                checked="Qt::Checked" if lay.visible else "Qt::Unchecked",
                expanded="0",
            )
    order = ET.SubElement(tree, "custom-order", enabled="0")
    for lay, _ in entries:
        ET.SubElement(order, "item").text = ids[id(lay)]

    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    if info.extent is not None:
        ext = ET.SubElement(canvas, "extent")
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), info.extent, strict=True):
            ET.SubElement(ext, tag).text = f"{v:.0f}"
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"))

    pl = ET.SubElement(root, "projectlayers")
    for lay, gtype in entries:
        ml = ET.SubElement(
            pl,
            "maplayer",
            type="vector",
            geometry=_geometry_kind(gtype),
            wkbType=gtype.replace(" ", ""),
            hasScaleBasedVisibilityFlag="0",
            minScale="100000000",
            maxScale="0",
            readOnly="1",
            labelsEnabled="0",
            simplifyDrawingHints="1",
            styleCategories="AllStyleCategories",
        )
        ET.SubElement(ml, "id").text = ids[id(lay)]
        ET.SubElement(ml, "datasource").text = _source(gpkg_name, lay.layer, lay.subset)
        ET.SubElement(ml, "layername").text = lay.name
        _srs(ET.SubElement(ml, "srs"))
        ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr"
        ml.append(lay.renderer)
        ET.SubElement(ml, "blendMode").text = "0"
        ET.SubElement(ml, "featureBlendMode").text = "0"
        ET.SubElement(ml, "layerOpacity").text = "1"

    props = ET.SubElement(root, "properties")
    srs = ET.SubElement(props, "SpatialRefSys")  # QGIS applies <projectCrs> only with this flag
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    ET.SubElement(srs, "ProjectCrs", type="QString").text = BNG
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    meta = ET.SubElement(root, "projectMetadata")
    ET.SubElement(meta, "title").text = info.title
    ET.SubElement(meta, "abstract").text = (
        "SYNTHETIC data. " if info.synthetic else ""
    ) + f"Made with geosuff {__version__}. Layers are read from ./{gpkg_name}."
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def layer_sources(qgs_text: str) -> list[tuple[str, str]]:
    """(file, layer name) of every ``maplayer`` data source of a project's text (relative paths as
    written, e.g. ``("./geosuff.gpkg", "sites")``).
    """
    root = ET.fromstring(
        qgs_text.split("\n", 1)[1] if qgs_text.startswith("<!DOCTYPE") else qgs_text
    )
    out = []
    for ds in root.iter("datasource"):
        parts = (ds.text or "").split("|")
        layer = next((p.split("=", 1)[1] for p in parts[1:] if p.startswith("layername=")), "")
        out.append((parts[0], layer))
    return out


def write_project(path: str | Path, gpkg: str | Path, info: ProjectInfo) -> Path:
    """Write a QGIS project (``.qgs``) next to ``gpkg`` referencing every layer in it.

    Parameters
    ----------
    path : str or Path
        The project file; must be in the same folder as ``gpkg`` (paths are relative).
    gpkg : str or Path
        The run's GeoPackage (already written).
    info : ProjectInfo
        See :func:`project_info`.
    """
    import pyogrio

    path, gpkg = Path(path), Path(gpkg)
    if path.resolve().parent != gpkg.resolve().parent:
        from geosuff._errors import GeosuffError

        raise GeosuffError(
            f"the QGIS project {path} is not in the folder of {gpkg.name}",
            fix="write the project next to the GeoPackage (its layer paths are relative)",
        )
    layers: dict[str, tuple[str, pd.DataFrame]] = {}
    for name, gtype in pyogrio.list_layers(gpkg):
        df = pyogrio.read_dataframe(gpkg, layer=str(name), read_geometry=False)
        layers[str(name)] = (str(gtype or "Unknown"), pd.DataFrame(df))
    atomic_write_text(path, project_xml(gpkg.name, layers, info))
    logger.debug("wrote %s (%d GeoPackage layers)", path, len(layers))
    return path
