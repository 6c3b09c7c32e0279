"""Every compiled dashboard validates against Grafana's published JSON Schemas (airflow_dash.schemas), and the
check catches what it claims to catch."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from airflow_dash.build import compile_dashboards
from airflow_dash.grafana.model import MARKER_KEY, stamp
from airflow_dash.schemas import (
    INVALID_VALUE, MISSING, SCHEMA_DIR, UNKNOWN_FIELD, WRONG_TYPE, validate_dashboard, validate_panel,
    validate_target,
)
from tests.reference import REFERENCE_ROOT

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compiled():
    return compile_dashboards(backends=["prometheus", "flux", "influxql"], dashboards_dir=REPO / "dashboards")


def test_every_bundled_dashboard_on_every_backend_has_zero_violations(compiled):
    assert {c.backend for c in compiled} == {"prometheus", "flux", "influxql"}
    problems = {f"{c.backend}/{c.uid}": [str(p) for p in validate_dashboard(c.model)] for c in compiled}
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_published_form_validates_too(compiled):
    for c in compiled[:3]:
        published = stamp({**c.model, "uid": c.uid, "title": c.title})
        assert validate_dashboard(published, allow_top_level=[MARKER_KEY]) == []


def first_panel(model: dict, kind: str) -> dict:
    return next(p for p in model["panels"] if p.get("type") == kind)


def kinds(problems) -> set[tuple[str, str]]:
    return {(p.kind, p.path) for p in problems}


def test_unknown_fields_bad_enums_and_wrong_types_are_caught(compiled):
    model = copy.deepcopy(next(c.model for c in compiled if c.backend == "prometheus" and c.name == "system"))
    panel = first_panel(model, "timeseries")
    panel["options"]["legend"]["displayMode"] = "lists"
    panel["options"]["legnd"] = {}
    panel["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "curve", "lineWidth": "2"}
    panel["gridPos"]["w"] = 25
    panel["colour"] = "red"
    model["graphTooltip"] = "shared"
    found = kinds(validate_dashboard(model))
    assert (INVALID_VALUE, "options.legend.displayMode") in found
    assert (UNKNOWN_FIELD, "options.legnd") in found
    assert (INVALID_VALUE, "fieldConfig.defaults.custom.drawStyle") in found
    assert (WRONG_TYPE, "fieldConfig.defaults.custom.lineWidth") in found
    assert (UNKNOWN_FIELD, "colour") in found
    assert any(path == "gridPos.w" for _, path in found)
    assert any(path == "graphTooltip" for _, path in found)


def test_row_children_and_prometheus_targets_are_checked():
    target = {"refId": "A", "expr": "up", "datasource": {"type": "prometheus", "uid": "p"}, "format": "graph",
              "exemplars": True}
    model = {"title": "T", "uid": "t", "schemaVersion": 41, "panels": [
        {"type": "row", "title": "R", "collapsed": True, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "id": 1,
         "panels": [{"type": "stat", "title": "S", "id": 2, "targets": [target],
                     "options": {"colorMode": "rainbow"}}]}]}
    found = kinds(validate_dashboard(model))
    assert (INVALID_VALUE, "format") in found and (UNKNOWN_FIELD, "exemplars") in found
    assert (INVALID_VALUE, "options.colorMode") in found
    assert validate_target({**target, "datasource": {"type": "influxdb"}}) == []  # no InfluxDB schema


def test_documented_schema_artefacts_are_allowed():
    field_config = {"defaults": {"unit": "s"}, "overrides": [
        {"matcher": {"id": "byName", "options": "queued"}, "properties": [{"id": "color", "value": "red"}]}]}
    assert validate_panel("timeseries", {"legend": {"displayMode": "list", "placement": "bottom", "calcs": []},
                                         "tooltip": {"mode": "single", "sort": "none"}}, field_config) == []
    missing = {p.path for p in validate_panel("stat", {"reduceOptions": {"calcs": ["lastNotNull"]}}) if p.kind == MISSING}
    assert "options.orientation" in missing  # required, no default: reported
    assert not missing & {"options.wideLayout", "options.showPercentChange", "options.percentChangeColorMode"}


def test_a_required_option_without_default_is_reported():
    found = kinds(validate_panel("timeseries", {"legend": {"displayMode": "list", "placement": "bottom", "calcs": []}}))
    assert (MISSING, "options.tooltip") in found


def test_bundled_schemas_are_the_published_ones_with_their_licence():
    assert "Apache License" in (SCHEMA_DIR / "LICENSE").read_text()
    reference = REFERENCE_ROOT / "grafana" / "jsonschema"
    if not reference.is_dir():
        pytest.skip("the shared Grafana reference (grafana/jsonschema) is not beside this checkout")
    for bundled in SCHEMA_DIR.glob("*.jsonschema.json"):
        assert json.loads(bundled.read_text()) == json.loads((reference / bundled.name).read_text()), bundled.name
