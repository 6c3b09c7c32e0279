"""Compile: modern Grafana JSON, automatic non-overlapping layout, stable uids, determinism, omissions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.catalog.model import Signal, TelegrafSeries, Unsupported
from airflow_dash.compile import SCHEMA_VERSION, compile_all, compile_dashboard, dashboard_uid
from airflow_dash.dashboard import Dashboard, DashboardLink, DimensionVariable
from airflow_dash.layout import COLUMNS, GridPos, layout_rows
from airflow_dash.panels import PanelLink, Row, stat, text, timeseries

LEGACY_TOP_LEVEL = {"rows", "sharedCrosshair", "hideControls", "style"}
LEGACY_PANEL_TYPES = {"graph", "singlestat", "table-old", "grafana-singlestat-panel"}
LEGACY_PANEL_KEYS = {"span", "height", "minSpan", "error", "cacheTimeout", "editable"}

ROOT = Path(__file__).resolve().parent.parent

prom_only = Signal(
    key="test.prom_only",
    title="Prometheus only",
    unit="short",
    description="A signal only Prometheus can show.",
    prometheus=lambda s: __import__("airflow_dash.query.promql", fromlist=["x"]).metric("up"),
    telegraf=Unsupported("Telegraf has no such measurement"),
)


def _dashboard(rows, key="sample", links=()):
    return Dashboard(key=key, title="Sample", rows=rows, variables=[DimensionVariable(HOST)], links=links)


def _all_panels(model):
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels", [])


def test_output_is_modern_grafana_json_for_every_backend():
    dash = _dashboard([Row("Host", [timeseries("CPU", host.cpu_busy), stat("Memory", host.memory_used)]), Row("Notes", [text("About", "hi")], collapsed=True)])
    for compiled in compile_all([dash]):
        model = compiled.model
        assert model["schemaVersion"] == SCHEMA_VERSION >= 39
        assert not LEGACY_TOP_LEVEL & model.keys()
        assert model["uid"] == compiled.uid and len(compiled.uid) <= 40
        assert "managed-by:airflow-dash" in model["tags"] and f"backend:{compiled.backend}" in model["tags"]
        datasource_var = model["templating"]["list"][0]
        assert datasource_var["type"] == "datasource" and datasource_var["query"] == BACKENDS[compiled.backend].datasource_type
        for panel in _all_panels(model):
            assert panel["type"] not in LEGACY_PANEL_TYPES
            assert not LEGACY_PANEL_KEYS & panel.keys(), panel.keys()
            assert "gridPos" in panel
            if panel["type"] not in ("row", "text"):
                assert panel["datasource"] == {"type": BACKENDS[compiled.backend].datasource_type, "uid": "${datasource}"}
                assert panel["fieldConfig"]["defaults"]["unit"]
                assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])
                steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
                assert steps[0]["value"] is None  # Grafana's "from -infinity" step must stay null


def test_collapsed_rows_hold_their_panels_and_open_rows_are_followed_by_them():
    dash = _dashboard([Row("Open", [timeseries("CPU", host.cpu_busy)]), Row("Closed", [timeseries("Mem", host.memory_used)], collapsed=True)])
    model = compile_dashboard(dash, BACKENDS["prometheus"]).model
    kinds = [(p["type"], p.get("title")) for p in model["panels"]]
    assert kinds == [("row", "Open"), ("timeseries", "CPU"), ("row", "Closed")]
    assert [p["title"] for p in model["panels"][2]["panels"]] == ["Mem"]


@given(st.lists(st.lists(st.tuples(st.integers(1, 24), st.integers(1, 12)), max_size=12), min_size=1, max_size=5), st.lists(st.booleans(), min_size=5, max_size=5))
@settings(max_examples=300)
def test_layout_never_overlaps_and_stays_in_the_grid(rows, collapsed):
    placed = layout_rows([(f"r{i}", collapsed[i], sizes) for i, sizes in enumerate(rows)])
    visible: list[GridPos] = []
    for (header, panels), is_collapsed in zip(placed, collapsed):
        visible.append(header)
        if not is_collapsed:
            visible.extend(panels)
        for pos in panels:
            assert 0 <= pos.x and pos.x + pos.w <= COLUMNS and pos.w > 0 and pos.h > 0
    for i, a in enumerate(visible):
        for b in visible[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    # Rows come in order, each below everything before it.
    headers = [h for h, _ in placed]
    assert [h.y for h in headers] == sorted(h.y for h in headers)


def test_uids_are_stable_short_and_distinct_per_backend():
    uids = {dashboard_uid("a-rather-long-dashboard-key-name-here", b) for b in BACKENDS.values()}
    assert len(uids) == 3 and all(len(u) <= 40 for u in uids)
    assert all(set(u) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") for u in uids)
    assert dashboard_uid("system", BACKENDS["flux"]) == dashboard_uid("system", BACKENDS["flux"])


def test_a_panel_a_backend_cannot_express_is_left_out_with_its_reason():
    dash = _dashboard([Row("Host", [timeseries("CPU", host.cpu_busy), timeseries("Only Prometheus", prom_only)])])
    compiled = {c.backend: c for c in compile_all([dash])}
    assert [o.reason for o in compiled["prometheus"].omissions] == []
    for backend in ("flux", "influxql"):
        titles = [p.get("title") for p in _all_panels(compiled[backend].model)]
        assert "Only Prometheus" not in titles and "CPU" in titles
        assert [(o.what, o.reason) for o in compiled[backend].omissions] == [("panel 'Only Prometheus'", "Telegraf has no such measurement")]


def test_links_resolve_to_the_other_dashboard_for_the_same_backend():
    first = _dashboard([Row("Host", [timeseries("CPU", host.cpu_busy, links=(PanelLink("Details", "second"),))])], key="first", links=[DashboardLink("Second", "second")])
    second = _dashboard([Row("Host", [timeseries("Memory", host.memory_used)])], key="second")
    for compiled in compile_all([first, second]):
        if compiled.name != "first":
            continue
        target = dashboard_uid("second", BACKENDS[compiled.backend])
        assert compiled.model["links"][0]["url"] == f"/d/{target}"
        panel = next(p for p in _all_panels(compiled.model) if p.get("title") == "CPU")
        assert panel["links"][0]["url"].startswith(f"/d/{target}?")


def test_compiling_twice_in_separate_processes_gives_byte_identical_json(tmp_path):
    script = "from airflow_dash.build import compile_dashboards\nfor c in compile_dashboards():\n    print(c.to_json())"
    outputs = [subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout for seed in ("1", "2")]
    assert outputs[0] == outputs[1] and len(outputs[0]) > 1000


def test_variables_chain_and_filter_panel_queries():
    from airflow_dash.catalog.model import Dimension

    container = Dimension("container", "Container", "name", "container_name", "container_last_seen", "docker_container_cpu")
    signal = Signal("t.c", "C", "percent", "d", lambda s: __import__("airflow_dash.query.promql", fromlist=["x"]).metric("container_last_seen", **s.filters), TelegrafSeries("docker_container_cpu", "usage_percent"), dimensions=(HOST, container), group_by=(container,))
    dash = Dashboard("chain", "Chain", [Row("C", [timeseries("C", signal)])], variables=[DimensionVariable(HOST), DimensionVariable(container, depends_on=(HOST,))])
    compiled = {c.backend: c.model for c in compile_all([dash])}
    variables = {b: [v.get("query") for v in m["templating"]["list"]] for b, m in compiled.items()}
    assert variables["prometheus"][2] == 'label_values(container_last_seen{instance=~"${host}"}, name)'
    assert variables["influxql"][2] == 'SHOW TAG VALUES FROM "docker_container_cpu" WITH KEY = "container_name" WHERE "host" =~ /^${host:regex}$/'
    assert 'r.host =~ /^${host:regex}$/' in variables["flux"][2]
    iql = next(p for p in _all_panels(compiled["influxql"]) if p["type"] == "timeseries")["targets"][0]
    assert '"container_name" =~ /^${container:regex}$/' in iql["query"] and iql["alias"] == "$tag_container_name"


def test_invalid_definitions_are_rejected_early():
    with pytest.raises(ValueError):
        Dashboard("Bad Key", "x", [])
    with pytest.raises(ValueError):
        timeseries("too wide", host.cpu_busy, width=25)
    with pytest.raises(ValueError):
        Dashboard("x", "x", [], variables=[DimensionVariable(HOST, depends_on=(HOST,))])


def test_compiled_json_is_valid_json_text():
    for compiled in compile_all([_dashboard([Row("Host", [timeseries("CPU", host.cpu_busy)])])]):
        assert json.loads(compiled.to_json()) == compiled.model
        assert compiled.to_json().endswith("}\n")
