"""`airflow-dash import`: turn an existing Grafana dashboard JSON into a Python module for `dashboards/`.

The module compiles back to an equivalent dashboard. Panels become `RawPanel`s holding their JSON. Where
every target of a panel means what a catalog signal compiles to, on any backend (PromQL, Flux or InfluxQL,
with the dashboard's variables), the panel's queries become those signals, so it follows the catalog and
works on every backend: queries are compared semantically (`airflow_dash.canonical_query`: whitespace,
variable spelling `$x`/`${x}`/`[[x]]`; for PromQL redundant parentheses and the order of label matchers and
`by` labels; for InfluxQL keyword case and identifier quotes; for Flux `r["x"]`), and the legend becomes
`Query(signal, legend=...)` where it is not the signal's own. A recognised panel keeps everything else of its
JSON (a panel without a unit stays without one).
Anything else is kept as written and marked raw (lint AD103). A variable that is exactly one of our
dimension variables becomes `DimensionVariable`, an annotation exactly as we compile one `Annotation` (of a
signal, or of tags), a header link to a bundled dashboard `DashboardLink`; other variables, annotations and
links become `RawVariable`, `RawAnnotation`, `RawLink`. Links inside a panel's JSON keep their URLs (a panel
link to one of our dashboards keeps pointing at the backend it was exported from).

Documented normalisations (what `normalized()` drops before comparing, because compile sets them):
ids and `gridPos` x/y (panels are re-flowed left to right within their row, keeping w/h), the uid (from the
key), the title's " · <backend>" suffix, our managed tags, the `datasource` picker variable and Grafana's
built-in annotation (compile adds both), a panel or target datasource left unset (it gets the picker's),
`schemaVersion` and the dashboard settings compile writes itself (`editable`, `graphTooltip`,
`fiscalYearStartMonth`, `liveNow`, `weekStart`, `timepicker`, `version`, `id`, `iteration`, `gnetId`,
`__inputs`, `__requires`, `__elements`, `style`), an unset `time` (Grafana's default, now-6h to now), fields
set to null (Grafana reads null as unset; compile drops them, except a threshold step's null value), the
spelling of target queries (compared in canonical form: a recognised query is compiled the catalog's way),
and what a Prometheus target leaves at Grafana's default (`instant` false, `range` true, `format`
time_series, no `interval`, no exemplars, no legend) or sets for the query editor only (`editorMode`), and
an empty `fieldConfig`.
"""

from __future__ import annotations

import copy
import functools
import pprint
import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from airflow_dash.backends import BACKENDS, Backend
from airflow_dash.catalog.model import Dimension, Signal, Unsupported
from airflow_dash.canonical_query import canonical
from airflow_dash.compile import (
    MANAGED_TAG,
    REF_IDS,
    _clean_model,
    _header_link,
    _target_language,
    compile_dashboard,
    dashboard_uid,
)
from airflow_dash.dashboard import _KEY, BUNDLED_KEYS, Dashboard, DashboardLink, DimensionVariable
from airflow_dash.panels import FORMATS
from airflow_dash.query.values import Variable
from airflow_dash.compile import raw_variable_reference as reference
from airflow_dash.validate.grafana_vars import find_variable_refs

CATALOG_MODULES = ("host", "docker", "airflow")
_OUR_TAGS = re.compile(r"airflow-dash|managed-by:airflow-dash|backend:\w+")
_SETTINGS_WE_WRITE = frozenset(
    {"id", "version", "iteration", "gnetId", "__inputs", "__requires", "__elements", "style", "editable",
     "graphTooltip", "fiscalYearStartMonth", "liveNow", "weekStart", "timepicker", "schemaVersion"}
)  # fmt: skip


@dataclass(frozen=True)
class ImportedModule:
    """The Python source of a dashboards module, and what the import recognised."""

    key: str
    source: str
    recognised: int  # targets that became catalog signals
    raw: int  # targets kept as written


def dashboard_key(model: Mapping[str, Any]) -> str:
    """A dashboard key from the uid (or title): lowercase letters, digits, - and _, at most 31."""
    text = str(model.get("uid") or model.get("title") or "imported")
    text = re.sub(r"^airflow-dash-(.*)-(prom|flux|iql)$", r"\1", text)
    key = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:31] or "imported"
    return key if key[0].isalpha() else f"d-{key}"[:31]


@functools.cache
def _signals() -> tuple[tuple[str, str, Signal], ...]:
    """Every public catalog signal with the module and name it is imported by (the modules are scanned once)."""
    import importlib

    found = []
    for module_name in CATALOG_MODULES:
        module = importlib.import_module(f"airflow_dash.catalog.{module_name}")
        for name, value in vars(module).items():
            if isinstance(value, Signal) and not name.startswith("_"):
                found.append((module_name, name, value))
    return tuple(found)


_LANGUAGE_BACKEND = {backend.language: backend for backend in BACKENDS.values()}


class _Catalog:
    """What each catalog signal compiles to with the dashboard's variables, per query language: a target whose
    query means the same (see airflow_dash.canonical_query) is that signal, with the legend it shows."""

    def __init__(self, scope: Mapping[str, Variable]) -> None:
        self.scope = scope
        self._known: dict[str, dict[str, list[tuple[str, str, Signal]]]] = {}

    def find(self, language: str, query: str, legend: str) -> tuple[str, str, str | None] | None:
        """(catalog module, signal name, legend template or None for the signal's own) or None."""
        backend = _LANGUAGE_BACKEND[language]
        if language not in self._known:
            known: dict[str, list[tuple[str, str, Signal]]] = {}
            for module_name, name, signal in _signals():
                target = backend.render(signal, self.scope)
                if not isinstance(target, Unsupported):
                    known.setdefault(canonical(target.query, language), []).append((module_name, name, signal))
            self._known[language] = known
        for module_name, name, signal in self._known[language].get(canonical(query, language), []):
            template = self._legend(backend, signal, legend)
            if template is None or isinstance(template, str):
                return module_name, name, template
        return None

    def _legend(self, backend: Backend, signal: Signal, legend: str) -> str | None | Literal[False]:
        """The legend template (`{dimension}` placeholders) rendering to `legend`: None when it is the signal's
        own, False when none does."""
        def rendered(template: str | None) -> str | None:
            target = backend.render(signal, self.scope, template)
            return None if isinstance(target, Unsupported) else str(target.legend)

        if rendered(None) == legend:
            return None
        template = legend
        for dimension in sorted(signal.dimensions, key=lambda d: -len(rendered("{" + d.name + "}") or "")):
            placeholder = rendered("{" + dimension.name + "}")
            if placeholder and placeholder != "{" + dimension.name + "}":
                template = template.replace(placeholder, "{" + dimension.name + "}")
        return template if rendered(template) == legend else False


_PROMQL_FIELDS = frozenset({"refId", "datasource", "editorMode", "expr", "legendFormat", "range", "instant", "format",
                            "interval", "exemplar"})  # fmt: skip
_INFLUXQL_FIELDS = frozenset({"refId", "datasource", "query", "rawQuery", "resultFormat", "alias"})
_FLUX_FIELDS = frozenset({"refId", "datasource", "query"})


def _display_override(ref_id: str, legend: str) -> dict[str, Any]:
    """The fieldConfig override our Flux targets name their series with (compile writes it again)."""
    return {"matcher": {"id": "byFrameRefID", "options": ref_id}, "properties": [{"id": "displayName", "value": legend}]}


def _recognise(panel: Mapping[str, Any], targets: list[dict[str, Any]], catalog: _Catalog) -> list[str] | None:
    """The catalog queries (Python source) that compile to exactly these targets, or None."""
    if not targets:
        return None
    overrides = ((panel.get("fieldConfig") or {}).get("overrides")) or []
    found = []
    for index, target in enumerate(targets):
        language = _target_language(target)
        if language is None or target.get("refId", REF_IDS[index]) != REF_IDS[index]:
            return None
        if not _unset_or_picker(target.get("datasource")):
            return None  # a datasource of its own: compiling with ours would change it
        instant, format = False, "time_series"
        if language == "promql":
            if not set(target) <= _PROMQL_FIELDS or target.get("interval") or target.get("exemplar"):
                return None
            instant, format = bool(target.get("instant")), str(target.get("format") or "time_series")
            if ("range" in target and bool(target["range"]) == instant) or format not in FORMATS:
                return None
            legend, query = str(target.get("legendFormat") or ""), str(target["expr"])
        elif language == "influxql":
            if not set(target) <= _INFLUXQL_FIELDS or target.get("rawQuery") is False:
                return None
            if target.get("resultFormat") not in (None, "time_series", "table"):
                return None
            format = "table" if target.get("resultFormat") == "table" else "time_series"
            legend, query = str(target.get("alias") or ""), str(target["query"])
        else:
            if not set(target) <= _FLUX_FIELDS:
                return None
            named = [o for o in overrides if _frame_matcher(o) == REF_IDS[index]]
            if len(named) > 1 or (named and named[0] != _display_override(REF_IDS[index], _display_name(named[0]))):
                return None
            legend, query = (_display_name(named[0]) if named else ""), str(target["query"])
        match = catalog.find(language, query, legend)
        if match is None:
            return None
        options = "".join(f", {k}={v!r}" for k, v, default in (("legend", match[2], None), ("instant", instant, False),
                                                                ("format", format, "time_series")) if v != default)
        found.append(f"Query({match[0]}.{match[1]}{options})" if options else f"{match[0]}.{match[1]}")
    return found


def _frame_matcher(override: object) -> object:
    """The refId an override matches by frame (`byFrameRefID`), else None."""
    if not isinstance(override, dict) or not isinstance(override.get("matcher"), dict):
        return None
    matcher = override["matcher"]
    return matcher.get("options") if matcher.get("id") == "byFrameRefID" else None


def _display_name(override: Mapping[str, Any]) -> str:
    properties = override.get("properties")
    first = properties[0] if isinstance(properties, list) and properties else None
    return str(first.get("value") or "") if isinstance(first, dict) else ""


def _without_display_overrides(body: dict[str, Any], count: int) -> None:
    """Drop the overrides naming our Flux targets' series: compiling the signals writes them again."""
    field_config = body.get("fieldConfig")
    if not isinstance(field_config, dict) or not isinstance(field_config.get("overrides"), list):
        return
    ours = {REF_IDS[index] for index in range(count)}
    field_config["overrides"] = [
        o for o in field_config["overrides"]
        if not (_frame_matcher(o) in ours and o == _display_override(str(_frame_matcher(o)), _display_name(o)))
    ]


@functools.cache
def _dimensions() -> tuple[tuple[str, str, Dimension], ...]:
    """Every catalog dimension with the module and name it is imported by (first definition wins; the modules
    are scanned once)."""
    import importlib

    found: list[tuple[str, str, Dimension]] = []
    for module_name in ("dimensions", *CATALOG_MODULES):
        module = importlib.import_module(f"airflow_dash.catalog.{module_name}")
        for name, value in vars(module).items():
            if isinstance(value, Dimension) and name.isupper() and all(value is not d for _, _, d in found):
                found.append((module_name, name, value))
    return tuple(found)


def _dimension_variable(body: Mapping[str, Any], earlier: list[DimensionVariable]) -> DimensionVariable | None:
    """The catalog variable compiling to exactly `body` (on some backend), given the ones recognised before it.

    It depends on exactly the earlier variables its query references: a variable query refers to another
    variable only through `depends_on` (as a filter on its label), so a dependency missing from the query
    text changes nothing and one it names must be there. One candidate, compiled once per backend.
    """
    if body.get("type") != "query":
        return None
    texts = [text for text in (body.get("query"), body.get("definition")) if isinstance(text, str)]
    referenced = {ref.name for text in texts for ref in find_variable_refs(text)}
    depends = tuple(v.dimension for v in earlier if v.name in referenced)
    for _, _, dimension in _dimensions():
        if dimension.name != body.get("name"):
            continue
        label = None if body.get("label") == dimension.title else body.get("label")
        candidate = DimensionVariable(
            dimension, multi=bool(body.get("multi")), include_all=bool(body.get("includeAll")),
            depends_on=depends, label=label, hide=body.get("hide") == 2,
        )  # fmt: skip
        board = Dashboard("probe", "probe", [], variables=[*earlier, candidate])
        for backend in BACKENDS.values():
            compiled = compile_dashboard(board, backend).model["templating"]["list"]
            if compiled[-1] == _clean_model(dict(body)) and compiled[-1]["name"] == candidate.name:
                return candidate
    return None


def _variables_source(variables: list[dict[str, Any]], imports: set[tuple[str, str]]) -> list[str]:
    """Catalog variables (`DimensionVariable`) where a variable is exactly one of ours, else `RawVariable`."""
    names = {id(d): (m, n) for m, n, d in _dimensions()}
    recognised: list[DimensionVariable] = []
    out = []
    for body in variables:
        variable = _dimension_variable(body, recognised)
        if variable is None:
            out.append(f"RawVariable({_literal(body)})")
            continue
        recognised.append(variable)
        module_name, name = names[id(variable.dimension)]
        imports.add((module_name, name))
        arguments = [name]
        for field_name, default in (("multi", True), ("include_all", True), ("label", None), ("hide", False)):
            if getattr(variable, field_name) != default:
                arguments.append(f"{field_name}={getattr(variable, field_name)!r}")
        if variable.depends_on:
            depends = [names[id(d)] for d in variable.depends_on]
            imports.update(depends)
            arguments.append(f"depends_on=({', '.join(n for _, n in depends)},)")
        out.append(f"DimensionVariable({', '.join(arguments)})")
    return out


def _annotation_source(body: Mapping[str, Any], catalog: _Catalog, imports: set[str]) -> str:
    """`Annotation(name, signal)` / `Annotation(name, tags=...)` for an annotation exactly as compile writes one
    (so a signal's annotation follows it to every backend), else `RawAnnotation`."""
    name, color, enabled = body.get("name"), body.get("iconColor"), body.get("enable")
    if not isinstance(name, str) or not isinstance(color, str) or not isinstance(enabled, bool):
        return f"RawAnnotation({_literal(body)})"
    options = (f", color={color!r}" if color != "red" else "") + ("" if enabled else ", enabled=False")
    target = body.get("target")
    if isinstance(target, Mapping) and target.get("type") == "tags" and isinstance(target.get("tags"), list):
        tags = tuple(str(t) for t in target["tags"])
        expected = {"name": name, "enable": enabled, "hide": False, "iconColor": color,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "target": {"type": "tags", "tags": list(tags), "limit": 100, "matchAny": True}}  # fmt: skip
        if tags and dict(body) == expected:
            return f"Annotation({name!r}, tags={tags!r}{options})"
    for backend in BACKENDS.values():
        if (body.get("datasource") or {}).get("type") != backend.datasource_type:
            continue
        for module_name, signal_name, signal in _signals():
            rendered = backend.render(signal, catalog.scope)
            if isinstance(rendered, Unsupported):
                continue
            if backend.annotation_json(backend.annotation_target(rendered), name, color, enabled) == dict(body):
                imports.add(module_name)
                return f"Annotation({name!r}, {module_name}.{signal_name}{options})"
    return f"RawAnnotation({_literal(body)})"


_DASHBOARD_NAMES = ("Annotation", "Dashboard", "DashboardLink", "DimensionVariable", "RawAnnotation", "RawLink",
                   "RawVariable")  # fmt: skip


def _used(body: str, names: Iterable[str]) -> list[str]:
    """The names the module's code calls (its imports, so none is unused); Dashboard and Row always."""
    return [name for name in names if name in ("Dashboard", "Row") or re.search(rf"\b{name}\(", body)]


def _link_source(body: Mapping[str, Any]) -> str:
    """`DashboardLink(title, key)` for a header link to a bundled dashboard exactly as compile writes it (so it
    points at that dashboard on whichever backend the module is built for), else `RawLink`."""
    for key in sorted(BUNDLED_KEYS):
        for backend in BACKENDS.values():
            if body.get("url") != f"/d/{dashboard_uid(key, backend)}" or not isinstance(body.get("title"), str):
                continue
            link = DashboardLink(body["title"], key, keep_time=bool(body.get("keepTime")),
                                 keep_variables=bool(body.get("includeVars")), new_tab=bool(body.get("targetBlank")))
            if _header_link(link, {}, "probe", backend) == dict(body):
                options = "".join(f", {name}={getattr(link, name)!r}" for name, default in (
                    ("keep_time", True), ("keep_variables", True), ("new_tab", False)) if getattr(link, name) != default)
                return f"DashboardLink({link.title!r}, {key!r}{options})"
    return f"RawLink({_literal(body)})"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _panels_by_row(model: Mapping[str, Any]) -> list[tuple[dict[str, Any] | None, list[dict[str, Any]]]]:
    """(row or None for panels above the first row, its panels), in order; collapsed rows hold theirs."""
    rows: list[tuple[dict[str, Any] | None, list[dict[str, Any]]]] = [(None, [])]
    for panel in model.get("panels") or []:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            rows.append((panel, [p for p in _list(panel.get("panels")) if isinstance(p, dict)]))
        else:
            rows[-1][1].append(panel)
    for legacy in _list(model.get("rows")):  # schemaVersion < 16
        if isinstance(legacy, dict):
            rows.append(({"title": legacy.get("title") or "", "collapsed": bool(legacy.get("collapse"))},
                         [p for p in _list(legacy.get("panels")) if isinstance(p, dict)]))
    return [(row, panels) for row, panels in rows if row is not None or panels]


def import_dashboard(model: Mapping[str, Any], key: str | None = None) -> ImportedModule:
    """The dashboards module for `model` (a dashboard, or a Grafana export with `dashboard` inside).

    >>> module = import_dashboard({"uid": "team", "title": "Team", "panels": [{"type": "timeseries", "title": "Up",
    ...     "targets": [{"refId": "A", "expr": "up"}]}]})
    >>> module.key, module.recognised, module.raw, "RawPanel({" in module.source
    ('team', 0, 1, True)
    """
    if isinstance(model.get("dashboard"), Mapping):
        model = model["dashboard"]
    key = key or dashboard_key(model)
    if not _KEY.fullmatch(key):
        raise ValueError(f"dashboard key {key!r}: use 1-31 lowercase letters, digits, '-' or '_'")
    _check_shape(model)
    try:
        module = _import(model, key)
    except (AttributeError, KeyError, TypeError, IndexError) as exc:  # a shape _check_shape does not know
        raise ValueError(f"unexpected dashboard JSON ({type(exc).__name__}: {exc})") from None
    namespace: dict[str, Any] = {}
    try:  # the module must build: what does not is the dashboard's problem, said in one line now
        exec(compile(module.source, f"{key}.py", "exec"), namespace)
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return module


def _check_shape(model: Mapping[str, Any]) -> None:
    """One line naming what is not Grafana dashboard JSON the importer can read."""
    for name, kind in (("panels", list), ("rows", list), ("templating", dict), ("annotations", dict), ("links", list),
                       ("time", dict), ("tags", list)):  # fmt: skip
        if model.get(name) is not None and not isinstance(model[name], kind):
            raise ValueError(f"dashboard {name} is a {type(model[name]).__name__}, expected a {kind.__name__}")
    if not all(isinstance(tag, str) for tag in model.get("tags") or []):
        raise ValueError(f"dashboard tags must be strings: {_json_text(model['tags'])}")
    for name in ("title", "description", "timezone", "refresh"):  # Grafana writes `"refresh": false` for off
        if model.get(name) not in (None, False) and not isinstance(model[name], str):
            raise ValueError(f"dashboard {name} is a {type(model[name]).__name__}, expected a string")
    for section in ("templating", "annotations"):
        items = (model.get(section) or {}).get("list")
        if items is not None and not isinstance(items, list):
            raise ValueError(f"dashboard {section}.list is a {type(items).__name__}, expected a list")
    for variable in ((model.get("templating") or {}).get("list") or []):
        if isinstance(variable, dict) and (not isinstance(variable.get("name"), str) or not variable["name"]):
            raise ValueError(f"a template variable has no name: {_json_text(variable)}")
    for _, panels in _panels_by_row(model):
        for panel in panels:
            where = f"panel {str(panel.get('title') or '')!r}"
            if not isinstance(panel.get("type"), str) or not panel["type"]:
                raise ValueError(f"{where}: needs a 'type' (the Grafana panel plugin id)")
            for name, kind in (("targets", list), ("gridPos", dict), ("fieldConfig", dict), ("links", list)):
                if panel.get(name) is not None and not isinstance(panel[name], kind):
                    raise ValueError(f"{where}: {name} is a {type(panel[name]).__name__}, expected a {kind.__name__}")
            grid = panel.get("gridPos") or {}
            for name, low, high in (("w", 1, 24), ("h", 1, 10_000)):
                value = grid.get(name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
                    raise ValueError(f"{where}: gridPos.{name} {value!r} is not a size in grid units ({low}-{high})")
            overrides = (panel.get("fieldConfig") or {}).get("overrides")
            if overrides is not None and not isinstance(overrides, list):
                raise ValueError(f"{where}: fieldConfig.overrides is a {type(overrides).__name__}, expected a list")


def _json_text(value: Any) -> str:
    """At most 60 characters of `value` as JSON, for messages."""
    import json

    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _import(model: Mapping[str, Any], key: str) -> ImportedModule:
    variables = [v for v in (model.get("templating") or {}).get("list") or [] if isinstance(v, dict)]
    ours = [v for v in variables if v.get("name") == "datasource" and v.get("type") == "datasource"]
    kept_variables = [v for v in variables if v not in ours]
    catalog = _Catalog({str(v.get("name")): reference(v) for v in kept_variables})
    imports: set[str] = set()
    dimension_imports: set[tuple[str, str]] = set()
    recognised = raw = 0
    rows_source = []
    for row, panels in _panels_by_row(model):
        items = []
        for panel in panels:
            body = copy.deepcopy(panel)
            grid = body.pop("gridPos", None) or {}
            body.pop("id", None)
            size = f", width={int(grid.get('w') or 12)}, height={int(grid.get('h') or 8)}"
            targets = [t for t in body.get("targets") or [] if isinstance(t, dict)]
            found = _recognise(body, targets, catalog) if len(targets) == len(body.get("targets") or []) else None
            if found is not None:
                body.pop("targets")
                if _unset_or_picker(body.get("datasource")):
                    body.pop("datasource", None)  # each backend's compile sets its own
                _without_display_overrides(body, len(targets))
                defaults = body.setdefault("fieldConfig", {}).setdefault("defaults", {})
                defaults.setdefault("unit", None)  # None: no unit, as before (else compile sets the signal's)
                imports.update(q.removeprefix("Query(").split(".")[0] for q in found)
                recognised += len(targets)
                items.append(f"RawPanel({_literal(body)}, queries=({', '.join(found)},){size}),")
            else:
                raw += len(targets)
                marker = "  # raw queries, kept as written (lint AD103)" if targets else ""
                items.append(f"RawPanel({_literal(body)}{size}),{marker}")
        title = (row or {}).get("title") or ""
        options = ""
        if row is not None and row.get("collapsed"):
            options += ", collapsed=True"
        if row is not None and row.get("repeat"):
            options += f", repeat={row['repeat']!r}"
        rows_source.append(f"Row({title!r}, [\n" + "".join(f"        {item}\n" for item in items) + f"    ]{options})")
    title = re.sub(r" · [^·]+$", "", str(model.get("title") or key)) if MANAGED_TAG in (model.get("tags") or []) else str(model.get("title") or key)
    time = model.get("time") or {}
    annotations = [a for a in (model.get("annotations") or {}).get("list") or [] if isinstance(a, dict) and not a.get("builtIn")]
    arguments = [
        f"key={key!r}",
        f"title={title!r}",
        f"description={str(model.get('description') or '')!r}",
        f"tags={tuple(t for t in model.get('tags') or [] if not _OUR_TAGS.fullmatch(str(t)))!r}",
        f"time_from={str(time.get('from') or 'now-6h')!r}",
        f"time_to={str(time.get('to') or 'now')!r}",
        f"timezone={str(model.get('timezone') or '')!r}",
        f"refresh={str(model.get('refresh') or '')!r}",
        "variables=[" + ", ".join(_variables_source(kept_variables, dimension_imports)) + "]",
        "annotations=[" + ", ".join(_annotation_source(a, catalog, imports) for a in annotations) + "]",
        "links=[" + ", ".join(_link_source(link) for link in model.get("links") or [] if isinstance(link, dict)) + "]",
        "rows=[\n    " + ",\n    ".join(rows_source) + ",\n]" if rows_source else "rows=[]",
    ]
    catalog_import = f"from airflow_dash.catalog import {', '.join(sorted(imports))}\n" if imports else ""
    for module_name in sorted({m for m, _ in dimension_imports}):
        names = sorted(n for m, n in dimension_imports if m == module_name)
        catalog_import += f"from airflow_dash.catalog.{module_name} import {', '.join(names)}\n"
    code = "".join(arguments)
    source = (
        f'"""{title}: imported by `airflow-dash import` ({recognised} queries recognised as catalog signals, '
        f'{raw} kept raw)."""\n\n'
        f"{catalog_import}"
        f"from airflow_dash.dashboard import {', '.join(_used(code, _DASHBOARD_NAMES))}\n"
        f"from airflow_dash.panels import {', '.join(_used(code, ('Query', 'RawPanel', 'Row')))}\n\n"
        "# fmt: off\n"
        "dashboard = Dashboard(\n" + "".join(f"    {a},\n" for a in arguments) + ")\n"
    )
    return ImportedModule(key, source, recognised, raw)


def _unset_or_picker(datasource: Any) -> bool:
    """No datasource (Grafana's default) or our picker's: compile sets the latter where the former was."""
    return not datasource or (isinstance(datasource, dict) and datasource.get("uid") == "${datasource}")


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=110, sort_dicts=True)


def normalized(model: Mapping[str, Any]) -> dict[str, Any]:
    """`model` without what compile sets itself (see the module docstring): two dashboards are equivalent when
    their normalized forms are equal.

    >>> a = {"title": "T", "panels": [{"id": 7, "type": "text", "title": "N", "gridPos": {"x": 0, "y": 3, "w": 6, "h": 2}}]}
    >>> b = {"title": "T", "version": 12, "panels": [{"id": 1, "type": "text", "title": "N", "gridPos": {"x": 6, "y": 0, "w": 6, "h": 2}}]}
    >>> normalized(a) == normalized(b)
    True
    """
    if isinstance(model.get("dashboard"), Mapping):
        model = model["dashboard"]
    result = {k: copy.deepcopy(v) for k, v in model.items() if k not in _SETTINGS_WE_WRITE and k not in ("uid", "panels", "rows")}
    if MANAGED_TAG in (model.get("tags") or []):
        result["title"] = re.sub(r" · [^·]+$", "", str(result.get("title", "")))
    result["tags"] = sorted(t for t in model.get("tags") or [] if not _OUR_TAGS.fullmatch(str(t)))
    result["templating"] = [v for v in (model.get("templating") or {}).get("list") or []
                            if not (v.get("name") == "datasource" and v.get("type") == "datasource")]
    result["annotations"] = [a for a in (model.get("annotations") or {}).get("list") or [] if not a.get("builtIn")]
    result.setdefault("description", "")
    result.setdefault("time", {"from": "now-6h", "to": "now"})  # Grafana's default range when unset
    result["timezone"] = result.get("timezone") or ""
    result["refresh"] = result.get("refresh") or ""
    result["links"] = model.get("links") or []
    rows = []
    for row, panels in _panels_by_row(model):
        row_part = {k: v for k, v in (row or {}).items() if k in ("title", "collapsed", "repeat") and v}
        rows.append([row_part, [_normalized_panel(p) for p in panels]])
    result["rows"] = rows
    return _clean_model(result)


def _normalized_panel(panel: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: copy.deepcopy(v) for k, v in panel.items() if k not in ("id", "gridPos")}
    body["size"] = [(panel.get("gridPos") or {}).get("w"), (panel.get("gridPos") or {}).get("h")]
    if _unset_or_picker(body.get("datasource")):
        body.pop("datasource", None)
    field_config = body.get("fieldConfig")
    if isinstance(field_config, dict) and not any(v for v in field_config.values() if v is not None):
        body.pop("fieldConfig")  # {} or {"defaults": {}, "overrides": []}: Grafana's defaults
    for target in body.get("targets") or []:
        if not isinstance(target, dict):
            continue
        if _unset_or_picker(target.get("datasource")):
            target.pop("datasource", None)
        language = _target_language(target)
        if language is not None:  # the same query however it is spelled (airflow_dash.canonical_query)
            text_field = "expr" if language == "promql" else "query"
            target[text_field] = canonical(str(target[text_field]), language)
        if language == "promql":  # Grafana's defaults for what a Prometheus target leaves out; the editor mode
            target.pop("editorMode", None)
            target.setdefault("instant", False)
            target.setdefault("range", not target["instant"])
            for name, default in (("format", "time_series"), ("interval", ""), ("exemplar", False), ("legendFormat", "")):
                target.setdefault(name, default)
    return body
