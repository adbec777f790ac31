"""The statistics pages' charts: entries per day, the best score over time, and each
scenario's scores across participants (a strip plot over a box plot, for a results paper).

Each chart is first laid out as a `Figure` of a few plain shapes, then written as inline SVG
with the conventions of app/core/charts.py (no <style>, no ids, every text escaped, so
participants' names are inert) or, by app/core/charts_png.py, drawn as PNG: one layout, two
renderings that cannot drift apart.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Literal

from app.core.charts import PALETTE

Anchor = Literal["start", "middle", "end"]
FONT = 13  # as the ROC charts: legible when a phone's card scales a 360-unit chart down
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 14, 40, 50  # the top leaves the heading clear of the ticks
INK, MUTED, GRID, AXIS = "#222", "#555", "#e6e8ec", "#8a8f98"
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_GOLDEN = 0.6180339887  # spreads a strip plot's dots evenly without randomness


@dataclass(frozen=True)
class Line:
    """A straight stroke."""

    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float = 1.0
    role: str = ""


@dataclass(frozen=True)
class Polyline:
    """Strokes through several points, in order."""

    points: tuple[tuple[float, float], ...]
    colour: str
    width: float = 1.8
    role: str = ""


@dataclass(frozen=True)
class Box:
    """A rectangle, filled and optionally outlined."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    stroke: str = ""
    opacity: float = 1.0
    role: str = ""


@dataclass(frozen=True)
class Dot:
    """A filled circle."""

    x: float
    y: float
    radius: float
    fill: str
    opacity: float = 1.0
    role: str = ""


@dataclass(frozen=True)
class Label:
    """One line of text; `y` is its vertical middle; `upright` turns it to read bottom-up."""

    x: float
    y: float
    text: str
    anchor: Anchor = "middle"
    colour: str = INK
    size: int = FONT
    bold: bool = False
    upright: bool = False
    role: str = ""


Shape = Line | Polyline | Box | Dot | Label


@dataclass(frozen=True)
class Figure:
    """A chart laid out: its size, title, description for screen readers, and shapes in
    drawing order."""

    width: int
    height: int
    title: str
    desc: str
    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class _Area:
    """The plot area and how values map onto its height."""

    left: float
    top: float
    width: float
    height: float
    low: float
    high: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width

    def y(self, value: float) -> float:
        """The y of a value (SVG's y grows downwards), clipped to the area."""
        span = self.high - self.low or 1.0
        fraction = min(max((value - self.low) / span, 0.0), 1.0)
        return self.bottom - fraction * self.height


def clean(text: str, limit: int | None = None) -> str:
    """Text on one line, without characters XML forbids, shortened with an ellipsis past limit."""
    text = " ".join(_NOT_XML.sub("", text).split())
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values (steps of 1, 2 or 5 times a power of ten) from at or below
    `low` to at or above `high`."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9:
        ticks.append(ticks[-1] + step)
    return [round(t, 10) for t in ticks]


def _number(value: float) -> str:
    """A tick's label: 0.25 -> "0.25", 3.0 -> "3"."""
    return f"{value:.4g}"


def _frame(
    width: int, height: int, ticks: list[float], title: str, y_label: str
) -> tuple[_Area, list[Shape]]:
    """The plot area, its grid, frame, y ticks, the y axis's name and the heading."""
    area = _Area(_LEFT, _TOP, width - _LEFT - _RIGHT, height - _TOP - _BOTTOM, ticks[0], ticks[-1])
    shapes: list[Shape] = [Box(0, 0, width, height, "#fff")]
    for tick in ticks:
        y = area.y(tick)
        shapes.append(Line(area.left, y, area.right, y, GRID, role="stat-grid"))
        shapes.append(Line(area.left - 4, y, area.left, y, AXIS))
        shapes.append(Label(area.left - 7, y, _number(tick), "end", MUTED, role="stat-tick"))
    shapes += [
        Line(area.left, area.top, area.left, area.bottom, AXIS),
        Line(area.left, area.bottom, area.right, area.bottom, AXIS),
        Label(FONT + 2, area.top + area.height / 2, y_label, upright=True, role="stat-axis"),
        Label(width / 2, 20, clean(title, int((width - 12) / 9)), size=FONT + 1, bold=True),
    ]
    return area, shapes


def _no_data(area: _Area) -> Label:
    """A note in the middle of an empty plot."""
    return Label(area.left + area.width / 2, area.top + area.height / 2, "no data", colour=MUTED)


def _spread(count: int, most: int) -> list[int]:
    """At most `most` indices out of `count`, evenly apart, the first and the last among them."""
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def per_day_chart(
    days: Sequence[tuple[date, int]], *, title: str, width: int = 360, height: int = 260
) -> Figure:
    """Bars of entries per day (the days between with none included, as the caller gives)."""
    top = max((n for _, n in days), default=0)
    ticks = nice_ticks(0, max(top, 1), 4)
    ticks = [t for t in ticks if t == int(t)] or [0.0, 1.0]  # whole entries only
    area, shapes = _frame(width, height, ticks, title, "Entries")
    slot = area.width / max(len(days), 1)
    bar = min(slot * 0.76, 40.0)  # a few days' bars stay bars, not blocks
    for i, (_, count) in enumerate(days):
        y = area.y(count)
        shapes.append(
            Box(
                area.left + (i + 0.5) * slot - bar / 2,
                y,
                bar,
                area.bottom - y,
                PALETTE[0],
                role="stat-bar",
            )
        )
    for i in _spread(len(days), 5):
        x = area.left + (i + 0.5) * slot
        shapes.append(
            Label(
                x,
                area.bottom + FONT + 4,
                days[i][0].strftime("%m-%d"),
                colour=MUTED,
                role="stat-tick",
            )
        )
    shapes.append(Label(area.left + area.width / 2, height - 10, "Day (UTC)", role="stat-axis"))
    if not days:
        shapes.append(_no_data(area))
    total = sum(n for _, n in days)
    desc = f"Bar chart: {total} entries over {len(days)} days" if days else "no data"
    return Figure(width, height, title, desc, tuple(shapes))


def best_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    title: str,
    y_label: str,
    width: int = 360,
    height: int = 260,
) -> Figure:
    """The best score so far as a step line over time, a dot where it improved."""
    values = [v for _, v in points]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.1 or 0.05
    ticks = nice_ticks(max(low - pad, 0.0) if low >= 0 else low - pad, high + pad, 4)
    area, shapes = _frame(width, height, ticks, title, y_label)
    if not points:
        shapes.append(_no_data(area))
        return Figure(width, height, title, "no data", tuple(shapes))
    start, end = points[0][0], max(points[-1][0], points[0][0] + timedelta(hours=1))

    def x(at: datetime) -> float:
        return area.left + (at - start) / (end - start) * area.width

    steps: list[tuple[float, float]] = []
    for at, value in points:
        if steps:
            steps.append((x(at), steps[-1][1]))
        steps.append((x(at), area.y(value)))
    steps.append((area.right, steps[-1][1]))
    shapes.append(Polyline(tuple(steps), PALETTE[1], role="stat-best"))
    shapes += [Dot(x(at), area.y(v), 3, PALETTE[1], role="stat-point") for at, v in points]
    fmt = "%H:%M" if end - start < timedelta(days=2) else "%m-%d"
    for i in range(4):
        at = start + (end - start) * i / 3
        anchor: Anchor = "end" if i == 3 else "middle"  # the last stays inside the chart
        shapes.append(
            Label(x(at), area.bottom + FONT + 4, at.strftime(fmt), anchor, MUTED, role="stat-tick")
        )
    shapes.append(Label(area.left + area.width / 2, height - 10, "Time (UTC)", role="stat-axis"))
    desc = f"Step line: the best score so far rose {len(points) - 1} times, to {values[-1]:.4f}"
    return Figure(width, height, title, desc, tuple(shapes))


@dataclass(frozen=True)
class Spread:
    """One scenario's values across participants: quartiles and extremes."""

    name: str
    values: tuple[float, ...]

    @property
    def quartiles(self) -> tuple[float, float, float]:
        """The first quartile, the median and the third (all the one value, for one)."""
        if len(self.values) < 2:
            return (self.values[0],) * 3 if self.values else (0.0, 0.0, 0.0)
        q1, q2, q3 = statistics.quantiles(self.values, n=4, method="inclusive")
        return q1, q2, q3


def hardest(spreads: Sequence[Spread]) -> Spread | None:
    """The scenario with the lowest median: the one attacks did worst on."""
    filled = [s for s in spreads if s.values]
    return min(filled, key=lambda s: (s.quartiles[1], s.name)) if filled else None


def scenario_chart(
    spreads: Sequence[Spread], *, title: str, y_label: str, x_label: str, height: int = 300
) -> Figure:
    """Per scenario, a box (quartiles, median, whiskers to the lowest and highest value) with
    every participant's value as a dot over it: how far apart the scenarios are."""
    width = max(360, _LEFT + _RIGHT + 84 * len(spreads))
    top = max((max(s.values) for s in spreads if s.values), default=1.0)
    area, shapes = _frame(width, height, nice_ticks(0.0, top, 5), title, y_label)
    slot = area.width / max(len(spreads), 1)
    for i, spread in enumerate(spreads):
        shapes += _column(spread, area, area.left + (i + 0.5) * slot, slot, PALETTE[i % 7])
    shapes.append(Label(area.left + area.width / 2, height - 10, x_label, role="stat-axis"))
    worst = hardest(spreads)
    if worst is None:
        shapes.append(_no_data(area))
    desc = (
        f"Box and strip plot of {y_label} per {x_label.lower()}; hardest: {worst.name} "
        f"(median {worst.quartiles[1]:.4f})"
        if worst
        else "no data"
    )
    return Figure(width, height, title, desc, tuple(shapes))


def _column(spread: Spread, area: _Area, middle: float, slot: float, colour: str) -> list[Shape]:
    """One scenario's box, whiskers, dots and name."""
    label = Label(
        middle,
        area.bottom + FONT + 4,
        clean(spread.name, int(slot / 7.5)),
        colour=MUTED,
        role="stat-tick",
    )
    if not spread.values:
        return [label]
    q1, median, q3 = spread.quartiles
    half = min(slot * 0.3, 26)
    shapes: list[Shape] = [
        Line(middle, area.y(min(spread.values)), middle, area.y(q1), AXIS, 1.2),
        Line(middle, area.y(q3), middle, area.y(max(spread.values)), AXIS, 1.2),
        Box(
            middle - half,
            area.y(q3),
            2 * half,
            max(area.y(q1) - area.y(q3), 1),
            colour,
            stroke=colour,
            opacity=0.18,
            role="stat-box",
        ),
        Line(
            middle - half,
            area.y(median),
            middle + half,
            area.y(median),
            colour,
            2.2,
            role="stat-median",
        ),
    ]
    for k, value in enumerate(spread.values):
        offset = ((k * _GOLDEN) % 1.0 - 0.5) * half * 1.4
        shapes.append(Dot(middle + offset, area.y(value), 3.2, colour, 0.75, role="stat-dot"))
    return [*shapes, label]


def _n(value: float) -> str:
    """A coordinate with at most one decimal."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _class(role: str) -> str:
    return f' class="{role}"' if role else ""


def _svg_shape(shape: Shape) -> str:
    """One shape as an SVG element; text is escaped here."""
    if isinstance(shape, Line):
        return (
            f'<line{_class(shape.role)} x1="{_n(shape.x1)}" y1="{_n(shape.y1)}" '
            f'x2="{_n(shape.x2)}" y2="{_n(shape.y2)}" stroke="{shape.colour}" '
            f'stroke-width="{shape.width:g}"/>'
        )
    if isinstance(shape, Polyline):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in shape.points)
        return (
            f'<polyline{_class(shape.role)} points="{points}" fill="none" '
            f'stroke="{shape.colour}" stroke-width="{shape.width:g}" stroke-linejoin="round"/>'
        )
    if isinstance(shape, Box):
        stroke = f' stroke="{shape.stroke}"' if shape.stroke else ""
        opacity = f' fill-opacity="{shape.opacity:g}"' if shape.opacity < 1 else ""
        return (
            f'<rect{_class(shape.role)} x="{_n(shape.x)}" y="{_n(shape.y)}" '
            f'width="{_n(shape.width)}" height="{_n(shape.height)}" fill="{shape.fill}"'
            f"{opacity}{stroke}/>"
        )
    if isinstance(shape, Dot):
        opacity = f' fill-opacity="{shape.opacity:g}"' if shape.opacity < 1 else ""
        return (
            f'<circle{_class(shape.role)} cx="{_n(shape.x)}" cy="{_n(shape.y)}" '
            f'r="{shape.radius:g}" fill="{shape.fill}"{opacity}/>'
        )
    turn = f' transform="rotate(-90 {_n(shape.x)} {_n(shape.y)})"' if shape.upright else ""
    weight = ' font-weight="600"' if shape.bold else ""
    return (
        f'<text{_class(shape.role)} x="{_n(shape.x)}" y="{_n(shape.y)}" dy="0.35em" '
        f'text-anchor="{shape.anchor}" font-size="{shape.size}" fill="{shape.colour}"'
        f"{weight}{turn}>{escape(clean(shape.text), quote=True)}</text>"
    )


def to_svg(figure: Figure, *, standalone: bool = False) -> str:
    """The figure as SVG: inline (takes its container's width, up to twice its own), or
    `standalone` for a file (its own size, with the XML declaration)."""
    size = (
        f'width="{figure.width}" height="{figure.height}"'
        if standalone
        else f'width="100%" style="max-width:{figure.width * 2}px;height:auto"'
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    return (
        f'{head}<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {figure.width} '
        f'{figure.height}" {size} preserveAspectRatio="xMidYMid meet" role="img" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">'
        f"<title>{escape(clean(figure.title), quote=True)}</title>"
        f"<desc>{escape(clean(figure.desc), quote=True)}</desc>"
        f"{''.join(_svg_shape(s) for s in figure.shapes)}</svg>"
    )
