"""Grafana variable interpolation for execution: formats, datasource defaults, All, macros."""

from __future__ import annotations

import pytest

from airflow_dash.live.interpolate import (
    Dialect,
    QueryContext,
    TimeRange,
    VariableValue,
    escape_regex,
    format_duration_ms,
    interpolate,
    parse_duration_ms,
    prometheus_regular_escape,
    prometheus_special_regex_escape,
    round_interval_ms,
)

# Values with regex metacharacters, both quotes, a backslash and a slash.
TRICKY = ("a.b", 'say "hi"', "it's", "c:\\dir/x", "(x|y)*")
MULTI = VariableValue("v", TRICKY, multi=True)
SINGLE = VariableValue.single("v", "a.b/c\\d'e\"f")
HOUR = TimeRange(1_700_000_000, 1_700_003_600)


def run(text: str, variable: VariableValue = MULTI, dialect: Dialect = Dialect.PLAIN, context=None) -> str:
    return interpolate(text, {variable.name: variable}, dialect, context)


@pytest.mark.parametrize("fmt, expected", [
    ("regex", r'(a\.b|say "hi"|it' "'" r's|c:\\dir\/x|\(x\|y\)\*)'),
    ("pipe", 'a.b|say "hi"|it\'s|c:\\dir/x|(x|y)*'),
    ("csv", 'a.b,say "hi",it\'s,c:\\dir/x,(x|y)*'),
    ("raw", 'a.b,say "hi",it\'s,c:\\dir/x,(x|y)*'),
    ("glob", '{a.b,say "hi",it\'s,c:\\dir/x,(x|y)*}'),
    ("singlequote", "'a.b','say \"hi\"','it\\'s','c:\\dir/x','(x|y)*'"),
    ("doublequote", '"a.b","say \\"hi\\"","it\'s","c:\\dir/x","(x|y)*"'),
    ("json", '["a.b","say \\"hi\\"","it\'s","c:\\\\dir/x","(x|y)*"]'),
    ("sqlstring", "'a.b','say \\\"hi\\\"','it''s','c:\\dir/x','(x|y)*'"),
    ("text", 'a.b + say "hi" + it\'s + c:\\dir/x + (x|y)*'),
    ("queryparam", "var-v=a.b&var-v=say%20%22hi%22&var-v=it%27s&var-v=c%3A%5Cdir%2Fx&var-v=%28x%7Cy%29%2A"),
    ("nosuchformat", '{a.b,say "hi",it\'s,c:\\dir/x,(x|y)*}'),  # Grafana falls back to glob
])
def test_formats_on_multi_value(fmt, expected):
    assert run("${v:%s}" % fmt) == expected
    assert run("[[v:%s]]" % fmt) == expected


@pytest.mark.parametrize("fmt, expected", [
    ("regex", r"a\.b\/c\\d'e\"f".replace('\\"', '"')),
    ("pipe", "a.b/c\\d'e\"f"),
    ("csv", "a.b/c\\d'e\"f"),
    ("raw", "a.b/c\\d'e\"f"),
    ("glob", "a.b/c\\d'e\"f"),
    ("singlequote", "'a.b/c\\d\\'e\"f'"),
    ("doublequote", "\"a.b/c\\d'e\\\"f\""),
    ("json", "a.b/c\\d'e\"f"),  # Grafana's json format leaves a single string as is
])
def test_formats_on_single_value(fmt, expected):
    assert run("${v:%s}" % fmt, SINGLE) == expected


def test_escape_regex_uses_grafanas_character_set():
    assert escape_regex("\\^$*+?.()|[]{}/-#&<>") == "\\\\\\^\\$\\*\\+\\?\\.\\(\\)\\|\\[\\]\\{\\}\\/-#&<>"


def test_prometheus_escapes_classic_and_toggle():
    # classic: backslash doubled, single quote as \\' (Grafana's long-standing behaviour)
    assert prometheus_regular_escape("a\\b'c\"d") == "a\\\\b\\\\'c\"d"
    assert prometheus_regular_escape("a\\b'c\"d", special_chars_toggle=True) == 'a\\\\b\'c\\"d'
    assert prometheus_regular_escape('job="x"', special_chars_toggle=True) == 'job="x"'
    # regex escape doubles every escape because the PromQL string literal eats one level
    assert prometheus_special_regex_escape("a.b\\c|d/") == "a\\\\.b\\\\\\\\c\\\\|d/"
    assert prometheus_special_regex_escape("it's \"q\"", special_chars_toggle=True) == \
        "it\\\\'s \\\\\\\"q\\\\\\\""


def test_prometheus_default_format_single_vs_multi():
    assert run('x="$v"', SINGLE, Dialect.PROMETHEUS) == "x=\"a.b/c\\\\d\\\\'e\"f\""
    multi = VariableValue("v", ("a.b", "c|d"), multi=True)
    assert run('x=~"$v"', multi, Dialect.PROMETHEUS) == 'x=~"(a\\\\.b|c\\\\|d)"'
    one_of_multi = VariableValue("v", ("a.b",), multi=True)
    assert run('x=~"$v"', one_of_multi, Dialect.PROMETHEUS) == 'x=~"a\\\\.b"'
    # an explicit format always wins over the datasource default
    assert run('x=~"${v:pipe}"', multi, Dialect.PROMETHEUS) == 'x=~"a.b|c|d"'


def test_influxql_default_format():
    multi = VariableValue("host", ("web.1", "db/2"), multi=True)
    assert run("=~ /^$host$/", multi, Dialect.INFLUXQL) == "=~ /^(web\\.1|db\\/2)$/"
    assert run("=~ /^$host$/", multi, Dialect.INFLUXQL_CLASSIC) == "=~ /^(web\\.1|db\\/2)$/"
    single = VariableValue.single("host", "web.1")
    assert run("=~ /^$host$/", single, Dialect.INFLUXQL) == "=~ /^web\\.1$/"
    assert run("= '$host'", single, Dialect.INFLUXQL_CLASSIC) == "= 'web.1'"


def test_flux_default_is_plain_glob():
    assert run('r.host == "$v"', SINGLE, Dialect.FLUX) == 'r.host == "a.b/c\\d\'e"f"'
    two = VariableValue("v", ("a", "b"), multi=True)
    assert run("$v", two, Dialect.FLUX) == "{a,b}"


def test_all_without_all_value_expands_every_option():
    everything = VariableValue("v", ("a.b", "c"), include_all=True, is_all=True)
    assert run('x=~"$v"', everything, Dialect.PROMETHEUS) == 'x=~"(a\\\\.b|c)"'
    assert run("${v:csv}", everything) == "a.b,c"
    assert run("${v:text}", everything) == "All"


def test_all_with_all_value_is_inserted_raw():
    everything = VariableValue("v", ("a.b", "c"), include_all=True, all_value=".*", is_all=True)
    for dialect in Dialect:
        assert run('x=~"$v"', everything, dialect) == 'x=~".*"'
    assert run("${v:regex}", everything) == ".*"
    chained = {"v": VariableValue("v", ("a",), include_all=True, all_value="$env-.*", is_all=True),
               "env": VariableValue.single("env", "prod")}
    assert interpolate("$v", chained, Dialect.PROMETHEUS) == "prod-.*"


def test_reference_syntaxes_and_unknown_names():
    variables = {"host": VariableValue.single("host", "h1")}
    assert interpolate("$host ${host} [[host]] ${host:raw} $hostname $other ${other:csv}",
                       variables, Dialect.PLAIN) == "h1 h1 h1 h1 $hostname $other ${other:csv}"


def test_macros_prometheus():
    context = QueryContext(HOUR, min_interval="15s", scrape_interval="15s", max_data_points=100)
    text = "$__interval $__interval_ms $__rate_interval $__range $__range_s $__range_ms $__from $__to"
    # 3600s / 100 points = 36s, rounded to 30s; rate = max(30s + 15s, 4 * 15s) = 60s
    assert interpolate(text, {}, Dialect.PROMETHEUS, context) == \
        "30s 30000 1m 3600s 3600 3600000 1700000000000 1700003600000"
    small = QueryContext(HOUR, min_interval="1s", scrape_interval="1s", max_data_points=3600)
    assert interpolate("$__interval $__rate_interval", {}, Dialect.PROMETHEUS, small) == "1s 4s"
    assert interpolate("${__from:date:iso} ${__to:date:seconds} ${__from:date:ms}", {}, Dialect.PLAIN,
                       context) == "2023-11-14T22:13:20.000Z 1700003600 1700000000000"


def test_macros_influxql():
    context = QueryContext(HOUR, max_data_points=1000)
    assert interpolate('WHERE $timeFilter GROUP BY time($__interval), time($interval)', {},
                       Dialect.INFLUXQL, context) == \
        "WHERE time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(5s), time(5s)"


def test_flux_v_record():
    context = QueryContext(HOUR, max_data_points=100, default_bucket='air"flow${x}', organization="org")
    flux = ('from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)'
            ' |> aggregateWindow(every: v.windowPeriod, fn: mean) // v.organization, xv.windowPeriod')
    assert interpolate(flux, {}, Dialect.FLUX, context) == (
        'from(bucket: "air\\"flow\\${x}") |> range(start: 2023-11-14T22:13:20.000Z, '
        'stop: 2023-11-14T23:13:20.000Z) |> aggregateWindow(every: 30s, fn: mean) '
        '// "org", xv.windowPeriod'
    )


def test_durations():
    assert [round_interval_ms(ms) for ms in (3600, 36000, 100000)] == [5000, 30000, 120000]
    assert parse_duration_ms("15s") == 15000 and parse_duration_ms("2") == 2000
    assert parse_duration_ms("500ms") == 500 and parse_duration_ms("1h") == 3600000
    assert [format_duration_ms(ms) for ms in (60000, 90000, 1500, 86400000 * 7)] == \
        ["1m", "90s", "1500ms", "7d"]
    with pytest.raises(ValueError):
        parse_duration_ms("soon")
