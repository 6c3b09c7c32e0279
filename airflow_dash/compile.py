"""Compile a backend-neutral `Dashboard` into modern Grafana dashboard JSON for one backend.

One serialization contract: `CompiledDashboard.to_json()` is canonical (sorted keys, 2-space indent, trailing
newline), so the same definitions always give byte-identical files, and diffs in pull requests show only
real changes. Panels are built with grafanalib's panel classes and then cleaned of the legacy fields
grafanalib still emits (`span`, `height`, `rows`, `sharedCrosshair`, old threshold steps...).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, MutableMapping, Sequence

import orjson

from airflow_dash.backends import BACKENDS, Backend
from airflow_dash.catalog.model import Unsupported
from airflow_dash.dashboard import BUNDLED_KEYS, Annotation, Dashboard, DashboardLink, RawAnnotation, RawLink, RawVariable, DimensionVariable
from airflow_dash.fast_json import orjson_when_exact
from airflow_dash.frozen import thaw
from airflow_dash.gc_pause import cyclic_gc_paused
from airflow_dash.layout import layout_rows
from airflow_dash.query.values import Variable
from airflow_dash.panels import AnyPanel, LibraryPanel, Panel, PanelLink, Query, RawPanel, Row, UrlLink

SCHEMA_VERSION = 41
MANAGED_TAG = "managed-by:airflow-dash"
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Keys a modern panel may carry; everything else grafanalib emits is legacy or noise.
_PANEL_KEYS = frozenset(
    {"id", "type", "title", "description", "datasource", "gridPos", "targets", "fieldConfig", "options",
     "transformations", "links", "interval", "maxDataPoints", "repeat", "repeatDirection", "maxPerRow",
     "collapsed", "panels", "pluginVersion"}
)  # fmt: skip


@dataclass(frozen=True)
class Omission:
    """Something left out for one backend, and why (shown by `airflow-dash list --verbose`)."""

    dashboard: str
    backend: str
    what: str  # "panel 'Title'", "query 'Title'/signal", "variable host"
    reason: str


@dataclass(frozen=True)
class CompiledQuery:
    """One target as compiled, with where it lives (for validation messages)."""

    dashboard: str
    backend: str
    language: str
    panel: str
    ref_id: str
    text: str
    raw: bool = False  # hand-written (`promql.raw(...)` etc.): lint flags it (AD103)


@dataclass(frozen=True)
class CompiledDashboard:
    """One dashboard compiled for one backend: the Grafana JSON (`model`), what was left out and why
    (`omissions`, `caveats`) and every query with where it lives (`queries`, for checks and lint).

    >>> from airflow_dash.bundled import host_basics
    >>> (compiled,) = compile_all([host_basics.dashboard], ["flux"])
    >>> compiled.uid, compiled.title, compiled.queries[0].language
    ('airflow-dash-host-basics-flux', 'Host basics · InfluxDB Flux', 'flux')
    """
    name: str  # the dashboard key (module in dashboards/)
    backend: str
    uid: str
    title: str
    folder: str | None
    model: dict[str, Any] = field(hash=False, compare=False)
    omissions: tuple[Omission, ...] = ()
    queries: tuple[CompiledQuery, ...] = ()
    caveats: tuple[Omission, ...] = ()  # panels whose quantity differs a little between stacks, and how

    def to_json(self) -> str:
        """The canonical JSON text (sorted keys, 2-space indent, trailing newline): what `build` writes.

        >>> from airflow_dash.bundled import host_basics
        >>> compile_all([host_basics.dashboard], ["prometheus"])[0].to_json().splitlines()[:2]
        ['{', '  "annotations": {']
        """
        return canonical_json(self.model)


def canonical_json(model: dict[str, Any]) -> str:
    """Sorted keys, 2-space indent, trailing newline: the bytes `reference_canonical_json` gives, faster.

    orjson writes the same text for everything a dashboard holds; what it refuses or might write differently
    goes through the reference (`airflow_dash.fast_json`). Non-finite floats are refused earlier, by
    `_clean_model`: json would write NaN, which is not JSON, and orjson null.
    """
    encoded = orjson_when_exact(model, orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return reference_canonical_json(model) if encoded is None else encoded.decode("utf-8") + "\n"


def reference_canonical_json(model: dict[str, Any]) -> str:
    """The definition of canonical JSON (the standard library's encoder); `canonical_json` must match it."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboard_uid(key: str, backend: Backend) -> str:
    """Stable, readable, at most 40 characters of [a-zA-Z0-9-_] as Grafana requires."""
    uid = f"airflow-dash-{key}-{backend.uid_suffix}"
    if len(uid) > 40:
        digest = hashlib.sha1(uid.encode()).hexdigest()[:8]
        uid = f"ad-{key[: 40 - len(backend.uid_suffix) - 14]}-{digest}-{backend.uid_suffix}"
    return uid


def dashboard_title(dashboard: Dashboard, backend: Backend) -> str:
    # Titles must differ per backend: Grafana 11 refuses two dashboards with one title in one folder.
    return f"{dashboard.title} · {backend.display_name}"


# --- panels -------------------------------------------------------------------------------------------------


def _grafanalib_panel(panel: Panel) -> Any:
    import grafanalib.core as G  # untyped: pyproject.toml [tool.mypy] ignores its missing stubs

    if panel.type == "timeseries":
        return G.TimeSeries(
            title=panel.title,
            drawStyle=panel.draw_style,
            fillOpacity=panel.fill_opacity,
            stacking={"mode": "normal", "group": "A"} if panel.stacked else {"mode": "none", "group": "A"},
            legendCalcs=list(panel.legend_calcs),
            legendDisplayMode="table" if panel.legend_calcs else "list",
            legendPlacement=panel.legend_placement,
            tooltipMode="multi",
            tooltipSort="desc",
            showPoints="never",
            spanNulls=True,
        )
    if panel.type in ("stat", "gauge", "bargauge"):
        return G.Stat(title=panel.title, reduceCalc=panel.reduce, graphMode="area" if panel.type == "stat" else "none")
    if panel.type == "table":
        return G.Table(title=panel.title)
    if panel.type == "text":
        return G.Text(title=panel.title, content=panel.content, mode="markdown")
    return None


_LEGEND = {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []}
_TOOLTIP = {"mode": "single", "sort": "none"}


def _kind_defaults(panel: Panel) -> tuple[dict[str, Any], dict[str, Any]]:
    """Grafana's defaults for the kinds grafanalib has no modern class for: (options, fieldConfig custom)."""
    reduce_options = {"calcs": [panel.reduce], "fields": "", "values": False}
    if panel.type == "state-timeline":
        options = {"mergeValues": True, "showValue": "auto", "alignValue": "left", "rowHeight": 0.9,
                   "legend": dict(_LEGEND), "tooltip": dict(_TOOLTIP)}
        return options, {"lineWidth": 0, "fillOpacity": 70}
    if panel.type == "heatmap":
        options = {"calculate": False, "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64,
                   "fill": "dark", "exponent": 0.5, "reverse": False}, "yAxis": {"axisPlacement": "left"},
                   "legend": {"show": True}, "tooltip": {"mode": "single", "yHistogram": False, "showColorScale": False},
                   "rowsFrame": {"layout": "auto"}, "showValue": "auto", "filterValues": {"le": 1e-9}}
        return options, {"hideFrom": {"legend": False, "tooltip": False, "viz": False}}
    if panel.type == "barchart":
        options = {"orientation": "auto", "xTickLabelRotation": 0, "xTickLabelSpacing": 0, "showValue": "auto",
                   "stacking": "none", "groupWidth": 0.7, "barWidth": 0.97, "fullHighlight": False,
                   "legend": dict(_LEGEND), "tooltip": dict(_TOOLTIP)}
        return options, {"lineWidth": 1, "fillOpacity": 80, "gradientMode": "none"}
    if panel.type == "piechart":
        options = {"reduceOptions": reduce_options, "pieType": "pie", "displayLabels": [],
                   "legend": {**_LEGEND, "placement": "right", "values": []}, "tooltip": dict(_TOOLTIP)}
        return options, {}
    # logs
    options = {"showTime": True, "showLabels": False, "showCommonLabels": False, "wrapLogMessage": True,
               "prettifyLogMessage": False, "enableLogDetails": True, "dedupStrategy": "none", "sortOrder": "Descending"}
    return options, {}


_SCALARS = frozenset({str, int, float, bool, type(None)})
_PLAIN = frozenset({str, int, bool})  # kept as they are by _clean (None is dropped or kept by its key, floats checked)


def plain_json_data(value: Any) -> Any:
    """What `json.loads(json.dumps(value, cls=grafanalib's DashboardEncoder))` returns, without the text
    in between: grafanalib objects become their `to_json_data()`, tuples lists, keys strings; all copied."""
    # Exact scalar types are answered without a call (most of a panel's nodes are); subclasses take the long way.
    if type(value) in _SCALARS:
        return value
    if isinstance(value, dict):
        return {key if isinstance(key, str) else _json_key(key): item if type(item) in _SCALARS else plain_json_data(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _SCALARS else plain_json_data(item) for item in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    to_json_data = getattr(value, "to_json_data", None)
    if to_json_data is None:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return plain_json_data(to_json_data())


def _json_key(key: object) -> str:
    # json.dumps's rules for keys that are not strings
    if key is None or isinstance(key, (int, float)):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _panel_json(panel: Panel) -> dict[str, Any]:
    built = _grafanalib_panel(panel)
    if built is None:
        options, custom = _kind_defaults(panel)
        result: dict[str, Any] = {"type": panel.type, "title": panel.title, "options": options,
                  "fieldConfig": {"defaults": {"custom": custom} if custom else {}, "overrides": []}}
        return _field_config(panel, result)
    raw: dict[str, Any] = plain_json_data(built.to_json_data())
    result = {k: v for k, v in raw.items() if k in _PANEL_KEYS}
    result["type"] = panel.type
    result.pop("maxDataPoints", None)  # grafanalib's 100 would thin every graph
    options = result.setdefault("options", {})
    if panel.type == "gauge":
        options.pop("graphMode", None)
        options.pop("colorMode", None)
        options.pop("textMode", None)
        options.pop("justifyMode", None)
        options.update({"showThresholdMarkers": True, "showThresholdLabels": False})
    if panel.type == "bargauge":
        options = {
            "reduceOptions": options.get("reduceOptions", {}),
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
        }
        result["options"] = options
    if panel.type == "text":
        result["fieldConfig"] = {"defaults": {}, "overrides": []}
        _deep_merge(result["options"], thaw(panel.options))
        return result
    return _field_config(panel, result)


def _field_config(panel: Panel, result: dict[str, Any]) -> dict[str, Any]:
    """Unit, min/max, thresholds, colour, mappings, data links, overrides, transformations, then the author's
    `options` (panel options) and `custom` (fieldConfig.defaults.custom) over the defaults."""
    defaults = result.setdefault("fieldConfig", {}).setdefault("defaults", {})
    result["fieldConfig"].setdefault("overrides", [])
    defaults["unit"] = panel.effective_unit
    defaults.pop("noValue", None)  # grafanalib's "none" would print the word; Grafana's own "No data" is clearer
    for key, value in (("min", panel.min), ("max", panel.max), ("decimals", panel.decimals)):
        defaults[key] = value
    steps = panel.thresholds or ()
    defaults["thresholds"] = {
        "mode": "absolute",
        "steps": [{"color": t.color, "value": t.value} for t in steps] or [{"color": "green", "value": None}],
    }
    if steps and panel.type in ("stat", "gauge", "bargauge"):
        defaults["color"] = {"mode": "thresholds"}
    elif panel.type in ("stat", "gauge", "bargauge"):
        defaults["color"] = {"mode": "palette-classic"}
    if steps and panel.type == "timeseries":
        defaults.setdefault("custom", {})["thresholdsStyle"] = {"mode": "dashed"}
    if panel.mappings:
        defaults["mappings"] = [mapping.to_json(index) for index, mapping in enumerate(panel.mappings)]
    if panel.data_links:
        defaults["links"] = [link.to_json() for link in panel.data_links]
    if panel.overrides:
        result["fieldConfig"]["overrides"] = [o.to_json() for o in panel.overrides]
    if panel.transformations:
        result["transformations"] = [t.to_json() for t in panel.transformations]
    if panel.interval is not None:
        result["interval"] = panel.interval
    _deep_merge(result.setdefault("options", {}), thaw(panel.options))
    if panel.custom:
        _deep_merge(defaults.setdefault("custom", {}), thaw(panel.custom))
    return result


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = plain_json_data(value)


def raw_variable_reference(body: Mapping[str, Any]) -> Variable:
    """How queries reference a variable given as JSON: by regex when it may hold several values or All."""
    return Variable(str(body["name"]), multi=bool(body.get("multi") or body.get("includeAll")))


def _target_language(target: dict[str, Any]) -> str | None:
    """The language of a raw panel's target: `expr` is PromQL; `query` is Flux (a pipeline) or InfluxQL."""
    if isinstance(target.get("expr"), str) and target["expr"].strip():
        return "promql"
    query = target.get("query")
    if isinstance(query, str) and query.strip():
        return "flux" if ("|>" in query or "from(" in query.replace(" ", "")) else "influxql"
    return None


def panel_size(panel: AnyPanel) -> tuple[int, int]:
    return panel.size if isinstance(panel, RawPanel) else (panel.width, panel.height)


# --- the dashboard ------------------------------------------------------------------------------------------


@dataclass
class _Compilation:
    dashboard: Dashboard
    backend: Backend
    uids: MutableMapping[str, str]  # dashboard key -> uid for this backend (links); written: linked bundled ones
    datasource_uid: str | None = None  # the datasource picker's default (settings); backend default if None
    datasource_regex: str | None = None  # names the picker offers (settings); backend convention if None
    omissions: list[Omission] = field(default_factory=list)
    queries: list[CompiledQuery] = field(default_factory=list)
    caveats: list[Omission] = field(default_factory=list)
    linked: Mapping[str, Dashboard] = field(default_factory=dict)  # dashboard key -> definition (link targets)

    def omit(self, what: str, reason: str) -> None:
        self.omissions.append(Omission(self.dashboard.key, self.backend.name, what, reason))

    def templating(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        backend = self.backend
        variables = [backend.datasource_variable(self.datasource_uid, name_regex=self.datasource_regex)]
        scope: dict[str, Any] = {}
        available: dict[str, Variable] = {}
        for variable in self.dashboard.variables:
            if isinstance(variable, RawVariable):
                variables.append(plain_json_data(dict(variable.body)))
                scope[variable.name] = raw_variable_reference(variable.body)  # signals filter by it, as by ours
                continue
            depends_on = {d: available[d.name] for d in variable.depends_on if d.name in available}
            query = backend.variable_query(variable.dimension, depends_on)
            if isinstance(query, Unsupported):
                self.omit(f"variable {variable.name}", query.reason)
                continue
            reference = variable.reference()
            available[variable.name] = reference
            scope[variable.name] = reference
            self.queries.append(
                CompiledQuery(self.dashboard.key, backend.name, backend.language, f"variable {variable.name}", "-", query)
            )
            variables.append(
                {
                    "type": "query",
                    "name": variable.name,
                    "label": variable.label or variable.dimension.title,
                    "datasource": backend.datasource_ref(),
                    "query": query,
                    "definition": query,
                    "refresh": 2,  # on time range change: hosts and DAGs come and go
                    "multi": variable.multi,
                    "includeAll": variable.include_all,
                    # "All" as a regex matching any value (`.+`: series without the label stay out, as before), not the list of values the variable query happened to
                    # return: a DAG that did not run in the range still counts, and URLs stay short.
                    **({"allValue": ".+"} if variable.include_all else {}),
                    "current": {"text": ["All"], "value": ["$__all"]} if variable.include_all else {},
                    "options": [],
                    "regex": "",
                    "sort": 1,
                    "hide": 2 if variable.hide else 0,
                    "skipUrlSync": False,
                }
            )
        return variables, scope

    def panel(self, panel: AnyPanel, scope: dict[str, Any]) -> dict[str, Any] | None:
        if isinstance(panel, RawPanel):
            return self.raw_panel(panel, scope)
        if isinstance(panel, LibraryPanel):
            return {"type": "library-panel-ref", "title": panel.name, "libraryPanel": {"uid": panel.uid, "name": panel.name}}
        backend = self.backend
        body = _panel_json(panel)
        if panel.type == "text":
            return body
        targets, overrides = self.targets(panel.title, panel.queries, scope)
        if not targets:
            reasons = sorted({r.reason for r in (backend.render(q.signal, scope) for q in panel.queries) if isinstance(r, Unsupported)})
            self.omit(f"panel '{panel.title}'", "; ".join(reasons))
            return None
        body["datasource"] = backend.datasource_ref()
        body["targets"] = targets
        caveats = dict.fromkeys(q.signal.caveat for q in panel.queries if q.signal.caveat)
        body["description"] = " ".join([panel.effective_description, *(f"Across stacks: {c}" for c in caveats)]).strip()
        body["fieldConfig"]["overrides"] = body["fieldConfig"].get("overrides", []) + overrides
        body["links"] = [self._panel_link(link) for link in panel.links]
        series_links = [self._series_link(link, panel) for link in panel.links if isinstance(link, PanelLink)]
        if any(series_links):
            body["fieldConfig"]["defaults"]["links"] = [link for link in series_links if link]
        return body

    def _series_link(self, link: PanelLink, panel: Panel) -> dict[str, Any] | None:
        """A data link carrying the clicked series' own value of every dimension the target dashboard has a
        variable for and every series of the panel is split by (the panel link would pass the current "All")."""
        target = self.linked.get(link.dashboard)
        if target is None:
            return None
        split = set.intersection(*(set(q.signal.group_by) for q in panel.queries)) if panel.queries else set()
        clicked = [v for v in target.variables if isinstance(v, DimensionVariable) and v.dimension in split]
        if not clicked:
            return None
        names = {v.name for v in clicked}
        params = [f"var-{v.name}=${{__field.labels.{self.backend._label_of(v.dimension)}:percentencode}}" for v in clicked]
        if link.keep_variables:
            ours = {v.name for v in self.dashboard.variables}
            params += [f"${{{v.name}:queryparam}}" for v in target.variables if v.name in ours and v.name not in names]
        if link.keep_time:
            params.append("${__url_time_range}")
        label = " ".join(f"${{__field.labels.{self.backend._label_of(v.dimension)}}}" for v in clicked)
        return {"title": f"{link.title}: {label}", "url": f"/d/{self.uids[link.dashboard]}?" + "&".join(params)}

    def _panel_link(self, link: PanelLink | UrlLink) -> dict[str, Any]:
        if isinstance(link, UrlLink):
            return {"title": link.title, "url": link.url, "targetBlank": link.new_tab}
        return self._link(link.title, link.dashboard, link.keep_time, link.keep_variables)

    def raw_panel(self, panel: RawPanel, scope: dict[str, Any]) -> dict[str, Any] | None:
        """A Grafana panel dict / grafanalib panel: our datasource, our targets if it has signals, else its own
        targets (checked, marked raw) on the backend whose language they are in."""
        backend = self.backend
        body = plain_json_data(dict(panel.body))
        body.pop("id", None)
        body.pop("gridPos", None)
        title = panel.title or f"<untitled {panel.type}>"
        if panel.queries:
            targets, overrides = self.targets(title, panel.queries, scope)
            if not targets:
                self.omit(f"panel '{title}'", "none of its signals can be shown on this backend")
                return None
            body["targets"] = targets
            defaults = body.setdefault("fieldConfig", {}).setdefault("defaults", {})
            defaults.setdefault("unit", panel.queries[0].signal.unit)  # the signal's unit unless the panel has one
            if overrides:
                field_config = body["fieldConfig"]
                field_config["overrides"] = list(field_config.get("overrides") or []) + overrides
        else:
            targets = [t for t in body.get("targets") or [] if isinstance(t, dict)]
            languages = sorted({lang for lang in map(_target_language, targets) if lang})
            if languages and languages != [backend.language]:
                self.omit(f"panel '{title}'", f"its own targets are {'/'.join(languages)} queries")
                return None
            for index, target in enumerate(targets):
                target.setdefault("refId", REF_IDS[index % len(REF_IDS)])
                if not target.get("datasource"):
                    target["datasource"] = backend.datasource_ref()
                language = _target_language(target)
                if language:
                    text = target.get("expr") if language == "promql" else target.get("query")
                    self.queries.append(CompiledQuery(self.dashboard.key, backend.name, language, title,
                                                      str(target["refId"]), str(text), True))
        if body.get("targets") and not body.get("datasource"):
            body["datasource"] = backend.datasource_ref()
        return dict(body)

    def targets(
        self, title: str, queries: Sequence[Query], scope: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Each query rendered for the backend (unsupported ones left out, and said so when others remain)."""
        backend = self.backend
        targets: list[dict[str, Any]] = []
        overrides: list[dict[str, Any]] = []
        for query in queries:
            rendered = backend.render(query.signal, scope, query.legend)
            if query.signal.caveat and not isinstance(rendered, Unsupported):
                self.caveats.append(Omission(self.dashboard.key, backend.name, f"panel '{title}'", query.signal.caveat))
            if isinstance(rendered, Unsupported):
                if len(queries) > 1:
                    self.omit(f"query {query.signal.key} in panel '{title}'", rendered.reason)
                continue
            rendered = dataclasses.replace(rendered, instant=query.instant, format=query.format)
            ref_id = REF_IDS[len(targets)]
            targets.append(backend.target_json(rendered, ref_id))
            override = backend.display_name_override(rendered, ref_id)
            if override:
                overrides.append(override)
            self.queries.append(
                CompiledQuery(
                    self.dashboard.key, backend.name, backend.language, title, ref_id, rendered.query, rendered.raw
                )
            )
        return targets, overrides

    def _link(self, title: str, key: str, keep_time: bool, keep_variables: bool) -> dict[str, Any]:
        if key not in self.uids:
            self.uids[key] = _linked_uid(self.dashboard.key, key, self.backend, self.uids)
        params = [p for p, on in (("${__url_time_range}", keep_time), ("${__all_variables}", keep_variables)) if on]
        url = f"/d/{self.uids[key]}" + ("?" + "&".join(params) if params else "")
        return {"title": title, "url": url}

    def rows(
        self, rows: Sequence[Row], scope: dict[str, Any]
    ) -> list[tuple[Row, list[tuple[AnyPanel, dict[str, Any]]]]]:
        result = []
        for row in rows:
            kept = []
            for panel in row.panels:
                body = self.panel(panel, scope)
                if body is not None:
                    kept.append((panel, body))
            if kept:
                result.append((row, kept))
            else:
                self.omit(f"row '{row.title}'", "no panel in it can be shown on this backend")
        return result


def compile_dashboard(
    dashboard: Dashboard, backend: Backend, uids: dict[str, str] | None = None, datasource_uid: str | None = None,
    datasource_regex: str | None = None, linked: Mapping[str, Dashboard] | None = None,
) -> CompiledDashboard:
    """Render `dashboard` for `backend`. `uids` maps other dashboard keys to uids, for links (`linked` to their
    definitions, for per-series links carrying the clicked series' ids);
    `datasource_uid` is the default of the dashboard's datasource picker, `datasource_regex` the names it offers.

    >>> from airflow_dash.backends import get_backend
    >>> from airflow_dash.bundled import host_basics
    >>> compile_dashboard(host_basics.dashboard, get_backend("influxql"), datasource_uid="my-influx").model["uid"]
    'airflow-dash-host-basics-iql'
    """
    uid = dashboard_uid(dashboard.key, backend)
    # Not copies of `uids` and `linked`: compile_all passes the same ones for every dashboard (copies made
    # compiling N dashboards quadratic). Uids learnt while compiling this one go to its own first map.
    known: ChainMap[str, str] = ChainMap({}, uids if uids is not None else {})
    known.setdefault(dashboard.key, uid)
    work = _Compilation(dashboard, backend, known, datasource_uid, datasource_regex,
                        linked=linked if linked is not None else {})
    variables, scope = work.templating()
    rows = work.rows(dashboard.rows, scope)

    placed = layout_rows([(row.title, row.collapsed, [panel_size(p) for p, _ in panels]) for row, panels in rows])
    panels_json: list[dict[str, Any]] = []
    ids = panel_ids(dashboard)
    for (row, panels), (row_pos, panel_positions) in zip(rows, placed):
        row_json = {
            "type": "row",
            "title": row.title,
            "collapsed": row.collapsed,
            "gridPos": row_pos.to_json(),
            "id": ids[id(row)].pop(0),
            "panels": [],
        }
        if row.repeat:
            row_json["repeat"] = row.repeat
        children = []
        for (panel, body), pos in zip(panels, panel_positions):
            if body.get("type") == "library-panel-ref":
                del body["type"]  # Grafana takes type, options and targets from the library panel itself
            body["id"] = ids[id(panel)].pop(0)
            body["gridPos"] = pos.to_json()
            children.append(body)
        panels_json.append(row_json)
        # Grafana's contract: a collapsed row holds its panels, an open row is followed by them.
        if row.collapsed:
            row_json["panels"] = children
        else:
            panels_json.extend(children)

    links = [
        plain_json_data(dict(link.body)) if isinstance(link, RawLink) else _header_link(link, known, dashboard.key, backend)
        for link in dashboard.links
    ]
    annotations = _annotations(work, scope)
    tags = sorted({*dashboard.tags, "airflow-dash", MANAGED_TAG, f"backend:{backend.name}"})
    model: dict[str, Any] = {
        "uid": uid,
        "title": dashboard_title(dashboard, backend),
        "description": dashboard.description,
        "tags": tags,
        "timezone": dashboard.timezone,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": dashboard.time_from, "to": dashboard.time_to},
        "timepicker": {"refresh_intervals": list(dashboard.refresh_choices)} if dashboard.refresh_choices else {},
        "refresh": dashboard.refresh,
        "schemaVersion": SCHEMA_VERSION,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": links,
        "annotations": {"list": annotations},
        "templating": {"list": variables},
        "panels": panels_json,
    }
    return CompiledDashboard(
        name=dashboard.key,
        backend=backend.name,
        uid=uid,
        title=model["title"],
        folder=dashboard.folder,
        model=_clean_model(model),
        omissions=tuple(work.omissions),
        caveats=tuple(dict.fromkeys(work.caveats)),
        queries=tuple(work.queries),
    )


# Panel ids: a deterministic integer per panel, derived from its key (panel_key), so that a panel keeps its id
# when it is renamed, moved, or its queries change, and diffs pair panels by it (airflow_dash.grafana.diff).
# Grafana keeps a panel's integer id through UI saves (its save model is rebuilt from the scene with
# `id: getPanelIdForVizPanel(...)`) and drops panel keys it does not know; docs/grafana-facts.md has the sources.
PANEL_ID_SPACE = 2**31 - 1  # 1 .. 2^31-1: safe as a JavaScript number, a Go int32 and in URLs (viewPanel=...)


def panel_key(kind: str, title: str, occurrence: int = 1) -> str:
    """What a panel's id is derived from: its kind and title (or the key given with `Panel.keyed`), and its
    rank among same-kind same-title panels of the dashboard (so adding another panel elsewhere never changes
    it)."""
    return f"{kind}:{title}" + (f"#{occurrence}" if occurrence > 1 else "")


def panel_id_for(key: str) -> int:
    """The id a panel key hashes to (before collisions within one dashboard are resolved)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % PANEL_ID_SPACE + 1


def panel_ids(dashboard: Dashboard) -> dict[int, list[int]]:
    """{id(row or panel object): [panel id, ...]} for every row and panel the dashboard defines, on every
    backend alike (omitted panels count too, so one backend's omissions never shift another panel's id).
    A list, in definition order, because one panel object may be placed twice. Ids are unique in the
    dashboard: a (rare) hash collision moves the later panel to the next free id."""
    seen: dict[tuple[str, str], int] = {}
    used: set[int] = set()
    result: dict[int, list[int]] = {}

    def take(obj: object, kind: str, title: str) -> None:
        explicit = getattr(obj, "key", None)
        if isinstance(explicit, str) and explicit:
            kind, title = "key", explicit  # Panel.keyed(): independent of title and kind
        occurrence = seen[(kind, title)] = seen.get((kind, title), 0) + 1
        number = panel_id_for(panel_key(kind, title, occurrence))
        while number in used:
            number = number % PANEL_ID_SPACE + 1
        used.add(number)
        result.setdefault(id(obj), []).append(number)

    for row in dashboard.rows:
        take(row, "row", row.title)
        for panel in row.panels:
            take(panel, "library" if isinstance(panel, LibraryPanel) else str(panel.type), panel.title or "")
    return result


def _linked_uid(source: str, key: str, backend: Backend, uids: Mapping[str, str]) -> str:
    """The uid of a linked dashboard: one compiled alongside, or a bundled one (its uid is fixed by its key)."""
    if key in uids:
        return uids[key]
    if key in BUNDLED_KEYS:
        return dashboard_uid(key, backend)
    raise ValueError(f"dashboard {source}: link to unknown dashboard {key!r} (not built with it, not bundled)")


def _header_link(link: DashboardLink, uids: Mapping[str, str], source: str, backend: Backend) -> dict[str, Any]:
    url = link.url or f"/d/{_linked_uid(source, link.dashboard, backend, uids)}"
    return {
        "type": "link",
        "title": link.title,
        "url": url,
        "keepTime": link.keep_time,
        "includeVars": link.keep_variables,
        "asDropdown": False,
        "icon": "external link" if link.url else "dashboard",
        "tags": [],
        "targetBlank": link.new_tab,
        "tooltip": "",
    }


_BUILT_IN_ANNOTATION = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def _annotations(work: _Compilation, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Grafana's built-in annotation, then the dashboard's: tag queries, or a signal's query per backend."""
    result = [dict(_BUILT_IN_ANNOTATION)]
    backend = work.backend
    for annotation in work.dashboard.annotations:
        if isinstance(annotation, RawAnnotation):
            result.append(plain_json_data(dict(annotation.body)))
            continue
        if annotation.signal is None:
            result.append({
                "name": annotation.name, "enable": annotation.enabled, "hide": False, "iconColor": annotation.color,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "target": {"type": "tags", "tags": list(annotation.tags), "limit": 100, "matchAny": True},
            })  # fmt: skip
            continue
        rendered = backend.render(annotation.signal, scope)
        if isinstance(rendered, Unsupported):
            work.omit(f"annotation '{annotation.name}'", rendered.reason)
            continue
        rendered = backend.annotation_target(rendered)
        work.queries.append(CompiledQuery(work.dashboard.key, backend.name, backend.language,
                                          f"annotation {annotation.name}", "Anno", rendered.query, rendered.raw))
        result.append(backend.annotation_json(rendered, annotation.name, annotation.color, annotation.enabled))
    return result


def _clean_model(model: dict[str, Any]) -> dict[str, Any]:
    """Remove nulls except where Grafana's model needs them (the first threshold step's value).

    A NaN or infinity is refused: Grafana cannot parse the `NaN` json would write."""
    cleaned: dict[str, Any] = _clean(model)
    return cleaned


def _clean(value: Any, key: str | None = None) -> Any:
    # At module level: a nested recursive function is a reference cycle per call, garbage only the cyclic
    # collector frees (compile_all runs with it paused, so it must leave none).
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else _clean(v, k) for k, v in value.items()
                if v is not None or (k == "value" and key == "steps")}
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else _clean(v, key) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key!r} is {value}: Grafana needs a finite number")
    return value


def compile_all(
    dashboards: Iterable[Dashboard],
    backends: Sequence[str] | None = None,
    datasource_uids: Mapping[str, str] | None = None,
    datasource_regexes: Mapping[str, str] | None = None,
) -> list[CompiledDashboard]:
    """Every dashboard for every backend (default all), with links resolved within each backend.

    `datasource_uids` maps backend names to the datasource uid dashboards should default to;
    `datasource_regexes` to the data source names their picker offers (Grafana regex).

    >>> from airflow_dash.bundled import host_basics
    >>> [(c.backend, c.uid) for c in compile_all([host_basics.dashboard])]
    [('prometheus', 'airflow-dash-host-basics-prom'), ('flux', 'airflow-dash-host-basics-flux'), ('influxql', 'airflow-dash-host-basics-iql')]
    """
    dashboards = list(dashboards)
    chosen = [BACKENDS[name] for name in (backends or list(BACKENDS))]
    result = []
    linked = {d.key: d for d in dashboards}
    with cyclic_gc_paused():
        for backend in chosen:
            uids = {d.key: dashboard_uid(d.key, backend) for d in dashboards}
            for dashboard in dashboards:
                result.append(compile_dashboard(dashboard, backend, uids, (datasource_uids or {}).get(backend.name),
                                                (datasource_regexes or {}).get(backend.name), linked=linked))
    return result


# schemaVersion 42 ("the final version for the v1 dashboard API") is known from Grafana 12.2; its only step
# from 41 sets `hideFrom.tooltip` wherever `hideFrom.viz` is true (docs/grafana-facts.md). Compile emits 41,
# which every supported Grafana reads; publish and diff retarget to what the server supports, so Grafana's
# own migration never changes what we stored (no drift, no rewrite on read).
SCHEMA_VERSIONS = (41, 42)


def for_schema_version(model: dict[str, Any], schema_version: int) -> dict[str, Any]:
    """`model` (compiled at SCHEMA_VERSION) as it reads at `schema_version`; a new dict, `model` untouched."""
    if schema_version not in SCHEMA_VERSIONS:
        raise ValueError(f"schemaVersion must be one of {SCHEMA_VERSIONS}, got {schema_version!r}")
    if schema_version == model.get("schemaVersion"):
        return model
    result = {**model, "schemaVersion": schema_version}
    if schema_version >= 42:
        result["panels"] = [_hide_tooltip_with_viz(p) for p in model.get("panels") or []]
    return result


def _hide_tooltip_with_viz(panel: dict[str, Any]) -> dict[str, Any]:
    def fix(hide: object) -> object:
        return {**hide, "tooltip": True} if isinstance(hide, dict) and hide.get("viz") is True else hide

    panel = dict(panel)
    field_config = panel.get("fieldConfig")
    if isinstance(field_config, dict):
        defaults = dict(field_config.get("defaults") or {})
        custom = defaults.get("custom")
        if isinstance(custom, dict) and "hideFrom" in custom:
            defaults["custom"] = {**custom, "hideFrom": fix(custom["hideFrom"])}
        overrides = []
        for override in field_config.get("overrides") or []:
            properties = [{**p, "value": fix(p.get("value"))} if isinstance(p, dict) and p.get("id") == "custom.hideFrom"
                          else p for p in (override.get("properties") or [])] if isinstance(override, dict) else None
            overrides.append({**override, "properties": properties} if properties is not None else override)
        panel["fieldConfig"] = {**field_config, "defaults": defaults, "overrides": overrides}
    if isinstance(panel.get("panels"), list):
        panel["panels"] = [_hide_tooltip_with_viz(child) for child in panel["panels"]]
    return panel
