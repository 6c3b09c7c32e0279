"""PromQL as an AST for lint rules: Grafana variables substituted the way the validator does, then parsed.

The substitution reuses `airflow_dash.validate` (grafana_vars finds and replaces references, the PromQL
checker picks a value that parses at each position) with two lint-specific twists:

* `$__rate_interval` inside a range becomes a sentinel duration, so a rule can tell `[$__rate_interval]`
  from `[5m]` or `[$__interval]` in the parsed tree;
* a reference inside a string becomes a readable marker (`__grafana_var_host__`), so a rule can tell which
  variables a label matcher uses.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Iterator

from airflow_dash.validate.grafana_vars import VariableRef, span_containing, string_and_regex_spans, substitute
from airflow_dash.validate.promql import DURATION, VARIABLE_QUERY
from airflow_dash.validate.promql import stand_in_value as validator_value_for

if TYPE_CHECKING:  # imported where used at run time: promql_parser loads a native extension
    import promql_parser

RATE_INTERVAL_SENTINEL = timedelta(seconds=7919)  # a range nobody writes by hand
VARIABLE_MARKER = re.compile(r"__grafana_var_(\w+?)__")


def variable_marker(name: str) -> str:
    return f"__grafana_var_{name}__"


def parse_for_lint(text: str) -> promql_parser.Expr | None:
    """The promql_parser AST of a panel query, or None (invalid — query-valid reports it — or a variable query)."""
    import promql_parser

    if VARIABLE_QUERY.match(text):
        return None
    spans = string_and_regex_spans(text, "\"'`", line_comment="#")

    def value_for(ref: VariableRef) -> str:
        if span_containing(spans, ref.start):
            return variable_marker(ref.name)
        value = validator_value_for(text, spans, ref)
        if value == DURATION and ref.name == "__rate_interval":
            return f"{int(RATE_INTERVAL_SENTINEL.total_seconds())}s"
        return value

    try:
        return promql_parser.parse(substitute(text, value_for).text)
    except ValueError:
        return None


def children(node: promql_parser.Expr) -> list[promql_parser.Expr]:
    import promql_parser as P

    if isinstance(node, P.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, P.AggregateExpr):
        return [n for n in (node.param, node.expr) if n is not None]
    if isinstance(node, P.Call):
        return list(node.args)
    if isinstance(node, (P.ParenExpr, P.UnaryExpr, P.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, P.MatrixSelector):
        return [node.vector_selector]
    return []


def walk(
    node: promql_parser.Expr, ancestors: tuple[promql_parser.Expr, ...] = ()
) -> Iterator[tuple[promql_parser.Expr, tuple[promql_parser.Expr, ...]]]:
    """Every node with the tuple of its ancestors (outermost first)."""
    yield node, ancestors
    for child in children(node):
        yield from walk(child, ancestors + (node,))


def function_name(node: promql_parser.Expr) -> str | None:
    import promql_parser as P

    return node.func.name if isinstance(node, P.Call) else None


def metric_name(selector: promql_parser.VectorSelector) -> str | None:
    """The metric a vector selector reads: its name, or an equality `__name__` matcher."""
    if selector.name:
        return selector.name
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and str(matcher.op) == "MatchOp.Equal":
            return matcher.value
    return None


def variables_in_matchers(selector: promql_parser.VectorSelector) -> set[str]:
    names: set[str] = set()
    for matcher in list(selector.matchers.matchers) + [m for group in selector.matchers.or_matchers for m in group]:
        names.update(VARIABLE_MARKER.findall(matcher.value))
    return names


def vector_selectors(
    tree: promql_parser.Expr,
) -> list[tuple[promql_parser.VectorSelector, tuple[promql_parser.Expr, ...]]]:
    import promql_parser as P

    return [(node, ancestors) for node, ancestors in walk(tree) if isinstance(node, P.VectorSelector)]
