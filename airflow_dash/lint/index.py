"""Index a dashboard model once for all rules: panels with their rows, queries with their language, variables.

Grafana's panel list is flat for open rows (a row is followed by its panels) and nested for collapsed rows
(the row holds its panels); legacy dashboards (schemaVersion < 16) have `rows[].panels[]` instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

from airflow_dash.lint.model import DashboardDocument, PanelInfo, QueryInfo, suppressed_ids
from airflow_dash.validate.grafana_vars import find_variable_refs

PROMETHEUS_TYPES = frozenset({"prometheus"})
INFLUX_TYPES = frozenset({"influxdb", "grafana-influxdb-flux-datasource"})
OUR_TYPES = PROMETHEUS_TYPES | INFLUX_TYPES
# The datasource types a language's queries can run on.
LANGUAGE_TYPES = {"promql": PROMETHEUS_TYPES, "flux": INFLUX_TYPES, "influxql": INFLUX_TYPES}
MIXED = "mixed"
# Grafana's pseudo datasources: not ours to check, never hard-coded in a bad way.
BUILTIN_UIDS = frozenset({"-- Grafana --", "grafana", "-- Mixed --", "-- Dashboard --"})
INFLUXQL_START = re.compile(r"^\s*(SELECT|SHOW)\b", re.IGNORECASE)
FLUX_MARKERS = re.compile(r"\|>|\bfrom\s*\(|^\s*import\s+\"|\bbuckets\s*\(\s*\)")
# Target keys that hold display patterns, not queries: `$tag_host`/`$col` in an InfluxQL alias are alias
# patterns, `{{instance}}` in a legend is a label reference; neither is a template variable.
NON_QUERY_KEYS = frozenset({"alias", "legendFormat", "refId", "hide", "datasource"})


def detect_language(target: dict[str, Any]) -> str | None:
    """promql for `expr`; influxql for SELECT/SHOW; flux for pipelines; influxql for other raw queries.

    Flux markers are checked before `rawQuery`: Grafana keeps `rawQuery: true` on targets switched from the
    InfluxQL editor to Flux (real dashboards have it), so `rawQuery` alone cannot mean InfluxQL.
    """
    if isinstance(target.get("expr"), str):
        return "promql"
    query = target.get("query")
    if not isinstance(query, str) or not query.strip():
        return None
    if INFLUXQL_START.match(query):
        return "influxql"
    if FLUX_MARKERS.search(query):
        return "flux"
    if target.get("rawQuery") is True:
        return "influxql"
    return None


def query_text(target: dict[str, Any]) -> str | None:
    for key in ("expr", "query"):
        value = target.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def variable_query_text(variable: dict[str, Any]) -> str | None:
    query = variable.get("query")
    if isinstance(query, dict):  # newer Grafana: {"query": "...", "refId": "..."}
        query = query.get("query")
    return query if isinstance(query, str) and query.strip() else None


def is_variable_reference(text: str) -> bool:
    refs = find_variable_refs(text)
    return len(refs) == 1 and refs[0].start == 0 and refs[0].end == len(text.strip())


def strings_in(value: object, skip_keys: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every string inside a JSON value (keys in `skip_keys` are skipped at every level)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip_keys:
                yield from strings_in(item, skip_keys)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item, skip_keys)


@dataclass(frozen=True)
class LintedDashboard:
    document: DashboardDocument
    panels: tuple[PanelInfo, ...] = field(default=())

    @classmethod
    def of(cls, document: DashboardDocument) -> "LintedDashboard":
        return cls(document, tuple(_walk_panels(document.model)))

    @property
    def model(self) -> dict[str, Any]:
        return self.document.model

    @cached_property
    def variables(self) -> dict[str, dict[str, Any]]:
        templating = self.model.get("templating")
        items = templating.get("list", []) if isinstance(templating, dict) else []
        return {v["name"]: v for v in items if isinstance(v, dict) and isinstance(v.get("name"), str)}

    @cached_property
    def import_inputs(self) -> dict[str, dict[str, Any]]:
        """`__inputs` of an exported dashboard: `${DS_X}` placeholders Grafana fills in on import."""
        return {i["name"]: i for i in self.model.get("__inputs", []) or [] if isinstance(i, dict) and "name" in i}

    @cached_property
    def suppressed(self) -> frozenset[str]:
        return suppressed_ids(self.model.get("description"))

    def suppressed_for(self, panel: PanelInfo | None) -> frozenset[str]:
        return self.suppressed | (suppressed_ids(panel.panel.get("description")) if panel else frozenset())

    def datasource_type(self, datasource: object) -> str | None:
        """The plugin id a datasource reference points at: from its `type`, its variable, or `__inputs`."""
        if isinstance(datasource, dict):
            kind, uid = datasource.get("type"), datasource.get("uid")
            if uid == "-- Mixed --":
                return MIXED
            if isinstance(kind, str) and kind and kind != "datasource":
                return kind
            return self.datasource_type(uid) if isinstance(uid, str) else (kind or None)
        if not isinstance(datasource, str) or not datasource:
            return None
        if datasource == "-- Mixed --":
            return MIXED
        refs = find_variable_refs(datasource)
        if refs:
            name = refs[0].name
            variable = self.variables.get(name)
            query = variable.get("query") if variable else None
            if variable and variable.get("type") == "datasource" and isinstance(query, str):
                return query
            plugin = (self.import_inputs.get(name) or {}).get("pluginId")
            if isinstance(plugin, str):
                return plugin
        return None  # a datasource name or uid: its type is not in the dashboard

    @cached_property
    def queries(self) -> tuple[QueryInfo, ...]:
        found: list[QueryInfo] = []
        for variable in self.variables.values():
            text = variable_query_text(variable)
            if variable.get("type") != "query" or text is None:
                continue
            kind = self.datasource_type(variable.get("datasource"))
            language: str | None
            if kind in PROMETHEUS_TYPES:
                language = "promql"
            elif kind is None or kind in INFLUX_TYPES:
                language = detect_language({"query": text})
            else:
                language = None
            found.append(QueryInfo(text, language, kind, None, variable=variable["name"], target=variable))
        for info in self.panels:
            panel_type = self.datasource_type(info.panel.get("datasource"))
            for target in info.panel.get("targets") or []:
                if not isinstance(target, dict):
                    continue
                text = query_text(target)
                if text is None:
                    continue  # builder-mode InfluxQL and other structured targets: no text to check
                kind = self.datasource_type(target.get("datasource")) or panel_type
                if kind == MIXED:
                    kind = None
                # Loki, Elasticsearch, TestData... also use `expr`/`query`: not languages we check.
                language = detect_language(target) if kind is None or kind in OUR_TYPES else None
                found.append(QueryInfo(text, language, kind, info, ref_id=str(target.get("refId", "-")), target=target))
        return tuple(found)


def _walk_panels(model: dict[str, Any]) -> Iterator[PanelInfo]:
    index = 0
    row_title: str | None = None
    for panel in model.get("panels", []) or []:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            row_title = str(panel.get("title") or "")
            row_index = index
            yield PanelInfo(panel, None, index)
            index += 1
            for child in panel.get("panels", []) or []:
                if isinstance(child, dict):
                    yield PanelInfo(child, row_title, index, holder=row_index)
                    index += 1
            continue
        yield PanelInfo(panel, row_title, index)
        index += 1
    for row in model.get("rows", []) or []:  # legacy schema: rows hold panels without gridPos
        if not isinstance(row, dict):
            continue
        for child in row.get("panels", []) or []:
            if isinstance(child, dict):
                yield PanelInfo(child, str(row.get("title") or ""), index, legacy=True)
                index += 1
