"""`airflow-dash lint`: a thin wrapper over airflow_dash.lint."""

from __future__ import annotations

import sys

import click

from airflow_dash.commands.common import backend_option, dashboards_dir_option, load_settings


@click.command()
@click.option("--output", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text: one line per finding; json: a list of objects; github: workflow annotations.")
@backend_option
@dashboards_dir_option
@click.argument("targets", nargs=-1)
def lint(output, backends, dashboards_dir, targets):  # fmt: skip
    """Check dashboards: query validity, variables, PromQL/Flux/InfluxQL practice and layout.

    TARGETS are dashboard JSON files, directories of them, or dashboard names (default: every dashboard,
    bundled and yours, compiled). Exit 1 when any error is found, 0 with warnings only. Silence a rule with
    `lint-disable AD123` in the dashboard's or the panel's description.
    """
    from airflow_dash.lint import collect_documents, lint_documents
    from airflow_dash.lint.report import render

    settings = load_settings(dashboards_dir=dashboards_dir)
    chosen = settings.chosen_backends(backends)
    report = lint_documents(collect_documents(targets, chosen, settings.dashboard_source(),
                                              **settings.compile_options(chosen)))
    text = render(report, output)
    if text:
        click.echo(text)
    sys.exit(report.exit_code)
