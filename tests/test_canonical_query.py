"""Query equivalence for `airflow-dash import`: the same query however it is spelled, a different query never."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash.canonical_query import canonical, equivalent

SAME_PROMQL = [
    ('sum by (b, a) (x)', 'sum(x) by (a,b)'),
    ('a / on(x) group_left(c, b) b', '(a) / on (x) group_left (b, c) (b)'),
    ('x{a="$h"}', 'x{a="[[h]]"}'),
    ('x{a="$h"}', 'x{a="${h}"}'),
    ('x{a=~"${h:regex}"}', 'x{a=~"[[h:regex]]"}'),
    ('rate(x[$__rate_interval])', 'rate(x[${__rate_interval}])'),
    ('{__name__="x", a="1"}', 'x{a="1"}'),
    ('1 + 2 * 3', '1 + (2 * 3)'),
    ('rate(x[5m])', 'rate(x[300s])'),
    ('x offset 1h', 'x offset 60m'),
    ('sum(rate(x{a="1",b=~"2"}[5m]))', '  sum (\n rate( x{ b=~"2" , a="1" }[5m] ) )  '),
]
DIFFERENT_PROMQL = [
    ('x{a="$h"}', 'x{a="$g"}'),
    ('(1+2)*3', '1+2*3'),
    ('rate(x[$__rate_interval])', 'rate(x[$__interval])'),
    ('x{a=~"${h:regex}"}', 'x{a=~"${h}"}'),
    ('sum by (a) (x)', 'sum without (a) (x)'),
    ('sum by (a) (x)', 'sum by (a, b) (x)'),
    ('a - b', 'b - a'),
    ('x{a="1"}', 'x{a!="1"}'),
    ('x{a="1"}', 'x{a="1 "}'),
    ('a > b', 'a > bool b'),
    ('a / on(x) b', 'a / ignoring(x) b'),
    ('rate(x[5m])', 'irate(x[5m])'),
    ('x{a="$h"}', 'x{a="h"}'),
    ('x * $k', 'x * 1'),
    # variables whose names differ only in characters other than letters and digits stay different variables
    ('sum by (${a:b}) (x)', 'sum by ($a_b) (x)'),
    ('${a:b}{job="x"}', '${a_b}{job="x"}'),
    ('x{l="${a:b}"}', 'x{l="${a_3a_b}"}'),
]


@pytest.mark.parametrize(("a", "b"), SAME_PROMQL)
def test_promql_spelled_differently_is_equivalent(a, b):
    assert equivalent(a, b, "promql")


@pytest.mark.parametrize(("a", "b"), DIFFERENT_PROMQL)
def test_promql_meaning_something_else_is_not(a, b):
    assert not equivalent(a, b, "promql")


@pytest.mark.parametrize(("a", "b", "language"), [
    ('from(bucket: v.defaultBucket)\n  |> range(start: v.timeRangeStart)', 'from(bucket:v.defaultBucket) |> range(start:v.timeRangeStart)', "flux"),
    ('filter(fn: (r) => r.host =~ /^${host:regex}$/)', 'filter(fn:(r)=>r.host=~/^[[host:regex]]$/)', "flux"),
    ('SELECT mean("x") FROM "cpu" WHERE $timeFilter', 'SELECT  mean("x")\nFROM "cpu"\nWHERE ${timeFilter}', "influxql"),
    ('SELECT mean("x") FROM "cpu" GROUP BY "host"', 'select mean(x) from cpu group by host', "influxql"),
    ('from(bucket: v.defaultBucket)|>range(start: -1h)', 'from(bucket:v.defaultBucket)\n  |>  range(start:-1h)', "flux"),
    ('filter(fn: (r) => r._measurement == "cpu" and r.host == "a")', 'filter(fn: (r) => r["_measurement"] == "cpu" and r["host"] == "a")', "flux"),
])  # fmt: skip
def test_flux_and_influxql_ignore_whitespace_and_variable_spelling(a, b, language):
    assert equivalent(a, b, language)


@pytest.mark.parametrize(("a", "b", "language"), [
    ('r.host == "a b"', 'r.host == "a  b"', "flux"),  # inside a string, whitespace is the value
    ('r.host =~ /a b/', 'r.host =~ /a  b/', "flux"),  # and inside a regex literal
    ('r.host == "$host"', 'r.host == "$hosts"', "flux"),
    ('r["my tag"] == "a"', 'r.my tag == "a"', "flux"),  # not an identifier: the brackets are needed
    ('r.host == "a"', 'r["host"] == "b"', "flux"),
    ("WHERE \"host\" = 'a b'", "WHERE \"host\" = 'a  b'", "influxql"),
    ('SELECT mean("x") FROM "cpu"', 'SELECT max("x") FROM "cpu"', "influxql"),
    ("WHERE host =~ /${host:regex}/", "WHERE host =~ /${host}/", "influxql"),
    ('SELECT mean("my field") FROM "cpu"', "SELECT mean(my field) FROM cpu", "influxql"),  # quotes that matter
    ('SELECT mean("x") FROM "select"', "SELECT mean(x) FROM select", "influxql"),  # a keyword needs its quotes
    ("WHERE \"cpu\" = 'cpu-total'", "WHERE \"cpu\" = 'CPU-TOTAL'", "influxql"),  # values keep their case
])  # fmt: skip
def test_flux_and_influxql_literals_and_names_count(a, b, language):
    assert not equivalent(a, b, language)


def test_text_that_does_not_parse_is_compared_by_its_text():
    assert equivalent("sum(  x", "sum( x", "promql")
    assert not equivalent("sum(x", "sum(y", "promql")


def test_an_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="unknown query language 'sql'"):
        canonical("SELECT 1", "sql")


LABELS = st.sampled_from(["job", "instance", "mode", "dag_id", "pool"])
VALUES = st.sampled_from(["a", "b c", "idle", "$host", "${host:regex}", "x.*"])
OPS = st.sampled_from(["=", "!=", "=~", "!~"])


@settings(max_examples=150, deadline=None)
@given(
    matchers=st.lists(st.tuples(LABELS, OPS, VALUES), min_size=1, max_size=4, unique_by=lambda m: m[0]),
    order=st.randoms(use_true_random=False),
    by=st.lists(LABELS, min_size=1, max_size=3, unique=True),
    parens=st.integers(0, 3),
    spacing=st.sampled_from(["", " ", "  ", "\n  "]),
)
def test_matcher_order_parentheses_and_spacing_never_change_the_canonical_form(matchers, order, by, parens, spacing):
    def render(items, labels, depth, gap):
        selector = "x{" + f",{gap}".join(f'{name}{op}"{value}"' for name, op, value in items) + "}"
        inner = "(" * depth + f"rate({selector}[$__rate_interval])" + ")" * depth
        return f"sum {gap}by{gap}({', '.join(labels)}){gap}({inner}) * 100"

    shuffled, relabelled = list(matchers), list(by)
    order.shuffle(shuffled)
    order.shuffle(relabelled)
    original = render(matchers, by, 0, " ")
    assert equivalent(original, render(shuffled, relabelled, parens, spacing), "promql")
    # ...while any one changed value is a different query.
    name, op, value = matchers[0]
    changed = [(name, op, value + "z"), *matchers[1:]]
    assert not equivalent(original, render(changed, by, parens, spacing), "promql")
