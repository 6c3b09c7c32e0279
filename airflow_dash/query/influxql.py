"""InfluxQL builder (InfluxDB 1.x): immutable SELECT / SHOW statements whose `str()` is the query.

    >>> from airflow_dash.query import influxql as Q
    >>> str(Q.select(Q.mean("usage_idle").apply(Q.Affine(-1, 100))).from_("cpu").where(cpu="cpu-total"))
    'SELECT 100 - mean("usage_idle") FROM "cpu" WHERE "cpu" = \\'cpu-total\\' AND $timeFilter GROUP BY time($__interval) fill(null)'

`$timeFilter` and `GROUP BY time($__interval)` are added by default, as Grafana expects; identifiers,
strings and regexes go through `airflow_dash.escaping`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Union

from airflow_dash import escaping
from airflow_dash.query.raw import RawQuery
from airflow_dash.query.values import INTERVAL, Affine, Duration, DurationLike, MatchValue, Regex, Variable, duration, number_text

__all__ = [
    "ALL_TAGS", "Affine", "Arith", "Field", "FieldExpr", "Function", "Macro", "Number", "Select", "ShowTagValues", "TagCondition",
    "count", "derivative", "difference", "field", "first", "last", "max", "mean", "median", "min",
    "non_negative_derivative", "non_negative_difference", "percentile", "raw", "select", "show_tag_values",
    "spread", "stddev", "sum",
]  # fmt: skip

_ADDITIVE = 1
_MULTIPLICATIVE = 2
_ATOM = 10


class FieldExpr:
    """Something that can stand in a SELECT list: a field, a function call, arithmetic (`+ - * /` with numbers
    and other expressions, parentheses only where needed).

    >>> str(mean("used") / mean("total") * 100)
    'mean("used") / mean("total") * 100'
    """

    @property
    def precedence(self) -> int:
        """How tightly the expression binds (an atom unless overridden): where parentheses are needed."""
        return _ATOM

    def render(self) -> str:  # pragma: no cover - abstract
        """The expression's InfluxQL text (what `str()` gives).

        >>> mean("usage_idle").render()
        'mean("usage_idle")'
        """
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()

    def _arith(self, op: str, other: FieldLike, reflected: bool = False) -> Arith:
        other_expr = _as_field_expr(other)
        return Arith(op, other_expr, self) if reflected else Arith(op, self, other_expr)

    def __add__(self, other: FieldLike) -> Arith:
        return self._arith("+", other)

    def __radd__(self, other: FieldLike) -> Arith:
        return self._arith("+", other, True)

    def __sub__(self, other: FieldLike) -> Arith:
        return self._arith("-", other)

    def __rsub__(self, other: FieldLike) -> Arith:
        return self._arith("-", other, True)

    def __mul__(self, other: FieldLike) -> Arith:
        return self._arith("*", other)

    def __rmul__(self, other: FieldLike) -> Arith:
        return self._arith("*", other, True)

    def __truediv__(self, other: FieldLike) -> Arith:
        return self._arith("/", other)

    def __rtruediv__(self, other: FieldLike) -> Arith:
        return self._arith("/", other, True)

    def apply(self, transform: Affine) -> FieldExpr:
        """`multiply * self + add`, written the way a person would (`100 - mean(...)`)."""
        m, a = transform.multiply, transform.add
        if transform.is_identity:
            return self
        if m == -1.0 and a != 0.0:
            return a - self
        result: FieldExpr = self if m == 1.0 else self * m
        if a > 0:
            result = result + a
        elif a < 0:
            result = result - (-a)
        return result


FieldLike = Union[FieldExpr, int, float]


def _as_field_expr(value: FieldLike) -> FieldExpr:
    if isinstance(value, FieldExpr):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a field expression or a number, got {value!r}")
    return Number(float(value))


@dataclass(frozen=True)
class Number(FieldExpr):
    """A number literal (ints and floats in expressions become one), never in exponent form.

    >>> str(sum("value") * 0.001)
    'sum("value") * 0.001'
    """
    value: float

    def render(self) -> str:
        return number_text(self.value)


@dataclass(frozen=True)
class Macro(FieldExpr):
    """A Grafana macro that stands for a number, e.g. `$__interval_ms`.

    >>> str(sum("count") * 1000 / Macro("$__interval_ms"))
    'sum("count") * 1000 / $__interval_ms'
    """

    text: str

    def __post_init__(self) -> None:
        if self.text not in ("$__interval_ms", "$__range_s", "$__range_ms"):
            raise ValueError(f"not a numeric Grafana macro: {self.text!r}")

    def render(self) -> str:
        return self.text


@dataclass(frozen=True)
class Field(FieldExpr):
    """A field by name, quoted as an identifier (make it with `field`, or give aggregates the name).

    >>> str(Field("bytes recv"))
    '"bytes recv"'
    """
    name: str

    def render(self) -> str:
        return escaping.influxql_identifier(self.name)


@dataclass(frozen=True)
class Function(FieldExpr):
    """A function call `name(args)` over fields, expressions or durations (the helpers here make the common ones).

    >>> str(Function("moving_average", (mean("x"), Number(5))))
    'moving_average(mean("x"), 5)'
    """
    name: str
    args: tuple[FieldExpr | Duration, ...]

    def render(self) -> str:
        return f"{self.name}(" + ", ".join(str(a) if isinstance(a, Duration) else a.render() for a in self.args) + ")"


@dataclass(frozen=True)
class Arith(FieldExpr):
    """`lhs op rhs` between field expressions (made by the arithmetic operators).

    >>> str(Arith("-", Number(100), mean("usage_idle")))
    '100 - mean("usage_idle")'
    """
    op: str
    lhs: FieldExpr
    rhs: FieldExpr

    @property
    def precedence(self) -> int:
        return _ADDITIVE if self.op in "+-" else _MULTIPLICATIVE

    def render(self) -> str:
        left = self.lhs.render()
        if self.lhs.precedence < self.precedence:
            left = f"({left})"
        right = self.rhs.render()
        if self.rhs.precedence <= self.precedence and not isinstance(self.rhs, (Number, Field, Function, Macro)):
            right = f"({right})"
        return f"{left} {self.op} {right}"


def field(name: str) -> Field:
    """A raw field, e.g. for `SELECT "value" ...` without aggregation.

    >>> str(select(field("value")).from_("m").interval(None))
    'SELECT "value" FROM "m" WHERE $timeFilter'
    """
    return Field(name)


def _field_arg(value: str | FieldExpr) -> FieldExpr:
    return Field(value) if isinstance(value, str) else value


def _aggregate(name: str) -> Callable[[str | FieldExpr], Function]:
    def build(value: str | FieldExpr) -> Function:
        return Function(name, (_field_arg(value),))

    build.__name__ = name
    build.__doc__ = f'`{name}("field")`: per window of GROUP BY time.\n\n>>> str({name}("value"))\n\'{name}("value")\'\n'
    return build


mean = _aggregate("mean")
median = _aggregate("median")
sum = _aggregate("sum")  # noqa: A001 - InfluxQL's name
count = _aggregate("count")
max = _aggregate("max")  # noqa: A001
min = _aggregate("min")  # noqa: A001
last = _aggregate("last")
first = _aggregate("first")
spread = _aggregate("spread")
stddev = _aggregate("stddev")
difference = _aggregate("difference")
non_negative_difference = _aggregate("non_negative_difference")


def percentile(value: str | FieldExpr, n: float) -> Function:
    """`percentile("field", n)`: the n-th percentile of the window.

    >>> str(percentile("duration", 95))
    'percentile("duration", 95)'
    """
    return Function("percentile", (_field_arg(value), Number(float(n))))


def non_negative_derivative(value: FieldExpr, unit: DurationLike = "1s") -> Function:
    """Per-`unit` rate of a counter, ignoring resets: the InfluxQL counterpart of PromQL's rate().

    >>> str(non_negative_derivative(last("bytes_recv"), "1s"))
    'non_negative_derivative(last("bytes_recv"), 1s)'
    """
    return Function("non_negative_derivative", (value, duration(unit)))


def derivative(value: FieldExpr, unit: DurationLike = "1s") -> Function:
    """Per-`unit` rate of change (negative when the value falls).

    >>> str(derivative(mean("load1")))
    'derivative(mean("load1"), 1s)'
    """
    return Function("derivative", (value, duration(unit)))


# --- conditions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagCondition:
    """One WHERE condition on a tag: a str compares equal, a Variable, Regex or list matches an anchored regex.

    >>> print(TagCondition("host", Variable("host")).render())
    "host" =~ /^${host:regex}$/
    >>> print(TagCondition("cpu", "cpu-total", negate=True).render())
    "cpu" != 'cpu-total'
    """

    tag: str
    value: MatchValue | tuple[str, ...]
    negate: bool = False

    def render(self) -> str:
        """The condition's InfluxQL text.

        >>> TagCondition("host", ("a", "b")).render()
        '"host" =~ /^(?:a|b)$/'
        """
        key = escaping.influxql_identifier(self.tag)
        value = self.value
        if isinstance(value, Variable):
            if value.multi:
                op, rhs = "=~", escaping.influxql_regex(escaping.influx_variable_regex(value.name))
            else:
                op, rhs = "=", "'" + escaping.grafana_variable(value.name) + "'"
        elif isinstance(value, Regex):
            op, rhs = "=~", escaping.influxql_regex(escaping.anchored(value.pattern))  # whole value, as in PromQL
        elif isinstance(value, tuple) or not escaping.influxql_can_compare_equal(value):
            alternatives = value if isinstance(value, tuple) else (value,)
            pattern = escaping.anchored("|".join(escaping.regex_escape(v) for v in alternatives))
            op, rhs = "=~", escaping.influxql_regex(pattern)
        else:
            op, rhs = "=", escaping.influxql_string(value)
        if self.negate:
            op = {"=": "!=", "=~": "!~"}[op]
        return f"{key} {op} {rhs}"


def _conditions(tags: dict[str, MatchValue | Iterable[str]], negate: bool) -> tuple[TagCondition, ...]:
    result = []
    for tag, value in tags.items():
        if not isinstance(value, (str, Variable, Regex)):
            value = tuple(value)
        result.append(TagCondition(tag, value, negate))
    return tuple(result)


# --- statements ---------------------------------------------------------------------------------------------

_FILLS = frozenset({"null", "none", "previous", "linear", "0"})
ALL_TAGS = "*"
"""`GROUP BY *`: keep every series apart (e.g. inside a subquery, before combining them)."""


@dataclass(frozen=True)
class Select:
    """`SELECT ... FROM ... WHERE ... AND $timeFilter GROUP BY time(...), tags fill(...)` (start it with `select`).

    >>> str(select(max("used_percent")).from_("mem").where(host=Variable("host")).group_by("host"))
    'SELECT max("used_percent") FROM "mem" WHERE "host" =~ /^${host:regex}$/ AND $timeFilter GROUP BY time($__interval), "host" fill(null)'
    """

    fields: tuple[tuple[FieldExpr, str | None], ...]
    measurement: str | Regex | Select | None = None  # a Select is a subquery: FROM (SELECT ...)
    conditions: tuple[TagCondition, ...] = ()
    time_filter: bool = True
    group_by_time: Duration | None = INTERVAL
    group_by_tags: tuple[str, ...] = ()
    fill: str | None = "null"
    order_desc: bool = False
    limit: int | None = None

    def from_(self, measurement: str | Regex | Select) -> Select:
        """`FROM "measurement"`, `FROM /regex/`, or a subquery `FROM (SELECT ...)`."""
        return replace(self, measurement=measurement)

    def where(self, **tags: MatchValue | Iterable[str]) -> Select:
        """Tag conditions: str matches literally, Variable/Regex/list by anchored regex."""
        return replace(self, conditions=self.conditions + _conditions(tags, negate=False))

    def where_not(self, **tags: MatchValue | Iterable[str]) -> Select:
        """Negated tag conditions (`!=`, or `!~` for variables, regexes and lists).

        >>> str(select(mean("x")).from_("m").where_not(device=["lo"]).interval(None))
        'SELECT mean("x") FROM "m" WHERE "device" !~ /^(?:lo)$/ AND $timeFilter'
        """
        return replace(self, conditions=self.conditions + _conditions(tags, negate=True))

    def group_by(self, *tags: str) -> Select:
        """`GROUP BY time(...), "tag"...` (`ALL_TAGS` for `*`).

        >>> str(select(mean("x")).from_("m").group_by("host"))
        'SELECT mean("x") FROM "m" WHERE $timeFilter GROUP BY time($__interval), "host" fill(null)'
        """
        return replace(self, group_by_tags=self.group_by_tags + tuple(tags))

    def interval(self, every: DurationLike | None) -> Select:
        """`GROUP BY time(every)`; None for raw points."""
        return replace(self, group_by_time=duration(every) if every is not None else None)

    def fill_with(self, fill: str | None) -> Select:
        """`fill(...)` for empty windows: null (default), none, previous, linear or 0.

        >>> str(select(sum("x")).from_("m").fill_with("0"))
        'SELECT sum("x") FROM "m" WHERE $timeFilter GROUP BY time($__interval) fill(0)'
        """
        if fill is not None and fill not in _FILLS:
            raise ValueError(f"fill() takes one of {sorted(_FILLS)}")
        return replace(self, fill=fill)

    def without_time_filter(self) -> Select:
        """Drop `$timeFilter` (e.g. the last value ever written).

        >>> str(select(last("x")).from_("m").without_time_filter().interval(None))
        'SELECT last("x") FROM "m"'
        """
        return replace(self, time_filter=False)

    def newest_first(self, limit: int | None = None) -> Select:
        """`ORDER BY time DESC`, optionally `LIMIT n`.

        >>> str(select(field("x")).from_("m").interval(None).newest_first(1))
        'SELECT "x" FROM "m" WHERE $timeFilter ORDER BY time DESC LIMIT 1'
        """
        return replace(self, order_desc=True, limit=limit)

    def render(self) -> str:
        """The query text (what `str()` gives); a SELECT without `from_` is a ValueError.

        >>> select(mean("x")).from_("m").render()
        'SELECT mean("x") FROM "m" WHERE $timeFilter GROUP BY time($__interval) fill(null)'
        """
        if self.measurement is None:
            raise ValueError("SELECT needs a measurement: call .from_()")
        columns = ", ".join(
            expr.render() + (f" AS {escaping.influxql_identifier(alias)}" if alias else "") for expr, alias in self.fields
        )
        if isinstance(self.measurement, Select):
            source = f"({self.measurement.render()})"
        elif isinstance(self.measurement, Regex):
            source = escaping.influxql_regex(escaping.anchored(self.measurement.pattern))
        else:
            source = escaping.influxql_identifier(self.measurement)
        text = f"SELECT {columns} FROM {source}"
        where = [c.render() for c in self.conditions] + (["$timeFilter"] if self.time_filter else [])
        if where:
            text += " WHERE " + " AND ".join(where)
        groups = ([f"time({self.group_by_time})"] if self.group_by_time else []) + [
            t if t == ALL_TAGS else escaping.influxql_identifier(t) for t in self.group_by_tags
        ]
        if groups:
            text += " GROUP BY " + ", ".join(groups)
            if self.fill and self.group_by_time:
                text += f" fill({self.fill})"
        if self.order_desc:
            text += " ORDER BY time DESC"
        if self.limit is not None:
            text += f" LIMIT {int(self.limit)}"
        return text

    def __str__(self) -> str:
        return self.render()


def select(*fields: FieldExpr | tuple[FieldExpr, str]) -> Select:
    """`select(mean("x"), (max("y"), "peak"))`; a tuple gives the column an alias.

    >>> str(select(mean("x"), (max("y"), "peak")).from_("m"))
    'SELECT mean("x"), max("y") AS "peak" FROM "m" WHERE $timeFilter GROUP BY time($__interval) fill(null)'
    """
    normalized = tuple(f if isinstance(f, tuple) else (f, None) for f in fields)
    if not normalized:
        raise ValueError("SELECT needs at least one field")
    return Select(normalized)


@dataclass(frozen=True)
class ShowTagValues:
    """`SHOW TAG VALUES [FROM m] WITH KEY = "tag" [WHERE ...]`: dashboard variable queries.

    >>> str(show_tag_values("host", "system"))
    'SHOW TAG VALUES FROM "system" WITH KEY = "host"'
    """

    key: str
    measurement: str | None = None
    conditions: tuple[TagCondition, ...] = ()

    def where(self, **tags: MatchValue | Iterable[str]) -> ShowTagValues:
        """Only values of series with these tags (chained variables: containers of the chosen hosts).

        >>> str(show_tag_values("container_name", "docker_container_cpu").where(host=Variable("host")))
        'SHOW TAG VALUES FROM "docker_container_cpu" WITH KEY = "container_name" WHERE "host" =~ /^${host:regex}$/'
        """
        return replace(self, conditions=self.conditions + _conditions(tags, negate=False))

    def render(self) -> str:
        """The query text (what `str()` gives).

        >>> show_tag_values("host").render()
        'SHOW TAG VALUES WITH KEY = "host"'
        """
        text = "SHOW TAG VALUES"
        if self.measurement:
            text += f" FROM {escaping.influxql_identifier(self.measurement)}"
        text += f" WITH KEY = {escaping.influxql_identifier(self.key)}"
        if self.conditions:
            text += " WHERE " + " AND ".join(c.render() for c in self.conditions)
        return text

    def __str__(self) -> str:
        return self.render()


def show_tag_values(key: str, measurement: str | None = None) -> ShowTagValues:
    """The values of tag `key` (in `measurement`, if given): what a dashboard variable lists.

    >>> str(show_tag_values("dag_id", "airflow_dagrun_duration_success"))
    'SHOW TAG VALUES FROM "airflow_dagrun_duration_success" WITH KEY = "dag_id"'
    """
    return ShowTagValues(key, measurement)


def raw(text: str) -> RawQuery:
    """An InfluxQL query written by hand, used verbatim (not escaped, not filtered by dashboard variables).

    >>> raw('SELECT mean("value") FROM "my_measurement" WHERE $timeFilter GROUP BY time($__interval)').language
    'influxql'
    """
    return RawQuery(text, "influxql")
