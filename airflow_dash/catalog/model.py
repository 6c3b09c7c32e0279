"""The metric catalog's vocabulary: what a panel shows (a `Signal`) and what it is called on each stack.

A signal is defined once per *stack*, not per backend:
- `prometheus`: a function building a PromQL expression from a `PromScope` (node_exporter, cAdvisor and our
  statsd_exporter mapping names);
- `telegraf`: a `TelegrafSeries` (measurement, field, tags). Telegraf writes the same names to InfluxDB 1.x
  and 2.x, so one definition renders to both InfluxQL and Flux;
- `flux` / `influxql` (optional): a custom query for one InfluxDB backend, overriding `telegraf` there: a
  function building a Flux / InfluxQL query from a `FluxScope` / `InfluxQLScope` (which carry the dashboard's
  filters), a fixed builder query, or hand-written text (`flux.raw(...)`, `influxql.raw(...)`).
Every language also takes a raw query (`promql.raw(...)`): used verbatim, checked offline like the others,
and flagged by `airflow-dash lint` (AD103).
A stack that cannot express a signal holds `Unsupported(reason)`; the panel is then left out for that
backend and the reason is shown by `airflow-dash list --verbose`.

>>> from airflow_dash.query import promql as P
>>> uptime = Signal(key="team.uptime", title="Uptime", unit="s", description="Seconds since boot.",
...                 prometheus=P.raw("time() - node_boot_time_seconds"),
...                 telegraf=TelegrafSeries("system", "uptime", kind=GAUGE, aggregate="last"))
>>> uptime.definition("influxql") is uptime.telegraf, uptime.definition("prometheus").language
(True, 'promql')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Union

from airflow_dash.frozen import FrozenDict, freeze
from airflow_dash.query import flux, influxql, promql
from airflow_dash.query.raw import RawQuery
from airflow_dash.query.values import Affine, MatchValue, Regex


@dataclass(frozen=True)
class Dimension:
    """Something series are split or filtered by, with its name on each stack.

    `prometheus_values_from` / `telegraf_values_from` name the metric / measurement a dashboard variable lists
    the values from (e.g. `node_uname_info` / `system` for hosts).

    >>> queue = Dimension("queue", "Queue", prometheus_label="queue", telegraf_tag="queue")
    >>> queue.prometheus_label, queue.telegraf_tag
    ('queue', 'queue')
    """

    name: str
    title: str
    prometheus_label: str
    telegraf_tag: str
    prometheus_values_from: str | None = None
    telegraf_values_from: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """A stack cannot show this signal; `reason` says why, for `list --verbose`.

    >>> Signal(key="x.y", title="Y", unit="short", description="Only on Prometheus.",
    ...        prometheus=lambda s: s.metric("y"), telegraf=Unsupported("Telegraf has no y")).telegraf.reason
    'Telegraf has no y'
    """

    reason: str


@dataclass(frozen=True)
class PromScope:
    """What a Prometheus definition may use: selectors pre-filtered by the dashboard's variables.

    >>> from airflow_dash.query.values import Variable
    >>> scope = PromScope({"instance": Variable("host")}, ("instance",))
    >>> str(scope.rate_sum(scope.metric("node_network_receive_bytes_total", device="eth0")))
    'sum by (instance) (rate(node_network_receive_bytes_total{device="eth0", instance=~"${host}"}[$__rate_interval]))'
    """

    filters: Mapping[str, MatchValue]  # prometheus label -> value (usually a Variable)
    by: tuple[str, ...]  # prometheus labels the series are split by

    def metric(self, name: str, /, **labels: MatchValue | Iterable[str]) -> promql.Selector:
        """`name{labels, <dashboard filters>}`: filters come from the dashboard's bound variables (a list of str
        matches any of them, as in `promql.metric`)."""
        selector = promql.metric(name, **labels)
        extra = {label: value for label, value in self.filters.items() if label not in labels}
        return selector.where(**extra)

    def rate_sum(self, selector: promql.Selector, scale: float = 1.0) -> promql.Expr:
        """Per-second rate of a counter, summed per series of the signal (`by` its group-by labels)."""
        expr: promql.Expr = promql.sum(promql.rate(selector)).by(*self.by)
        return expr if scale == 1.0 else expr * scale


PromDefinition = Callable[[PromScope], Union[promql.Expr, RawQuery, str]]


@dataclass(frozen=True)
class FluxScope:
    """What a custom Flux definition may use: the dashboard's filters as Telegraf tags, and the group-by tags.

    >>> scope = FluxScope({"host": "web-1"}, ("host",))
    >>> q = scope.source("cpu", "usage_idle", cpu="cpu-total").aggregate_window("mean")
    >>> 'r.host == "web-1"' in str(q)
    True
    """

    filters: Mapping[str, MatchValue]  # telegraf tag -> value (usually a Variable)
    by: tuple[str, ...]  # telegraf tags the series are split by

    def source(
        self,
        measurement: str,
        field: str | Iterable[str] | Regex | None = None,
        *,
        exclude: dict[str, MatchValue | Iterable[str]] | None = None,
        **tags: MatchValue | Iterable[str],
    ) -> flux.FluxQuery:
        """`from(bucket: v.defaultBucket) |> range(...) |> filter(...)`, with the dashboard's filters added."""
        extra = {tag: value for tag, value in self.filters.items() if tag not in tags}
        fields = field if field is None or isinstance(field, (str, Regex)) else tuple(field)
        return flux.from_bucket().range().filter(measurement, fields, exclude=exclude, **tags, **extra)

    def group(self, query: flux.FluxQuery) -> flux.FluxQuery:
        """`query |> group(columns: <the signal's group-by tags>)`."""
        return query.group(list(self.by))


@dataclass(frozen=True)
class InfluxQLScope:
    """What a custom InfluxQL definition may use: the dashboard's filters as Telegraf tags, and the group-by tags.

    >>> scope = InfluxQLScope({"host": "web-1"}, ("host",))
    >>> print(scope.select(influxql.mean("usage_idle"), measurement="cpu"))
    SELECT mean("usage_idle") FROM "cpu" WHERE "host" = 'web-1' AND $timeFilter GROUP BY time($__interval), "host" fill(null)
    """

    filters: Mapping[str, MatchValue]
    by: tuple[str, ...]

    def select(self, *fields: influxql.FieldExpr | tuple[influxql.FieldExpr, str], measurement: str) -> influxql.Select:
        """`SELECT fields FROM measurement WHERE <dashboard filters> AND $timeFilter GROUP BY time, <by>`."""
        return self.filtered(influxql.select(*fields).from_(measurement))

    def filtered(self, query: influxql.Select) -> influxql.Select:
        """`query` with the dashboard's filters (tags it does not already test) and the group-by tags added."""
        tested = {condition.tag for condition in query.conditions}
        extra = {tag: value for tag, value in self.filters.items() if tag not in tested}
        return query.where(**extra).group_by(*(t for t in self.by if t not in query.group_by_tags))


FluxDefinition = Callable[[FluxScope], Union[flux.FluxQuery, RawQuery]]
InfluxQLDefinition = Callable[[InfluxQLScope], Union[influxql.Select, RawQuery]]

# How a Telegraf field behaves over time, which decides the query on both InfluxDB backends.
GAUGE = "gauge"  # a level: aggregate per window (mean/max/last)
COUNTER = "counter"  # ever-growing (net bytes, disk ops): non-negative per-second derivative
DELTA = "delta"  # StatsD counter flushed per interval (Telegraf delete_counters): sum per window, per second
KINDS = frozenset({GAUGE, COUNTER, DELTA})


@dataclass(frozen=True)
class TelegrafSeries:
    """One field of one Telegraf measurement, as InfluxDB stores it (1.x and 2.x alike).

    `aggregate` combines values per window: for gauges over each series' points (mean/max/last...); for
    counters (`kind=COUNTER`) over the per-second rates of the series merged into one group-by series:
    "mean" (the default) or "sum" (e.g. bytes/s summed over a host's interfaces), or "max". Deltas
    (`kind=DELTA`) are counts, always summed.

    >>> TelegrafSeries("net", "bytes_recv", kind=COUNTER, aggregate="sum").aggregate
    'sum'
    """

    measurement: str
    field: str
    kind: str = GAUGE
    aggregate: str = "mean"
    # Read-only (FrozenDict) once constructed, so a series (and the signals and panels holding it) hashes by value
    where: Mapping[str, MatchValue | tuple[str, ...]] = dataclasses.field(default_factory=FrozenDict)
    exclude: Mapping[str, MatchValue | tuple[str, ...]] = dataclasses.field(default_factory=FrozenDict)  # NOT
    transform: Affine = Affine()
    divide_by: str | None = None  # another field of the same measurement: show field / divide_by (gauges)

    def __post_init__(self) -> None:
        for name in ("where", "exclude"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise TypeError(f"Telegraf series {self.measurement}.{self.field}: {name} must be a dict, got {value!r:.60}")
            object.__setattr__(self, name, freeze(value))
        if self.kind not in KINDS:
            raise ValueError(f"unknown Telegraf series kind {self.kind!r}")
        if self.divide_by is not None and self.kind != GAUGE:
            raise ValueError("divide_by applies to gauge fields (a ratio of two levels)")
        allowed = COUNTER_AGGREGATES if self.kind == COUNTER else DELTA_AGGREGATES if self.kind == DELTA else GAUGE_AGGREGATES
        if self.aggregate not in allowed:
            raise ValueError(
                f"Telegraf series {self.measurement}.{self.field}: aggregate {self.aggregate!r} for a {self.kind} "
                f"(expected one of {', '.join(sorted(allowed))})"
            )


# Aggregates both InfluxDB languages name the same way (InfluxQL function / Flux aggregateWindow fn).
GAUGE_AGGREGATES = frozenset({"mean", "median", "max", "min", "last", "first", "sum", "count", "spread", "stddev"})
COUNTER_AGGREGATES = frozenset({"mean", "sum", "max"})
DELTA_AGGREGATES = frozenset({"mean", "sum"})  # a delta is a count: summed either way ("mean" kept for old code)

StackDefinition = Union[PromDefinition, TelegrafSeries, Unsupported]
FluxLike = Union[FluxDefinition, flux.FluxQuery, RawQuery, Unsupported]
InfluxQLLike = Union[InfluxQLDefinition, influxql.Select, RawQuery, Unsupported]

NOT_DEFINED_PROMETHEUS = Unsupported("the signal has no Prometheus definition")
NOT_DEFINED_TELEGRAF = Unsupported("the signal has no Telegraf definition")


@dataclass(frozen=True)
class Signal:
    """A quantity a panel shows, defined once per stack.

    `dimensions` are the labels/tags every series of this signal carries (a dashboard variable bound to one of
    them filters the query); `group_by` are those the series are split by (and named after in the legend).
    `flux` / `influxql` override `telegraf` on that backend with a custom query (a function of a
    `FluxScope` / `InfluxQLScope`, a fixed builder query, or `flux.raw(...)` / `influxql.raw(...)`).

    >>> from airflow_dash.query import flux as F, influxql as Q
    >>> load = Signal(
    ...     key="custom.load1", title="Load (1m)", unit="short", description="1-minute load average.",
    ...     prometheus=lambda s: s.metric("node_load1"),
    ...     flux=lambda s: s.source("system", "load1").aggregate_window("mean"),
    ...     influxql=lambda s: s.select(Q.mean("load1"), measurement="system"),
    ... )
    >>> load.definition("flux") is load.flux
    True
    """

    key: str
    title: str
    unit: str
    description: str
    prometheus: PromDefinition | RawQuery | Unsupported = NOT_DEFINED_PROMETHEUS
    telegraf: TelegrafSeries | Unsupported = NOT_DEFINED_TELEGRAF
    dimensions: tuple[Dimension, ...] = ()
    group_by: tuple[Dimension, ...] = ()
    legend: str | None = None  # e.g. "{host} {device}" (dimension names); defaults to the group_by names
    flux: FluxLike | None = None  # custom Flux, overriding `telegraf` on the Flux backend
    influxql: InfluxQLLike | None = None  # custom InfluxQL, overriding `telegraf` on the InfluxQL backend
    caveat: str = ""  # where the stacks cannot show quite the same quantity (shown by `list --verbose`)

    def __post_init__(self) -> None:
        missing = [d.name for d in self.group_by if d not in self.dimensions]
        if missing:
            raise ValueError(f"signal {self.key}: group_by {missing} must also be dimensions")
        for name, value in (("dimensions", self.dimensions), ("group_by", self.group_by)):
            if not isinstance(value, tuple) or not all(isinstance(d, Dimension) for d in value):
                raise TypeError(f"signal {self.key}: {name} must be a tuple of Dimension, got {value!r}")
        _check_definition(self.key, "prometheus", self.prometheus, "promql", (promql.Expr,))
        if not isinstance(self.telegraf, (TelegrafSeries, Unsupported)):
            hint = ""
            if isinstance(self.telegraf, (flux.FluxQuery, influxql.Select, RawQuery)) or callable(self.telegraf):
                hint = "; a custom query goes in flux= or influxql= (one per InfluxDB backend)"
            raise TypeError(
                f"signal {self.key}: telegraf= takes a TelegrafSeries or Unsupported, "
                f"got {type(self.telegraf).__name__}{hint}"
            )
        if self.flux is not None:
            _check_definition(self.key, "flux", self.flux, "flux", (flux.FluxQuery,))
        if self.influxql is not None:
            _check_definition(self.key, "influxql", self.influxql, "influxql", (influxql.Select,))
        defined = [self.prometheus, self.telegraf, self.flux, self.influxql]
        if all(d is None or d in (NOT_DEFINED_PROMETHEUS, NOT_DEFINED_TELEGRAF) for d in defined):
            raise ValueError(f"signal {self.key}: give at least one of prometheus=, telegraf=, flux=, influxql=")

    def definition(self, stack: str) -> StackDefinition | FluxLike | InfluxQLLike:
        """The definition a backend renders: `stack` is "prometheus" or "telegraf", or a backend's
        language ("flux", "influxql"), which falls back to `telegraf` when the signal has no custom query."""
        if stack == "flux" and self.flux is not None:
            return self.flux
        if stack == "influxql" and self.influxql is not None:
            return self.influxql
        if stack in ("flux", "influxql"):
            return self.telegraf
        return {"prometheus": self.prometheus, "telegraf": self.telegraf}[stack]

    def legend_template(self) -> str:
        """The legend with `{dimension}` placeholders: `legend`, else the group-by dimensions' names.

        >>> from airflow_dash.catalog import host
        >>> host.cpu_busy.legend_template()
        '{host}'
        """
        return self.legend if self.legend is not None else " ".join("{" + d.name + "}" for d in self.group_by)


def _check_definition(key: str, slot: str, value: object, language: str, builders: tuple[type, ...]) -> None:
    """One line naming the signal and slot when a definition is of the wrong kind or language."""
    if isinstance(value, Unsupported) or isinstance(value, builders):
        return
    if isinstance(value, RawQuery):
        if value.language != language:
            raise TypeError(f"signal {key}: {slot}= got a raw {value.language} query; use {language}.raw(...)")
        return
    if callable(value) and not isinstance(value, type):
        return
    kinds = f"a function of the scope, a {language} builder query, {language}.raw(...) or Unsupported"
    raise TypeError(f"signal {key}: {slot}= takes {kinds}, got {type(value).__name__} {value!r:.60}")
