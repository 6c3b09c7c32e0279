"""Check dashboards and panels against Grafana's own published JSON Schemas.

The schemas in `grafana/` are third-party data: grafana/grafana-foundation-sdk, folder `jsonschema/`, commit
f178d5a42a8915fdda9235e97ad93881e3f94fef (2026-06-16), Apache License 2.0 (`grafana/LICENSE`). Grafana
generates them from its kind definitions: `dashboard` is the classic (v1) model, each panel file holds that
panel kind's `Options` (panel `options`) and `FieldConfig` (`fieldConfig.defaults.custom`), `prometheus` the
Prometheus query (`targets[]`). There is no InfluxDB query schema, so Flux and InfluxQL targets are checked
for shape by the dashboard schema only.

Known artefacts of these schemas are not reported (see docs/grafana-facts.md, "JSON Schemas"):

- an override's `matcher.options` and a property's `value` are typed as objects; Grafana writes strings,
  numbers and lists there;
- options that are "required" but carry a `default` (Grafana fills them in), and the timeseries legend's
  `showLegend` (defaulted by Grafana, though the schema gives no default);
- panel `links` and `fieldConfig.defaults.links` (per-series links) are typed as dashboard links (which need
  `asDropdown`, `icon`, `tags`...); both are data links (`title`, `url`, `targetBlank`).

Simple API for other layers (the panel library checks options at construction):
`validate_panel(kind, options, field_config) -> list[SchemaProblem]`, `validate_dashboard(model)`,
`validate_target(target)`. `jsonschema` is imported on first use only.
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # imported on first use at run time
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).parent / "grafana"
SCHEMA_SOURCE = "grafana/grafana-foundation-sdk@f178d5a42a8915fdda9235e97ad93881e3f94fef:jsonschema/ (Apache-2.0)"
PANEL_KINDS = ("barchart", "bargauge", "gauge", "heatmap", "piechart", "stat", "statetimeline", "table", "text",
               "timeseries")

# Problem kinds, worst first: what lint maps to its rules.
UNKNOWN_FIELD = "unknown-field"
INVALID_VALUE = "invalid-value"
WRONG_TYPE = "wrong-type"
MISSING = "missing"
INVALID = "invalid"

# Required by the schemas, filled in by Grafana when absent (grafana-13.md: "required with a default").
_DEFAULTED_WITHOUT_DEFAULT = frozenset({"showLegend"})
_OBJECT_TYPED_STRINGS = (re.compile(r"overrides\.\d+\.matcher\.options$"),
                         re.compile(r"overrides\.\d+\.properties\.\d+\.value$"))


@dataclass(frozen=True)
class SchemaProblem:
    """One violation: `where` names the panel or dashboard part, `path` the field inside it."""

    where: str
    path: str
    kind: str
    message: str

    def __str__(self) -> str:
        at = f"{self.where}: {self.path}" if self.path else self.where
        return f"{at}: {self.message}"


@lru_cache(maxsize=None)
def _document(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.jsonschema.json").read_text(encoding="utf-8"))
    return document


@lru_cache(maxsize=None)
def _validator(name: str, definition: str, *, panels_apart: bool = False) -> Draft7Validator:
    from jsonschema import Draft7Validator

    definitions = dict(_document(name)["definitions"])
    if panels_apart:
        # Panels are checked one by one (a oneOf over panel and row would hide the real error).
        dashboard = json.loads(json.dumps(definitions["Dashboard"]))
        dashboard["properties"]["panels"] = {"type": "array", "items": {"type": "object"}}
        definitions["Dashboard"] = dashboard
    return Draft7Validator({"$ref": f"#/definitions/{definition}", "definitions": definitions})


def _path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts)


def _allowed(error: ValidationError, path: str) -> bool:
    if error.validator == "type" and any(p.search(path) for p in _OBJECT_TYPED_STRINGS):
        return True
    if path == "links" or path.startswith("links.") or path.startswith("fieldConfig.defaults.links."):
        return True
    return False


def _problems(validator: Draft7Validator, instance: Any, where: str, prefix: str = "") -> list[SchemaProblem]:
    found: list[SchemaProblem] = []
    for error in validator.iter_errors(instance):
        path = _path([*([prefix] if prefix else []), *error.absolute_path])
        if _allowed(error, _path(error.absolute_path)):
            continue
        if error.validator == "required":
            present = error.instance if isinstance(error.instance, dict) else {}
            properties = error.schema.get("properties") or {}
            for name in error.validator_value:
                if name in present or name in _DEFAULTED_WITHOUT_DEFAULT or "default" in (properties.get(name) or {}):
                    continue
                found.append(SchemaProblem(where, _path([path, name]) if path else name, MISSING,
                                           "required by Grafana's schema"))
            continue
        if error.validator == "additionalProperties":
            known = set((error.schema.get("properties") or {}))
            for name in sorted((k for k in (error.instance or {}) if k not in known), key=str):  # 1 beside 'a'
                found.append(SchemaProblem(where, _path([path, name]) if path else name, UNKNOWN_FIELD,
                                           f"unknown field (not in Grafana's schema; known: {', '.join(sorted(known))})"
                                           if len(known) <= 12 else "unknown field (not in Grafana's schema)"))
            continue
        if error.validator in ("enum", "const"):
            allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
            found.append(SchemaProblem(where, path, INVALID_VALUE,
                                       f"{error.instance!r} is not one of {', '.join(repr(v) for v in allowed)}"))
            continue
        kind = WRONG_TYPE if error.validator == "type" else INVALID
        found.append(SchemaProblem(where, path, kind, " ".join(error.message.split())[:200]))
    return found


def _obj(value: Any) -> Mapping[str, Any]:
    """`value` when it is an object, else empty: linted JSON may hold anything anywhere."""
    return value if isinstance(value, Mapping) else {}


def panel_label(panel: Mapping[str, Any]) -> str:
    return f"panel {panel.get('title', '')!r} ({panel.get('type', '?')})"


def _kind_problems(kind: str, options: Any, custom: Any, where: str) -> list[SchemaProblem]:
    """A panel kind's own schemas: `options`, and `fieldConfig.defaults.custom` where the kind has one."""
    if kind not in PANEL_KINDS:
        return []
    problems = [] if options is None else _problems(_validator(kind, "Options"), options, where, "options")
    if custom is not None and "FieldConfig" in _document(kind)["definitions"]:
        problems += _problems(_validator(kind, "FieldConfig"), custom, where, "fieldConfig.defaults.custom")
    return problems


def validate_panel(kind: str, options: Mapping[str, Any] | None = None,
                   field_config: Mapping[str, Any] | None = None, *, where: str | None = None) -> list[SchemaProblem]:
    """Check a panel kind's `options` and `fieldConfig` (`{"defaults": {..., "custom": {...}}, "overrides": [...]}`).
    Kinds without a published schema (e.g. plugins) get only the generic fieldConfig check."""
    where = where or f"{kind} panel"
    problems: list[SchemaProblem] = []
    if field_config is not None:
        problems += _problems(_validator("dashboard", "FieldConfigSource"), field_config, where, "fieldConfig")
    custom = _obj(_obj(field_config).get("defaults")).get("custom")
    return problems + _kind_problems(kind, options, custom, where)


# --- deciding without jsonschema -----------------------------------------------------------------------------
# Panels check their options at construction (airflow_dash.panel_schema): importing jsonschema and building its
# validators costs more than a whole dashboard. Most options are clean, and that is decided here, on the
# keywords these schemas use, with jsonschema's Draft 7 semantics; whatever this cannot decide for certain
# (another keyword, a float where an integer is asked...) is left to jsonschema, which also words every problem.

_ANNOTATIONS = frozenset({"description", "default", "$schema", "definitions", "title", "deprecated", "examples",
                          "$comment", "readOnly", "writeOnly", "x-deprecation-message", "format"})  # format: not asserted
_KEYWORDS = frozenset({"$ref", "type", "enum", "const", "properties", "additionalProperties", "required", "items",
                       "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "allOf", "anyOf",
                       "oneOf"}) | _ANNOTATIONS


_BOUNDS = {"minimum": operator.ge, "maximum": operator.le, "exclusiveMinimum": operator.gt,
           "exclusiveMaximum": operator.lt}


def _is_type(instance: Any, name: str) -> bool | None:
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool) or not isinstance(instance, (int, float)):
        return False if name in ("number", "integer") else None
    if name == "number":
        return True
    if name == "integer":
        return True if isinstance(instance, int) else None  # 2.0 is an integer to jsonschema: not decided here
    return None


def _same(value: Any, instance: Any) -> bool | None:
    """jsonschema's equality for enum and const (True is not 1, 1 is 1.0), on scalars."""
    if isinstance(instance, (dict, list)) or isinstance(value, (dict, list)):
        return None
    if isinstance(instance, bool) or isinstance(value, bool):
        return type(value) is type(instance) and value == instance
    if isinstance(instance, (int, float)) and isinstance(value, (int, float)):
        return value == instance
    return type(value) is type(instance) and value == instance


def _any(results: Iterable[bool | None]) -> bool | None:
    undecided = False
    for result in results:
        if result:
            return True
        undecided = undecided or result is None
    return None if undecided else False


def _all(results: Iterable[bool | None]) -> bool | None:
    undecided = False
    for result in results:
        if result is False:
            return False
        undecided = undecided or result is None
    return None if undecided else True


def _decide(schema: Any, instance: Any, definitions: Mapping[str, Any], lenient: bool) -> bool | None:
    """Whether jsonschema (Draft 7) finds no error in `instance`, None where not decided here. `lenient`: errors
    of `required` do not count (they become MISSING problems, which panels do not report), except under anyOf
    and oneOf, where they decide a branch."""
    if schema is True or schema == {}:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict) or not schema.keys() <= _KEYWORDS:
        return None
    if "$ref" in schema:  # Draft 7: a $ref's siblings are ignored
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/definitions/") or ref[14:] not in definitions:
            return None
        return _decide(definitions[ref[14:]], instance, definitions, lenient)
    checks: list[bool | None] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        checks.append(_any(_is_type(instance, n) for n in names))
    if "enum" in schema:
        checks.append(_any(_same(v, instance) for v in schema["enum"]))
    if "const" in schema:
        checks.append(_same(schema["const"], instance))
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        for key, value in instance.items():
            if key in properties:
                checks.append(_decide(properties[key], value, definitions, lenient))
            elif "additionalProperties" in schema:
                checks.append(_decide(schema["additionalProperties"], value, definitions, lenient))
        if "required" in schema and not lenient:
            checks.append(all(name in instance for name in schema["required"]))
    if isinstance(instance, list) and "items" in schema:
        if not isinstance(schema["items"], (dict, bool)):
            return None  # tuple validation
        checks.extend(_decide(schema["items"], item, definitions, lenient) for item in instance)
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = schema.get(keyword)
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                return None
            checks.append(_BOUNDS[keyword](instance, bound))
    if isinstance(instance, str) and "minLength" in schema:
        checks.append(len(instance) >= schema["minLength"])
    if "allOf" in schema:  # its branches' errors are reported as they are: lenient stays
        checks.append(_all(_decide(branch, instance, definitions, lenient) for branch in schema["allOf"]))
    if "anyOf" in schema:
        checks.append(_any(_decide(branch, instance, definitions, False) for branch in schema["anyOf"]))
    if "oneOf" in schema:
        branches = [_decide(branch, instance, definitions, False) for branch in schema["oneOf"]]
        checks.append(None if None in branches else branches.count(True) == 1)
    return _all(checks)


def clean_without_jsonschema(kind: str, options: Any = None, field_config: Any = None) -> bool:
    """True when `validate_panel(kind, options, field_config)` certainly finds nothing but MISSING problems,
    decided without importing jsonschema; False: ask `validate_panel`."""
    parts: list[tuple[str, str, Any]] = []
    if field_config is not None:
        parts.append(("dashboard", "FieldConfigSource", field_config))
    if kind in PANEL_KINDS:
        if options is not None:
            parts.append((kind, "Options", options))
        custom = _obj(_obj(field_config).get("defaults")).get("custom")
        if custom is not None and "FieldConfig" in _document(kind)["definitions"]:
            parts.append((kind, "FieldConfig", custom))
    for name, definition, instance in parts:
        definitions = _document(name)["definitions"]
        if _decide(definitions[definition], instance, definitions, lenient=True) is not True:
            return False
    return True


def validate_target(target: Mapping[str, Any], where: str = "target") -> list[SchemaProblem]:
    """A Prometheus target against Grafana's Prometheus query schema; other datasources are not checked."""
    if _obj(target.get("datasource")).get("type") != "prometheus":
        return []
    return _problems(_validator("prometheus", "Dataquery"), target, where)


def _check_panel(panel: Any, index: str) -> list[SchemaProblem]:
    if not isinstance(panel, dict):
        return [SchemaProblem(f"panels[{index}]", "", WRONG_TYPE, "a panel must be an object")]
    where = panel_label(panel)
    if panel.get("type") == "row":
        problems = _problems(_validator("dashboard", "RowPanel"), {**panel, "panels": []}, where)
        children = panel.get("panels")
        for n, child in enumerate(children if isinstance(children, list) else []):
            problems += _check_panel(child, f"{index}.{n}")
        return problems
    problems = _problems(_validator("dashboard", "Panel"), panel, where)
    custom = _obj(_obj(panel.get("fieldConfig")).get("defaults")).get("custom")
    problems += _kind_problems(str(panel.get("type")), panel.get("options"), custom, where)
    targets = panel.get("targets")
    for n, target in enumerate(targets if isinstance(targets, list) else []):
        if isinstance(target, dict):
            # A target without its own datasource uses the panel's.
            effective = target if "datasource" in target else {**target, "datasource": panel.get("datasource")}
            problems += validate_target(effective, f"{where} target {target.get('refId', n)}")
    return problems


def check_panel(panel: Mapping[str, Any]) -> list[SchemaProblem]:
    """One panel on its own (a row without its children): for callers that walk panels themselves (lint)."""
    if isinstance(panel, dict) and panel.get("type") == "row":
        return _problems(_validator("dashboard", "RowPanel"), {**panel, "panels": []}, panel_label(panel))
    return _check_panel(panel, "?")


def check_dashboard_fields(model: Mapping[str, Any], *, allow_top_level: Iterable[str] = ()) -> list[SchemaProblem]:
    """The dashboard's own fields, panels excepted."""
    allowed = set(allow_top_level)
    top = {k: v for k, v in model.items() if k not in allowed}
    return _problems(_validator("dashboard", "Dashboard", panels_apart=True), top, "dashboard")


def validate_dashboard(model: Mapping[str, Any], *, allow_top_level: Iterable[str] = ()) -> list[SchemaProblem]:
    """Every problem in a classic dashboard model: the dashboard itself, each panel (and row children), each
    panel kind's options and custom field config, and Prometheus targets. `allow_top_level` names extra
    top-level keys that are ours on purpose (e.g. the publish marker)."""
    problems = check_dashboard_fields(model, allow_top_level=allow_top_level)
    panels = model.get("panels")
    for n, panel in enumerate(panels if isinstance(panels, list) else []):
        problems += _check_panel(panel, str(n))
    return problems
