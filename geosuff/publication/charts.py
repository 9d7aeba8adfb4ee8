"""Small inline-SVG charts for the HTML report (no JavaScript, no external files).

Charts are drawn from *published* values only: every count passed in has already been through
:mod:`geosuff.disclosure` and may be the string ``"c"`` (suppressed). A suppressed value is never
drawn to scale: in a stacked bar the suppressed cells of a row are merged into one hatched
segment (whose size is the published total minus the published cells, which a reader can already
work out from the table), and in a bar chart a suppressed bar is a hatched stub labelled "c".

All coordinates are written with at most one decimal so the SVG never carries long numbers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Default chart width (SVG user units ~ CSS px at 100 %).
CHART_WIDTH_PX = 720
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
HATCH_ID = "gs-hatch"
_TEXT = "#1f2933"
_MUTED = "#616e7c"
_GRID = "#d9dee3"


def _f(v: float) -> str:
    """A coordinate with at most one decimal ("12", "12.5")."""
    r = round(float(v), 1)
    return f"{r:.0f}" if r == int(r) else f"{r:.1f}"


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _num(value: str | float | int | None) -> float | None:
    """A published value as a number; None for "c", ":" or blank."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    s = str(value).strip().replace(",", "").rstrip("%")
    try:
        return float(s)
    except ValueError:
        return None


def _defs() -> str:
    return (
        f'<defs><pattern id="{HATCH_ID}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef0f2"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9aa5b1" stroke-width="2"/></pattern></defs>'
    )


def _open(width: float, height: float, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gs-chart" role="img" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
        f'font-family="{_esc(FONT)}" font-size="12">'
        f"<title>{_esc(title)}</title><desc>{_esc(desc)}</desc>{_defs()}"
    )


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: a label, a published value ("12", "c", "0") and a colour."""

    label: str
    value: str
    colour: str


@dataclass(frozen=True)
class BarRow:
    """One stacked bar: its label, published total and segments (left to right)."""

    label: str
    total: str
    segments: tuple[Segment, ...]


def stacked_bars(
    rows: Sequence[BarRow],
    *,
    title: str,
    desc: str = "",
    width: float = CHART_WIDTH_PX,
    label_width: float = 300.0,
) -> str:
    """Horizontal 100 % stacked bars of published counts.

    Parameters
    ----------
    rows : sequence of BarRow
        Bars top to bottom. A row whose total is suppressed or zero is drawn as a note only.
    title, desc : str
        Accessible title and description.
    width : float
        Width in px.
    label_width : float
        Space for row labels on the left (px).

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    bar_h, gap, top = 22.0, 12.0, 8.0
    legend_h = 34.0
    plot_w = width - label_width - 70.0
    height = top + len(rows) * (bar_h + gap) + legend_h + 6
    out = [_open(width, height, title, desc or title)]
    seen: dict[str, str] = {}
    has_suppressed = False
    for i, row in enumerate(rows):
        y = top + i * (bar_h + gap)
        out.append(
            f'<text x="{_f(label_width - 8)}" y="{_f(y + bar_h / 2 + 4)}" text-anchor="end" fill="{_TEXT}">{_esc(row.label)}</text>'
        )
        total = _num(row.total)
        if total is None or total <= 0:
            note = (
                "suppressed (c): too few children to show"
                if str(row.total).strip() == "c"
                else "none"
            )
            out.append(
                f'<text x="{_f(label_width)}" y="{_f(y + bar_h / 2 + 4)}" fill="{_MUTED}" font-style="italic">{_esc(note)}</text>'
            )
            continue
        x = label_width
        published = 0.0
        for seg in row.segments:
            seen.setdefault(seg.label, seg.colour)
            v = _num(seg.value)
            if v is None or v <= 0:
                continue
            published += v
            w = plot_w * v / total
            pct = 100.0 * v / total
            out.append(
                f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(bar_h)}" fill="{seg.colour}">'
                f"<title>{_esc(row.label)}: {_esc(seg.label)} {_esc(seg.value)} ({pct:.0f}%)</title></rect>"
            )
            if w >= 34:
                out.append(
                    f'<text x="{_f(x + w / 2)}" y="{_f(y + bar_h / 2 + 4)}" text-anchor="middle" fill="#fff" font-weight="600">{pct:.0f}%</text>'
                )
            x += w
        rest = total - published
        if rest > 0.5:
            has_suppressed = True
            w = plot_w * rest / total
            out.append(
                f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(bar_h)}" fill="url(#{HATCH_ID})">'
                f"<title>{_esc(row.label)}: suppressed cells (c)</title></rect>"
            )
            x += w
        out.append(
            f'<text x="{_f(label_width + plot_w + 6)}" y="{_f(y + bar_h / 2 + 4)}" fill="{_MUTED}">n = {_esc(row.total)}</text>'
        )
    # legend
    ly = top + len(rows) * (bar_h + gap) + 14
    lx = 20.0
    items = list(seen.items()) + (
        [("suppressed (c)", f"url(#{HATCH_ID})")] if has_suppressed else []
    )
    for label, colour in items:
        out.append(
            f'<rect x="{_f(lx)}" y="{_f(ly - 10)}" width="12" height="12" fill="{colour}" stroke="#9aa5b1" stroke-width="0.5"/>'
        )
        out.append(f'<text x="{_f(lx + 16)}" y="{_f(ly)}" fill="{_TEXT}">{_esc(label)}</text>')
        lx += 24 + 7.0 * len(label)
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[str],
    *,
    title: str,
    desc: str = "",
    colour: str = "#3e6fb0",
    highlight: Sequence[bool] | None = None,
    highlight_colour: str = "#c2410c",
    width: float = CHART_WIDTH_PX,
    y_label: str = "children",
) -> str:
    """Vertical bars of published counts; a suppressed value ("c") is a hatched stub.

    Parameters
    ----------
    labels : sequence of str
        Category labels (x axis).
    values : sequence of str
        Published counts ("12", "c", "0").
    highlight : sequence of bool, optional
        Bars drawn in ``highlight_colour`` (e.g. the bands over the far-distance line).
    """
    height, left, right, top, bottom = 260.0, 48.0, 12.0, 14.0, 58.0
    plot_w = width - left - right
    plot_h = height - top - bottom
    nums = [_num(v) for v in values]
    vmax = max([v for v in nums if v is not None] + [1.0])
    step = float(max(1, math.ceil(_nice_step(vmax))))  # whole children
    ymax = step * math.ceil(vmax / step)
    out = [_open(width, height, title, desc or title)]
    k = 0.0
    while k <= ymax + 1e-9:
        y = top + plot_h * (1 - k / ymax)
        out.append(
            f'<line x1="{_f(left)}" x2="{_f(left + plot_w)}" y1="{_f(y)}" y2="{_f(y)}" stroke="{_GRID}"/>'
        )
        out.append(
            f'<text x="{_f(left - 6)}" y="{_f(y + 4)}" text-anchor="end" fill="{_MUTED}">{k:g}</text>'
        )
        k += step
    out.append(
        f'<text transform="translate(12 {_f(top + plot_h / 2)}) rotate(-90)" text-anchor="middle" fill="{_MUTED}">{_esc(y_label)}</text>'
    )
    n = max(len(labels), 1)
    slot = plot_w / n
    bw = min(60.0, slot * 0.7)
    for i, (lab, raw, v) in enumerate(zip(labels, values, nums, strict=True)):
        cx = left + slot * (i + 0.5)
        col = highlight_colour if highlight is not None and highlight[i] else colour
        if v is None:
            h = 10.0
            out.append(
                f'<rect x="{_f(cx - bw / 2)}" y="{_f(top + plot_h - h)}" width="{_f(bw)}" height="{_f(h)}" fill="url(#{HATCH_ID})"><title>{_esc(lab)}: {_esc(raw)} (suppressed)</title></rect>'
            )
            out.append(
                f'<text x="{_f(cx)}" y="{_f(top + plot_h - h - 4)}" text-anchor="middle" fill="{_MUTED}">{_esc(raw)}</text>'
            )
        else:
            h = plot_h * v / ymax
            out.append(
                f'<rect x="{_f(cx - bw / 2)}" y="{_f(top + plot_h - h)}" width="{_f(bw)}" height="{_f(h)}" fill="{col}"><title>{_esc(lab)}: {_esc(raw)}</title></rect>'
            )
            out.append(
                f'<text x="{_f(cx)}" y="{_f(top + plot_h - h - 4)}" text-anchor="middle" fill="{_TEXT}" font-weight="600">{_esc(raw)}</text>'
            )
        for j, part in enumerate(_wrap(lab, 14)[:3]):
            out.append(
                f'<text x="{_f(cx)}" y="{_f(top + plot_h + 16 + 13 * j)}" text-anchor="middle" fill="{_TEXT}">{_esc(part)}</text>'
            )
    out.append(
        f'<line x1="{_f(left)}" x2="{_f(left + plot_w)}" y1="{_f(top + plot_h)}" y2="{_f(top + plot_h)}" stroke="{_MUTED}"/>'
    )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    """A line: label, colour, values (None = not published) and optional dash pattern."""

    label: str
    colour: str
    values: tuple[float | None, ...]
    dash: str = ""
    note: str = ""


def line_chart(  # noqa: C901
    x: Sequence[int],
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    y_label: str = "%",
    points: Sequence[tuple[int, float, str, str]] = (),
    width: float = CHART_WIDTH_PX,
    y_min: float | None = 0.0,
) -> str:
    """Lines over years with labelled end values; gaps where a value is not published.

    Parameters
    ----------
    x : sequence of int
        Years (x axis).
    series : sequence of Series
        Lines; ``None`` values break the line (e.g. a suppressed "c" year).
    points : sequence of (x, y, label, colour)
        Extra marked points (e.g. this analysis' figure), drawn as diamonds.
    y_min : float or None
        Lower end of the y axis (None: from the data).
    """
    height, left, right, top, bottom = 280.0, 48.0, 250.0, 16.0, 40.0
    plot_w = width - left - right
    plot_h = height - top - bottom
    ys = [v for s in series for v in s.values if v is not None] + [p[1] for p in points]
    hi = max(ys + [1.0])
    lo = min(ys + [hi]) if y_min is None else y_min
    step = _nice_step(hi - lo)
    ymax = step * math.ceil(hi / step + 0.05)
    ymin = step * math.floor(lo / step)
    if ymax <= ymin:
        ymax = ymin + step
    x0, x1 = min(x), max(x)
    span = max(x1 - x0, 1)

    def px(xv: float) -> float:
        return left + plot_w * (xv - x0) / span

    def py(yv: float) -> float:
        return top + plot_h * (1 - (yv - ymin) / (ymax - ymin))

    out = [_open(width, height, title, desc or title)]
    k = ymin
    while k <= ymax + 1e-9:
        out.append(
            f'<line x1="{_f(left)}" x2="{_f(left + plot_w)}" y1="{_f(py(k))}" y2="{_f(py(k))}" stroke="{_GRID}"/>'
        )
        out.append(
            f'<text x="{_f(left - 6)}" y="{_f(py(k) + 4)}" text-anchor="end" fill="{_MUTED}">{k:.0f}{_esc(y_label)}</text>'
        )
        k += step
    for xv in x:
        out.append(
            f'<text x="{_f(px(xv))}" y="{_f(top + plot_h + 18)}" text-anchor="middle" fill="{_TEXT}">{xv}</text>'
        )
    label_y: list[float] = []
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        run: list[str] = []
        segs: list[list[str]] = []
        for xv, yv in zip(x, s.values, strict=True):
            if yv is None:
                if run:
                    segs.append(run)
                run = []
                continue
            run.append(f"{_f(px(xv))},{_f(py(yv))}")
        if run:
            segs.append(run)
        for seg in segs:
            if len(seg) > 1:
                out.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.colour}" stroke-width="2.5"{dash}/>'
                )
        for xv, yv in zip(x, s.values, strict=True):
            if yv is not None:
                out.append(
                    f'<circle cx="{_f(px(xv))}" cy="{_f(py(yv))}" r="3.5" fill="{s.colour}"><title>{_esc(s.label)} {xv}: {yv:.0f}{_esc(y_label)}</title></circle>'
                )
        last = next(
            (
                (xv, yv)
                for xv, yv in zip(reversed(list(x)), reversed(s.values), strict=True)
                if yv is not None
            ),
            None,
        )
        if last is not None:
            ly = py(last[1])
            for other in label_y:  # keep end labels apart
                if abs(ly - other) < 14:
                    ly = other + 14
            label_y.append(ly)
            text = f"{s.label} {last[1]:.0f}{y_label}"
            out.append(
                f'<text x="{_f(left + plot_w + 10)}" y="{_f(ly + 4)}" fill="{s.colour}" font-weight="600">{_esc(text)}</text>'
            )
    for xv, yv, lab, colour in points:
        cx, cy = px(xv), py(yv)
        out.append(
            f'<path d="M{_f(cx)},{_f(cy - 7)} L{_f(cx + 7)},{_f(cy)} L{_f(cx)},{_f(cy + 7)} L{_f(cx - 7)},{_f(cy)} Z" '
            f'fill="#fff" stroke="{colour}" stroke-width="2.5"><title>{_esc(lab)}: {yv:.0f}{_esc(y_label)}</title></path>'
        )
        ly = cy + 4
        for other in label_y:
            if abs(ly - 4 - other) < 14:
                ly = other + 18
        out.append(
            f'<text x="{_f(left + plot_w + 10)}" y="{_f(ly)}" fill="{colour}" font-weight="600">{_esc(lab)} {yv:.0f}{_esc(y_label)}</text>'
        )
    out.append(
        f'<line x1="{_f(left)}" x2="{_f(left + plot_w)}" y1="{_f(top + plot_h)}" y2="{_f(top + plot_h)}" stroke="{_MUTED}"/>'
    )
    out.append("</svg>")
    return "".join(out)


def _nice_step(span: float) -> float:
    """A round grid step giving about 4-6 lines over ``span``."""
    span = max(float(span), 1e-9)
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return float(max(m * mag, 1.0))
    return float(max(10 * mag, 1.0))


def _wrap(text: str, width: int) -> list[str]:
    words = str(text).split()
    lines: list[str] = []
    cur = ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines or [""]
