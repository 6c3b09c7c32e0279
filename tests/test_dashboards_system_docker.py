"""System and Docker dashboards: compile for every backend, valid queries, clean layout, documented panels.

The Flux checks also prove the Flux queries only name measurements, fields and tags that Telegraf writes,
as modelled by `tests/telegraf_points.py` (the same points the InfluxDB real-data tests load).
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog import docker as docker_catalog
from airflow_dash.catalog import host as host_catalog
from airflow_dash.catalog.model import Signal, TelegrafSeries
from airflow_dash.compile import compile_all
from airflow_dash.layout import GridPos
from airflow_dash.validate import check_queries
from tests import telegraf_points

DASHBOARDS_DIR = Path(__file__).resolve().parents[1] / "dashboards"
KEYS = ("system", "docker")

# Panels left out on a backend, and why: the only accepted omissions.
EXPECTED_OMISSIONS = {
    ("docker", "flux"): {"panel 'OOM kills'"},
    ("docker", "influxql"): {"panel 'OOM kills'"},
}


def load_system_and_docker():
    """The two dashboard modules only (other engineers' modules in dashboards/ are not ours to test)."""
    dashboards = []
    for key in KEYS:
        spec = importlib.util.spec_from_file_location(f"_test_dashboards_{key}", DASHBOARDS_DIR / f"{key}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dashboards.append(module.dashboard)
    assert [d.key for d in dashboards] == list(KEYS)
    return dashboards


def compile_system_and_docker(backends=None):
    return {(c.name, c.backend): c for c in compile_all(load_system_and_docker(), backends)}


@pytest.fixture(scope="module")
def compiled():
    return compile_system_and_docker()


def _panels(model: dict) -> list[dict]:
    result = []
    for panel in model["panels"]:
        result.append(panel)
        result.extend(panel.get("panels") or [])
    return result


def _content_panels(model: dict) -> list[dict]:
    return [p for p in _panels(model) if p["type"] != "row"]


def test_both_compile_for_every_backend(compiled):
    assert set(compiled) == {(key, backend) for key in KEYS for backend in BACKENDS}
    counts = {key: len(_content_panels(c.model)) for key, c in compiled.items()}
    for backend in BACKENDS:
        assert 15 <= counts[("system", backend)] <= 26, counts
        assert 8 <= counts[("docker", backend)] <= 15, counts


def test_only_documented_omissions(compiled):
    for key, dashboard in compiled.items():
        omitted = {o.what for o in dashboard.omissions}
        assert omitted == EXPECTED_OMISSIONS.get(key, set()), (key, dashboard.omissions)
        assert all(o.reason for o in dashboard.omissions)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_query_is_valid(compiled, backend):
    queries = [q for (key, b), c in compiled.items() if b == backend for q in c.queries]
    language = BACKENDS[backend].language
    problems = check_queries(language, [q.text for q in queries])
    bad = [(q.dashboard, q.panel, q.ref_id, [str(p) for p in found]) for q, found in zip(queries, problems) if found]
    assert not bad, bad
    assert len(queries) > 30


def test_no_overlapping_panels(compiled):
    for key, dashboard in compiled.items():
        boxes = [(p["title"], GridPos(**p["gridPos"])) for p in _panels(dashboard.model)]
        assert len(boxes) > 10
        for i, (title, box) in enumerate(boxes):
            assert 0 <= box.x and box.x + box.w <= 24 and box.w > 0 and box.h > 0, (key, title, box)
            for other_title, other in boxes[i + 1:]:
                assert not box.overlaps(other), (key, title, other_title)


def test_every_panel_has_unit_and_description(compiled):
    for key, dashboard in compiled.items():
        for panel in _content_panels(dashboard.model):
            assert panel["fieldConfig"]["defaults"].get("unit") not in (None, "", "none"), (key, panel["title"])
            assert len(panel.get("description") or "") > 30, (key, panel["title"])
            assert panel["targets"], (key, panel["title"])


def test_catalog_signals_have_unit_and_advice():
    for module in (host_catalog, docker_catalog):
        for signal in vars(module).values():
            if isinstance(signal, Signal):
                assert signal.unit and len(signal.description) > 40, signal.key


def test_variables_and_links(compiled):
    for backend in BACKENDS:
        system = compiled[("system", backend)].model
        docker = compiled[("docker", backend)].model
        assert [v["name"] for v in system["templating"]["list"]] == ["datasource", "host"]
        assert [v["name"] for v in docker["templating"]["list"]] == ["datasource", "host", "container"]
        container = docker["templating"]["list"][2]["query"]
        assert "host" in container  # the container list follows the chosen hosts
        assert [link["url"] for link in system["links"]] == [f"/d/{docker['uid']}"]
        assert [link["url"] for link in docker["links"]] == [f"/d/{system['uid']}"]
        assert all(link["keepTime"] and link["includeVars"] for link in system["links"] + docker["links"])


# --- Flux: the queries read what Telegraf writes --------------------------------------------------------------

_CONDITION = re.compile(r'r\.(?P<column>[A-Za-z_][A-Za-z0-9_]*) (?P<op>==|=~|!=|!~) (?P<value>"(?:[^"\\]|\\.)*"|/(?:[^/\\]|\\.)*/)')


def _filter_conditions(query: str) -> list[tuple[str, str, str]]:
    conditions = []
    for line in query.splitlines():
        if "filter(fn:" in line or "predicate:" in line:
            conditions.extend((m["column"], m["op"], m["value"]) for m in _CONDITION.finditer(line))
    return conditions


@pytest.fixture(scope="module")
def telegraf_schema():
    now = time.time()
    points = telegraf_points.system_points(now - 60, now) + telegraf_points.docker_points(now - 60, now)
    return telegraf_points.schema(points)


def test_flux_queries_use_what_telegraf_writes(compiled, telegraf_schema):
    checked = 0
    for key in KEYS:
        for query in compiled[(key, "flux")].queries:
            conditions = _filter_conditions(query.text)
            assert conditions, (key, query.panel, query.text)
            measurements = [v.strip('"') for c, op, v in conditions if c == "_measurement"]
            assert len(measurements) == 1 and measurements[0] in telegraf_schema, (key, query.panel, measurements)
            tags, fields = telegraf_schema[measurements[0]]
            for column, op, value in conditions:
                if column == "_field":
                    # a field literal, or an anchored alternation of them (ratios read two fields)
                    names = value.strip('"').removeprefix("/^(?:").removesuffix(")$/").split("|")
                    for field in names:
                        assert fields.get(field) in (int, float), (key, query.panel, field)
                elif column != "_measurement":
                    assert column in tags, (key, query.panel, measurements[0], column)
                    if op == "==" and "$" not in value:
                        # a literal tag value: telegraf_points writes it
                        assert value.strip('"') in _tag_values(measurements[0], column), (key, query.panel, column, value)
            checked += 1
    assert checked > 40


def _tag_values(measurement: str, tag: str) -> set[str]:
    now = time.time()
    points = telegraf_points.system_points(now - 20, now) + telegraf_points.docker_points(now - 20, now)
    return {p.tags[tag] for p in points if p.measurement == measurement and tag in p.tags}


def test_catalog_telegraf_series_are_written(telegraf_schema):
    """Every TelegrafSeries of the host and Docker catalogs names a numeric field Telegraf writes."""
    for module in (host_catalog, docker_catalog):
        for signal in vars(module).values():
            if not isinstance(signal, Signal) or not isinstance(signal.telegraf, TelegrafSeries):
                continue
            series = signal.telegraf
            assert series.measurement in telegraf_schema, signal.key
            tags, fields = telegraf_schema[series.measurement]
            assert fields.get(series.field) in (int, float), (signal.key, series.field)
            for tag in list(series.where) + [d.telegraf_tag for d in signal.dimensions]:
                assert tag in tags, (signal.key, tag)
