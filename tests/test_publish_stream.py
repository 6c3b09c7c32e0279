"""A streamed publish: dashboards compiled one at a time when publish asks for them (`deferred_dashboards`),
each asked for once, and a plan that holds no model and no live copy it does not need (issue 13: memory
roughly flat for thousands of dashboards; `make bench` measures the peak RSS)."""

from __future__ import annotations

from pathlib import Path

from airflow_dash import compile as compile_module
from airflow_dash.backends import BACKENDS
from airflow_dash.build import deferred_dashboards
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.grafana.publish import PublishOptions, publish_dashboards

DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"


def test_deferred_dashboards_are_the_compiled_ones():
    definitions = load_dashboards(DASHBOARDS_DIR)
    compiled = compile_all(definitions, list(BACKENDS))
    deferred = deferred_dashboards(definitions, list(BACKENDS))
    assert [(c.uid, c.title, c.folder, c.backend) for c in compiled] == \
        [(d.uid, d.title, d.folder, d.backend) for d in deferred]
    assert all(c.model == d.model for c, d in zip(compiled, deferred))


def test_a_streamed_publish_compiles_each_dashboard_once_and_keeps_no_model(grafana, monkeypatch):
    compiles: list[str] = []
    real = compile_module.compile_dashboard

    def counting(definition, *args, **kwargs):
        compiles.append(definition.key)
        return real(definition, *args, **kwargs)

    monkeypatch.setattr(compile_module, "compile_dashboard", counting)
    definitions = load_dashboards(DASHBOARDS_DIR)
    deferred = deferred_dashboards(definitions, ["prometheus", "influxql"])
    options = PublishOptions(root_folder=grafana.root_folder, concurrency=4)
    with grafana.client() as client:
        plan, report = publish_dashboards(client, deferred, options)
        assert report.ok, [i for i in report.items if not i.ok]
        assert {s.action for s in plan.dashboards} == {"create"}
        assert sorted(compiles) == sorted(d.definition.key for d in deferred)  # once each, at its write
        assert all(s.desired is None and s.live_model is None for s in plan.dashboards)  # nothing encoded kept

        compiles.clear()
        plan, report = publish_dashboards(client, deferred, options)
        assert report.ok and {s.action for s in plan.dashboards} == {"unchanged"}
        assert sorted(compiles) == sorted(d.definition.key for d in deferred)
        assert all(s.desired is None and s.source is None and s.live_model is None for s in plan.dashboards)
