"""PromQL builder: immutable expression objects whose `str()` is the query.

    >>> from airflow_dash.query import promql as P
    >>> busy = 1 - P.avg(P.rate(P.metric("node_cpu_seconds_total", mode="idle"))).by("instance")
    >>> str(busy * 100)
    '(1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))) * 100'

Literals are always escaped (`airflow_dash.escaping`); dashboard variables are `Variable` values, rendered as
regex matchers when they may hold several values. Operators follow PromQL precedence, and parentheses are
added only where the tree needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Protocol, Sequence, Union

from airflow_dash import escaping
from airflow_dash.query.raw import RawQuery
from airflow_dash.query.values import RATE_INTERVAL, Duration, DurationLike, MatchValue, Regex, Variable, duration

# Binding strength, weakest first (Prometheus' parser: or < and/unless < comparison < +,- < *,/,%,atan2 < ^).
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    ">": 3,
    "<": 3,
    ">=": 3,
    "<=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_UNARY = 7
_ATOM = 100
_COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_SET_OPERATORS = frozenset({"and", "or", "unless"})


class Expr:
    """Base of every PromQL expression: `str()` is the query text. Subclasses are frozen dataclasses.

    Arithmetic operators build binary expressions (parentheses only where precedence needs them);
    comparisons and set operators are methods, so `==` still compares the objects themselves.

    >>> str((metric("a") + 1) * 2), str(metric("a").gt(0, bool_=True))
    ('(a + 1) * 2', 'a > bool 0')
    """

    @property
    def precedence(self) -> int:
        """How tightly the expression binds (an atom unless overridden): where parentheses are needed."""
        return _ATOM

    def render(self) -> str:  # pragma: no cover - abstract
        """The query text (what `str()` gives).

        >>> metric("up").render()
        'up'
        """
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()

    # Arithmetic between expressions and numbers.
    def __add__(self, other: ExprLike) -> BinaryOp:
        return binary("+", self, other)

    def __radd__(self, other: ExprLike) -> BinaryOp:
        return binary("+", other, self)

    def __sub__(self, other: ExprLike) -> BinaryOp:
        return binary("-", self, other)

    def __rsub__(self, other: ExprLike) -> BinaryOp:
        return binary("-", other, self)

    def __mul__(self, other: ExprLike) -> BinaryOp:
        return binary("*", self, other)

    def __rmul__(self, other: ExprLike) -> BinaryOp:
        return binary("*", other, self)

    def __truediv__(self, other: ExprLike) -> BinaryOp:
        return binary("/", self, other)

    def __rtruediv__(self, other: ExprLike) -> BinaryOp:
        return binary("/", other, self)

    def __mod__(self, other: ExprLike) -> BinaryOp:
        return binary("%", self, other)

    def __pow__(self, other: ExprLike) -> BinaryOp:
        return binary("^", self, other)

    def __rpow__(self, other: ExprLike) -> BinaryOp:
        return binary("^", other, self)

    def __neg__(self) -> Negation:
        return Negation(self)

    # Comparisons are methods: overloading == would break equality of the objects themselves.
    def gt(self, other: ExprLike, *, bool_: bool = False) -> BinaryOp:
        """`self > other` (`bool_=True`: `> bool`, 0/1 instead of filtering).

        >>> str(metric("up").gt(0))
        'up > 0'
        """
        return binary(">", self, other, bool_=bool_)

    def ge(self, other: ExprLike, *, bool_: bool = False) -> BinaryOp:
        """`self >= other`.

        >>> str(metric("up").ge(1))
        'up >= 1'
        """
        return binary(">=", self, other, bool_=bool_)

    def lt(self, other: ExprLike, *, bool_: bool = False) -> BinaryOp:
        """`self < other`.

        >>> str(metric("up").lt(1, bool_=True))
        'up < bool 1'
        """
        return binary("<", self, other, bool_=bool_)

    def le(self, other: ExprLike, *, bool_: bool = False) -> BinaryOp:
        """`self <= other`.

        >>> str(metric("up").le(0))
        'up <= 0'
        """
        return binary("<=", self, other, bool_=bool_)

    def eq(self, other: ExprLike, *, bool_: bool = False) -> BinaryOp:
        """`self == other` (a method: `==` on the objects compares them).

        >>> str(metric("up").eq(0))
        'up == 0'
        """
        return binary("==", self, other, bool_=bool_)

    def ne(self, other: ExprLike, *, bool_: bool = False) -> BinaryOp:
        """`self != other`.

        >>> str(metric("up").ne(1))
        'up != 1'
        """
        return binary("!=", self, other, bool_=bool_)

    def and_(self, other: ExprLike, *, on: Sequence[str] | None = None, ignoring: Sequence[str] | None = None) -> BinaryOp:
        """`self and other`: series of `self` that `other` also has (optionally `on`/`ignoring` labels).

        >>> str(metric("a").and_(metric("b"), on=["instance"]))
        'a and on (instance) b'
        """
        return binary("and", self, other, on=on, ignoring=ignoring)

    def or_(self, other: ExprLike, *, on: Sequence[str] | None = None, ignoring: Sequence[str] | None = None) -> BinaryOp:
        """`self or other`: `self`, plus the series of `other` it lacks.

        >>> str(metric("a").or_(vector(0)))
        'a or vector(0)'
        """
        return binary("or", self, other, on=on, ignoring=ignoring)

    def unless(
        self, other: ExprLike, *, on: Sequence[str] | None = None, ignoring: Sequence[str] | None = None
    ) -> BinaryOp:
        """`self unless other`: series of `self` that `other` does not have.

        >>> str(metric("a").unless(metric("b")))
        'a unless b'
        """
        return binary("unless", self, other, on=on, ignoring=ignoring)


ExprLike = Union[Expr, int, float]


def _as_expr(value: ExprLike) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a PromQL expression or a number, got {value!r}")
    return Number(float(value))


@dataclass(frozen=True)
class Number(Expr):
    """A number literal; ints and floats in expressions become one.

    >>> str(Number(0.5)), str(metric("x") * 100)
    ('0.5', 'x * 100')
    """
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))

    @property
    def precedence(self) -> int:
        return _UNARY if self.value < 0 else _ATOM

    def render(self) -> str:
        if math.isnan(self.value):
            return "NaN"
        if math.isinf(self.value):
            return "Inf" if self.value > 0 else "-Inf"
        if self.value.is_integer() and abs(self.value) < 1e15:
            return str(int(self.value))
        return repr(self.value)


@dataclass(frozen=True)
class StringLiteral(Expr):
    """A string literal (escaped), e.g. an argument of `label_replace`.

    >>> str(StringLiteral("a b"))
    '"a b"'
    """
    value: str

    def render(self) -> str:
        return escaping.promql_string(self.value)


# --- selectors ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """One label matcher. `negate` turns = into != and =~ into !~.

    >>> Matcher("mode", "idle").render(), Matcher("mode", ("user", "system"), negate=True).render()
    ('mode="idle"', 'mode!~"user|system"')
    """

    label: str
    value: MatchValue | tuple[str, ...]
    negate: bool = False

    def __post_init__(self) -> None:
        escaping.promql_label_name(self.label)

    def render(self) -> str:
        """The matcher's PromQL text.

        >>> Matcher("instance", Variable("host")).render()
        'instance=~"${host}"'
        """
        value = self.value
        if isinstance(value, Variable):
            # Grafana's Prometheus datasource regex-escapes multi-value/All variables for a quoted string.
            op = "=~" if value.multi else "="
            text = escaping.promql_variable_string(value.name)
        elif isinstance(value, Regex):
            op, text = "=~", escaping.promql_string(value.pattern)
        elif isinstance(value, tuple):
            op = "=~"
            text = escaping.promql_string("|".join(escaping.regex_escape(v) for v in value))
        else:
            op, text = "=", escaping.promql_string(value)
        if self.negate:
            op = "!" + op[1:] if op != "=" else "!="
        return f"{self.label}{op}{text}"


def _matchers(labels: dict[str, MatchValue | Iterable[str]], negate: bool) -> tuple[Matcher, ...]:
    result = []
    for label, value in labels.items():
        matched: MatchValue | tuple[str, ...]
        if isinstance(value, (str, Variable, Regex)):
            matched = value
        else:
            matched = tuple(sorted(value)) if isinstance(value, (set, frozenset)) else tuple(value)
        result.append(Matcher(label, matched, negate))
    return tuple(result)


@dataclass(frozen=True)
class Selector(Expr):
    """An instant vector selector: `name{label="value", ...}` (build it with `metric`).

    >>> str(metric("up", job="node").where_not(instance="a:9100").offset("5m"))
    'up{job="node", instance!="a:9100"} offset 5m'
    """

    name: str | None
    matchers: tuple[Matcher, ...] = ()
    offset_by: Duration | None = None

    def __post_init__(self) -> None:
        if self.name is not None:
            escaping.promql_metric_name(self.name)
        if self.name is None and not self.matchers:
            raise ValueError("a selector needs a metric name or at least one matcher")

    def where(self, **labels: MatchValue | Iterable[str]) -> Selector:
        """Add matchers: a str matches literally, a Variable or Regex by regex, a list of str as alternatives.

        >>> str(metric("up").where(job="node", instance=Variable("host")))
        'up{job="node", instance=~"${host}"}'
        """
        return replace(self, matchers=self.matchers + _matchers(labels, negate=False))

    def where_not(self, **labels: MatchValue | Iterable[str]) -> Selector:
        """Add negated matchers (`!=`, or `!~` for variables, regexes and lists).

        >>> str(metric("up").where_not(job=["a", "b"]))
        'up{job!~"a|b"}'
        """
        return replace(self, matchers=self.matchers + _matchers(labels, negate=True))

    def with_matchers(self, matchers: Iterable[Matcher]) -> Selector:
        """Add ready-made `Matcher`s.

        >>> str(metric("up").with_matchers([Matcher("job", "node")]))
        'up{job="node"}'
        """
        return replace(self, matchers=self.matchers + tuple(matchers))

    def offset(self, by: DurationLike) -> Selector:
        """The selector shifted back in time: `up offset 1h`.

        >>> str(metric("up").offset("1h"))
        'up offset 1h'
        """
        return replace(self, offset_by=duration(by))

    def over(self, range_: DurationLike = RATE_INTERVAL) -> RangeSelector:
        """The range vector `selector[range]` (default `$__rate_interval`).

        >>> str(metric("x").over("5m"))
        'x[5m]'
        """
        return RangeSelector(replace(self, offset_by=None), duration(range_), self.offset_by)

    def render(self) -> str:
        inner = ", ".join(m.render() for m in self.matchers)
        text = (self.name or "") + ("{" + inner + "}" if inner or not self.name else "")
        return text + (f" offset {self.offset_by}" if self.offset_by else "")


@dataclass(frozen=True)
class RangeSelector(Expr):
    """A range vector `selector[range]` (build it with `Selector.over`; range functions add it themselves).

    >>> str(metric("x").over("5m").offset("1h"))
    'x[5m] offset 1h'
    """
    selector: Selector
    range: Duration
    offset_by: Duration | None = None

    def offset(self, by: DurationLike) -> RangeSelector:
        """The range shifted back in time.

        >>> str(metric("x").over("5m").offset("1d"))
        'x[5m] offset 1d'
        """
        return replace(self, offset_by=duration(by))

    def render(self) -> str:
        text = f"{self.selector.render()}[{self.range}]"
        return text + (f" offset {self.offset_by}" if self.offset_by else "")


@dataclass(frozen=True)
class Subquery(Expr):
    """`expr[range:step]`: an instant expression evaluated over a range (range functions of a non-selector make one).

    >>> str(max_over_time(rate(metric("x")), "1h"))
    'max_over_time(rate(x[$__rate_interval])[1h:])'
    """
    expr: Expr
    range: Duration
    step: Duration | None = None

    def render(self) -> str:
        step = str(self.step) if self.step else ""
        inner = self.expr.render()
        if self.expr.precedence < _ATOM:
            inner = f"({inner})"
        return f"{inner}[{self.range}:{step}]"


def metric(name: str, /, **labels: MatchValue | Iterable[str]) -> Selector:
    """`metric("up", job="node")` → `up{job="node"}`.

    >>> str(metric("up", job="node"))
    'up{job="node"}'
    """
    return Selector(name).where(**labels)


# --- operators ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VectorMatching:
    """`on(...)`/`ignoring(...)` with optional `group_left(...)`/`group_right(...)` (made by `binary`).

    >>> VectorMatching(ignoring=("cpu",), group_left=()).render()
    'ignoring (cpu) group_left'
    """

    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] | None = None
    group_left: tuple[str, ...] | None = None
    group_right: tuple[str, ...] | None = None

    def render(self) -> str:
        """The modifiers' PromQL text.

        >>> VectorMatching(on=("instance",)).render()
        'on (instance)'
        """
        parts = []
        if self.on is not None:
            parts.append(f"on ({', '.join(self.on)})")
        elif self.ignoring is not None:
            parts.append(f"ignoring ({', '.join(self.ignoring)})")
        if self.group_left is not None:
            parts.append(f"group_left ({', '.join(self.group_left)})" if self.group_left else "group_left")
        if self.group_right is not None:
            parts.append(f"group_right ({', '.join(self.group_right)})" if self.group_right else "group_right")
        return " ".join(parts)


@dataclass(frozen=True)
class BinaryOp(Expr):
    """`lhs op rhs`, with optional `bool` and vector matching (build it with operators, methods or `binary`).

    >>> str(binary("/", metric("a"), metric("b"), on=["instance"], group_left=["job"]))
    'a / on (instance) group_left (job) b'
    """
    op: str
    lhs: Expr
    rhs: Expr
    bool_modifier: bool = False
    matching: VectorMatching | None = None

    @property
    def precedence(self) -> int:
        return _PRECEDENCE[self.op]

    def render(self) -> str:
        mine = self.precedence
        right_associative = self.op == "^"
        left = self.lhs.render()
        if self.lhs.precedence < mine or (right_associative and self.lhs.precedence == mine):
            left = f"({left})"
        right = self.rhs.render()
        if self.rhs.precedence < mine or (not right_associative and self.rhs.precedence == mine):
            right = f"({right})"
        modifiers = []
        if self.bool_modifier:
            modifiers.append("bool")
        if self.matching is not None:
            modifiers.append(self.matching.render())
        op = " ".join([self.op, *modifiers])
        return f"{left} {op} {right}"


def binary(
    op: str,
    lhs: ExprLike,
    rhs: ExprLike,
    *,
    bool_: bool = False,
    on: Sequence[str] | None = None,
    ignoring: Sequence[str] | None = None,
    group_left: Sequence[str] | None = None,
    group_right: Sequence[str] | None = None,
) -> BinaryOp:
    """A binary operation with optional vector matching, e.g. `binary("/", a, b, on=["instance"])`.

    >>> str(binary(">", metric("a"), 0, bool_=True))
    'a > bool 0'
    """
    if op not in _PRECEDENCE:
        raise ValueError(f"unknown PromQL operator {op!r}")
    if bool_ and op not in _COMPARISONS:
        raise ValueError("the bool modifier applies to comparison operators only")
    if on is not None and ignoring is not None:
        raise ValueError("use either on() or ignoring(), not both")
    if (group_left is not None or group_right is not None) and op in _SET_OPERATORS:
        raise ValueError("group modifiers cannot be used with and/or/unless")
    matching = None
    if any(v is not None for v in (on, ignoring, group_left, group_right)):
        for labels in (on, ignoring, group_left, group_right):
            for label in labels or ():
                escaping.promql_label_name(label)
        matching = VectorMatching(
            tuple(on) if on is not None else None,
            tuple(ignoring) if ignoring is not None else None,
            tuple(group_left) if group_left is not None else None,
            tuple(group_right) if group_right is not None else None,
        )
    return BinaryOp(op, _as_expr(lhs), _as_expr(rhs), bool_, matching)


@dataclass(frozen=True)
class Negation(Expr):
    """Unary minus: `-expr`.

    >>> str(-metric("x")), str(-(metric("x") + 1))
    ('-x', '-(x + 1)')
    """
    expr: Expr
    precedence = _UNARY

    def render(self) -> str:
        inner = self.expr.render()
        return f"-({inner})" if self.expr.precedence < _ATOM else f"-{inner}"


# --- functions ----------------------------------------------------------------------------------------------

# Functions whose first argument is a range vector; given a plain selector they get `[$__rate_interval]`.
_RANGE_FUNCTIONS = frozenset(
    {
        "rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets", "predict_linear",
        "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
        "quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time",
        "absent_over_time", "mad_over_time",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Call(Expr):
    """A function call `function(args)` (build it with the functions here or `func`).

    >>> str(Call("time"))
    'time()'
    """
    function: str
    args: tuple[Expr, ...] = ()

    def render(self) -> str:
        return f"{self.function}({', '.join(a.render() for a in self.args)})"


def _range_argument(expr: Expr, range_: DurationLike | None) -> Expr:
    if isinstance(expr, Selector):
        return expr.over(range_ if range_ is not None else RATE_INTERVAL)
    if range_ is not None and not isinstance(expr, (RangeSelector, Subquery)):
        return Subquery(expr, duration(range_))
    if not isinstance(expr, (RangeSelector, Subquery)):
        raise TypeError("expected a selector, a range selector or a subquery")
    return expr


def func(name: str, *args: ExprLike | str) -> Call:
    """Any PromQL function; str arguments become string literals.

    >>> str(func("label_join", metric("up"), "both", ",", "job", "instance"))
    'label_join(up, "both", ",", "job", "instance")'
    """
    rendered = tuple(StringLiteral(a) if isinstance(a, str) else _as_expr(a) for a in args)
    return Call(name, rendered)


class RangeFunction(Protocol):
    """`rate`, `increase`, `avg_over_time`...: `f(expr, range_=None)`; the range defaults to `$__rate_interval`.

    >>> str(increase(metric("x"), "1h"))
    'increase(x[1h])'
    """

    def __call__(self, expr: Expr, range_: DurationLike | None = None) -> Call: ...


def _range_function(name: str) -> RangeFunction:
    def build(expr: Expr, range_: DurationLike | None = None) -> Call:
        return Call(name, (_range_argument(expr, range_),))

    build.__name__ = name
    build.__doc__ = (f"`{name}(v[range])`; a plain selector gets `[$__rate_interval]`.\n\n"
                     f">>> str({name}(metric(\"x\")))\n'{name}(x[$__rate_interval])'\n")
    return build


rate = _range_function("rate")
irate = _range_function("irate")
increase = _range_function("increase")
delta = _range_function("delta")
idelta = _range_function("idelta")
deriv = _range_function("deriv")
changes = _range_function("changes")
resets = _range_function("resets")
avg_over_time = _range_function("avg_over_time")
min_over_time = _range_function("min_over_time")
max_over_time = _range_function("max_over_time")
sum_over_time = _range_function("sum_over_time")
count_over_time = _range_function("count_over_time")
last_over_time = _range_function("last_over_time")
stddev_over_time = _range_function("stddev_over_time")


def quantile_over_time(q: float, expr: Expr, range_: DurationLike | None = None) -> Call:
    """`quantile_over_time(q, v[range])`; a plain selector gets `[$__rate_interval]`.

    >>> str(quantile_over_time(0.95, metric("x"), "1h"))
    'quantile_over_time(0.95, x[1h])'
    """
    return Call("quantile_over_time", (Number(float(q)), _range_argument(expr, range_)))


def predict_linear(expr: Expr, seconds: float, range_: DurationLike | None = None) -> Call:
    """`predict_linear(v[range], seconds)`: where the series will be in `seconds`, by linear regression.

    >>> str(predict_linear(metric("node_filesystem_avail_bytes"), 3600, "6h"))
    'predict_linear(node_filesystem_avail_bytes[6h], 3600)'
    """
    return Call("predict_linear", (_range_argument(expr, range_), Number(float(seconds))))


def histogram_quantile(q: float, buckets: Expr) -> Call:
    """`histogram_quantile(q, buckets)`; `buckets` is usually `sum(rate(x_bucket)).by("le", ...)`.

    >>> str(histogram_quantile(0.95, sum(rate(metric("x_bucket"))).by("le")))
    'histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__rate_interval])))'
    """
    if not 0 <= q <= 1:
        raise ValueError("a quantile is between 0 and 1")
    return Call("histogram_quantile", (Number(float(q)), buckets))


def label_replace(expr: Expr, dst: str, replacement: str, src: str, regex: Regex | str) -> Call:
    """`label_replace(v, dst, replacement, src, regex)`; a str regex is matched literally.

    >>> print(label_replace(metric("up"), "host", "$1", "instance", Regex("(.*):.*")))  # `$` as \\x24: Grafana leaves it
    label_replace(up, "host", "\\x241", "instance", "(.*):.*")
    """
    pattern = regex.pattern if isinstance(regex, Regex) else escaping.regex_escape(regex)
    escaping.promql_label_name(dst)
    escaping.promql_label_name(src)
    return Call(
        "label_replace",
        (expr, StringLiteral(dst), StringLiteral(replacement), StringLiteral(src), StringLiteral(pattern)),
    )


def clamp_min(expr: Expr, minimum: float) -> Call:
    """`clamp_min(v, minimum)`: values below `minimum` become `minimum` (e.g. to divide safely).

    >>> str(clamp_min(metric("x"), 1))
    'clamp_min(x, 1)'
    """
    return Call("clamp_min", (expr, Number(float(minimum))))


def clamp_max(expr: Expr, maximum: float) -> Call:
    """`clamp_max(v, maximum)`: values above `maximum` become `maximum`.

    >>> str(clamp_max(metric("x"), 100))
    'clamp_max(x, 100)'
    """
    return Call("clamp_max", (expr, Number(float(maximum))))


def absent(expr: Expr) -> Call:
    """`absent(v)`: 1 when `v` has no series (alerts on a metric that stopped).

    >>> str(absent(metric("up", job="airflow")))
    'absent(up{job="airflow"})'
    """
    return Call("absent", (expr,))


def time() -> Call:
    """`time()`: the evaluation time in seconds since the epoch.

    >>> str(time() - metric("process_start_time_seconds"))
    'time() - process_start_time_seconds'
    """
    return Call("time")


def vector(value: float) -> Call:
    """`vector(value)`: one series without labels (e.g. `x or vector(0)`).

    >>> str(vector(0))
    'vector(0)'
    """
    return Call("vector", (Number(float(value)),))


def scalar(expr: Expr) -> Call:
    """`scalar(v)`: the value of a one-series vector as a scalar.

    >>> str(scalar(sum(metric("x"))))
    'scalar(sum (x))'
    """
    return Call("scalar", (expr,))


# --- aggregations -------------------------------------------------------------------------------------------

_PARAMETRIC = frozenset({"topk", "bottomk", "quantile", "count_values"})


@dataclass(frozen=True)
class Aggregation(Expr):
    """An aggregation `op by (labels) (expr)` (build it with `sum`, `avg`, `topk`...).

    >>> str(sum(metric("x")).by("instance")), str(avg(metric("x")).without("cpu"))
    ('sum by (instance) (x)', 'avg without (cpu) (x)')
    """
    op: str
    expr: Expr
    param: Expr | None = None
    grouping: tuple[str, ...] = ()
    without_labels: bool = False
    has_grouping: bool = field(default=False)

    def by(self, *labels: str) -> Aggregation:
        """`sum by (labels) (...)`; no labels means one series, written plainly as `sum (...)`.

        >>> str(sum(metric("x")).by("job")), str(sum(metric("x")).by())
        ('sum by (job) (x)', 'sum (x)')
        """
        for label in labels:
            escaping.promql_label_name(label)
        return replace(self, grouping=tuple(labels), without_labels=False, has_grouping=bool(labels))

    def without(self, *labels: str) -> Aggregation:
        """`op without (labels) (...)`: aggregate away these labels, keep the others.

        >>> str(max(metric("x")).without("cpu", "mode"))
        'max without (cpu, mode) (x)'
        """
        for label in labels:
            escaping.promql_label_name(label)
        return replace(self, grouping=tuple(labels), without_labels=True, has_grouping=True)

    def render(self) -> str:
        head = self.op
        if self.has_grouping:
            head += f" {'without' if self.without_labels else 'by'} ({', '.join(self.grouping)})"
        args = ([self.param.render()] if self.param is not None else []) + [self.expr.render()]
        return f"{head} ({', '.join(args)})"


def _aggregation(op: str) -> Callable[[ExprLike], Aggregation]:
    def build(expr: ExprLike) -> Aggregation:
        return Aggregation(op, _as_expr(expr))

    build.__name__ = op
    build.__doc__ = (f"`{op}(expr)`; chain `.by(...)` or `.without(...)`.\n\n"
                     f">>> str({op}(metric(\"x\")).by(\"instance\"))\n'{op} by (instance) (x)'\n")
    return build


sum = _aggregation("sum")  # noqa: A001 - PromQL's name
avg = _aggregation("avg")
max = _aggregation("max")  # noqa: A001
min = _aggregation("min")  # noqa: A001
count = _aggregation("count")
group = _aggregation("group")
stddev = _aggregation("stddev")


def topk(k: int, expr: Expr) -> Aggregation:
    """`topk(k, v)`: the `k` largest series.

    >>> str(topk(5, metric("x")))
    'topk (5, x)'
    """
    return Aggregation("topk", expr, Number(float(k)))


def bottomk(k: int, expr: Expr) -> Aggregation:
    """`bottomk(k, v)`: the `k` smallest series.

    >>> str(bottomk(3, metric("x")).by("job"))
    'bottomk by (job) (3, x)'
    """
    return Aggregation("bottomk", expr, Number(float(k)))


def quantile(q: float, expr: Expr) -> Aggregation:
    """`quantile(q, v)`: the q-quantile across series.

    >>> str(quantile(0.9, metric("x")))
    'quantile (0.9, x)'
    """
    return Aggregation("quantile", expr, Number(float(q)))


def parenthesized(expr: Expr) -> str:
    """Render with parentheses when `expr` is not atomic (for embedding in hand-written text).

    >>> parenthesized(metric("a") + 1), parenthesized(metric("a"))
    ('(a + 1)', 'a')
    """
    text = expr.render()
    return f"({text})" if expr.precedence < _ATOM else text


def raw(text: str) -> RawQuery:
    """A PromQL query written by hand, used verbatim (not escaped, not filtered by dashboard variables).

    >>> str(raw('up{job="$job"}'))
    'up{job="$job"}'
    """
    return RawQuery(text, "promql")
