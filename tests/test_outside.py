"""The checkout works without this machine: no absolute machine paths, a Makefile that lives in its own
virtualenv, and a suite that a user's publishing environment cannot steer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
MACHINE_PATHS = re.compile("|".join(re.escape(p) for p in ("/wo" + "rk/", "/ho" + "me/", "/Us" + "ers/", "/ro" + "ot/")))


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_absolute_machine_path_in_any_tracked_file():
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATHS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def test_make_targets_use_the_project_virtualenv():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(PYTHON) -m venv $(VENV)" in makefile
    # The system interpreter only creates the venv; pip and everything else run inside it.
    assert re.findall(r"\$\(PYTHON\) -m (\w+)", makefile) == ["venv"]
    recipes = re.findall(r"^\t(.+)$", makefile, re.MULTILINE)
    python_calls = [r for r in recipes if re.search(r"\bpython3?\b|-m pytest|-m pip", r)]
    assert python_calls and all("$(VENV_PYTHON)" in r or "$(PYTHON) -m venv" in r for r in python_calls), python_calls


def test_publishing_environment_does_not_reach_the_tests():
    # conftest removed it before collection: a user's GRAFANA_URL/GRAFANA_TOKEN never select a real Grafana.
    assert not [k for k in os.environ if k.startswith("GRAFANA_")]
    from tests.grafana_fixtures import real_grafana_configured

    assert real_grafana_configured() == bool(os.environ.get("AIRFLOW_DASH_TEST_GRAFANA_URL")
                                             and os.environ.get("AIRFLOW_DASH_TEST_GRAFANA_TOKEN"))


def test_grafana_variables_alone_do_not_select_a_real_grafana(tmp_path):
    """A pytest run with GRAFANA_URL/GRAFANA_TOKEN exported runs against the emulator (it would otherwise try
    the unreachable address below and fail)."""
    env = {**os.environ, "GRAFANA_URL": "http://127.0.0.1:9", "GRAFANA_TOKEN": "glsa_user_token"}
    env.pop("AIRFLOW_DASH_TEST_GRAFANA_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_publish_cli.py", "-k", "dry_run", "-x"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_diff_against_a_revision_works_on_pythons_without_tarfile_filters(tmp_path, monkeypatch):
    """Debian 12's Python 3.11.2 has no tarfile extraction filters: `diff --against REF` must not need them."""
    import tarfile

    from airflow_dash.grafana.diff import compile_at_revision

    repo = tmp_path / "repo"
    (repo / "dashboards").mkdir(parents=True)
    (repo / "dashboards" / "mini.py").write_text(
        "from airflow_dash import Dashboard, Row, timeseries\nfrom airflow_dash.catalog import host\n"
        "dashboard = Dashboard('mini', 'Mini', [Row('Host', [timeseries('CPU', host.cpu_busy)])])\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    # What 3.11.2 looks like: no data_filter, and extractall() without the `filter` keyword.
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    original = tarfile.TarFile.extractall

    def extractall(self, path=".", members=None, *, numeric_owner=False, **unexpected):
        if unexpected:
            raise TypeError(f"extractall() got an unexpected keyword argument {next(iter(unexpected))!r}")
        return original(self, path, members, numeric_owner=numeric_owner)

    monkeypatch.setattr(tarfile.TarFile, "extractall", extractall)
    compiled = compile_at_revision("HEAD", repo_root=repo, dashboards_dir=Path("dashboards"), backends=["prometheus"])
    assert [d.uid for d in compiled] == ["airflow-dash-mini-prom"]


# ------------------------------------------------------------------------------------------------------------
# A user's bad output locations: one line naming the place, exit 2, no traceback, nothing written.

@pytest.fixture()
def under_a_file(tmp_path: Path) -> Path:
    """A directory path below a regular file: no user (root included) can create it."""
    (tmp_path / "a-file").write_text("not a directory\n")
    return tmp_path / "a-file" / "out"


@pytest.mark.parametrize("args, what", [
    (["build", "--backend", "prometheus", "--out", "{out}", "host-basics"], "cannot write dashboards to"),
    (["build", "--backend", "prometheus", "--out", "{out}"], "cannot write dashboards to"),
    (["preview", "--backend", "prometheus", "--out", "{out}", "host-basics"], "cannot write previews to"),
    (["collectors", "--out", "{out}"], "cannot write collector configs to"),
    (["init", "{out}"], "cannot write the scaffold to"),
    (["setup-flux-checker", "--dir", "{out}"], "cannot write the Flux checker to"),
])
def test_an_output_place_that_cannot_be_created_is_one_line_exit_2(tmp_path, under_a_file, args, what):
    result = run_cli(*[a.replace("{out}", str(under_a_file)) for a in args], cwd=tmp_path)
    assert_one_line_error(result, what, str(under_a_file), "Not a directory")
    assert (tmp_path / "a-file").read_text() == "not a directory\n"


def test_import_into_a_dashboards_dir_that_cannot_be_created_is_one_line_exit_2(tmp_path, under_a_file):
    from airflow_dash.build import compile_dashboards
    from airflow_dash.discovery import DashboardSource

    (compiled,) = compile_dashboards(["host-basics"], ["prometheus"], DashboardSource())
    exported = tmp_path / "host.json"
    exported.write_text(compiled.to_json())
    result = run_cli("import", str(exported), "--dashboards-dir", str(under_a_file), cwd=tmp_path)
    assert_one_line_error(result, "cannot write the dashboard module to", str(under_a_file))


def test_pull_into_a_directory_that_cannot_be_created_is_one_line_exit_2(tmp_path, under_a_file):
    from airflow_dash.build import compile_dashboards
    from airflow_dash.discovery import DashboardSource
    from airflow_dash.testing import GrafanaEmulator

    (compiled,) = compile_dashboards(["host-basics"], ["prometheus"], DashboardSource())
    emulator = GrafanaEmulator()
    url = emulator.start()
    try:
        emulator.add_dashboard(compiled.model)
        env = {**os.environ, "GRAFANA_URL": url, "GRAFANA_TOKEN": emulator.admin_token or ""}
        result = run_cli("pull", "--out", str(under_a_file), compiled.uid, cwd=tmp_path, env=env)
    finally:
        emulator.stop()
    assert_one_line_error(result, "cannot write dashboards to", str(under_a_file))


def test_a_dashboard_module_whose_dashboard_has_another_name_is_an_error_not_skipped(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.airflow-dash]\nbundled = false\n")
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "load.py").write_text(
        "from airflow_dash import Dashboard, Row, timeseries\nfrom airflow_dash.catalog import host\n"
        "board = Dashboard('load', 'Load', [Row('Host', [timeseries('CPU', host.cpu_busy)])])\n")
    (tmp_path / "dashboards" / "_helpers.py").write_text(
        "from airflow_dash import Dashboard\nbase = Dashboard('base', 'Base', [])\n")
    for command in (["list"], ["build", "--out", "out"]):
        assert_one_line_error(run_cli(*command, cwd=tmp_path), "load.py", "'load' is named `board`", "`dashboard = Dashboard(...)`")
    assert not (tmp_path / "out").exists()


def test_init_from_a_checkout_install_makes_setup_install_that_checkout(tmp_path):
    """airflow-dash is installed here from this checkout, not from an index (which may not have it): the
    scaffold's `make setup` must install the same checkout, from a git-ignored local.mk, or it fails."""
    from airflow_dash.scaffold import installed_from

    assert installed_from() == str(ROOT)  # the suite's venv: `pip install -e .` of this checkout
    team = tmp_path / "team"
    result = run_cli("init", str(team), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "/local.mk\n" in (team / ".gitignore").read_text()
    planned = subprocess.run(["make", "-n", "setup"], cwd=team, capture_output=True, text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    (pip,) = [line for line in planned.stdout.splitlines() if " -m pip install " in line]
    assert pip.split()[-2:] == [str(ROOT), "."]
    # Without local.mk (a clone of the team repository elsewhere, its CI) pip resolves pyproject's dependency.
    (team / "local.mk").unlink()
    planned = subprocess.run(["make", "-n", "setup"], cwd=team, capture_output=True, text=True, timeout=60)
    (pip,) = [line for line in planned.stdout.splitlines() if " -m pip install " in line]
    assert pip.split()[-1] == "." and str(ROOT) not in pip


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.mark.parametrize("backend, extra, what", [
    ("prometheus", [], "Prometheus"),
    ("influxql", ["--database", "telegraf"], "InfluxDB"),
    ("flux", ["--org", "o", "--token", "t0ken-for-test"], "InfluxDB"),
])
def test_verify_without_a_server_says_the_connection_was_refused(tmp_path, backend, extra, what):
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli("verify", "--backend", backend, "--url", url, *extra, "host-basics", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach {what} at {url}" in lines[0] and "(connection refused)" in lines[0], lines


def test_verify_with_a_url_that_is_not_one_is_bad_input(tmp_path):
    assert_one_line_error(run_cli("verify", "--backend", "prometheus", "--url", "prometheus:9090", cwd=tmp_path),
                    "--url (or PROMETHEUS_URL)", "expected an http(s):// URL, got 'prometheus:9090'")


@pytest.mark.parametrize("args, fragments", [
    (["build", "--backend", "nosuch"], ["'--backend'", "'nosuch'", "'airflow-dash build --help'"]),
    (["verify"], ["Missing option '--backend'", "flux, influxql, prometheus", "'airflow-dash verify --help'"]),
    (["list", "nosuch"], ["unexpected extra argument (nosuch)", "'airflow-dash list --help'"]),
    (["pull", "--uid", "x"], ["No such option '--uid'", "'airflow-dash pull --help'"]),
    (["nosuchcommand"], ["No such command 'nosuchcommand'", "'airflow-dash --help'"]),
])
def test_a_usage_mistake_is_one_line_like_every_other_error(tmp_path, args, fragments):
    line = assert_one_line_error(run_cli(*args, cwd=tmp_path), *fragments)
    assert line.startswith("error: ") and "Usage:" not in line


def test_bare_command_shows_the_help(tmp_path):
    result = run_cli(cwd=tmp_path)
    assert result.returncode in (0, 2) and "Commands:" in result.stdout + result.stderr and "error:" not in result.stderr.lower()


def test_an_alert_module_whose_alert_has_another_name_is_an_error_not_skipped(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nbundled = ["system"]\n')
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "cpu.py").write_text(
        "from airflow_dash.alerts import Alert, Threshold\nfrom airflow_dash.catalog import host\n"
        "cpu_alert = Alert(name='TeamCpuBusy', condition=Threshold(host.cpu_busy, '>', 90), summary='CPU {{host}}',\n"
        "                  description='{{value}}', runbook='top', dashboard='system', panel='CPU busy')\n")
    result = run_cli("build", "--backend", "prometheus", "--out", "out", cwd=tmp_path)
    assert_one_line_error(result, "cpu.py", "Alert 'TeamCpuBusy' is named `cpu_alert`", "`alert = Alert(...)`")
    assert not (tmp_path / "out").exists()


def test_diff_against_a_revision_outside_a_git_repository_says_so(tmp_path):
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}  # no repository above tmp_path either
    assert_one_line_error(run_cli("diff", "--against", "HEAD", cwd=tmp_path, env=env),
                          "is not in a git repository", "--against live")


def test_lint_of_a_dashboards_module_lints_the_dashboards_it_defines(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nbundled = false\nbackends = ["prometheus"]\n')
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "raw.py").write_text(
        "from airflow_dash import Dashboard, Row, timeseries\nfrom airflow_dash.catalog.model import Signal\n"
        "from airflow_dash.query import promql as P\n"
        "s = Signal(key='x.y', title='Y', unit='short', description='d', prometheus=P.raw('rate(foo_total[5m])'))\n"
        "dashboard = Dashboard('raw', 'Raw', [Row('R', [timeseries('Y', s)])])\n")
    by_name = run_cli("lint", "raw", cwd=tmp_path)
    assert by_name.returncode == 0 and "AD302" in by_name.stdout, by_name.stderr
    for target in ("dashboards/raw.py", "dashboards"):
        by_module = run_cli("lint", target, cwd=tmp_path)
        assert (by_module.returncode, by_module.stdout) == (0, by_name.stdout), by_module.stderr
    (tmp_path / "elsewhere.py").write_text("x = 1\n")
    assert_one_line_error(run_cli("lint", "elsewhere.py", cwd=tmp_path), "elsewhere.py: defines none of the dashboards")


@pytest.mark.parametrize("variable, missing", [("GRAFANA_USER", "the password (GRAFANA_PASSWORD"),
                                               ("GRAFANA_PASSWORD", "the user (GRAFANA_USER")])
def test_half_of_basic_auth_is_named_before_asking_grafana(tmp_path, variable, missing):
    from airflow_dash.testing import GrafanaEmulator

    with GrafanaEmulator() as grafana:
        env = {**os.environ, "GRAFANA_URL": grafana.url, variable: "admin"}
        result = run_cli("publish", "--dry-run", "--no-datasources", "--backend", "prometheus", cwd=tmp_path, env=env)
        assert not grafana.requests  # refused before a request that Grafana would answer with a 401
    assert_one_line_error(result, "basic auth needs a user and a password", missing)
