"""Alert definitions → `airflow-dash build` output: rule files per backend, one-line errors, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_dash.alerts import FIRE, QUIET, Absent, Alert, Threshold
from airflow_dash.catalog import airflow as af, host
from tests.cli import assert_one_line_error, run_cli as run

ROOT = Path(__file__).resolve().parent.parent

DASHBOARD = '''
from airflow_dash.catalog import airflow as af, host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.dashboard import Dashboard, DimensionVariable
from airflow_dash.panels import Row, timeseries

dashboard = Dashboard("mini", "Mini", [Row("R", [timeseries("CPU", host.cpu_busy), timeseries("Beats", af.scheduler_heartbeat)])],
                      variables=[DimensionVariable(HOST)])
'''

ALERT = '''
from airflow_dash.alerts import Alert, Threshold
from airflow_dash.catalog import host

alert = Alert(name="MiniCpuBusy", condition=Threshold(host.cpu_busy, ">", {threshold}), summary="CPU on {{host}}",
              description="{{value}}% busy", runbook="Look at top.", dashboard="mini", panel="{panel}")
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A dashboards repository with one dashboard and one alert of its own, no bundled ones."""
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nbundled = false\n')
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "mini.py").write_text(DASHBOARD)
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "mini.py").write_text(ALERT.format(threshold=90, panel="CPU"))
    return tmp_path


def _alert(**overrides) -> Alert:
    fields = dict(name="X1Alert", condition=Threshold(host.cpu_busy, ">", 90), summary="s {host}", description="d {value}",
                  runbook="r", dashboard="system", panel="CPU busy")
    return Alert(**{**fields, **overrides})


@pytest.mark.parametrize("overrides, message", [
    ({"name": "lower_case"}, "CamelCase"),
    ({"severity": "page"}, "severity"),
    ({"summary": "{pool} is starving"}, "unknown placeholder"),
    ({"runbook": "check {container} first"}, "unknown placeholder"),
    ({"window": "5 minutes"}, "invalid duration"),
    ({"missing": "maybe"}, "missing"),
    ({"labels": {"severity": "critical"}}, "severity="),
])
def test_bad_definitions_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _alert(**overrides)


def test_conditions_check_their_arguments():
    with pytest.raises(ValueError, match="comparison"):
        Threshold(host.cpu_busy, "=>", 1)
    with pytest.raises(ValueError, match="reduce"):
        Threshold(host.cpu_busy, ">", 1, reduce="p95")


def test_reduction_follows_the_signal_kind_and_absent_always_fires_on_missing_data():
    assert Threshold(af.scheduler_heartbeat, "<", 1).reducer == "mean"  # a rate: averaged over the window
    assert Threshold(af.import_errors, ">", 0).reducer == "last"  # a level: its latest value
    assert _alert(condition=Absent(host.cpu_busy), missing=QUIET).missing == FIRE


def test_build_writes_rule_files_for_every_backend(project):
    result = run("build", "--out", "out", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "alert rule file(s)" in result.stdout
    rules = yaml.safe_load((project / "out/alerts/prometheus/airflow-dash.rules.yml").read_text())
    [rule] = rules["groups"][0]["rules"]
    assert rule["alert"] == "MiniCpuBusy" and rule["expr"].endswith("> 90") and "$__" not in rule["expr"]
    assert rule["annotations"]["summary"] == "CPU on {{ $labels.instance }}"
    for backend, tag in (("flux", "host"), ("influxql", "host")):
        document = yaml.safe_load((project / f"out/alerts/{backend}/grafana-alert-rules.yaml").read_text())
        [group] = document["groups"]
        [grafana_rule] = group["rules"]
        assert group["folder"] == "Airflow" and document["apiVersion"] == 1
        assert grafana_rule["annotations"]["summary"] == "CPU on {{ $labels." + tag + " }}"
        assert grafana_rule["annotations"]["__panelId__"]  # linked to its panel
        assert [d["model"].get("type") for d in grafana_rule["data"]] == [None, "reduce", "threshold"]
    assert not list((project / "out/alerts").rglob("*.json"))  # `publish --from-dir out` must not see dashboards


def test_unknown_panel_is_one_line_exit_2_and_keeps_old_output(project):
    assert run("build", "--out", "out", cwd=project).returncode == 0
    before = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    (project / "alerts" / "mini.py").write_text(ALERT.format(threshold=90, panel="No such panel"))
    result = run("build", "--out", "out", cwd=project)
    assert_one_line_error(result, "alert definition error", "MiniCpuBusy", "No such panel")
    assert {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()} == before


def test_bad_alert_module_is_one_line_with_file_and_line(project):
    (project / "alerts" / "mini.py").write_text(ALERT.format(threshold='"ninety" +', panel="CPU"))
    result = run("build", "--out", "out", cwd=project)
    assert_one_line_error(result, "alerts/mini.py", "alert module failed to import")
    assert not (project / "out").exists()


def test_alert_threshold_change_rewrites_the_rule_file(project):
    assert run("build", "--out", "out", cwd=project).returncode == 0
    (project / "alerts" / "mini.py").write_text(ALERT.format(threshold=75, panel="CPU"))
    assert run("build", "--out", "out", cwd=project).returncode == 0
    assert "> 75" in (project / "out/alerts/prometheus/airflow-dash.rules.yml").read_text()


def test_no_alerts_directory_builds_dashboards_only(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nbundled = false\n')
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "mini.py").write_text(DASHBOARD)
    result = run("build", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out" / "alerts").exists()


def test_an_empty_directory_builds_the_bundled_alerts_of_the_bundled_dashboards(tmp_path):
    result = run("build", "--out", "out", "--backend", "prometheus", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rules = yaml.safe_load((tmp_path / "out/alerts/prometheus/airflow-dash.rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"AirflowSchedulerHeartbeatMissing", "HostDiskWillFillIn24h", "ContainerOOMKilled"} <= names


def test_a_replaced_bundled_dashboard_drops_its_bundled_alerts(tmp_path):
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "docker.py").write_text(DASHBOARD.replace('"mini", "Mini"', '"docker", "My docker"'))
    result = run("build", "--out", "out", "--backend", "prometheus", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rules = yaml.safe_load((tmp_path / "out/alerts/prometheus/airflow-dash.rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert "AirflowSchedulerHeartbeatMissing" in names and not any(n.startswith("Container") for n in names)


def test_bundled_alerts_build_for_all_backends(tmp_path):
    result = run("build", "--out", str(tmp_path / "out"), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(tmp_path / "out/alerts").as_posix() for p in (tmp_path / "out/alerts").rglob("*.y*ml"))
    assert files == ["flux/grafana-alert-rules.yaml", "influxql/grafana-alert-rules.yaml",
                     "prometheus/airflow-dash.rules.yml"]


@pytest.mark.parametrize("where", [{"pol": "default_pool"}, {"state": "failed"}])
def test_a_where_key_that_is_not_a_dimension_of_the_signal_is_refused(where):
    """The backends filter by the signal's dimensions only: an unknown key would be dropped, and the alert
    would cover every pool."""
    assert Threshold(af.pool_starving_tasks, ">", 0, where={"pool": "default_pool"}).where
    with pytest.raises(ValueError, match=f"'{next(iter(where))}' is not a dimension of .*known: pool"):
        Threshold(af.pool_starving_tasks, ">", 0, where=where)
    with pytest.raises(ValueError, match="is not a dimension"):
        Absent(af.pool_starving_tasks, where=where)


def test_a_where_typo_in_an_alerts_module_is_one_line_and_exit_2(project):
    (project / "alerts" / "mini.py").write_text(ALERT.format(threshold=90, panel="CPU").replace(
        'Threshold(host.cpu_busy, ">", 90)', 'Threshold(host.cpu_busy, ">", 90, where={"hots": "a"})'))
    assert_one_line_error(run("build", "--out", "out", cwd=project), "'hots' is not a dimension")
    assert not (project / "out").exists()
