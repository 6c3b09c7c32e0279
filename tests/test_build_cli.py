"""`airflow-dash build` / `list` as a user runs them: real subprocesses, exit codes, one-line errors, and no
partial output when anything is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import assert_one_line_error, run_cli as run

ROOT = Path(__file__).resolve().parent.parent

GOOD_MODULE = '''
from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.dashboard import Dashboard, DimensionVariable
from airflow_dash.panels import Row, timeseries

dashboard = Dashboard("mini", "Mini", [Row("Host", [timeseries("CPU", host.cpu_busy)])], variables=[DimensionVariable(HOST)])
'''

INVALID_QUERY_MODULE = '''
from airflow_dash.catalog.model import Signal, TelegrafSeries
from airflow_dash.dashboard import Dashboard
from airflow_dash.panels import Row, timeseries
from airflow_dash.query import promql as P

# A type error PromQL rejects: rate() of an instant vector, smuggled past the builder as a raw call.
broken = Signal("t.broken", "Broken", "short", "d", lambda s: P.Call("rate", (P.metric("up"),)), TelegrafSeries("cpu", "usage_idle"))
dashboard = Dashboard("broken", "Broken", [Row("R", [timeseries("Broken rate", broken)])])
'''


LINKING_MODULE = '''
import dataclasses

from airflow_dash.bundled import system
from airflow_dash.catalog import host
from airflow_dash.dashboard import Dashboard, DashboardLink
from airflow_dash.panels import Row, timeseries

dashboards = [
    dataclasses.replace(system.dashboard, key="team-system", title="Team system"),
    Dashboard("team", "Team", [Row("Host", [timeseries("CPU", host.cpu_busy)])],
              links=[DashboardLink("Airflow", "airflow-overview")]),
]
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A dashboards repository with one dashboard of its own and no bundled ones."""
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nbundled = false\n')
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "mini.py").write_text(GOOD_MODULE)
    return tmp_path


def test_build_writes_one_file_per_dashboard_and_backend(project):
    result = run("build", "--out", "out", cwd=project)
    assert result.returncode == 0, result.stderr
    files = sorted(str(p.relative_to(project / "out")) for p in (project / "out").rglob("*.json"))
    assert files == ["flux/airflow-dash-mini-flux.json", "influxql/airflow-dash-mini-iql.json", "prometheus/airflow-dash-mini-prom.json"]
    for path in (project / "out").rglob("*.json"):
        model = json.loads(path.read_text())
        assert model["uid"] == path.stem
    assert not [p for p in (project / "out").iterdir() if p.name.startswith(".")]


def test_build_selects_backends_and_names(project):
    result = run("build", "--out", "out", "--backend", "influxql", "mini", cwd=project)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (project / "out").rglob("*.json")] == ["airflow-dash-mini-iql.json"]


def test_unknown_dashboard_is_one_line_exit_2_and_writes_nothing(project):
    result = run("build", "--out", "out", "nope", cwd=project)
    assert_one_line_error(result, "unknown dashboard 'nope'", "mini")
    assert not (project / "out").exists()


def test_module_that_fails_to_import_is_reported_with_file_and_line(project):
    (project / "dashboards" / "bad.py").write_text("import os\nraise RuntimeError('boom')\n")
    result = run("build", "--out", "out", cwd=project)
    assert_one_line_error(result, "bad.py:2", "RuntimeError: boom")
    assert not (project / "out").exists()


def test_syntax_error_in_a_module_is_reported(project):
    (project / "dashboards" / "bad.py").write_text("x = (\n")
    result = run("build", "--out", "out", cwd=project)
    assert_one_line_error(result, "bad.py", "SyntaxError")


def test_invalid_query_fails_the_build_with_panel_and_parser_message_and_keeps_old_output(project):
    first = run("build", "--out", "out", cwd=project)
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in (project / "out").rglob("*.json")}
    (project / "dashboards" / "broken.py").write_text(INVALID_QUERY_MODULE)
    result = run("build", "--out", "out", cwd=project)
    assert_one_line_error(result, "invalid query", "Broken rate", "rate")
    after = {p: p.read_bytes() for p in (project / "out").rglob("*.json")}
    assert after == before  # nothing half-written


def test_missing_chosen_dashboards_directory(tmp_path):
    result = run("build", "--dashboards-dir", "nowhere", cwd=tmp_path)
    assert_one_line_error(result, "dashboards directory not found", "nowhere")
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\ndashboards_dir = "dash"\n')
    assert_one_line_error(run("list", cwd=tmp_path), "dashboards directory not found", "dash")


def test_empty_directory_builds_the_bundled_dashboards(tmp_path):
    result = run("build", "--backend", "prometheus", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bundled = sorted(p.stem for p in (ROOT / "dashboards").glob("*.py") if not p.name.startswith("_"))
    assert len(list((tmp_path / "out" / "prometheus").glob("*.json"))) == len(bundled) >= 5


def test_own_dashboards_come_with_the_bundled_ones_and_link_to_them(tmp_path):
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "team.py").write_text(LINKING_MODULE)
    result = run("build", "--backend", "prometheus", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    built = {p.stem for p in (tmp_path / "out" / "prometheus").glob("*.json")}
    assert {"airflow-dash-team-system-prom", "airflow-dash-team-prom", "airflow-dash-system-prom"} <= built
    team = json.loads((tmp_path / "out" / "prometheus" / "airflow-dash-team-prom.json").read_text())
    assert [link["url"] for link in team["links"]] == ["/d/airflow-dash-airflow-overview-prom"]
    system = json.loads((tmp_path / "out" / "prometheus" / "airflow-dash-team-system-prom.json").read_text())
    assert system["title"].startswith("Team system")


def test_own_dashboard_replaces_the_bundled_one_with_its_key(tmp_path):
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "system.py").write_text(
        "import dataclasses\nfrom airflow_dash.bundled import system\n"
        "dashboard = dataclasses.replace(system.dashboard, title='Our hosts')\n")
    result = run("build", "--backend", "prometheus", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = json.loads((tmp_path / "out" / "prometheus" / "airflow-dash-system-prom.json").read_text())
    assert model["title"].startswith("Our hosts")


def test_list_verbose_shows_backends_and_omissions():
    result = run("list", "--verbose", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "host-basics" in result.stdout
    for backend in ("prometheus", "flux", "influxql"):
        assert backend in result.stdout


def test_bundled_dashboards_build_and_validate_for_all_backends(tmp_path):
    result = run("build", "--out", str(tmp_path / "out"), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    built = list((tmp_path / "out").rglob("*.json"))
    names = {p.stem.rsplit("-", 1)[0] for p in built}
    assert len(built) == 3 * len(names) and "airflow-dash-host-basics" in names


def test_flux_checker_missing_gives_an_install_hint(project, tmp_path):
    empty = tmp_path / "empty_node_modules"
    empty.mkdir()
    env = {"PATH": "/usr/bin:/bin", "AIRFLOW_DASH_NODE_MODULES": str(empty), "AIRFLOW_DASH_CHECK_CACHE": os.environ["AIRFLOW_DASH_CHECK_CACHE"]}
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--out", "out"], cwd=project, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "npm" in result.stderr or "setup-node" in result.stderr
    assert not (project / "out").exists()


def test_help_lists_every_command():
    result = run("--help", cwd=ROOT)
    for command in ("build", "list", "publish", "diff", "pull", "lint", "preview", "collectors", "verify", "config"):
        assert command in result.stdout


def test_the_command_line_freezes_its_objects_at_exit_only():
    """The shutdown's cyclic collections would walk everything a build made just before the exit frees it:
    the entry point freezes them at exit (atexit), and a caller running main in its own process keeps its
    collector as it was until then."""
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('FROZEN', gc.get_freeze_count(), file=sys.__stderr__))\n"
             "from airflow_dash.cli import main\n"
             "try:\n    main(['--help'])\n"
             "except SystemExit:\n    pass\n"
             "print('BEFORE EXIT', gc.get_freeze_count(), file=sys.__stderr__)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = dict(line.rsplit(" ", 1) for line in result.stderr.splitlines() if line.startswith(("FROZEN", "BEFORE")))
    assert int(lines["BEFORE EXIT"]) == 0
    assert int(lines["FROZEN"]) > 10_000


def test_a_full_build_removes_only_files_airflow_dash_wrote(tmp_path):
    """The output directory may hold other tools' files (a monorepo's prometheus/prometheus.yml): a full
    build removes the dashboards and rule files earlier builds wrote that it no longer makes, nothing else."""
    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    (project / "dashboards" / "mini.py").write_text(GOOD_MODULE)
    assert run("build", "--backend", "prometheus", "--out", "out", cwd=project).returncode == 0
    built = project / "out" / "prometheus" / "airflow-dash-mini-prom.json"
    rules = project / "out" / "alerts" / "prometheus" / "airflow-dash.rules.yml"
    assert built.is_file() and rules.is_file()
    foreign = {
        project / "out" / "prometheus" / "prometheus.yml": "global: {}\n",
        project / "out" / "prometheus" / "rules" / "team.yml": "groups: []\n",
        project / "out" / "prometheus" / "theirs.json": '{"title": "not ours", "tags": ["team"]}\n',
        project / "out" / "alerts" / "prometheus" / "my.rules.yml": "groups: []\n",
        project / "out" / "alerts" / "flux" / "notes.txt": "mine\n",
    }
    for path, text in foreign.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    stale = project / "out" / "prometheus" / "airflow-dash-gone-prom.json"
    stale.write_bytes(built.read_bytes())  # a dashboard an earlier build wrote, since removed
    stale_rules = project / "out" / "alerts" / "flux" / "grafana-alert-rules.yaml"
    stale_rules.write_text("apiVersion: 1\n")
    assert run("build", "--backend", "prometheus", "--out", "out", "--no-cache", cwd=project).returncode == 0
    assert {path: path.read_text() for path in foreign} == foreign
    assert built.is_file() and rules.is_file() and not stale.exists() and not stale_rules.exists()


def test_a_file_where_a_backend_directory_goes_is_refused_not_deleted(tmp_path):
    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    (project / "dashboards" / "mini.py").write_text(GOOD_MODULE)
    (project / "out").mkdir()
    (project / "out" / "prometheus").write_text("someone's file\n")
    result = run("build", "--backend", "prometheus", "--out", "out", cwd=project)
    assert_one_line_error(result, "is not a directory")
    assert (project / "out" / "prometheus").read_text() == "someone's file\n"


LAMBDA_ERROR_MODULE = '''
from airflow_dash.catalog.model import Signal, TelegrafSeries
from airflow_dash.dashboard import Dashboard
from airflow_dash.panels import Row, timeseries

broken = Signal("t.broken", "Broken", "short", "d", lambda s: P.metric("up"), TelegrafSeries("cpu", "usage_idle"),
                flux=lambda s: s.source("cpu", "usage_idle", nosuch=1), influxql=lambda s: Q.select("x"))
dashboard = Dashboard("broken", "Broken", [Row("R", [timeseries("Broken", broken)])])
'''


@pytest.mark.parametrize("backend, line, error", [("prometheus", 6, "NameError: name 'P' is not defined"),
                                                  ("flux", 7, "TypeError"),
                                                  ("influxql", 7, "NameError: name 'Q' is not defined")])
def test_an_error_inside_a_signal_s_definition_is_one_line_naming_its_line(tmp_path, backend, line, error):
    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    (project / "dashboards" / "broken.py").write_text(LAMBDA_ERROR_MODULE)
    for command in (["build", "--out", "out"], ["list"], ["lint"]):
        result = run(*command, "--backend", backend, cwd=project)
        shown = assert_one_line_error(result, f"dashboards/broken.py:{line}:", "'t.broken'", f"({backend})", error)
        assert shown.startswith("error: ")
    assert not (project / "out").exists()


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path):
    plain = run("build", "no-such-dashboard", "--out", "out", cwd=tmp_path)
    debug = run("--debug", "build", "no-such-dashboard", "--out", "out", cwd=tmp_path)
    assert plain.returncode == debug.returncode == 2
    assert "Traceback" in debug.stderr and "Traceback" not in plain.stderr


def test_a_signal_s_unit_is_checked_where_a_panel_shows_it(tmp_path):
    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    (project / "dashboards" / "units.py").write_text(INVALID_QUERY_MODULE.replace(
        'Signal("t.broken", "Broken", "short"', 'Signal("t.broken", "Broken", "shrt"'))
    result = run("build", "--backend", "prometheus", "--out", "out", cwd=project)
    assert_one_line_error(result, "signal t.broken", "'shrt' is not a Grafana unit", "did you mean short")
