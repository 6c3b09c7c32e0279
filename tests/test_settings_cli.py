"""One settings object for every command: `[tool.airflow-dash]`, environment and options, checked strictly.

Real subprocesses from a user's project directory: a bad setting is one line on stderr and exit 2 whichever
command reads it, and the settings that select dashboards and backends are honoured by every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = (["build", "--out", "out"], ["list"], ["lint"], ["preview", "--out", "out"], ["config"],
            ["publish", "--dry-run"], ["diff"], ["verify", "--backend", "prometheus", "--url", "http://127.0.0.1:9"])


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "AIRFLOW_DASH_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=environment)


def one_line_exit_2(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'team'\n\n[tool.airflow-dash]\n{table}\n")
    return tmp_path


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_typo_in_pyproject_stops_every_command_with_a_suggestion(tmp_path, command):
    root = project(tmp_path, 'dashboard_dir = "dashboards"')
    one_line_exit_2(run(root, *command), "unknown setting 'dashboard_dir'", "did you mean 'dashboards_dir'?")
    assert not (root / "out").exists()


@pytest.mark.parametrize(("table", "fragments"), [
    ("concurency = 8", ("'concurency'", "did you mean 'concurrency'?")),
    ('concurrency = "many"', ("concurrency", "'many'")),
    ("concurrency = 0", ("concurrency", ">= 1")),
    ("retries = -1", ("retries", ">= 0")),
    ("read_timeout = 0", ("read_timeout", "> 0")),
    ('backends = ["prometheus", "influx"]', ("backends", "influx", "did you mean 'influxql'?")),
    ("backends = 3", ("backends", "list of strings")),
    ('folder = ["a"]', ("folder", "expected a string")),
    ('folder = ["a", "b"]', ("folder", "expected a string", "'a/b'")),
    ('folder = "///"', ("folder", "names no folder")),
    ('folder = "Airflow//Prod"', ("folder", "empty folder name")),
    ('grafana_url = "localhost:3000"', ("grafana_url", "http(s)://")),
    ('insecure = "sometimes"', ("insecure", "true/false")),
    ('bundled = ["sytem"]', ("bundled", "'sytem'", "system")),
    ('grafana_token = "glsa_secret"', ("grafana_token", "GRAFANA_TOKEN")),
    ("[tool.airflow-dash.extra]\nx = 1", ("'extra'",)),
    ("folder = ", ("malformed TOML",)),
])
def test_bad_settings_are_one_line_naming_the_key(tmp_path, table, fragments):
    line = one_line_exit_2(run(project(tmp_path, table), "build", "--out", "out"), *fragments)
    assert "glsa_secret" not in line


@pytest.mark.parametrize(("variable", "value", "fragments"), [
    ("AIRFLOW_DASH_CONCURRENCY", "lots", ("concurrency", "env AIRFLOW_DASH_CONCURRENCY")),
    ("AIRFLOW_DASH_BACKENDS", "prometeus", ("did you mean 'prometheus'?",)),
    ("GRAFANA_ORG_ID", "main", ("grafana_org_id", "env GRAFANA_ORG_ID")),
])
def test_bad_environment_values_are_one_line(tmp_path, variable, value, fragments):
    one_line_exit_2(run(tmp_path, "list", env={variable: value}), *fragments)


def test_backends_and_dashboards_dir_are_honoured_by_every_command(tmp_path):
    root = project(tmp_path, 'backends = ["prometheus"]\ndashboards_dir = "dash"\nbundled = ["host-basics"]')
    (root / "dash").mkdir()
    (root / "dash" / "mini.py").write_text(
        "from airflow_dash.catalog import host\nfrom airflow_dash.dashboard import Dashboard\n"
        "from airflow_dash.panels import Row, timeseries\n"
        "dashboard = Dashboard('mini', 'Mini', [Row('Host', [timeseries('CPU', host.cpu_busy)])])\n")
    build = run(root, "build", "--out", "out")
    assert build.returncode == 0, build.stderr
    assert sorted(p.name for p in (root / "out").rglob("*.json")) == [
        "airflow-dash-host-basics-prom.json", "airflow-dash-mini-prom.json"]
    listed = run(root, "list")
    assert listed.returncode == 0, listed.stderr
    assert "mini" in listed.stdout and "host-basics" in listed.stdout
    assert "flux" not in listed.stdout and "system:" not in listed.stdout
    lint = run(root, "lint", "--output", "json")
    assert lint.returncode in (0, 1), lint.stderr
    assert {f["dashboard"] for f in json.loads(lint.stdout)} <= {"mini [prometheus]", "host-basics [prometheus]"}
    preview = run(root, "preview", "--out", "pv")
    assert preview.returncode == 0, preview.stderr
    assert sorted(p.name for p in (root / "pv").rglob("*.svg")) == [
        "airflow-dash-host-basics-prom.svg", "airflow-dash-mini-prom.svg"]
    config = json.loads(run(root, "config", "--output", "json").stdout)
    assert config["backends"] == {"value": ["prometheus"], "source": "pyproject.toml"}
    assert sorted(config["selected"]["dashboards"]) == ["host-basics", "mini"]
    assert config["selected"]["dashboards"]["mini"] == str(root / "dash" / "mini.py")
    # An option beats the file, for every command that takes it.
    other = run(root, "list", "--dashboards-dir", "nowhere")
    one_line_exit_2(other, "dashboards directory not found", "nowhere")


def test_config_masks_secrets_and_url_passwords(tmp_path):
    env = {"GRAFANA_URL": "https://admin:hunter2@grafana.example:3000", "GRAFANA_TOKEN": "glsa_topsecret",
           "GRAFANA_PASSWORD": "pw_topsecret"}
    result = run(tmp_path, "config", env=env)
    assert result.returncode == 0, result.stderr
    for secret in ("hunter2", "glsa_topsecret", "pw_topsecret"):
        assert secret not in result.stdout
    assert "https://admin:***@grafana.example:3000" in result.stdout
    assert "bundled (all)" in result.stdout
