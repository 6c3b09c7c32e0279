"""Check panel options against Grafana's published panel schemas and unit list, at construction.

    >>> check_options("timeseries", "options", {"legend": {"displayMode": "table"}})
    []
    >>> check_options("timeseries", "custom", {"drawStyle": "bar"})
    ["custom.drawStyle: 'bar' is not one of 'line', 'bars', 'points'"]

The schemas (`_panel_schema_data`, vendored by scripts/vendor-panel-schemas.py) describe a complete panel;
what an author passes is partial (merged onto our defaults), so `required` is not enforced, everything else
the schemas use is: types, enums and consts, unknown keys (`additionalProperties: false`), arrays, `$ref`,
`allOf`/`anyOf`/`oneOf`, minimum/maximum.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from airflow_dash._panel_schema_data import PANELS, UNITS

UNIT_IDS = frozenset(UNITS)
# Units Grafana builds from a pattern (custom units): `suffix:req`, `currency:EUR`, `time:YYYY`, `si:g`...
_CUSTOM_UNIT = re.compile(r"(prefix|suffix|si|count|currency|time|bool|bool_yes_no|bool_on_off):.+")
# Grafana's standard field reducers (fieldReducers in @grafana/data), plus percentiles p1..p99.
REDUCERS = frozenset(
    {"lastNotNull", "last", "firstNotNull", "first", "min", "max", "mean", "sum", "count", "range", "delta", "step",
     "diff", "logmin", "allIsZero", "allIsNull", "changeCount", "distinctCount", "diffperc", "allValues",
     "uniqueValues", "median", "variance", "stdDev", *(f"p{n}" for n in range(1, 100))}
)  # fmt: skip
PANEL_KINDS_WITH_SCHEMA = frozenset(PANELS)
_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}  # fmt: skip


def is_unit(unit: object) -> bool:
    """A unit id Grafana knows (`bytes`, `percentunit`, `reqps`...) or a custom unit (`suffix:jobs`)."""
    return isinstance(unit, str) and (unit in UNIT_IDS or bool(_CUSTOM_UNIT.fullmatch(unit)))


def check_unit(unit: object) -> str | None:
    """Why `unit` is not a Grafana unit, or None."""
    if is_unit(unit):
        return None
    near = sorted(u for u in UNIT_IDS if isinstance(unit, str) and u.lower().startswith(unit.lower()[:2]))[:5]
    hint = f" (did you mean {', '.join(near)}?)" if near else " (see Grafana's unit list, or use 'suffix:<text>')"
    return f"unit {unit!r} is not a Grafana unit{hint}"


def check_options(kind: str, part: str, value: Mapping[str, Any]) -> list[str]:
    """Problems of `value` as the panel kind's `options` (part="options") or field config `custom` (part="custom").

    Kinds without a published schema (logs, ...) are not checked. Each problem names the path of the field.
    """
    definitions = PANELS.get(kind)
    if definitions is None:
        return []
    if part == "options":
        schema = definitions.get("Options")
    else:
        schema = definitions.get("FieldConfig")
    if not isinstance(schema, Mapping):
        return [f"{part}: the {kind} panel takes no {part}"] if value else []
    return _check(value, schema, definitions, part)


def _resolve(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _type_ok(value: Any, expected: str | list[str]) -> bool:
    for name in [expected] if isinstance(expected, str) else expected:
        if name in ("number", "integer"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if name == "number" or float(value).is_integer():
                    return True
        elif isinstance(value, _TYPES[name]):
            return True
    return False


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__


def _check(value: Any, schema: Mapping[str, Any], definitions: Mapping[str, Any], path: str) -> list[str]:
    schema = _resolve(schema, definitions)
    problems: list[str] = []
    for part in schema.get("allOf", ()):
        problems += _check(value, part, definitions, path)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_check(value, part, definitions, path) for part in schema[key]]
            if all(options):
                problems.append(min(options, key=len)[0] if len(schema[key]) == 1 else
                                f"{path}: {_show(value)} matches none of the allowed forms ({min(options, key=len)[0]})")
    if "const" in schema and value != schema["const"]:
        return problems + [f"{path}: {_show(value)} is not {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        return problems + [f"{path}: {_show(value)} is not one of {allowed}"]
    if "type" in schema and not _type_ok(value, schema["type"]):
        return problems + [f"{path}: expected {schema['type']}, got {_show(value)}"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problems += _check(item, properties[key], definitions, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                known = ", ".join(sorted(properties))
                problems.append(f"{path}: unknown field {key!r} (known: {known})")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += _check(item, schema["additionalProperties"], definitions, f"{path}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += _check(item, schema["items"], definitions, f"{path}[{index}]")
    return problems
