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
    """A Flux identifier or member expression used as is (`v.windowPeriod`, `mean`).

    >>> from_bucket().range(start=Ident("v.timeRangeStart")).stages[-1].render()
    'range(start: v.timeRangeStart, stop: v.timeRangeStop)'
    """

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
    """The body of a `filter(fn: (r) => ...)` joining all conditions with `and`.

    >>> predicate("cpu", "usage_idle", {"host": Variable("host")})
    'r._measurement == "cpu" and r._field == "usage_idle" and r.host =~ /^${host:regex}$/'
    """
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
    """One pipe stage: `name(arg: value, ...)`; values are already Flux text (for a stage the builder lacks, with
    `FluxQuery.pipe`).

    >>> Call("timeShift", (("duration", "-1h"),)).render()
    'timeShift(duration: -1h)'
    >>> print(from_bucket().pipe(Call("timeShift", (("duration", "-1h"),))))
    from(bucket: v.defaultBucket)
      |> timeShift(duration: -1h)
    """

    name: str
    args: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        """The stage's Flux text.

        >>> Call("last").render()
        'last()'
        """
        return f"{self.name}(" + ", ".join(f"{k}: {v}" for k, v in self.args) + ")"


def _call(function: str, /, **args: FluxValue | None) -> Call:
    return Call(function, tuple((k.rstrip("_"), _value(v)) for k, v in args.items() if v is not None))


@dataclass(frozen=True)
class FluxQuery:
    """A `from() |> ...` pipeline (start it with `from_bucket`). Every method returns a new query; `str()` is the
    query text.

    >>> print(from_bucket().range().filter(measurement="mem", field="used_percent").last())
    from(bucket: v.defaultBucket)
      |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
      |> filter(fn: (r) => r._measurement == "mem" and r._field == "used_percent")
      |> last()
    """

    source: Call
    stages: tuple[Call, ...] = ()
    imports: tuple[str, ...] = ()

    def pipe(self, stage: Call) -> FluxQuery:
        """Append any stage: `query |> stage`.

        >>> from_bucket().pipe(Call("timeShift", (("duration", "-1h"),))).stages[-1].render()
        'timeShift(duration: -1h)'
        """
        return replace(self, stages=self.stages + (stage,))

    def with_import(self, package: str) -> FluxQuery:
        """Add `import "package"` at the top (once).

        >>> print(from_bucket().with_import("strings"))
        import "strings"
        <BLANKLINE>
        from(bucket: v.defaultBucket)
        """
        if package in self.imports:
            return self
        return replace(self, imports=tuple(sorted(self.imports + (package,))))

    def range(self, start: FluxValue = TIME_RANGE_START, stop: FluxValue = TIME_RANGE_STOP) -> FluxQuery:
        """`range(start:, stop:)`: the dashboard's time range unless told otherwise.

        >>> from_bucket().range().stages[-1].render()
        'range(start: v.timeRangeStart, stop: v.timeRangeStop)'
        """
        return self.pipe(_call("range", start=start, stop=stop))

    def filter(
        self,
        measurement: str | Sequence[str] | None = None,
        field: str | Sequence[str] | Regex | None = None,
        exclude: dict[str, MatchValue | Iterable[str]] | None = None,
        **tags: MatchValue | Iterable[str],
    ) -> FluxQuery:
        """Keep rows matching the measurement, field(s) and tags (str literal, Variable, Regex or list); `exclude`
        takes tags that must not match.

        >>> from_bucket().filter(measurement="cpu", cpu="cpu-total", exclude={"host": ["a"]}).stages[-1].render()
        'filter(fn: (r) => r._measurement == "cpu" and r.cpu == "cpu-total" and r.host !~ /^(?:a)$/)'
        """
        body = predicate(measurement, field, tags, exclude)
        return self.pipe(Call("filter", (("fn", f"(r) => {body}"),)))

    def aggregate_window(
        self, fn: str = "mean", every: FluxValue = WINDOW_PERIOD, create_empty: bool = False
    ) -> FluxQuery:
        """`aggregateWindow(every:, fn:, createEmpty:)`: one value per window (Grafana's `v.windowPeriod`).

        >>> from_bucket().aggregate_window("max").stages[-1].render()
        'aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)'
        """
        if fn not in _AGGREGATES:
            raise ValueError(f"unknown Flux aggregate {fn!r}")
        return self.pipe(_call("aggregateWindow", every=every, fn=Ident(fn), createEmpty=create_empty))

    def derivative(self, unit: str = "1s", non_negative: bool = True) -> FluxQuery:
        """`derivative(unit:, nonNegative:)`: per-`unit` rate of change (counters: non-negative).

        >>> from_bucket().derivative().stages[-1].render()
        'derivative(unit: 1s, nonNegative: true)'
        """
        return self.pipe(_call("derivative", unit=Ident(unit), nonNegative=non_negative))

    def difference(self, non_negative: bool = False) -> FluxQuery:
        """`difference(nonNegative:)`: change between consecutive rows.

        >>> from_bucket().difference(non_negative=True).stages[-1].render()
        'difference(nonNegative: true)'
        """
        return self.pipe(_call("difference", nonNegative=non_negative))

    def group(self, columns: Sequence[str] = (), mode: str = "by") -> FluxQuery:
        """`group(columns:, mode:)`: regroup rows into tables; no columns merges everything into one table.

        >>> from_bucket().group(["host"]).stages[-1].render()
        'group(columns: ["host"], mode: "by")'
        """
        if mode not in ("by", "except"):
            raise ValueError("group mode is 'by' or 'except'")
        return self.pipe(_call("group", columns=list(columns), mode=mode))

    def keep(self, columns: Sequence[str]) -> FluxQuery:
        """`keep(columns:)`: only these columns.

        >>> from_bucket().keep(["_time", "_value"]).stages[-1].render()
        'keep(columns: ["_time", "_value"])'
        """
        return self.pipe(_call("keep", columns=list(columns)))

    def drop(self, columns: Sequence[str]) -> FluxQuery:
        """`drop(columns:)`: remove these columns.

        >>> from_bucket().drop(["_start", "_stop"]).stages[-1].render()
        'drop(columns: ["_start", "_stop"])'
        """
        return self.pipe(_call("drop", columns=list(columns)))

    def pivot(
        self, row_key: Sequence[str] = ("_time",), column_key: Sequence[str] = ("_field",), value_column: str = "_value"
    ) -> FluxQuery:
        """`pivot(rowKey:, columnKey:, valueColumn:)`: one column per field (or per value of `column_key`).

        >>> from_bucket().pivot().stages[-1].render()
        'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
        """
        return self.pipe(_call("pivot", rowKey=list(row_key), columnKey=list(column_key), valueColumn=value_column))

    def map_value(self, transform: Affine | str) -> FluxQuery:
        """Replace `_value`: an `Affine` conversion, or a Flux expression over `r` given as text.

        >>> from_bucket().map_value(Affine(8)).stages[-1].render()
        'map(fn: (r) => ({r with _value: float(v: r._value) * 8.0}))'
        """
        if isinstance(transform, Affine):
            if transform.is_identity:
                return self
            expression = affine_expression("float(v: r._value)", transform)
        else:
            expression = transform
        return self.pipe(Call("map", (("fn", f"(r) => ({{r with _value: {expression}}})"),)))

    def aggregate(self, fn: str) -> FluxQuery:
        """A whole-table aggregate such as `sum()`, `mean()` or `last()`.

        >>> from_bucket().aggregate("max").stages[-1].render()
        'max()'
        """
        if fn not in _AGGREGATES:
            raise ValueError(f"unknown Flux aggregate {fn!r}")
        return self.pipe(Call(fn))

    def sum(self) -> FluxQuery:
        """`sum()` over each table.

        >>> from_bucket().sum().stages[-1].render()
        'sum()'
        """
        return self.aggregate("sum")

    def mean(self) -> FluxQuery:
        """`mean()` over each table.

        >>> from_bucket().mean().stages[-1].render()
        'mean()'
        """
        return self.aggregate("mean")

    def last(self) -> FluxQuery:
        """`last()`: the latest row of each table.

        >>> from_bucket().last().stages[-1].render()
        'last()'
        """
        return self.aggregate("last")

    def sort(self, columns: Sequence[str] = ("_value",), desc: bool = False) -> FluxQuery:
        """`sort(columns: [...], desc: ...)`.

        >>> from_bucket().sort(desc=True).stages[-1].render()
        'sort(columns: ["_value"], desc: true)'
        """
        return self.pipe(_call("sort", columns=list(columns), desc=desc))

    def limit(self, n: int) -> FluxQuery:
        """`limit(n: n)`: the first `n` rows of each table.

        >>> from_bucket().limit(10).stages[-1].render()
        'limit(n: 10)'
        """
        return self.pipe(_call("limit", n=int(n)))

    def fill_previous(self) -> FluxQuery:
        """`fill(usePrevious: true)`: nulls take the previous row's value.

        >>> from_bucket().fill_previous().stages[-1].render()
        'fill(usePrevious: true)'
        """
        return self.pipe(_call("fill", usePrevious=True))

    def fill_value(self, value: float) -> FluxQuery:
        """Null `_value`s (empty windows of `aggregate_window(create_empty=True)`) become `value`.

        >>> from_bucket().fill_value(0).stages[-1].render()
        'fill(value: 0.0)'
        """
        return self.pipe(Call("fill", (("value", repr(float(value))),)))

    def to_float(self) -> FluxQuery:
        """`_value` as float, so that sums and fills do not depend on how the writer typed the field.

        >>> from_bucket().to_float().stages[-1].render()
        'toFloat()'
        """
        return self.pipe(Call("toFloat", ()))

    def rename(self, columns: dict[str, str]) -> FluxQuery:
        """`rename(columns: {...})`.

        >>> from_bucket().rename({"_value": "load"}).stages[-1].render()
        'rename(columns: {"_value": "load"})'
        """
        mapping = "{" + ", ".join(f"{escaping.flux_string(k)}: {escaping.flux_string(v)}" for k, v in columns.items()) + "}"
        return self.pipe(Call("rename", (("columns", mapping),)))

    def set(self, key: str, value: str) -> FluxQuery:
        """`set(key:, value:)`: a column with one value in every row.

        >>> from_bucket().set("source", "telegraf").stages[-1].render()
        'set(key: "source", value: "telegraf")'
        """
        return self.pipe(_call("set", key=key, value=value))

    def yield_(self, name: str) -> FluxQuery:
        """`yield(name:)`: name the result (several results in one query).

        >>> from_bucket().yield_("busy").stages[-1].render()
        'yield(name: "busy")'
        """
        return self.pipe(_call("yield", name=name))

    def render(self) -> str:
        """The query text (what `str()` gives).

        >>> from_bucket().render()
        'from(bucket: v.defaultBucket)'
        """
        lines = [f"import {escaping.flux_string(p)}" for p in self.imports]
        if lines:
            lines.append("")
        lines.append(self.source.render())
        lines.extend(f"  |> {stage.render()}" for stage in self.stages)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def affine_expression(operand: str, transform: Affine) -> str:
    """Flux text for `multiply * operand + add`, written the way a person would.

    >>> affine_expression("r._value", Affine(-1, 100)), affine_expression("r._value", Affine(8))
    ('100.0 - r._value', 'r._value * 8.0')
    """
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
    """`from(bucket: v.defaultBucket)` (Grafana's configured bucket) or a named bucket.

    >>> str(from_bucket()), str(from_bucket("telegraf"))
    ('from(bucket: v.defaultBucket)', 'from(bucket: "telegraf")')
    """
    return FluxQuery(_call("from", bucket=bucket))


# --- variable queries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaQuery:
    """`schema.tagValues(...)`-style variable query (imports influxdata/influxdb/schema).

    >>> print(measurement_tag_values("cpu", "host"))
    import "influxdata/influxdb/schema"
    <BLANKLINE>
    schema.measurementTagValues(bucket: v.defaultBucket, measurement: "cpu", tag: "host")
    """

    call: Call

    def render(self) -> str:
        """The query text (what `str()` gives).

        >>> measurement_tag_values("cpu", "host").render().splitlines()[-1]
        'schema.measurementTagValues(bucket: v.defaultBucket, measurement: "cpu", tag: "host")'
        """
        return 'import "influxdata/influxdb/schema"\n\nschema.' + self.call.render()

    def __str__(self) -> str:
        return self.render()


def tag_values(
    tag: str,
    measurement: str | None = None,
    tags: Mapping[str, MatchValue | Iterable[str]] | None = None,
    bucket: str | Ident = DEFAULT_BUCKET,
) -> SchemaQuery:
    """Values of `tag` over the dashboard time range, optionally within a measurement and other tag filters.

    >>> print(tag_values("host", "system"))
    import "influxdata/influxdb/schema"
    <BLANKLINE>
    schema.tagValues(bucket: v.defaultBucket, tag: "host", predicate: (r) => r._measurement == "system", start: v.timeRangeStart, stop: v.timeRangeStop)
    """
    args = [("bucket", _value(bucket)), ("tag", escaping.flux_string(tag))]
    if measurement is not None or tags:
        args.append(("predicate", "(r) => " + predicate(measurement=measurement, tags=tags)))
    args.append(("start", TIME_RANGE_START.text))
    args.append(("stop", TIME_RANGE_STOP.text))
    return SchemaQuery(Call("tagValues", tuple(args)))


def measurement_tag_values(measurement: str, tag: str, bucket: str | Ident = DEFAULT_BUCKET) -> SchemaQuery:
    """Values of `tag` in one measurement, over all time (`schema.measurementTagValues`).

    >>> measurement_tag_values("cpu", "host").call.render()
    'measurementTagValues(bucket: v.defaultBucket, measurement: "cpu", tag: "host")'
    """
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
