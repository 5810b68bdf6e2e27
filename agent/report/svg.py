"""Charts as inline SVG, drawn here in Python: the HTML report needs no CDN, no JavaScript, no network.

Two kinds: grouped bars and lines (None = no point). Axis from 0 to a rounded maximum, five ticks,
a legend; colours hold in print (print-color-adjust is set by the page).
"""

from __future__ import annotations

import math
from html import escape

from agent.report.sections import Chart

COLORS = ("#1f6f78", "#d17a22", "#6a994e", "#b84a38", "#49636a")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 36, 64


def nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return float(step * exponent)
    return float(10 * exponent)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def render(chart: Chart) -> str:
    values = [v for _, series in chart.series for v in series if v is not None]
    top = nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" role="img" aria-label="{escape(chart.title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(chart.title)}</title>',
             f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(chart.title)} ({escape(chart.unit)})'
             '</text>']
    for i in range(6):
        y = TOP + plot_h - plot_h * i / 5
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{_fmt(top * i / 5)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#333"/>')
    n = max(1, len(chart.labels))
    slot = plot_w / n
    every = max(1, math.ceil(n / 12))                 # at most ~12 axis labels
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle">'
                         f'{escape(label[:14])}</text>')
    if chart.kind == "bar":
        parts += _bars(chart, top, slot, plot_h)
    else:
        parts += _lines(chart, top, slot, plot_h)
    for k, (name, _) in enumerate(chart.series):
        x = LEFT + k * 160
        parts.append(f'<rect x="{x}" y="{HEIGHT - 22}" width="12" height="12" fill="{COLORS[k % len(COLORS)]}"/>'
                     f'<text x="{x + 18}" y="{HEIGHT - 12}" font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _y(value: float, top: float, plot_h: float) -> float:
    return TOP + plot_h - plot_h * value / top


def _bars(chart: Chart, top: float, slot: float, plot_h: float) -> list[str]:
    out = []
    count = max(1, len(chart.series))
    width = slot * 0.8 / count
    for k, (name, series) in enumerate(chart.series):
        for i, value in enumerate(series):
            if value is None:
                continue
            x = LEFT + slot * i + slot * 0.1 + width * k
            y = _y(value, top, plot_h)
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                       f'height="{TOP + plot_h - y:.1f}" fill="{COLORS[k % len(COLORS)]}">'
                       f'<title>{escape(name)} {escape(chart.labels[i])}: {value:g} {escape(chart.unit)}</title>'
                       '</rect>')
    return out


def _lines(chart: Chart, top: float, slot: float, plot_h: float) -> list[str]:
    out = []
    for k, (name, series) in enumerate(chart.series):
        color = COLORS[k % len(COLORS)]
        points = [(LEFT + slot * (i + 0.5), _y(v, top, plot_h)) for i, v in enumerate(series) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline class="line" points="{path}" fill="none" stroke="{color}" stroke-width="3"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"><title>{escape(name)}</title></circle>'
                for x, y in points]
    return out
