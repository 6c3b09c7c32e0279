"""`airflow-dash preview`: a thin wrapper over airflow_dash.preview."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_dash.backends import BACKENDS


@click.command()
@click.option("--backend", "backends", multiple=True, type=click.Choice(sorted(BACKENDS)), help="Backend (repeatable; default all).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="build/preview", show_default=True, help="Output directory.")
@click.option("--dashboards-dir", type=click.Path(path_type=Path), default="dashboards", show_default=True)
@click.argument("names", nargs=-1)
def preview(backends, out, dashboards_dir, names):
    """Render dashboard layouts to OUT/<backend>/<uid>.svg and .png, plus OUT/index.html.

    NAMES are dashboard keys (default all). Panels are drawn at their grid positions, coloured by type;
    hover a panel in the SVG or index.html to see its queries.
    """
    from airflow_dash.build import compile_dashboards
    from airflow_dash.preview import write_previews

    rendered = write_previews(compile_dashboards(names, backends, dashboards_dir), out)
    click.echo(f"wrote {len(rendered)} preview(s) to {out}/index.html")
