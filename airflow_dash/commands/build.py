"""`airflow-dash build` and `airflow-dash list`: thin wrappers over airflow_dash.build."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_dash.backends import BACKENDS

BACKEND_CHOICE = click.Choice(sorted(BACKENDS))


@click.command()
@click.option("--backend", "backends", multiple=True, type=BACKEND_CHOICE, help="Backend to build (repeatable; default all).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="build", show_default=True, help="Output directory.")
@click.option("--dashboards-dir", type=click.Path(path_type=Path), default="dashboards", show_default=True, help="Where dashboard modules live.")
@click.option("--no-validate", is_flag=True, help="Skip the offline query checks (not recommended).")
@click.argument("names", nargs=-1)
def build(backends, out, dashboards_dir, no_validate, names):
    """Compile dashboards to OUT/<backend>/<uid>.json.

    NAMES are dashboard keys (see `airflow-dash list`); default all. Every query is checked offline first
    (PromQL parser, Flux language server, InfluxQL structure); nothing is written if one fails.
    """
    from airflow_dash.build import build as run_build

    written = run_build(names, backends, out, dashboards_dir, validate=not no_validate)
    click.echo(f"wrote {len(written)} dashboard(s) to {out}/")


@click.command("list")
@click.option("--dashboards-dir", type=click.Path(path_type=Path), default="dashboards", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also show what each backend leaves out, and why.")
def list_dashboards(dashboards_dir, verbose):
    """List dashboards, the backends they compile for, and their panel counts."""
    from airflow_dash.build import compile_dashboards

    compiled = compile_dashboards(dashboards_dir=dashboards_dir)
    by_name: dict[str, list] = {}
    for dashboard in compiled:
        by_name.setdefault(dashboard.name, []).append(dashboard)
    for name, items in by_name.items():
        click.echo(f"{name}: {items[0].title.split(' · ')[0]}")
        for item in items:
            panels = sum(1 for p in _all_panels(item.model) if p.get("type") != "row")
            click.echo(f"  {item.backend:<11} {item.uid:<40} {panels:>3} panels")
            if verbose:
                for omission in item.omissions:
                    click.echo(f"      left out {omission.what}: {omission.reason}")


def _all_panels(model: dict):
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])
