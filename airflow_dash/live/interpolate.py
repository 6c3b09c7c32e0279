"""Grafana's variable interpolation, emulated for *running* queries (not for static checks).

What Grafana does before a query reaches the datasource, and what this module reproduces:

- references `$var`, `${var}`, `${var:format}` (format args after more colons, e.g.
  `${__from:date:iso}`), `${var.path}` and the deprecated `[[var]]` / `[[var:format]]`;
  references to unknown names are left untouched, as Grafana does;
- an explicit format wins; otherwise the datasource's default formatting applies
  (`Dialect`): Prometheus uses `prometheusRegularEscape` for a single-value variable and
  `prometheusSpecialRegexEscape` + `(a|b)` for multi-value/include-all ones; InfluxQL
  regex-escapes and joins multi/all values as `(a|b)`; Flux gets Grafana's plain fallback
  (`glob`: one value as is, several as `{a,b}`);
- "All": without a custom allValue it expands to every option; with one, the allValue is
  inserted raw (only its own variable references are replaced);
- macros: `$__interval`, `$__interval_ms`, `$__rate_interval` (Prometheus: max(interval +
  scrape, 4 x scrape)), `$__range`, `$__range_s`, `$__range_ms`, `$__from`, `$__to`
  (`${__from:date:iso|seconds|ms}`); InfluxQL `$timeFilter` and `$interval`; Flux's
  `v.timeRangeStart`, `v.timeRangeStop`, `v.windowPeriod`, `v.defaultBucket`,
  `v.organization` become a time literal, a duration and strings.

Sources consulted (grafana/grafana and grafana/scenes, AGPL-3.0; behaviour re-implemented, no
code copied): scenes formatRegistry.ts, grafana-data text/string.ts (`escapeRegex`),
prometheus escaping.ts (`interpolateQueryExpr`), influxdb influx_query_model.ts
(`interpolateQueryStr`) and datasource.ts (`applyTemplateVariables`, `getTimeFilter`).
"""

from __future__ import annotations

import enum
import html
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

ALL_VALUE = "$__all"

# Grafana's reference syntax (templateSrv `variableRegex`), including `${name.fieldPath}`.
VARIABLE_REFERENCE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}"
)

# Flux's `v` record that Grafana fills in; `\b` keeps `v.windowPeriodX` and `xv.foo` out.
FLUX_V_FIELD = re.compile(
    r"(?<![\w.])v\.(timeRangeStart|timeRangeStop|windowPeriod|defaultBucket|organization)\b"
)


class Dialect(enum.Enum):
    """Which datasource's default formatting applies to a reference without a format."""

    PROMETHEUS = "prometheus"
    # Grafana with the `prometheusSpecialCharsInLabelValues` feature toggle on.
    PROMETHEUS_SPECIAL_CHARS = "prometheus-special-chars"
    # Current Grafana (backend InfluxQL, `influxdbBackendMigration`): `regex` format everywhere.
    INFLUXQL = "influxql"
    # Grafana's classic frontend InfluxQL path: single values raw, multi/all `(a|b)` escaped.
    INFLUXQL_CLASSIC = "influxql-classic"
    FLUX = "flux"
    # templateSrv.replace without a datasource formatter: `glob`.
    PLAIN = "plain"


# ---------------------------------------------------------------------------------------------
# variable values

@dataclass(frozen=True)
class VariableValue:
    """The current value of one dashboard variable, as Grafana would hold it.

    `values` are the selected values (for "All": every option value, excluding All itself).
    `multi`/`include_all` are the variable's settings; they decide the default escaping.
    """

    name: str
    values: tuple[str, ...]
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    is_all: bool = False
    texts: tuple[str, ...] | None = None

    @classmethod
    def single(cls, name: str, value: str) -> VariableValue:
        return cls(name, (value,))

    @property
    def current(self) -> str | list[str]:
        """What Grafana passes to a formatter: a string for single-value, a list otherwise."""
        if self.multi or self.is_all:
            return list(self.values)
        return self.values[0] if self.values else ""


# ---------------------------------------------------------------------------------------------
# escaping helpers (Grafana's character sets)

_GRAFANA_REGEX_SPECIALS = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_PROM_REGEX_SPECIALS_CLASSIC = re.compile(r"[$^*{}\[\]+?.()|]")
_PROM_REGEX_SPECIALS_TOGGLE = re.compile(r"[$^*{}\[\]'+?.()|]")
_LUCENE_SPECIALS = re.compile(r"([!*+\-=<>\s&|()\[\]{}^~?:\\/\"])")


def escape_regex(value: str) -> str:
    """Grafana's `escapeRegex`: backslash before `\\ ^ $ * + ? . ( ) | [ ] { } /`."""
    return _GRAFANA_REGEX_SPECIALS.sub(lambda m: "\\" + m.group(0), value)


def prometheus_regular_escape(value: str, special_chars_toggle: bool = False) -> str:
    """Grafana's `prometheusRegularEscape` (single-value variables inside PromQL strings)."""
    if special_chars_toggle:
        # A value that is a whole label matcher keeps its quotes.
        if re.fullmatch(r'\w+(=|!=|=~|!~)".*"', value, flags=re.DOTALL):
            return value
        return value.replace("\\", "\\\\").replace('"', '\\"')
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


def prometheus_special_regex_escape(value: str, special_chars_toggle: bool = False) -> str:
    """Grafana's `prometheusSpecialRegexEscape`: regex-escaped for a `=~"..."` PromQL string,
    so every escape is doubled (the PromQL string eats one level)."""
    escaped = value.replace("\\", "\\\\\\\\")
    if special_chars_toggle:
        escaped = escaped.replace('"', '\\\\\\"')
        return _PROM_REGEX_SPECIALS_TOGGLE.sub(lambda m: "\\\\" + m.group(0), escaped)
    return _PROM_REGEX_SPECIALS_CLASSIC.sub(lambda m: "\\\\" + m.group(0), escaped)


def _lucene_escape(value: str) -> str:
    try:
        float(value)  # JS: isNaN(+value) === false leaves numbers alone
        return value
    except ValueError:
        return _LUCENE_SPECIALS.sub(r"\\\1", value) if value.strip() else value


def _percent_encode_strict(value: str) -> str:
    # encodeURIComponent plus RFC 3986 sub-delims !'()* encoded.
    return urllib.parse.quote(value, safe="-_.~")


def _js_string(value: str | list[str]) -> str:
    return ",".join(value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------
# formats

def _format_regex(value: str | list[str]) -> str:
    if isinstance(value, str):
        return escape_regex(value)
    escaped = [escape_regex(item) for item in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _format_quoted(quote: str, escaped_quote: str) -> Callable[[str | list[str]], str]:
    def formatter(value: str | list[str]) -> str:
        items = value if isinstance(value, list) else [value]
        return ",".join(f"{quote}{item.replace(quote, escaped_quote)}{quote}" for item in items)

    return formatter


def _format_sqlstring(value: str | list[str]) -> str:
    items = value if isinstance(value, list) else [value]
    return ",".join("'" + item.replace("'", "''").replace('"', '\\"') + "'" for item in items)


def _format_lucene(value: str | list[str]) -> str:
    if isinstance(value, str):
        return _lucene_escape(value)
    if not value:
        return "__empty__"
    return "(" + " OR ".join(f'"{_lucene_escape(item)}"' for item in value) + ")"


def _format_glob(value: str | list[str]) -> str:
    if isinstance(value, list) and len(value) > 1:
        return "{" + ",".join(value) + "}"
    return _js_string(value)


def _format_percentencode(value: str | list[str]) -> str:
    if isinstance(value, list):
        return _percent_encode_strict("{" + ",".join(value) + "}")
    return _percent_encode_strict(value)


def _format_distributed(name: str, value: str | list[str]) -> str:
    if isinstance(value, str):
        return value
    return ",".join(item if index == 0 else f"{name}={item}" for index, item in enumerate(value))


def _format_queryparam(name: str, value: str | list[str]) -> str:
    items = value if isinstance(value, list) else [value]
    return "&".join(f"var-{name}={_percent_encode_strict(item)}" for item in items)


def _format_date(value: str | list[str], args: Sequence[str]) -> str:
    try:
        epoch_ms = int(_js_string(value))
    except ValueError:
        return "NaN"
    kind = args[0] if args else "iso"
    if kind == "ms":
        return str(epoch_ms)
    if kind == "seconds":
        return str(round(epoch_ms / 1000))
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    # Only ISO is supported; moment.js format strings are out of scope.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


_SIMPLE_FORMATS: dict[str, Callable[[str | list[str]], str]] = {
    "regex": _format_regex,
    "pipe": lambda value: "|".join(value) if isinstance(value, list) else value,
    "csv": _js_string,
    "raw": _js_string,
    "json": lambda value: value if isinstance(value, str) else json.dumps(
        value, separators=(",", ":"), ensure_ascii=False),
    "singlequote": _format_quoted("'", "\\'"),
    "doublequote": _format_quoted('"', '\\"'),
    "sqlstring": _format_sqlstring,
    "lucene": _format_lucene,
    "glob": _format_glob,
    "percentencode": _format_percentencode,
    "html": lambda value: html.escape(", ".join(value) if isinstance(value, list) else value),
}
KNOWN_FORMATS = frozenset(_SIMPLE_FORMATS) | {"distributed", "queryparam", "text", "date", "join"}


def format_value(variable: VariableValue, value: str | list[str], fmt: str) -> str:
    """Apply Grafana format `fmt` (e.g. `regex`, `date:iso`, `join:;`); unknown ids fall back
    to `glob`, as Grafana does."""
    fmt_id, *args = fmt.split(":")
    if fmt_id in _SIMPLE_FORMATS:
        return _SIMPLE_FORMATS[fmt_id](value)
    if fmt_id == "distributed":
        return _format_distributed(variable.name, value)
    if fmt_id == "queryparam":
        return _format_queryparam(variable.name, value)
    if fmt_id == "text":
        texts = variable.texts if variable.texts is not None else variable.values
        return "All" if variable.is_all else " + ".join(texts)
    if fmt_id == "date":
        return _format_date(value, args)
    if fmt_id == "join":
        return (args[0] if args else ",").join(value) if isinstance(value, list) else value
    return _format_glob(value)


def default_format(dialect: Dialect, variable: VariableValue, value: str | list[str]) -> str:
    """The datasource's formatting for a reference without an explicit format."""
    multi_or_all = variable.multi or variable.include_all
    if dialect in (Dialect.PROMETHEUS, Dialect.PROMETHEUS_SPECIAL_CHARS):
        toggle = dialect is Dialect.PROMETHEUS_SPECIAL_CHARS
        if not multi_or_all:
            return prometheus_regular_escape(_js_string(value), toggle)
        if isinstance(value, str):
            return prometheus_special_regex_escape(value, toggle)
        escaped = [prometheus_special_regex_escape(item, toggle) for item in value]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    if dialect is Dialect.INFLUXQL:
        return _format_regex(value)
    if dialect is Dialect.INFLUXQL_CLASSIC:
        if not multi_or_all:
            return _js_string(value)
        if isinstance(value, str):
            return escape_regex(value)
        return "(" + "|".join(escape_regex(item) for item in value) + ")"
    return _format_glob(value)


# ---------------------------------------------------------------------------------------------
# time range and macros

_ROUND_INTERVAL_MS = (  # Grafana's roundInterval: (upper bound, rounded value) in ms
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
    (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
    (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
    (9000000, 7200000), (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
    (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000),
)
_DURATION_UNITS_MS = (("y", 31536000000), ("w", 604800000), ("d", 86400000), ("h", 3600000),
                      ("m", 60000), ("s", 1000), ("ms", 1))
_DURATION_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?\s*$")


def round_interval_ms(interval_ms: float) -> int:
    """Grafana's `roundInterval`: snap a raw interval to a readable step."""
    for upper, rounded in _ROUND_INTERVAL_MS:
        if interval_ms < upper:
            return rounded
    return 31536000000


def parse_duration_ms(text: str) -> int:
    """`15s`, `1m`, `500ms`, `2h`, bare number = seconds (Grafana's interval settings)."""
    match = _DURATION_TEXT.match(text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return int(number * dict(_DURATION_UNITS_MS)[unit])


def format_duration_ms(duration_ms: int) -> str:
    """The largest unit that divides the duration exactly: 60000 -> `1m`, 90000 -> `90s`.

    Exact (not Grafana's truncating display) so that the query gets exactly this duration."""
    if duration_ms <= 0:
        return "0s"
    for unit, size in _DURATION_UNITS_MS:
        if unit in ("y", "w"):
            continue  # PromQL/Flux accept them, but InfluxQL has no `y`; days are always safe
        if duration_ms % size == 0:
            return f"{duration_ms // size}{unit}"
    return f"{duration_ms}ms"


@dataclass(frozen=True)
class TimeRange:
    """An absolute time range in unix seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError("time range end must be after its start")

    @classmethod
    def last(cls, duration: str | float, now: float | None = None) -> TimeRange:
        """The range ending now: `TimeRange.last("1h")` or `TimeRange.last(3600)`."""
        seconds = parse_duration_ms(duration) / 1000 if isinstance(duration, str) else duration
        end = time.time() if now is None else now
        return cls(end - seconds, end)

    @property
    def start_ms(self) -> int:
        return int(self.start * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end * 1000)

    @property
    def range_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class QueryContext:
    """Everything macros need besides variables: time range and interval settings.

    `min_interval` is the datasource's "timeInterval" (Prometheus: the scrape interval, 15s if
    unset; it also feeds `$__rate_interval`) or a panel's "Min interval". `max_data_points` is
    what Grafana derives from the panel width; 1000 is a typical full-width panel.
    """

    time_range: TimeRange
    min_interval: str | None = None
    max_data_points: int = 1000
    scrape_interval: str = "15s"
    default_bucket: str = ""
    organization: str = ""

    @property
    def interval_ms(self) -> int:
        raw = self.time_range.range_ms / max(self.max_data_points, 1)
        interval = round_interval_ms(raw)
        if self.min_interval:
            interval = max(interval, parse_duration_ms(self.min_interval))
        return max(interval, 1)

    @property
    def rate_interval_ms(self) -> int:
        scrape = parse_duration_ms(self.min_interval or self.scrape_interval)
        return max(self.interval_ms + scrape, 4 * scrape)

    def with_panel(self, interval: str | None = None, max_data_points: int | None = None) -> QueryContext:
        """A copy with a panel's own "Min interval" / "Max data points" applied."""
        return replace(
            self,
            min_interval=interval or self.min_interval,
            max_data_points=max_data_points or self.max_data_points,
        )

    def macros(self, dialect: Dialect) -> dict[str, str]:
        """Macro name -> text, for the references a dialect knows."""
        range_s = self.time_range.range_ms // 1000
        values = {
            "__interval": format_duration_ms(self.interval_ms),
            "__interval_ms": str(self.interval_ms),
            "__range": f"{range_s}s",
            "__range_s": str(range_s),
            "__range_ms": str(self.time_range.range_ms),
            "__from": str(self.time_range.start_ms),
            "__to": str(self.time_range.end_ms),
        }
        if dialect in (Dialect.PROMETHEUS, Dialect.PROMETHEUS_SPECIAL_CHARS):
            values["__rate_interval"] = format_duration_ms(self.rate_interval_ms)
            values["__rate_interval_ms"] = str(self.rate_interval_ms)
        if dialect in (Dialect.INFLUXQL, Dialect.INFLUXQL_CLASSIC):
            values["interval"] = values["__interval"]
            values["timeFilter"] = (
                f"time >= {self.time_range.start_ms}ms and time <= {self.time_range.end_ms}ms"
            )
        return values


# ---------------------------------------------------------------------------------------------
# Flux literals

def flux_time_literal(epoch_ms: int) -> str:
    """An RFC 3339 Flux time literal, e.g. `2024-01-01T00:00:00.000Z`."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{epoch_ms % 1000:03d}Z"


def flux_string_literal(value: str) -> str:
    """A double-quoted Flux string; `${` is escaped so Flux does not interpolate it."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


def _flux_v_values(context: QueryContext) -> dict[str, str]:
    return {
        "timeRangeStart": flux_time_literal(context.time_range.start_ms),
        "timeRangeStop": flux_time_literal(context.time_range.end_ms),
        "windowPeriod": format_duration_ms(context.interval_ms),
        "defaultBucket": flux_string_literal(context.default_bucket),
        "organization": flux_string_literal(context.organization),
    }


# ---------------------------------------------------------------------------------------------
# interpolation

def interpolate(
    text: str,
    variables: Mapping[str, VariableValue],
    dialect: Dialect,
    context: QueryContext | None = None,
) -> str:
    """Replace variable references and macros in `text` the way Grafana does before running it.

    `variables` maps names to values; unknown references stay as they are. Without `context`
    only variables are replaced (no macros), which is what chained variable queries need when
    no time range is known.
    """
    macros = context.macros(dialect) if context is not None else {}

    def replace_reference(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name in macros and name not in variables:
            if fmt and fmt.startswith("date") and name in ("__from", "__to"):
                return format_value(VariableValue.single(name, macros[name]), macros[name], fmt)
            return macros[name]
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        if variable.is_all and variable.all_value is not None and (fmt or "") not in ("text", "percentencode"):
            # A custom all value goes in raw; only its own references are replaced.
            return interpolate(variable.all_value, {k: v for k, v in variables.items() if k != name},
                               Dialect.PLAIN, context)
        value = variable.current
        if fmt:
            return format_value(variable, value, fmt)
        return default_format(dialect, variable, value)

    result = VARIABLE_REFERENCE.sub(replace_reference, text)
    if dialect is Dialect.FLUX and context is not None:
        v_values = _flux_v_values(context)
        result = FLUX_V_FIELD.sub(lambda m: v_values[m.group(1)], result)
    return result


def unresolved_references(text: str) -> tuple[str, ...]:
    """Variable names still referenced in an interpolated text, in order, without repeats."""
    names: list[str] = []
    for match in VARIABLE_REFERENCE.finditer(text):
        name = match.group(1) or match.group(2) or match.group(4)
        if name not in names:
            names.append(name)
    return tuple(names)

