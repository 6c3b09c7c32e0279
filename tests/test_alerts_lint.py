"""`airflow-dash lint` checks alert definitions: for, raw counters, runbook, a panel showing the signal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from airflow_dash.alert_rules.prometheus import compile_rules
from airflow_dash.alerts import Alert, Threshold
from airflow_dash.catalog import airflow as af, host
from airflow_dash.catalog.model import GAUGE, Signal, TelegrafSeries
from airflow_dash.discovery import DashboardSource
from airflow_dash.lint.alerts import lint_alerts

RAW_COUNTER = Signal("t.raw", "Raw", "short", "d", lambda s: s.metric("airflow_ti_failures_total"),
                     TelegrafSeries("airflow_ti_failures", "value", kind=GAUGE))


def _alert(**overrides) -> Alert:
    fields = dict(name="LintMe", condition=Threshold(host.cpu_busy, ">", 90), summary="s", description="d",
                  runbook="Look at top first.", dashboard="system", panel="CPU busy")
    return Alert(**{**fields, **overrides})


def findings(*alerts: Alert) -> dict[str, list[str]]:
    dashboards = DashboardSource().load()
    expressions = {r["alert"]: r["expr"] for r in compile_rules(alerts).rules}
    result: dict[str, list[str]] = {}
    for finding in lint_alerts(alerts, dashboards, expressions):
        result.setdefault(finding.rule_id, []).append(finding.message)
    return result


def test_a_good_alert_has_no_findings():
    assert findings(_alert()) == {}


def test_each_rule_catches_its_mistake():
    assert list(findings(_alert(for_=None))) == ["AD601"]
    assert list(findings(_alert(condition=Threshold(RAW_COUNTER, ">", 10)))) == ["AD602", "AD604"]
    assert "airflow_ti_failures_total" in findings(_alert(condition=Threshold(RAW_COUNTER, ">", 10)))["AD602"][0]
    assert list(findings(_alert(runbook=""))) == ["AD603"]
    # a signal some panel shows, but not the alert's own panel
    assert findings(_alert(condition=Threshold(af.import_errors, ">", 0)))["AD604"] == [
        "panel 'CPU busy' of system shows none of the alert's signals"]


def test_rates_of_counters_are_fine():
    assert findings(_alert(condition=Threshold(af.ti_failures_rate, ">", 1), dashboard="airflow-overview",
                           panel="Failures and successes")) == {}


def test_bundled_alerts_lint_clean_and_the_command_reports_alert_findings(tmp_path):
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "bad.py").write_text(
        "from airflow_dash.alerts import Alert, Threshold\nfrom airflow_dash.catalog import host\n"
        "alert = Alert(name='NoRunbook', condition=Threshold(host.cpu_busy, '>', 9), summary='s', description='d',"
        " runbook='', dashboard='system', panel='CPU busy', for_=None)\n")
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "lint", "--backend", "prometheus",
                             "--output", "json"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr  # AD603 is an error
    findings = json.loads(result.stdout) if result.stdout.strip() else []
    reported = {(f["rule"], f["dashboard"]) for f in findings if f["dashboard"].startswith("alert ")}
    assert reported == {("AD601", "alert NoRunbook"), ("AD603", "alert NoRunbook")}  # the bundled alerts: none


def test_a_library_panel_beside_the_alerts_panel_is_no_crash():
    """Library panels hold no catalog queries (Grafana keeps them): AD604 looks past them (it crashed)."""
    from airflow_dash import Dashboard, LibraryPanel, Row, timeseries

    dashboards = [Dashboard(key="system", title="System", rows=[
        Row("Shared", [LibraryPanel("lib-uid", "Shared panel"), timeseries("CPU busy", host.cpu_busy)])])]
    alert = _alert()
    expressions = {r["alert"]: r["expr"] for r in compile_rules([alert]).rules}
    assert lint_alerts([alert], dashboards, expressions) == []
    elsewhere = _alert(panel="Shared panel")
    assert [f.message for f in lint_alerts([elsewhere], dashboards, expressions)] == [
        "panel 'Shared panel' of system shows none of the alert's signals"]
