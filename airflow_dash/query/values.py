"""Typed values a query can hold besides plain literals: dashboard variables, raw regexes, durations.

Builders never glue strings: a `Variable` in a matcher is rendered by each language the way its Grafana
datasource needs (see `airflow_dash.escaping`), a `str` is always a literal and is escaped.

>>> from airflow_dash.query import influxql as Q, promql as P
>>> str(P.metric("up", instance=Variable("host"), job=Regex("node.*")))
'up{instance=~"${host}", job=~"node.*"}'
>>> str(Q.select(Q.mean("x")).from_("m").where(host=Variable("host")).interval("1m"))
'SELECT mean("x") FROM "m" WHERE "host" =~ /^${host:regex}$/ AND $timeFilter GROUP BY time(1m) fill(null)'
"""

from __future__ import annotations

import re
from decimal import Decimal
from dataclasses import dataclass
from typing import Union

from airflow_dash import escaping


@dataclass(frozen=True)
class Variable:
    """A reference to a dashboard template variable.

    `multi` is True for variables that can hold several values or "All": they can only be matched with a
    regex, and builders do that automatically. A single-value variable in an equality renders as `$name`.

    >>> from airflow_dash.query import promql as P
    >>> str(P.metric("up", instance=Variable("host"))), str(P.metric("up", instance=Variable("host", multi=False)))
    ('up{instance=~"${host}"}', 'up{instance="${host}"}')
    """

    name: str
    multi: bool = True

    def __post_init__(self) -> None:
        escaping.grafana_variable_name(self.name)

    def __str__(self) -> str:
        return escaping.grafana_variable(self.name)


@dataclass(frozen=True)
class Regex:
    """An RE2 pattern written by hand (not escaped). Literal strings never need this.

    It must match the whole value on every backend, as PromQL matchers do: Flux and InfluxQL render it
    anchored (`^(?:etl_.*)$`), so `Regex("etl_.*")` selects the same series everywhere.

    >>> Regex("etl_.*").pattern
    'etl_.*'
    """

    pattern: str

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)  # close enough to RE2 to catch typos early
        except re.error as exc:
            raise ValueError(f"invalid regex {self.pattern!r}: {exc}") from None


_DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")
_MACROS = frozenset({"$__rate_interval", "$__interval", "$__range"})


@dataclass(frozen=True)
class Duration:
    """A PromQL/InfluxQL duration such as `5m` or `1h30m`, or one of Grafana's interval macros.

    >>> Duration("1h30m").text, Duration("$__rate_interval").is_macro
    ('1h30m', True)
    """

    text: str

    def __post_init__(self) -> None:
        if self.text not in _MACROS and not _DURATION.fullmatch(self.text):
            raise ValueError(f"invalid duration {self.text!r} (expected e.g. 30s, 5m, 1h or a Grafana macro)")

    def __str__(self) -> str:
        return self.text

    @property
    def is_macro(self) -> bool:
        return self.text in _MACROS


RATE_INTERVAL = Duration("$__rate_interval")
"""Grafana's safe range for rate(): max($__interval + scrape interval, 4 x scrape interval)."""
INTERVAL = Duration("$__interval")
RANGE = Duration("$__range")

DurationLike = Union[Duration, str]
MatchValue = Union[str, Variable, Regex]


def duration(value: DurationLike) -> Duration:
    """A `Duration` from its text (a `Duration` as it is); an invalid one is a ValueError.

    >>> duration("5m") == Duration("5m")
    True
    """
    return value if isinstance(value, Duration) else Duration(value)


@dataclass(frozen=True)
class Affine:
    """`multiply * value + add`: the unit conversions panels need (bytes→bits, 100 - idle%, ns→s).

    One small value type serves Flux and InfluxQL alike, so a conversion is written once per signal.

    >>> from airflow_dash.query import influxql as Q
    >>> str(Q.mean("usage_idle").apply(Affine(-1, 100))), Affine().is_identity
    ('100 - mean("usage_idle")', True)
    """

    multiply: float = 1.0
    add: float = 0.0

    @property
    def is_identity(self) -> bool:
        return self.multiply == 1.0 and self.add == 0.0


def number_text(value: float) -> str:
    """Shortest exact text for a number, never in exponent form (Flux and InfluxQL reject `1e-09`):
    100 not 100.0, 0.5, 0.000000001.

    >>> number_text(100.0), number_text(0.5), number_text(1e-09)
    ('100', '0.5', '0.000000001')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value} cannot be written as a number literal")
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
