"""Live query runner and dashboard verify against a real InfluxDB 1.x (InfluxQL).

Flux cannot run here (InfluxDB 1.6 has no /api/v2/query, and there is no InfluxDB 2): FluxLive
is covered by its interpolation in test_live_interpolate.py and the error path below only.
"""

from __future__ import annotations

import time

import pytest

from airflow_dash.errors import OperationError, UserError
from airflow_dash.live import FluxLive, InfluxQLLive, TimeRange, VariableValue, verify_dashboard
# The influxdb_v1 fixture comes from tests/conftest.py (tests.influxdb_server).
from airflow_dash.escaping import line_protocol_key
from tests.servers import free_port

pytestmark = pytest.mark.slow

DATABASE = "airflow_live"
# Tag values with regex metacharacters and a slash (which an InfluxQL /regex/ must escape).
HOSTS = ("web.1", "db/2", "a|b", "(x)*", "web_1")


@pytest.fixture(scope="module")
def influx(influxdb_v1):
    now_s = int(time.time())
    lines = []
    for index, host in enumerate(HOSTS):
        region = "eu" if index % 2 else "us"
        for step in range(30):
            ts_ns = (now_s - 10 * step) * 1_000_000_000
            lines.append(f"cpu,host={line_protocol_key(host)},region={region} "
                         f"usage={index + step / 100} {ts_ns}")
    influxdb_v1.write(DATABASE, lines)
    return influxdb_v1


def source(server) -> InfluxQLLive:
    return InfluxQLLive(server.url, DATABASE)


def recent() -> TimeRange:
    return TimeRange.last("10m")


def test_run_returns_series_and_points(influx):
    result = source(influx).run(
        'SELECT mean("usage") FROM "cpu" WHERE $timeFilter GROUP BY time($__interval), "host" fill(none)',
        recent())
    assert result.error is None
    assert result.series_count == len(HOSTS)
    assert result.point_count >= len(HOSTS) * 30
    # 10m over 1000 points = 600ms, rounded by Grafana to 500ms (no min interval configured)
    assert "time >= " in result.interpolated and "GROUP BY time(500ms)" in result.interpolated


def test_run_reports_influxdb_parse_error(influx):
    result = source(influx).run('SELECT mean("usage" FROM "cpu" WHERE $timeFilter', recent())
    assert result.series_count == 0
    assert result.error.startswith("error parsing query:")


@pytest.mark.parametrize("host", HOSTS)
def test_single_value_regex_matches_exactly(influx, host):
    variables = {"host": VariableValue.single("host", host)}
    result = source(influx).run('SELECT count("usage") FROM "cpu" WHERE "host" =~ /^$host$/ AND $timeFilter',
                                recent(), variables)
    assert result.error is None, result.interpolated
    assert result.series_count == 1 and result.point_count == 1, result.interpolated


def test_multi_value_regex_matches_exactly(influx):
    variables = {"host": VariableValue("host", ("web.1", "db/2", "(x)*"), multi=True)}
    result = source(influx).run(
        'SELECT count("usage") FROM "cpu" WHERE "host" =~ /^$host$/ AND $timeFilter GROUP BY "host"',
        recent(), variables)
    assert result.error is None, result.interpolated
    assert result.series_count == 3, result.interpolated  # "web_1" is not matched by "web.1"


def test_variable_queries(influx):
    live = source(influx)
    assert sorted(live.variable_values('SHOW TAG VALUES FROM "cpu" WITH KEY = "host"')) == sorted(HOSTS)
    assert live.variable_values("SHOW MEASUREMENTS") == ["cpu"]
    assert sorted(live.variable_values('SHOW TAG KEYS FROM "cpu"')) == ["host", "region"]
    assert live.variable_values('SHOW FIELD KEYS FROM "cpu"') == ["usage"]
    chained = {"region": VariableValue.single("region", "eu")}
    assert sorted(live.variable_values(
        """SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "region" = '$region'""",
        recent(), chained)) == sorted(HOSTS[1::2])
    with pytest.raises(UserError, match="error parsing query"):
        live.variable_values("SHOW TAG VALUES WITH")


def dashboard() -> dict:
    ds = {"type": "influxdb", "uid": "influx"}
    return {"templating": {"list": [
        {"type": "datasource", "name": "ds", "query": "influxdb"},
        {"type": "query", "name": "region", "datasource": ds, "query": "SHOW TAG VALUES WITH KEY = \"region\"",
         "current": {"value": "eu"}},
        {"type": "query", "name": "host", "datasource": ds, "multi": True, "includeAll": True,
         "query": "SHOW TAG VALUES FROM \"cpu\" WITH KEY = \"host\" WHERE \"region\" = '$region'",
         "current": {"value": ["$__all"]}},
        {"type": "interval", "name": "every", "query": "1m,5m", "current": {"value": "1m"}},
    ]}, "panels": [
        {"type": "row", "title": "Hosts", "collapsed": True, "panels": [
            {"type": "timeseries", "title": "Usage", "datasource": ds, "targets": [
                {"refId": "A", "rawQuery": True, "resultFormat": "time_series",
                 "query": 'SELECT mean("usage") FROM "cpu" WHERE "host" =~ /^$host$/ AND $timeFilter '
                          'GROUP BY time($__interval), "host" fill(null)'},
                {"refId": "B", "rawQuery": True,
                 "query": 'SELECT max("usage") FROM "cpu" WHERE $timeFilter GROUP BY time($every)'},
            ]},
        ]},
        {"type": "stat", "title": "Typo", "datasource": ds, "targets": [
            {"refId": "A", "rawQuery": True, "query": 'SELECT last("usage") FROM "cpuu" WHERE $timeFilter'}]},
        {"type": "stat", "title": "Broken", "datasource": ds, "targets": [
            {"refId": "A", "rawQuery": True, "query": 'SELECT last("usage" FROM "cpu" WHERE $timeFilter'}]},
        {"type": "stat", "title": "Builder", "datasource": ds, "targets": [
            {"refId": "A", "measurement": "cpu", "select": [[{"type": "field", "params": ["usage"]}]]}]},
    ]}


def test_verify_dashboard_against_live_influxdb(influx):
    results = verify_dashboard(dashboard(), source(influx), recent())
    by_key = {(r.panel_title, r.ref_id): r for r in results}
    assert by_key[("$region", "var")].series_count == 2
    assert by_key[("$host", "var")].series_count == 2  # chained: only the "eu" hosts
    usage = by_key[("Usage", "A")]
    assert usage.status == "ok" and usage.row_title == "Hosts"
    assert usage.series_count == 2
    assert "/^(\\(x\\)\\*|db\\/2)$/" in usage.interpolated  # InfluxDB lists tag values sorted
    assert by_key[("Usage", "B")].status == "ok" and "time(1m)" in by_key[("Usage", "B")].interpolated
    assert by_key[("Typo", "A")].status == "no data"
    broken = by_key[("Broken", "A")]
    assert broken.status == "error" and broken.error.startswith("error parsing query")
    assert by_key[("Builder", "A")].status == "skipped"


def test_unreachable_influxdb_is_an_operation_error_without_password():
    live = InfluxQLLive(f"http://127.0.0.1:{free_port()}", DATABASE, user="u", password="hunter2")
    with pytest.raises(OperationError) as raised:
        live.run("SHOW MEASUREMENTS", recent())
    assert "hunter2" not in str(raised.value)


def test_flux_against_influxdb_1_6_reports_the_missing_api(influx):
    # No InfluxDB 2 here: 1.6 answers 404 on /api/v2/query, which must surface as a query error
    # (not a crash) and never show the token.
    result = FluxLive(influx.url, org="org", token="tok-secret", bucket="b").run(
        "from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart)", recent())
    assert result.error == "HTTP 404 Not Found"
    assert result.interpolated.startswith('from(bucket: "b") |> range(start: 20')
