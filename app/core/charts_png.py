"""A statistics chart (app/core/charts_stats.py's `Figure`) drawn as PNG with Pillow, whose
wheels bring FreeType and a font of their own: no system library or font is needed."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from app.core.charts_stats import Box, Dot, Figure, Label, Line, Polyline, Shape, clean

SCALE = 2  # pixels per SVG unit: sharp enough for a paper's figure at column width
_ANCHORS = {"start": "lm", "middle": "mm", "end": "rm"}


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font (Aileron) at `size` pixels."""
    return ImageFont.load_default(size=size)


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    """A colour written "#abc" or "#aabbcc", with an opacity, as Pillow's RGBA."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return red, green, blue, round(opacity * 255)


def to_png(figure: Figure, scale: int = SCALE) -> bytes:
    """The figure as a PNG of `scale` pixels per unit, on white."""
    image = Image.new("RGB", (figure.width * scale, figure.height * scale), "#ffffff")
    draw = ImageDraw.Draw(image, "RGBA")  # RGBA on RGB: translucent fills blend in
    for shape in figure.shapes:
        _draw(image, draw, shape, scale)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _draw(image: Image.Image, draw: ImageDraw.ImageDraw, shape: Shape, k: int) -> None:
    """One shape, its coordinates scaled by k."""
    if isinstance(shape, Line):
        xy = [(shape.x1 * k, shape.y1 * k), (shape.x2 * k, shape.y2 * k)]
        draw.line(xy, fill=_rgba(shape.colour), width=max(round(shape.width * k), 1))
    elif isinstance(shape, Polyline):
        xy = [(x * k, y * k) for x, y in shape.points]
        draw.line(xy, fill=_rgba(shape.colour), width=round(shape.width * k), joint="curve")
    elif isinstance(shape, Box):
        box = (shape.x * k, shape.y * k, (shape.x + shape.width) * k, (shape.y + shape.height) * k)
        outline = _rgba(shape.stroke) if shape.stroke else None
        draw.rectangle(box, fill=_rgba(shape.fill, shape.opacity), outline=outline, width=k)
    elif isinstance(shape, Dot):
        r = shape.radius * k
        box = (shape.x * k - r, shape.y * k - r, shape.x * k + r, shape.y * k + r)
        draw.ellipse(box, fill=_rgba(shape.fill, shape.opacity))
    else:
        _label(image, draw, shape, k)


def _label(image: Image.Image, draw: ImageDraw.ImageDraw, label: Label, k: int) -> None:
    """Text at its anchor; upright text is drawn level on a layer of its own, then turned."""
    font = _font(label.size * k)
    text, fill = clean(label.text), _rgba(label.colour)
    stroke = 1 if label.bold else 0  # Pillow's font has one weight: a thin outline stands in
    if not label.upright:
        draw.text(
            (label.x * k, label.y * k),
            text,
            font=font,
            fill=fill,
            anchor=_ANCHORS[label.anchor],
            stroke_width=stroke,
            stroke_fill=fill,
        )
        return
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, anchor="lt")
    size = (round(right - left) + 4, round(bottom - top) + 4)
    layer = Image.new("RGBA", size, (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((2 - left, 2 - top), text, font=font, fill=fill)
    turned = layer.rotate(90, expand=True)
    where = (round(label.x * k - turned.width / 2), round(label.y * k - turned.height / 2))
    image.paste(turned, where, turned)
