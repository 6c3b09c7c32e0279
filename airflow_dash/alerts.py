"""Alerts defined once, over the same catalog signals the panels show.

    scheduler_down = Alert(
        name="AirflowSchedulerHeartbeatMissing",
        condition=Threshold(airflow.scheduler_heartbeat, "<", 0.01),
        missing=FIRE, window="2m", for_="1m", severity="critical",
        summary="The Airflow scheduler stopped heartbeating",
        description="{value} heartbeats/s over the last 2 minutes.",
        runbook="Check the scheduler's process and logs, then the metadata database.",
        dashboard="airflow-overview", panel="Scheduler heartbeats",
    )

A condition says *what* is wrong in terms of signals, never in a query language; `airflow_dash.alert_rules`
compiles it to a Prometheus rule and to a Grafana-managed rule (query → reduce → threshold) per backend, so
an alert and its panel query the same thing. Templates name dimensions (`{pool}`, `{host}`) and `{value}`;
each target fills in its own label names.

How a window is read: rate-like signals (counters) are averaged over `window` (Prometheus: `rate(x[window])`,
Grafana: the mean of the per-interval rates); levels (gauges) use their last value, unless `reduce` asks for the
window's `max`/`min`/`mean` (Prometheus: `max_over_time((x)[window:])`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Union

from airflow_dash.catalog.model import COUNTER, DELTA, Dimension, Signal, TelegrafSeries
from airflow_dash.query.values import MatchValue

OPERATORS = (">", ">=", "<", "<=")
REDUCERS = ("last", "mean", "max", "min", "sum")
SEVERITIES = ("critical", "warning", "info")
QUIET = "quiet"  # missing data means nothing happened (an idle StatsD counter sends nothing)
FIRE = "fire"  # missing data is the problem (a heartbeat that stopped, a collector that died)

_NAME = re.compile(r"[A-Z][A-Za-z0-9]{2,80}")
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> int:
    """`90s`, `5m`, `6h`, `1d` in seconds (one unit only, as alert windows are written)."""
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(f"invalid duration {duration!r} (expected e.g. 30s, 5m, 6h, 1d)")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def is_rate(signal: Signal) -> bool:
    """A per-second rate of a counter (as opposed to a level)."""
    series = signal.telegraf
    return isinstance(series, TelegrafSeries) and series.kind in (COUNTER, DELTA)


@dataclass(frozen=True)
class Threshold:
    """`signal <op> value`, per series of the signal; `where` pins dimensions to values (e.g. a state)."""

    signal: Signal
    op: str
    value: float
    reduce: str | None = None  # None: mean for rates, last for levels
    where: Mapping[str, MatchValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_op(self.op)
        _check_reduce(self.reduce)
        _check_where(self.signals, self.where)

    @property
    def signals(self) -> tuple[Signal, ...]:
        return (self.signal,)

    @property
    def reducer(self) -> str:
        return self.reduce or ("mean" if is_rate(self.signal) else "last")


@dataclass(frozen=True)
class Ratio:
    """`numerator / denominator <op> value`; both signals must split series by the same dimensions."""

    numerator: Signal
    denominator: Signal
    op: str
    value: float
    where: Mapping[str, MatchValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_op(self.op)
        _check_where(self.signals, self.where)
        if self.numerator.group_by != self.denominator.group_by:
            raise ValueError(
                f"ratio {self.numerator.key} / {self.denominator.key}: both must split by the same dimensions"
            )

    @property
    def signals(self) -> tuple[Signal, ...]:
        return (self.numerator, self.denominator)

    def reducer_of(self, signal: Signal) -> str:
        return "mean" if is_rate(signal) else "last"


@dataclass(frozen=True)
class Forecast:
    """Rate of change: the level `horizon` ahead, extrapolated from its trend over the alert's window.

    Prometheus fits a line (`predict_linear`); Grafana extrapolates from the window's first minutes to its
    last value. Both answer "at this pace, where will it be?", e.g. free disk space below 0 within a day.
    """

    signal: Signal
    horizon: str
    op: str
    value: float
    where: Mapping[str, MatchValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_op(self.op)
        _check_where(self.signals, self.where)
        seconds(self.horizon)
        if is_rate(self.signal):
            raise ValueError(f"forecast of {self.signal.key}: forecast a level (gauge), not a rate")

    @property
    def signals(self) -> tuple[Signal, ...]:
        return (self.signal,)


@dataclass(frozen=True)
class Absent:
    """The signal has no data at all over the window (the exporter, collector or component is gone)."""

    signal: Signal
    where: Mapping[str, MatchValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_where(self.signals, self.where)

    @property
    def signals(self) -> tuple[Signal, ...]:
        return (self.signal,)


def _check_where(signals: tuple[Signal, ...], where: Mapping[str, MatchValue]) -> None:
    """Every `where` key must be a dimension of every signal the condition reads: the backends filter by
    dimensions only, so an unknown key (a typo) would be dropped and the alert would cover every series."""
    for signal in signals:
        known = [dimension.name for dimension in signal.dimensions]
        for key in where:
            if key not in known:
                raise ValueError(f"where: {key!r} is not a dimension of {signal.key} "
                                 f"(known: {', '.join(known) or 'none'})")


Condition = Union[Threshold, Ratio, Forecast, Absent]


@dataclass(frozen=True)
class Alert:
    """One alert: condition, timing, routing labels, human texts, and the panel that shows its signal.

    `missing` says what no data means: QUIET (nothing happened: an idle counter sends nothing) or FIRE (the
    data source itself is the problem). Absent conditions always fire on missing data.
    `summary`/`description`/`runbook` may use `{value}` and `{dimension}` placeholders of the signal's dimensions.
    """

    name: str
    condition: Condition
    summary: str
    description: str
    runbook: str
    dashboard: str
    panel: str
    for_: str | None = "5m"
    window: str = "5m"
    severity: str = "warning"
    missing: str = QUIET
    group: str = "airflow"
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"alert name {self.name!r}: use CamelCase letters and digits (3-81 characters)")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert {self.name}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if self.missing not in (QUIET, FIRE):
            raise ValueError(f"alert {self.name}: missing must be QUIET or FIRE")
        seconds(self.window)
        if self.for_ is not None:
            seconds(self.for_)
        if isinstance(self.condition, Absent) and self.missing != FIRE:
            object.__setattr__(self, "missing", FIRE)
        known = {"value"} | {d.name for s in self.condition.signals for d in s.dimensions}
        for text in (self.summary, self.description, self.runbook):
            unknown = set(_PLACEHOLDER.findall(text)) - known
            if unknown:
                raise ValueError(
                    f"alert {self.name}: unknown placeholder(s) {sorted(unknown)} (known: {sorted(known)})"
                )
        if "severity" in self.labels:
            raise ValueError(f"alert {self.name}: set severity with severity=, not in labels")

    @property
    def signals(self) -> tuple[Signal, ...]:
        return self.condition.signals

    @property
    def group_by(self) -> tuple[Dimension, ...]:
        return self.condition.signals[0].group_by


def fill_template(text: str, value: str, label: Mapping[str, str]) -> str:
    """Replace `{value}` and `{dimension}` placeholders; `label` maps dimension names to target text."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return value if name == "value" else label[name]

    return _PLACEHOLDER.sub(replace, text)


def _check_op(op: str) -> None:
    if op not in OPERATORS:
        raise ValueError(f"comparison {op!r} is not one of {', '.join(OPERATORS)}")


def _check_reduce(reduce: str | None) -> None:
    if reduce is not None and reduce not in REDUCERS:
        raise ValueError(f"reduce {reduce!r} is not one of {', '.join(REDUCERS)}")
