"""airflow-dash as a library, the way a user writes it: a module in `dashboards/` of an empty project, built by
the real `airflow-dash build` (every query through the real offline checkers) for all three backends.

It holds custom Flux and InfluxQL signals, a grafanalib BarChart and raw panel dicts in one row, a repeated
row, annotations, a data link carrying a label, a table in instant/table format, and a library panel. And each
bad option of issue #11, written in such a module, stops the build with one line naming the panel and field.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

USER_MODULE = '''
import grafanalib.core as G

from airflow_dash import Dashboard, DimensionVariable, Row, Signal, TelegrafSeries, table, timeseries
from airflow_dash.catalog import airflow
from airflow_dash.catalog.airflow import DAG as DAG_ID
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.dashboard import Annotation, DashboardLink
from airflow_dash.field_config import DataLink, Override, ValueMap, by_name, organize
from airflow_dash.panels import LibraryPanel, Query, RawPanel, UrlLink, state_timeline, thresholds
from airflow_dash.query import flux as F, influxql as Q, promql as P

queue_depth = Signal(
    key="team.queue_depth",
    title="Queue depth",
    unit="short",
    description="Jobs waiting in our own queue, per host.",
    prometheus=lambda s: P.max(s.metric("team_queue_depth")).by(*s.by),
    flux=lambda s: s.group(s.source("team_queue", "depth")).aggregate_window("max"),
    influxql=lambda s: s.select(Q.max("depth"), measurement="team_queue"),
    dimensions=(HOST,),
    group_by=(HOST,),
)

slowest = Signal(
    key="team.slowest",
    title="Slowest tasks",
    unit="s",
    description="Longest task durations by DAG.",
    prometheus=lambda s: P.topk(10, P.max(s.metric("airflow_dag_task_duration_seconds_sum")).by("dag_id", "task_id")),
    flux=F.raw("from(bucket: v.defaultBucket)\\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\\n"
               "  |> filter(fn: (r) => r._measurement == \\"airflow_dag\\" and r._field == \\"mean\\")\\n"
               "  |> group(columns: [\\"dag_id\\", \\"task_id\\"])\\n  |> max()"),
    influxql=Q.raw("SELECT max(\\"mean\\") FROM \\"airflow_dag\\" WHERE $timeFilter GROUP BY \\"dag_id\\", \\"task_id\\""),
    dimensions=(DAG_ID,),
)

bar = G.BarChart(title="Queue by host (grafanalib)")
raw_dict = {"type": "barchart", "title": "Queue (dict)", "options": {"orientation": "horizontal"},
            "gridPos": {"w": 8, "h": 6}}
news = {"type": "news", "title": "Airflow news", "options": {"feedUrl": "https://airflow.apache.org/blog/index.xml"}}

dashboard = Dashboard(
    key="team",
    title="Team",
    variables=[DimensionVariable(HOST), DimensionVariable(DAG_ID)],
    time_from="now-24h",
    time_to="now-5m",
    timezone="utc",
    refresh="5m",
    refresh_choices=("1m", "5m", "15m"),
    links=[DashboardLink("Hosts", "system"), DashboardLink("Runbook", url="https://wiki.example.com/airflow")],
    annotations=[Annotation("Task failures", airflow.ti_failures_rate), Annotation("Deploys", tags=("deploy",), color="blue")],
    rows=[
        Row("Custom", [
            timeseries("Queue depth", queue_depth, thresholds=thresholds("green", (100, "red")),
                       data_links=[DataLink("Host ${__field.labels.host}", "/d/hosts?var-host=${__field.labels.host}")],
                       links=[UrlLink("Runbook", "https://wiki.example.com/queue")],
                       options={"legend": {"displayMode": "table", "placement": "right", "calcs": ["max"]}},
                       custom={"lineWidth": 2}),
            table("Slowest tasks", Query(slowest, instant=True, format="table"),
                  transformations=[organize(exclude=("Time",), rename={"Value": "Seconds"})],
                  overrides=[Override(by_name("Seconds"), {"unit": "s", "decimals": 1})]),
        ]),
        Row("Foreign panels", [RawPanel(bar, queries=(queue_depth,), width=8, height=6),
                               RawPanel(raw_dict, queries=(queue_depth,)), news, LibraryPanel("lib-uid-1", "Shared heartbeat"),
                               G.BarChart(title="Bare grafanalib bar")]),
        Row("DAG $dag_id", [state_timeline("Up", queue_depth, mappings=[ValueMap("0", "idle", "green")])], repeat="dag_id"),
    ],
)
'''

BACKENDS = ("prometheus", "flux", "influxql")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict]:
    project = tmp_path_factory.mktemp("user-project")
    (project / "dashboards").mkdir()
    (project / "dashboards" / "team.py").write_text(USER_MODULE)
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--out", "out"], cwd=project,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    files = {p.parent.name: json.loads(p.read_text()) for p in (project / "out").rglob("airflow-dash-team-*.json")}
    assert set(files) == set(BACKENDS)
    return files


def _panels(model: dict) -> list[dict]:
    return [p for p in model["panels"] if p.get("type") != "row"] + [c for p in model["panels"] for c in p.get("panels", [])]


def _panel(model: dict, title: str) -> dict:
    (panel,) = [p for p in _panels(model) if p.get("title") == title]
    return panel


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_signals_render_with_the_dashboard_filters(built, backend):
    target = _panel(built[backend], "Queue depth")["targets"][0]
    text = target.get("expr") or target["query"]
    assert {"prometheus": 'instance=~"${host}"', "flux": "r.host =~ /^${host:regex}$/",
            "influxql": '"host" =~ /^${host:regex}$/'}[backend] in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_grafanalib_and_dict_panels_share_a_row_laid_out_with_our_datasource(built, backend):
    model = built[backend]
    row = next(p for p in model["panels"] if p.get("type") == "row" and p["title"] == "Foreign panels")
    bar, raw, news, library = (_panel(model, t) for t in ("Queue by host (grafanalib)", "Queue (dict)", "Airflow news", "Shared heartbeat"))
    assert bar["type"] == raw["type"] == "barchart" and news["type"] == "news"
    for panel in (bar, raw):
        assert panel["datasource"] == {"type": panel["datasource"]["type"], "uid": "${datasource}"}
        assert panel["targets"] and panel["targets"][0]["refId"] == "A"
    assert raw["options"] == {"orientation": "horizontal"}
    assert bar["fieldConfig"]["defaults"]["unit"] == raw["fieldConfig"]["defaults"]["unit"] == "short"  # the signal's
    assert [(p["gridPos"]["x"], p["gridPos"]["w"], p["gridPos"]["h"]) for p in (bar, raw, news)] == [(0, 8, 6), (8, 8, 6), (16, 12, 8)][:2] + [(0, 12, 8)]
    assert all(p["gridPos"]["y"] > row["gridPos"]["y"] for p in (bar, raw, news, library))
    assert library["libraryPanel"] == {"uid": "lib-uid-1", "name": "Shared heartbeat"} and "type" not in library
    # A grafanalib panel straight in a Row (no RawPanel around it) is placed as it is, without queries.
    bare = _panel(model, "Bare grafanalib bar")
    assert bare["type"] == "barchart" and not bare.get("targets") and bare["gridPos"]["y"] > row["gridPos"]["y"]


def test_the_user_module_imports_public_names_only():
    import ast
    import importlib
    import importlib.util

    names = [(node.module, alias.name) for node in ast.walk(ast.parse(USER_MODULE)) if isinstance(node, ast.ImportFrom)
             for alias in node.names if node.module and node.module.startswith("airflow_dash")]  # fmt: skip
    assert len(names) > 20
    for module, name in names:
        assert not name.startswith("_") and not any(part.startswith("_") for part in module.split(".")), (module, name)
        found = hasattr(importlib.import_module(module), name) or importlib.util.find_spec(f"{module}.{name}")
        assert found, (module, name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_repeated_row_repeats_by_its_variable(built, backend):
    row = next(p for p in built[backend]["panels"] if p.get("type") == "row" and p["title"] == "DAG $dag_id")
    assert row["repeat"] == "dag_id"
    assert _panel(built[backend], "Up")["fieldConfig"]["defaults"]["mappings"] == [
        {"type": "value", "options": {"0": {"text": "idle", "color": "green", "index": 0}}}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_annotations_from_airflow_events_and_from_tags(built, backend):
    annotations = {a["name"]: a for a in built[backend]["annotations"]["list"]}
    assert annotations["Deploys"]["target"]["tags"] == ["deploy"]
    failures = annotations["Task failures"]
    assert failures["datasource"]["uid"] == "${datasource}" and failures["iconColor"] == "red"
    text = failures.get("expr") or failures["target"]["query"]
    assert {"prometheus": "airflow_ti_failures", "flux": "airflow_ti_failures", "influxql": "airflow_ti_failures"}[backend] in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_data_link_carries_a_label_and_panel_options_are_grafana_options(built, backend):
    panel = _panel(built[backend], "Queue depth")
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults["links"] == [{"title": "Host ${__field.labels.host}", "url": "/d/hosts?var-host=${__field.labels.host}",
                                  "targetBlank": False}]
    assert panel["options"]["legend"] == {"displayMode": "table", "placement": "right", "calcs": ["max"]}
    assert panel["options"]["tooltip"]["mode"] == "multi"  # our default kept beside the author's legend
    assert defaults["custom"]["lineWidth"] == 2
    assert panel["links"] == [{"title": "Runbook", "url": "https://wiki.example.com/queue", "targetBlank": True}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_table_queries_are_instant_tables(built, backend):
    panel = _panel(built[backend], "Slowest tasks")
    target = panel["targets"][0]
    if backend == "prometheus":
        assert (target["instant"], target["range"], target["format"]) == (True, False, "table")
    elif backend == "influxql":
        assert target["resultFormat"] == "table"
    assert panel["transformations"][0]["id"] == "organize"
    assert panel["fieldConfig"]["overrides"][0] == {"matcher": {"id": "byName", "options": "Seconds"},
                                                    "properties": [{"id": "unit", "value": "s"}, {"id": "decimals", "value": 1}]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_dashboard_time_zone_refresh_and_links(built, backend):
    model = built[backend]
    assert model["time"] == {"from": "now-24h", "to": "now-5m"}
    assert (model["timezone"], model["refresh"]) == ("utc", "5m")
    assert model["timepicker"] == {"refresh_intervals": ["1m", "5m", "15m"]}
    hosts, runbook = model["links"]
    suffix = {"prometheus": "prom", "flux": "flux", "influxql": "iql"}[backend]
    assert hosts["url"] == f"/d/airflow-dash-system-{suffix}"  # a bundled dashboard, by key
    assert runbook["url"] == "https://wiki.example.com/airflow"


BAD_OPTIONS = [
    ("timeseries('CPU', host.cpu_busy, unit=5)", "panel 'CPU': unit 5 is not a Grafana unit"),
    ("timeseries('CPU', host.cpu_busy, draw_style='bar')", "panel 'CPU': draw_style 'bar': expected one of line, bars, points"),
    ("stat('CPU', host.cpu_busy, reduce='total')", "panel 'CPU': reduce 'total' is not a Grafana reducer"),
    ("gauge('CPU', host.cpu_busy, thresholds=(Threshold(None, 'green'), Threshold(90, 'red'), Threshold(80, 'orange')))",
     "panel 'CPU': thresholds out of order: 80 after 90"),
    ("timeseries('CPU', 'up')", "panel 'CPU': 'up' is a str, not a catalog Signal or Query"),
]


@pytest.mark.parametrize("panel, message", BAD_OPTIONS, ids=[m.split(": ", 1)[1][:20] for _, m in BAD_OPTIONS])
def test_a_bad_option_stops_the_build_with_one_line_naming_panel_and_field(tmp_path, panel, message):
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "bad.py").write_text(
        "from airflow_dash import Dashboard, Row, gauge, stat, timeseries\n"
        "from airflow_dash.catalog import host\nfrom airflow_dash.panels import Threshold\n"
        f"dashboard = Dashboard('bad', 'Bad', [Row('r', [{panel}])])\n"
    )
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--out", "out"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written
