"""The Airflow dashboards (`airflow-overview`, `airflow-dag`): they compile for every backend, every query is
valid for its language (Flux checked by flux-lsp in one batch), the layout is sound, every panel says what it
shows and what to do, and the two dashboards link to each other keeping the time range and variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from airflow_dash.backends import BACKENDS
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live.verify import iter_panels
from airflow_dash.validate import check_queries

DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"
KEYS = ("airflow-overview", "airflow-dag")


@lru_cache(maxsize=1)
def airflow_dashboards():
    return tuple(d for d in load_dashboards(DASHBOARDS_DIR) if d.key in KEYS)


@lru_cache(maxsize=1)
def compiled():
    return tuple(compile_all(airflow_dashboards()))


def by(key: str, backend: str):
    return next(c for c in compiled() if c.name == key and c.backend == backend)


def test_both_dashboards_exist_and_compile_for_every_backend():
    assert sorted(d.key for d in airflow_dashboards()) == sorted(KEYS)
    assert sorted((c.name, c.backend) for c in compiled()) == sorted((k, b) for k in KEYS for b in BACKENDS)
    for c in compiled():
        panels = [p for _, p in iter_panels(c.model)]
        assert len(panels) >= 8, f"{c.name}/{c.backend}: only {len(panels)} panels"
        assert all(p.get("targets") for p in panels), f"{c.name}/{c.backend}: a panel without targets"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_query_is_valid(backend):
    items = [q for c in compiled() if c.backend == backend for q in c.queries]
    assert items
    # One call per language: Flux runs flux-lsp in a single node process for the whole batch.
    problems = check_queries(BACKENDS[backend].language, [q.text for q in items])
    bad = [(q.dashboard, q.panel, q.ref_id, [str(p) for p in found], q.text)
           for q, found in zip(items, problems) if found]
    assert not bad, bad


def test_no_backend_loses_a_panel_silently():
    """A panel left out for a backend carries its catalog reason (shown by `list --verbose`)."""
    for c in compiled():
        for omission in c.omissions:
            assert omission.reason.strip(), omission
    # Prometheus is the reference stack: both dashboards must be complete there.
    for key in KEYS:
        assert not [o for o in by(key, "prometheus").omissions if o.what.startswith("panel")], key


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_layout_does_not_overlap(key, backend):
    model = by(key, backend).model
    boxes = []
    for panel in model["panels"]:
        boxes.append((panel["title"], panel["gridPos"]))
        for child in panel.get("panels") or []:
            boxes.append((child["title"], child["gridPos"]))
    for i, (title_a, a) in enumerate(boxes):
        assert a["x"] >= 0 and a["x"] + a["w"] <= 24, title_a
        for title_b, b in boxes[i + 1:]:
            overlap = (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                       and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])
            assert not overlap, f"{key}/{backend}: {title_a!r} overlaps {title_b!r}"


@pytest.mark.parametrize("key", KEYS)
def test_every_panel_has_a_unit_and_an_actionable_description(key):
    for backend in BACKENDS:
        for row, panel in iter_panels(by(key, backend).model):
            title = f"{key}/{backend}/{row}/{panel['title']}"
            unit = panel["fieldConfig"]["defaults"].get("unit")
            assert unit and unit != "none" or panel["type"] == "text", title
            description = panel.get("description", "")
            assert len(description) >= 40, f"{title}: description too short: {description!r}"


def test_series_of_one_panel_are_told_apart():
    """Several targets in one panel must not share a legend (two lines both called "etl_orders")."""
    for key in KEYS:
        for _, panel in iter_panels(by(key, "prometheus").model):
            legends = [t["legendFormat"] for t in panel["targets"]]
            assert len(set(legends)) == len(legends), (key, panel["title"], legends)


def test_units_are_grafana_units():
    allowed = {"s", "ms", "ops", "short", "percent", "percentunit", "none", "opm", "reqps"}
    for c in compiled():
        for _, panel in iter_panels(c.model):
            assert panel["fieldConfig"]["defaults"]["unit"] in allowed, (c.name, panel["title"])


def test_stat_row_comes_first_with_thresholds():
    for backend in BACKENDS:
        model = by("airflow-overview", backend).model
        first_row = model["panels"][0]
        assert first_row["type"] == "row" and not first_row["collapsed"]
        stats = []
        for panel in model["panels"][1:]:
            if panel["type"] == "row":
                break
            stats.append(panel)
        assert len(stats) >= 4 and all(p["type"] == "stat" for p in stats), backend
        colours = {p["title"]: [s["color"] for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]] for p in stats}
        assert sum("red" in c for c in colours.values()) >= 2, colours
        assert any("orange" in c for c in colours.values()), colours


def test_variables():
    for backend in BACKENDS:
        overview = {v["name"]: v for v in by("airflow-overview", backend).model["templating"]["list"]}
        assert overview["datasource"]["type"] == "datasource"
        for name in ("dag_id", "pool"):
            assert overview[name]["multi"] and overview[name]["includeAll"], (backend, name)
        dag = by("airflow-dag", backend).model["templating"]["list"]
        names = [v["name"] for v in dag]
        assert names[:3] == ["datasource", "dag_id", "task_id"], names
        task = dag[2]
        assert task["multi"] and task["includeAll"]
        # Chained: the task list is filtered by the chosen DAGs.
        assert "dag_id" in task["query"], task["query"]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_dashboards_link_to_each_other_keeping_time_and_variables(backend):
    overview, dag = by("airflow-overview", backend), by("airflow-dag", backend)
    header = {link["url"]: link for link in overview.model["links"]}
    assert f"/d/{dag.uid}" in header and header[f"/d/{dag.uid}"]["keepTime"] and header[f"/d/{dag.uid}"]["includeVars"]
    back = {link["url"]: link for link in dag.model["links"]}
    assert f"/d/{overview.uid}" in back and back[f"/d/{overview.uid}"]["keepTime"]
    # Panels about DAGs drill down to the DAG dashboard, carrying dag_id along (all variables kept).
    drill = [panel for _, panel in iter_panels(overview.model)
             if any(link["url"].startswith(f"/d/{dag.uid}?") for link in panel.get("links", []))]
    assert len(drill) >= 3
    for panel in drill:
        for link in panel["links"]:
            assert "${__all_variables}" in link["url"] and "${__url_time_range}" in link["url"]


def test_same_json_every_time():
    again = compile_all(airflow_dashboards())
    assert [c.to_json() for c in again] == [c.to_json() for c in compiled()]
