"""Charts drawn on the server as inline SVG: no JavaScript, nothing loaded from elsewhere.

Colours come from classes styled in ``static/review.css``; hovering a point or a bar shows
its exact value through the SVG ``<title>`` element, which every browser renders natively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None where there is nothing to show
    css_class: str
    # per label: the value may still change (drawn hollow), e.g. conversations in their window
    provisional: Sequence[bool] = ()


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def rate_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    volumes: Sequence[int],
    *,
    title: str,
    width: int = 760,
    height: int = 260,
) -> Markup:
    """Rates (0..1) as lines over columns of volume, one column per label."""
    left, right, top, bottom = 44, 44, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(1, len(labels))
    step = plot_w / count
    top_volume = max([*volumes, 1])

    def x(index: int) -> float:
        return left + step * (index + 0.5)

    def y_rate(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = y_rate(tick)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}"/>'
            f'<text class="axis" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">'
            f"{int(tick * 100)}%</text>"
        )
    parts.append(
        f'<text class="axis" x="{width - right + 6}" y="{top + 4}">{top_volume}</text>'
        f'<text class="axis" x="{width - right + 6}" y="{_num(top + plot_h + 4)}">0</text>'
    )
    bar_w = max(1.0, step * 0.6)
    for index, volume in enumerate(volumes):
        if not volume:
            continue
        bar_h = plot_h * volume / top_volume
        parts.append(
            f'<rect class="volume" x="{_num(x(index) - bar_w / 2)}" '
            f'y="{_num(top + plot_h - bar_h)}" width="{_num(bar_w)}" height="{_num(bar_h)}">'
            f"<title>{escape(labels[index])}: {volume} handled</title></rect>"
        )
    for item in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(item.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_num(x(index))},{_num(y_rate(value))}")
        if segment:
            segments.append(segment)
        for points in segments:
            parts.append(f'<polyline class="line {item.css_class}" points="{" ".join(points)}"/>')
        for index, value in enumerate(item.values):
            if value is None:
                continue
            provisional = index < len(item.provisional) and item.provisional[index]
            extra = " provisional" if provisional else ""
            note = " (provisional)" if provisional else ""
            parts.append(
                f'<circle class="dot {item.css_class}{extra}" cx="{_num(x(index))}" '
                f'cy="{_num(y_rate(value))}" r="3.5"><title>{escape(labels[index])}: '
                f"{escape(item.name)} {value * 100:.0f}%{note}</title></circle>"
            )
    shown = _label_indexes(len(labels), max(2, plot_w // 90))
    for index in shown:
        parts.append(
            f'<text class="axis" x="{_num(x(index))}" y="{height - 12}" text-anchor="middle">'
            f"{escape(labels[index])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _label_indexes(count: int, room: int) -> list[int]:
    if count <= room:
        return list(range(count))
    every = -(-count // room)
    return list(range(0, count, every))


def bar_chart(
    items: Sequence[tuple[str, int, str]],
    *,
    title: str,
    width: int = 560,
    css_class: str = "bar",
) -> Markup:
    """Horizontal bars, each with its label above: ``(label, value, note after the bar)``.

    Labels sit above the bars rather than beside them so long reason titles never get cut.
    """
    label_h, bar_h, gap, note_w = 16, 14, 10, 90
    row_h = label_h + bar_h + gap
    height = max(1, len(items)) * row_h + 4
    plot_w = width - note_w
    top_value = max([value for _, value, _ in items] + [1])
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not items:
        parts.append('<text class="axis" x="0" y="16">nothing in this period</text>')
    for row, (label, value, note) in enumerate(items):
        y = row * row_h
        bar_w = max(2.0, plot_w * value / top_value)
        parts.append(
            f'<text class="label" x="0" y="{y + label_h - 4}">{escape(label)}</text>'
            f'<rect class="{css_class}" x="0" y="{y + label_h}" width="{_num(bar_w)}" '
            f'height="{bar_h}" rx="3"><title>{escape(label)}: {value}</title></rect>'
            f'<text class="value" x="{_num(bar_w + 6)}" y="{y + label_h + bar_h - 3}">'
            f"{escape(note)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
