"""`airflow-dash lint`: a thin wrapper over airflow_dash.lint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from airflow_dash.commands.common import backend_option, dashboards_dir_option, load_settings

if TYPE_CHECKING:
    from airflow_dash.lint.model import Finding
    from airflow_dash.settings import Settings


@click.command()
@click.option("--output", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text: one line per finding; json: a list of objects; github: workflow annotations.")
@backend_option
@dashboards_dir_option
@click.option("--alerts-dir", type=click.Path(path_type=Path), default="alerts", show_default=True,
              help="Where your alert modules live (none if missing).")
@click.argument("targets", nargs=-1)
def lint(output: str, backends: tuple[str, ...], dashboards_dir: Path | None, alerts_dir: Path,
         targets: tuple[str, ...]) -> None:
    """Check dashboards and alerts: query validity, variables, PromQL/Flux/InfluxQL practice, layout, and
    alert definitions (for, runbook, counters, a panel showing the signal).

    TARGETS are dashboard JSON files, directories of them, dashboard names, or your dashboard modules
    (dashboards/team.py: the dashboards it defines, compiled) (default: every dashboard, bundled and yours,
    compiled, and every alert). Exit 1 when any error is found, 0 with warnings only.
    Silence a rule with `lint-disable AD123` in the dashboard's or the panel's description.
    """
    from dataclasses import replace

    from airflow_dash.lint import collect_documents, lint_documents
    from airflow_dash.lint.report import render

    settings = load_settings(dashboards_dir=dashboards_dir)
    chosen = settings.chosen_backends(backends)
    report = lint_documents(collect_documents(targets, chosen, settings.dashboard_source(),
                                              **settings.compile_options(chosen)))
    if not targets:
        report = replace(report, findings=report.findings + tuple(_alert_findings(settings, alerts_dir)))
    text = render(report, output)
    if text:
        click.echo(text)
    sys.exit(report.exit_code)


def _alert_findings(settings: Settings, alerts_dir: Path) -> list[Finding]:
    from airflow_dash.alert_rules.prometheus import compile_rules
    from airflow_dash.discovery import alerts_for
    from airflow_dash.lint.alerts import lint_alerts

    source = settings.dashboard_source()
    alerts = alerts_for(source, alerts_dir)
    if not alerts:
        return []
    try:
        expressions = {rule["alert"]: rule["expr"] for rule in compile_rules(alerts).rules}
    except ValueError:
        expressions = {}  # `build` reports definition errors; lint still checks what it can
    return lint_alerts(alerts, source.load(), expressions)
