"""Public objects are immutable and hashable: a dict given to a panel, field config value, Telegraf series or raw
Grafana JSON is frozen when the object is constructed, so changing the dict afterwards changes nothing."""

import copy
import pickle

import pytest

from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.catalog.model import Signal, TelegrafSeries
from airflow_dash.compile import compile_all
from airflow_dash.dashboard import Dashboard, DimensionVariable, RawAnnotation, RawLink, RawVariable
from airflow_dash.field_config import Override, Transformation, by_name
from airflow_dash.frozen import FrozenDict, FrozenList, freeze, thaw
from airflow_dash.panels import RawPanel, Row, piechart, table, timeseries


def _inputs():
    """Fresh mutable inputs, nested, for every object that takes a dict."""
    return {
        "options": {"legend": {"displayMode": "table", "calcs": ["max"]}},
        "custom": {"lineWidth": 2, "hideFrom": {"legend": False, "tooltip": False, "viz": False}},
        "override": {"unit": "short", "color": {"mode": "fixed", "fixedColor": "red"}},
        "transformation": {"excludeByName": {"Time": True}},
        "raw_panel": {"type": "text", "title": "Notes", "options": {"mode": "markdown", "content": "hi"}},
        "variable": {"type": "custom", "name": "env", "query": "prod,staging", "options": [{"text": "prod"}]},
        "annotation": {"name": "Deploys", "enable": True, "target": {"tags": ["deploy"]}},
        "link": {"title": "Docs", "type": "link", "url": "https://airflow.apache.org", "tags": []},
        "where": {"cpu": "cpu-total"},
    }


def _dashboard(given):
    load = Signal(key="t.load", title="Load", unit="short", description="Load.", prometheus=lambda s: s.metric("node_load1"),
                  telegraf=TelegrafSeries("system", "load1", where=given["where"]), dimensions=(HOST,), group_by=(HOST,))  # fmt: skip
    return Dashboard(
        key="frozen", title="Frozen", variables=[DimensionVariable(HOST), RawVariable(given["variable"])],
        annotations=[RawAnnotation(given["annotation"])], links=[RawLink(given["link"])],
        rows=[Row("R", [
            timeseries("CPU", host.cpu_busy, load, options=given["options"], custom=given["custom"],
                       overrides=[Override(by_name("x"), given["override"])],
                       transformations=[Transformation("organize", given["transformation"])]),
            RawPanel(given["raw_panel"]),
        ])],
    )  # fmt: skip


def _mutate(value):
    """Change every dict and list inside `value`, in place."""
    if isinstance(value, dict):
        for key in list(value):
            if isinstance(value[key], (dict, list)):
                _mutate(value[key])
            else:
                value[key] = "changed"
        value["added"] = "changed"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                _mutate(item)
            else:
                value[index] = "changed"
        value.append("changed")


def test_changing_the_dicts_after_construction_changes_no_compiled_output():
    given = _inputs()
    dashboard = _dashboard(given)
    before = [c.to_json() for c in compile_all([dashboard])]
    expected = [c.to_json() for c in compile_all([_dashboard(_inputs())])]
    assert before == expected
    _mutate(given)
    assert given["options"]["legend"]["calcs"] == ["changed", "changed"]  # the inputs did change...
    assert [c.to_json() for c in compile_all([dashboard])] == before  # ...the dashboard did not


def test_what_is_read_back_cannot_be_changed():
    panel = timeseries("CPU", host.cpu_busy, options={"legend": {"calcs": ["max"]}})
    with pytest.raises(TypeError):
        panel.options["legend"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        panel.options["legend"]["calcs"].append("min")
    raw = RawPanel({"type": "text", "title": "T", "gridPos": {"w": 6, "h": 3}})
    with pytest.raises(TypeError):
        raw.body["gridPos"]["w"] = 24
    assert raw.size == (6, 3)
    # Reading still works as it did with dicts and lists.
    assert panel.options == {"legend": {"calcs": ["max"]}} and panel.options["legend"]["calcs"] == ["max"]
    assert dict(raw.body)["title"] == "T" and raw.body.get("missing") is None


def test_public_objects_hash_and_equal_by_value():
    a, b = _dashboard(_inputs()), _dashboard(_inputs())
    panel_a, panel_b = a.rows[0].panels[0], b.rows[0].panels[0]
    assert panel_a.options == panel_b.options and hash(panel_a.options) == hash(panel_b.options)
    for x, y in [(a.rows[0].panels[1], b.rows[0].panels[1]), (a.variables[1], b.variables[1]),
                 (a.annotations[0], b.annotations[0]), (a.links[0], b.links[0]),
                 (panel_a.overrides[0], panel_b.overrides[0]), (panel_a.transformations[0], panel_b.transformations[0]),
                 (panel_a.queries[1].signal.telegraf, panel_b.queries[1].signal.telegraf)]:  # fmt: skip
        assert x == y and hash(x) == hash(y), type(x).__name__
    same = [timeseries("CPU", host.cpu_busy, options=_inputs()["options"], custom=_inputs()["custom"]) for _ in range(2)]
    assert len({*same, timeseries("CPU", host.cpu_busy)}) == 2
    assert timeseries("CPU", host.cpu_busy, options={"tooltip": {"mode": "single"}}) != timeseries(
        "CPU", host.cpu_busy, options={"tooltip": {"mode": "multi"}})
    assert hash(table("T", host.cpu_busy)) == hash(table("T", host.cpu_busy))
    assert piechart("P", host.memory_used, options={"pieType": "donut"}).options["pieType"] == "donut"


def test_frozen_values_copy_pickle_and_thaw_to_fresh_plain_json():
    import json

    frozen = freeze({"a": [1, {"b": (2, 3)}], "c": {"d": None}})
    assert json.loads(json.dumps(frozen)) == {"a": [1, {"b": [2, 3]}], "c": {"d": None}}  # serialises like a dict
    assert isinstance(frozen, dict) and isinstance(frozen["a"], list)
    for change in (lambda: frozen.update(x=1), lambda: frozen.pop("a"), lambda: frozen.setdefault("x", 1),
                   lambda: frozen["a"].extend([2]), lambda: frozen["a"].sort(), lambda: frozen.clear()):  # fmt: skip
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert frozen == {"a": [1, {"b": (2, 3)}], "c": {"d": None}}
    assert isinstance(frozen, FrozenDict) and isinstance(frozen["a"], FrozenList)
    assert pickle.loads(pickle.dumps(frozen)) == frozen and copy.deepcopy(frozen) == frozen
    plain = thaw(frozen)
    assert plain == {"a": [1, {"b": (2, 3)}], "c": {"d": None}} and type(plain["a"]) is list
    plain["a"].append(4)
    assert frozen["a"] == [1, {"b": (2, 3)}]
    assert frozen == {"a": [1, {"b": (2, 3)}], "c": {"d": None}}
    assert repr(freeze({"x": [1]})) == "FrozenDict({'x': FrozenList([1])})"


def test_dashboards_made_of_the_same_parts_are_equal_and_hash_alike():
    def board():
        return Dashboard("d", "D", [Row("R", [timeseries("CPU", host.cpu_busy, options={"legend": {"calcs": ["max"]}}),
                                              RawPanel({"type": "text", "title": "T"})])],
                         variables=[DimensionVariable(HOST), RawVariable({"name": "env", "type": "custom"})],
                         annotations=[RawAnnotation({"name": "A"})], links=[RawLink({"title": "L", "url": "/x"})])  # fmt: skip

    assert board() == board() and hash(board()) == hash(board()) and len({board(), board()}) == 1
