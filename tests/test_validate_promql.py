"""PromQL checking through the real promql_parser, with Grafana variables and macros."""

from __future__ import annotations

import pytest

from airflow_dash.errors import UserError
from airflow_dash.validate import QueryProblem, check_promql, check_queries
from airflow_dash.validate.grafana_vars import find_variable_refs, substitute

VALID = [
    "up",
    'sum(rate(airflow_scheduler_heartbeat{job="$job"}[$__rate_interval])) by (instance)',
    'rate(node_cpu_seconds_total{instance=~"${instance:regex}", mode!="idle"}[$__interval])',
    "increase(airflow_dagrun_duration_success_count[${__range}])",
    "avg_over_time(up[$__range:$__interval])",
    "rate(x[[[interval]]])",
    "up offset $offset",
    "sum by ($group_label) (up)",
    "topk($n, up)",
    'sum(increase(x[$__range])) / $__range_s',
    'up{job=`$job`}',
    'label_values(up{job="$job"}, instance)',
    "label_values(job)",
    "query_result(topk(5, sum by (job) (rate(x[5m]))))",
    "metrics(airflow_.*)",
    'up{job="a"} # a comment with $var',
]


@pytest.mark.parametrize("query", VALID)
def test_valid_queries_have_no_problems(query):
    assert check_promql([query]) == [[]]


@pytest.mark.parametrize(
    ("query", "message_part"),
    [
        ("rate(up)", "expected type matrix in call to function 'rate', got vector"),
        ("meen(up)", "unknown function with name 'meen'"),
        ('up{job="$job"', "unexpected end of input inside braces"),
        ("sum(rate(x[$__rate_interval])", "unclosed left parenthesis"),
        ('1 + "a"', "binary expression must contain only scalar and instant vector types"),
        ("query_result(rate(up))", "expected type matrix"),
        ("label_values(up, not a label)", "is not a label name"),
        ("", "empty query"),
    ],
)
def test_invalid_queries_report_the_parser_message(query, message_part):
    [problems] = check_promql([query])
    assert len(problems) == 1
    assert problems[0].language == "promql"
    assert problems[0].query == query
    assert message_part in problems[0].message
    assert "\n" not in problems[0].message


def test_unknown_function_is_located_in_the_original_text():
    query = 'sum(rate(x{job="$job"}[$__rate_interval]))\n  / on(job) meen(up)'
    [[problem]] = check_promql([query])
    assert (problem.line, problem.column) == (2, 13)


def test_one_result_list_per_query_in_order():
    results = check_promql(["up", "rate(up)", "up"])
    assert [bool(problems) for problems in results] == [False, True, False]


def test_check_queries_dispatches_and_rejects_unknown_languages():
    assert check_queries("promql", ["rate(up)"])[0][0].message.startswith("expected type matrix")
    with pytest.raises(UserError, match="unknown query language 'sql'"):
        check_queries("sql", ["SELECT 1"])


def test_query_problem_is_immutable_and_prints_its_position():
    problem = QueryProblem("flux", "x", "undefined identifier x", 1, 1)
    with pytest.raises(AttributeError):
        problem.message = "changed"  # type: ignore[misc]
    assert str(problem) == "flux: 1:1: undefined identifier x"


def test_variable_reference_forms_are_all_found():
    text = "$a ${b} ${c:regex} [[d]] [[e:csv]] ${__from:date:iso} $__interval_ms ${r.host}"
    refs = find_variable_refs(text)
    assert [(ref.name, ref.format) for ref in refs] == [
        ("a", None), ("b", None), ("c", "regex"), ("d", None), ("e", "csv"),
        ("__from", "date:iso"), ("__interval_ms", None),
    ]  # `${r.host}` is Flux string interpolation, not a Grafana variable


def test_substitution_maps_positions_back_to_the_original():
    original = "ab ${long_variable:regex} cd\n$x ef"
    substituted = substitute(original, lambda ref: "V")
    assert substituted.text == "ab V cd\nV ef"
    assert substituted.original_position(1, 6) == (1, 27)  # "c" of "cd"
    assert substituted.original_position(1, 4) == (1, 4)  # inside a replacement: the reference's start
    assert substituted.original_position(2, 3) == (2, 4)  # "e" of "ef" after `$x` -> `V`
