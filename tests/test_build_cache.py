"""An unchanged re-build does nothing (airflow_dash.build_cache), and every change that could change its output
makes it build again: a dashboards module, a file beside it, a module it imports, the catalog, airflow-dash
itself, a setting, an environment variable, a checker, the output itself.

Real builds in subprocesses, as a user runs them. Whether a build ran or was found unchanged is read from the
process itself: a build that ran imported airflow_dash.compile, an unchanged one never does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from airflow_dash import build_cache
from airflow_dash.backends import BACKENDS
from airflow_dash.commands.common import BACKEND_NAMES
from airflow_dash.validate.flux import FLUX_LSP_PACKAGE, find_node_modules

ROOT = Path(__file__).resolve().parent.parent

PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('PROBE', 'compiled' if 'airflow_dash.compile' in sys.modules else 'unchanged',"
    " file=sys.__stderr__))\n"
    "from airflow_dash.cli import main\n"
    "main(sys.argv[1:])\n"
)

MODULE = '''
import json, os
from pathlib import Path
from airflow_dash.catalog import host
from airflow_dash.dashboard import Dashboard
from airflow_dash.panels import Row, timeseries

data = Path(__file__).with_name("panels.json")
titles = json.loads(data.read_text()) if data.exists() else ["CPU"]
dashboard = Dashboard("mini", os.environ.get("MINI_TITLE", "Mini"), [Row("Host", [timeseries(t, host.cpu_busy) for t in titles])])
'''


def build(project: Path, *options: str, env: dict | None = None) -> str:
    """Run `airflow-dash build --out out` in `project`: "compiled" or "unchanged"."""
    result = subprocess.run([sys.executable, "-c", PROBE, "build", "--out", "out", *options], cwd=project,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    outcome = result.stderr.strip().splitlines()[-1].removeprefix("PROBE ")
    said = "1 dashboard(s) in out/ and" if outcome == "unchanged" else "wrote 1 dashboard(s) to out/"
    assert said in result.stdout and ("already up to date" in result.stdout) == (outcome == "unchanged")
    return outcome


def output(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project / "out")): p.read_bytes() for p in sorted((project / "out").rglob("*")) if p.is_file()}


def identity(path: Path) -> tuple[int, int, int, int]:
    """What rewriting a file changes (reading it may change its atime: not compared)."""
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def settle(*directories: Path) -> None:
    """Wait until every file under `directories` is older than the racy window: a build started sooner after an
    edit is not recorded (airflow_dash.build_cache.RACY_NS), and the test means the next build to find it."""
    newest = max(max(st.st_mtime_ns, st.st_ctime_ns) for d in directories for p in d.rglob("*") for st in [p.stat()])
    time.sleep(max(0.0, newest + build_cache.RACY_NS - time.time_ns()) / 1e9 + 0.05)


def title(project: Path) -> str:
    return json.loads((project / "out" / "prometheus" / "airflow-dash-mini-prom.json").read_text())["title"]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nbundled = false\nbackends = ["prometheus"]\n')
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "mini.py").write_text(MODULE)
    settle(tmp_path / "dashboards")
    return tmp_path


def test_the_backend_names_of_the_options_are_the_backends():
    assert BACKEND_NAMES == tuple(sorted(BACKENDS))


def test_an_unchanged_rebuild_checks_and_writes_nothing_and_its_output_is_a_full_builds(project, tmp_path):
    assert build(project) == "compiled"
    stats = {p: identity(p) for p in (project / "out").rglob("*")}
    assert build(project) == "unchanged"
    assert {p: identity(p) for p in (project / "out").rglob("*")} == stats  # not one file rewritten
    fresh = tmp_path / "fresh"
    shutil.copytree(project / "dashboards", fresh / "dashboards")
    shutil.copy(project / "pyproject.toml", fresh)
    assert build(fresh, "--no-cache") == "compiled"
    assert output(fresh) == output(project)


def test_editing_adding_and_removing_dashboard_files_builds_again(project):
    assert build(project) == "compiled" and title(project) == "Mini · Prometheus"
    (project / "dashboards" / "mini.py").write_text(MODULE.replace('"Mini"', '"Renamed"'))
    settle(project / "dashboards")
    assert build(project) == "compiled" and title(project) == "Renamed · Prometheus"
    assert build(project) == "unchanged"
    (project / "dashboards" / "panels.json").write_text('["CPU", "More CPU"]')  # a data file beside the module
    assert build(project) == "compiled"
    panels = json.loads((project / "out" / "prometheus" / "airflow-dash-mini-prom.json").read_text())["panels"]
    assert [p["title"] for p in panels if p["type"] != "row"] == ["CPU", "More CPU"]
    (project / "dashboards" / "panels.json").unlink()
    assert build(project) == "compiled"
    (project / "dashboards" / "other.py").write_text("x = 1\n")  # a new module, even one without dashboards
    settle(project / "dashboards")
    assert build(project) == "compiled"
    assert build(project) == "unchanged"


def test_a_changed_setting_or_environment_variable_builds_again(project):
    assert build(project) == "compiled"
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write('prometheus_datasource_uid = "team-prom"\n')
    assert build(project) == "compiled"
    model = json.loads((project / "out" / "prometheus" / "airflow-dash-mini-prom.json").read_text())
    assert "team-prom" in json.dumps(model["templating"])
    assert build(project) == "unchanged"
    assert build(project, env={**os.environ, "MINI_TITLE": "From the environment"}) == "compiled"
    assert title(project) == "From the environment · Prometheus"
    assert build(project) == "compiled" and title(project) == "Mini · Prometheus"
    assert build(project, "--backend", "influxql") == "compiled"  # another request: another record
    assert build(project) == "unchanged"


def test_an_edited_deleted_or_added_output_file_is_put_right(project):
    assert build(project) == "compiled"
    built = output(project)
    target = project / "out" / "prometheus" / "airflow-dash-mini-prom.json"
    target.write_text("{}\n")
    assert build(project) == "compiled" and output(project) == built
    target.unlink()
    assert build(project) == "compiled" and output(project) == built
    (project / "out" / "prometheus" / "stale.json").write_bytes(built["prometheus/airflow-dash-mini-prom.json"])  # ours: removed
    assert build(project) == "compiled" and output(project) == built
    assert build(project) == "unchanged"


def test_a_changed_imported_module_builds_again_but_not_while_it_may_still_be_changing(project, tmp_path):
    """A module outside the dashboards directory (here on PYTHONPATH; the same as grafanalib or PyYAML)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "team_titles.py").write_text('TITLE = "From a library"\n')
    (project / "dashboards" / "mini.py").write_text(MODULE.replace('"Mini"', '__import__("team_titles").TITLE'))
    settle(project / "dashboards")
    env = {**os.environ, "PYTHONPATH": str(lib)}
    assert build(project, env=env) == "compiled" and title(project) == "From a library · Prometheus"
    # written a moment ago: it may have changed while that build read it, so that build was not recorded. Touched
    # again first: on a loaded machine the first build alone can outlast the racy window.
    os.utime(lib / "team_titles.py")
    assert build(project, env=env) == "compiled"
    time.sleep(max(0.0, os.stat(lib / "team_titles.py").st_ctime_ns + build_cache.RACY_NS - time.time_ns()) / 1e9 + 0.1)
    assert build(project, env=env) == "compiled"
    assert build(project, env=env) == "unchanged"
    (lib / "team_titles.py").write_text('TITLE = "Changed library"\n')
    assert build(project, env=env) == "compiled" and title(project) == "Changed library · Prometheus"


def test_a_changed_catalog_or_airflow_dash_version_builds_again(project, tmp_path):
    """airflow-dash installed as a wheel installs it (bundled dashboards inside the package), copied here."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "airflow_dash", site / "airflow_dash", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "dashboards", site / "airflow_dash" / "bundled", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "alerts", site / "airflow_dash" / "bundled_alerts", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    settle(site)
    assert build(project, env=env) == "compiled"
    assert build(project, env=env) == "unchanged"
    host = site / "airflow_dash" / "catalog" / "host.py"
    source = host.read_text()
    assert source.count("Share of CPU time not idle") == 1
    host.write_text(source.replace("Share of CPU time not idle", "Share of processor time not idle"))
    settle(site)
    assert build(project, env=env) == "compiled"
    panel = json.loads((project / "out" / "prometheus" / "airflow-dash-mini-prom.json").read_text())["panels"][1]
    assert panel["description"].startswith("Share of processor time not idle")
    assert build(project, env=env) == "unchanged"
    init = site / "airflow_dash" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9'))
    settle(site)
    assert build(project, env=env) == "compiled"
    schema = next((site / "airflow_dash" / "schemas").rglob("*.json"))  # package data, not a module
    assert build(project, env=env) == "unchanged"
    schema.write_text(schema.read_text() + "\n")
    assert build(project, env=env) == "compiled"


@pytest.mark.skipif(shutil.which("node") is None or find_node_modules() is None, reason="node or flux-lsp missing (make setup-node)")
def test_a_changed_checker_builds_again_unless_nothing_is_checked(project):
    copied = project / "checker" / "node_modules"
    shutil.copytree(find_node_modules() / FLUX_LSP_PACKAGE, copied / FLUX_LSP_PACKAGE)
    (project / "pyproject.toml").write_text(
        '[tool.airflow-dash]\nbundled = false\nbackends = ["flux"]\nnode_modules = "checker/node_modules"\n')
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_DASH_NODE_MODULES"}
    assert build(project, env=env) == "compiled"
    assert build(project, env=env) == "unchanged"
    package_json = copied / FLUX_LSP_PACKAGE / "package.json"
    package_json.write_text(package_json.read_text())  # "reinstalled": same bytes, another file
    assert build(project, "--no-validate", env=env) == "unchanged"  # the validated build's output, unchecked
    assert build(project, env=env) == "compiled"
    assert build(project, env=env) == "unchanged"


def test_a_build_without_checks_never_stands_for_a_checked_one(project):
    assert build(project, "--no-validate") == "compiled"
    assert build(project, "--no-validate") == "unchanged"
    assert build(project) == "compiled"
    assert build(project) == "unchanged" and build(project, "--no-validate") == "unchanged"


def test_no_cache_neither_reads_nor_writes_a_record_and_a_damaged_record_is_only_a_miss(project):
    records = Path(os.environ["AIRFLOW_DASH_CHECK_CACHE"]) / "builds"
    assert build(project, "--no-cache") == "compiled" and not records.exists()
    assert build(project) == "compiled"
    assert build(project, "--no-cache") == "compiled"
    [record] = records.iterdir()
    record.write_text('{"request": ')
    assert build(project) == "compiled"
    assert build(project) == "unchanged"


def _direct_build(project: Path) -> tuple[dict, Callable[[], Callable[[], bool]]]:
    """The request of a build of `project`'s dashboards (run from `project`), and `start`: a build starts (its
    recorder takes stock) and returns `finish`, which records it as having written one output file (True) or not."""
    request = build_cache.build_request(names=[], backends=["prometheus"], out="out", dashboards_dir="dashboards",
                                        bundled=False, alerts_dir=None, datasource_uids={}, datasource_regexes={})
    (project / "out").mkdir()
    written = project / "out" / "x.json"
    written.write_text("{}\n")

    def start() -> Callable[[], bool]:
        recorder = build_cache.BuildRecorder(request, [str(project / "dashboards")])
        return lambda: recorder.record(validated_languages=None, dashboards=[written], alerts=[], owned_dirs=[])

    return request, start


def test_a_build_racing_a_change_to_its_dashboards_is_not_recorded(project, monkeypatch):
    monkeypatch.chdir(project)
    request, start = _direct_build(project)
    finish = start()
    (project / "dashboards" / "mini.py").write_text(MODULE + "\n")  # same size or not, it is another file now
    assert not finish()
    settle(project / "dashboards")
    assert start()()
    assert build_cache.lookup(request, validate=False) is not None
    assert build_cache.lookup(request, validate=True) is None


def test_a_build_started_right_after_an_edit_to_its_dashboards_is_not_recorded(project, monkeypatch):
    """File times are coarse: a second edit within the same tick that keeps the size keeps the whole stat (size,
    mtime, ctime, inode), so a build recorded right after an edit could later stand for content it never read.
    Like a module outside the dashboards directory, a build started less than RACY_NS after an edit to one of
    its files is not recorded; started later, it is."""
    monkeypatch.chdir(project)
    request, start = _direct_build(project)
    mini = project / "dashboards" / "mini.py"
    mini.write_text(MODULE.replace('"Mini"', '"Mino"'))  # the size of the fixture's: only the times tell them apart
    assert mini.stat().st_size == len(MODULE)
    assert not start()()
    assert build_cache.lookup(request, validate=False) is None
    settle(project / "dashboards")
    assert start()()
    assert build_cache.lookup(request, validate=False) is not None


def test_a_build_that_runs_rewrites_only_the_files_that_change(project):
    (project / "dashboards" / "second.py").write_text(MODULE.replace('"mini"', '"second"'))
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--out", "out", "--no-cache"],
                            cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    mini, second = (project / "out" / "prometheus" / f"airflow-dash-{key}-prom.json" for key in ("mini", "second"))
    before = identity(second)
    (project / "dashboards" / "mini.py").write_text(MODULE.replace('"Mini"', '"Renamed"'))
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--out", "out", "--no-cache"],
                            cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert identity(second) == before  # same bytes: left alone
    assert title(project) == "Renamed · Prometheus"


def test_alert_rule_files_already_in_place_are_left_alone(tmp_path, monkeypatch):
    from airflow_dash.build import compile_alert_rules, write_alerts

    monkeypatch.chdir(ROOT)
    alerts = compile_alert_rules(["prometheus", "flux"])
    first = write_alerts(alerts, tmp_path)
    stats = {p: identity(p) for p in (tmp_path / "alerts").rglob("*")}
    assert write_alerts(alerts, tmp_path) == first
    assert {p: identity(p) for p in (tmp_path / "alerts").rglob("*")} == stats
    (tmp_path / "alerts" / "stray.yml").write_text("x: 1\n")  # someone else's file: left alone, as are ours
    assert write_alerts(alerts, tmp_path) == first
    assert (tmp_path / "alerts" / "stray.yml").read_text() == "x: 1\n"
    assert {p: identity(p) for p in first} == {p: stats[p] for p in first}
    first[0].write_text("edited\n")
    write_alerts(alerts, tmp_path)
    assert first[0].read_text() != "edited\n"


@pytest.mark.skipif(shutil.which("node") is None or find_node_modules() is None, reason="node or flux-lsp missing (make setup-node)")
def test_a_build_that_runs_starts_the_flux_checker_once_and_leaves_none_running(project, monkeypatch):
    from airflow_dash.build import build_all
    from airflow_dash.validate import flux as flux_module

    monkeypatch.chdir(project)
    before = flux_module.node_launch_count()
    build_all(backends=["flux"], out="out", dashboards_dir="dashboards", alerts_dir=None)
    assert flux_module.node_launch_count() - before == 1 and not flux_module._started  # started early, then used
    (project / "dashboards" / "mini.py").write_text(MODULE + "\n")  # the build runs; every check result is cached
    settle(project / "dashboards")
    build_all(backends=["flux"], out="out", dashboards_dir="dashboards", alerts_dir=None)
    assert flux_module.node_launch_count() - before == 2 and not flux_module._started  # started early, ended unused
    build_all(backends=["flux"], out="out", dashboards_dir="dashboards", alerts_dir=None)
    assert flux_module.node_launch_count() - before == 2  # unchanged: nothing started
