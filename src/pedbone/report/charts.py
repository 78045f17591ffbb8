"""Server-rendered SVG charts, shared by the web pages and the PDF report.

One small SVG builder, no JavaScript and no raster images: the same markup is inlined in the
HTML pages and rendered by WeasyPrint in the report. Callers pass numbers and already
translated, locale-formatted labels; this module knows no language and no clinical rule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = [
    "Band",
    "Chart",
    "Series",
    "decimal_year",
    "nice_ticks",
    "render_chart",
]

PALETTE = ("#1f5f8b", "#b3261e", "#2e7d4f", "#a86400", "#6a4c93")


def decimal_year(day: dt.date) -> float:
    """A date as a decimal year (2026-07-02 -> about 2026.5), for time axes."""
    start = dt.date(day.year, 1, 1)
    length = (dt.date(day.year + 1, 1, 1) - start).days
    return day.year + (day - start).days / length


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick positions (steps of 1, 2, 2.5 or 5 times a power of ten) covering lo..hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("tick range must be finite")
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


@dataclass(frozen=True, slots=True)
class Series:
    """A line and/or markers through (x, y) points; ``None`` y values break the line."""

    label: str
    points: Sequence[tuple[float, float | None]]
    color: str = PALETTE[0]
    markers: bool = True
    line: bool = True
    dashed: bool = False
    width: float = 2.0


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded horizontal band (y from ``low`` to ``high``) over x from ``x0`` to ``x1``
    (default: the whole plot), or between two curves when ``lower``/``upper`` are given."""

    label: str
    low: float = 0.0
    high: float = 0.0
    x0: float | None = None
    x1: float | None = None
    color: str = "#dbe9f4"
    lower: Sequence[tuple[float, float]] | None = None
    upper: Sequence[tuple[float, float]] | None = None


@dataclass(slots=True)
class Chart:
    """A line chart specification."""

    title: str
    x_label: str
    y_label: str
    series: list[Series] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    #: Horizontal reference lines: (y, label, colour).
    hlines: list[tuple[float, str, str]] = field(default_factory=list)
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    format_x: Callable[[float], str] = field(default=lambda v: f"{v:g}")
    format_y: Callable[[float], str] = field(default=lambda v: f"{v:g}")
    width: int = 560
    height: int = 290
    #: Smallest x span shown (e.g. half a year on a date axis), centred on the data.
    min_x_span: float = 0.0
    #: Curves labelled at their right end (e.g. centiles) instead of in the legend.
    end_labels: bool = False
    empty_text: str = "No data"


def _extent(chart: Chart) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for s in chart.series:
        for x, y in s.points:
            if y is not None and math.isfinite(y):
                xs.append(x)
                ys.append(y)
    for b in chart.bands:
        if b.lower is not None and b.upper is not None:
            ys.extend(y for _, y in b.lower)
            ys.extend(y for _, y in b.upper)
        else:
            ys.extend((b.low, b.high))
    ys.extend(y for y, _, _ in chart.hlines)
    if not xs and chart.x_range is None:
        return None
    x0, x1 = chart.x_range or (min(xs), max(xs))
    y0, y1 = chart.y_range or (min(ys), max(ys))
    if x1 - x0 < max(chart.min_x_span, 1e-9):
        half = max(chart.min_x_span, 1.0) / 2
        mid = (x0 + x1) / 2
        x0, x1 = mid - half, mid + half
    if y1 - y0 < 1e-9:
        pad = abs(y0) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    if chart.y_range is None:
        pad = (y1 - y0) * 0.08
        y0, y1 = y0 - pad, y1 + pad
    if chart.x_range is None:
        pad = (x1 - x0) * 0.04
        x0, x1 = x0 - pad, x1 + pad
    return x0, x1, y0, y1


def render_chart(chart: Chart) -> str:
    """The chart as a self-contained ``<svg>`` element (escaped labels, no scripts)."""
    w, h = chart.width, chart.height
    left, right, top, bottom = 64, 110 if chart.end_labels else 16, 44, 46
    pw, ph = w - left - right, h - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        f'height="{h}" role="img" aria-label="{escape(chart.title)}" class="pb-chart" '
        'font-family="DejaVu Sans, sans-serif" font-size="12">',
        f"<title>{escape(chart.title)}</title>",
        f'<text x="{left}" y="16" font-size="14" font-weight="bold" fill="#1d2733">'
        f"{escape(chart.title)}</text>",
    ]
    extent = _extent(chart)
    if extent is None:
        out.append(
            f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#f7f9fb" '
            'stroke="#d9e0e7"/>'
            f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" '
            f'fill="#5b6877">{escape(chart.empty_text)}</text></svg>'
        )
        return "".join(out)
    x0, x1, y0, y1 = extent

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    out.append(
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#c5ced8"/>'
    )
    # bands
    for band in chart.bands:
        if band.lower is not None and band.upper is not None:
            pts = [(sx(x), sy(y)) for x, y in band.upper] + [
                (sx(x), sy(y)) for x, y in reversed(band.lower)
            ]
            poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            out.append(f'<polygon points="{poly}" fill="{band.color}" fill-opacity="0.7"/>')
        else:
            bx0 = sx(max(band.x0 if band.x0 is not None else x0, x0))
            bx1 = sx(min(band.x1 if band.x1 is not None else x1, x1))
            out.append(
                f'<rect x="{bx0:.1f}" y="{sy(band.high):.1f}" width="{max(bx1 - bx0, 0):.1f}" '
                f'height="{max(sy(band.low) - sy(band.high), 0):.1f}" fill="{band.color}" '
                'fill-opacity="0.7"/>'
            )
    # grid and ticks
    for ty in nice_ticks(y0, y1, 5):
        if y0 <= ty <= y1:
            y = sy(ty)
            out.append(
                f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#e8edf2"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6877">'
                f"{escape(chart.format_y(ty))}</text>"
            )
    shown: set[str] = set()
    for tx in nice_ticks(x0, x1, 5):
        label = chart.format_x(tx)
        if x0 <= tx <= x1 and label not in shown:
            shown.add(label)
            x = sx(tx)
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="#eef2f5"/>'
                f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle" fill="#5b6877">'
                f"{escape(label)}</text>"
            )
    for yv, label, colour in chart.hlines:
        if y0 <= yv <= y1:
            y = sy(yv)
            out.append(
                f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{colour}" stroke-dasharray="5,4" stroke-width="1.2"/>'
                f'<text x="{left + pw - 4}" y="{y - 4:.1f}" text-anchor="end" fill="{colour}">'
                f"{escape(label)}</text>"
            )
    # series
    for s in chart.series:
        segments: list[list[tuple[float, float]]] = [[]]
        for px, py in s.points:
            if py is None or not math.isfinite(py):
                segments.append([])
            else:
                segments[-1].append((sx(px), sy(py)))
        dash = ' stroke-dasharray="4,3"' if s.dashed else ""
        for seg in segments:
            if s.line and len(seg) > 1:
                line_pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in seg)
                out.append(
                    f'<polyline points="{line_pts}" fill="none" stroke="{s.color}" '
                    f'stroke-width="{s.width}"{dash}/>'
                )
            if s.markers:
                out.extend(
                    f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{s.color}" '
                    'stroke="#fff" stroke-width="1"/>'
                    for a, b in seg
                )
        if chart.end_labels and segments[-1]:
            a, b = segments[-1][-1]
            out.append(
                f'<text x="{a + 4:.1f}" y="{b + 4:.1f}" fill="{s.color}" font-size="10">'
                f"{escape(s.label)}</text>"
            )
    # axis titles
    out.append(
        f'<text x="{left + pw / 2}" y="{h - 8}" text-anchor="middle" fill="#1d2733">'
        f"{escape(chart.x_label)}</text>"
        f'<text transform="translate(14,{top + ph / 2}) rotate(-90)" text-anchor="middle" '
        f'fill="#1d2733">{escape(chart.y_label)}</text>'
    )
    # legend (series with markers or lines, and bands)
    if not chart.end_labels:
        lx = float(left + 8)
        items = [(s.label, s.color, "line") for s in chart.series if s.label] + [
            (b.label, b.color, "band") for b in chart.bands if b.label
        ]
        for label, colour, kind in items:
            if kind == "band":
                out.append(f'<rect x="{lx}" y="24" width="14" height="9" fill="{colour}"/>')
            else:
                out.append(
                    f'<line x1="{lx}" x2="{lx + 14}" y1="29" y2="29" '
                    f'stroke="{colour}" stroke-width="2.5"/>'
                )
            out.append(f'<text x="{lx + 18}" y="33" fill="#1d2733">{escape(label)}</text>')
            lx += 30 + 7.3 * len(label)
    out.append("</svg>")
    return "".join(out)
