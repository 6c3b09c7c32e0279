"""`airflow-dash init [DIR]`: scaffold a team's dashboards repository (thin wrapper over airflow_dash.scaffold)."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_dash.backends import BACKENDS


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--backend", "backends", multiple=True, type=click.Choice(sorted(BACKENDS)),
              help="The team's monitoring stack(s) (repeatable; default prometheus).")
def init(directory: Path, backends: tuple[str, ...]) -> None:
    """Create a dashboards repository in DIRECTORY (default: here): pyproject.toml, dashboards/ with an example
    extending a bundled dashboard, datasources/ for the chosen backends, a Makefile and a CI workflow.

    Nothing is overwritten. Then: `make setup build lint`.
    """
    import airflow_dash
    from airflow_dash.discovery import DashboardSource
    from airflow_dash.scaffold import installed_from, write_scaffold

    bundled = list(DashboardSource(bundled=True).load_with_paths())
    source = installed_from()
    written = write_scaffold(directory, list(backends) or ["prometheus"], airflow_dash.__version__, bundled, source)
    for path in written:
        click.echo(f"wrote {path}")
    if source is not None:
        click.echo(f"make setup installs airflow-dash from {source} (local.mk), as this one was")
    where = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(f"next: {where}make setup build lint")
