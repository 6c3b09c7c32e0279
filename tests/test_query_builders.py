"""Query builders: structure checked by the real parsers (promql-parser, flux-lsp, InfluxQL checker + real
InfluxDB), precedence derived from PromQL's own evaluation of numbers, and data from real servers."""

from __future__ import annotations

import math
import time

import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash.query import flux as F
from airflow_dash.query import influxql as Q
from airflow_dash.query import promql as P
from airflow_dash.query.values import INTERVAL, Affine, Duration, Regex, Variable
from airflow_dash.validate import check_flux, check_influxql, check_promql

# --- PromQL -------------------------------------------------------------------------------------------------

OPERATORS = ["+", "-", "*", "/", "^"]


def _numbers():
    return st.integers(min_value=1, max_value=9).map(P.Number)


def _trees():
    return st.recursive(
        _numbers(),
        lambda children: st.tuples(st.sampled_from(OPERATORS), children, children).map(lambda t: P.binary(t[0], t[1], t[2])),
        max_leaves=6,
    )


def _evaluate(expr) -> float:
    if isinstance(expr, P.Number):
        return expr.value
    return _apply(expr.op, _evaluate(expr.lhs), _evaluate(expr.rhs))


def _evaluate_parsed(node) -> float:
    """Evaluate promql-parser's AST: the parser's own idea of precedence and associativity."""
    name = type(node).__name__
    if name == "NumberLiteral":
        return node.val
    if name == "ParenExpr":
        return _evaluate_parsed(node.expr)
    assert name == "BinaryExpr", name
    left, right = _evaluate_parsed(node.lhs), _evaluate_parsed(node.rhs)
    op = str(node.op).split(".")[-1].strip()
    return _apply(op, left, right)


def _apply(op: str, left: float, right: float) -> float:
    """Same arithmetic for both trees; undefined results (0^-1, x/0) become NaN on both sides alike."""
    try:
        if op == "^":
            return math.pow(left, right)
        if op == "/":
            return left / right
        return {"+": left + right, "-": left - right, "*": left * right}[op]
    except (ZeroDivisionError, OverflowError, ValueError):
        return math.nan


@given(_trees())
@settings(max_examples=300)
def test_promql_parentheses_preserve_the_tree(tree):
    """Whatever tree we build, the real parser reads back the same tree (same value), with minimal parens."""
    text = str(tree)
    parsed = promql_parser.parse(text)
    assert _evaluate_parsed(parsed) == pytest.approx(_evaluate(tree), nan_ok=True)


def test_promql_builder_covers_the_functions_and_aggregations_dashboards_use():
    cpu = P.metric("node_cpu_seconds_total", mode="idle", instance=Variable("host"))
    queries = [
        100 * (1 - P.avg(P.rate(cpu)).by("instance")),
        P.sum(P.irate(P.metric("x_total"))).without("cpu"),
        P.increase(P.metric("x_total"), "1h"),
        P.delta(P.metric("g")), P.deriv(P.metric("g")),
        P.histogram_quantile(0.95, P.sum(P.rate(P.metric("d_bucket"))).by("le", "dag_id")),
        P.topk(5, P.max_over_time(P.metric("g"))), P.bottomk(3, P.metric("g")), P.quantile(0.5, P.metric("g")),
        P.count(P.metric("up")).by("job"), P.min(P.metric("g")), P.max(P.metric("g")),
        P.metric("a").offset("1d") - P.metric("a"),
        P.label_replace(P.metric("up"), "host", "$1", "instance", Regex("([^:]+):.*")),
        P.binary("/", P.metric("a"), P.metric("b"), on=["instance"], group_left=["nodename"]),
        P.metric("a").gt(0, bool_=True), P.metric("a").unless(P.metric("b"), on=["job"]),
        P.avg_over_time(P.metric("g"), INTERVAL), P.quantile_over_time(0.9, P.metric("g")),
        P.clamp_min(P.metric("g"), 0), P.absent(P.metric("up", job="x")), -P.metric("g"),
        P.Subquery(P.rate(P.metric("x_total")), Duration("1h"), Duration("1m")),
    ]  # fmt: skip
    texts = [str(q) for q in queries]
    assert [p for p in check_promql(texts) if p] == [], texts
    assert texts[0] == '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", instance=~"${host}"}[$__rate_interval])))'


def test_promql_rejects_type_errors_at_build_time():
    with pytest.raises(TypeError):
        P.rate(P.sum(P.metric("x")))  # an aggregation is no range vector: PromQL would refuse it
    with pytest.raises(ValueError):
        P.metric("bad-name")
    with pytest.raises(ValueError):
        P.binary("and", P.metric("a"), P.metric("b"), group_left=[])
    with pytest.raises(ValueError):
        Duration("5 minutes")


def test_single_value_variables_use_equality_and_multi_value_ones_regex():
    assert str(P.metric("up", job=Variable("job", multi=False))) == 'up{job="${job}"}'
    assert str(P.metric("up", job=Variable("job"))) == 'up{job=~"${job}"}'
    assert str(P.metric("up").where_not(job=Variable("job"))) == 'up{job!~"${job}"}'


# --- Flux ---------------------------------------------------------------------------------------------------


def test_flux_pipeline_uses_grafana_macros_and_passes_the_language_server():
    base = F.from_bucket().range().filter(measurement="net", field=["bytes_recv", "bytes_sent"], host=Variable("host"), interface=Regex("^eth"))
    queries = [
        base.derivative("1s", non_negative=True).aggregate_window("mean").map_value(Affine(8)),
        base.difference(non_negative=True).group(["host"]).sum(),
        base.aggregate_window("last").pivot().keep(["_time", "bytes_recv"]).yield_("net"),
        base.filter(exclude={"interface": ["lo"]}).drop(["_start", "_stop"]).last(),
        base.aggregate_window("max").map_value("r._value / 1024.0").mean(),
        F.tag_values("host", "system", tags={"cpu": "cpu-total"}),
        F.measurement_tag_values("docker_container_cpu", "container_name"),
    ]
    texts = [str(q) for q in queries]
    assert check_flux(texts) == [[] for _ in texts], texts
    assert "range(start: v.timeRangeStart, stop: v.timeRangeStop)" in texts[0]
    assert "aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)" in texts[0]
    assert 'r.host =~ /^${host:regex}$/' in texts[0]


def test_flux_checker_catches_a_misspelled_function_in_builder_output():
    good = str(F.from_bucket().range().filter(measurement="cpu").mean())
    broken = good.replace("mean()", "meen()")
    assert check_flux([good, broken])[0] == []
    assert "meen" in check_flux([broken])[0][0].message


# --- InfluxQL -----------------------------------------------------------------------------------------------


def test_influxql_statements_pass_the_structural_checker():
    queries = [
        Q.select(Q.mean("usage_idle").apply(Affine(-1, 100))).from_("cpu").where(cpu="cpu-total", host=Variable("host")).group_by("host"),
        Q.select((Q.non_negative_derivative(Q.last("bytes_recv"), "1s") * 8, "in")).from_("net").where_not(interface="lo"),
        Q.select(Q.mean("used") / Q.mean("total") * 100).from_("mem").fill_with("none"),
        Q.select(Q.percentile("duration", 95), Q.max("duration")).from_("airflow_dag_duration").newest_first(10),
        Q.select(Q.sum("value") * 1000 / Q.Macro("$__interval_ms")).from_("airflow_ti_finish").group_by("state"),
        Q.show_tag_values("host", "system").where(cpu=Variable("c")),
    ]
    texts = [str(q) for q in queries]
    assert check_influxql(texts) == [[] for _ in texts], texts


# --- against real servers -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_promql_from_the_builder_returns_data_from_real_prometheus_scraping_node_exporter(prometheus_live):
    query = 100 * (1 - P.avg(P.rate(P.metric("node_cpu_seconds_total", mode="idle"), "5s")).by("instance"))
    series = prometheus_live.query(str(query))["result"]
    assert series
    value = float(series[0]["value"][1])
    assert 0.0 <= value <= 100.0


@pytest.mark.slow
def test_influxql_from_the_builder_returns_the_expected_values_from_real_influxdb(influxdb_v1):
    now = int(time.time())
    lines = [f"cpu,cpu=cpu-total,host=web{h} usage_idle={idle} {now - 60 + i * 10}000000000" for h, idles in ((1, (90, 80, 70)), (2, (50, 50, 50))) for i, idle in enumerate(idles)]
    lines += [f"cpu,cpu=cpu0,host=web1 usage_idle=0 {now - 60}000000000"]  # must be filtered out by cpu=cpu-total
    influxdb_v1.write("builders", lines)
    query = (
        Q.select(Q.mean("usage_idle").apply(Affine(-1, 100)))
        .from_("cpu")
        .where(cpu="cpu-total", host=["web1", "web2"])
        .group_by("host")
        .interval(None)
        .without_time_filter()
    )
    # Raw points per host (no GROUP BY time): replace the aggregate with the field to see every value.
    answer = influxdb_v1.query("builders", str(Q.select(Q.field("usage_idle").apply(Affine(-1, 100))).from_("cpu").where(cpu="cpu-total").group_by("host").interval(None).without_time_filter()))
    values = {s["tags"]["host"]: [row[1] for row in s["values"]] for s in answer["results"][0]["series"]}
    assert values == {"web1": [10, 20, 30], "web2": [50, 50, 50]}
    answer = influxdb_v1.query("builders", str(query).replace("mean(", "mean(", 1))
    assert "error" not in answer["results"][0], answer
    means = {s["tags"]["host"]: s["values"][0][1] for s in answer["results"][0]["series"]}
    assert means == {"web1": pytest.approx(20.0), "web2": pytest.approx(50.0)}
