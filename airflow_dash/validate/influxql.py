"""InfluxQL checking: an offline structural parser, plus a live check against a real InfluxDB 1.x.

There is no InfluxQL parser for Python, so `check_influxql` is a small recursive-descent parser of the
statements Grafana dashboards use, modelled on InfluxDB 1.x's own parser:

* tokens: identifiers (bare, keywords excluded, or "double quoted"), 'strings', /regex/ (only where
  InfluxDB expects one: after =~ / !~, in FROM and GROUP BY lists), numbers, durations (`5m`, `1h30m`),
  operators; escapes inside quotes and regexes; unterminated literals are reported;
* statements: SELECT and the SHOW forms (DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES WITH KEY, FIELD
  KEYS, SERIES, RETENTION POLICIES, ... CARDINALITY); `;` separates statements;
* SELECT clause order: fields [INTO] FROM [WHERE] [GROUP BY] [fill()] [ORDER BY time] [LIMIT] [OFFSET]
  [SLIMIT] [SOFFSET] [tz()], with the checks InfluxDB does when compiling: known function names and
  argument counts, `GROUP BY time(...)` takes a duration, GROUP BY time needs an aggregate,
  `fill()` takes null/none/previous/linear or a number, only ORDER BY time.

Known gaps (InfluxDB catches these at query time, we do not): field/aggregate mixing rules beyond the
simple case, argument types (e.g. `derivative(mean(x), 'a')`), subquery-specific rules, and statements
other than SELECT/SHOW, which are rejected as out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

from airflow_dash.errors import OperationError
from airflow_dash.validate.grafana_vars import (
    Substitution,
    VariableRef,
    position_of,
    span_containing,
    string_and_regex_spans,
    substitute,
)
from airflow_dash.validate.problems import QueryProblem

LANGUAGE = "influxql"
TIME_FILTER = "time >= now() - 1h"
INTERVAL = "1m"

KEYWORDS = frozenset(
    """ALL ALTER ANALYZE ANY AS ASC BEGIN BY CARDINALITY CREATE CONTINUOUS DATABASE DATABASES DEFAULT DELETE
    DESC DESTINATIONS DIAGNOSTICS DISTINCT DROP DURATION END EVERY EXACT EXPLAIN FIELD FOR FROM GRANT GRANTS
    GROUP GROUPS IN INF INSERT INTO KEY KEYS KILL LIMIT MEASUREMENT MEASUREMENTS NAME OFFSET ON ORDER PASSWORD
    POLICY POLICIES PRIVILEGES QUERIES QUERY READ REPLICATION RESAMPLE RETENTION REVOKE SELECT SERIES SET SHARD
    SHARDS SHOW SLIMIT SOFFSET STATS SUBSCRIPTION SUBSCRIPTIONS TAG TO USER USERS VALUES WHERE WITH WRITE
    AND OR TRUE FALSE""".split()
)
# name -> (min args, max args or None for unlimited); InfluxDB 1.6 aggregates, selectors, transformations.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(["count", "distinct", "mean", "median", "mode", "spread", "stddev", "sum"], (1, 1)),
    "integral": (1, 2),
    **dict.fromkeys(["first", "last", "max", "min"], (1, 1)),
    "percentile": (2, 2),
    "sample": (2, 2),
    "top": (2, None),
    "bottom": (2, None),
    **dict.fromkeys(["derivative", "non_negative_derivative", "elapsed"], (1, 2)),
    **dict.fromkeys(["difference", "non_negative_difference", "cumulative_sum"], (1, 1)),
    "moving_average": (2, 2),
    **dict.fromkeys(["holt_winters", "holt_winters_with_fit"], (3, 3)),
    **dict.fromkeys(
        ["abs", "acos", "asin", "atan", "ceil", "cos", "exp", "floor", "ln", "log2", "log10", "round", "sin",
         "sqrt", "tan"],
        (1, 1),
    ),
    **dict.fromkeys(["atan2", "log", "pow"], (2, 2)),
    **dict.fromkeys(
        ["chande_momentum_oscillator", "exponential_moving_average", "double_exponential_moving_average",
         "triple_exponential_moving_average", "relative_strength_index", "triple_exponential_derivative",
         "kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average"],
        (2, 4),
    ),
    "now": (0, 0),
}
SELECTORS = frozenset({"first", "last", "max", "min", "percentile", "sample", "top", "bottom"})
CAST_TYPES = frozenset({"field", "tag", "integer", "float", "string", "boolean", "unsigned"})
FILL_OPTIONS = frozenset({"null", "none", "previous", "linear"})
_DURATION = re.compile(r"(\d+(?:ns|ms|u|µ|s|m|h|d|w))+")
_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("=~", "!~", "!=", "<>", "<=", ">=", "::", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^",
              "(", ")", ",", ";", ".", ":")
_OPERATOR = re.compile("|".join(map(re.escape, _OPERATORS)))  # the first of _OPERATORS that matches, in order
COMPARISONS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">=", "=~", "!~"})
# Binary operator precedence, as InfluxDB's ast.Token.Precedence().
PRECEDENCE = {"OR": 1, "AND": 2, **dict.fromkeys(COMPARISONS, 4), "+": 5, "-": 5, "|": 5, "^": 5,
              "*": 6, "/": 6, "%": 6, "&": 6}


@dataclass(frozen=True)
class Token:
    """One InfluxQL token; `text` is upper-cased for keywords, raw otherwise."""

    kind: str  # ident | keyword | string | regex | number | integer | duration | op | param | eof
    text: str
    start: int

    def describe(self) -> str:
        return "EOF" if self.kind == "eof" else self.text


class InfluxQLSyntaxError(Exception):
    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


def _scan_quoted(text: str, start: int, quote: str, what: str) -> int:
    """Offset just past the closing quote of a literal opened at `start` (escapes honoured)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        if text[i] == "\n" and quote != "/":
            break
        i += 1
    raise InfluxQLSyntaxError(f"unterminated {what}", start)


def scan(text: str, pos: int, regex: bool = False) -> Token:
    """The token at `pos` (after whitespace and comments); a `/` is a regex only when `regex` is set."""
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("--", pos):
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline
        elif text.startswith("/*", pos) and not regex:
            end = text.find("*/", pos + 2)
            if end < 0:
                raise InfluxQLSyntaxError("unterminated comment", pos)
            pos = end + 2
        else:
            break
    if pos >= len(text):
        return Token("eof", "", pos)
    char = text[pos]
    if char == "'":
        return Token("string", text[pos : _scan_quoted(text, pos, "'", "string")], pos)
    if char == '"':
        return Token("ident", text[pos : _scan_quoted(text, pos, '"', "quoted identifier")], pos)
    if char == "/" and regex:
        return Token("regex", text[pos : _scan_quoted(text, pos, "/", "regex")], pos)
    if char == "$":
        name = _IDENT.match(text, pos + 1)
        raise InfluxQLSyntaxError(f"missing parameter: {name.group(0) if name else ''}", pos)
    if char.isdigit() or (char == "." and text[pos + 1 : pos + 2].isdigit()):
        duration = _DURATION.match(text, pos)
        if duration:
            return Token("duration", duration.group(0), pos)
        number = _NUMBER.match(text, pos)
        assert number is not None  # a digit, or "." and a digit, starts a number
        kind = "number" if "." in number.group(0) else "integer"
        return Token(kind, number.group(0), pos)
    word = _IDENT.match(text, pos)
    if word:
        upper = word.group(0).upper()
        return Token("keyword", upper, pos) if upper in KEYWORDS else Token("ident", word.group(0), pos)
    operator = _OPERATOR.match(text, pos)
    if operator:
        return Token("op", operator.group(0), pos)
    raise InfluxQLSyntaxError(f"invalid character {char!r}", pos)


@dataclass(frozen=True)
class _Call:
    name: str
    arguments: tuple[Expression, ...]


# A parsed field expression: a token, a call, or (operator, left, right).
Expression = Union[Token, _Call, tuple[str, "Expression", "Expression"]]


def _top_level_calls(expression: Expression) -> list[_Call]:
    """Function calls in a field expression, not looking inside call arguments."""
    if isinstance(expression, _Call):
        return [expression]
    if isinstance(expression, tuple):  # (operator, left, right)
        return _top_level_calls(expression[1]) + _top_level_calls(expression[2])
    return []


def _has_bare_field(expression: Expression) -> bool:
    """Whether a field expression reads a field or tag outside any function call."""
    if isinstance(expression, Token):
        return expression.kind == "ident"
    if isinstance(expression, tuple):
        return _has_bare_field(expression[1]) or _has_bare_field(expression[2])
    return False


class _Parser:
    """Recursive descent over one query text; raises InfluxQLSyntaxError at the first problem."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self._scanned: dict[tuple[int, bool], Token] = {}  # scan is pure: each token is read once, peeked often

    # -- token helpers ------------------------------------------------------------------------
    def peek(self, regex: bool = False) -> Token:
        key = (self.pos, regex)
        token = self._scanned.get(key)
        if token is None:
            token = self._scanned[key] = scan(self.text, self.pos, regex)
        return token

    def next(self, regex: bool = False) -> Token:
        token = self.peek(regex)
        self.pos = token.start + len(token.text) if token.kind != "eof" else token.start
        return token

    def accept(self, *texts: str) -> Token | None:
        token = self.peek()
        if token.kind in ("keyword", "op") and token.text in texts:
            return self.next()
        return None

    def fail(self, token: Token, expected: str) -> InfluxQLSyntaxError:
        return InfluxQLSyntaxError(f"found {token.describe()}, expected {expected}", token.start)

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.kind not in ("keyword", "op") or token.text != text:
            raise self.fail(token, text)
        return token

    def identifier(self) -> Token:
        token = self.next()
        if token.kind != "ident":
            raise self.fail(token, "identifier")
        return token

    def cast_type(self) -> Token:
        token = self.next()
        if token.kind not in ("ident", "keyword") or token.text.lower() not in CAST_TYPES:
            raise self.fail(token, "field, tag, integer, float, string or boolean")
        return token

    def integer(self) -> Token:
        token = self.next()
        if token.kind != "integer":
            raise self.fail(token, "integer")
        return token

    # -- statements ---------------------------------------------------------------------------
    def statements(self) -> None:
        while True:
            token = self.peek()
            if token.kind == "eof":
                raise self.fail(token, "SELECT or SHOW")
            if self.accept("SELECT"):
                self.select_statement()
            elif self.accept("SHOW"):
                self.show_statement()
            else:
                raise self.fail(token, "SELECT or SHOW")
            end = self.next()
            if end.kind == "eof":
                return
            if end.text != ";":
                raise self.fail(end, ";")
            if self.peek().kind == "eof":
                return

    def select_statement(self) -> None:
        fields = self.fields()
        if self.accept("INTO"):
            self.source(regex_ok=False)
        self.expect("FROM")
        self.sources()
        if self.accept("WHERE"):
            self.expression()
        group_by_time = False
        if self.accept("GROUP"):
            self.expect("BY")
            group_by_time = self.dimensions()
        self.fill()
        if self.accept("ORDER"):
            self.expect("BY")
            self.order_by()
        for keyword in ("LIMIT", "OFFSET", "SLIMIT", "SOFFSET"):
            if self.accept(keyword):
                self.integer()
        token = self.peek()
        if token.kind == "ident" and token.text.lower() == "tz":
            self.next()
            self.expect("(")
            if self.next().kind != "string":
                raise InfluxQLSyntaxError("expected string argument in tz()", token.start)
            self.expect(")")
        calls = [call for field in fields for call in _top_level_calls(field)]
        if group_by_time and not calls:
            raise InfluxQLSyntaxError("GROUP BY requires at least one aggregate function", 0)
        single_selector = len(calls) == 1 and calls[0].name in SELECTORS
        if calls and not single_selector and any(_has_bare_field(field) for field in fields):
            raise InfluxQLSyntaxError("mixing aggregate and non-aggregate queries is not supported", 0)

    def fields(self) -> list[Expression]:
        fields: list[Expression] = []
        while True:
            fields.append(self.expression(star_ok=True))
            if self.accept("AS"):
                self.identifier()
            if not self.accept(","):
                return fields

    def sources(self) -> None:
        self.source(regex_ok=True)
        while self.accept(","):
            self.source(regex_ok=True)

    def source(self, regex_ok: bool) -> None:
        token = self.peek(regex=regex_ok)
        if token.kind == "regex":
            self.next(regex=True)
            return
        if token.kind == "op" and token.text == "(" and regex_ok:
            self.next()
            self.expect("SELECT")
            self.select_statement()
            self.expect(")")
            return
        # db.rp.measurement, db..measurement, rp.measurement or measurement
        parts = 0
        while True:
            token = self.peek(regex=regex_ok and parts > 0)
            if token.kind == "regex":
                self.next(regex=True)
                return
            if token.kind == "ident":
                self.next()
                parts += 1
            elif not (token.kind == "op" and token.text == "."):
                raise self.fail(token, "identifier" if parts == 0 else "identifier or regex")
            if not self.accept("."):
                if parts == 0:
                    raise self.fail(self.peek(), "identifier")
                return

    def dimensions(self) -> bool:
        group_by_time = False
        while True:
            token = self.peek(regex=True)
            if token.kind == "regex":
                self.next(regex=True)
            elif token.kind == "op" and token.text == "*":
                self.next()
            elif token.kind == "ident" and token.text.lower() == "time" and self._followed_by_paren(token):
                self.next()
                self.time_dimension(token)
                group_by_time = True
            elif token.kind == "ident":
                self.next()
                if self.accept("::"):
                    self.cast_type()
            else:
                raise self.fail(token, "identifier or regex")
            if not self.accept(","):
                return group_by_time

    def _followed_by_paren(self, token: Token) -> bool:
        after = scan(self.text, token.start + len(token.text))
        return after.kind == "op" and after.text == "("

    def time_dimension(self, time_token: Token) -> None:
        self.expect("(")
        arguments = [self.expression()]
        while self.accept(","):
            arguments.append(self.expression())
        self.expect(")")
        if len(arguments) > 2:
            raise InfluxQLSyntaxError("time dimension expected 1 or 2 arguments", time_token.start)
        if not isinstance(arguments[0], Token) or arguments[0].kind != "duration":
            raise InfluxQLSyntaxError("time dimension must have duration argument", time_token.start)

    def fill(self) -> None:
        token = self.peek()
        if not (token.kind == "ident" and token.text.lower() == "fill"):
            return
        self.next()
        self.expect("(")
        option = self.next()
        if option.kind == "op" and option.text == "-":
            option = self.next()
        if not (option.kind in ("integer", "number") or (option.kind == "ident" and option.text.lower() in FILL_OPTIONS)):
            raise InfluxQLSyntaxError("expected number argument in fill()", option.start)
        self.expect(")")

    def order_by(self) -> None:
        if self.accept("ASC", "DESC"):
            return  # InfluxDB reads a bare direction as ordering by time
        token = self.next()
        if token.kind != "ident" or token.text.strip('"').lower() != "time":
            raise InfluxQLSyntaxError("only ORDER BY time supported at this time", token.start)
        self.accept("ASC", "DESC")

    def show_statement(self) -> None:
        token = self.next()
        what = token.text if token.kind == "keyword" else ""
        if what in ("DATABASES", "USERS", "STATS", "DIAGNOSTICS", "QUERIES", "SHARDS", "SUBSCRIPTIONS"):
            return
        if what == "SHARD":
            self.expect("GROUPS")
        elif what == "CONTINUOUS":
            self.expect("QUERIES")
        elif what == "GRANTS":
            self.expect("FOR")
            self.identifier()
        elif what == "RETENTION":
            self.expect("POLICIES")
            self.on_database()
        elif what == "MEASUREMENTS":
            self.on_database()
            if self.accept("WITH"):
                self.expect("MEASUREMENT")
                operator = self.next()
                if operator.text not in ("=", "=~"):
                    raise self.fail(operator, "= or =~")
                self.source(regex_ok=operator.text == "=~")
            self.where_limit_offset()
        elif what == "MEASUREMENT":
            self.cardinality()
        elif what == "TAG":
            kind = self.next()
            if kind.text == "KEYS":
                self.on_database()
                self.from_where_limit_offset()
            elif kind.text == "KEY":
                self.cardinality()
            elif kind.text == "VALUES":
                if self.accept("CARDINALITY") or (self.accept("EXACT") and self.expect("CARDINALITY")):
                    self.on_database()
                    self.from_where_limit_offset(with_key=True)
                    return
                self.on_database()
                self.from_where_limit_offset(with_key=True)
            else:
                raise self.fail(kind, "KEYS, VALUES or KEY")
        elif what == "FIELD":
            kind = self.next()
            if kind.text == "KEYS":
                self.on_database()
                self.from_where_limit_offset()
            elif kind.text == "KEY":
                self.cardinality()
            else:
                raise self.fail(kind, "KEYS or KEY")
        elif what == "SERIES":
            if self.accept("CARDINALITY") or (self.accept("EXACT") and self.expect("CARDINALITY")):
                pass
            self.on_database()
            self.from_where_limit_offset()
        else:
            raise self.fail(token, "DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, SERIES or RETENTION")

    def cardinality(self) -> None:
        self.accept("EXACT")
        self.expect("CARDINALITY")
        self.on_database()
        self.from_where_limit_offset()

    def on_database(self) -> None:
        if self.accept("ON"):
            self.identifier()

    def from_where_limit_offset(self, with_key: bool = False) -> None:
        if self.accept("FROM"):
            self.sources()
        if with_key:
            self.expect("WITH")
            self.expect("KEY")
            operator = self.next()
            if operator.text == "IN":
                self.expect("(")
                self.identifier()
                while self.accept(","):
                    self.identifier()
                self.expect(")")
            elif operator.text in ("=", "!="):
                self.identifier()
            elif operator.text in ("=~", "!~"):
                if self.next(regex=True).kind != "regex":
                    raise InfluxQLSyntaxError("expected regex", operator.start)
            else:
                raise self.fail(operator, "=, !=, =~, !~ or IN")
        self.where_limit_offset()

    def where_limit_offset(self) -> None:
        if self.accept("WHERE"):
            self.expression()
        for keyword in ("LIMIT", "OFFSET"):
            if self.accept(keyword):
                self.integer()

    # -- expressions --------------------------------------------------------------------------
    def expression(self, star_ok: bool = False, min_precedence: int = 1) -> Expression:
        left = self.unary(star_ok)
        while True:
            token = self.peek()
            precedence = PRECEDENCE.get(token.text) if token.kind in ("op", "keyword") else None
            if precedence is None or precedence < min_precedence:
                return left
            self.next()
            right: Expression
            if token.text in ("=~", "!~"):
                right = self.next(regex=True)
                if right.kind != "regex":
                    raise self.fail(right, "regex")
            else:
                right = self.expression(min_precedence=precedence + 1)
            left = (token.text, left, right)

    def unary(self, star_ok: bool = False) -> Expression:
        token = self.next()
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.kind == "op" and token.text == "*" and star_ok:
            if self.accept("::"):
                self.cast_type()
            return token
        if token.kind == "op" and token.text in ("-", "+"):
            operand = self.next()
            if operand.kind not in ("integer", "number", "duration", "ident") and operand.text != "(":
                raise self.fail(operand, "identifier, number or duration")
            if operand.text == "(":
                self.pos = operand.start
                return self.unary()
            return operand
        if token.kind == "ident":
            after = self.peek()
            if after.kind == "op" and after.text == "(" and not token.text.startswith('"'):
                return self.call(token)
            if self.accept("::"):
                self.cast_type()
            return token
        if token.kind in ("string", "integer", "number", "duration"):
            return token
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            return token
        if token.kind == "keyword" and token.text == "DISTINCT":  # `count(DISTINCT value)`
            return _Call("distinct", (self.identifier(),))
        raise self.fail(token, "identifier, string, number, bool")

    def call(self, name: Token) -> _Call:
        self.expect("(")
        arguments: list[Expression] = []
        if not self.accept(")"):
            while True:
                token = self.peek(regex=True)
                if token.kind == "regex":
                    arguments.append(self.next(regex=True))
                else:
                    arguments.append(self.expression(star_ok=True))
                if self.accept(")"):
                    break
                self.expect(",")
        function = name.text.lower()
        if function not in FUNCTIONS:
            raise InfluxQLSyntaxError(f"undefined function {name.text}()", name.start)
        least, most = FUNCTIONS[function]
        if len(arguments) < least or (most is not None and len(arguments) > most):
            expected = str(least) if least == most else f"{least} to {most}" if most else f"at least {least}"
            raise InfluxQLSyntaxError(
                f"invalid number of arguments for {function}, expected {expected}, got {len(arguments)}", name.start
            )
        return _Call(function, tuple(arguments))


# -- Grafana substitution -------------------------------------------------------------------------
_REGEX_AFTER = re.compile(r"(=~|!~|\bfrom|,|\()\s*$", re.IGNORECASE)
_COUNT_BEFORE = re.compile(r"\b(limit|offset|slimit|soffset)\s*$", re.IGNORECASE)
_TIME_CALL_BEFORE = re.compile(r"\btime\s*\(\s*$", re.IGNORECASE)


def _value_for(text: str, spans: list[tuple[int, int, str]], ref: VariableRef) -> str:
    if span_containing(spans, ref.start):
        return "x"
    if ref.name in ("timeFilter", "__timeFilter"):
        return TIME_FILTER
    if ref.number_value is not None:
        return ref.number_value
    before = text[: ref.start]
    if ref.is_duration_macro or _TIME_CALL_BEFORE.search(before):
        return INTERVAL
    if _COUNT_BEFORE.search(before):
        return "1"
    return "x"


def substitute_influxql(query: str) -> Substitution:
    """The query with Grafana variables/macros replaced by values InfluxQL accepts at their positions."""
    spans = string_and_regex_spans(
        query, "'\"", regex_allowed=lambda before: bool(_REGEX_AFTER.search(before)), line_comment="--"
    )
    return substitute(query, lambda ref: _value_for(query, spans, ref))


def check_influxql_query(query: str) -> list[QueryProblem]:
    """Problems in one InfluxQL query as Grafana stores it (offline); empty when valid."""
    substitution = substitute_influxql(query)
    try:
        _Parser(substitution.text).statements()
    except InfluxQLSyntaxError as error:
        line, column = position_of(query, substitution.original_offset(error.offset))
        return [QueryProblem(LANGUAGE, query, error.message, line, column)]
    return []


def check_influxql(queries: Sequence[str]) -> list[list[QueryProblem]]:
    """Check InfluxQL queries offline (structural parser, see module docs); one list per query."""
    return [check_influxql_query(query) for query in queries]


# -- live check -------------------------------------------------------------------------------------
_INFLUX_POSITION = re.compile(r"^(?:error parsing query: )?(.*?)(?: at line (\d+), char (\d+))?$", re.DOTALL)
_READ_ONLY_START = re.compile(r"^\s*(SELECT|SHOW)\b", re.IGNORECASE)


def _refuse_writes(text: str) -> str | None:
    """Why a substituted query must not be sent to a live server (it could write or run more statements)."""
    if not _READ_ONLY_START.match(text):
        return "only SELECT and SHOW statements are checked live"
    position, found_into = 0, False
    try:
        while True:
            token = scan(text, position)
            if token.kind == "eof":
                break
            if token.kind == "op" and token.text == ";" and scan(text, token.start + 1).kind != "eof":
                return "only one statement per query is checked live"
            found_into = found_into or (token.kind == "keyword" and token.text in ("INTO", "DROP", "DELETE"))
            position = token.start + len(token.text)
    except InfluxQLSyntaxError:
        return None  # unparseable: safe to send, InfluxDB will report the parse error
    return "SELECT ... INTO writes data: not checked live" if found_into else None


def check_influxql_live(queries: Sequence[str], url: str, db: str) -> list[list[QueryProblem]]:
    """Ask a real InfluxDB 1.x at `url` to parse (and compile) each query against database `db`.

    Use an empty, existing database: InfluxDB then reports parse errors and compile errors such as
    `undefined function meen()` without reading data. "database not found" is not reported as a query
    problem. Only single SELECT/SHOW statements without INTO are sent.
    """
    import requests  # only the live check talks to a server; importing it costs offline builds ~0.1 s

    problems = []
    session = requests.Session()
    for query in queries:
        substitution = substitute_influxql(query)
        refusal = _refuse_writes(substitution.text)
        if refusal:
            problems.append([QueryProblem(LANGUAGE, query, refusal)])
            continue
        try:
            response = session.get(f"{url.rstrip('/')}/query", params={"db": db, "q": substitution.text}, timeout=30)
            answer = response.json()
        except (requests.RequestException, ValueError) as error:
            raise OperationError(f"InfluxDB at {url} did not answer the query check: {error}") from error
        problems.append(_problems_from_answer(query, substitution, answer))
    return problems


def _problems_from_answer(query: str, substitution: Substitution, answer: dict[str, Any]) -> list[QueryProblem]:
    errors = [answer["error"]] if "error" in answer else []
    errors += [r["error"] for r in answer.get("results", []) if "error" in r and not r["error"].startswith("database not found")]
    problems = []
    for error in errors:
        match = _INFLUX_POSITION.match(" ".join(error.split()))
        assert match is not None  # every part of the pattern is optional
        message, line, char = match.group(1), match.group(2), match.group(3)
        if line and char:
            offset = _offset_from_influx(substitution.text, int(line), int(char))
            problems.append(QueryProblem(LANGUAGE, query, message, *position_of(query, substitution.original_offset(offset))))
        else:
            problems.append(QueryProblem(LANGUAGE, query, message))
    return problems


def _offset_from_influx(text: str, line: int, char: int) -> int:
    """InfluxDB reports 1-based line and 1-based char within the line."""
    lines = text.split("\n")
    line = min(max(line, 1), len(lines))
    return min(sum(len(previous) + 1 for previous in lines[: line - 1]) + char - 1, len(text))

