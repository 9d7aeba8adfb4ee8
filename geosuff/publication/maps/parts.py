"""Map parts: layer panel, popups, legend, attribution, inlined assets and formatting helpers."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from jinja2 import Template

from geosuff import __version__
from geosuff.reference import (
    BNG,
    site_types,
)

if TYPE_CHECKING:
    from geosuff.results import Results
from geosuff.publication.maps.style import FULLSCREEN_VERSION, GENERALISE_M, LEAFLET_VERSION

logger = logging.getLogger(__name__)


class _Panel(MacroElement):
    """A Leaflet control holding fixed HTML."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var ctl = L.control({position: {{ this.position|tojson }}});
          ctl.onAdd = function() {
            var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
            div.innerHTML = {{ this.content|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          ctl.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}"""
    )

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "Panel"
        self.content = content
        self.position = position
        self.css_class = css_class


class _HtmlPopup(MacroElement):
    """A popup with fixed HTML bound to its parent layer (folium's Popup needs jQuery)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.content|tojson }}, {maxWidth: {{ this.max_width }}});
        {% endmacro %}"""
    )

    def __init__(self, content: str, *, max_width: int = 340) -> None:
        super().__init__()
        self._name = "HtmlPopup"
        self.content = content
        self.max_width = int(max_width)


class _Legend(MacroElement):
    """One legend control; each section is shown while one of its layers is on the map."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }};
          var sections = {{ this.sections|tojson }};
          var ctl = L.control({position: 'topright'});
          ctl.onAdd = function() {
            var div = L.DomUtil.create('div', 'gs-legend');
            div.setAttribute('aria-label', 'Legend');
            div.innerHTML = '<button type="button" class="gs-legend-title" aria-expanded="true" title="Fold or unfold the legend">Legend</button><div class="gs-legend-body">' + sections.map(function(s){ return s.html; }).join('') + '</div>';
            var btn = div.querySelector('.gs-legend-title');
            var size = map.getSize();
            if (size.x < 1100 || size.y < 700) {  // small screen: start folded, the map first
              div.classList.add('gs-legend-folded');
              btn.setAttribute('aria-expanded', 'false');
            }
            btn.addEventListener('click', function(){
              var folded = div.classList.toggle('gs-legend-folded');
              btn.setAttribute('aria-expanded', folded ? 'false' : 'true');
            });
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          ctl.addTo(map);
          var on = {};
          function refresh(){
            var nodes = document.querySelectorAll('.gs-legend .gs-legend-section');
            sections.forEach(function(s, i){
              var vis = s.layers.some(function(n){ return on[n]; });
              if (nodes[i]) { nodes[i].style.display = vis ? '' : 'none'; }
            });
          }
          map.eachLayer(function(){});
          document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function(lab){
            var input = lab.querySelector('input'); var span = lab.querySelector('span span') || lab.querySelector('span');
            if (input && span) { on[span.textContent.trim()] = input.checked; }
          });
          map.on('overlayadd', function(e){ on[e.name.trim()] = true; refresh(); });
          map.on('overlayremove', function(e){ on[e.name.trim()] = false; refresh(); });
          setTimeout(function(){
            document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function(lab){
              var input = lab.querySelector('input'); var span = lab.querySelector('span span') || lab.querySelector('span');
              if (input && span) { on[span.textContent.trim()] = input.checked; }
            });
            refresh();
          }, 0);
        })();
        {% endmacro %}"""
    )

    def __init__(self, sections: list[tuple[list[str], str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.sections = [{"layers": names, "html": body} for names, body in sections]


class _Attribution(MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


def _title_html(results: Results, unavailable: list[str], notes: Sequence[str] = ()) -> str:
    sc = results.scenario
    title = html.escape(sc.title or f"{results.council_name}: placement sufficiency")
    bits = [
        f'<div class="gs-title-main">{title}</div>',
        f'<div class="gs-title-sub">{html.escape(results.council_name)} ({html.escape(sc.council)}) &middot; geosuff {__version__} &middot; {dt.date.today().isoformat()}</div>',
    ]
    if sc.synthetic:
        bits.append('<div class="gs-title-warn">SYNTHETIC data: not real children.</div>')
    for note in notes:
        bits.append(f'<div class="gs-title-na">{html.escape(note)}</div>')
    if unavailable:
        bits.append(
            f'<div class="gs-title-na">Not available in this run: {html.escape(", ".join(unavailable))}.</div>'
        )
    bits.append(
        f'<div class="gs-title-note">No child\'s home or placement is shown. Sites are generalised to {GENERALISE_M / 1000:g} km squares; counts under {sc.disclosure.min_count} are suppressed or banded.</div>'
    )
    return "".join(bits)


def _section(title: str, body: str, key: str) -> str:
    return f'<section class="gs-legend-section" data-legend="{key}"><h4>{html.escape(title)}</h4>{body}</section>'


def _popup_table(title: str, rows: Iterable[tuple[str, str]], *, note: str = "") -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    foot = f'<div class="gs-pop-note">{html.escape(note)}</div>' if note else ""
    return f'<div class="gs-pop"><div class="gs-pop-title">{html.escape(title)}</div><table>{body}</table>{foot}</div>'


def _candidate_rows(row: pd.Series, *, minutes: float = 30.0) -> list[tuple[str, str]]:
    """The popup of a candidate property: every score component with its raw value, and the
    reasons (published values only: child counts come from :mod:`geosuff.publish`).
    """

    def num(col: str) -> float:
        try:
            return float(row[col]) if col in row.index and not pd.isna(row[col]) else math.nan
        except (TypeError, ValueError):
            return math.nan

    def score(col: str) -> str:
        v = num(col)
        return f" (score {v:.2f})" if np.isfinite(v) else ""

    out: list[tuple[str, str]] = []
    if "name" in row.index and not pd.isna(row["name"]):
        out.append(("name", str(row["name"])))
    rank, total = num("rank"), num("total")
    out.append(("rank", f"{rank:.0f}" if np.isfinite(rank) else "-"))
    out.append(("total score", f"{total:.2f}" if np.isfinite(total) else "-"))
    el = row.get("eligible")
    reason = str(row.get("ineligible_reason", "") or "")
    ok = (el is True or el is np.True_ or str(el).lower() == "true") and not reason
    out.append(("eligible", "yes" if ok else ("no: " + reason if reason else "no")))
    use = str(row.get("use", "") or "").replace("_", " ")
    places = num("places")
    if use:
        out.append(
            (
                "use",
                use
                + (
                    f", {places:.0f} place{'s' if places != 1 else ''}"
                    if np.isfinite(places)
                    else ""
                ),
            )
        )
    reach = str(row.get("rehoming_reachable", "") or "")
    if reach:
        fill = str(row.get("places_it_could_fill", "") or "")
        text = f"{reach} children placed far away live within {minutes:g} min"
        if fill and np.isfinite(places):
            text += f"; could fill {fill} of {places:.0f} places"
        out.append(("rehoming", text + score("rehoming_norm")))
    cov = num("coverage_gain")
    if np.isfinite(cov):
        out.append(
            (
                "coverage",
                f"{cov:,.0f} children aged 0-17 newly within {minutes:g} min"
                + score("coverage_norm"),
            )
        )
    acc = num("access_minutes")
    out.append(
        (
            "access",
            f"{acc:.0f} min to services" + score("access_norm")
            if np.isfinite(acc)
            else "not assessed (no services layer)",
        )
    )
    nearby = num("homes_nearby")
    if np.isfinite(nearby):
        out.append(
            (
                "clustering",
                f"{nearby:.0f} existing homes nearby"
                + score("clustering_norm")
                + " (counts against)",
            )
        )
    for col, label in (
        ("bedrooms", "bedrooms"),
        ("condition", "condition"),
        ("tenure", "tenure"),
        ("cost", "cost"),
        ("available_from", "available from"),
    ):
        if col in row.index and not pd.isna(row[col]) and str(row[col]) != "":
            out.append((label, _fmt_value(col, row[col])))
    out += _cost_and_impact(row)
    return out


def _cost_and_impact(row: pd.Series) -> list[tuple[str, str]]:
    """Popup lines of a candidate's yearly saving and payback (published text: a number, ``c``
    or "no saving") and the registered homes within 1 km.
    """
    out = []
    save = str(row.get("yearly_saving_gbp", "") or "")
    if save and save != "nan":
        money = f"£{float(save):,.0f}" if save.lstrip("-").isdigit() else save
        pay = str(row.get("payback_years", "") or "")
        if pay.replace(".", "", 1).isdigit():
            money += f"; payback {pay} years"
        elif pay:
            money += f"; payback: {pay}"
        out.append(("yearly saving", money))
    homes = pd.to_numeric(pd.Series([row.get("homes_1km")]), errors="coerce").iloc[0]
    if np.isfinite(homes):
        places = pd.to_numeric(pd.Series([row.get("places_1km")]), errors="coerce").iloc[0]
        out.append(("homes within 1 km", f"{homes:.0f} ({places:.0f} places)"))
    return out


def siting_minutes(results: Results) -> float:
    """The candidates' travel-time line (``[siting] max_minutes``, minutes)."""
    from geosuff.config import sections as gs

    return float(gs.siting_settings(results.scenario).max_minutes)


def _fmt_value(col: str, v: Any) -> str:
    if (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or v is pd.NA
        or (isinstance(v, pd.Timestamp) and pd.isna(v))
    ):
        return ""
    if isinstance(v, pd.Timestamp | dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"£{int(v):,}" if "cost" in col else f"{int(v):,}"
    if isinstance(v, float | np.floating):
        if "cost" in col:
            return f"£{v:,.0f}"
        if float(v).is_integer() and abs(float(v)) >= 1:
            return f"{int(v):,}"
        return f"{v:.3f}".rstrip("0").rstrip(".")
    return str(v)


def _fmt_num(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "not known"
    return f"{float(v):,.0f}"


def _inline_assets(m: folium.Map) -> None:
    css = _asset(f"leaflet-{LEAFLET_VERSION}.css")
    for img in ("layers.png", "layers-2x.png", "marker-icon.png"):
        uri = "data:image/png;base64," + base64.b64encode(_asset_bytes(f"leaflet-{img}")).decode(
            "ascii"
        )
        css = css.replace(f"url(images/{img})", f"url({uri})")
    fs_css = _asset(f"leaflet.fullscreen-{FULLSCREEN_VERSION}.css")
    svg_uri = "data:image/svg+xml;base64," + base64.b64encode(
        _asset_bytes("leaflet.fullscreen-icon.svg")
    ).decode("ascii")
    fs_css = fs_css.replace("url(icon-fullscreen.svg)", f"url({svg_uri})")
    root: Any = m.get_root()
    header = root.header
    header.add_child(
        Element(f"<style>/* Leaflet {LEAFLET_VERSION}, BSD-2-Clause */\n{css}</style>"),
        name="leaflet_css_inline",
    )
    header.add_child(
        Element(f"<style>/* leaflet.fullscreen {FULLSCREEN_VERSION}, MIT */\n{fs_css}</style>"),
        name="fullscreen_css_inline",
    )
    header.add_child(
        Element(f"<script>{_script_safe(_asset(f'leaflet-{LEAFLET_VERSION}.js'))}</script>"),
        name="leaflet_js_inline",
    )
    header.add_child(
        Element(
            f"<script>{_script_safe(_asset(f'leaflet.fullscreen-{FULLSCREEN_VERSION}.js'))}</script>"
        ),
        name="fullscreen_js_inline",
    )


def _script_safe(js: str) -> str:
    return js.replace("</script", "<\\/script")


@cache
def _asset(name: str) -> str:
    return (resources.files("geosuff") / "templates" / name).read_text(encoding="utf-8")


@cache
def _asset_bytes(name: str) -> bytes:
    return (resources.files("geosuff") / "templates" / name).read_bytes()


def _map_css(self_contained: bool) -> str:
    bg = "#eef1f4" if self_contained else "#ffffff"
    return _asset("map.css").replace(
        "/*BACKGROUND*/", f".leaflet-container {{ background: {bg}; }}"
    )


def _stable_ids(root: Any) -> None:
    """Replace folium's random element ids by a counter so the same run writes the same file."""
    counter = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        counter += 1
        el._id = f"g{counter:x}"
        stack.extend(getattr(el, "_children", {}).values())
        for attr in ("header", "html", "script"):
            sub = getattr(el, attr, None)
            if sub is not None and hasattr(sub, "_children"):
                stack.append(sub)


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------
def _site_labels() -> dict[str, str]:
    return {t.type: t.label for t in site_types().values()}


def _ordered_types(types: Iterable[str]) -> list[str]:
    order = list(site_types())
    return sorted({str(t) for t in types}, key=lambda t: (order.index(t) if t in order else 99, t))


def _la_points(results: Results) -> dict[str, tuple[float, float]]:
    """Representative point (metres, EPSG:27700) of every upper-tier LA in the run's boundaries
    (``results.la_centres``, computed by the pipeline from the scenario's boundaries).
    """
    return dict(results.la_centres or {})


def _council_centre(results: Results) -> tuple[float, float]:
    b = results.boundary.to_crs(BNG) if results.boundary.crs is not None else results.boundary
    p = b.geometry.iloc[0].representative_point()
    return float(p.x), float(p.y)


def _area_points(results: Results) -> dict[str, tuple[float, float, str]]:
    a = results.areas
    if a is None or len(a) == 0 or "area_id" not in a:
        return {}
    g = a.to_crs(BNG) if a.crs is not None else a
    rp = g.geometry.representative_point()
    names = g["area_name"].astype(str) if "area_name" in g else g["area_id"].astype(str)
    return {
        str(i): (float(x), float(y), str(nm))
        for i, x, y, nm in zip(g["area_id"], rp.x, rp.y, names, strict=True)
    }


def _chosen_ids(results: Results) -> set[str]:
    ids: set[str] = set()
    sel = results.selection
    if sel is not None:
        ids |= {str(v) for v in (getattr(sel, "chosen_ids", ()) or ())}
    c = results.candidates
    if c is not None and "chosen" in c:
        idcol = _first_col(c, ("candidate_id", "id", "site_id"))
        if idcol:
            ids |= set(c.loc[c["chosen"].fillna(False).astype(bool), idcol].astype(str))
    return ids


def _first_col(df: pd.DataFrame, names: Iterable[str]) -> str | None:
    return next((c for c in names if c in df.columns), None)


def _band_key(band: str) -> tuple[float, str]:
    m = re.search(r"\d+", str(band))
    lead = float(m.group()) if m else 0.0
    if str(band).lower().startswith("fewer"):
        lead = 0.5
    return lead, str(band)


def _band_label(edges: list[float], j: int, *, unit: str = " min") -> str:
    if j == 0:
        return f"up to {edges[1]:g}{unit}" if len(edges) > 1 else "all"
    if j >= len(edges) - 1:
        return f"over {edges[-1]:g}{unit}"
    return f"{edges[j]:g} to {edges[j + 1]:g}{unit}"


def _nice_breaks(hi: float) -> list[float]:
    if not np.isfinite(hi) or hi <= 0:
        return [1.0]
    step = 10 ** math.floor(math.log10(hi / 4)) if hi > 0 else 1
    for mult in (1, 2, 2.5, 5, 10):
        if hi / (step * mult) <= 4:
            step *= mult
            break
    return [round(step * k, 6) for k in range(1, 5) if step * k < hi] or [round(hi, 6)]


def _colour_for(v: Any, breaks: list[float], colours: list[str]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "#ffffff"
    i = int(np.digitize([float(v)], breaks, right=True)[0])
    return colours[min(i, len(colours) - 1)]


def _spread(palette: list[str], k: int) -> list[str]:
    if k <= 0:
        return []
    if k >= len(palette):
        return [palette[min(i, len(palette) - 1)] for i in range(k)]
    idx = np.round(np.linspace(0, len(palette) - 1, k)).astype(int)
    return [palette[i] for i in idx]


def _rank_colour(rank: float, n: int) -> str:
    """Dark green for rank 1 fading to light olive for the last eligible rank."""
    t = 0.0 if n <= 1 else min(max((rank - 1) / (n - 1), 0.0), 1.0)
    a, b = _hex_rgb("#00684a"), _hex_rgb("#b8c96b")
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def _hex_rgb(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _jsonable(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return v if isinstance(v, str | int | bool) else str(v)


def _plain(obj: Any) -> Any:
    """Tuples → lists (GeoJSON from shapely uses tuples), recursively."""
    return json.loads(json.dumps(obj))
