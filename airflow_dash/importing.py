"""`airflow-dash import`: turn an existing Grafana dashboard JSON into a Python module for `dashboards/`.

The module compiles back to an equivalent dashboard. Panels become `RawPanel`s holding their JSON; a PromQL
target that is exactly what a catalog signal renders (with the dashboard's variables) becomes that signal,
so it follows the catalog and works on every backend. Everything else is kept as written and marked raw
(lint AD103). Variables, annotations and links that are not ours become `RawVariable`, `RawAnnotation`,
`RawLink`.

Documented normalisations (what `normalized()` drops before comparing, because compile sets them):
ids and `gridPos` x/y (panels are re-flowed left to right within their row, keeping w/h), the uid (from the
key), the title's " · <backend>" suffix, our managed tags, the `datasource` picker variable and Grafana's
built-in annotation (compile adds both), a panel or target datasource left unset (it gets the picker's),
`schemaVersion` and the dashboard settings compile writes itself (`editable`, `graphTooltip`,
`fiscalYearStartMonth`, `liveNow`, `weekStart`, `timepicker`, `version`, `id`, `iteration`, `gnetId`,
`__inputs`, `__requires`, `__elements`, `style`), an unset `time` (Grafana's default, now-6h to now), and fields set to null (Grafana reads null as unset; compile
drops them, except a threshold step's null value).
"""

from __future__ import annotations

import copy
import pprint
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog.model import Signal, Unsupported
from airflow_dash.compile import MANAGED_TAG, _clean_model
from airflow_dash.dashboard import _KEY
from airflow_dash.query.values import Variable
from airflow_dash.compile import raw_variable_reference as reference

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


def _signals() -> list[tuple[str, str, Signal]]:
    import importlib

    found = []
    for module_name in CATALOG_MODULES:
        module = importlib.import_module(f"airflow_dash.catalog.{module_name}")
        for name, value in vars(module).items():
            if isinstance(value, Signal) and not name.startswith("_"):
                found.append((module_name, name, value))
    return found


def _prometheus_catalog(scope: Mapping[str, Variable]) -> dict[tuple[str, str], tuple[str, str]]:
    """(expr, legendFormat) -> (catalog module, signal name), rendered with the dashboard's variables."""
    backend = BACKENDS["prometheus"]
    known: dict[tuple[str, str], tuple[str, str]] = {}
    for module_name, name, signal in _signals():
        target = backend.render(signal, scope)
        if not isinstance(target, Unsupported):
            known.setdefault((target.query, target.legend), (module_name, name))
    return known


def _panels_by_row(model: Mapping[str, Any]) -> list[tuple[dict[str, Any] | None, list[dict[str, Any]]]]:
    """(row or None for panels above the first row, its panels), in order; collapsed rows hold theirs."""
    rows: list[tuple[dict[str, Any] | None, list[dict[str, Any]]]] = [(None, [])]
    for panel in model.get("panels") or []:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            rows.append((panel, [p for p in panel.get("panels") or [] if isinstance(p, dict)]))
        else:
            rows[-1][1].append(panel)
    for legacy in model.get("rows") or []:  # schemaVersion < 16
        rows.append(({"title": legacy.get("title") or "", "collapsed": bool(legacy.get("collapse"))},
                     [p for p in legacy.get("panels") or [] if isinstance(p, dict)]))
    return [(row, panels) for row, panels in rows if row is not None or panels]


def import_dashboard(model: Mapping[str, Any], key: str | None = None) -> ImportedModule:
    """The dashboards module for `model` (a dashboard, or a Grafana export with `dashboard` inside)."""
    if isinstance(model.get("dashboard"), Mapping):
        model = model["dashboard"]
    key = key or dashboard_key(model)
    if not _KEY.fullmatch(key):
        raise ValueError(f"dashboard key {key!r}: use 1-31 lowercase letters, digits, '-' or '_'")
    variables = [v for v in (model.get("templating") or {}).get("list") or [] if isinstance(v, dict)]
    ours = [v for v in variables if v.get("name") == "datasource" and v.get("type") == "datasource"]
    kept_variables = [v for v in variables if v not in ours]
    known = _prometheus_catalog({str(v.get("name")): reference(v) for v in kept_variables})
    imports: set[str] = set()
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
            matches = [known.get((str(t.get("expr")), str(t.get("legendFormat", "")))) for t in targets]
            if targets and all(matches) and _only_our_target_fields(targets):
                body.pop("targets")
                found = [m for m in matches if m is not None]
                signals = ", ".join(f"{module}.{name}" for module, name in found)
                imports.update(module for module, _ in found)
                recognised += len(targets)
                items.append(f"RawPanel({_literal(body)}, queries=({signals},){size})")
            else:
                raw += len(targets)
                items.append(f"RawPanel({_literal(body)}{size})")
        title = (row or {}).get("title") or ""
        options = ""
        if row is not None and row.get("collapsed"):
            options += ", collapsed=True"
        if row is not None and row.get("repeat"):
            options += f", repeat={row['repeat']!r}"
        rows_source.append(f"Row({title!r}, [\n" + "".join(f"        {item},\n" for item in items) + f"    ]{options})")
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
        "variables=[" + ", ".join(f"RawVariable({_literal(v)})" for v in kept_variables) + "]",
        "annotations=[" + ", ".join(f"RawAnnotation({_literal(a)})" for a in annotations) + "]",
        "links=[" + ", ".join(f"RawLink({_literal(link)})" for link in model.get("links") or [] if isinstance(link, dict)) + "]",
        "rows=[\n    " + ",\n    ".join(rows_source) + ",\n]",
    ]
    catalog_import = f"from airflow_dash.catalog import {', '.join(sorted(imports))}\n" if imports else ""
    source = (
        f'"""{title}: imported by `airflow-dash import` ({recognised} queries recognised as catalog signals, '
        f'{raw} kept raw)."""\n\n'
        f"{catalog_import}"
        "from airflow_dash.dashboard import Dashboard, RawAnnotation, RawLink, RawVariable\n"
        "from airflow_dash.panels import RawPanel, Row\n\n"
        "# fmt: off\n"
        "dashboard = Dashboard(\n" + "".join(f"    {a},\n" for a in arguments) + ")\n"
    )
    compile(source, f"{key}.py", "exec")  # a module that does not parse is our bug, not the user's
    return ImportedModule(key, source, recognised, raw)


def _only_our_target_fields(targets: list[dict[str, Any]]) -> bool:
    """A target we would write the same way (no hidden/interval/step settings of its own)."""
    ours = {"refId", "datasource", "editorMode", "expr", "legendFormat", "range", "instant", "format", "interval",
            "exemplar"}  # fmt: skip
    return all(set(t) <= ours and t.get("interval", "") == "" and not t.get("instant") for t in targets)


def _unset_or_picker(datasource: Any) -> bool:
    """No datasource (Grafana's default) or our picker's: compile sets the latter where the former was."""
    return not datasource or (isinstance(datasource, dict) and datasource.get("uid") == "${datasource}")


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=110, sort_dicts=True)


def normalized(model: Mapping[str, Any]) -> dict[str, Any]:
    """`model` without what compile sets itself (see the module docstring): two dashboards are equivalent when
    their normalized forms are equal."""
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
    for target in body.get("targets") or []:
        if isinstance(target, dict) and _unset_or_picker(target.get("datasource")):
            target.pop("datasource", None)
    return body
