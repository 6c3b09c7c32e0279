"""A preview layout as SVG. Built with ElementTree, so titles and queries (`<`, `&`, quotes) are escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from airflow_dash.preview.layout import BACKGROUND, MARGIN, ROW_FILL, TEXT, PreviewLayout

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "font-family:Inter,Helvetica,Arial,sans-serif"
CHAR_PX = 7  # a generous average glyph width at 12px, to cut text before it leaves its box


def _fit(text: str, width: int) -> str:
    limit = max(0, (width - 8) // CHAR_PX)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _text(parent: ET.Element, x: int, y: int, content: str, size: int = 12, weight: str = "normal") -> None:
    element = ET.SubElement(parent, "text", {"x": str(x), "y": str(y), "fill": TEXT, "font-size": str(size), "font-weight": weight, "style": FONT})
    element.text = content


def render_svg(layout: PreviewLayout) -> str:
    ET.register_namespace("", SVG_NS)
    root = ET.Element("svg", {"xmlns": SVG_NS, "width": str(layout.width), "height": str(layout.height), "viewBox": f"0 0 {layout.width} {layout.height}"})
    ET.SubElement(root, "title").text = layout.title
    ET.SubElement(root, "rect", {"class": "background", "x": "0", "y": "0", "width": str(layout.width), "height": str(layout.height), "fill": BACKGROUND})
    _text(root, MARGIN, MARGIN + 18, _fit(layout.title, layout.width - 2 * MARGIN), size=16, weight="bold")
    for row in layout.rows:
        group = ET.SubElement(root, "g", {"class": "row"})
        ET.SubElement(group, "title").text = "\n".join((row.label, *row.panel_titles))
        box = row.box
        ET.SubElement(group, "rect", {"class": "row", "x": str(box.x), "y": str(box.y), "width": str(box.width), "height": str(box.height), "fill": ROW_FILL})
        _text(group, box.x + 6, box.y + 20, _fit(row.label, box.width), size=13, weight="bold")
    for panel in layout.panels:
        group = ET.SubElement(root, "g", {"class": "panel", "data-type": panel.type})
        # <title> as the group's first child is what browsers show on hover.
        ET.SubElement(group, "title").text = "\n".join((f"{panel.title} ({panel.caption})", *panel.queries))
        box = panel.box
        ET.SubElement(
            group, "rect",
            {"class": "panel", "x": str(box.x), "y": str(box.y), "width": str(box.width), "height": str(box.height),
             "fill": panel.fill, "stroke": BACKGROUND, "stroke-width": "1"},
        )  # fmt: skip
        _text(group, box.x + 5, box.y + 15, _fit(panel.title, box.width), weight="bold")
        if box.height >= 60:
            _text(group, box.x + 5, box.y + 30, _fit(panel.caption, box.width), size=11)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"
