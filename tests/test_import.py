"""`airflow-dash import`: an existing dashboard becomes a module in dashboards/ that compiles back to an
equivalent dashboard (normalized forms equal: see airflow_dash.importing for what is normalised)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_dash.build import find_invalid_queries
from airflow_dash.compile import canonical_json, compile_all
from airflow_dash.catalog import airflow
from airflow_dash.dashboard import Annotation, Dashboard, DimensionVariable
from airflow_dash.discovery import bundled_directory, load_dashboards
from airflow_dash.importing import import_dashboard, normalized
from tests.cli import assert_one_line_error, run_cli as run
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


def _round_trip(model: dict, backend: str = "prometheus") -> tuple[dict, object]:
    imported = import_dashboard(model)
    (compiled,) = compile_all([_module_dashboard(imported.source)], [backend])
    return compiled.model, imported


BUNDLED = {d.key: d for d in load_dashboards(bundled_directory())}
BACKEND_NAMES = ("prometheus", "flux", "influxql")
COMPILED = {(c.name, c.backend): c for c in compile_all(list(BUNDLED.values()))}


def _unused_imports(source: str) -> list[str]:
    import ast

    tree = ast.parse(source)
    imported = [a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return [name for name in imported if name not in used]


def _targets(model: dict) -> list[dict]:
    panels = [p for p in model["panels"] for p in [p, *(p.get("panels") or [])]]
    return [t for p in panels for t in p.get("targets") or []]


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_our_compiled_output_imports_back_to_the_same_dashboard(key, backend):
    original = COMPILED[(key, backend)]
    again, imported = _round_trip(original.model, backend)
    assert canonical_json(normalized(again)) == canonical_json(normalized(original.model))
    # Every query is recognised as the catalog signal it came from, on every backend, none kept raw...
    assert (imported.recognised, imported.raw) == (len(_targets(original.model)), 0)
    assert "RawVariable(" not in imported.source  # ...and our variables as the catalog's
    assert _unused_imports(imported.source) == []
    # ...so building it gives back exactly what we compiled, not merely something equivalent.
    assert again == original.model


ANNOTATED = dataclasses.replace(BUNDLED["system"], annotations=(
    Annotation("Task failures", airflow.ti_failures_rate), Annotation("Deploys", tags=("deploy",), color="blue", enabled=False)))


@pytest.mark.parametrize("source", BACKEND_NAMES)
def test_an_import_from_one_backend_builds_for_the_others(source):
    """Recognised signals, variables, annotations and links follow the catalog: the imported system dashboard
    (with a signal's annotation and a tag annotation) compiles for every backend to what the catalog compiles there."""
    compiled = {c.backend: c.model for c in compile_all([ANNOTATED])}
    imported = import_dashboard(compiled[source])
    assert "RawAnnotation(" not in imported.source and "Annotation('Task failures', airflow.ti_failures_rate)" in imported.source
    dashboard = _module_dashboard(imported.source)
    assert dashboard.annotations == ANNOTATED.annotations
    for backend in BACKEND_NAMES:
        (again,) = compile_all([dashboard], [backend])
        assert again.model == compiled[backend], (source, backend)


CHAINED = [airflow.DAG, airflow.TASK, airflow.STATE, airflow.POOL, airflow.EXECUTOR, airflow.BUNDLE, airflow.FILE,
           airflow.TRIGGERER]  # fmt: skip


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_chained_variables_are_recognised_with_one_probe_compile_per_backend_each(backend, monkeypatch):
    """Eight chained variables (even ones depend on every earlier one, odd ones on the one before): each is
    recognised with its dependencies by compiling the one candidate its query's references name, at most once
    per backend (trying every subset of the earlier variables took 299-315 compiles here, 2^n x 3 at worst)."""
    from airflow_dash import importing

    variables = [DimensionVariable(d, depends_on=tuple(CHAINED[:i]) if i % 2 == 0 else (CHAINED[i - 1],))
                 for i, d in enumerate(CHAINED)]  # fmt: skip
    (original,) = compile_all([Dashboard("chain", "Chain", [], variables=variables)], [backend])
    compiles = []
    real = importing.compile_dashboard
    monkeypatch.setattr(importing, "compile_dashboard", lambda *a, **k: compiles.append(a[0]) or real(*a, **k))
    imported = import_dashboard(original.model)
    assert 0 < len(compiles) <= len(BACKEND_NAMES) * len(variables)
    assert "RawVariable(" not in imported.source
    assert _module_dashboard(imported.source).variables == tuple(variables)
    (again,) = compile_all([_module_dashboard(imported.source)], [backend])
    assert again.model == original.model
    different = json.loads(json.dumps(original.model))  # not as we compile it: raw, after one try per backend
    different["templating"]["list"][-1]["sort"] = 3
    compiles.clear()
    assert import_dashboard(different).source.count("RawVariable(") == 1
    assert len(compiles) <= len(BACKEND_NAMES) * len(variables)


def _respelled(query: str, language: str) -> str:
    """`query` written the way a person might: other variable spellings, whitespace, for PromQL label matchers
    reversed and redundant parentheses, for InfluxQL keywords in lower case and identifiers without quotes,
    for Flux `r["column"]`."""
    text = re.sub(r"\$\{(\w+)(:\w+)?\}", lambda m: f"[[{m.group(1)}{m.group(2) or ''}]]", query)
    text = re.sub(r"\$(\w+)", lambda m: "${" + m.group(1) + "}", text)
    if language == "promql":
        text = re.sub(r"\{([^{}]*)\}", lambda m: "{" + ",".join(reversed(re.split(r",\s*(?=\w+\s*[=!])", m.group(1)))) + "}", text)
        return f"(  {text.replace(' by (', ' by(')} )"
    if language == "influxql":  # keywords in lower case, simple identifiers unquoted
        text = re.sub(r'"(?!name")([A-Za-z_][A-Za-z0-9_]*)"', r"\1", text)  # NAME is a keyword: keeps its quotes
        return text.replace("SELECT ", "select ").replace(" FROM ", "\n  from ").replace(" WHERE ", "  where\t")
    text = re.sub(r"\br\.(\w+)", r'r["\1"]', text)  # Flux: columns the way InfluxDB's query builder writes them
    return text.replace("|> ", "\n    |>  ")


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_queries_spelled_differently_are_still_the_catalog_signals(backend):
    original = COMPILED[("system", backend)].model
    respelled = json.loads(json.dumps(original))
    changed = 0
    for target in _targets(respelled):
        field = "expr" if backend == "prometheus" else "query"
        language = {"prometheus": "promql"}.get(backend, backend)
        new = _respelled(target[field], language)
        changed += new != target[field]
        target[field] = new
    assert changed == len(_targets(respelled)) > 20
    again, imported = _round_trip(respelled, backend)
    assert (imported.recognised, imported.raw) == (len(_targets(original)), 0)
    assert again["panels"] == original["panels"]  # compiled the catalog's way
    assert canonical_json(normalized(again)) == canonical_json(normalized(respelled))


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_a_query_meaning_something_else_stays_raw(backend):
    original = COMPILED[("host-basics", backend)].model
    changed = json.loads(json.dumps(original))
    field = "expr" if backend == "prometheus" else "query"
    first = _targets(changed)[0]
    first[field] = first[field].replace("idle", "iowait", 1) if "idle" in first[field] else first[field] + " "
    assert first[field].strip() != _targets(original)[0][field]
    again, imported = _round_trip(changed, backend)
    assert imported.raw >= 1 and imported.recognised == len(_targets(original)) - imported.raw
    assert "RawPanel({" in imported.source
    assert canonical_json(normalized(again)) == canonical_json(normalized(changed))


def test_a_hand_written_catalog_query_with_its_own_legend_becomes_the_signal():
    """A panel from someone else's dashboard, written by hand: the catalog's CPU busy with matchers and
    parentheses of its own, `[[host]]`, and a legend of its own."""
    model = {"uid": "theirs", "title": "Theirs", "templating": {"list": [
        {"type": "custom", "name": "host", "query": "a,b", "multi": True, "includeAll": True}]},
        "panels": [{"type": "timeseries", "title": "CPU", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                    "targets": [{"refId": "A", "legendFormat": "busy on {{instance}}", "expr":
                                 '100 * (1 - avg by (instance) ((rate(node_cpu_seconds_total{instance=~"[[host]]",'
                                 'mode="idle"}[$__rate_interval]))))'}]}]}  # fmt: skip
    again, imported = _round_trip(model)
    assert (imported.recognised, imported.raw) == (1, 0)
    assert "Query(host.cpu_busy, legend='busy on {host}')" in imported.source
    (target,) = again["panels"][1]["targets"]
    assert target["legendFormat"] == "busy on {{instance}}"
    assert target["expr"] == ('100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", '
                              'instance=~"${host}"}[$__rate_interval])))')
    assert canonical_json(normalized(again)) == canonical_json(normalized(model))


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
    assert _unused_imports(imported.source) == []
    assert canonical_json(normalized(again)) == canonical_json(normalized(model))


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


def test_an_exported_flux_dashboard_builds_for_every_backend_from_an_empty_project(tmp_path):
    """`import` of a Flux dashboard, then the real `build` (every query through the offline checkers) for all
    three backends: each is what the catalog compiles for that backend."""
    exported = {**COMPILED[("system", "flux")].model, "uid": "team-hosts", "title": "Team hosts"}
    (tmp_path / "exported.json").write_text(json.dumps({"dashboard": exported}))
    result = run("import", "exported.json", cwd=tmp_path)
    assert result.returncode == 0 and " raw)" in result.stdout and ", 0 raw)" in result.stdout, result.stdout
    built = run("build", "--out", "out", "team-hosts", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    for backend, suffix in (("prometheus", "prom"), ("flux", "flux"), ("influxql", "iql")):
        compiled = json.loads((tmp_path / "out" / backend / f"airflow-dash-team-hosts-{suffix}.json").read_text())
        expected = normalized({**COMPILED[("system", backend)].model, "title": "Team hosts"})
        assert canonical_json(normalized(compiled)) == canonical_json(expected), backend


def test_import_of_something_else_is_one_line_exit_2(tmp_path):
    (tmp_path / "not.json").write_text('{"hello": 1}')
    result = run("import", "not.json", cwd=tmp_path)
    assert result.returncode == 2 and "not a Grafana dashboard" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "dashboards").exists()
    neither = run("import", cwd=tmp_path)
    assert neither.returncode == 2 and "FILE or --uid" in neither.stderr


def test_raw_queries_are_marked_in_the_module():
    model = {"uid": "x", "title": "X", "panels": [
        {"type": "timeseries", "title": "Up", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 4},
         "targets": [{"refId": "A", "expr": "up"}]}]}  # fmt: skip
    imported = import_dashboard(model)
    (line,) = [line for line in imported.source.splitlines() if "RawPanel(" in line]
    assert line.endswith("# raw queries, kept as written (lint AD103)")


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.text(max_size=4),
                     st.sampled_from(["${datasource}", "up", "prometheus", "A", "row"]))  # fmt: skip
_KEYS = st.sampled_from(["type", "title", "expr", "query", "refId", "datasource", "targets", "fieldConfig", "overrides",
                         "defaults", "gridPos", "w", "h", "name", "panels", "legendFormat", "matcher", "options",
                         "properties", "id", "value", "links", "url", "target", "tags", "iconColor", "enable",
                         "multi", "includeAll", "label", "hide", "collapsed", "repeat"])  # fmt: skip
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5),
                     max_leaves=10)  # fmt: skip
_PANELS = st.fixed_dictionaries(
    {"type": st.sampled_from(["timeseries", "row", "stat", "text", ""]), "title": st.text(max_size=4)},
    optional={name: _JSON for name in ("targets", "fieldConfig", "datasource", "gridPos", "panels", "links", "options")},
)
_BOARDS = st.fixed_dictionaries(
    {"uid": st.sampled_from(["a", "b-1"]), "panels": st.lists(_PANELS, max_size=4)},
    optional={"templating": st.fixed_dictionaries({"list": st.lists(_JSON, max_size=3)}),
              "annotations": st.fixed_dictionaries({"list": st.lists(_JSON, max_size=3)}),
              "links": st.lists(_JSON, max_size=2), "time": _JSON, "tags": _JSON, "title": _JSON, "refresh": _JSON},
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(model=_BOARDS)
def test_any_json_imports_to_a_module_that_builds_or_is_one_clear_error(model):
    """Whatever a file holds, import writes a module that builds, or stops with one line (the CLI's exit 2),
    never another exception (a traceback)."""
    try:
        imported = import_dashboard(model)
    except ValueError as error:
        assert str(error) and "\n" not in str(error)
        return
    compile_all([_module_dashboard(imported.source)], ["prometheus"])


def test_a_panel_the_importer_cannot_read_is_one_line_and_nothing_written(tmp_path):
    (tmp_path / "odd.json").write_text(json.dumps({"uid": "odd", "panels": [{"title": "Up", "gridPos": {"w": 30}, "type": "stat"}]}))
    result = run("import", "odd.json", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "panel 'Up': gridPos.w 30 is not a size in grid units (1-24)" in result.stderr
    assert not (tmp_path / "dashboards").exists()


def test_import_by_uid_from_grafana_builds_back_the_same_dashboard(grafana, tmp_path):
    """`import --uid` reads the live dashboard (what publish stored, with Grafana's own additions), and the
    module builds back to it: the Flux system dashboard, published, then imported into an empty project."""
    uid = f"{grafana.prefix}-hosts"
    exported = {**COMPILED[("system", "flux")].model, "uid": uid, "title": f"Hosts {grafana.prefix}"}
    with grafana.client() as client:
        client.save_dashboard(exported)
    env = {**grafana.env(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = run("import", "--uid", uid, "--key", "team-hosts", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert ", 0 raw)" in result.stdout and grafana.token not in result.stdout + result.stderr
    built = run("build", "--backend", "flux", "--out", "out", "team-hosts", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    again = json.loads((tmp_path / "out" / "flux" / "airflow-dash-team-hosts-flux.json").read_text())
    assert canonical_json(normalized(again)) == canonical_json(normalized(exported))
    assert_one_line_error(run("import", "--uid", f"{uid}-nope", cwd=tmp_path, env=env), f"{uid}-nope")


def test_a_catalog_query_with_settings_we_do_not_write_stays_raw_and_the_import_still_succeeds():
    original = COMPILED[("host-basics", "prometheus")].model
    (target,) = [t for p in original["panels"] for t in p.get("targets") or []][:1]
    templating = original["templating"]  # the catalog's queries are filtered by the dashboard's variables
    panel = {"type": "timeseries", "title": "Odd", "gridPos": {"w": 12, "h": 8},
             "fieldConfig": {"defaults": {}, "overrides": [{"matcher": "not-a-dict"}, 7]}}  # fmt: skip
    for odd in ({"format": "logs"}, {"interval": "1m"}, {"datasource": {"uid": "elsewhere"}}, {"hide": True}):
        model = {"uid": "odd", "title": "Odd", "templating": templating, "panels": [{**panel, "targets": [{**target, **odd}]}]}
        again, imported = _round_trip(model)
        assert (imported.recognised, imported.raw) == (0, 1), odd
        assert canonical_json(normalized(again)) == canonical_json(normalized(model)), odd
    same = {"uid": "odd", "title": "Odd", "templating": templating, "panels": [{**panel, "targets": [target]}]}
    assert _round_trip(same)[1].recognised == 1  # the same target without them is the signal
