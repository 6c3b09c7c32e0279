"""Live query runner and dashboard verify against real Prometheus (scraping and backfilled)."""

from __future__ import annotations

import time

import pytest

from airflow_dash.errors import OperationError, UserError
from airflow_dash.live import (
    PrometheusLive,
    TimeRange,
    VariableValue,
    format_results,
    has_problems,
    verify_dashboard,
)
# Fixtures (prometheus_live, prometheus_backfilled) come from tests/conftest.py.
from tests.servers import free_port, openmetrics_from_samples

pytestmark = pytest.mark.slow


def live_source(prometheus) -> PrometheusLive:
    # The test Prometheus scrapes every second: that is the datasource "timeInterval".
    return PrometheusLive(prometheus.url, scrape_interval="1s")


def recent() -> TimeRange:
    return TimeRange.last("5m")


def dashboard() -> dict:
    ds = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    return {
        "title": "Node",
        "templating": {"list": [
            {"type": "datasource", "name": "DS_PROMETHEUS", "query": "prometheus"},
            {"type": "query", "name": "instance", "datasource": ds, "multi": True, "includeAll": True,
             "query": {"query": "label_values(node_uname_info, instance)", "refId": "X"},
             "current": {"text": "All", "value": ["$__all"]}},
            {"type": "query", "name": "mode", "datasource": ds, "multi": True,
             "query": 'label_values(node_cpu_seconds_total{instance=~"$instance"}, mode)',
             "regex": "/^(idle|user|system)$/", "sort": 1, "current": {}},
            {"type": "custom", "name": "quantile", "query": "0.5,0.9", "current": {"value": "0.9"}},
        ]},
        "panels": [
            {"type": "timeseries", "title": "CPU", "datasource": ds, "targets": [
                {"refId": "A", "expr": 'sum by (mode) (rate(node_cpu_seconds_total{instance=~"$instance",'
                                       'mode=~"$mode"}[$__rate_interval]))'},
                {"refId": "B", "hide": True, "expr": "this is not ( promql"},
            ]},
            {"type": "row", "title": "Collapsed", "collapsed": True, "panels": [
                {"type": "stat", "title": "Typo", "datasource": ds, "targets": [
                    {"refId": "A", "expr": 'rate(node_cpu_secnds_total{instance=~"$instance"}[5m])'}]},
                {"type": "stat", "title": "Broken", "datasource": ds, "targets": [
                    {"refId": "A", "expr": "sum(rate(node_cpu_seconds_total[$__rate_interval])"}]},
            ]},
            {"type": "row", "title": "Open", "collapsed": False, "panels": []},
            {"type": "stat", "title": "Load $instance", "repeat": "instance", "datasource": ds, "targets": [
                {"refId": "A", "expr": 'node_load1{instance=~"$instance"}', "instant": True, "range": False}]},
            {"type": "text", "title": "Notes"},
            {"type": "stat", "title": "Influx panel", "datasource": {"type": "influxdb", "uid": "x"},
             "targets": [{"refId": "A", "query": "SELECT 1"}]},
        ],
    }


def test_run_rate_has_data_and_reports_interpolation(prometheus_live):
    source = live_source(prometheus_live)
    result = source.run("rate(node_cpu_seconds_total[$__rate_interval])", recent())
    assert result.error is None
    assert result.series_count > 0 and result.point_count > result.series_count
    assert "[4s]" in result.interpolated  # 5m / 1000 points -> 500ms, min 1s; max(1s + 1s, 4 x 1s)


def test_run_reports_server_syntax_error(prometheus_live):
    result = live_source(prometheus_live).run("sum(rate(up[1m])", recent())
    assert result.series_count == 0
    assert result.error.startswith("bad_data:") and "parse error" in result.error


def test_unreachable_server_is_an_operation_error_without_credentials():
    source = PrometheusLive(f"http://user:s3cret@127.0.0.1:{free_port()}/prom?token=abc")
    with pytest.raises(OperationError) as raised:
        source.run("up", recent())
    assert "s3cret" not in str(raised.value) and "abc" not in str(raised.value)
    assert "127.0.0.1" in str(raised.value)


def test_variable_queries(prometheus_live):
    source = live_source(prometheus_live)
    instances = source.variable_values("label_values(node_uname_info, instance)", recent())
    assert instances == [prometheus_live_target(prometheus_live)]
    assert "job" in source.variable_values("label_names()", recent())
    assert source.variable_values("label_values(job)", recent()) == ["node"]
    metrics = source.variable_values("metrics(node_load[0-9]+$)", recent())
    assert set(metrics) == {"node_load1", "node_load5", "node_load15"}
    chained = {"instance": VariableValue("instance", tuple(instances), multi=True)}
    modes = source.variable_values('label_values(node_cpu_seconds_total{instance=~"$instance"}, mode)',
                                   recent(), chained)
    assert "idle" in modes
    result = source.variable_values('query_result(count(up{job="node"}))', recent())
    assert len(result) == 1 and result[0].startswith("{} 1 ")
    with pytest.raises(UserError, match="parse error"):
        source.variable_values("query_result(sum(up)", recent())


def prometheus_live_target(prometheus) -> str:
    return prometheus.query("up")["result"][0]["metric"]["instance"]


def test_verify_dashboard_against_live_prometheus(prometheus_live):
    results = verify_dashboard(dashboard(), live_source(prometheus_live), recent())
    by_title = {(r.panel_title, r.ref_id): r for r in results}
    instance = prometheus_live_target(prometheus_live)

    variable = by_title[("$instance", "var")]
    assert variable.status == "ok" and variable.series_count == 1
    modes = by_title[("$mode", "var")]
    assert modes.status == "ok" and modes.series_count == 3  # regex kept idle, system, user

    cpu = by_title[("CPU", "A")]
    assert cpu.status == "ok", cpu
    # `mode` is multi-value without All and has no saved value: Grafana picks the first option
    assert cpu.series_count == 1 and 'mode=~"idle"' in cpu.interpolated
    assert instance.replace(".", "\\\\.") in cpu.interpolated  # All -> regex-escaped alternation
    assert "[4s]" in cpu.interpolated

    assert by_title[("Typo", "A")].status == "no data"
    broken = by_title[("Broken", "A")]
    assert broken.status == "error" and "parse error" in broken.error

    load = by_title[(f"Load {instance}", "A")]  # repeated per instance, instant query
    assert load.status == "ok" and instance.replace(".", "\\\\.") in load.interpolated

    titles = [r.panel_title for r in results]
    assert "Influx panel" not in titles and "Notes" not in titles
    assert ("CPU", "B") not in by_title  # hidden target
    assert [r.row_title for r in results if r.panel_title in ("Typo", "Broken")] == ["Collapsed"] * 2
    assert has_problems(results)

    table = format_results(results).splitlines()
    assert table[0].split() == ["STATUS", "ROW", "PANEL", "REF", "SERIES", "DETAIL"]
    assert table[1].startswith("ERROR") and "Broken" in table[1]
    assert table[2].startswith("NO DATA") and "node_cpu_secnds_total" in table[2]
    assert table[-1] == "1 error, 1 no data, 0 skipped, 4 ok"


def test_variable_that_finds_nothing_is_reported(prometheus_live):
    model = {"templating": {"list": [
        {"type": "query", "name": "dag", "query": "label_values(airflow_dag_missing, dag_id)"}]},
        "panels": []}
    results = verify_dashboard(model, live_source(prometheus_live), recent())
    assert [(r.panel_title, r.status, r.error) for r in results] == [
        ("$dag", "error", "variable query returned no values")]


TRICKY_DAGS = ("etl.daily", "a|b", "c:\\tmp", "(x)*", "q?+[z]{2}^$")


@pytest.fixture(scope="module")
def backfilled_dags(prometheus_backfilled):
    end = int(time.time()) - 3600
    points = [(end - 60 * i, float(100 - i)) for i in range(60)]
    samples = [("airflow_dagrun_duration_success", {"dag_id": dag}, "gauge", points) for dag in TRICKY_DAGS]
    samples.append(("airflow_dagrun_duration_success", {"dag_id": "etl_daily"}, "gauge", points))
    samples.append(("airflow_dagrun_duration_success", {"dag_id": "quoted 'x' \"y\""}, "gauge", points))
    prometheus = prometheus_backfilled(openmetrics_from_samples(samples))
    return prometheus, TimeRange(end - 1800, end)


@pytest.mark.parametrize("dag", TRICKY_DAGS)
def test_single_value_default_escaping_matches_exactly(backfilled_dags, dag):
    prometheus, window = backfilled_dags
    variable = {"dag": VariableValue.single("dag", dag)}
    result = PrometheusLive(prometheus.url).run('airflow_dagrun_duration_success{dag_id="$dag"}',
                                                window, variable)
    assert (result.error, result.series_count) == (None, 1), result.interpolated


def test_multi_value_default_escaping_matches_exactly(backfilled_dags):
    prometheus, window = backfilled_dags
    variable = {"dag": VariableValue("dag", TRICKY_DAGS, multi=True)}
    result = PrometheusLive(prometheus.url).run('airflow_dagrun_duration_success{dag_id=~"$dag"}',
                                                window, variable)
    # "etl.daily" must not match "etl_daily": the dot is escaped
    assert (result.error, result.series_count) == (None, len(TRICKY_DAGS)), result.interpolated


def test_quotes_need_grafanas_special_chars_toggle(backfilled_dags):
    prometheus, window = backfilled_dags
    dag = "quoted 'x' \"y\""
    for multi in (False, True):
        variable = {"dag": VariableValue("dag", (dag,), multi=multi)}
        query = 'airflow_dagrun_duration_success{dag_id=~"$dag"}'
        with_toggle = PrometheusLive(prometheus.url, special_chars_toggle=True).run(query, window, variable)
        assert (with_toggle.error, with_toggle.series_count) == (None, 1), with_toggle.interpolated
        classic = PrometheusLive(prometheus.url).run(query, window, variable)
        # Grafana's classic escaping leaves the double quote in: the query breaks
        assert classic.error is not None or classic.series_count == 0


def test_variable_regex_and_sort_on_backfilled_values(backfilled_dags):
    prometheus, window = backfilled_dags
    model = {"templating": {"list": [
        {"type": "query", "name": "dag", "multi": True, "includeAll": True, "allValue": ".+",
         "query": "label_values(airflow_dagrun_duration_success, dag_id)",
         "regex": "/^(etl.*)$/", "sort": 2},
    ]}, "panels": [{"type": "timeseries", "title": "Runs", "targets": [
        {"refId": "A", "expr": 'count(airflow_dagrun_duration_success{dag_id=~"$dag"})'}]}]}
    results = verify_dashboard(model, PrometheusLive(prometheus.url), window)
    assert results[0].series_count == 2  # etl.daily, etl_daily
    assert results[1].status == "ok" and 'dag_id=~".+"' in results[1].interpolated
