"""Server-side SVG charts for the admin analytics page: no JavaScript, no CDN, nothing to vendor.

Pure functions from numbers to an SVG string; every text is escaped. Days with no value (a rate
with nothing to divide) leave a gap in a line instead of pretending to be zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 48, 10, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _frame(title: str, labels: Sequence[str], top: float, unit: str, body: str, legend: str = "") -> str:
    ticks = []
    for fraction in (0, 0.5, 1):
        y = TOP + PLOT_H * (1 - fraction)
        ticks.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="#6b7280">'
            f"{escape(_fmt(top * fraction))}{escape(unit)}</text>"
        )
    x_labels = ""
    if labels:
        x_labels = (
            f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="10" fill="#6b7280">{escape(labels[0])}</text>'
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end" font-size="10" fill="#6b7280">'
            f"{escape(labels[-1])}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"{''.join(ticks)}{body}{x_labels}{legend}</svg>"
    )


def _fmt(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def _legend(names: Sequence[str]) -> str:
    parts, x = [], LEFT + 4
    for i, name in enumerate(names):
        parts.append(
            f'<rect x="{x}" y="{TOP}" width="9" height="9" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 12}" y="{TOP + 8}" font-size="10" fill="#374151">{escape(name)}</text>'
        )
        x += 16 + 7 * len(name)
    return "".join(parts)


def stacked_bars(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float]], unit: str = ""
) -> str:
    """One bar per label, stacked by series (e.g. messages per day by channel)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    slot = PLOT_W / max(len(labels), 1)
    bar = max(1.0, slot * 0.7)
    rects = []
    for i, label in enumerate(labels):
        base = 0.0
        for s, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = PLOT_H * value / top
            y = TOP + PLOT_H - PLOT_H * base / top - h
            rects.append(
                f'<rect x="{LEFT + i * slot + (slot - bar) / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}: {escape(_fmt(value))}</title></rect>"
            )
            base += value
    return _frame(title, labels, top, unit, "".join(rects), _legend(list(series)))


def line(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    unit: str = "",
    top: float | None = None,
) -> str:
    """A line over the days; None leaves a gap. Points carry their value as a tooltip."""
    present = [v for v in values if v is not None]
    top = top or _nice_max(max(present, default=0))
    step = PLOT_W / max(len(labels) - 1, 1)
    paths, current, dots = [], [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                paths.append(current)
            current = []
            continue
        x, y = LEFT + i * step, TOP + PLOT_H * (1 - min(value, top) / top)
        current.append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[0]}">'
            f"<title>{escape(labels[i])}: {escape(_fmt(value))}{escape(unit)}</title></circle>"
        )
    if current:
        paths.append(current)
    body = "".join(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        for points in paths
    )
    return _frame(title, labels, top, unit, body + "".join(dots))
