"""The lint rules. Each is a `Rule` (id, severity, one-line summary) registered with its check function.

Ids are grouped: AD1xx queries, AD2xx variables and datasources, AD3xx PromQL practice, AD4xx Flux and
InfluxQL practice, AD5xx layout and dashboard hygiene. Ids are stable: suppressions and CI logs refer to them.
A check yields `(panel or None, message)` for one dashboard, except query-valid, which sees every
dashboard at once so each language's checker runs once (Flux: one node process for everything).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Sequence, TypeGuard, TypeVar, overload

from airflow_dash.lint import promql_ast
from airflow_dash.lint.index import (
    BUILTIN_UIDS,
    LANGUAGE_TYPES,
    MIXED,
    NON_QUERY_KEYS,
    LintedDashboard,
    detect_language,
    is_variable_reference,
    query_text,
    strings_in,
    variable_query_text,
)
from airflow_dash.lint.model import PanelInfo, QueryInfo, Rule, Severity
from airflow_dash.validate.grafana_vars import find_variable_refs

if TYPE_CHECKING:  # imported where used at run time: promql_parser loads a native extension
    import promql_parser

# A per-dashboard check yields (panel or None, message); a rule's check yields them with their dashboard.
PanelProblem = tuple[PanelInfo | None, str]
DashboardProblem = tuple[LintedDashboard, PanelInfo | None, str]
DashboardRule = Rule[Sequence[LintedDashboard], DashboardProblem]
DashboardCheck = TypeVar("DashboardCheck", bound=Callable[[LintedDashboard], Iterable[PanelProblem]])
BatchCheck = TypeVar("BatchCheck", bound=Callable[[Sequence[LintedDashboard]], Iterable[DashboardProblem]])

RULES: dict[str, DashboardRule] = {}

GRID_COLUMNS = 24
# Grafana's own variables that need no definition: every `__name`, plus the InfluxQL time filter and the
# pre-7 `$interval`.
GLOBAL_VARIABLES = frozenset({"timeFilter", "interval"})
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
# Where reading a raw counter is right: the rate family turns it into a rate, and the rest only look at
# whether or when a series exists, never at its value.
COUNTER_SAFE_FUNCTIONS = frozenset(
    {"rate", "irate", "increase", "resets", "changes", "absent", "absent_over_time", "present_over_time",
     "count_over_time", "timestamp"}
)  # fmt: skip
# `count(node_cpu_seconds_total{mode="idle"})` counts series (CPU cores): the counter's value is never read.
COUNTER_SAFE_AGGREGATIONS = frozenset({"count", "group"})
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
# Variables that pick the monitored target; a panel that ignores them shows every target whatever is chosen.
INSTANCE_LIKE = frozenset({"instance", "job", "host", "hostname", "node"})
LABEL_VALUES_LABEL = re.compile(r"label_values\s*\((?:.*,)?\s*(\w+)\s*\)\s*$", re.DOTALL)
LEGACY_PANEL_TYPES = frozenset(
    {"graph", "singlestat", "table-old", "grafana-singlestat-panel", "grafana-piechart-panel",
     "grafana-worldmap-panel", "flant-statusmap-panel"}
)  # fmt: skip
LEGACY_DASHBOARD_FIELDS = ("rows", "sharedCrosshair", "hideControls", "style")
# Panels that show no numbers, so a unit means nothing for them.
UNITLESS_PANEL_TYPES = frozenset(
    {"row", "text", "news", "dashlist", "alertlist", "annotationslist", "logs", "nodeGraph", "traces",
     "welcome", "gettingstarted", "canvas", "flamegraph"}
)  # fmt: skip
UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
INFLUXQL_AGGREGATE = re.compile(
    r"\b(mean|median|mode|sum|count|distinct|integral|spread|stddev|max|min|percentile)\s*\(", re.IGNORECASE
)
INFLUXQL_GROUP_BY_TIME = re.compile(r"\bGROUP\s+BY\b.*?\btime\s*\(\s*([^),]+)", re.IGNORECASE | re.DOTALL)


@overload
def rule(rule_id: str, name: str, severity: Severity, summary: str,
         per_dashboard: Literal[True] = True) -> Callable[[DashboardCheck], DashboardCheck]: ...
@overload
def rule(rule_id: str, name: str, severity: Severity, summary: str,
         per_dashboard: Literal[False]) -> Callable[[BatchCheck], BatchCheck]: ...
def rule(rule_id: str, name: str, severity: Severity, summary: str,
         per_dashboard: bool = True) -> Callable[[Callable[[Any], Iterable[Any]]], Callable[[Any], Iterable[Any]]]:
    """Register a check as a rule. Per-dashboard checks yield (panel, message); batch checks (dashboard, panel, message)."""

    def register(check: Callable[[Any], Iterable[Any]]) -> Callable[[Any], Iterable[Any]]:
        if per_dashboard:
            per: Callable[[LintedDashboard], Iterable[PanelProblem]] = check

            def batch(dashboards: Sequence[LintedDashboard]) -> Iterator[DashboardProblem]:
                for dashboard in dashboards:
                    for panel, message in per(dashboard):
                        yield dashboard, panel, message

            RULES[rule_id] = Rule(rule_id, name, severity, summary, batch)
        else:
            RULES[rule_id] = Rule(rule_id, name, severity, summary, check)
        return check

    return register


def _panel_queries(dashboard: LintedDashboard, language: str) -> Iterable[QueryInfo]:
    return (q for q in dashboard.queries if q.panel is not None and q.language == language)


# --- AD1xx: queries ------------------------------------------------------------------------------------------


@rule("AD101", "query-valid", "error", "Every query parses and type-checks for its language (PromQL, Flux, InfluxQL).", per_dashboard=False)
def query_valid(dashboards: Sequence[LintedDashboard]) -> Iterator[DashboardProblem]:
    from airflow_dash.validate import check_queries

    by_language: dict[str, list[tuple[LintedDashboard, QueryInfo]]] = defaultdict(list)
    for dashboard in dashboards:
        for query in dashboard.queries:
            if query.language:
                by_language[query.language].append((dashboard, query))
    for language, items in sorted(by_language.items()):
        results = check_queries(language, [query.text for _, query in items])
        for (dashboard, query), problems in zip(items, results):
            for problem in problems:
                yield dashboard, query.panel, f"{query.where}: {problem}"


@rule("AD102", "datasource-language", "error", "A query's datasource type matches its language (PromQL on prometheus, Flux/InfluxQL on influxdb).")
def datasource_language(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query in dashboard.queries:
        kind = query.datasource_type
        if query.language and kind and kind != MIXED and kind not in LANGUAGE_TYPES[query.language]:
            yield query.panel, f"{query.where} is {query.language} but its datasource is of type {kind!r}"


@rule("AD103", "raw-query", "warning", "Queries are built with the typed builders; a raw query (`promql.raw(...)`, `flux.raw(...)`, `influxql.raw(...)`) is flagged for review.")
def raw_query(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    raw = dashboard.document.raw_queries
    if not raw:
        return
    for query in dashboard.queries:
        if query.panel is not None and (query.panel.title, query.ref_id) in raw:
            yield query.panel, (
                f"{query.where} is raw {query.language} text: not escaped or filtered by the dashboard's variables "
                "by airflow-dash; check it by hand"
            )


# --- AD2xx: variables and datasources ------------------------------------------------------------------------


def _used_strings(dashboard: LintedDashboard) -> Iterable[tuple[PanelInfo | None, str]]:
    """Everything that may reference a variable, with the panel it belongs to."""
    model = dashboard.model
    for key in ("title",):
        if isinstance(model.get(key), str):
            yield None, model[key]
    for variable in dashboard.variables.values():
        for text in strings_in({k: variable.get(k) for k in ("query", "datasource", "regex")}):
            yield None, text
    for info in dashboard.panels:
        panel = info.panel
        for text in strings_in({k: panel.get(k) for k in ("title", "datasource", "repeat", "interval")}):
            yield info, text
        for target in panel.get("targets") or []:
            if not isinstance(target, dict):
                continue
            for text in _target_strings(target):
                yield info, text
            for text in strings_in(target.get("datasource")):
                yield info, text


def _target_strings(target: dict[str, Any]) -> Iterable[str]:
    """The strings of a target Grafana interpolates: the query text when it runs as text, else the builder fields.

    A target switched from the InfluxQL builder to raw text or Flux keeps its old builder fields (`tags`,
    `groupBy`...); Grafana ignores them, so variables there are neither used nor missing.
    """
    text = query_text(target)
    if text is not None and (target.get("rawQuery") is True or detect_language(target) in ("promql", "flux")):
        return [text]
    return list(strings_in(target, NON_QUERY_KEYS))


def _defined(dashboard: LintedDashboard) -> set[str]:
    return set(dashboard.variables) | set(dashboard.import_inputs)


def _is_global(name: str) -> bool:
    # `$1` is a regex back-reference (label_replace), not a variable.
    return name.startswith("__") or name in GLOBAL_VARIABLES or name.isdigit()


@rule("AD201", "undefined-variable", "error", "Every `$var`, `${var...}` and `[[var]]` used is defined (Grafana globals `__*`, `timeFilter`, `interval` excepted).")
def undefined_variable(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    defined = _defined(dashboard)
    reported: set[tuple[int, str]] = set()
    for info, text in _used_strings(dashboard):
        for ref in find_variable_refs(text):
            key = (info.index if info else -1, ref.name)
            if ref.name in defined or _is_global(ref.name) or key in reported:
                continue
            reported.add(key)
            yield info, f"variable ${ref.name} is used but not defined"


@rule("AD202", "unused-variable", "warning", "Every defined variable is used by a query, title, datasource, repeat or another variable.")
def unused_variable(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    used = {ref.name for _, text in _used_strings(dashboard) for ref in find_variable_refs(text)}
    used |= {info.panel["repeat"] for info in dashboard.panels if isinstance(info.panel.get("repeat"), str)}
    for name, variable in dashboard.variables.items():
        if variable.get("type") == "adhoc":  # ad-hoc filters apply to every query without being referenced
            continue
        if name not in used:
            yield None, f"variable ${name} is defined but never used"


def _hard_coded(dashboard: LintedDashboard, datasource: object) -> str | None:
    """The uid or name of a datasource reference that is neither a variable nor a known uid."""
    from airflow_dash.backends import BACKENDS

    known = BUILTIN_UIDS | {backend.default_datasource_uid for backend in BACKENDS.values()}
    value = datasource.get("uid") if isinstance(datasource, dict) else datasource
    if not isinstance(value, str) or not value or value in known or is_variable_reference(value):
        return None
    return value


@rule("AD203", "datasource-variable", "warning", "Datasources come from a variable (`${datasource}`) or a known uid, so the dashboard works in every Grafana.")
def datasource_variable(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for variable in dashboard.variables.values():
        value = _hard_coded(dashboard, variable.get("datasource"))
        if value:
            yield None, f"variable {variable['name']} uses hard-coded datasource {value!r}"
    for info in dashboard.panels:
        sources = [info.panel.get("datasource")] + [t.get("datasource") for t in info.panel.get("targets") or [] if isinstance(t, dict)]
        values = sorted({v for v in (_hard_coded(dashboard, s) for s in sources) if v})
        if values:
            yield info, f"hard-coded datasource {', '.join(map(repr, values))}: use a datasource variable"


def _languages_using(dashboard: LintedDashboard, variable_name: str) -> set[str]:
    """Languages of the queries whose datasource is this picker."""
    languages: set[str] = set()
    for query in dashboard.queries:
        datasource = query.target.get("datasource") if query.target else None
        if query.panel is not None and datasource is None:
            datasource = query.panel.panel.get("datasource")
        refs = [r.name for r in find_variable_refs(str(datasource.get("uid") if isinstance(datasource, dict) else datasource or ""))]
        if variable_name in refs and query.language:
            languages.add(query.language)
    return languages


@rule("AD204", "datasource-picker", "error", "A data source variable offers the data source we provision for its queries' language and none of another language sharing its plugin type (Grafana matches `regex` against data source names).")
def datasource_picker(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    from airflow_dash.backends import BACKENDS, grafana_regex, picker_offers

    for variable in dashboard.variables.values():
        if variable.get("type") != "datasource" or not isinstance(variable.get("query"), str):
            continue
        regex = variable.get("regex") or ""
        try:
            grafana_regex(regex) if regex else None
        except ValueError as exc:
            yield None, f"data source variable {variable['name']}: Grafana cannot read its regex: {exc}"
            continue
        languages = _languages_using(dashboard, variable["name"])
        for backend in BACKENDS.values():
            if backend.datasource_type != variable["query"] or not languages:
                continue
            offered = picker_offers(regex, backend.default_datasource_name)
            if backend.language in languages and not offered:
                yield None, (f"data source variable {variable['name']} (regex {regex!r}) does not offer "
                             f"{backend.default_datasource_name!r}, the {backend.language} data source we provision: "
                             "Grafana tests the regex against data source names")
            elif backend.language not in languages and offered:
                yield None, (f"data source variable {variable['name']} (regex {regex!r}) offers "
                             f"{backend.default_datasource_name!r}, a {backend.language} data source, to "
                             f"{'/'.join(sorted(languages))} queries: the plugin type is the same, only the name tells them apart")


# --- AD3xx: PromQL practice ------------------------------------------------------------------------------------


def _promql_trees(dashboard: LintedDashboard) -> Iterator[tuple[QueryInfo, promql_parser.Expr]]:
    for query in _panel_queries(dashboard, "promql"):
        tree = promql_ast.parse_for_lint(query.text)
        if tree is not None:
            yield query, tree


def _is_counter(name: str | None) -> TypeGuard[str]:
    # Recording rules (`job:x_total:rate5m`) already hold rates: a colon marks them.
    return name is not None and ":" not in name and name.endswith(COUNTER_SUFFIXES)


def _reads_counter_safely(node: promql_parser.Expr) -> bool:
    import promql_parser as P

    if isinstance(node, P.AggregateExpr):
        return str(node.op) in COUNTER_SAFE_AGGREGATIONS
    return promql_ast.function_name(node) in COUNTER_SAFE_FUNCTIONS


@rule("AD301", "counter-rate", "error", "Counters (`*_total`, `*_count`, `*_sum`, `*_bucket`) are read only through rate/irate/increase/resets/changes.")
def counter_rate(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query, tree in _promql_trees(dashboard):
        bare = []
        for selector, ancestors in promql_ast.vector_selectors(tree):
            name = promql_ast.metric_name(selector)
            if _is_counter(name) and not any(_reads_counter_safely(a) for a in ancestors):
                bare.append(name)
        if bare:
            yield query.panel, f"{query.where}: counter {', '.join(sorted(set(bare)))} read without rate()/increase()"


@rule("AD302", "rate-interval", "warning", "rate/irate use `[$__rate_interval]` as their range (increase() windows: AD305).")
def rate_interval(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    import promql_parser as P

    for query, tree in _promql_trees(dashboard):
        for node, _ in promql_ast.walk(tree):
            if not isinstance(node, P.Call):
                continue
            name = node.func.name
            if name not in RATE_FUNCTIONS - {"increase"} or not node.args or not isinstance(node.args[0], P.MatrixSelector):
                continue
            if node.args[0].range != promql_ast.RATE_INTERVAL_SENTINEL:
                yield query.panel, f"{query.where}: {name}() over a fixed range: use [$__rate_interval]"
                break


def _drops_le(aggregation: promql_parser.AggregateExpr) -> bool:
    import promql_parser as P

    modifier = aggregation.modifier
    if modifier is None:
        return True
    keeps = "le" in modifier.labels
    return not keeps if modifier.type == P.AggModifierType.By else keeps


@rule("AD303", "histogram-quantile", "error", "histogram_quantile reads `rate(..._bucket[...])` and every aggregation in between keeps `le` (`by (le, ...)`).")
def histogram_quantile(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    import promql_parser as P

    for query, tree in _promql_trees(dashboard):
        for node, _ in promql_ast.walk(tree):
            if not isinstance(node, P.Call) or node.func.name != "histogram_quantile" or len(node.args) < 2:
                continue
            for selector, ancestors in promql_ast.walk(node.args[1]):
                if not isinstance(selector, P.VectorSelector):
                    continue
                name = promql_ast.metric_name(selector) or ""
                if not name.endswith("_bucket"):
                    continue  # native histograms have no _bucket series and no `le`
                if any(isinstance(a, P.AggregateExpr) and _drops_le(a) for a in ancestors):
                    yield query.panel, f"{query.where}: histogram_quantile over {name} aggregates `le` away: add `le` to `by (...)`"
                elif not any(promql_ast.function_name(a) in RATE_FUNCTIONS for a in ancestors):
                    yield query.panel, f"{query.where}: histogram_quantile over {name} without rate(): use rate({name}[$__rate_interval])"


def _instance_variables(dashboard: LintedDashboard) -> set[str]:
    names: set[str] = set()
    for name, variable in dashboard.variables.items():
        if variable.get("type") != "query":
            continue
        match = LABEL_VALUES_LABEL.search(variable_query_text(variable) or "")
        if name in INSTANCE_LIKE or (match and match.group(1) in INSTANCE_LIKE):
            names.add(name)
    return names


@rule("AD304", "instance-variable", "warning", "When the dashboard offers an instance/job-like variable, every selector filters by it.")
def instance_variable(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    wanted = _instance_variables(dashboard)
    if not wanted:
        return
    for query, tree in _promql_trees(dashboard):
        missing = sorted(
            {str(promql_ast.metric_name(s) or s) for s, _ in promql_ast.vector_selectors(tree) if not promql_ast.variables_in_matchers(s) & wanted}
        )
        if missing:
            choices = "/".join(f"${n}" for n in sorted(wanted))
            yield query.panel, f"{query.where}: {', '.join(missing)} not filtered by {choices}"


_INCREASE_WINDOW = re.compile(r"\bincrease\s*\((?:[^()\[\]]|\([^()]*\))*\[([^\]]+)\]")
STEP_WINDOWS = frozenset({"$__interval", "${__interval}"})
SINGLE_VALUE_PANELS = frozenset({"stat", "gauge", "bargauge", "table", "piechart"})


@rule("AD305", "increase-window", "warning", "increase() counts over exactly the step (`[$__interval]`, with a panel min interval of 4 scrapes), or over `[$__range]` in single-value panels: a wider window counts one event in several points, as fractions.")
def increase_window(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query in _panel_queries(dashboard, "promql"):
        single = query.panel is not None and query.panel.type in SINGLE_VALUE_PANELS
        for window in _INCREASE_WINDOW.findall(query.text):
            window = window.strip()
            if window in STEP_WINDOWS or (single and window in ("$__range", "${__range}")):
                continue
            yield query.panel, (f"{query.where}: increase(...[{window}]) spans more than one step: use "
                                "[$__interval] (and a panel min interval of 4 scrapes) to count per step")


# --- AD4xx: Flux and InfluxQL practice ---------------------------------------------------------------------------


def _calls(text: str, function: str) -> list[str]:
    """Argument text of every `function(...)` call, with balanced parentheses."""
    found: list[str] = []
    for match in re.finditer(rf"\b{function}\s*\(", text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                found.append(text[start:i])
                break
        else:
            found.append(text[start:])
    return found


def _named_argument(arguments: str, name: str) -> str | None:
    match = re.search(rf"\b{name}\s*:\s*([^,)]+)", arguments)
    return match.group(1).strip() if match else None


@rule("AD401", "flux-range", "error", "Flux `range()` uses `start: v.timeRangeStart` (and `stop: v.timeRangeStop`), so the time picker applies.")
def flux_range(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query in _panel_queries(dashboard, "flux"):
        ranges = _calls(query.text, "range")
        if not ranges:
            if re.search(r"\bfrom\s*\(", query.text):
                yield query.panel, f"{query.where}: from() without range(start: v.timeRangeStart, stop: v.timeRangeStop)"
            continue
        for arguments in ranges:
            start, stop = _named_argument(arguments, "start"), _named_argument(arguments, "stop")
            if start != "v.timeRangeStart" or stop not in (None, "v.timeRangeStop"):
                yield query.panel, f"{query.where}: range({' '.join(arguments.split())}) ignores the dashboard time range"
                break


@rule("AD402", "flux-window-period", "warning", "Flux `aggregateWindow()`/`window()` use `every: v.windowPeriod`, so resolution follows the panel width.")
def flux_window_period(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query in _panel_queries(dashboard, "flux"):
        for function in ("aggregateWindow", "window"):
            for arguments in _calls(query.text, function):
                every = _named_argument(arguments, "every")
                if every != "v.windowPeriod":
                    yield query.panel, f"{query.where}: {function}(every: {every}) instead of v.windowPeriod"


def _statsd_counter_measurements() -> frozenset[str]:
    """Measurements Telegraf writes StatsD counters to (per-flush counts, `delete_counters`): our naming table."""
    from airflow_dash.catalog.airflow_metrics import COUNTER, telegraf_metrics

    return frozenset(m.telegraf_measurement for m in telegraf_metrics() if m.statsd_type == COUNTER)


_FLUX_MEASUREMENT = re.compile(r'r\._measurement\s*==\s*"([^"]+)"')
_INFLUXQL_MEASUREMENT = re.compile(r'\bFROM\s+"([^"]+)"', re.IGNORECASE)


def _counter_queries(dashboard: LintedDashboard) -> Iterator[tuple[QueryInfo, str, list[str]]]:
    counters = _statsd_counter_measurements()
    for language, pattern in (("flux", _FLUX_MEASUREMENT), ("influxql", _INFLUXQL_MEASUREMENT)):
        for query in _panel_queries(dashboard, language):
            names = sorted(set(pattern.findall(query.text)) & counters)
            if names:
                yield query, language, names


@rule("AD403", "statsd-counter-sum", "error", "A StatsD counter on InfluxDB (per-flush counts) is summed per window (Flux `fn: sum`, InfluxQL `sum(`), never averaged or shown as raw points.")
def statsd_counter_sum(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query, language, names in _counter_queries(dashboard):
        summed = re.search(r"fn:\s*sum\b|\|>\s*sum\(", query.text) if language == "flux" else re.search(r"\bsum\s*\(", query.text, re.IGNORECASE)
        if not summed:
            yield query.panel, f"{query.where}: {', '.join(names)} holds per-flush counts: sum them per window"


@rule("AD404", "statsd-counter-idle-zero", "error", "Stat-like panels over StatsD counters on InfluxDB show 0 when idle: empty windows are created and filled with 0 (Flux `createEmpty: true` + `fill(value: 0.0)`, InfluxQL `fill(0)`); else they show the last busy window.")
def statsd_counter_idle_zero(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query, language, names in _counter_queries(dashboard):
        panel_type = query.panel.type if query.panel is not None else ""
        if panel_type not in SINGLE_VALUE_PANELS:
            continue
        if language == "flux":
            ok = "createEmpty: true" in query.text and re.search(r"\bfill\(\s*value:\s*0", query.text) is not None
        else:
            ok = re.search(r"\bfill\(\s*0\s*\)", query.text) is not None
        if not ok:
            yield query.panel, (f"{query.where}: {', '.join(names)} writes nothing while idle, so this "
                                f"{panel_type} keeps showing the last busy window: fill empty windows with 0")


def _select_statements(text: str) -> list[str]:
    return [s for s in text.split(";") if re.match(r"\s*SELECT\b", s, re.IGNORECASE)]


@rule("AD411", "influxql-time-filter", "error", "InfluxQL SELECTs filter on `$timeFilter`, so the time picker applies.")
def influxql_time_filter(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for query in _panel_queries(dashboard, "influxql"):
        if any("$timeFilter" not in s for s in _select_statements(query.text)):
            yield query.panel, f"{query.where}: SELECT without `WHERE ... $timeFilter`"


@rule("AD412", "influxql-group-by-interval", "warning", "InfluxQL aggregations `GROUP BY time($__interval)` (or `$interval`/an interval variable).")
def influxql_group_by_interval(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    interval_variables = {name for name, v in dashboard.variables.items() if v.get("type") == "interval"}
    accepted = {"$__interval", "$interval", "${__interval}", "${interval}"} | {f"${n}" for n in interval_variables} | {
        f"${{{n}}}" for n in interval_variables
    }
    for query in _panel_queries(dashboard, "influxql"):
        for statement in _select_statements(query.text):
            fields = re.split(r"\bFROM\b", statement, maxsplit=1, flags=re.IGNORECASE)[0]
            if not INFLUXQL_AGGREGATE.search(fields):
                continue
            group = INFLUXQL_GROUP_BY_TIME.search(statement)
            if group is None or group.group(1).strip() not in accepted:
                found = f"GROUP BY time({group.group(1).strip()})" if group else "no GROUP BY time()"
                yield query.panel, f"{query.where}: aggregation with {found}: use GROUP BY time($__interval)"
                break


# --- AD5xx: layout and hygiene -------------------------------------------------------------------------------


def grid_rect(info: PanelInfo) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of a panel; a row always spans the grid, one unit high, as Grafana draws it."""
    pos = info.grid_pos
    if pos is None:
        return None
    try:
        x, y, w, h = (int(pos.get(k, 0)) for k in ("x", "y", "w", "h"))
    except (TypeError, ValueError):
        return None
    return (0, y, GRID_COLUMNS, 1) if info.is_row else (x, y, w, h)


@rule("AD501", "grid-bounds", "error", "Every panel has a gridPos inside the 24-column grid (x ≥ 0, y ≥ 0, w > 0, h > 0, x + w ≤ 24).")
def grid_bounds(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for info in dashboard.panels:
        if info.legacy or info.is_row:
            # Pre-schema-16 panels have no gridPos (AD506 reports the legacy `rows`); Grafana lays rows out
            # full width whatever their gridPos says (generated dashboards often carry w=0).
            continue
        rect = grid_rect(info)
        if rect is None:
            yield info, "panel has no valid gridPos"
            continue
        x, y, w, h = rect
        problems = [p for p, bad in (("w ≤ 0", w <= 0), ("h ≤ 0", h <= 0), ("x < 0", x < 0), ("y < 0", y < 0),
                                     (f"x + w = {x + w} > {GRID_COLUMNS}", x + w > GRID_COLUMNS)) if bad]  # fmt: skip
        if problems:
            yield info, f"gridPos out of grid: {', '.join(problems)}"


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@rule("AD502", "grid-overlap", "error", "No two panels overlap (open rows and their panels share the top-level grid; each collapsed row's panels are checked together).")
def grid_overlap(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    groups: dict[int | None, list[tuple[PanelInfo, tuple[int, int, int, int]]]] = defaultdict(list)
    for info in dashboard.panels:
        rect = grid_rect(info)
        if rect is not None and not info.legacy and rect[2] > 0 and rect[3] > 0:
            groups[info.holder].append((info, rect))
    for members in groups.values():
        for i, (info, rect) in enumerate(members):
            for other, other_rect in members[:i]:
                if _overlaps(rect, other_rect):
                    yield info, f"overlaps panel '{other.title}' at x={other_rect[0]} y={other_rect[1]} w={other_rect[2]} h={other_rect[3]}"
                    break


@rule("AD503", "duplicate-title", "warning", "Panel titles are unique within a row, so readers and links can tell panels apart.")
def duplicate_title(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    seen: dict[tuple[str | None, str], PanelInfo] = {}
    for info in dashboard.panels:
        if info.is_row or not info.title or info.panel.get("repeat"):
            continue
        key = (info.row_title, info.title)
        if key in seen:
            row = f"row '{info.row_title}'" if info.row_title is not None else "the top of the dashboard"
            yield info, f"title '{info.title}' appears twice in {row}"
        else:
            seen[key] = info


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _array(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _has_unit(panel: dict[str, Any]) -> bool:
    field_config = _object(panel.get("fieldConfig"))
    unit = _object(field_config.get("defaults")).get("unit")
    if isinstance(unit, str) and unit.strip():
        return True
    # Tables and stats often set units per field; that counts. JSON files may hold anything here.
    for override in _array(field_config.get("overrides")):
        properties = _array(_object(override).get("properties"))
        if any(isinstance(p, dict) and p.get("id") == "unit" and p.get("value") for p in properties):
            return True
    return False


@rule("AD504", "panel-unit", "warning", "Every panel showing numbers sets a unit (`fieldConfig.defaults.unit`; `none` is a choice).")
def panel_unit(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for info in dashboard.panels:
        if "libraryPanel" in info.panel:
            continue  # a library panel's field config lives in the library panel, not in this dashboard
        if info.type not in UNITLESS_PANEL_TYPES and not _has_unit(info.panel):
            yield info, "no unit (fieldConfig.defaults.unit)"


@rule("AD505", "legacy-panel-type", "error", "No legacy (Angular) panel types: graph, singlestat, table-old, grafana-singlestat-panel, grafana-piechart-panel...")
def legacy_panel_type(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    for info in dashboard.panels:
        if info.type in LEGACY_PANEL_TYPES:
            yield info, f"legacy panel type {info.type!r}: use timeseries, stat, table, piechart..."


@rule("AD506", "legacy-dashboard-field", "warning", "No legacy top-level fields (rows, sharedCrosshair, hideControls, style).")
def legacy_dashboard_field(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    present = [name for name in LEGACY_DASHBOARD_FIELDS if name in dashboard.model]
    if present:
        yield None, f"legacy top-level field(s) {', '.join(present)}"


@rule("AD507", "stable-uid", "error", "The dashboard has a stable uid (1-40 of [A-Za-z0-9_-]) so links and publishing find it.")
def stable_uid(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    uid = dashboard.model.get("uid")
    if not isinstance(uid, str) or not uid:
        yield None, "dashboard has no uid: Grafana invents one per import, breaking links"
    elif not UID_PATTERN.match(uid):
        yield None, f"uid {uid!r} is not 1-40 characters of [A-Za-z0-9_-]"


# Top-level keys Grafana's schema does not list but that are legitimate: our publish marker, and the
# import placeholders of a dashboard exported "for sharing externally".
SCHEMA_EXTRA_TOP_LEVEL = ("airflowDash", "__inputs", "__requires", "__elements")


def _schema_findings(dashboard: LintedDashboard, kinds: frozenset[str]) -> Iterator[PanelProblem]:
    from airflow_dash.schemas import check_dashboard_fields, check_panel

    for problem in check_dashboard_fields(dashboard.model, allow_top_level=SCHEMA_EXTRA_TOP_LEVEL):
        if problem.kind in kinds:
            yield None, f"{problem.path}: {problem.message}"
    for info in dashboard.panels:
        if info.legacy:
            continue  # pre-schema-16 rows[] panels: AD506 reports the legacy layout itself
        for problem in check_panel(info.panel):
            if problem.kind in kinds:
                target = problem.where.split(" target ", 1)[1] if " target " in problem.where else ""
                yield info, (f"target {target}: " if target else "") + f"{problem.path}: {problem.message}"


@rule("AD508", "schema-unknown-field", "warning", "No fields that Grafana's published JSON Schemas do not know (dashboard, panel options and field config, Prometheus targets): usually a typo Grafana silently drops.")
def schema_unknown_field(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    from airflow_dash.schemas import UNKNOWN_FIELD

    yield from _schema_findings(dashboard, frozenset({UNKNOWN_FIELD}))


@rule("AD509", "schema-invalid-value", "error", "Enumerated and typed fields hold values Grafana's published JSON Schemas allow (e.g. legend displayMode, stat colorMode, target format).")
def schema_invalid_value(dashboard: LintedDashboard) -> Iterator[PanelProblem]:
    from airflow_dash.schemas import INVALID_VALUE, WRONG_TYPE

    yield from _schema_findings(dashboard, frozenset({INVALID_VALUE, WRONG_TYPE}))
