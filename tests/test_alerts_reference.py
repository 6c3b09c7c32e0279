"""Our alerts against third-party reference material (skipped when ../shared/reference is absent):
Grafana's published alert-rule schema, and the apache-airflow mixin's alerts (covered with the same thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airflow_dash.build import compile_alert_rules
from tests.reference import REFERENCE_ROOT

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = REFERENCE_ROOT / "grafana" / "jsonschema" / "alerting.jsonschema.json"
MIXIN = REFERENCE_ROOT / "content" / "airflow-mixin" / "prometheus_alerts.yaml"
# The mixin's alert -> ours (same condition and `for`; we split per DAG/pool like the mixin does).
COUNTERPARTS = {
    "ApacheAirflowStarvingPoolTasks": ("AirflowPoolStarving", "> 0"),
    "ApacheAirflowDAGScheduleDelayWarning": ("AirflowDagScheduleDelayWarning", "> 10"),
    "ApacheAirflowDAGScheduleDelayCritical": ("AirflowDagScheduleDelayCritical", "> 60"),
    "ApacheAirflowDAGFailures": ("AirflowDagRunFailed", "> 0"),
}


def _check(value, schema: dict, definitions: dict, where: str) -> list[str]:
    if "$ref" in schema:
        return _check(value, definitions[schema["$ref"].rsplit("/", 1)[1]], definitions, where)
    problems = []
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
    if kind in types and not isinstance(value, types[kind]):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", 1 << 30) or len(value) < schema.get("minLength", 0):
            problems.append(f"{where}: length {len(value)} outside the schema's bounds")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key in properties:
                problems += _check(item, properties[key], definitions, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: unknown key {key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += _check(item, schema["items"], definitions, f"{where}[{i}]")
    return problems


def test_compiled_grafana_rules_match_grafanas_rule_schema():
    if not SCHEMA.exists():
        pytest.skip(f"reference material not present: {SCHEMA}")
    definitions = json.loads(SCHEMA.read_text())["definitions"]
    compiled = compile_alert_rules(["flux", "influxql"], ROOT / "dashboards", ROOT / "alerts")
    problems = []
    for backend, rules in compiled.grafana.items():
        for rule in rules.rules:
            problems += _check(rule.api_body("ad-folder-0123456789"), definitions["Rule"], definitions, rule.uid)
    assert problems == []


def test_the_mixins_alerts_are_covered_with_the_same_thresholds():
    if not MIXIN.exists():
        pytest.skip(f"reference material not present: {MIXIN}")
    theirs = {r["alert"]: r for g in yaml.safe_load(MIXIN.read_text())["groups"] for r in g["rules"]}
    assert set(theirs) == set(COUNTERPARTS), "the mixin changed: map its new alerts"
    compiled = compile_alert_rules(["prometheus"], ROOT / "dashboards", ROOT / "alerts")
    ours = {r["alert"]: r for r in compiled.prometheus.rules}
    for name, (counterpart, comparison) in COUNTERPARTS.items():
        rule = ours[counterpart]
        assert rule["expr"].endswith(comparison), (counterpart, rule["expr"])
        assert theirs[name]["expr"].strip().endswith(comparison)
        assert rule["for"] == theirs[name]["for"], counterpart
