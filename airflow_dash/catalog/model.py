"""The metric catalog's vocabulary: what a panel shows (a `Signal`) and what it is called on each stack.

A signal is defined once per *stack*, not per backend:
- `prometheus`: a function building a PromQL expression from a `PromScope` (node_exporter, cAdvisor and our
  statsd_exporter mapping names);
- `telegraf`: a `TelegrafSeries` (measurement, field, tags). Telegraf writes the same names to InfluxDB 1.x
  and 2.x, so one definition renders to both InfluxQL and Flux.
A stack that cannot express a signal holds `Unsupported(reason)`; the panel is then left out for that
backend and the reason is shown by `airflow-dash list --verbose`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Union

from airflow_dash.query import promql
from airflow_dash.query.values import Affine, MatchValue


@dataclass(frozen=True)
class Dimension:
    """Something series are split or filtered by, with its name on each stack.

    `prometheus_values_from` / `telegraf_values_from` name the metric / measurement a dashboard variable lists
    the values from (e.g. `node_uname_info` / `system` for hosts).
    """

    name: str
    title: str
    prometheus_label: str
    telegraf_tag: str
    prometheus_values_from: str | None = None
    telegraf_values_from: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """A stack cannot show this signal; `reason` says why, for `list --verbose`."""

    reason: str


@dataclass(frozen=True)
class PromScope:
    """What a Prometheus definition may use: selectors pre-filtered by the dashboard's variables."""

    filters: Mapping[str, MatchValue]  # prometheus label -> value (usually a Variable)
    by: tuple[str, ...]  # prometheus labels the series are split by

    def metric(self, name: str, /, **labels: MatchValue) -> promql.Selector:
        """`name{labels, <dashboard filters>}`: filters come from the dashboard's bound variables."""
        selector = promql.metric(name, **labels)
        extra = {label: value for label, value in self.filters.items() if label not in labels}
        return selector.where(**extra)

    def rate_sum(self, selector: promql.Selector, scale: float = 1.0) -> promql.Expr:
        """Per-second rate of a counter, summed per series of the signal (`by` its group-by labels)."""
        expr = promql.sum(promql.rate(selector)).by(*self.by)
        return expr if scale == 1.0 else expr * scale


PromDefinition = Callable[[PromScope], promql.Expr]

# How a Telegraf field behaves over time, which decides the query on both InfluxDB backends.
GAUGE = "gauge"  # a level: aggregate per window (mean/max/last)
COUNTER = "counter"  # ever-growing (net bytes, disk ops): non-negative per-second derivative
DELTA = "delta"  # StatsD counter flushed per interval (Telegraf delete_counters): sum per window, per second
KINDS = frozenset({GAUGE, COUNTER, DELTA})


@dataclass(frozen=True)
class TelegrafSeries:
    """One field of one Telegraf measurement, as InfluxDB stores it (1.x and 2.x alike)."""

    measurement: str
    field: str
    kind: str = GAUGE
    aggregate: str = "mean"
    where: Mapping[str, MatchValue | tuple[str, ...]] = field(default_factory=dict)
    exclude: Mapping[str, MatchValue | tuple[str, ...]] = field(default_factory=dict)  # tags that must NOT match
    transform: Affine = Affine()
    divide_by: str | None = None  # another field of the same measurement: show field / divide_by (gauges)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown Telegraf series kind {self.kind!r}")
        if self.divide_by is not None and self.kind != GAUGE:
            raise ValueError("divide_by applies to gauge fields (a ratio of two levels)")


StackDefinition = Union[PromDefinition, TelegrafSeries, Unsupported]


@dataclass(frozen=True)
class Signal:
    """A quantity a panel shows, defined once per stack.

    `dimensions` are the labels/tags every series of this signal carries (a dashboard variable bound to one of
    them filters the query); `group_by` are those the series are split by (and named after in the legend).
    """

    key: str
    title: str
    unit: str
    description: str
    prometheus: PromDefinition | Unsupported
    telegraf: TelegrafSeries | Unsupported
    dimensions: tuple[Dimension, ...] = ()
    group_by: tuple[Dimension, ...] = ()
    legend: str | None = None  # e.g. "{host} {device}" (dimension names); defaults to the group_by names

    def __post_init__(self) -> None:
        missing = [d.name for d in self.group_by if d not in self.dimensions]
        if missing:
            raise ValueError(f"signal {self.key}: group_by {missing} must also be dimensions")

    def definition(self, stack: str) -> StackDefinition:
        return {"prometheus": self.prometheus, "telegraf": self.telegraf}[stack]

    def legend_template(self) -> str:
        return self.legend if self.legend is not None else " ".join("{" + d.name + "}" for d in self.group_by)
