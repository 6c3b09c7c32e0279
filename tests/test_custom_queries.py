"""Custom queries on every backend: typed Flux/InfluxQL/PromQL definitions fed by the dashboard's filters,
raw text as an escape hatch (checked offline, flagged by lint), and counters summed across series."""

from __future__ import annotations

import time

import pytest

from airflow_dash.build import find_invalid_queries
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.catalog.model import COUNTER, DELTA, Signal, TelegrafSeries, Unsupported
from airflow_dash.compile import compile_all
from airflow_dash.dashboard import Dashboard, DimensionVariable
from airflow_dash.escaping import line_protocol_key
from airflow_dash.lint.model import DashboardDocument
from airflow_dash.lint.runner import lint_documents
from airflow_dash.lint.sources import compiled_documents
from airflow_dash.panels import Row, timeseries
from airflow_dash.query import flux as F, influxql as Q, promql as P
from airflow_dash.query.values import Affine

load = Signal(
    key="custom.load1",
    title="Load (1m)",
    unit="short",
    description="1-minute load average.",
    prometheus=lambda s: P.avg(s.metric("node_load1")).by(*s.by),
    flux=lambda s: s.group(s.source("system", "load1")).aggregate_window("max"),
    influxql=lambda s: s.select(Q.max("load1"), measurement="system"),
    dimensions=(HOST,),
    group_by=(HOST,),
)

raw_everywhere = Signal(
    key="custom.raw",
    title="Raw",
    unit="short",
    description="Hand-written on every backend.",
    prometheus=P.raw('sum(node_load5{instance=~"$host"})'),
    flux=F.raw('from(bucket: v.defaultBucket)\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n'
               '  |> filter(fn: (r) => r._measurement == "system" and r._field == "load5")'),
    influxql=Q.raw('SELECT mean("load5") FROM "system" WHERE $timeFilter GROUP BY time($__interval)'),
)


def _dashboard(*signals: Signal) -> Dashboard:
    return Dashboard(
        key="custom",
        title="Custom",
        variables=[DimensionVariable(HOST)],
        rows=[Row("r", [timeseries(s.title, s) for s in signals])],
    )


def _queries(dashboard: Dashboard) -> dict[str, list]:
    return {c.backend: [q for q in c.queries if q.ref_id != "-"] for c in compile_all([dashboard])}


def test_custom_definitions_get_the_dashboard_filters_on_every_backend():
    queries = _queries(_dashboard(load))
    assert queries["prometheus"][0].text == 'avg by (instance) (node_load1{instance=~"${host}"})'
    flux_text = queries["flux"][0].text
    assert 'r._measurement == "system" and r._field == "load1" and r.host =~ /^${host:regex}$/' in flux_text
    assert '|> group(columns: ["host"], mode: "by")' in flux_text and "fn: max" in flux_text
    assert queries["influxql"][0].text == (
        'SELECT max("load1") FROM "system" WHERE "host" =~ /^${host:regex}$/ AND $timeFilter '
        'GROUP BY time($__interval), "host" fill(null)'
    )
    assert not any(q.raw for qs in queries.values() for q in qs)


def test_custom_queries_pass_the_real_offline_checkers():
    compiled = compile_all([_dashboard(load, raw_everywhere)])
    assert find_invalid_queries(compiled) == []


def test_fixed_builder_queries_are_accepted():
    fixed = Signal(
        key="custom.fixed", title="Fixed", unit="short", description="d",
        flux=F.from_bucket().range().filter(measurement="system", field="n_cpus").last(),
        influxql=Q.select(Q.last("n_cpus")).from_("system"),
    )
    queries = _queries(_dashboard(fixed))
    assert "prometheus" not in {b for b, qs in queries.items() if qs}  # no Prometheus definition: omitted
    assert queries["flux"][0].text.endswith("|> last()")
    assert queries["influxql"][0].text.startswith('SELECT last("n_cpus") FROM "system"')


def test_raw_queries_are_verbatim_marked_raw_and_flagged_by_lint(tmp_path):
    compiled = compile_all([_dashboard(raw_everywhere)])
    for dashboard in compiled:
        (query,) = [q for q in dashboard.queries if q.ref_id != "-"]
        assert query.raw
    texts = {c.backend: [q.text for q in c.queries if q.raw][0] for c in compiled}
    assert texts["prometheus"] == 'sum(node_load5{instance=~"$host"})'
    documents = [
        DashboardDocument("dashboards/custom.py", f"custom [{c.backend}]", c.model,
                          frozenset((q.panel, q.ref_id) for q in c.queries if q.raw))
        for c in compiled
    ]
    findings = [f for f in lint_documents(documents).findings if f.rule_id == "AD103"]
    assert len(findings) == 3 and all(f.panel == "Raw" for f in findings)
    # A typed query is never flagged.
    typed = compile_all([_dashboard(load)])
    assert not [f for f in lint_documents([DashboardDocument("x", c.name, c.model) for c in typed]).findings
                if f.rule_id == "AD103"]


def test_lint_of_a_dashboards_directory_flags_raw_queries(tmp_path):
    (tmp_path / "custom.py").write_text(
        "from airflow_dash import Dashboard, Row, Signal, timeseries\n"
        "from airflow_dash.query import influxql as Q\n"
        "s = Signal(key='c.raw', title='Raw one', unit='short', description='d',\n"
        "           influxql=Q.raw('SELECT mean(\"x\") FROM \"m\" WHERE $timeFilter GROUP BY time($__interval)'))\n"
        "dashboard = Dashboard(key='custom', title='C', rows=[Row('r', [timeseries('Raw one', s)])])\n"
    )
    documents = compiled_documents([], ["influxql"], tmp_path)
    findings = [f for f in lint_documents(documents).findings if f.rule_id == "AD103"]
    assert [f.panel for f in findings] == ["Raw one"]


def test_an_invalid_raw_query_fails_validation():
    broken = Signal(key="custom.broken", title="Broken", unit="short", description="d",
                    influxql=Q.raw('SELECT mean("x" FROM "m" WHERE $timeFilter'))
    problems = find_invalid_queries(compile_all([_dashboard(broken)], ["influxql"]))
    assert len(problems) == 1 and problems[0].query.panel == "Broken"


def test_a_flux_query_as_telegraf_is_rejected_at_construction():
    with pytest.raises(TypeError, match="telegraf= takes a TelegrafSeries.*flux= or influxql="):
        Signal(key="k", title="t", unit="short", description="d",
               telegraf=F.from_bucket().range().filter(measurement="cpu"))


@pytest.mark.parametrize(
    "slot, value, message",
    [
        ("prometheus", F.raw("from(bucket: v.defaultBucket)"), "prometheus= got a raw flux query; use promql.raw"),
        ("flux", Q.select(Q.mean("x")).from_("m"), "flux= takes a function of the scope"),
        ("influxql", "SELECT 1", "influxql= takes a function of the scope"),
        ("prometheus", 5, "prometheus= takes"),
    ],
)
def test_definitions_of_the_wrong_kind_are_rejected_at_construction(slot, value, message):
    with pytest.raises(TypeError, match=message):
        Signal(key="k", title="t", unit="short", description="d", **{slot: value})


def test_a_signal_needs_some_definition():
    with pytest.raises(ValueError, match="give at least one of"):
        Signal(key="k", title="t", unit="short", description="d")


def test_a_definition_returning_the_wrong_type_is_a_definition_error():
    wrong = Signal(key="custom.wrong", title="Wrong", unit="short", description="d",
                   flux=lambda s: Q.select(Q.mean("x")).from_("m"))
    with pytest.raises(ValueError, match="custom.wrong: its flux definition returned Select"):
        compile_all([_dashboard(wrong)], ["flux"])


def test_unsupported_custom_slot_omits_the_panel_on_that_backend_only():
    flux_only = Signal(key="custom.fo", title="Flux only", unit="short", description="d",
                       prometheus=P.raw("up"), flux=lambda s: s.source("system", "load1"),
                       influxql=Unsupported("not in InfluxQL"))
    compiled = {c.backend: c for c in compile_all([_dashboard(flux_only)])}
    assert [o.reason for o in compiled["influxql"].omissions if "panel" in o.what] == ["not in InfluxQL"]
    assert compiled["flux"].queries


def test_telegraf_series_reject_aggregates_their_kind_cannot_use():
    with pytest.raises(ValueError, match="aggregate 'last' for a counter"):
        TelegrafSeries("net", "bytes_recv", kind=COUNTER, aggregate="last")
    with pytest.raises(ValueError, match="aggregate 'max' for a delta"):
        TelegrafSeries("airflow_x", "value", kind=DELTA, aggregate="max")


# --- counters summed across series, on a real InfluxDB 1.x --------------------------------------------------

NET = Signal(
    key="custom.net_recv",
    title="Received",
    unit="Bps",
    description="Bytes received per second, all interfaces of a host.",
    telegraf=TelegrafSeries("net", "bytes_recv", kind=COUNTER, aggregate="sum", transform=Affine(1, 0)),
    dimensions=(HOST,),
    group_by=(HOST,),
)


def test_counter_sum_renders_per_series_rates_then_a_sum():
    queries = _queries(_dashboard(NET))
    assert queries["influxql"][0].text == (
        'SELECT sum("rate") FROM (SELECT non_negative_derivative(last("bytes_recv"), 1s) AS "rate" FROM "net" '
        'WHERE "host" =~ /^${host:regex}$/ AND $timeFilter GROUP BY time($__interval), * fill(null)) '
        'WHERE $timeFilter GROUP BY time($__interval), "host" fill(null)'
    )
    flux_lines = queries["flux"][0].text.splitlines()
    assert flux_lines[3:] == [
        "  |> derivative(unit: 1s, nonNegative: true)",
        "  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)",
        '  |> group(columns: ["host", "_time"], mode: "by")',
        "  |> sum()",
        '  |> group(columns: ["host"], mode: "by")',
        '  |> sort(columns: ["_time"], desc: false)',
    ]
    assert find_invalid_queries(compile_all([_dashboard(NET)], ["flux", "influxql"])) == []


@pytest.mark.slow
def test_counter_sum_adds_the_rates_of_every_interface_on_influxdb(influxdb_v1):
    from airflow_dash.live import InfluxQLLive, TimeRange, VariableValue
    from airflow_dash.live.interpolate import interpolate

    database = "custom_counter_sum"
    now_s = int(time.time())
    lines = []
    for interface, per_second in (("eth0", 100), ("eth1", 300)):
        for step in range(60):
            t = now_s - 600 + 10 * step
            lines.append(f"net,host={line_protocol_key('web-1')},interface={interface} "
                         f"bytes_recv={per_second * 10 * step}i {t * 1_000_000_000}")
    influxdb_v1.write(database, lines)
    text = _queries(_dashboard(NET))["influxql"][0].text
    live = InfluxQLLive(influxdb_v1.url, database)
    context = live.context(TimeRange.last("10m"), interval="1m")
    query = interpolate(text, {"host": VariableValue.single("host", "web-1")}, live.dialect, context)
    body = influxdb_v1.query(database, query.replace("fill(null)", "fill(none)"))
    values = [row[1] for row in body["results"][0]["series"][0]["values"] if row[1] is not None]
    assert len(values) >= 5
    # Each full window's per-interface rates are 100 and 300 bytes/s: the sum is 400 (not a mean, not a mix).
    # The newest window is still filling, so derivative(last()) sees less than a window of growth there.
    assert values[:-1] == pytest.approx([400] * (len(values) - 1)), values
