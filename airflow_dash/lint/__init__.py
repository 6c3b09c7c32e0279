"""`airflow-dash lint`: check dashboards for the mistakes reviewers care about.

Works on compiled bundled dashboards and on any Grafana dashboard JSON (pulled, exported, third-party):

    lint_documents(collect_documents(["dashboards-pulled/", "host-basics"])).findings

Rules live in `airflow_dash.lint.rules` (ids AD1xx queries, AD2xx variables/datasources, AD3xx PromQL,
AD4xx Flux/InfluxQL, AD5xx layout; AD6xx alert definitions in `airflow_dash.lint.alerts`); `RULES` maps id -> Rule, and docs/reviewing.md lists them from it.

Suppression
-----------
Put ``lint-disable AD304`` (several ids: ``lint-disable AD304, AD504``) in a **description**:

* the dashboard's ``description`` silences those rules for the whole dashboard;
* a panel's ``description`` silences them for that panel only.

Descriptions are plain JSON strings that Grafana keeps through save, export, import and ``pull``, so the
marker survives round trips (JSON has no comments). Grafana renders panel descriptions as Markdown, so wrap
the marker in an HTML comment to keep it out of the tooltip: ``<!-- lint-disable AD304 -->``.
"""

from typing import Any

from airflow_dash.lint.model import DashboardDocument, Finding, Rule, suppressed_ids
from airflow_dash.lint.rules import RULES
from airflow_dash.lint.runner import LintReport, lint_documents
from airflow_dash.lint.sources import collect_documents

__all__ = [
    "RULES",
    "DashboardDocument",
    "Finding",
    "LintReport",
    "Rule",
    "collect_documents",
    "lint_documents",
    "rules_table",
    "suppressed_ids",
]


def rules_table() -> str:
    """The rules as a Markdown table (docs/reviewing.md embeds it; a test keeps them in sync)."""
    from airflow_dash.lint.alerts import ALERT_RULES

    lines = ["| Id | Name | Severity | What it checks |", "|---|---|---|---|"]
    every: list[Rule[Any, object]] = [*RULES.values(), *ALERT_RULES.values()]  # dashboard and alert rules
    for rule in every:
        summary = rule.summary.replace("|", "\\|")  # a pipe would end the Markdown cell
        lines.append(f"| {rule.id} | {rule.name} | {rule.severity} | {summary} |")
    return "\n".join(lines)
