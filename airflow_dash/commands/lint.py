"""`airflow-dash lint`: a thin wrapper over airflow_dash.lint."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from airflow_dash.backends import BACKENDS


@click.command()
@click.option("--output", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text: one line per finding; json: a list of objects; github: workflow annotations.")
@click.option("--backend", "backends", multiple=True, type=click.Choice(sorted(BACKENDS)),
              help="Backend to compile bundled dashboards for (repeatable; default all).")
@click.option("--dashboards-dir", type=click.Path(path_type=Path), default="dashboards", show_default=True)
@click.argument("targets", nargs=-1)
def lint(output, backends, dashboards_dir, targets):  # fmt: skip
    """Check dashboards: query validity, variables, PromQL/Flux/InfluxQL practice and layout.

    TARGETS are dashboard JSON files, directories of them, or bundled dashboard names (default: all bundled
    dashboards, compiled). Exit 1 when any error is found, 0 with warnings only. Silence a rule with
    `lint-disable AD123` in the dashboard's or the panel's description.
    """
    from airflow_dash.lint import collect_documents, lint_documents
    from airflow_dash.lint.report import render

    report = lint_documents(collect_documents(targets, backends, dashboards_dir))
    text = render(report, output)
    if text:
        click.echo(text)
    sys.exit(report.exit_code)
