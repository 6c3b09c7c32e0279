"""Run Grafana-stored queries directly against a live datasource (no Grafana in between).

Each datasource interpolates the query text the way Grafana would (see `interpolate`), sends
it to the server's own HTTP API over the given time range and reports how many series and
points came back, or the server's error message. Query errors the server reports (bad syntax,
unknown function) end up in `QueryResult.error`; failures that make every query pointless
(unreachable server, refused credentials) raise `OperationError`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from airflow_dash.errors import OperationError, UserError, connection_cause
from airflow_dash.live.interpolate import (
    Dialect,
    QueryContext,
    TimeRange,
    VariableValue,
    interpolate,
)

if TYPE_CHECKING:  # imported where used: only `verify` and the live tests talk to datasources
    import requests
    from influxdb_client.client.flux_table import FluxTable

Variables = Mapping[str, VariableValue]
DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Series:
    """One series a query returned: its labels (Prometheus labels, InfluxQL tags, Flux group key without the
    range bounds) and its points as (unix seconds, value); a null or non-numeric value is None."""

    labels: tuple[tuple[str, str], ...]
    points: tuple[tuple[float, float | None], ...]

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class QueryResult:
    """What one query returned: series and points, or the server's error (one line)."""

    series_count: int
    point_count: int
    error: str | None = None
    interpolated: str = ""
    series: tuple[Series, ...] = field(default=(), compare=False, repr=False)

    @property
    def has_data(self) -> bool:
        return self.error is None and self.point_count > 0


@runtime_checkable
class LiveDatasource(Protocol):
    """A datasource that can run dashboard queries and resolve variable queries live."""

    @property
    def dialect(self) -> Dialect:
        """How Grafana's datasource of this kind formats variables."""
        ...

    @property
    def plugin_type(self) -> str:
        """Grafana plugin id of panel targets it runs: "prometheus" | "influxdb"."""
        ...

    @property
    def query_field(self) -> str:
        """The target field holding the query text: "expr" | "query"."""
        ...

    def context(self, time_range: TimeRange, interval: str | None = None,
                max_data_points: int | None = None) -> QueryContext:
        """Macro context for a time range, with this datasource's interval settings."""
        ...

    def run(self, query_text: str, time_range: TimeRange | QueryContext,
            variables: Variables | None = None, *, instant: bool = False) -> QueryResult:
        """Interpolate `query_text` and run it over the time range."""
        ...

    def variable_values(self, variable_query: str, time_range: TimeRange | QueryContext | None = None,
                        variables: Variables | None = None) -> list[str]:
        """Resolve a Grafana variable query to its values (before the variable's regex/sort)."""
        ...


# ---------------------------------------------------------------------------------------------
# shared helpers

def redact_url(url: str) -> str:
    """The URL without user:password@ and without a query string (safe for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and cut: server messages become one readable line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _value_text(value: Any) -> str:
    """A value as Grafana shows it in a variable option (JS String())."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _http(method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
    """One HTTP request; transport failures become OperationError without secrets."""
    import requests

    try:
        return requests.request(method, url, timeout=kwargs.pop("timeout", DEFAULT_TIMEOUT_S), **kwargs)
    except requests.RequestException as exc:
        raise OperationError(f"cannot reach {what} at {redact_url(url)} ({connection_cause(exc)})") from None


# ---------------------------------------------------------------------------------------------
# Prometheus

_LABEL_NAMES = re.compile(r"^label_names\(\s*(.*?)\s*\)\s*$", re.DOTALL)
_LABEL_VALUES = re.compile(r"^label_values\((?:(.+),\s*)?([a-zA-Z_$][a-zA-Z0-9_]*)\)\s*$", re.DOTALL)
_METRICS = re.compile(r"^metrics\((.+)\)\s*$", re.DOTALL)
_QUERY_RESULT = re.compile(r"^query_result\((.+)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class PrometheusLive:
    """Prometheus HTTP API (`/api/v1/query_range`), as Grafana's Prometheus datasource uses it.

    `scrape_interval` is the datasource's "timeInterval" (Grafana's default 15s): the minimum
    step and the base of `$__rate_interval`. `special_chars_toggle` emulates Grafana's
    `prometheusSpecialCharsInLabelValues` feature toggle.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    scrape_interval: str = "15s"
    max_data_points: int = 1000
    timeout_s: float = DEFAULT_TIMEOUT_S
    special_chars_toggle: bool = False

    plugin_type = "prometheus"
    query_field = "expr"

    @property
    def dialect(self) -> Dialect:
        return Dialect.PROMETHEUS_SPECIAL_CHARS if self.special_chars_toggle else Dialect.PROMETHEUS

    def context(self, time_range: TimeRange, interval: str | None = None,
                max_data_points: int | None = None) -> QueryContext:
        return QueryContext(
            time_range=time_range,
            min_interval=interval or self.scrape_interval,
            max_data_points=max_data_points or self.max_data_points,
            scrape_interval=self.scrape_interval,
        )

    def _api(self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]]) -> dict[str, Any]:
        """Call an API path (form POST; GET for label values, which has no POST); whole JSON body."""
        get = path.startswith("/api/v1/label/")
        response = _http("GET" if get else "POST", f"{self.url.rstrip('/')}{path}", "Prometheus",
                         params=params if get else None, data=None if get else params,
                         headers=dict(self.headers), timeout=self.timeout_s)
        if response.status_code in (401, 403):
            raise OperationError(
                f"Prometheus at {redact_url(self.url)} refused the request (HTTP {response.status_code})"
            )
        try:
            body = response.json()
        except ValueError:
            raise OperationError(
                f"Prometheus at {redact_url(self.url)} answered HTTP {response.status_code} without JSON"
            ) from None
        if not isinstance(body, dict) or "status" not in body:
            raise OperationError(f"{redact_url(self.url)} does not look like a Prometheus API")
        return body

    @staticmethod
    def _error(body: dict[str, Any]) -> str | None:
        if body.get("status") == "success":
            return None
        return one_line(f"{body.get('errorType', 'error')}: {body.get('error', 'unknown error')}")

    def run(self, query_text: str, time_range: TimeRange | QueryContext,
            variables: Variables | None = None, *, instant: bool = False) -> QueryResult:
        context = self.context(time_range) if isinstance(time_range, TimeRange) else time_range
        expr = interpolate(query_text, variables or {}, self.dialect, context)
        if instant:
            body = self._api("/api/v1/query", {"query": expr, "time": context.time_range.end})
        else:
            step_s = context.interval_ms / 1000
            # Grafana aligns the range to the step so that points land on step multiples.
            start = math.floor(context.time_range.start / step_s) * step_s
            end = math.floor(context.time_range.end / step_s) * step_s
            body = self._api("/api/v1/query_range",
                             {"query": expr, "start": start, "end": end, "step": step_s})
        error = self._error(body)
        if error:
            return QueryResult(0, 0, error, expr)
        data = body.get("data") or {}
        result = data.get("result")
        if data.get("resultType") in ("scalar", "string"):
            return QueryResult(1, 1, None, expr)
        series = result or []
        points = sum(len(s.get("values", [])) + len(s.get("histograms", []))
                     + (1 if "value" in s or "histogram" in s else 0) for s in series)
        return QueryResult(len(series), points, None, expr, tuple(_prometheus_series(s) for s in series))

    def _values_or_raise(self, body: dict[str, Any], variable_query: str) -> Any:
        """The answer's `data` (a list of names or series, or a query result)."""
        error = self._error(body)
        if error:
            raise UserError(f"variable query {one_line(variable_query, 120)!r} failed: {error}")
        return body.get("data") or []

    def variable_values(self, variable_query: str, time_range: TimeRange | QueryContext | None = None,
                        variables: Variables | None = None) -> list[str]:
        context = self.context(time_range) if isinstance(time_range, TimeRange) else time_range
        query = interpolate(variable_query.strip(), variables or {}, self.dialect, context).strip()
        span: dict[str, Any] = {}
        if context is not None:
            span = {"start": context.time_range.start, "end": context.time_range.end}

        if match := _LABEL_NAMES.match(query):
            params = list(span.items()) + ([("match[]", match.group(1))] if match.group(1) else [])
            return [str(v) for v in self._values_or_raise(self._api("/api/v1/labels", params), query)]
        if match := _LABEL_VALUES.match(query):
            selector, label = match.group(1), match.group(2)
            params = list(span.items()) + ([("match[]", selector.strip())] if selector else [])
            body = self._api(f"/api/v1/label/{label}/values", params)
            return [str(v) for v in self._values_or_raise(body, query)]
        if match := _METRICS.match(query):
            pattern = re.compile(match.group(1).strip())
            body = self._api("/api/v1/label/__name__/values", list(span.items()))
            return [name for name in self._values_or_raise(body, query) if pattern.search(name)]
        if match := _QUERY_RESULT.match(query):
            query_params: dict[str, Any] = {"query": match.group(1)}
            if context is not None:
                query_params["time"] = context.time_range.end
            data = self._values_or_raise(self._api("/api/v1/query", query_params), query)
            return _unique([_query_result_text(item, data.get("resultType"))
                            for item in _as_list(data.get("result"))])
        # Anything else is a series selector, as in Grafana's metricNameAndLabelsQuery.
        body = self._api("/api/v1/series", list(span.items()) + [("match[]", query)])
        return _unique([_series_text(labels) for labels in self._values_or_raise(body, query)])


def _prometheus_series(item: Mapping[str, Any]) -> Series:
    values = item.get("values") or ([item["value"]] if "value" in item else [])
    return Series(tuple(sorted((str(k), str(v)) for k, v in (item.get("metric") or {}).items())),
                  tuple((float(t), _number(v)) for t, v in values))


def _as_list(result: Any) -> list[Any]:
    return result if isinstance(result, list) else [result]


def _series_text(labels: Mapping[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ",".join(f'{key}="{value}"' for key, value in labels.items() if key != "__name__")
    return f"{name}{{{rest}}}"


def _query_result_text(item: Any, result_type: str | None) -> str:
    """Grafana's query_result() option text: `name{labels} value timestamp_ms`."""
    if result_type in ("scalar", "string"):
        timestamp, value = item
        return f"{result_type} {value} {int(float(timestamp) * 1000)}"
    timestamp, value = item.get("value", [0, ""])
    return f"{_series_text(item.get('metric', {}))} {value} {int(float(timestamp) * 1000)}"


# ---------------------------------------------------------------------------------------------
# InfluxDB 1.x / InfluxQL

@dataclass(frozen=True)
class InfluxQLLive:
    """InfluxDB 1.x `/query` with `epoch=ms`, as Grafana's InfluxQL datasource sends it.

    `min_interval` is the datasource's "Min time interval" (Grafana: unset means none).
    `classic` switches to Grafana's older frontend escaping (single values unescaped).
    """

    url: str
    database: str
    user: str | None = None
    password: str | None = None
    min_interval: str | None = None
    max_data_points: int = 1000
    timeout_s: float = DEFAULT_TIMEOUT_S
    classic: bool = False

    plugin_type = "influxdb"
    query_field = "query"

    @property
    def dialect(self) -> Dialect:
        return Dialect.INFLUXQL_CLASSIC if self.classic else Dialect.INFLUXQL

    def context(self, time_range: TimeRange, interval: str | None = None,
                max_data_points: int | None = None) -> QueryContext:
        return QueryContext(
            time_range=time_range,
            min_interval=interval or self.min_interval,
            max_data_points=max_data_points or self.max_data_points,
        )

    def _query(self, q: str) -> dict[str, Any]:
        auth = (self.user, self.password or "") if self.user else None
        response = _http("GET", f"{self.url.rstrip('/')}/query", "InfluxDB",
                         params={"db": self.database, "q": q, "epoch": "ms"},
                         auth=auth, timeout=self.timeout_s)
        if response.status_code in (401, 403):
            raise OperationError(
                f"InfluxDB at {redact_url(self.url)} refused the credentials (HTTP {response.status_code})"
            )
        try:
            body = response.json()
        except ValueError:
            raise OperationError(
                f"InfluxDB at {redact_url(self.url)} answered HTTP {response.status_code} without JSON"
            ) from None
        return body if isinstance(body, dict) else {}

    @staticmethod
    def _error(body: dict[str, Any]) -> str | None:
        if body.get("error"):
            return one_line(body["error"])
        for result in body.get("results") or []:
            if result.get("error"):
                return one_line(result["error"])
        return None

    def run(self, query_text: str, time_range: TimeRange | QueryContext,
            variables: Variables | None = None, *, instant: bool = False) -> QueryResult:
        context = self.context(time_range) if isinstance(time_range, TimeRange) else time_range
        query = interpolate(query_text, variables or {}, self.dialect, context)
        body = self._query(query)
        error = self._error(body)
        if error:
            return QueryResult(0, 0, error, query)
        series = [s for result in body.get("results") or [] for s in result.get("series") or []]
        points = sum(len(s.get("values") or []) for s in series)
        return QueryResult(len(series), points, None, query,
                           tuple(item for s in series for item in _influxql_series(s)))

    def variable_values(self, variable_query: str, time_range: TimeRange | QueryContext | None = None,
                        variables: Variables | None = None) -> list[str]:
        context = None
        if time_range is not None:
            context = self.context(time_range) if isinstance(time_range, TimeRange) else time_range
        query = interpolate(variable_query.strip(), variables or {}, self.dialect, context)
        body = self._query(query)
        error = self._error(body)
        if error:
            raise UserError(f"variable query {one_line(variable_query, 120)!r} failed: {error}")
        upper = query.upper()
        value_first = "SHOW FIELD KEYS" in upper or "SHOW RETENTION POLICIES" in upper
        values: list[str] = []
        for result in body.get("results") or []:
            for series in result.get("series") or []:
                for row in series.get("values") or []:
                    # Grafana's response parser: [key, value] rows give the value column.
                    cell = row[0] if value_first or len(row) < 2 else row[1]
                    values.append(_value_text(cell))
        return _unique(values)


def _influxql_series(series: Mapping[str, Any]) -> list[Series]:
    """One `Series` per value column (times are epoch ms: the queries ask for epoch=ms)."""
    columns = list(series.get("columns") or [])
    tags = sorted((str(k), str(v)) for k, v in (series.get("tags") or {}).items())
    out = []
    for index in range(1, len(columns)):
        labels = tags + ([("_column", str(columns[index]))] if len(columns) > 2 else [])
        out.append(Series(tuple(labels), tuple((float(row[0]) / 1000, _number(row[index]))
                                               for row in series.get("values") or [])))
    return out


# ---------------------------------------------------------------------------------------------
# InfluxDB 2.x / Flux

@dataclass(frozen=True)
class FluxLive:
    """InfluxDB 2.x `/api/v2/query` through influxdb-client (imported when first used).

    `v.defaultBucket` / `v.organization` become `bucket` / `org`; `min_interval` is the
    datasource's "Min time interval".
    """

    url: str
    org: str
    token: str = field(repr=False)
    bucket: str = ""
    min_interval: str | None = None
    max_data_points: int = 1000
    timeout_s: float = DEFAULT_TIMEOUT_S

    plugin_type = "influxdb"
    query_field = "query"
    dialect = Dialect.FLUX

    def context(self, time_range: TimeRange, interval: str | None = None,
                max_data_points: int | None = None) -> QueryContext:
        return QueryContext(
            time_range=time_range,
            min_interval=interval or self.min_interval,
            max_data_points=max_data_points or self.max_data_points,
            default_bucket=self.bucket,
            organization=self.org,
        )

    def _tables(self, flux: str) -> tuple[list[FluxTable], None] | tuple[None, str]:
        """Run a Flux script: (tables, None) or (None, server error message)."""
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            with InfluxDBClient(url=self.url, token=self.token, org=self.org,
                                timeout=int(self.timeout_s * 1000)) as client:
                return list(client.query_api().query(flux, org=self.org)), None
        except ApiException as exc:
            if exc.status in (401, 403):
                raise OperationError(
                    f"InfluxDB at {redact_url(self.url)} refused the token (HTTP {exc.status})"
                ) from None
            return None, one_line(_api_exception_message(exc))
        except (OSError, Urllib3Error) as exc:  # urllib3 2 connection errors no longer derive from OSError
            raise OperationError(
                f"cannot reach InfluxDB at {redact_url(self.url)} ({connection_cause(exc)})"
            ) from None

    def run(self, query_text: str, time_range: TimeRange | QueryContext,
            variables: Variables | None = None, *, instant: bool = False) -> QueryResult:
        context = self.context(time_range) if isinstance(time_range, TimeRange) else time_range
        flux = interpolate(query_text, variables or {}, self.dialect, context)
        tables, error = self._tables(flux)
        if tables is None:
            return QueryResult(0, 0, error, flux)
        return QueryResult(len(tables), sum(len(t.records) for t in tables), None, flux,
                           tuple(_flux_series(t) for t in tables))

    def variable_values(self, variable_query: str, time_range: TimeRange | QueryContext | None = None,
                        variables: Variables | None = None) -> list[str]:
        if time_range is None:
            time_range = TimeRange.last("1h")
        context = self.context(time_range) if isinstance(time_range, TimeRange) else time_range
        flux = interpolate(variable_query, variables or {}, self.dialect, context)
        tables, error = self._tables(flux)
        if tables is None:
            raise UserError(f"variable query {one_line(variable_query, 120)!r} failed: {error}")
        return _unique([_value_text(record.values["_value"]) for table in tables for record in table.records])


def _flux_series(table: Any) -> Series:
    """A Flux table: its group key (less the range bounds) as labels, `_time`/`_value` as points."""
    keys = [column.label for column in table.get_group_key() if column.label not in ("_start", "_stop")]
    records = table.records
    first = records[0].values if records else {}
    labels = tuple(sorted((key, "" if first.get(key) is None else str(first.get(key))) for key in keys))
    points = []
    for record in records:
        moment = record.values.get("_time")
        points.append((moment.timestamp() if moment is not None else float("nan"), _number(record.values.get("_value"))))
    return Series(labels, tuple(points))


def _api_exception_message(exc: Any) -> str:
    """InfluxDB 2's JSON `message` ("compilation failed: ..."), else the HTTP status line."""
    try:
        message = json.loads(exc.body).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return message or f"HTTP {getattr(exc, 'status', '?')} {getattr(exc, 'reason', '') or 'query failed'}"
