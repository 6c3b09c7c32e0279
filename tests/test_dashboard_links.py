"""Links that carry what was clicked, and "All" that means all.

A panel link passes the dashboard's variables as they are, so from the overview (DAG = All) it opens the DAG
dashboard on All. Panels whose every series is split by a dimension the target dashboard has a variable for
get a per-series data link with that series' own value instead (`${__field.labels.dag_id}`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_dash.backends import BACKENDS
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live.interpolate import Dialect, VariableValue, interpolate

DASHBOARDS = load_dashboards(Path(__file__).resolve().parents[1] / "dashboards")
DEFINITIONS = {d.key: d for d in DASHBOARDS}


def _panels(model):
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels", [])


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_overview_series_links_carry_the_clicked_dag(backend):
    overview = next(c for c in compile_all(DASHBOARDS, [backend]) if c.name == "airflow-overview")
    definition = {p.title: p for row in DEFINITIONS["airflow-overview"].rows for p in row.panels}
    seen = 0
    for panel in _panels(overview.model):
        source = definition.get(panel.get("title"))
        if source is None or not source.links:
            continue
        data_links = panel["fieldConfig"]["defaults"].get("links", [])
        split_by_dag = all(any(d.name == "dag_id" for d in q.signal.group_by) for q in source.queries)
        if split_by_dag:
            seen += 1
            (link,) = data_links
            assert "var-dag_id=${__field.labels.dag_id:percentencode}" in link["url"], link
            assert "${__all_variables}" not in link["url"]  # it would pass dag_id=All as well
            assert link["url"].startswith("/d/airflow-dash-airflow-dag-")
        else:
            assert data_links == [], panel["title"]  # no label to carry: the panel link (current selection) stays
        assert panel["links"], panel["title"]
    assert seen >= 2


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_all_is_a_match_anything_regex_on_every_backend(backend):
    dialect = {"prometheus": Dialect.PROMETHEUS, "flux": Dialect.FLUX, "influxql": Dialect.INFLUXQL}[backend]
    for compiled in compile_all(DASHBOARDS, [backend]):
        variables = {v["name"]: v for v in compiled.model["templating"]["list"] if v["type"] == "query"}
        for variable in variables.values():
            assert variable.get("allValue") == (".+" if variable["includeAll"] else None), variable["name"]
        for query in compiled.queries:
            values = {name: VariableValue(name, ("a.b", "c"), True, True, ".+", is_all=True) for name in variables}
            text = interpolate(query.text, values, dialect)
            assert "a\\.b" not in text and "a.b" not in text, (query.panel, text)  # All is not the option list
