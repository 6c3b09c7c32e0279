"""Flux builder (InfluxDB 2.x): an immutable pipeline whose `str()` is the query Grafana runs.

    >>> from airflow_dash.query import flux as F
    >>> q = F.from_bucket().range().filter(measurement="cpu", field="usage_idle", cpu="cpu-total")
    >>> print(q.aggregate_window("mean").map_value(F.Affine(-1, 100)))
    from(bucket: v.defaultBucket)
      |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
      |> filter(fn: (r) => r._measurement == "cpu" and r._field == "usage_idle" and r.cpu == "cpu-total")
      |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)
      |> map(fn: (r) => ({r with _value: 100.0 - float(v: r._value)}))

Grafana's `v` record (`v.timeRangeStart`, `v.timeRangeStop`, `v.windowPeriod`, `v.defaultBucket`) is the
default everywhere; literals go through `airflow_dash.escaping`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence, Union

from airflow_dash import escaping
from airflow_dash.query.raw import RawQuery
from airflow_dash.query.values import Affine, MatchValue, Regex, Variable, number_text

__all__ = [
    "Affine", "Call", "FluxQuery", "Ident", "SchemaQuery", "from_bucket", "tag_values", "measurement_tag_values",
    "predicate", "affine_expression", "raw", "TIME_RANGE_START", "TIME_RANGE_STOP", "WINDOW_PERIOD", "DEFAULT_BUCKET",
]  # fmt: skip


@dataclass(frozen=True)
class Ident:
    """A Flux identifier or member expression used as is (`v.windowPeriod`, `mean`)."""

    text: str

    def __str__(self) -> str:
        return self.text


TIME_RANGE_START = Ident("v.timeRangeStart")
TIME_RANGE_STOP = Ident("v.timeRangeStop")
WINDOW_PERIOD = Ident("v.windowPeriod")
DEFAULT_BUCKET = Ident("v.defaultBucket")

FluxValue = Union[str, int, float, bool, Ident, Sequence[str]]

_AGGREGATES = frozenset(
    {"mean", "sum", "max", "min", "last", "first", "count", "median", "spread", "stddev", "integral"}
)


def _value(value: FluxValue) -> str:
    if isinstance(value, Ident):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value) if isinstance(value, int) else _float(value)
    if isinstance(value, str):
        return escaping.flux_string(value)
    return "[" + ", ".join(escaping.flux_string(v) for v in value) + "]"


def _float(value: float) -> str:
    text = number_text(value)
    return text if any(c in text for c in ".eEn") else text + ".0"


# --- predicates ---------------------------------------------------------------------------------------------


def _condition(column: str, value: MatchValue | tuple[str, ...], negate: bool = False) -> str:
    """One comparison of a row column; str literal → ==, Variable/Regex/alternatives → regex match."""
    target = escaping.flux_column(column)
    if isinstance(value, Variable):
        op, rhs = "=~", escaping.flux_regex(escaping.influx_variable_regex(value.name))
        if not value.multi:
            op, rhs = "==", '"' + escaping.grafana_variable(value.name) + '"'
    elif isinstance(value, Regex):
        op, rhs = "=~", escaping.flux_regex(escaping.anchored(value.pattern))  # whole value, as in PromQL
    elif isinstance(value, tuple):
        pattern = "|".join(escaping.regex_escape(v) for v in value)
        op, rhs = "=~", escaping.flux_regex(escaping.anchored(pattern))
    else:
        op, rhs = "==", escaping.flux_string(value)
    if negate:
        op = {"==": "!=", "=~": "!~"}[op]
    return f"{target} {op} {rhs}"


def _normalize(value: MatchValue | Iterable[str]) -> MatchValue | tuple[str, ...]:
    if isinstance(value, (str, Variable, Regex)):
        return value
    return tuple(value)


def predicate(
    measurement: str | Sequence[str] | None = None,
    field: str | Sequence[str] | Regex | None = None,
    tags: Mapping[str, MatchValue | Iterable[str]] | None = None,
    exclude: Mapping[str, MatchValue | Iterable[str]] | None = None,
) -> str:
    """The body of a `filter(fn: (r) => ...)` joining all conditions with `and`."""
    parts = []
    if measurement is not None:
        parts.append(_condition("_measurement", _normalize(measurement)))
    if field is not None:
        parts.append(_condition("_field", _normalize(field)))
    for tag, value in (tags or {}).items():
        parts.append(_condition(tag, _normalize(value)))
    for tag, value in (exclude or {}).items():
        parts.append(_condition(tag, _normalize(value), negate=True))
    if not parts:
        raise ValueError("a filter needs at least one condition")
    return " and ".join(parts)


# --- the pipeline -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One pipe stage: `name(arg: value, ...)`; values are already Flux text."""

    name: str
    args: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        return f"{self.name}(" + ", ".join(f"{k}: {v}" for k, v in self.args) + ")"


def _call(function: str, /, **args: FluxValue | None) -> Call:
    return Call(function, tuple((k.rstrip("_"), _value(v)) for k, v in args.items() if v is not None))


@dataclass(frozen=True)
class FluxQuery:
    """A `from() |> ...` pipeline. Every method returns a new query."""

    source: Call
    stages: tuple[Call, ...] = ()
    imports: tuple[str, ...] = ()

    def pipe(self, stage: Call) -> FluxQuery:
        return replace(self, stages=self.stages + (stage,))

    def with_import(self, package: str) -> FluxQuery:
        if package in self.imports:
            return self
        return replace(self, imports=tuple(sorted(self.imports + (package,))))

    def range(self, start: FluxValue = TIME_RANGE_START, stop: FluxValue = TIME_RANGE_STOP) -> FluxQuery:
        return self.pipe(_call("range", start=start, stop=stop))

    def filter(
        self,
        measurement: str | Sequence[str] | None = None,
        field: str | Sequence[str] | Regex | None = None,
        exclude: dict[str, MatchValue | Iterable[str]] | None = None,
        **tags: MatchValue | Iterable[str],
    ) -> FluxQuery:
        """Keep rows matching the measurement, field(s) and tags (str literal, Variable, Regex or list)."""
        body = predicate(measurement, field, tags, exclude)
        return self.pipe(Call("filter", (("fn", f"(r) => {body}"),)))

    def aggregate_window(
        self, fn: str = "mean", every: FluxValue = WINDOW_PERIOD, create_empty: bool = False
    ) -> FluxQuery:
        if fn not in _AGGREGATES:
            raise ValueError(f"unknown Flux aggregate {fn!r}")
        return self.pipe(_call("aggregateWindow", every=every, fn=Ident(fn), createEmpty=create_empty))

    def derivative(self, unit: str = "1s", non_negative: bool = True) -> FluxQuery:
        return self.pipe(_call("derivative", unit=Ident(unit), nonNegative=non_negative))

    def difference(self, non_negative: bool = False) -> FluxQuery:
        return self.pipe(_call("difference", nonNegative=non_negative))

    def group(self, columns: Sequence[str] = (), mode: str = "by") -> FluxQuery:
        if mode not in ("by", "except"):
            raise ValueError("group mode is 'by' or 'except'")
        return self.pipe(_call("group", columns=list(columns), mode=mode))

    def keep(self, columns: Sequence[str]) -> FluxQuery:
        return self.pipe(_call("keep", columns=list(columns)))

    def drop(self, columns: Sequence[str]) -> FluxQuery:
        return self.pipe(_call("drop", columns=list(columns)))

    def pivot(
        self, row_key: Sequence[str] = ("_time",), column_key: Sequence[str] = ("_field",), value_column: str = "_value"
    ) -> FluxQuery:
        return self.pipe(_call("pivot", rowKey=list(row_key), columnKey=list(column_key), valueColumn=value_column))

    def map_value(self, transform: Affine | str) -> FluxQuery:
        """Replace `_value`: an `Affine` conversion, or a Flux expression over `r` given as text."""
        if isinstance(transform, Affine):
            if transform.is_identity:
                return self
            expression = affine_expression("float(v: r._value)", transform)
        else:
            expression = transform
        return self.pipe(Call("map", (("fn", f"(r) => ({{r with _value: {expression}}})"),)))

    def aggregate(self, fn: str) -> FluxQuery:
        """A whole-table aggregate such as `sum()`, `mean()` or `last()`."""
        if fn not in _AGGREGATES:
            raise ValueError(f"unknown Flux aggregate {fn!r}")
        return self.pipe(Call(fn))

    def sum(self) -> FluxQuery:
        return self.aggregate("sum")

    def mean(self) -> FluxQuery:
        return self.aggregate("mean")

    def last(self) -> FluxQuery:
        return self.aggregate("last")

    def sort(self, columns: Sequence[str] = ("_value",), desc: bool = False) -> FluxQuery:
        """`sort(columns: [...], desc: ...)`."""
        return self.pipe(_call("sort", columns=list(columns), desc=desc))

    def limit(self, n: int) -> FluxQuery:
        """`limit(n: n)`: the first `n` rows of each table."""
        return self.pipe(_call("limit", n=int(n)))

    def fill_previous(self) -> FluxQuery:
        return self.pipe(_call("fill", usePrevious=True))

    def fill_value(self, value: float) -> FluxQuery:
        """Null `_value`s (empty windows of `aggregate_window(create_empty=True)`) become `value`."""
        return self.pipe(Call("fill", (("value", repr(float(value))),)))

    def to_float(self) -> FluxQuery:
        """`_value` as float, so that sums and fills do not depend on how the writer typed the field."""
        return self.pipe(Call("toFloat", ()))

    def rename(self, columns: dict[str, str]) -> FluxQuery:
        mapping = "{" + ", ".join(f"{escaping.flux_string(k)}: {escaping.flux_string(v)}" for k, v in columns.items()) + "}"
        return self.pipe(Call("rename", (("columns", mapping),)))

    def set(self, key: str, value: str) -> FluxQuery:
        return self.pipe(_call("set", key=key, value=value))

    def yield_(self, name: str) -> FluxQuery:
        return self.pipe(_call("yield", name=name))

    def render(self) -> str:
        lines = [f"import {escaping.flux_string(p)}" for p in self.imports]
        if lines:
            lines.append("")
        lines.append(self.source.render())
        lines.extend(f"  |> {stage.render()}" for stage in self.stages)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def affine_expression(operand: str, transform: Affine) -> str:
    """Flux text for `multiply * operand + add`, written the way a person would."""
    m, a = transform.multiply, transform.add
    if m == -1.0 and a != 0.0:
        return f"{_float(a)} - {operand}"
    text = operand if m == 1.0 else f"{operand} * {_float(m)}"
    if a > 0:
        text += f" + {_float(a)}"
    elif a < 0:
        text += f" - {_float(-a)}"
    return text


def from_bucket(bucket: str | Ident = DEFAULT_BUCKET) -> FluxQuery:
    """`from(bucket: v.defaultBucket)` (Grafana's configured bucket) or a named bucket."""
    return FluxQuery(_call("from", bucket=bucket))


# --- variable queries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaQuery:
    """`schema.tagValues(...)`-style variable query (imports influxdata/influxdb/schema)."""

    call: Call

    def render(self) -> str:
        return 'import "influxdata/influxdb/schema"\n\nschema.' + self.call.render()

    def __str__(self) -> str:
        return self.render()


def tag_values(
    tag: str,
    measurement: str | None = None,
    tags: Mapping[str, MatchValue | Iterable[str]] | None = None,
    bucket: str | Ident = DEFAULT_BUCKET,
) -> SchemaQuery:
    """Values of `tag` over the dashboard time range, optionally within a measurement and other tag filters."""
    args = [("bucket", _value(bucket)), ("tag", escaping.flux_string(tag))]
    if measurement is not None or tags:
        args.append(("predicate", "(r) => " + predicate(measurement=measurement, tags=tags)))
    args.append(("start", TIME_RANGE_START.text))
    args.append(("stop", TIME_RANGE_STOP.text))
    return SchemaQuery(Call("tagValues", tuple(args)))


def measurement_tag_values(measurement: str, tag: str, bucket: str | Ident = DEFAULT_BUCKET) -> SchemaQuery:
    return SchemaQuery(
        Call(
            "measurementTagValues",
            (("bucket", _value(bucket)), ("measurement", escaping.flux_string(measurement)), ("tag", escaping.flux_string(tag))),
        )
    )


def raw(text: str) -> RawQuery:
    """A Flux query written by hand, used verbatim (not escaped, not filtered by dashboard variables).

    >>> raw('from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart)').language
    'flux'
    """
    return RawQuery(text, "flux")
