"""The package as a user gets it: `python -m build` (sdist, then the wheel built from that sdist), `twine check`,
the wheel installed into a fresh virtualenv, and the commands run from an empty directory with nothing of this
checkout around. Then `airflow-dash init`'s scaffold: its own `make setup build lint`, and its `make publish`
into the Grafana emulator.

One module-scoped build and venv (installing needs PyPI for the dependencies, like a user's install).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

import airflow_dash
from airflow_dash.testing.grafana_emulator import GrafanaEmulator

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(p.stem for p in (ROOT / "dashboards").glob("*.py") if not p.name.startswith("_"))
pytestmark = pytest.mark.packaging


def run(args, cwd: Path, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def clean_env(**extra: str) -> dict:
    """No variable of this checkout's environment that could lead a command back to it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW_DASH_", "GRAFANA_", "PYTHON", "VIRTUAL_ENV", "NODE_PATH"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = ok(run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out, env=clean_env()))
    (out / "build.log").write_text(built.stdout + built.stderr)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtualenv with only the built wheel (and its dependencies) installed."""
    where = tmp_path_factory.mktemp("venv") / "v"
    ok(run([sys.executable, "-m", "venv", where], cwd=where.parent))
    (wheel,) = dist.glob("*.whl")
    ok(run([where / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
           cwd=where.parent, env=clean_env()))
    return where


def test_sdist_and_wheel_pass_twine_and_carry_what_users_need(dist):
    (wheel,), (sdist,) = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    ok(run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist], cwd=dist))
    names = set(zipfile.ZipFile(wheel).namelist())
    for stem in BUNDLED:
        assert f"airflow_dash/bundled/{stem}.py" in names
    assert {"airflow_dash/bundled/__init__.py", "airflow_dash/validate/flux_check.mjs", "airflow_dash/py.typed"} <= names
    assert not [n for n in names if n.startswith(("tests/", "dashboards/"))]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert f"Version: {airflow_dash.__version__}\n" in text  # single-sourced: airflow_dash.__version__
    assert "Requires-Dist: promql-parser" in text  # the PromQL checker is a runtime need
    assert "License-Expression: Apache-2.0\n" in text
    # setuptools stops building deprecated metadata (the license table) on a fixed date: none may be left.
    assert "deprecated" not in (dist / "build.log").read_text().lower()
    with tarfile.open(sdist) as archive:
        members = {Path(m).relative_to(Path(m).parts[0]).as_posix() for m in archive.getnames() if "/" in m}
    assert {"pyproject.toml", "setup.py", "README.md", "dashboards/system.py"} <= members


def test_wheel_from_an_empty_directory_needs_no_node_for_prometheus_and_influxql(venv, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    # PATH holds the venv only: no node, no npm, nothing from this checkout.
    env = clean_env(PATH=str(venv / "bin"), HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    cli = venv / "bin" / "airflow-dash"
    two = ["--backend", "prometheus", "--backend", "influxql"]

    built = ok(run([cli, "build", *two, "--out", "out"], cwd=empty, env=env))
    assert f"wrote {2 * len(BUNDLED)} dashboard(s)" in built.stdout
    linted = ok(run([cli, "lint", *two], cwd=empty, env=env))
    assert "0 error(s)" in linted.stdout
    listed = ok(run([cli, "list"], cwd=empty, env=env))
    assert all(f"{stem.replace('_', '-')}:" in listed.stdout for stem in BUNDLED)
    ok(run([cli, "preview", *two, "--out", "pv"], cwd=empty, env=env))
    assert len(list((empty / "pv").rglob("*.png"))) == 2 * len(BUNDLED)
    assert (empty / "pv" / "index.html").is_file()

    flux = run([cli, "build", "--backend", "flux", "--out", "flux-out"], cwd=empty, env=env)
    assert flux.returncode == 2, (flux.stdout, flux.stderr)
    lines = flux.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in flux.stderr
    assert "airflow-dash setup-flux-checker" in lines[0]
    assert not (empty / "flux-out").exists()
    assert sorted(p.name for p in empty.iterdir()) == ["out", "pv"]  # nothing else written


@pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="needs node and npm")
def test_setup_flux_checker_installs_into_the_user_cache_and_flux_validates(venv, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    node_dir = str(Path(shutil.which("node")).parent)
    env = clean_env(PATH=os.pathsep.join([str(venv / "bin"), node_dir, "/usr/bin", "/bin"]), HOME=str(tmp_path),
                    XDG_CACHE_HOME=str(tmp_path / "cache"))
    cli = venv / "bin" / "airflow-dash"
    installed = ok(run([cli, "setup-flux-checker"], cwd=empty, env=env))
    assert str(tmp_path / "cache" / "airflow-dash") in installed.stdout
    built = ok(run([cli, "build", "--backend", "flux", "--out", "out"], cwd=empty, env=env))
    assert f"wrote {len(BUNDLED)} dashboard(s)" in built.stdout
    config = json.loads(ok(run([cli, "config", "--output", "json"], cwd=empty, env=env)).stdout)
    assert config["selected"]["flux_checker"].startswith(str(tmp_path / "cache"))


def test_init_scaffold_builds_lints_and_publishes_to_the_emulator(venv, dist, tmp_path):
    env = clean_env(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"), PIP_FIND_LINKS=str(dist),
                    PIP_DISABLE_PIP_VERSION_CHECK="1")
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "/usr/bin:/bin")])
    team = tmp_path / "team-dashboards"
    ok(run([venv / "bin" / "airflow-dash", "init", team, "--backend", "prometheus", "--backend", "influxql"],
           cwd=tmp_path, env=env))
    again = run([venv / "bin" / "airflow-dash", "init", team], cwd=tmp_path, env=env)
    assert again.returncode == 2 and "already exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1

    # The scaffold's own Makefile: setup installs the team project (airflow-dash from the wheel) into VENV.
    make = ["make", "--no-print-directory", f"VENV={venv}"]
    ok(run([*make, "setup", "build", "lint"], cwd=team, env=env))
    built = {p.name for p in (team / "build").rglob("*.json")}
    assert "airflow-dash-team-system-prom.json" in built and "airflow-dash-team-system-iql.json" in built
    assert len(built) == 2 * (len(BUNDLED) + 1)
    model = json.loads((team / "build" / "prometheus" / "airflow-dash-team-system-prom.json").read_text())
    assert "/d/airflow-dash-airflow-overview-prom" in [link.get("url") for link in model["links"]]

    # diff --against a git revision: the old revision of our dashboards with the installed bundled ones.
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    ok(run(["git", "init", "-q"], cwd=team))
    ok(run([*git, "add", "."], cwd=team))
    ok(run([*git, "commit", "-qm", "scaffold"], cwd=team))
    example = team / "dashboards" / "team_system.py"
    example.write_text(example.read_text().replace('title="Team hosts"', 'title="Our hosts"'))
    changed = run([venv / "bin" / "airflow-dash", "diff", "--against", "HEAD", "--backend", "prometheus",
                   "--output", "json"], cwd=team, env=env)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    statuses = {d["uid"]: d["status"] for d in json.loads(changed.stdout)["dashboards"]}
    assert {uid for uid, status in statuses.items() if status != "equal"} == {"airflow-dash-team-system-prom"}
    assert len(statuses) == len(BUNDLED) + 1

    workflow = (team / ".github" / "workflows" / "dashboards.yml").read_text()
    assert "setup-ci" not in workflow and "make setup" in workflow and "--output github" in workflow
    assert "DIFF_OUTPUT=markdown" in workflow and "sticky-pull-request-comment" in workflow

    with GrafanaEmulator() as grafana:
        publish_env = {**env, "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": grafana.admin_token,
                       "PROMETHEUS_URL": "http://prometheus:9090", "INFLUXQL_URL": "http://influxdb:8086",
                       "INFLUXQL_DATABASE": "telegraf", "INFLUXQL_USER": "grafana",
                       "INFLUXQL_PASSWORD": "never-printed-secret"}
        published = ok(run([*make, "publish"], cwd=team, env=publish_env))
        assert "never-printed-secret" not in published.stdout + published.stderr
        headers = {"Authorization": f"Bearer {grafana.admin_token}"}
        found = requests.get(f"{grafana.url}/api/search", params={"type": "dash-db"}, headers=headers, timeout=10)
        uids = {item["uid"] for item in found.json()}
        assert "airflow-dash-team-system-prom" in uids and len(uids) == len(built)
        datasources = {d["uid"] for d in requests.get(f"{grafana.url}/api/datasources", headers=headers,
                                                      timeout=10).json()}
        assert datasources == {"prometheus", "influxdb-influxql"}  # only the chosen backends' datasources


def test_the_installed_wheel_is_typed_for_a_teams_mypy_strict(venv, tmp_path):
    """mypy (this checkout's) checks a scaffold's dashboards against the installed wheel: py.typed ships, the
    bundled dashboards are importable typed (`airflow_dash.bundled`), and the example is clean under --strict."""
    pytest.importorskip("mypy", reason="mypy is a test extra: pip install -e '.[test]'")
    team = tmp_path / "team"
    ok(run([venv / "bin" / "airflow-dash", "init", team], cwd=tmp_path, env=clean_env(HOME=str(tmp_path))))
    checked = run([sys.executable, "-m", "mypy", "--strict", "--config-file", os.devnull,
                   "--python-executable", venv / "bin" / "python", "--cache-dir", tmp_path / "mypy-cache",
                   "dashboards"], cwd=team, env=clean_env())
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "no issues found in 1 source file" in checked.stdout
    revealed = team / "reveal.py"
    revealed.write_text("from airflow_dash.bundled import system\nreveal_type(system.dashboard)\n")
    checked = run([sys.executable, "-m", "mypy", "--strict", "--config-file", os.devnull,
                   "--python-executable", venv / "bin" / "python", "--cache-dir", tmp_path / "mypy-cache",
                   revealed], cwd=team, env=clean_env())
    assert checked.returncode == 0 and "airflow_dash.dashboard.Dashboard" in checked.stdout, checked.stdout
