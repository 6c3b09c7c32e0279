"""Check panel options against Grafana's published panel schemas and unit list, at construction.

    >>> check_options("timeseries", "options", {"legend": {"displayMode": "table"}})
    []
    >>> check_options("timeseries", "custom", {"drawStyle": "bar"})
    ["fieldConfig.defaults.custom.drawStyle: 'bar' is not one of 'line', 'bars', 'points'"]

The panel schemas are the ones `airflow_dash.schemas` bundles; the unit ids (`_panel_schema_data`, from
Grafana's published `units` schema by scripts/vendor-panel-schemas.py) and the reducer ids are here.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from airflow_dash._panel_schema_data import UNITS

UNIT_IDS = frozenset(UNITS)
# Units Grafana builds from a pattern (custom units): `suffix:req`, `currency:EUR`, `time:YYYY`, `si:g`...
_CUSTOM_UNIT = re.compile(r"(prefix|suffix|si|count|currency|time|bool|bool_yes_no|bool_on_off):.+")
# Grafana's standard field reducers (fieldReducers in @grafana/data), plus percentiles p1..p99.
REDUCERS = frozenset(
    {"lastNotNull", "last", "firstNotNull", "first", "min", "max", "mean", "sum", "count", "range", "delta", "step",
     "diff", "logmin", "allIsZero", "allIsNull", "changeCount", "distinctCount", "diffperc", "allValues",
     "uniqueValues", "median", "variance", "stdDev", *(f"p{n}" for n in range(1, 100))}
)  # fmt: skip


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


def check_options(kind: str, part: str, value: Mapping[str, Any], where: str | None = None) -> list[str]:
    """Problems of `value` as the panel kind's `options` (part="options") or field config `custom` (part="custom"),
    checked by `airflow_dash.schemas` against Grafana's published schema for the kind.

    What an author passes is partial (merged over our defaults), so fields the schema requires are not
    demanded; kinds without a published schema (logs, plugins) are not checked. Each problem names the field.
    """
    from airflow_dash.schemas import MISSING, clean_without_jsonschema, validate_panel

    schema_kind = kind.replace("-", "")  # state-timeline -> statetimeline
    options, field_config = ((dict(value), None) if part == "options"
                             else (None, {"defaults": {"custom": dict(value)}, "overrides": []}))
    if clean_without_jsonschema(schema_kind, options, field_config):
        return []  # most options: decided without importing jsonschema
    problems = validate_panel(schema_kind, options, field_config, where=where)
    return [str(p) if where else f"{p.path}: {p.message}" for p in problems if p.kind != MISSING]
