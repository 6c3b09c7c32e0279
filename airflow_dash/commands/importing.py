"""`airflow-dash import`: bring an existing Grafana dashboard into code (thin: `airflow_dash.importing` works)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from airflow_dash.commands.publish import _grafana_options, _settings
from airflow_dash.errors import UserError, writing


@click.command(name="import")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--uid", help="Import the live dashboard with this uid from GRAFANA_URL instead of a file.")
@click.option("--key", help="Dashboard key (module name); default: from the uid or title.")
@click.option("--dashboards-dir", type=click.Path(file_okay=False), help="Where to write the module (default: the dashboards_dir setting).")
@click.option("--force", is_flag=True, help="Overwrite an existing module of that name.")
@_grafana_options
def import_dashboard(file: str | None, uid: str | None, key: str | None, dashboards_dir: str | None, force: bool,
                     **connection: Any) -> None:
    """Write dashboards/<key>.py from a dashboard JSON file (or --uid from Grafana); it compiles back to an
    equivalent dashboard. Queries matching a catalog signal become that signal; the rest stay raw (lint AD103)."""
    from airflow_dash.importing import import_dashboard as convert

    if bool(file) == bool(uid):
        raise UserError("import needs a dashboard JSON FILE or --uid UID (one of them)")
    settings = _settings(**connection)
    if file:
        try:
            model = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{file}: not a readable JSON file: {exc}") from exc
    else:
        from airflow_dash.grafana.pull import pull_dashboards

        with settings.client() as client:
            (exported,) = pull_dashboards(client, uids=[uid or ""])
        model = json.loads(exported.text)
    if not isinstance(model, dict) or not isinstance(model.get("dashboard", model).get("panels", model.get("rows")), list):
        raise UserError(f"{file or uid}: not a Grafana dashboard (no panels)")
    try:
        module = convert(model, key)
    except ValueError as exc:
        raise UserError(f"{file or uid}: {exc}") from exc
    directory = Path(dashboards_dir or settings.dashboards_dir)
    target = directory / f"{module.key.replace('-', '_')}.py"
    if target.exists() and not force:
        raise UserError(f"{target} exists: choose another --key or pass --force")
    with writing("the dashboard module", directory):
        directory.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".py.tmp")
        partial.write_text(module.source, encoding="utf-8")
        partial.replace(target)
    click.echo(f"wrote {target} ({module.recognised} queries as catalog signals, {module.raw} raw)")
