"""`airflow-dash preview`: draw each compiled dashboard's layout as SVG and PNG, with an index.html.

Reviewers see where panels moved without a Grafana: rows are bands (collapsed rows say how many panels they
hold), panels are boxes at their gridPos (40 px per grid column, 30 px per grid row), coloured by panel type
and labelled with title, type and unit. Hovering a panel shows its queries (SVG `<title>`, HTML `title`).
Output is deterministic: the same dashboards give byte-identical files.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from airflow_dash.errors import writing
from airflow_dash.preview.layout import PreviewLayout, layout_of
from airflow_dash.preview.png import render_png
from airflow_dash.preview.svg import render_svg

if TYPE_CHECKING:
    from airflow_dash.compile import CompiledDashboard

__all__ = ["PreviewLayout", "RenderedPreview", "layout_of", "render_png", "render_svg", "write_previews"]


@dataclass(frozen=True)
class RenderedPreview:
    name: str
    backend: str
    title: str
    svg: Path
    png: Path
    layout: PreviewLayout


def write_previews(compiled: Sequence[CompiledDashboard], out: Path | str) -> list[RenderedPreview]:
    """Write `OUT/<backend>/<uid>.svg|.png` per compiled dashboard and `OUT/index.html` listing them."""
    out = Path(out)
    rendered = []
    with writing("previews", out):
        for dashboard in compiled:
            layout = layout_of(dashboard.model)
            folder = out / dashboard.backend
            folder.mkdir(parents=True, exist_ok=True)
            svg, png = folder / f"{dashboard.uid}.svg", folder / f"{dashboard.uid}.png"
            svg.write_text(render_svg(layout), encoding="utf-8")
            png.write_bytes(render_png(layout))
            rendered.append(RenderedPreview(dashboard.name, dashboard.backend, dashboard.title, svg, png, layout))
        (out / "index.html").write_text(index_html(rendered, out), encoding="utf-8")
    return rendered


def index_html(previews: Sequence[RenderedPreview], out: Path) -> str:
    def esc(text: str) -> str:  # attributes and text alike
        return html.escape(text, quote=True)

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>airflow-dash preview</title>',
        "<style>body{font-family:sans-serif;background:#f4f5f5;margin:2em}section{margin-bottom:3em}"
        "li{cursor:help}object{max-width:100%}</style></head><body>",
        "<h1>Dashboard previews</h1>",
        "<p>Hover a panel (or a list entry) to see its queries.</p>",
        "<ul>" + "".join(f'<li><a href="#{esc(p.backend)}-{esc(p.name)}">{esc(p.title)}</a></li>' for p in previews) + "</ul>",
    ]
    for preview in previews:
        svg, png = preview.svg.relative_to(out).as_posix(), preview.png.relative_to(out).as_posix()
        parts.append(f'<section id="{esc(preview.backend)}-{esc(preview.name)}">')
        parts.append(f"<h2>{esc(preview.title)}</h2>")
        parts.append(f'<p>{esc(preview.name)} · {esc(preview.backend)} · <a href="{esc(png)}">PNG</a> · <a href="{esc(svg)}">SVG</a></p>')
        # <object> keeps the SVG's hover titles, which an <img> would drop.
        parts.append(f'<object type="image/svg+xml" data="{esc(svg)}" width="{preview.layout.width}" height="{preview.layout.height}">'
                     f'<img src="{esc(png)}" alt="{esc(preview.title)}"></object>')  # fmt: skip
        parts.append("<ul>")
        for panel in preview.layout.panels:
            hover = "\n".join(panel.queries) or "no queries"
            parts.append(f'<li title="{esc(hover)}">{esc(panel.title)} <small>({esc(panel.caption)})</small></li>')
        parts.append("</ul></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
