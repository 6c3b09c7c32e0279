"""A preview layout as PNG with Pillow (imported lazily: only `preview` needs it).

Text stays in the top part of each box, never reaching its centre, so a box's centre pixel is always its
fill colour (the tests rely on it, and it keeps the colour key readable at a glance).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Union

from airflow_dash.preview.layout import BACKGROUND, MARGIN, ROW_FILL, TEXT, Box, PreviewLayout, rgb

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

    Font = Union[ImageFont.FreeTypeFont, ImageFont.ImageFont]


def _fit(draw: ImageDraw.ImageDraw, font: Font, text: str, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..." if text else ""


def _line_height(font: Font) -> int:
    from PIL import ImageFont

    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent + 2
    _, top, _, bottom = font.getbbox("Ag")  # the bitmap default font (Pillow built without FreeType): no metrics
    return int(bottom - top) + 2


def _lines(draw: ImageDraw.ImageDraw, font: Font, box: Box, lines: list[str]) -> None:
    """Draw lines from the box's top; stop before a line would reach the box's vertical centre."""
    line_height = _line_height(font)
    y = box.y + 3
    for line in lines:
        if y + line_height >= box.centre[1]:
            break
        draw.text((box.x + 5, y), _fit(draw, font, line, box.width - 10), fill=rgb(TEXT), font=font)
        y += line_height


def render_png(layout: PreviewLayout) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (layout.width, layout.height), rgb(BACKGROUND))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((MARGIN, MARGIN + 4), _fit(draw, font, layout.title, layout.width - 2 * MARGIN), fill=rgb(TEXT), font=font)
    for row in layout.rows:
        box = row.box
        draw.rectangle([box.x, box.y, box.x + box.width - 1, box.y + box.height - 1], fill=rgb(ROW_FILL))
        draw.text((box.x + 6, box.y + 8), _fit(draw, font, row.label, box.width - 12), fill=rgb(TEXT), font=font)
    for panel in layout.panels:
        box = panel.box
        # The outline in the background colour separates neighbouring panels.
        draw.rectangle([box.x, box.y, box.x + box.width - 1, box.y + box.height - 1], fill=rgb(panel.fill), outline=rgb(BACKGROUND))
        _lines(draw, font, box, [panel.title, panel.caption])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
