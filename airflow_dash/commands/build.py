"""`airflow-dash build` and `airflow-dash list`: thin wrappers over airflow_dash.build."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import click

from airflow_dash.commands.common import backend_option, dashboards_dir_option, load_settings

if TYPE_CHECKING:
    from airflow_dash.compile import CompiledDashboard


@click.command()
@backend_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="build", show_default=True, help="Output directory.")
@dashboards_dir_option
@click.option("--alerts-dir", type=click.Path(path_type=Path), default="alerts", show_default=True,
              help="Where your alert modules live (none if missing).")
@click.option("--no-validate", is_flag=True, help="Skip the offline query checks (not recommended).")
@click.option("--no-cache", is_flag=True,
              help="Build everything and check every query again instead of reusing results of earlier builds.")
@click.argument("names", nargs=-1)
def build(backends: tuple[str, ...], out: Path, dashboards_dir: Path | None, alerts_dir: Path, no_validate: bool,
          no_cache: bool, names: tuple[str, ...]) -> None:
    """Compile dashboards to OUT/<backend>/<uid>.json and alert rules to OUT/alerts/.

    NAMES are dashboard keys (see `airflow-dash list`); default all: the bundled dashboards and yours, and
    then the alert rules too (the bundled alerts of the bundled dashboards, and yours):
    OUT/alerts/prometheus/airflow-dash.rules.yml (a Prometheus rule file) and
    OUT/alerts/<backend>/grafana-alert-rules.yaml (Grafana-managed rules, file-provisioning format) for the
    InfluxDB backends. Every query is checked offline first (PromQL parser, Flux language server, InfluxQL
    structure); nothing is written if one fails. Query check results are cached per user
    (${XDG_CACHE_HOME:-~/.cache}/airflow-dash, or $AIRFLOW_DASH_CHECK_CACHE), keyed by checker version and text,
    and so is each build: a re-build whose files, settings, environment and checkers are unchanged, and whose
    output is still in place, checks and writes nothing. Output files that already hold their bytes are left
    alone; a full build removes the dashboard and rule files earlier builds wrote that it no longer makes, and
    never other files.
    """
    from airflow_dash.build import build_all

    settings = load_settings(dashboards_dir=dashboards_dir)
    chosen = settings.chosen_backends(backends)
    result = build_all(names, chosen, out, settings.dashboard_source(), validate=not no_validate, cache=not no_cache,
                       alerts_dir=alerts_dir, **settings.compile_options(chosen))
    if result.up_to_date:
        click.echo(f"{len(result.dashboards)} dashboard(s) in {out}/ and {len(result.alerts)} alert rule file(s) "
                   f"in {out}/alerts/ already up to date")
        return
    click.echo(f"wrote {len(result.dashboards)} dashboard(s) to {out}/")
    if result.alerts:
        click.echo(f"wrote {len(result.alerts)} alert rule file(s) to {out}/alerts/")


@click.command("list")
@backend_option
@dashboards_dir_option
@click.option("--verbose", "-v", is_flag=True,
              help="Also show what each backend leaves out and where a panel's quantity differs between stacks.")
def list_dashboards(backends: tuple[str, ...], dashboards_dir: Path | None, verbose: bool) -> None:
    """List dashboards, the backends they compile for, and their panel counts."""
    from airflow_dash.build import compile_dashboards

    settings = load_settings(dashboards_dir=dashboards_dir)
    chosen = settings.chosen_backends(backends)
    compiled = compile_dashboards(backends=chosen, dashboards_dir=settings.dashboard_source(),
                                  **settings.compile_options(chosen))
    by_name: dict[str, list[CompiledDashboard]] = {}
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
                for caveat in item.caveats:
                    click.echo(f"      differs {caveat.what}: {caveat.reason}")


def _all_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])
