"""Preview rendering: sizes, colours at each panel's centre, SVG structure, escaping, determinism."""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET

import pytest

from airflow_dash.preview import layout_of, render_png, render_svg, write_previews
from airflow_dash.preview.layout import BACKGROUND, COLUMN_PX, MARGIN, ROW_PX, TOP, WIDTH, fill_for, rgb

PIL = pytest.importorskip("PIL")
SVG = "{http://www.w3.org/2000/svg}"
NASTY_QUERY = 'sum(rate(x_total{job="a&b", path=~"<.*>"}[$__rate_interval])) > 0 and on() vector(1) < 2'


def _panel(title, type_, x, y, w, h, unit="short", query="up"):
    return {"type": type_, "title": title, "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": unit}}, "targets": [{"refId": "A", "expr": query}]}  # fmt: skip


SYNTHETIC = {
    "title": 'Synthetic <preview> & "quotes"',
    "panels": [
        {"type": "row", "title": "Open", "collapsed": False, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []},
        _panel("Series", "timeseries", 0, 1, 12, 8, query=NASTY_QUERY),
        _panel("Stat", "stat", 12, 1, 6, 4, unit="percent"),
        _panel("Gauge", "gauge", 18, 1, 6, 2),
        _panel("Table", "table", 12, 5, 12, 4),
        {"type": "row", "title": "Closed", "collapsed": True, "gridPos": {"x": 0, "y": 9, "w": 24, "h": 1},
         "panels": [_panel("Hidden", "timeseries", 0, 10, 24, 8), _panel("Hidden 2", "stat", 0, 18, 24, 4)]},
        _panel("Unknown type", "some-plugin-panel", 0, 10, 24, 1),
    ],
}  # fmt: skip


def _visible_panels(model):
    return [p for p in model["panels"] if p["type"] != "row"]


def _expected_box(panel):
    pos = panel["gridPos"]
    return (MARGIN + pos["x"] * COLUMN_PX, TOP + pos["y"] * ROW_PX, pos["w"] * COLUMN_PX, pos["h"] * ROW_PX)


def _image(model):
    from PIL import Image

    return Image.open(io.BytesIO(render_png(layout_of(model)))).convert("RGB")


def _check_png(model):
    layout = layout_of(model)
    image = _image(model)
    assert image.size == (layout.width, layout.height)
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in model["panels"])
    assert image.size == (WIDTH, TOP + bottom * ROW_PX + MARGIN)
    for panel in _visible_panels(model):
        x, y, w, h = _expected_box(panel)
        assert image.getpixel((x + w // 2, y + h // 2)) == rgb(fill_for(panel["type"])), panel["title"]


def test_png_size_and_panel_colours():
    _check_png(SYNTHETIC)


def test_png_background_where_no_panel():
    image = _image(SYNTHETIC)
    # Below the last box, right margin, and the header band hold no panel.
    for point in [(image.width - MARGIN // 2, image.height // 2), (image.width // 2, image.height - 2), (image.width - 5, 5)]:
        assert image.getpixel(point) == rgb(BACKGROUND), point


def test_panels_of_a_collapsed_row_are_not_drawn_but_counted():
    layout = layout_of(SYNTHETIC)
    assert [p.title for p in layout.panels] == ["Series", "Stat", "Gauge", "Table", "Unknown type"]
    (closed,) = [r for r in layout.rows if r.collapsed]
    assert "2 panels" in closed.label and closed.panel_titles == ("Hidden", "Hidden 2")


def test_svg_parses_with_one_rect_per_panel_at_its_grid_position():
    root = ET.fromstring(render_svg(layout_of(SYNTHETIC)))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "panel"]
    expected = {(p["title"], _expected_box(p)) for p in _visible_panels(SYNTHETIC)}
    found = set()
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "panel":
            (rect,) = group.findall(f"{SVG}rect")
            title = group.find(f"{SVG}title").text.split(" (")[0]
            found.add((title, tuple(int(rect.get(k)) for k in ("x", "y", "width", "height"))))
            assert rect.get("fill") == fill_for(group.get("data-type"))
    assert len(rects) == len(_visible_panels(SYNTHETIC))
    assert found == expected


def test_queries_are_escaped_in_svg_and_html(tmp_path):
    text = render_svg(layout_of(SYNTHETIC))
    assert "&lt;.*&gt;" in text and "a&amp;b" in text and "<preview>" not in text
    root = ET.fromstring(text)
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any(NASTY_QUERY in t for t in titles)  # the parser gives back the exact query

    class Compiled:
        name, backend, uid, title, model = "synthetic", "prometheus", "syn-uid", SYNTHETIC["title"], SYNTHETIC

    write_previews([Compiled()], tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert "a&amp;b" in page and "&lt;.*&gt;" in page and "&quot;" in page
    assert 'job="a&b"' not in page and "<preview>" not in page
    import html.parser

    titles_in_html = []

    class Collect(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "li" and dict(attrs).get("title"):
                titles_in_html.append(dict(attrs)["title"])

    Collect().feed(page)
    assert f"A: {NASTY_QUERY}" in titles_in_html


def test_bundled_dashboards_render_deterministically(tmp_path):
    from airflow_dash.build import compile_dashboards

    compiled = compile_dashboards()
    first = write_previews(compiled, tmp_path / "a")
    write_previews(compile_dashboards(), tmp_path / "b")

    def digest(root):
        return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert len(first) == len(compiled)
    page = (tmp_path / "a" / "index.html").read_text()
    for preview, dashboard in zip(first, compiled):
        assert preview.svg.relative_to(tmp_path / "a").as_posix() in page
        _check_png(dashboard.model)


def test_preview_command(tmp_path, capsys):
    from airflow_dash.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["preview", "--backend", "prometheus", "--out", str(tmp_path), "host-basics"])
    assert exit_info.value.code == 0
    assert "wrote 1 preview(s)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "prometheus").iterdir()) == [
        "airflow-dash-host-basics-prom.png",
        "airflow-dash-host-basics-prom.svg",
    ]
    assert (tmp_path / "index.html").is_file()


def test_png_with_the_bitmap_font_of_a_pillow_without_freetype(monkeypatch):
    """Pillow's load_default() falls back to a bitmap font without FreeType, which has no getmetrics()."""
    from PIL import ImageFont

    bitmap = ImageFont.load_default_imagefont()
    assert not hasattr(bitmap, "getmetrics")
    monkeypatch.setattr(ImageFont, "load_default", lambda size=None: bitmap)
    _check_png(SYNTHETIC)
