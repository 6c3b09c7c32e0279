"""Verify a Grafana dashboard against a live datasource: every target runs, and returns data.

`verify_dashboard(model, datasource, time_range)` walks a dashboard JSON model the way Grafana
renders it: template variables first, in dashboard order (query variables resolved live, so
chained variables see the values of earlier ones), then every panel (including those inside
collapsed rows and repeated panels) and every visible target, interpolated and run.
Variables get a `PanelResult` row of their own (panel title `$name`, ref id `var`) so that a
variable query that finds nothing shows up next to the panels it empties.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_dash.errors import AirflowDashError, UserError
from airflow_dash.live.interpolate import (
    ALL_VALUE,
    Dialect,
    QueryContext,
    TimeRange,
    VariableValue,
    format_duration_ms,
    interpolate,
    parse_duration_ms,
    round_interval_ms,
)
from airflow_dash.live.runner import LiveDatasource, Series, one_line

VARIABLES_ROW = "(variables)"
VARIABLE_REF_ID = "var"


@dataclass(frozen=True)
class PanelResult:
    """The outcome of one target (or one variable query) of a dashboard."""

    panel_title: str
    row_title: str
    ref_id: str
    query: str
    interpolated: str
    series_count: int
    error: str | None
    point_count: int = 0
    skipped: str | None = None
    series: tuple[Series, ...] = field(default=(), compare=False, repr=False)  # what came back, for value checks

    @property
    def status(self) -> str:
        """`error`, `no data`, `skipped` or `ok`."""
        if self.error:
            return "error"
        if self.skipped:
            return "skipped"
        return "ok" if self.series_count > 0 else "no data"


def has_problems(results: Sequence[PanelResult]) -> bool:
    """True when any target or variable errored or found nothing."""
    return any(result.status in ("error", "no data") for result in results)


# ---------------------------------------------------------------------------------------------
# variables

def _js_regex(pattern: str) -> re.Pattern[str]:
    """A Grafana variable regex (`/re/flags` or a bare, anchored pattern) as a Python regex."""
    flags = 0
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", pattern, flags=re.DOTALL)
    if match:
        body, js_flags = match.group(1), match.group(2)
        flags |= re.IGNORECASE if "i" in js_flags else 0
        flags |= re.MULTILINE if "m" in js_flags else 0
        flags |= re.DOTALL if "s" in js_flags else 0
    else:
        body = f"^{pattern}$"
    body = re.sub(r"\(\?<(?![=!])", "(?P<", body)  # JS named groups
    try:
        return re.compile(body, flags)
    except re.error as exc:
        raise UserError(f"invalid variable regex {pattern!r}: {exc}") from None


def apply_variable_regex(values: Sequence[str], regex: str | None) -> list[str]:
    """Grafana's variable regex: keep matching values; a capture group (or the named group
    `value`/`text`) replaces the value. Duplicates are dropped, order kept."""
    if not regex:
        return list(dict.fromkeys(values))
    pattern = _js_regex(regex)
    kept: list[str] = []
    for value in values:
        match = pattern.search(value)
        if not match:
            continue
        named = match.groupdict()
        picked = named.get("value") if named.get("value") is not None else named.get("text")
        if picked is not None:
            value = picked
        elif match.groups():
            value = match.group(1) if match.group(1) is not None else ""
        kept.append(value)
    return list(dict.fromkeys(kept))


def _natural_key(text: str) -> list[Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
            for part in re.split(r"(\d+)", text) if part]


def _first_number(text: str) -> float:
    match = re.search(r"\d+", text)
    return float(match.group(0)) if match else float("-inf")


def sort_variable_values(values: Sequence[str], sort: int | None) -> list[str]:
    """Grafana's variable `sort`: 0 none, 1/2 alphabetical, 3/4 numerical, 5/6 alphabetical
    case-insensitive, 7/8 natural (odd ascending, even descending)."""
    keys = {1: None, 2: None, 3: _first_number, 4: _first_number,
            5: str.lower, 6: str.lower, 7: _natural_key, 8: _natural_key}
    if not sort or sort not in keys:
        return list(values)
    return sorted(values, key=keys[sort], reverse=sort % 2 == 0)


def _custom_options(query: str) -> list[str]:
    """Options of a custom variable: comma-separated, `\\,` escapes a comma, `text : value` pairs."""
    options = []
    for raw in re.findall(r"(?:\\,|[^,])+", query or ""):
        item = raw.strip().replace("\\,", ",")
        pair = re.fullmatch(r"(.+?)\s+:\s+(.+)", item)
        options.append(pair.group(2).strip() if pair else item)
    return [option for option in options if option != ""]


def _current_values(variable: Mapping[str, Any]) -> list[str]:
    current = (variable.get("current") or {}).get("value")
    if current is None:
        return []
    return [str(v) for v in current] if isinstance(current, list) else [str(current)]


def select_value(variable: Mapping[str, Any], options: Sequence[str]) -> VariableValue:
    """The value Grafana would use: the saved current value if still an option ("All" if it was
    All), else All when the variable has it, else the first option."""
    name = variable["name"]
    multi = bool(variable.get("multi"))
    include_all = bool(variable.get("includeAll"))
    all_value = variable.get("allValue") or None
    current = _current_values(variable)

    def all_selected() -> VariableValue:
        return VariableValue(name, tuple(options), multi, include_all, all_value, is_all=True)

    if include_all and ALL_VALUE in current:
        return all_selected()
    chosen = [value for value in current if value in options]
    if chosen:
        return VariableValue(name, tuple(chosen if multi else chosen[:1]), multi, include_all, all_value)
    if include_all:
        return all_selected()
    return VariableValue(name, tuple(options[:1]), multi, include_all, all_value)


def _variable_query_text(variable: Mapping[str, Any]) -> str:
    query = variable.get("query")
    if isinstance(query, Mapping):
        query = query.get("query") or query.get("rawQuery") or ""
    return str(query or variable.get("definition") or "")


def _interval_options(variable: Mapping[str, Any], context: QueryContext) -> tuple[list[str], str | None]:
    options = _custom_options(str(variable.get("query") or ""))
    auto_value = None
    if variable.get("auto"):
        # Grafana: range / auto_count, rounded, not below auto_min.
        count = int(variable.get("auto_count") or 30)
        auto_ms = round_interval_ms(context.time_range.range_ms / max(count, 1))
        auto_ms = max(auto_ms, parse_duration_ms(str(variable.get("auto_min") or "10s")))
        auto_value = format_duration_ms(auto_ms)
    return options, auto_value


def resolve_variables(
    model: Mapping[str, Any], datasource: LiveDatasource, time_range: TimeRange,
) -> tuple[dict[str, VariableValue], list[PanelResult]]:
    """Values for the dashboard's variables (in order, chained) and one result per query
    variable. Datasource and ad hoc variables are ignored."""
    values: dict[str, VariableValue] = {}
    results: list[PanelResult] = []
    context = datasource.context(time_range)
    for variable in (model.get("templating") or {}).get("list") or []:
        name, kind = variable.get("name"), variable.get("type", "query")
        if not name or kind in ("datasource", "adhoc", "groupby"):
            continue
        if kind == "constant":
            values[name] = VariableValue.single(name, str(variable.get("query") or ""))
        elif kind == "textbox":
            current = _current_values(variable)
            values[name] = VariableValue.single(name, current[0] if current else str(variable.get("query") or ""))
        elif kind == "custom":
            options = [str(o.get("value")) for o in variable.get("options") or []
                       if o.get("value") not in (None, ALL_VALUE)] or _custom_options(str(variable.get("query") or ""))
            values[name] = select_value(variable, options)
        elif kind == "interval":
            options, auto_value = _interval_options(variable, context)
            selected = select_value(variable, options)
            current = _current_values(variable)
            if auto_value and (not current or current[0].startswith("$__auto_interval") or current[0] == "auto"):
                selected = VariableValue.single(name, auto_value)
            values[name] = selected
        elif kind == "query":
            values[name], result = _resolve_query_variable(variable, datasource, context, values)
            results.append(result)
    return values, results


def _resolve_query_variable(
    variable: Mapping[str, Any], datasource: LiveDatasource, context: QueryContext,
    known: Mapping[str, VariableValue],
) -> tuple[VariableValue, PanelResult]:
    name = variable["name"]
    query = _variable_query_text(variable)
    interpolated = interpolate(query, known, datasource.dialect, context)
    error = None
    options: list[str] = []
    try:
        raw = datasource.variable_values(query, context, known)
        options = sort_variable_values(apply_variable_regex(raw, variable.get("regex")), variable.get("sort"))
        if not options:
            error = "variable query returned no values" if not raw else "variable regex matched no values"
    except UserError as exc:
        error = str(exc)
    value = select_value(variable, options)
    result = PanelResult(f"${name}", VARIABLES_ROW, VARIABLE_REF_ID, query, interpolated,
                         len(options), error, point_count=len(options))
    return value, result


# ---------------------------------------------------------------------------------------------
# panels

def iter_panels(model: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(row title, panel) for every non-row panel, including those in collapsed rows and in the
    legacy `rows[]` layout. Expanded rows own the panels that follow them."""
    row_title = ""
    for panel in model.get("panels") or []:
        if panel.get("type") == "row":
            row_title = str(panel.get("title") or "")
            for child in panel.get("panels") or []:
                yield row_title, child
            continue
        yield row_title, panel
    for row in model.get("rows") or []:
        for panel in row.get("panels") or []:
            yield str(row.get("title") or ""), panel


def _datasource_type(reference: Any) -> str | None:
    if isinstance(reference, Mapping):
        return reference.get("type")
    return None  # a legacy name or a `${DS}` variable: cannot tell, so it is ours


def _runs_on(target: Mapping[str, Any], panel: Mapping[str, Any], datasource: LiveDatasource) -> bool:
    kind = _datasource_type(target.get("datasource")) or _datasource_type(panel.get("datasource"))
    return kind in (None, "", datasource.plugin_type, "datasource") or kind.startswith("$")


def _panel_context(
    panel: Mapping[str, Any], target: Mapping[str, Any], datasource: LiveDatasource,
    time_range: TimeRange, variables: Mapping[str, VariableValue],
) -> QueryContext:
    interval = target.get("interval") or panel.get("interval") or None
    if interval:
        interval = interpolate(str(interval), variables, Dialect.PLAIN).lstrip(">").strip() or None
        try:
            parse_duration_ms(interval or "")
        except ValueError:
            interval = None
    max_points = panel.get("maxDataPoints")
    return datasource.context(time_range, interval=interval,
                              max_data_points=int(max_points) if max_points else None)


def _repeat_scopes(
    panel: Mapping[str, Any], variables: Mapping[str, VariableValue],
) -> list[dict[str, VariableValue]]:
    """Variable sets a panel renders with: one per value of its `repeat` variable."""
    repeat = panel.get("repeat")
    if not repeat or repeat not in variables or not variables[repeat].values:
        return [dict(variables)]
    variable = variables[repeat]
    # Each clone sees one value, but keeps the variable's multi/all flags (Grafana's repeat
    # clones do), so Prometheus still regex-escapes it: `=~"$var"` works, `="$var"` may not.
    return [{**variables, repeat: VariableValue(repeat, (value,), variable.multi, variable.include_all)}
            for value in variable.values]


def verify_dashboard(
    model: Mapping[str, Any], datasource: LiveDatasource, time_range: TimeRange,
) -> list[PanelResult]:
    """Run every visible target of a dashboard model against `datasource` over `time_range`.

    Returns variable results first, then one result per target in dashboard order."""
    variables, results = resolve_variables(model, datasource, time_range)
    for row_title, panel in iter_panels(model):
        for scope in _repeat_scopes(panel, variables):
            title = interpolate(str(panel.get("title") or ""), scope, Dialect.PLAIN)
            for target in panel.get("targets") or []:
                if target.get("hide") or not _runs_on(target, panel, datasource):
                    continue
                results.append(_run_target(title, row_title, panel, target, datasource, time_range, scope))
    return results


def _run_target(
    title: str, row_title: str, panel: Mapping[str, Any], target: Mapping[str, Any],
    datasource: LiveDatasource, time_range: TimeRange, variables: Mapping[str, VariableValue],
) -> PanelResult:
    ref_id = str(target.get("refId") or "")
    query = str(target.get(datasource.query_field) or "")
    if not query.strip():
        reason = ("InfluxQL builder target (only raw queries are run)"
                  if datasource.plugin_type == "influxdb" and target.get("measurement") else "no query text")
        return PanelResult(title, row_title, ref_id, "", "", 0, None, skipped=reason)
    context = _panel_context(panel, target, datasource, time_range, variables)
    instant = bool(target.get("instant")) and not target.get("range")
    try:
        outcome = datasource.run(query, context, variables, instant=instant)
    except AirflowDashError as exc:
        return PanelResult(title, row_title, ref_id, query, "", 0, str(exc))
    return PanelResult(title, row_title, ref_id, query, outcome.interpolated,
                       outcome.series_count, outcome.error, outcome.point_count, series=outcome.series)


# ---------------------------------------------------------------------------------------------
# report

_STATUS_ORDER = {"error": 0, "no data": 1, "skipped": 2, "ok": 3}


def format_results(results: Sequence[PanelResult], width: int = 80) -> str:
    """A plain-text table, problems first (errors, then panels without data), then the rest.

    The detail column shows the error, the skip reason, or for a panel without data the query
    as it was sent, so the reader sees which variable value emptied it."""
    ordered = sorted(results, key=lambda r: _STATUS_ORDER[r.status])  # stable: dashboard order kept
    header = ("STATUS", "ROW", "PANEL", "REF", "SERIES", "DETAIL")
    rows = []
    for result in ordered:
        detail = result.error or result.skipped or (
            result.interpolated if result.status == "no data" else "")
        rows.append((result.status.upper(), result.row_title, result.panel_title, result.ref_id,
                     str(result.series_count), one_line(detail, width)))
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i])
              for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    counts = {status: sum(1 for r in results if r.status == status) for status in _STATUS_ORDER}
    lines.append("")
    lines.append(", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER))
    return "\n".join(lines) + "\n"


def dashboard_time_range(model: Mapping[str, Any], last: str | None = None) -> TimeRange:
    """`last` (e.g. "1h") when given, else the dashboard's own relative range (`now-6h` → 6h)."""
    if last is None:
        start = str(model.get("time", {}).get("from", "now-6h"))
        last = start[len("now-"):] if start.startswith("now-") else "6h"
    return TimeRange.last(last)


def verify_compiled(
    dashboards: Sequence[Any], datasource: LiveDatasource, last: str | None = None
) -> list[tuple[Any, list[PanelResult]]]:
    """`verify_dashboard` for each compiled dashboard (anything with `.model`), over its own time range."""
    return [(d, verify_dashboard(d.model, datasource, dashboard_time_range(d.model, last))) for d in dashboards]
