"""One interface, three backends: how a catalog `Signal` becomes a Grafana target on each datasource.

Dashboards never name a backend: they hold signals and dimension-bound variables, and `compile` asks the
backend for targets, variable queries and the datasource picker. Adding a backend means one class here.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Mapping, cast

from airflow_dash import escaping
from airflow_dash.catalog.model import (
    COUNTER,
    DELTA,
    Dimension,
    FluxDefinition,
    FluxScope,
    InfluxQLDefinition,
    InfluxQLScope,
    PromScope,
    Signal,
    TelegrafSeries,
    Unsupported,
)
from airflow_dash.errors import UserError
from airflow_dash.query import flux, influxql, promql
from airflow_dash.query.raw import RawQuery
from airflow_dash.query.values import MatchValue

Scope = Mapping[str, MatchValue]  # dimension name -> value (usually the dashboard's Variable)
DATASOURCE_VARIABLE = "datasource"


_JS_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "g": 0, "y": 0, "u": 0}


def grafana_regex(text: str) -> re.Pattern[str]:
    """A variable `regex` the way Grafana reads it (stringToJsRegex): `/pattern/flags`, or a bare pattern
    anchored at both ends. Raises ValueError for what Grafana would reject."""
    if not text.startswith("/"):
        return re.compile("^" + text + "$")
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.DOTALL)
    if not match:
        raise ValueError(f"{text!r} is not a valid regular expression")
    flags = 0
    for flag in match.group(2):
        flags |= _JS_FLAGS[flag]
    try:
        return re.compile(match.group(1), flags)
    except re.error as exc:
        raise ValueError(f"{text!r}: {exc}") from None


def picker_offers(regex: str, datasource_name: str) -> bool:
    """Whether a datasource variable with `regex` lists a data source called `datasource_name` (Grafana
    tests the regex against the name with RegExp.exec: a match anywhere counts)."""
    return not regex or grafana_regex(regex).search(datasource_name) is not None


@dataclass(frozen=True)
class Target:
    """A rendered query plus what Grafana needs to show it."""

    query: str
    legend: str  # backend-specific legend text, "" for none
    raw: bool = False  # hand-written text (`*.raw(...)`), not built by the typed builders
    instant: bool = False  # one value per series (the latest) instead of a range
    format: str = "time_series"  # time_series | table | heatmap (what the panel wants the frames as)


def _custom_target(signal: Signal, result: object, language: str, legend: str) -> Target:
    """A custom definition's result as a target: builder queries render, raw text is used verbatim."""
    if isinstance(result, RawQuery):
        if result.language != language:
            raise ValueError(f"signal {signal.key}: its {language} definition returned a raw {result.language} query")
        return Target(result.text, legend, raw=True)
    if isinstance(result, str):  # a plain string from a PromQL function: accepted, as before, but raw
        return Target(result, legend, raw=True)
    expected = {"promql": promql.Expr, "flux": flux.FluxQuery, "influxql": influxql.Select}[language]
    if not isinstance(result, expected):
        raise ValueError(
            f"signal {signal.key}: its {language} definition returned {type(result).__name__}, "
            f"expected a {expected.__module__}.{expected.__name__} or {language}.raw(...)"
        )
    return Target(str(result), legend)


class Backend(ABC):
    """The contract every backend fulfils; see PrometheusBackend, FluxBackend, InfluxQLBackend."""

    name: str  # CLI name: prometheus | flux | influxql
    stack: str  # which catalog definition it renders: prometheus | telegraf
    language: str  # promql | flux | influxql (for validators)
    datasource_type: str  # Grafana plugin id
    display_name: str  # shown in dashboard titles
    uid_suffix: str
    default_datasource_uid: str
    default_datasource_name: str  # the name our provisioning file (datasources/*.yaml) gives it
    # Grafana lists every data source of the plugin type whose NAME matches this regex (Grafana's regex string:
    # `/pattern/flags`, or a bare pattern anchored at both ends). InfluxDB serves Flux and InfluxQL under one
    # plugin id and the query language is in jsonData, which the picker cannot see: names carry it instead.
    datasource_name_regex: str = ""
    has_rule_engine: bool = False  # evaluates its own alert rules (else alerts become Grafana-managed rules)

    @abstractmethod
    def render(self, signal: Signal, scope: Scope, legend: str | None = None) -> Target | Unsupported:
        """The query for `signal` filtered by `scope`, or why this backend cannot show it."""

    @abstractmethod
    def target_json(self, target: Target, ref_id: str) -> dict[str, Any]:
        """The Grafana target object."""

    @abstractmethod
    def variable_query(self, dimension: Dimension, depends_on: Mapping[Dimension, MatchValue]) -> str | Unsupported:
        """The query listing the values of `dimension`, filtered by the variables it depends on."""

    def display_name_override(self, target: Target, ref_id: str) -> dict[str, Any] | None:
        """A fieldConfig override naming series, for backends without a per-target legend."""
        return None

    def annotation_target(self, target: Target) -> Target:
        """The query an annotation runs for a signal's target (events where it has a value)."""
        return target

    def annotation_json(self, target: Target, name: str, color: str, enabled: bool = True) -> dict[str, Any]:
        """A dashboard annotation drawing an event wherever the (annotation) target has a value."""
        return {**self._annotation_fields(name, color, enabled), "target": {**self.target_json(target, "Anno")}}

    def _annotation_fields(self, name: str, color: str, enabled: bool) -> dict[str, Any]:
        """What every backend's annotation carries; the query goes where its datasource plugin reads it."""
        return {"name": name, "enable": enabled, "hide": False, "iconColor": color, "datasource": self.datasource_ref()}

    def datasource_ref(self) -> dict[str, Any]:
        return {"type": self.datasource_type, "uid": "${" + DATASOURCE_VARIABLE + "}"}

    def datasource_variable(
        self, default_uid: str | None = None, default_name: str | None = None, name_regex: str | None = None
    ) -> dict[str, Any]:
        """Grafana's data source picker: `current` is our provisioned data source, `regex` filters by name."""
        uid = default_uid or self.default_datasource_uid
        if default_name is None:
            default_name = self.default_datasource_name if uid == self.default_datasource_uid else uid
        return {
            "type": "datasource",
            "name": DATASOURCE_VARIABLE,
            "label": "Data source",
            "query": self.datasource_type,
            "regex": self.datasource_name_regex if name_regex is None else name_regex,
            "current": {"text": default_name, "value": uid},
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "skipUrlSync": False,
        }

    def _legend_text(self, signal: Signal, legend: str | None, placeholder: str) -> str:
        template = signal.legend_template() if legend is None else legend
        names = {d.name: d for d in signal.dimensions}
        out = template
        for name, dimension in names.items():
            out = out.replace("{" + name + "}", placeholder.format(label=self._label_of(dimension)))
        return out or signal.title

    @abstractmethod
    def _label_of(self, dimension: Dimension) -> str:
        """The dimension's label/tag name on this backend's stack."""

    def label_name(self, dimension: Dimension) -> str:
        """The label/tag a series of this backend carries for `dimension` (alert templates name it)."""
        return self._label_of(dimension)


class PrometheusBackend(Backend):
    name = "prometheus"
    stack = "prometheus"
    language = "promql"
    datasource_type = "prometheus"
    display_name = "Prometheus"
    uid_suffix = "prom"
    default_datasource_uid = "prometheus"
    default_datasource_name = "Prometheus (airflow-dash)"
    has_rule_engine = True

    def _label_of(self, dimension: Dimension) -> str:
        return dimension.prometheus_label

    def expression(self, signal: Signal, scope: Scope) -> object:
        """What `signal`'s Prometheus definition gives for `scope`: a typed `promql.Expr` (alert rules build
        on it), a raw query, or `Unsupported`."""
        definition = signal.prometheus
        if isinstance(definition, (Unsupported, RawQuery, promql.Expr)):
            return definition
        filters = {d.prometheus_label: scope[d.name] for d in signal.dimensions if d.name in scope}
        return call_definition(signal, "prometheus", definition,
                               PromScope(filters, tuple(d.prometheus_label for d in signal.group_by)))

    def render(self, signal: Signal, scope: Scope, legend: str | None = None) -> Target | Unsupported:
        result = self.expression(signal, scope)
        if isinstance(result, Unsupported):
            return result
        return _custom_target(signal, result, "promql", self._legend_text(signal, legend, "{{{{{label}}}}}"))

    def target_json(self, target: Target, ref_id: str) -> dict[str, Any]:
        return {
            "refId": ref_id,
            "datasource": self.datasource_ref(),
            "editorMode": "code",
            "expr": target.query,
            "legendFormat": target.legend,
            "range": not target.instant,
            "instant": target.instant,
            "format": target.format,
            "interval": "",
            "exemplar": False,
        }

    def annotation_target(self, target: Target) -> Target:
        # Prometheus annotations mark each step where the expression has a sample: keep only values above 0.
        return Target(f"({target.query}) > 0", target.legend, target.raw)

    def annotation_json(self, target: Target, name: str, color: str, enabled: bool = True) -> dict[str, Any]:
        return {
            **self._annotation_fields(name, color, enabled),
            "expr": target.query,
            "step": "60s",
            "titleFormat": name,
            "textFormat": target.legend,
            "tagKeys": "",
            "useValueForTime": False,
        }

    def variable_query(self, dimension: Dimension, depends_on: Mapping[Dimension, MatchValue]) -> str | Unsupported:
        if not dimension.prometheus_values_from:
            return Unsupported(f"no Prometheus metric lists {dimension.name} values")
        selector = promql.metric(dimension.prometheus_values_from, **_filters(depends_on, "prometheus"))
        return f"label_values({selector}, {escaping.promql_label_name(dimension.prometheus_label)})"


def _filters(depends_on: Mapping[Dimension, MatchValue], stack: str) -> dict[str, MatchValue]:
    """Variable-query filters keyed by each dimension's label/tag name on `stack`."""
    if stack == "prometheus":
        return {d.prometheus_label: value for d, value in depends_on.items()}
    return {d.telegraf_tag: value for d, value in depends_on.items()}


class _TelegrafBackend(Backend):
    stack = "telegraf"
    datasource_type = "influxdb"

    def _label_of(self, dimension: Dimension) -> str:
        return dimension.telegraf_tag

    def _tag_filters(self, signal: Signal, scope: Scope, series: TelegrafSeries) -> dict[str, MatchValue]:
        filters: dict[str, Any] = dict(series.where)
        filters.update(self._dashboard_filters(signal, scope))
        return filters

    def _dashboard_filters(self, signal: Signal, scope: Scope) -> dict[str, MatchValue]:
        return {d.telegraf_tag: scope[d.name] for d in signal.dimensions if d.name in scope}

    def render(self, signal: Signal, scope: Scope, legend: str | None = None) -> Target | Unsupported:
        definition = signal.definition(self.language)
        if isinstance(definition, Unsupported):
            return definition
        legend_text = self._legend_text(signal, legend, self.legend_placeholder)
        if isinstance(definition, TelegrafSeries):
            return Target(self._render_series(signal, scope, definition), legend_text)
        result: object = definition
        if callable(definition):
            filters = self._dashboard_filters(signal, scope)
            by = tuple(d.telegraf_tag for d in signal.group_by)
            if self.language == "flux":
                result = call_definition(signal, "flux", cast(FluxDefinition, definition), FluxScope(filters, by))
            else:
                result = call_definition(signal, "influxql", cast(InfluxQLDefinition, definition),
                                         InfluxQLScope(filters, by))
        return _custom_target(signal, result, self.language, legend_text)

    legend_placeholder: str

    @abstractmethod
    def _render_series(self, signal: Signal, scope: Scope, series: TelegrafSeries) -> str:
        """The query for a `TelegrafSeries` (the catalog's usual Telegraf definition)."""


def call_definition(signal: Signal, language: str, definition: Callable[[Any], object], scope: object) -> object:
    """`definition(scope)`. What goes wrong inside it (a name its module forgot to import, a wrong argument to a
    builder) is a ValueError naming the signal, the language and the definition's own line: compile reports
    it as one line, where the exception itself would end the command in a traceback."""
    try:
        return definition(scope)
    except Exception as exc:  # user code: anything it raises is a definition error
        raise ValueError(f"{_definition_line(definition, exc)}signal {signal.key!r} ({language}): "
                         f"{type(exc).__name__}: {exc}") from exc


def _definition_line(definition: Callable[[Any], object], exc: BaseException) -> str:
    """`file:line: ` of the innermost traceback frame in the definition's own file ("" when there is none)."""
    code = getattr(definition, "__code__", None)
    where = ""
    frame = exc.__traceback__
    while frame is not None and code is not None:
        if frame.tb_frame.f_code.co_filename == code.co_filename:
            where = f"{_shown_path(code.co_filename)}:{frame.tb_lineno}: "
        frame = frame.tb_next
    return where


def _shown_path(filename: str) -> str:
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


class InfluxQLBackend(_TelegrafBackend):
    name = "influxql"
    language = "influxql"
    display_name = "InfluxDB InfluxQL"
    uid_suffix = "iql"
    default_datasource_uid = "influxdb-influxql"
    default_datasource_name = "InfluxDB InfluxQL (airflow-dash)"
    datasource_name_regex = r"/\binfluxql\b/i"  # the word InfluxQL ("InfluxDB" contains "flux", not "influxql")
    legend_placeholder = "$tag_{label}"

    def _render_series(self, signal: Signal, scope: Scope, series: TelegrafSeries) -> str:
        value: influxql.FieldExpr
        if series.kind == COUNTER and series.aggregate != "mean":
            # Rates per series first (GROUP BY *), then combined across the series of each group-by value.
            rate = influxql.non_negative_derivative(influxql.last(series.field), "1s")
            per_series = (
                influxql.select((rate, "rate"))
                .from_(series.measurement)
                .where(**self._tag_filters(signal, scope, series))
                .where_not(**series.exclude)
                .group_by(influxql.ALL_TAGS)
            )
            combined = influxql.Function(series.aggregate, (influxql.Field("rate"),)).apply(series.transform)
            query = influxql.select(combined).from_(per_series).group_by(*(d.telegraf_tag for d in signal.group_by))
            return str(query)
        if series.kind == COUNTER:
            value = influxql.non_negative_derivative(influxql.last(series.field), "1s")
        elif series.kind == DELTA:
            # StatsD counters arrive as per-flush counts: sum per window, then per second. An idle counter
            # writes nothing (delete_counters), so empty windows are 0, not gaps a stat skips over.
            value = influxql.sum(series.field) * 1000 / influxql.Macro("$__interval_ms")
        else:
            value = influxql.Function(series.aggregate, (influxql.Field(series.field),))
            if series.divide_by:
                value = value / influxql.Function(series.aggregate, (influxql.Field(series.divide_by),))
        query = (
            influxql.select(value.apply(series.transform))
            .from_(series.measurement)
            .where(**self._tag_filters(signal, scope, series))
            .where_not(**series.exclude)
            .group_by(*(d.telegraf_tag for d in signal.group_by))
        )
        if series.kind == DELTA:
            query = query.fill_with("0")
        return str(query)

    def target_json(self, target: Target, ref_id: str) -> dict[str, Any]:
        result = {
            "refId": ref_id,
            "datasource": self.datasource_ref(),
            "query": target.query,
            "rawQuery": True,
            "resultFormat": "table" if target.format == "table" else "time_series",
        }
        if target.legend:
            result["alias"] = target.legend
        return result

    def annotation_json(self, target: Target, name: str, color: str, enabled: bool = True) -> dict[str, Any]:
        # InfluxQL annotations: Grafana reads the legacy top-level `query` as well as the target.
        return {**super().annotation_json(target, name, color, enabled), "query": target.query}

    def variable_query(self, dimension: Dimension, depends_on: Mapping[Dimension, MatchValue]) -> str | Unsupported:
        if not dimension.telegraf_values_from:
            return Unsupported(f"no Telegraf measurement lists {dimension.name} values")
        query = influxql.show_tag_values(dimension.telegraf_tag, dimension.telegraf_values_from)
        return str(query.where(**_filters(depends_on, "telegraf")))


class FluxBackend(_TelegrafBackend):
    name = "flux"
    language = "flux"
    display_name = "InfluxDB Flux"
    uid_suffix = "flux"
    default_datasource_uid = "influxdb-flux"
    default_datasource_name = "InfluxDB Flux (airflow-dash)"
    datasource_name_regex = r"/\bflux\b/i"  # the word Flux: not the "flux" inside "InfluxDB" or "InfluxQL"
    legend_placeholder = "${{__field.labels.{label}}}"

    def _render_series(self, signal: Signal, scope: Scope, series: TelegrafSeries) -> str:
        group_columns = [d.telegraf_tag for d in signal.group_by]
        fields = [series.field, series.divide_by] if series.divide_by else series.field
        query = (
            flux.from_bucket()
            .range()
            .filter(
                measurement=series.measurement,
                field=fields,
                exclude=dict(series.exclude),
                **self._tag_filters(signal, scope, series),
            )
        )
        if series.kind == COUNTER and series.aggregate != "mean":
            # Rate per series and window, then combined across the series of each group at each window time.
            query = (
                query.derivative("1s", non_negative=True)
                .aggregate_window("mean")
                .group([*group_columns, "_time"])
                .aggregate(series.aggregate)
                .group(group_columns)
                .sort(["_time"])
            )
        elif series.kind == COUNTER:
            # Per series first (a derivative across merged series is meaningless), then combine.
            query = query.derivative("1s", non_negative=True).group(group_columns).aggregate_window("mean")
        elif series.kind == DELTA:
            # Idle StatsD counters write nothing (delete_counters): empty windows must read 0, else the last
            # busy window is what a stat shows (a dead scheduler's heartbeat would stay green).
            query = (
                query.to_float()
                .group(group_columns)
                .aggregate_window("sum", create_empty=True)
                .fill_value(0.0)
                .map_value("float(v: r._value) * 1000000000.0 / float(v: int(v: v.windowPeriod))")
            )
        elif series.divide_by:
            # Both fields per window side by side, then one value: field / divide_by.
            numerator, denominator = (escaping.flux_column(f) for f in (series.field, series.divide_by))
            query = (
                query.group([*group_columns, "_field"])
                .aggregate_window(series.aggregate)
                .pivot(row_key=["_time", *group_columns], column_key=["_field"])
                .map_value(f"float(v: {numerator}) / float(v: {denominator})")
                .keep(["_time", "_value", *group_columns])
                .group(group_columns)
            )
        else:
            query = query.group(group_columns).aggregate_window(series.aggregate)
        query = query.map_value(series.transform)
        return str(query)

    def target_json(self, target: Target, ref_id: str) -> dict[str, Any]:
        return {"refId": ref_id, "datasource": self.datasource_ref(), "query": target.query}

    def display_name_override(self, target: Target, ref_id: str) -> dict[str, Any] | None:
        if not target.legend:
            return None
        return {
            "matcher": {"id": "byFrameRefID", "options": ref_id},
            "properties": [{"id": "displayName", "value": target.legend}],
        }

    def variable_query(self, dimension: Dimension, depends_on: Mapping[Dimension, MatchValue]) -> str | Unsupported:
        if not dimension.telegraf_values_from:
            return Unsupported(f"no Telegraf measurement lists {dimension.name} values")
        query = flux.tag_values(
            dimension.telegraf_tag, dimension.telegraf_values_from, tags=_filters(depends_on, "telegraf")
        )
        return str(query)


BACKENDS: dict[str, Backend] = {b.name: b for b in (PrometheusBackend(), FluxBackend(), InfluxQLBackend())}


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UserError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})") from None
