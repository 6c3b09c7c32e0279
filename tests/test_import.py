"""`airflow-dash import`: an existing dashboard becomes a module in dashboards/ that compiles back to an
equivalent dashboard (normalized forms equal: see airflow_dash.importing for what is normalised)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_dash.build import find_invalid_queries
from airflow_dash.compile import canonical_json, compile_all
from airflow_dash.dashboard import Dashboard
from airflow_dash.discovery import bundled_directory, load_dashboards
from airflow_dash.importing import import_dashboard, normalized
from tests.reference import CONTENT

REFERENCE_DASHBOARDS = [
    CONTENT / "databand-airflow-dashboards" / "cluster-dashboard.json",
    CONTENT / "databand-airflow-dashboards" / "dag-dashboard.json",
    CONTENT / "airflow-mixin" / "apache-airflow-overview.json",
]


def _module_dashboard(source: str) -> Dashboard:
    namespace: dict = {}
    exec(compile(source, "imported.py", "exec"), namespace)
    return namespace["dashboard"]


def _round_trip(model: dict) -> tuple[dict, object]:
    imported = import_dashboard(model)
    (compiled,) = compile_all([_module_dashboard(imported.source)], ["prometheus"])
    return compiled.model, imported


BUNDLED = {d.key: d for d in load_dashboards(bundled_directory())}


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_our_compiled_output_imports_back_to_the_same_dashboard(key):
    (original,) = compile_all(list(BUNDLED.values()), ["prometheus"])[sorted(BUNDLED).index(key):][:1]
    assert original.name == key
    again, imported = _round_trip(original.model)
    assert canonical_json(normalized(again)) == canonical_json(normalized(original.model))
    assert imported.recognised > 0  # catalog signals are recognised, not kept as raw text
    # Recognised queries are the catalog's again: the same text, not marked raw.
    assert again["panels"] == original.model["panels"]


@pytest.mark.parametrize("path", REFERENCE_DASHBOARDS, ids=lambda p: p.name)
def test_reference_dashboards_round_trip(path):
    if not path.is_file():
        pytest.skip(f"shared reference dashboard {path.name} is not present")
    model = json.loads(path.read_text())
    again, imported = _round_trip(model)
    assert canonical_json(normalized(again)) == canonical_json(normalized(model))
    assert imported.raw > 0
    (compiled,) = compile_all([_module_dashboard(imported.source)], ["prometheus"])
    assert all(q.raw for q in compiled.queries if q.ref_id != "-")  # kept as written, marked raw
    assert find_invalid_queries([compiled]) == []


def test_unknown_panel_kinds_and_raw_queries_are_kept():
    model = {"uid": "x", "title": "X", "panels": [
        {"type": "row", "title": "R", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "collapsed": False, "panels": []},
        {"type": "grafana-clock-panel", "title": "Clock", "gridPos": {"x": 0, "y": 1, "w": 6, "h": 4}, "options": {"mode": "time"}},
        {"type": "timeseries", "title": "Up", "gridPos": {"x": 6, "y": 1, "w": 18, "h": 4},
         "targets": [{"refId": "A", "expr": "up{job=\"x\"}", "legendFormat": "{{instance}}"}]},
    ]}
    again, imported = _round_trip(model)
    assert (imported.recognised, imported.raw) == (0, 1)
    assert "RawPanel({" in imported.source and "'grafana-clock-panel'" in imported.source
    assert canonical_json(normalized(again)) == canonical_json(normalized(model))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_import_then_build_from_an_empty_project(tmp_path):
    (original,) = compile_all([BUNDLED["system"]], ["prometheus"])
    source = tmp_path / "exported.json"
    source.write_text(json.dumps({"dashboard": {**original.model, "uid": "team-hosts", "title": "Team hosts"}}))
    result = run("import", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dashboards" / "team-hosts.py".replace("-", "_")).is_file()
    again = run("import", str(source), cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr and again.stderr.count("\n") == 1
    built = run("build", "--backend", "prometheus", "--out", "out", "team-hosts", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    compiled = json.loads((tmp_path / "out" / "prometheus" / "airflow-dash-team-hosts-prom.json").read_text())
    expected = normalized({**original.model, "title": "Team hosts"})
    assert canonical_json(normalized(compiled)) == canonical_json(expected)


def test_import_of_something_else_is_one_line_exit_2(tmp_path):
    (tmp_path / "not.json").write_text('{"hello": 1}')
    result = run("import", "not.json", cwd=tmp_path)
    assert result.returncode == 2 and "not a Grafana dashboard" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "dashboards").exists()
    neither = run("import", cwd=tmp_path)
    assert neither.returncode == 2 and "FILE or --uid" in neither.stderr
