"""Panels are checked when constructed, against Grafana's published schemas and unit list: one line naming
the panel and the field. Plus every panel kind compiles to options its schema accepts, and foreign panels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from airflow_dash.build import find_invalid_queries
from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.compile import compile_all
from airflow_dash.dashboard import Annotation, Dashboard, DashboardLink, DimensionVariable
from airflow_dash.field_config import DataLink, Override, RangeMap, SpecialMap, Transformation, ValueMap, by_name
from airflow_dash.panel_schema import check_options, is_unit
from airflow_dash.panels import (
    Panel, RawPanel, Row, Threshold, barchart, bargauge, gauge, heatmap, logs, piechart, stat, state_timeline, table,
    text, thresholds, timeseries,
)  # fmt: skip
from tests.reference import REFERENCE_ROOT

SCHEMAS = REFERENCE_ROOT / "grafana" / "jsonschema"


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: timeseries("x", host.cpu_busy, unit=5), "panel 'x': unit 5 is not a Grafana unit"),
        (lambda: timeseries("x", host.cpu_busy, unit="precent"), "panel 'x': unit 'precent' is not a Grafana unit"),
        (lambda: timeseries("x", host.cpu_busy, draw_style="bar"), "panel 'x': draw_style 'bar': expected one of line, bars, points"),
        (lambda: stat("x", host.cpu_busy, reduce="total"), "panel 'x': reduce 'total' is not a Grafana reducer"),
        (lambda: timeseries("x", host.cpu_busy, legend_calcs=["avg"]), "panel 'x': legend_calcs 'avg' is not a Grafana reducer"),
        (lambda: thresholds("green", (90, "red"), (80, "orange")), "thresholds: out of order: 80 after 90"),
        (lambda: gauge("x", host.cpu_busy, thresholds=(Threshold(None, "green"), Threshold(90, "red"), Threshold(80, "orange"))),
         "panel 'x': thresholds out of order: 80 after 90"),
        (lambda: timeseries("x", "up"), "panel 'x': 'up' is a str, not a catalog Signal or Query"),
        (lambda: timeseries("x", host.cpu_busy, options={"legend": {"displayMode": "tabel"}}),
         "panel 'x': options.legend.displayMode: 'tabel' is not one of 'list', 'table', 'hidden'"),
        (lambda: timeseries("x", host.cpu_busy, options={"legnd": {}}), "panel 'x': options.legnd: unknown field"),
        (lambda: timeseries("x", host.cpu_busy, custom={"lineWidth": "thick"}), "panel 'x': fieldConfig.defaults.custom.lineWidth: 'thick' is not of type 'number'"),
        (lambda: piechart("x", host.cpu_busy, options={"pieType": "donught"}), "panel 'x': options.pieType: 'donught' is not one of"),
        (lambda: table("x", host.cpu_busy, custom={"cellOptions": {"type": "sparkle"}}), "panel 'x': fieldConfig.defaults.custom.cellOptions"),
        (lambda: Panel("x", "barchrt", (), unit="none"), "panel 'x': unknown type 'barchrt'"),
        (lambda: timeseries("x", host.cpu_busy, width=30), "panel 'x': size 30x8 does not fit a 24-column grid"),
        (lambda: timeseries("x", host.cpu_busy, mappings=[{"0": "down"}]), "panel 'x': mappings takes ValueMap or RangeMap"),
        (lambda: timeseries("x", host.cpu_busy, overrides=[Override(by_name("a"), {"unit": "parsecs"})]), "unit 'parsecs' is not a Grafana unit"),
        (lambda: Transformation("orgnize"), "unknown transformation 'orgnize'"),
        (lambda: RangeMap(10, 1, "bad"), "RangeMap 'bad': from 10 is above to 1"),
        (lambda: SpecialMap("nil", "no data"), "SpecialMap match 'nil'"),
        (lambda: Row("r", ["up"]), "row 'r': str 'up' is not a panel"),
        (lambda: RawPanel({"title": "no type"}), "raw panel 'no type': needs a 'type'"),
    ],
)
def test_bad_options_are_rejected_at_construction_in_one_line(build, message):
    with pytest.raises((TypeError, ValueError)) as error:
        build()
    text_ = str(error.value)
    assert message in text_ and "\n" not in text_


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: _board(rows=[Row("r", [text("t", "x")], repeat="dag_id")]), "row 'r' repeats by 'dag_id', which is not one of its variables (host)"),
        (lambda: _board(time_to="yesterday"), "time_to 'yesterday'"),
        (lambda: _board(refresh="often"), "refresh 'often'"),
        (lambda: _board(timezone="Mars/Olympus"), "timezone 'Mars/Olympus'"),
        (lambda: _board(refresh="10s", refresh_choices=("1m",)), "refresh '10s' is not one of refresh_choices"),
        (lambda: Annotation("a"), "annotation 'a': give a signal or tags"),
        (lambda: DashboardLink("a"), "dashboard link 'a': give a dashboard key or a url"),
    ],
)
def test_bad_dashboard_settings_are_rejected_at_construction(build, message):
    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def _board(rows=None, **settings) -> Dashboard:
    rows = rows or [Row("r", [timeseries("CPU", host.cpu_busy)])]
    return Dashboard(key="b", title="B", rows=rows, variables=[DimensionVariable(HOST)], **settings)


def test_a_bad_option_in_a_dashboards_module_is_one_line_and_exit_2(tmp_path: Path):
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "bad.py").write_text(
        "from airflow_dash import Dashboard, Row, timeseries\nfrom airflow_dash.catalog import host\n"
        "dashboard = Dashboard('bad', 'Bad', [Row('r', [timeseries('CPU', host.cpu_busy, draw_style='bar')])])\n"
    )
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "panel 'CPU': draw_style 'bar'" in result.stderr and not (tmp_path / "build").exists()


ALL_KINDS = [
    timeseries("ts", host.cpu_busy, stacked=True, legend_calcs=["mean"], thresholds=thresholds("green", (80, "red"))),
    stat("st", host.cpu_busy, thresholds=thresholds("green", (80, "red")), mappings=[ValueMap("0", "idle")]),
    gauge("ga", host.cpu_busy, min=0, max=100),
    bargauge("bg", host.cpu_busy),
    table("tb", host.cpu_busy),
    text("tx", "hello"),
    state_timeline("sl", host.cpu_busy, mappings=[RangeMap(0, 50, "ok", "green"), SpecialMap("null", "none")]),
    heatmap("hm", host.cpu_busy),
    barchart("bc", host.cpu_busy),
    piechart("pc", host.cpu_busy),
    logs("lg", host.cpu_busy),
]


def _kinds_board() -> Dashboard:
    return _board(rows=[Row("all", ALL_KINDS)])


@pytest.mark.parametrize("backend", ["prometheus", "flux", "influxql"])
def test_every_kind_compiles_to_options_its_published_schema_accepts(backend):
    (compiled,) = compile_all([_kinds_board()], [backend])
    panels = {p["title"]: p for p in compiled.model["panels"] if p["type"] != "row"}
    assert sorted(p["type"] for p in panels.values()) == sorted(p.type for p in ALL_KINDS)
    for panel in panels.values():
        assert check_options(panel["type"], "options", panel.get("options", {})) == [], panel["title"]
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
        assert check_options(panel["type"], "custom", custom) == [], panel["title"]
    assert find_invalid_queries([compiled]) == []


def test_heatmap_and_table_ask_for_the_frames_they_show():
    (compiled,) = compile_all([_kinds_board()], ["prometheus"])
    panels = {p["title"]: p for p in compiled.model["panels"]}
    assert panels["hm"]["targets"][0]["format"] == "heatmap"
    assert (panels["tb"]["targets"][0]["format"], panels["tb"]["targets"][0]["instant"]) == ("table", True)
    assert (panels["ts"]["targets"][0]["format"], panels["ts"]["targets"][0]["instant"]) == ("time_series", False)


def test_a_raw_panel_with_its_own_targets_is_kept_on_its_language_only_and_checked():
    own = {"type": "timeseries", "title": "Own PromQL", "targets": [{"expr": "sum(rate(up[$__rate_interval]))"}]}
    broken = {"type": "stat", "title": "Broken", "targets": [{"refId": "A", "expr": "sum(rate(up[5m])"}]}
    compiled = {c.backend: c for c in compile_all([_board(rows=[Row("r", [own, broken])])])}
    panel = next(p for p in compiled["prometheus"].model["panels"] if p.get("title") == "Own PromQL")
    assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"][0]["refId"] == "A"
    assert panel["targets"][0]["datasource"]["uid"] == "${datasource}"
    assert [q.raw for q in compiled["prometheus"].queries if q.panel == "Own PromQL"] == [True]
    assert {o.what for o in compiled["flux"].omissions} >= {"panel 'Own PromQL'", "panel 'Broken'"}
    problems = find_invalid_queries([compiled["prometheus"]])
    assert [p.query.panel for p in problems] == ["Broken"]


def test_options_mean_grafana_panel_options_not_the_whole_panel():
    (compiled,) = compile_all([_board(rows=[Row("r", [stat("s", host.cpu_busy, options={"graphMode": "none"})])])],
                              ["prometheus"])
    panel = next(p for p in compiled.model["panels"] if p["type"] == "stat")
    assert panel["options"]["graphMode"] == "none"
    assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]  # the rest of our defaults stay
    assert "graphMode" not in panel


def test_panels_are_hashable_values():
    assert hash(timeseries("a", host.cpu_busy)) == hash(timeseries("a", host.cpu_busy))
    assert timeseries("a", host.cpu_busy, options={"legend": {"displayMode": "table"}}) != timeseries("a", host.cpu_busy)
    assert len({DataLink("a", "/x"), DataLink("a", "/x")}) == 1


def test_units_include_custom_units():
    assert is_unit("suffix: jobs") and is_unit("currencyEUR") and not is_unit("jobs")


@pytest.mark.skipif(not SCHEMAS.is_dir(), reason="Grafana's published JSON Schemas are not in the shared reference")
def test_vendored_units_match_the_published_ones():
    import json

    from airflow_dash._panel_schema_data import UNITS

    units = {d["const"] for d in json.loads((SCHEMAS / "units.jsonschema.json").read_text())["definitions"].values()}
    assert set(UNITS) == units


def test_bundled_keys_are_the_bundled_dashboards():
    from airflow_dash.dashboard import BUNDLED_KEYS
    from airflow_dash.discovery import bundled_directory, load_dashboards

    assert BUNDLED_KEYS == {d.key for d in load_dashboards(bundled_directory())}


HELPERS = [timeseries, stat, gauge, bargauge, table, state_timeline, heatmap, barchart, piechart, logs]
OUT_OF_ORDER = (Threshold(None, "green"), Threshold(90, "red"), Threshold(80, "orange"))


@pytest.mark.parametrize("helper", HELPERS, ids=lambda h: h.__name__)
def test_every_kind_rejects_the_bad_options_of_the_issue_in_one_line_naming_panel_and_field(helper):
    import inspect

    accepted = inspect.signature(helper).parameters
    bad = {"unit": (5, "unit 5 is not a Grafana unit"), "draw_style": ("bar", "draw_style 'bar'"),
           "reduce": ("total", "reduce 'total' is not a Grafana reducer"),
           "thresholds": (OUT_OF_ORDER, "thresholds out of order: 80 after 90")}  # fmt: skip
    cases = [({name: value}, message) for name, (value, message) in bad.items() if name in accepted]
    assert ("unit" in accepted) is (helper is not logs)
    for kwargs, message in cases:
        with pytest.raises((TypeError, ValueError)) as error:
            helper("P", host.cpu_busy, **kwargs)
        assert str(error.value).startswith(f"panel 'P': {message}") and "\n" not in str(error.value), kwargs
    with pytest.raises(TypeError) as error:  # a query given as a string instead of a signal
        helper("P", "up")
    assert str(error.value).startswith("panel 'P': 'up' is a str, not a catalog Signal or Query")
    assert "\n" not in str(error.value)


def test_the_same_options_are_checked_once_and_a_lookalike_is_still_checked(monkeypatch):
    """Construction checks each distinct options / custom once (a thousand panels, one jsonschema run), keyed
    by exact structure: `1` where `True` passed is still checked and rejected, naming the panel."""
    import airflow_dash.panels as panels

    calls = []
    real = panels.check_options
    monkeypatch.setattr(panels, "check_options", lambda *a, **k: calls.append(a[:2]) or real(*a, **k))
    monkeypatch.setattr(panels, "_VALID_OPTIONS", set())
    good = {"legend": {"showLegend": True, "displayMode": "table"}}
    for i in range(5):
        timeseries(f"cpu {i}", host.cpu_busy, options=good)
    assert calls.count(("timeseries", "options")) == 1
    with pytest.raises(ValueError, match=r"panel 'other'.*options\.legend\.showLegend"):
        timeseries("other", host.cpu_busy, options={"legend": {"showLegend": 1, "displayMode": "table"}})
    with pytest.raises(ValueError, match=r"panel 'again'.*options\.legend\.showLegend"):
        timeseries("again", host.cpu_busy, options={"legend": {"showLegend": 1, "displayMode": "table"}})
    assert calls.count(("timeseries", "options")) == 3
