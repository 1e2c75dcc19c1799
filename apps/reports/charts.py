"""Bar and line charts as SVG, drawn on the server.

No script and no third-party host: the markup goes into the page as it is, so that it shows
offline and under a strict Content-Security-Policy. Every text (titles, labels, the hover tips
of ``<title>``) is escaped; colours and fonts come from CSS classes (``reports/dashboard.css``),
never from ``style`` attributes, which the policy refuses.

A chart is sized by its ``viewBox`` and scales to the width of its container.
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal
Format = Callable[[Number], str]

_CSS_CLASS = re.compile(r"^[a-z][a-z0-9-]*$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
MAX_X_LABELS = 8
LABEL_CHARACTERS = 20  # longer bar labels are cut (the hover tip has the whole text)


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a value per label; ``css_class`` names its colour."""

    name: str
    values: Sequence[Number]
    css_class: str = "current"


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart; ``previous`` (optional) is drawn as a thin bar under it."""

    label: str
    value: Number
    previous: Number | None = None


def _number(value: Number) -> float:
    return float(value)


def _coordinate(value: float) -> str:
    """A coordinate, short: 12.5, not 12.500000001."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _class(name: str) -> str:
    if not _CSS_CLASS.match(name):
        raise ValueError(f"Not a CSS class name: {name!r}")
    return name


def _id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"Not an element id: {value!r}")
    return value


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10


def _cut(text: str, length: int = LABEL_CHARACTERS) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _open(chart_id: str, title: str, width: int, height: int, css_class: str) -> list[str]:
    chart_id = _id(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {_class(css_class)}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-title" '
        f'id="{chart_id}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_format: Format = str,
    width: int = 720,
    height: int = 260,
) -> SafeString:
    """A line per series over ``labels`` (the x axis), from 0 to a round maximum.

    Each point of the first series has a hover tip (its label and value); the series' names
    make a legend above the plot.
    """
    left, right, top, bottom = 72, 16, 28, 36
    plot_width, plot_height = width - left - right, height - top - bottom
    values = [_number(v) for s in series for v in s.values]
    ceiling = nice_ceiling(max(values, default=0))
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return left + (plot_width / 2 if count == 1 else plot_width * index / (count - 1))

    def y(value: Number) -> float:
        return top + plot_height - plot_height * _number(value) / ceiling

    parts = _open(chart_id, title, width, height, "line-chart")
    for step in range(5):  # the grid and the y axis' values
        value = ceiling * step / 4
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{width - right}" '
            f'y1="{_coordinate(y(value))}" y2="{_coordinate(y(value))}"/>'
        )
        parts.append(
            f'<text class="chart-label chart-y" x="{left - 8}" y="{_coordinate(y(value) + 4)}" '
            f'text-anchor="end">{escape(value_format(value))}</text>'
        )
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for index, label in enumerate(labels):
        if index % every == 0:
            parts.append(
                f'<text class="chart-label chart-x" x="{_coordinate(x(index))}" '
                f'y="{height - bottom + 18}" text-anchor="middle">{escape(label)}</text>'
            )
    for number, each in enumerate(series):
        points = " ".join(
            f"{_coordinate(x(i))},{_coordinate(y(v))}" for i, v in enumerate(each.values)
        )
        css = _class(each.css_class)
        if len(each.values) > 1:
            parts.append(f'<polyline class="chart-line {css}" points="{points}"/>')
        if number == 0:
            for index, value in enumerate(each.values):
                label = labels[index] if index < len(labels) else ""
                parts.append(
                    f'<circle class="chart-point {css}" cx="{_coordinate(x(index))}" '
                    f'cy="{_coordinate(y(value))}" r="3"><title>{escape(label)}: '
                    f"{escape(value_format(value))}</title></circle>"
                )
        parts.append(
            f'<rect class="chart-key {css}" x="{left + 150 * number}" y="8" '
            'width="12" height="12" rx="2"/>'
        )
        parts.append(
            f'<text class="chart-label" x="{left + 150 * number + 18}" y="18">'
            f"{escape(each.name)}</text>"
        )
    parts.append(
        f'<line class="chart-axis" x1="{left}" x2="{width - right}" '
        f'y1="{top + plot_height}" y2="{top + plot_height}"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 (every text is escaped)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    value_format: Format = str,
    width: int = 440,
    row_height: int = 28,
    maximum: Number | None = None,
) -> SafeString:
    """Horizontal bars, one row each: the label on the left, the value after the bar; the
    previous value, when given, as a thin bar under it. ``maximum`` fixes the scale (100 for
    percentages); otherwise it is a round number above the largest value."""
    left, right, top = 140, 64, 6
    plot_width = width - left - right
    height = top * 2 + row_height * max(len(bars), 1)
    largest = max(
        (_number(v) for bar in bars for v in (bar.value, bar.previous) if v is not None),
        default=0,
    )
    ceiling = _number(maximum) if maximum else nice_ceiling(largest)
    ceiling = max(ceiling, largest) or 1.0

    def length(value: Number) -> float:
        return plot_width * max(_number(value), 0) / ceiling

    parts = _open(chart_id, title, width, height, "bar-chart")
    if not bars:
        parts.append(
            f'<text class="chart-label chart-empty" x="{width / 2}" y="{top + 20}" '
            'text-anchor="middle">Nothing in this period</text>'
        )
    for row, bar in enumerate(bars):
        y = top + row * row_height
        tip = f"{bar.label}: {value_format(bar.value)}"
        if bar.previous is not None:
            tip += f" (previous period: {value_format(bar.previous)})"
        parts.append(f'<g class="chart-row"><title>{escape(tip)}</title>')
        parts.append(
            f'<text class="chart-label" x="{left - 8}" y="{y + row_height / 2 + 2:.0f}" '
            f'text-anchor="end">{escape(_cut(bar.label))}</text>'
        )
        parts.append(
            f'<rect class="chart-bar current" x="{left}" y="{y + 4}" '
            f'width="{_coordinate(length(bar.value))}" height="{row_height - 14}" rx="2"/>'
        )
        if bar.previous is not None:
            parts.append(
                f'<rect class="chart-bar previous" x="{left}" y="{y + row_height - 9}" '
                f'width="{_coordinate(length(bar.previous))}" height="4" rx="1"/>'
            )
        parts.append(
            f'<text class="chart-label chart-value" '
            f'x="{_coordinate(left + length(bar.value) + 6)}" '
            f'y="{y + row_height / 2 + 2:.0f}">{escape(value_format(bar.value))}</text>'
        )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703 (every text is escaped)
