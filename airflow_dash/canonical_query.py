"""Whether two query texts mean the same: a canonical form per language, for `airflow-dash import`.

Two queries are equivalent when their canonical forms are equal. What the forms ignore:

* every language: how a Grafana variable is spelled (`$host`, `${host}` and `[[host]]` are one reference;
  `${host:regex}` and `[[host:regex]]` another), and whitespace outside string and regex literals;
* PromQL, compared as a parsed tree: redundant parentheses, the order of label matchers, the order of the
  labels in `by (...)` / `without (...)` / `on (...)` / `ignoring (...)` / `group_left (...)`, where the
  aggregation modifier is written (`sum by (a) (x)` is `sum(x) by (a)`), `{__name__="x"}` for `x`, and how a
  number or duration is written (`[300s]` is `[5m]`). A PromQL text that does not parse is compared by its
  whitespace-normalised text.

Flux and InfluxQL are compared token by token (literals whole): Flux with `r["host"]` as `r.host`, InfluxQL
with its keywords in any case and simple identifiers quoted or not (`"cpu"` is `cpu`); anything else must be
the same. Our catalog writes them
one way, so what it compiled is recognised, and a hand-written query that differs otherwise stays raw.

>>> canonical('sum by (job, instance) ((rate(up{instance=~"$host", job="x"}[5m])))', "promql") == \\
...     canonical('sum(rate(up{job="x",instance=~"${host}"}[300s])) by (instance, job)', "promql")
True
>>> canonical('SELECT mean("usage_idle") FROM "cpu" WHERE $timeFilter', "influxql") == \\
...     canonical('select  mean(usage_idle)\\nfrom cpu where [[timeFilter]]', "influxql")
True
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from airflow_dash.validate.flux_slash import regex_may_open
from airflow_dash.validate.grafana_vars import VariableRef, span_containing, string_and_regex_spans, substitute
from airflow_dash.validate.promql import DURATION
from airflow_dash.validate.promql import stand_in_value as promql_stand_in

LANGUAGES = ("promql", "flux", "influxql")
_INFLUXQL_REGEX_AFTER = re.compile(r"(=~|!~|\bfrom|,|\()\s*$", re.IGNORECASE)


def canonical(text: str, language: str) -> str:
    """The canonical form of `text` in `language` ("promql", "flux" or "influxql"): equal forms, same query.

    >>> canonical('SELECT  mean("x")  FROM "cpu"', "influxql") == canonical('SELECT mean("x") FROM "cpu"', "influxql")
    True
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown query language {language!r} (expected one of {', '.join(LANGUAGES)})")
    if language == "promql":
        tree = _promql_tree(text)
        if tree is not None:
            return "promql:" + repr(tree)
        return _text_form(text, "\"'`", None, "#")
    if language == "flux":
        return _text_form(text, '"', regex_may_open, "//")
    return _text_form(text, "'\"", lambda before: bool(_INFLUXQL_REGEX_AFTER.search(before)), "--", influxql=True)


def equivalent(a: str, b: str, language: str) -> bool:
    """Whether `a` and `b` are the same query once spelled canonically (see the module docstring).

    >>> equivalent('x{a="1",b="2"}', '(x{b="2", a="1"})', "promql"), equivalent("x - y", "y - x", "promql")
    (True, False)
    """
    return a == b or canonical(a, language) == canonical(b, language)


def _reference(ref: VariableRef) -> str:
    """One spelling of a variable reference: `${name}` or `${name:format}`."""
    return "${" + _key(ref) + "}"


def _text_form(text: str, quotes: str, regex_allowed: Any, comment: str, influxql: bool = False) -> str:
    """The query as tokens joined by one space: variables spelled one way, literals kept whole (whitespace
    inside them is their value). InfluxQL: keywords in capitals, simple identifiers without quotes."""
    spelled = substitute(text, _reference).text
    spans = string_and_regex_spans(spelled, quotes, regex_allowed=regex_allowed, line_comment=comment)
    tokens: list[str] = []
    cursor = 0
    for start, end, opener in [*spans, (len(spelled), len(spelled), "")]:
        for token in _TOKEN.findall(spelled[cursor:start]):
            tokens.append(token.upper() if influxql and token.upper() in _INFLUXQL_KEYWORDS else token)
        literal = spelled[start:end]
        if literal:
            body = literal[1:-1]
            simple = opener == '"' and _IDENTIFIER.fullmatch(body) and body.upper() not in _INFLUXQL_KEYWORDS
            tokens.append(body if influxql and simple else literal)
        cursor = end
    if not influxql:  # Flux: `r["host"]` is `r.host` (the form InfluxDB's query builder writes)
        tokens = _flux_members(tokens)
    return " ".join(tokens)


_FLUX_KEYWORDS = frozenset("and import not return option test empty in or package builtin if then else exists".split())


def _flux_members(tokens: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(tokens):
        window = tokens[index:index + 3]
        if (len(window) == 3 and out and _IDENTIFIER.fullmatch(out[-1]) and window[0] == "[" and window[2] == "]"
                and window[1][:1] == '"' and _IDENTIFIER.fullmatch(window[1][1:-1])
                and window[1][1:-1] not in _FLUX_KEYWORDS):  # fmt: skip
            out.extend([".", window[1][1:-1]])
            index += 3
            continue
        out.append(tokens[index])
        index += 1
    return out


_TOKEN = re.compile(r"\$\{[^}]*\}|\w+|\S")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INFLUXQL_KEYWORDS = frozenset(
    "ALL ALTER ANY AS ASC BEGIN BY CREATE CONTINUOUS DATABASE DATABASES DEFAULT DELETE DESC DESTINATIONS DIAGNOSTICS "
    "DISTINCT DROP DURATION END EVERY EXPLAIN FIELD FOR FROM GRANT GRANTS GROUP GROUPS IN INF INSERT INTO KEY KEYS "
    "KILL LIMIT SHOW MEASUREMENT MEASUREMENTS NAME OFFSET ON ORDER PASSWORD POLICY POLICIES PRIVILEGES QUERIES QUERY "
    "READ REPLICATION RESAMPLE RETENTION REVOKE SELECT SERIES SET SHARD SHARDS SLIMIT SOFFSET STATS SUBSCRIPTION "
    "SUBSCRIPTIONS TAG TO USER USERS VALUES WHERE WITH WRITE AND OR NOT".split()
)


# --- PromQL: a parsed tree ------------------------------------------------------------------------------------


def _key(ref: VariableRef) -> str:
    return ref.name + (f":{ref.format}" if ref.format else "")


def _placeholder(ref: VariableRef) -> str:
    """An identifier standing for a variable, one per variable (and format): every character other than a
    letter or digit, `_` included, is written `_<hex>_`, so `${a:b}`, `$a_b` and `$a_3a_b` stay apart."""
    return "__grafana_var_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", _key(ref)) + "__"


def _stand_in_number(ref: VariableRef) -> int:
    """A number unlikely to be written by hand, one per variable (and format)."""
    return 1_000_003 + zlib.crc32(_key(ref).encode()) % 900_000  # as seconds, within what a range can hold


def _promql_tree(text: str) -> Any:
    import promql_parser

    spans = string_and_regex_spans(text, "\"'`", line_comment="#")

    def value_for(ref: VariableRef) -> str:
        if span_containing(spans, ref.start):
            return _placeholder(ref)
        stand_in = promql_stand_in(text, spans, ref)
        if stand_in == DURATION:
            return f"{_stand_in_number(ref)}s"
        if stand_in == "x":
            return _placeholder(ref)
        return str(_stand_in_number(ref))

    try:
        parsed = promql_parser.parse(substitute(text, value_for).text)
    except (ValueError, TypeError):
        return None
    return _tree(parsed)


def _tree(node: Any) -> Any:
    import promql_parser as P

    if isinstance(node, P.ParenExpr):
        return _tree(node.expr)
    if isinstance(node, P.NumberLiteral):
        return ("number", float(node.val))
    if isinstance(node, P.StringLiteral):
        return ("string", node.val)
    if isinstance(node, P.VectorSelector):
        matchers = [(m.name, str(m.op), m.value) for m in node.matchers.matchers]
        name = node.name
        named = [m for m in matchers if m[0] == "__name__" and m[1] == "MatchOp.Equal"]
        if name is None and len(named) == 1:
            name = named[0][2]
            matchers.remove(named[0])
        alternatives = sorted(tuple(sorted((m.name, str(m.op), m.value) for m in group))
                              for group in node.matchers.or_matchers)  # fmt: skip
        return ("selector", name, tuple(sorted(matchers)), tuple(alternatives), _time(node.offset), str(node.at))
    if isinstance(node, P.MatrixSelector):
        return ("range", _tree(node.vector_selector), _time(node.range))
    if isinstance(node, P.SubqueryExpr):
        return ("subquery", _tree(node.expr), _time(node.range), _time(node.step), _time(node.offset), str(node.at))
    if isinstance(node, P.Call):
        return ("call", node.func.name, tuple(_tree(argument) for argument in node.args))
    if isinstance(node, P.UnaryExpr):
        return ("negative", _tree(node.expr))
    if isinstance(node, P.AggregateExpr):
        modifier = node.modifier
        labels = ("", ()) if modifier is None else (str(modifier.type), tuple(sorted(modifier.labels)))
        parameter = None if node.param is None else _tree(node.param)
        return ("aggregate", str(node.op), labels, parameter, _tree(node.expr))
    if isinstance(node, P.BinaryExpr):
        return ("binary", str(node.op), _binary_modifier(node.modifier), _tree(node.lhs), _tree(node.rhs))
    return ("unknown", repr(node))


def _time(value: Any) -> Any:
    if value is None:
        return None
    total = getattr(value, "total_seconds", None)
    return total() if total is not None else str(value)


def _binary_modifier(modifier: Any) -> Any:
    if modifier is None:
        return None
    matching = modifier.matching
    on = None if matching is None else (str(matching.type), tuple(sorted(matching.labels)))
    return (str(modifier.card), on, tuple(sorted(modifier.group_labels or ())), bool(modifier.return_bool))
