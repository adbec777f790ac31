"""ROC curves drawn as small, self-contained inline SVG (standard library only).

The SVG has no <style> element and no ids, so several charts can share a page without their CSS
or ids leaking into each other; every piece of text is escaped, so participants' names are inert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

Scale = Literal["linear", "loglog"]

# Okabe-Ito's colour-blind-friendly palette without its yellow, which is too faint on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# The smallest rate a log-log chart shows; smaller ones (zero included) sit on the axis.
LOG_MIN = 1e-4
_DECADES = 4
# Text of 13 units: a chart scaled down to a phone's card (about 320 px for its 360) still
# shows it at 11.5 px. The margins leave the tick labels and the axis names apart.
_FONT = 13
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 14, 32, 50  # margins around the plot area
_LEGEND_FONT = 11  # the key's text: smaller, for names to fit below the chance line
_CHAR_WIDTH = 0.565 * _LEGEND_FONT  # a generous average advance of one such character
_LEGEND_ROW = 14
_GROW = 2  # a chart grows with its container up to twice its drawn width, never further
_INK, _MUTED, _GRID, _AXIS = "#222", "#555", "#e6e8ec", "#8a8f98"
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Curve:
    """One ROC curve: its legend label and its vertices, in order of increasing FPR."""

    label: str
    fpr: Sequence[float]
    tpr: Sequence[float]

    def __post_init__(self) -> None:
        if len(self.fpr) != len(self.tpr):
            raise ValueError(f"fpr has {len(self.fpr)} points but tpr has {len(self.tpr)}")


@dataclass(frozen=True)
class _Plot:
    """The plot area in SVG user units, and how rates map onto it."""

    left: float
    top: float
    width: float
    height: float
    scale: Scale

    @property
    def right(self) -> float:
        """The x of the plot area's right edge."""
        return self.left + self.width

    @property
    def bottom(self) -> float:
        """The y of the plot area's bottom edge (SVG's y grows downwards)."""
        return self.top + self.height

    def x(self, rate: float) -> float:
        """The x coordinate of a false positive rate."""
        return self.left + _fraction(rate, self.scale) * self.width

    def y(self, rate: float) -> float:
        """The y coordinate of a true positive rate."""
        return self.bottom - _fraction(rate, self.scale) * self.height


def roc_svg(
    curves: Sequence[Curve],
    *,
    scale: Literal["linear", "loglog"],
    title: str,
    width: int = 360,
    height: int = 300,
) -> str:
    """An accessible SVG (role="img", <title>) of the curves, with axes, ticks, labels, legend."""
    plot = _layout(width, height, scale)
    parts = [
        _open(width, height, title, curves, scale),
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        _grid(plot),
        _chance(plot) if curves else "",
        _axes(plot),
        _tick_labels(plot),
        _axis_labels(plot, height),
        _heading(title, width),
        _curves(curves, plot) if curves else _no_data(plot),
        _legend(curves, plot),
        "</svg>",
    ]
    return "".join(parts)


def _layout(width: int, height: int, scale: str) -> _Plot:
    """The plot area left once the margins for title, ticks and axis labels are taken."""
    if scale not in ("linear", "loglog"):
        raise ValueError(f"unknown scale {scale!r}; expected 'linear' or 'loglog'")
    plot_width, plot_height = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    if plot_width < 100 or plot_height < 80:
        raise ValueError(f"a {width}x{height} chart leaves too little room for the plot")
    return _Plot(_LEFT, _TOP, plot_width, plot_height, "linear" if scale == "linear" else "loglog")


def _fraction(rate: float, scale: Scale) -> float:
    """Where a (finite) rate falls along an axis: 0 at the axis minimum, 1 at its maximum."""
    rate = min(max(rate, 0.0), 1.0)
    if scale == "linear":
        return rate
    return (math.log10(max(rate, LOG_MIN)) + _DECADES) / _DECADES


def _num(value: float) -> str:
    """A coordinate with at most one decimal: 12.0 -> "12", 12.345 -> "12.3"."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _clean(value: str, limit: int | None = None) -> str:
    """Text on one line, without characters XML forbids, shortened with an ellipsis past limit."""
    value = " ".join(_NOT_XML.sub("", value).split())
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)].rstrip() + "…"
    return value


def _text(value: str, limit: int | None = None) -> str:
    """Text made safe for XML content and attributes (see _clean for limit)."""
    return escape(_clean(value, limit), quote=True)


def _open(width: int, height: int, title: str, curves: Sequence[Curve], scale: str) -> str:
    """The root element, which takes its container's width (up to _GROW times its own), and
    its title and description."""
    names = ", ".join(curve.label for curve in curves) or "no data"
    axes = "linear axes" if scale == "linear" else "logarithmic axes from 0.0001 to 1"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" style="max-width:{width * _GROW}px;height:auto" '
        f'role="img" font-family="system-ui, sans-serif" font-size="{_FONT}">'
        f"<title>{_text(title)}</title>"
        f"<desc>{_text(f'ROC curves on {axes}: {names}.')}</desc>"
    )


def _ticks(scale: Scale) -> list[tuple[float, str]]:
    """The labelled ticks of either axis: fifths on linear, decades on log-log."""
    if scale == "linear":
        return [(i / 5, _num(i / 5)) for i in range(6)]
    return [
        (10.0**-k, "1" if k == 0 else f"10{str(-k).translate(_SUPERSCRIPT)}")
        for k in (4, 3, 2, 1, 0)
    ]


def _minor_ticks(scale: Scale) -> list[float]:
    """The unlabelled ticks between decades (log-log only)."""
    if scale == "linear":
        return []
    return [m * 10.0**-k for k in range(_DECADES, 0, -1) for m in range(2, 10)]


def _grid(plot: _Plot) -> str:
    """Faint lines across the plot area at the labelled ticks."""
    path = []
    for rate, _ in _ticks(plot.scale)[1:-1]:
        x, y = _num(plot.x(rate)), _num(plot.y(rate))
        path.append(
            f"M{x} {_num(plot.top)}V{_num(plot.bottom)}M{_num(plot.left)} {y}H{_num(plot.right)}"
        )
    return f'<path d="{"".join(path)}" stroke="{_GRID}" fill="none"/>'


def _chance(plot: _Plot) -> str:
    """The dashed diagonal a random guess follows (TPR = FPR), straight on both scales."""
    return (
        f'<line class="roc-chance" x1="{_num(plot.left)}" y1="{_num(plot.bottom)}" '
        f'x2="{_num(plot.right)}" y2="{_num(plot.top)}" stroke="#9aa0a8" stroke-dasharray="4 3"/>'
    )


def _axes(plot: _Plot) -> str:
    """The frame round the plot area and the tick marks outside it (minor ones shorter)."""
    major = [(rate, 4) for rate, _ in _ticks(plot.scale)]
    marks = major + [(rate, 2) for rate in _minor_ticks(plot.scale)]
    path = []
    for rate, length in marks:
        x, y = _num(plot.x(rate)), _num(plot.y(rate))
        path.append(f"M{x} {_num(plot.bottom)}v{length}M{_num(plot.left)} {y}h-{length}")
    return (
        f'<path d="{"".join(path)}" stroke="{_AXIS}" fill="none"/>'
        f'<rect class="roc-frame" x="{_num(plot.left)}" y="{_num(plot.top)}" '
        f'width="{_num(plot.width)}" height="{_num(plot.height)}" stroke="{_AXIS}" fill="none"/>'
    )


def _tick_labels(plot: _Plot) -> str:
    """The numbers under the x axis and left of the y axis."""
    below, left = _num(plot.bottom + _FONT + 7), _num(plot.left - 7)
    texts = []
    for rate, label in _ticks(plot.scale):
        x, y = _num(plot.x(rate)), _num(plot.y(rate))
        texts.append(f'<text x="{x}" y="{below}" text-anchor="middle">{label}</text>')
        texts.append(f'<text x="{left}" y="{y}" dy="0.35em" text-anchor="end">{label}</text>')
    return f'<g class="roc-ticks" fill="{_MUTED}">{"".join(texts)}</g>'


def _axis_labels(plot: _Plot, height: int) -> str:
    """The x axis's name under its tick labels, the y axis's name up the left edge."""
    middle_x, middle_y = _num(plot.left + plot.width / 2), _num(plot.top + plot.height / 2)
    return (
        f'<g class="roc-axis-labels" fill="{_INK}" text-anchor="middle">'
        f'<text x="{middle_x}" y="{height - 8}">False positive rate</text>'
        f'<text transform="translate({_FONT + 2} {middle_y}) rotate(-90)">True positive rate</text>'
        "</g>"
    )


def _heading(title: str, width: int) -> str:
    """The title as visible text above the plot, shortened to fit the width."""
    limit = int((width - 12) / (0.65 * (_FONT + 1)))
    return (
        f'<text class="roc-title" x="{_num(width / 2)}" y="20" text-anchor="middle" '
        f'font-size="{_FONT + 1}" font-weight="600" fill="{_INK}">{_text(title, limit)}</text>'
    )


def _stroke(index: int) -> str:
    """The stroke of the index-th curve: its palette colour, dashed once the palette repeats."""
    colour = PALETTE[index % len(PALETTE)]
    dashes = ' stroke-dasharray="6 3"' if index >= len(PALETTE) else ""
    return f'stroke="{colour}"{dashes}'


def _points(curve: Curve, plot: _Plot) -> str:
    """A curve's finite vertices as polyline points, repeats left by rounding dropped."""
    points: list[str] = []
    for fpr, tpr in zip(curve.fpr, curve.tpr, strict=True):
        if not (math.isfinite(fpr) and math.isfinite(tpr)):
            continue
        point = f"{_num(plot.x(fpr))},{_num(plot.y(tpr))}"
        if not points or points[-1] != point:
            points.append(point)
    return " ".join(points)


def _curves(curves: Sequence[Curve], plot: _Plot) -> str:
    """One polyline per curve, the first drawn last so that it lies on top."""
    lines = [
        f'<polyline class="roc-curve" points="{_points(curve, plot)}" fill="none" '
        f'{_stroke(index)} stroke-width="1.8" stroke-linejoin="round"/>'
        for index, curve in enumerate(curves)
    ]
    return "".join(reversed(lines))


def _no_data(plot: _Plot) -> str:
    """A note in the middle of an empty plot."""
    x, y = _num(plot.left + plot.width / 2), _num(plot.top + plot.height / 2)
    return (
        f'<text class="roc-empty" x="{x}" y="{y}" dy="0.35em" text-anchor="middle" '
        f'fill="{_MUTED}" stroke="#fff" stroke-width="6" paint-order="stroke">no data</text>'
    )


def _legend_limit(rows: int, plot: _Plot) -> int:
    """How many characters a label may keep for the key to stay below the chance line."""
    height = 8 + rows * _LEGEND_ROW
    width = plot.width - 10 - plot.width * (6 + height) / plot.height
    return min(max(int((width - 40) / _CHAR_WIDTH), 12), 32)


def _legend(curves: Sequence[Curve], plot: _Plot) -> str:
    """A key in the plot's bottom-right corner, below the chance line, where curves rarely go."""
    if not any(curve.label.strip() for curve in curves):
        return ""
    limit = _legend_limit(len(curves), plot)
    labels = [_clean(curve.label, limit) for curve in curves]
    box_width = 40 + max(len(label) for label in labels) * _CHAR_WIDTH
    box_height = 8 + len(curves) * _LEGEND_ROW
    left, top = plot.right - 6 - box_width, plot.bottom - 6 - box_height
    rows = [
        _legend_row(i, label, left, top + 4 + i * _LEGEND_ROW) for i, label in enumerate(labels)
    ]
    return (
        f'<g class="roc-legend" font-size="{_LEGEND_FONT}">'
        f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(box_width)}" '
        f'height="{_num(box_height)}" rx="3" fill="#fff" fill-opacity="0.88" stroke="{_GRID}"/>'
        f"{''.join(rows)}</g>"
    )


def _legend_row(index: int, label: str, left: float, top: float) -> str:
    """One key entry: a stroke sample in the curve's colour, then its label (escaped here)."""
    middle = _num(top + _LEGEND_ROW / 2)
    return (
        f'<line x1="{_num(left + 8)}" y1="{middle}" x2="{_num(left + 26)}" y2="{middle}" '
        f'{_stroke(index)} stroke-width="2.5"/>'
        f'<text x="{_num(left + 31)}" y="{middle}" dy="0.35em" fill="{_INK}">{escape(label)}</text>'
    )
