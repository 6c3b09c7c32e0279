"""PromQL checking with `promql_parser` (the Rust parser, which also type-checks), after Grafana substitution."""

from __future__ import annotations

import re
from collections.abc import Sequence

from airflow_dash.validate.grafana_vars import (
    VariableRef,
    position_of,
    span_containing,
    string_and_regex_spans,
    substitute,
)
from airflow_dash.validate.problems import QueryProblem

LANGUAGE = "promql"
DURATION = "5m"
# Keywords after which `( ... )` is a list of label names, not an expression.
LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
# Grafana's Prometheus variable-query functions: not PromQL, but what a variable's `query` holds.
VARIABLE_QUERY = re.compile(r"^\s*(label_values|label_names|metrics|query_result)\s*\((.*)\)\s*$", re.DOTALL)
LABEL_NAME = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")
UNKNOWN_FUNCTION = re.compile(r"unknown function with name '(\w+)'")


def _parse_error(text: str) -> str | None:
    import promql_parser  # imported lazily: the CLI should start without the Rust extension loaded

    try:
        promql_parser.parse(text)
    except ValueError as error:
        return " ".join(str(error).split()) or "invalid promql query"
    return None


def stand_in_value(text: str, spans: list[tuple[int, int, str]], ref: VariableRef) -> str:
    """A stand-in that parses at the reference's position (see module docs of grafana_vars)."""
    if span_containing(spans, ref.start):
        return "x"
    before = _code_before(text, spans, ref.start)
    if before.count("[") > before.count("]") or re.search(r"\boffset\s*$", before, re.IGNORECASE):
        return DURATION
    if ref.number_value is not None:
        return ref.number_value
    if ref.is_duration_macro:
        return DURATION
    after = text[ref.end :].lstrip()
    if before.count("{") > before.count("}") or after[:1] in ("{", "[") or _in_label_list(before):
        return "x"
    return "1"


def _code_before(text: str, spans: list[tuple[int, int, str]], offset: int) -> str:
    """Text before `offset` with string literals blanked, so their brackets do not count."""
    chars = list(text[:offset])
    for start, end, _ in spans:
        for i in range(start, min(end, offset)):
            chars[i] = " "
    return "".join(chars)


def _in_label_list(code_before: str) -> bool:
    stack: list[bool] = []
    for match in re.finditer(r"(\w+)?\s*\(|\)", code_before):
        if match.group(0) == ")":
            if stack:
                stack.pop()
        else:
            stack.append((match.group(1) or "").lower() in LABEL_LIST_KEYWORDS)
    return bool(stack) and stack[-1]


def _locate(original: str, message: str) -> tuple[int | None, int | None]:
    """promql_parser gives no positions; point at an unknown function's name when we can."""
    match = UNKNOWN_FUNCTION.search(message)
    if match:
        call = re.search(rf"\b{re.escape(match.group(1))}\s*\(", original)
        if call:
            return position_of(original, call.start())
    return None, None


def _check_expression(original: str) -> list[str]:
    spans = string_and_regex_spans(original, "\"'`", line_comment="#")
    substituted = substitute(original, lambda ref: stand_in_value(original, spans, ref))
    error = _parse_error(substituted.text)
    return [error] if error else []


def _check_variable_query(function: str, arguments: str) -> list[str]:
    """Grafana's label_values(metric, label) / query_result(expr) / ...: check the PromQL inside."""
    if function == "query_result":
        return _check_expression(arguments)
    if function == "label_values":
        metric, _, label = arguments.rpartition(",")
        errors = _check_expression(metric) if metric.strip() else []
        if not LABEL_NAME.match(label):
            errors.append(f"label_values: {label.strip()!r} is not a label name")
        return errors
    if function == "label_names" and arguments.strip():
        return _check_expression(arguments)
    return []  # metrics(regex) takes a regex, not PromQL


def check_promql_query(query: str) -> list[QueryProblem]:
    """Problems in one PromQL query (or Grafana Prometheus variable query); empty when valid."""
    if not query.strip():
        return [QueryProblem(LANGUAGE, query, "empty query")]
    variable_query = VARIABLE_QUERY.match(query)
    if variable_query:
        messages = _check_variable_query(variable_query.group(1), variable_query.group(2))
    else:
        messages = _check_expression(query)
    return [QueryProblem(LANGUAGE, query, message, *_locate(query, message)) for message in messages]


def check_promql(queries: Sequence[str]) -> list[list[QueryProblem]]:
    """Check PromQL queries as Grafana stores them; one list of problems per query, empty = valid."""
    return [check_promql_query(query) for query in queries]
