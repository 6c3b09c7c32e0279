"""`airflow-dash preview`: a thin wrapper over airflow_dash.preview."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_dash.commands.common import backend_option, dashboards_dir_option, load_settings


@click.command()
@backend_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="build/preview", show_default=True, help="Output directory.")
@dashboards_dir_option
@click.argument("names", nargs=-1)
def preview(backends: tuple[str, ...], out: Path, dashboards_dir: Path | None, names: tuple[str, ...]) -> None:
    """Render dashboard layouts to OUT/<backend>/<uid>.svg and .png, plus OUT/index.html.

    NAMES are dashboard keys (default all). Panels are drawn at their grid positions, coloured by type;
    hover a panel in the SVG or index.html to see its queries.
    """
    from airflow_dash.build import compile_dashboards
    from airflow_dash.preview import write_previews

    settings = load_settings(dashboards_dir=dashboards_dir)
    chosen = settings.chosen_backends(backends)
    compiled = compile_dashboards(names, chosen, settings.dashboard_source(), **settings.compile_options(chosen))
    rendered = write_previews(compiled, out)
    click.echo(f"wrote {len(rendered)} preview(s) to {out}/index.html")
