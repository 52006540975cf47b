"""Inline SVG charts rendered on the server (no JavaScript, no external assets, CSP-safe: presentation
attributes and CSS classes only, no inline ``style``).

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>``; each bar has its own ``<title>`` (a
tooltip), and pages put the same numbers in a table next to it for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Series:
    key: str  # CSS class suffix: ``bar-<key>``
    label: str
    values: Sequence[float | None]  # None: no figure, no bar drawn


def _nice_max(value: int) -> int:
    """A round upper bound for the axis: 1, 2, 5, 10, 20, 50 … at least ``value``."""
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _text_width(text: str) -> int:
    """Approximate width in px of ``text`` at the legend's 12 px font (CJK glyphs are square)."""
    return sum(12 if ord(c) >= 0x2E80 else 7 for c in text)


def _ticks(top: int) -> list[int]:
    step = max(1, top // 5) if top > 5 else 1
    return list(range(0, top + 1, step))


def grouped_bars(
    categories: Sequence[str], series: Sequence[Series], *, title: str, desc: str, unit: str = "",
    width: int = 1000, height: int = 300,
) -> Markup:
    """A grouped bar chart: one group per category (a month), one bar per series (a list)."""
    left, right, top, bottom, legend_h = 36, 8, 10, 26, 26
    plot_w = width - left - right
    plot_h = height - top - bottom - legend_h
    y0 = top + legend_h + plot_h  # the baseline
    highest = _nice_max(math.ceil(max((v for s in series for v in s.values if v is not None), default=0)))
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)

    def y(v: float) -> float:
        return y0 - plot_h * v / highest

    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(desc)}</desc>',
    ]
    # legend
    x = left
    for s in series:
        out.append(f'<rect class="bar-{escape(s.key)}" x="{x}" y="{top + 4}" width="12" height="12" rx="2"/>')
        out.append(f'<text class="legend" x="{x + 16}" y="{top + 14}">{escape(s.label)}</text>')
        x += 16 + _text_width(s.label) + 16
    # grid and axis
    for tick in _ticks(highest):
        ty = y(tick)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick}</text>')
    # bars
    for i, category in enumerate(categories):
        gx = left + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            v = s.values[i]
            if v is None:
                continue
            bx, by = gx + j * bar_w, y(v)
            h = max(y0 - by, 0)
            out.append(
                f'<rect class="bar-{escape(s.key)}" x="{bx:.1f}" y="{by:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{h:.1f}"><title>{escape(category)} {escape(s.label)}: {v}{escape(unit)}</title></rect>'
            )
        out.append(f'<text class="axis" x="{left + i * group_w + group_w / 2:.1f}" y="{y0 + 16}" '
                   f'text-anchor="middle">{escape(category)}</text>')
    out.append(f'<line class="baseline" x1="{left}" x2="{width - right}" y1="{y0}" y2="{y0}"/>')
    out.append("</svg>")
    return Markup("".join(out))


def progress_bar(completion: float, expected: float | None, *, status: str, label: str,
                 width: int = 240, height: int = 16) -> Markup:
    """A horizontal bar: ``completion`` (0–1, shown capped at 1) with a tick at ``expected``; ``status`` names the
    CSS class of the fill (``ahead``, ``on_track``, ``behind``, ``done``, ``open``)."""
    filled = max(0.0, min(completion, 1.0)) * width
    out = [
        f'<svg class="bar" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f'<rect class="bar-track" x="0" y="0" width="{width}" height="{height}" rx="3"/>',
        f'<rect class="bar-fill-{escape(status)}" x="0" y="0" width="{filled:.1f}" height="{height}" rx="3"/>',
    ]
    if expected is not None:
        ex = max(0.0, min(expected, 1.0)) * width
        out.append(f'<line class="bar-expected" x1="{ex:.1f}" x2="{ex:.1f}" y1="0" y2="{height}"/>')
    out.append("</svg>")
    return Markup("".join(out))
