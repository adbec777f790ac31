"""ROC charts: well-formed SVG, points where they belong, inert labels, readable furniture."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from app.core.charts import Curve, Scale, roc_svg

SVG = "{http://www.w3.org/2000/svg}"
TOLERANCE = 0.051  # coordinates are rounded to one decimal


def parse(svg: str) -> ET.Element:
    """The chart's root element; fails the test if the SVG is not well-formed XML."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def frame(root: ET.Element) -> tuple[float, float, float, float]:
    """The plot area as left, top, right, bottom."""
    (rect,) = [el for el in root.iter(f"{SVG}rect") if el.get("class") == "roc-frame"]
    left, top = float(rect.get("x", "")), float(rect.get("y", ""))
    return left, top, left + float(rect.get("width", "")), top + float(rect.get("height", ""))


def polylines(root: ET.Element) -> list[ET.Element]:
    """The curves drawn."""
    return [el for el in root.iter(f"{SVG}polyline") if el.get("class") == "roc-curve"]


def points(polyline: ET.Element) -> list[tuple[float, float]]:
    """A polyline's vertices."""
    pairs = [pair.split(",") for pair in polyline.get("points", "").split()]
    return [(float(x), float(y)) for x, y in pairs]


def texts(root: ET.Element) -> list[str]:
    """Every piece of visible text."""
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def legend_rows(root: ET.Element) -> list[tuple[str, str]]:
    """The key's entries as (stroke colour, label), top to bottom."""
    (legend,) = [el for el in root.iter(f"{SVG}g") if el.get("class") == "roc-legend"]
    strokes = [line.get("stroke", "") for line in legend.iter(f"{SVG}line")]
    return list(zip(strokes, texts(legend), strict=True))


def assert_at(point: tuple[float, float], x: float, y: float) -> None:
    """The point is where it should be, up to rounding."""
    assert point[0] == pytest.approx(x, abs=TOLERANCE)
    assert point[1] == pytest.approx(y, abs=TOLERANCE)


def test_linear_rates_map_onto_the_plot_area() -> None:
    """(0, 0) is the bottom-left corner, (0.5, 0.5) the middle, (1, 1) the top-right corner."""
    root = parse(roc_svg([Curve("a", [0, 0.5, 1], [0, 0.5, 1])], scale="linear", title="t"))
    left, top, right, bottom = frame(root)
    start, middle, end = points(polylines(root)[0])
    assert_at(start, left, bottom)
    assert_at(middle, (left + right) / 2, (top + bottom) / 2)
    assert_at(end, right, top)


def test_linear_tpr_and_fpr_are_independent() -> None:
    """FPR is horizontal and TPR vertical: (0.2, 0.8) sits left and high."""
    root = parse(roc_svg([Curve("a", [0.2], [0.8])], scale="linear", title="t"))
    left, top, right, bottom = frame(root)
    (point,) = points(polylines(root)[0])
    assert_at(point, left + 0.2 * (right - left), bottom - 0.8 * (bottom - top))


def test_loglog_puts_each_decade_a_quarter_further() -> None:
    """1e-2 lies halfway between 1e-4 and 1 on both axes, 1e-3 a quarter of the way."""
    curve = Curve("a", [1e-4, 1e-3, 1e-2, 1], [1e-4, 1e-3, 1e-2, 1])
    root = parse(roc_svg([curve], scale="loglog", title="t"))
    left, top, right, bottom = frame(root)
    corner, quarter, half, end = points(polylines(root)[0])
    assert_at(corner, left, bottom)
    assert_at(quarter, left + (right - left) / 4, bottom - (bottom - top) / 4)
    assert_at(half, (left + right) / 2, (top + bottom) / 2)
    assert_at(end, right, top)


def test_loglog_clamps_zero_and_tiny_rates_to_the_axis_minimum() -> None:
    """A real ROC starts at (0, 0): drawn at the corner, with no NaN or infinity anywhere."""
    curve = Curve("a", [0.0, 0.0, 1e-9, 1.0], [0.0, 0.3, 1e-7, 1.0])
    svg = roc_svg([curve], scale="loglog", title="t")
    root = parse(svg)
    left, top, right, bottom = frame(root)
    vertices = points(polylines(root)[0])
    assert_at(vertices[0], left, bottom)
    assert vertices[1][0] == pytest.approx(left, abs=TOLERANCE) and vertices[1][1] < bottom
    assert_at(vertices[2], left, bottom)
    assert "nan" not in svg.lower() and "inf" not in svg.lower()


def test_non_finite_and_out_of_range_rates_stay_out_of_the_output() -> None:
    """NaN points are skipped and rates beyond [0, 1] are drawn on the edge of the plot."""
    curve = Curve("a", [0.1, math.nan, -0.5, 2.0], [0.1, 0.5, math.inf, 3.0])
    svg = roc_svg([curve], scale="linear", title="t")
    root = parse(svg)
    left, top, right, bottom = frame(root)
    vertices = points(polylines(root)[0])
    assert len(vertices) == 2
    assert_at(vertices[1], right, top)
    assert "nan" not in svg.lower() and "inf" not in svg.lower()


@pytest.mark.parametrize(
    ("scale", "labels"),
    [
        ("linear", ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
        ("loglog", ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "1"]),
    ],
)
def test_ticks_axis_labels_and_title_are_shown(scale: Scale, labels: list[str]) -> None:
    """Each axis carries its tick labels and its name; the title is visible and the SVG's name."""
    curve = Curve("a", [0, 1], [0, 1])
    root = parse(roc_svg([curve], scale=scale, title="ROC"))
    shown = texts(root)
    for label in labels:
        assert shown.count(label) == 2, label  # once under the x axis, once beside the y axis
    assert "False positive rate" in shown and "True positive rate" in shown
    assert "ROC" in shown and root.findtext(f"{SVG}title") == "ROC"


@pytest.mark.parametrize("scale", ["linear", "loglog"])
def test_the_chance_line_runs_corner_to_corner(scale: Scale) -> None:
    """A random guess's diagonal goes from the bottom-left to the top-right of the plot."""
    root = parse(roc_svg([Curve("a", [0, 1], [0, 1])], scale=scale, title="t"))
    left, top, right, bottom = frame(root)
    (line,) = [el for el in root.iter(f"{SVG}line") if el.get("class") == "roc-chance"]
    ends = [float(line.get(name, "")) for name in ("x1", "y1", "x2", "y2")]
    assert ends == pytest.approx([left, bottom, right, top], abs=TOLERANCE)
    assert line.get("stroke-dasharray")


def test_the_svg_is_accessible_and_shrinks_with_its_container() -> None:
    """It is announced as an image by its title and scales to the width available."""
    root = parse(roc_svg([Curve("a", [0, 1], [0, 1])], scale="linear", title="My ROC"))
    assert root.get("role") == "img" and root.findtext(f"{SVG}title") == "My ROC"
    assert root.get("viewBox") == "0 0 360 300" and root.get("width") == "100%"
    assert root.get("height") is None and root.get("preserveAspectRatio")


def test_each_curve_gets_its_own_colour_matching_its_legend_entry() -> None:
    """Six curves give six polylines in six colours, and each key entry shows its curve's colour."""
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    curves = [Curve(name, [0, 1], [i / 10, 1]) for i, name in enumerate(names)]
    root = parse(roc_svg(curves, scale="linear", title="t"))
    _, top, _, bottom = frame(root)
    lines = polylines(root)
    assert len(lines) == 6 and len({line.get("stroke") for line in lines}) == 6
    rows = legend_rows(root)
    assert [label for _, label in rows] == names
    for i, (colour, _) in enumerate(rows):
        (line,) = [line for line in lines if line.get("stroke") == colour]
        assert points(line)[0][1] == pytest.approx(bottom - i / 10 * (bottom - top), abs=TOLERANCE)


def test_the_first_curve_is_drawn_on_top() -> None:
    """The best submission (listed first) is the last polyline, so others never hide it."""
    curves = [Curve("best", [0, 1], [0.9, 1]), Curve("second", [0, 1], [0.1, 1])]
    root = parse(roc_svg(curves, scale="linear", title="t"))
    best_colour = legend_rows(root)[0][0]
    assert polylines(root)[-1].get("stroke") == best_colour


def test_more_curves_than_colours_are_told_apart_by_dashes() -> None:
    """Past the palette, colours repeat but the repeated curves are dashed."""
    curves = [Curve(f"c{i}", [0, 1], [i / 20, 1]) for i in range(9)]
    root = parse(roc_svg(curves, scale="linear", title="t"))
    styles = {(line.get("stroke"), line.get("stroke-dasharray")) for line in polylines(root)}
    assert len(styles) == 9


def test_legend_sits_inside_the_plot_below_the_chance_line() -> None:
    """Even six long names leave the key inside the plot's bottom-right triangle."""
    curves = [Curve(f"team-with-a-really-long-name-{i}" * 2, [0, 1], [0, 1]) for i in range(6)]
    root = parse(roc_svg(curves, scale="loglog", title="t"))
    left, top, right, bottom = frame(root)
    (legend,) = [el for el in root.iter(f"{SVG}g") if el.get("class") == "roc-legend"]
    box = legend.find(f"{SVG}rect")
    assert box is not None
    x, y = float(box.get("x", "")), float(box.get("y", ""))
    x_end, y_end = x + float(box.get("width", "")), y + float(box.get("height", ""))
    assert left < x and x_end < right and top < y and y_end < bottom
    assert (x - left) / (right - left) >= (bottom - y) / (bottom - top)  # under the diagonal
    assert all(label.endswith("…") for _, label in legend_rows(root))


def test_a_single_unlabelled_curve_has_no_legend_but_a_labelled_one_does() -> None:
    """An empty label means no key; a named curve is named in the key."""
    bare = parse(roc_svg([Curve("", [0, 1], [0, 1])], scale="linear", title="t"))
    assert not [el for el in bare.iter(f"{SVG}g") if el.get("class") == "roc-legend"]
    named = parse(roc_svg([Curve("alice", [0, 1], [0, 1])], scale="linear", title="t"))
    assert [label for _, label in legend_rows(named)] == ["alice"]


def test_hostile_labels_and_titles_are_inert_text() -> None:
    """Markup in a participant's name or a title is shown literally, never parsed as markup."""
    hostile = ["<script>alert(1)</script>", '" onload="x', "a&b</text><svg onload=x>"]
    title = "</title><script>alert(3)</script>"
    curves = [Curve(label, [0, 1], [0, 1]) for label in hostile]
    root = parse(roc_svg(curves, scale="loglog", title=title))
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert [el for el in root.iter() if el.tag.endswith("svg")] == [root]
    assert not [el for el in root.iter() if any(name.startswith("on") for name in el.attrib)]
    assert [label for _, label in legend_rows(root)] == hostile
    assert root.findtext(f"{SVG}title") == title and title in texts(root)


def test_control_characters_in_labels_do_not_break_the_xml() -> None:
    """Characters XML forbids are dropped and line breaks become spaces."""
    root = parse(roc_svg([Curve("a\x00b\x1bc\nd", [0, 1], [0, 1])], scale="linear", title="t\x07"))
    assert [label for _, label in legend_rows(root)] == ["abc d"]
    assert root.findtext(f"{SVG}title") == "t"


@pytest.mark.parametrize("scale", ["linear", "loglog"])
def test_no_curves_still_draws_the_axes_and_says_so(scale: Scale) -> None:
    """An empty chart is valid SVG with its frame, ticks and axis labels, and a 'no data' note."""
    root = parse(roc_svg([], scale=scale, title="Empty"))
    frame(root)
    shown = texts(root)
    assert "no data" in shown and "1" in shown and "False positive rate" in shown
    assert not polylines(root)


def test_a_300_point_curve_stays_small_with_short_coordinates() -> None:
    """A realistic curve gives a page well under 20 KB, every coordinate to one decimal."""
    fpr = [i / 299 for i in range(300)]
    tpr = [math.sqrt(rate) for rate in fpr]
    for scale in ("linear", "loglog"):
        svg = roc_svg([Curve("alice", fpr, tpr)], scale=scale, title="t")
        assert len(svg.encode()) < 20_000
        vertices = polylines(parse(svg))[0].get("points", "")
        assert not re.search(r"\.\d\d", vertices) and len(vertices.split()) > 250


def test_bad_input_is_refused() -> None:
    """Mismatched lengths, an unknown scale and a tiny canvas are errors, not broken pictures."""
    with pytest.raises(ValueError, match="points"):
        Curve("a", [0, 1], [0])
    with pytest.raises(ValueError, match="scale"):
        roc_svg([], scale="log", title="t")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="room"):
        roc_svg([], scale="linear", title="t", width=100, height=100)


PHONE_CARD = 320  # px: the width a chart gets in a card on a 390 px phone


def _font(element: ET.Element, root: ET.Element) -> float:
    """The font size an element's text is drawn at, in SVG units (its own or inherited)."""
    parents = {child: parent for parent in root.iter() for child in parent}
    node: ET.Element | None = element
    while node is not None:
        if node.get("font-size"):
            return float(node.get("font-size", ""))
        node = parents.get(node)
    return 16.0


def _box(element: ET.Element, font: float) -> tuple[float, float, float, float]:
    """A generous box round a horizontal text: left, top, right, bottom."""
    x, y = float(element.get("x", "")), float(element.get("y", ""))
    width = len("".join(element.itertext())) * 0.62 * font
    anchor = element.get("text-anchor") or "start"
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    middle = y if element.get("dy") == "0.35em" else y - 0.35 * font
    return left, middle - 0.55 * font, left + width, middle + 0.55 * font


@pytest.mark.parametrize("scale", ["linear", "loglog"])
def test_the_ticks_stay_legible_and_apart_on_a_phone(scale: Scale) -> None:
    """Scaled down to a phone's card, the tick labels are still 11 px or more, and no tick
    label or axis name overlaps another."""
    root = parse(roc_svg([Curve("a", [0, 1], [0, 1])], scale=scale, title="cifar10_hi: top 5"))
    shrink = PHONE_CARD / float(root.get("viewBox", "").split()[2])
    (ticks,) = [el for el in root.iter(f"{SVG}g") if el.get("class") == "roc-ticks"]
    labels = list(ticks.iter(f"{SVG}text"))
    assert all(_font(label, root) * shrink >= 11 for label in labels)
    boxes = [_box(label, _font(label, root)) for label in labels]
    (names,) = [el for el in root.iter(f"{SVG}g") if el.get("class") == "roc-axis-labels"]
    x_name = next(el for el in names.iter(f"{SVG}text") if el.get("x"))
    boxes.append(_box(x_name, _font(x_name, root)))
    y_name_right = float(re.findall(r"translate\(([\d.]+)", ET.tostring(names).decode())[0])
    y_name_right += 0.55 * _font(names, root)  # rotated: its width is one line's height
    assert y_name_right < min(box[0] for box in boxes[1::2])  # left of the y tick labels
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)


def test_the_svg_grows_to_fill_a_wide_card() -> None:
    """On a desktop the chart takes the card's width (up to twice its size), not 360 px."""
    root = parse(roc_svg([Curve("a", [0, 1], [0, 1])], scale="linear", title="t"))
    found = re.search(r"max-width:(\d+)px", root.get("style", ""))
    assert found is not None and int(found.group(1)) >= 640
