"""Findings as text (one line each), JSON (a list of objects) or GitHub workflow annotations."""

from __future__ import annotations

import json

from airflow_dash.lint.runner import LintReport

FORMATS = ("text", "json", "github")


def format_text(report: LintReport) -> str:
    lines = [f"{f.source}: {f.severity} {f.rule_id} {f.location}: {f.message}" for f in report.findings]
    lines.append(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in {report.dashboards} dashboard(s)")
    return "\n".join(lines)


def format_json(report: LintReport) -> str:
    return json.dumps([f.to_json() for f in report.findings], indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping: messages may not contain raw newlines or `%`.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: LintReport) -> str:
    """`::error file=...,title=AD101::message` lines GitHub shows on the pull request's files."""
    lines = [
        f"::{f.severity} file={_escape_property(f.source)},title={_escape_property(f.rule_id)}::"
        f"{_escape_data(f'{f.location}: {f.message}')}"
        for f in report.findings
    ]
    return "\n".join(lines)


def render(report: LintReport, output: str) -> str:
    return {"text": format_text, "json": format_json, "github": format_github}[output](report)
