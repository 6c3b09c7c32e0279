"""The publish/diff/pull/config commands, run as a user runs them: `python -m airflow_dash.cli` in a subprocess.

Each run checks the exit code, that errors are ONE line without a traceback, and that the token never shows.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_dash.grafana.model import pretty_json
from tests.grafana_fixtures import sample_dashboard

REPO = Path(__file__).resolve().parents[1]
BUNDLED_DATASOURCES = REPO / "datasources"
SECRET_TOKEN = "glsa_wrong_token_do_not_print_3f9c"


def project(tmp_path: Path, prefix: str, datasources_dir: Path = BUNDLED_DATASOURCES) -> Path:
    """A project directory: pyproject with [tool.airflow-dash] and compiled dashboards as JSON files."""
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.airflow-dash]\nfolder = "ignored-by-env"\ndatasources_dir = "{datasources_dir}"\n')
    out = tmp_path / "compiled"
    out.mkdir()
    for d in (sample_dashboard(prefix, "overview"), sample_dashboard(prefix, "workers")):
        (out / f"{d.uid}.json").write_text(pretty_json(d.model))
    return tmp_path


def run(args: list[str], cwd: Path, env: dict[str, str], secrets: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**env, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    for secret in (env.get("GRAFANA_TOKEN", ""), *secrets):
        assert secret not in result.stdout and secret not in result.stderr, "a secret was printed"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "\n" not in lines[0]
    return lines[0]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(grafana):
    return grafana.env(PROMETHEUS_URL="http://127.0.0.1:9090")


def test_publish_republish_drift_and_force(grafana, env, tmp_path):
    root = project(tmp_path, grafana.prefix)
    first = run(["publish", "--from-dir", "compiled"], root, env)
    assert first.returncode == 0, first.stderr
    assert "summary:" in first.stdout and "created" in first.stdout

    second = run(["publish", "--from-dir", "compiled", "--output", "json"], root, env)
    assert second.returncode == 0, second.stderr
    document = json.loads(second.stdout)
    assert document["plan"]["writes"] == 0
    assert {i["outcome"] for i in document["report"]["items"]} == {"unchanged"}

    emulator = grafana.require_emulator()
    uid = f"{grafana.prefix}-overview"
    emulator.edit_dashboard_as_user(uid, lambda m: m["panels"][1].update(title="Renamed in UI"))
    refused = run(["publish", "--from-dir", "compiled"], root, env)
    assert refused.returncode == 1
    assert "publish refused" in one_error_line(refused)
    assert '-  "title": "Renamed in UI"' in refused.stdout and '+  "title": "Queued tasks"' in refused.stdout
    assert emulator.dashboard(uid)["panels"][1]["title"] == "Renamed in UI"

    forced = run(["publish", "--from-dir", "compiled", "--force"], root, env)
    assert forced.returncode == 0, forced.stderr
    assert emulator.dashboard(uid)["panels"][1]["title"] == "Queued tasks"


def test_dry_run_prints_the_plan_and_writes_nothing(grafana, env, tmp_path):
    emulator = grafana.require_emulator()
    root = project(tmp_path, grafana.prefix)
    result = run(["publish", "--from-dir", "compiled", "--dry-run"], root, env)
    assert result.returncode == 0, result.stderr
    assert "would create" in result.stdout and "datasource Prometheus (airflow-dash)" in result.stdout
    assert [r for r in emulator.requests if r.method != "GET"] == []


def test_wrong_token_is_one_line_exit_2(grafana, tmp_path):
    root = project(tmp_path, grafana.prefix)
    env = grafana.env(GRAFANA_TOKEN=SECRET_TOKEN, PROMETHEUS_URL="http://127.0.0.1:9090")
    for args in (["publish", "--from-dir", "compiled"], ["pull", "some-uid"], ["diff", "--from-dir", "compiled"]):
        result = run(args, root, env)
        assert result.returncode == 2, (args, result.stderr)
        assert f"token rejected by Grafana at {grafana.url}" in one_error_line(result)


def test_unreachable_host_is_one_line_exit_1(grafana, tmp_path):
    root = project(tmp_path, grafana.prefix)
    port = closed_port()
    env = grafana.env(GRAFANA_URL=f"http://127.0.0.1:{port}", GRAFANA_TOKEN=SECRET_TOKEN,
                      PROMETHEUS_URL="http://127.0.0.1:9090", AIRFLOW_DASH_RETRIES="1")
    result = run(["publish", "--from-dir", "compiled"], root, env)
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"127.0.0.1:{port}" in line and "connection refused" in line


def test_malformed_datasource_yaml_is_one_line_exit_2(grafana, tmp_path):
    bad = tmp_path / "ds"
    bad.mkdir()
    (bad / "broken.yaml").write_text("apiVersion: 1\ndatasources:\n  - name: x\n    uid: [unclosed\n")
    root = project(tmp_path, grafana.prefix, datasources_dir=bad)
    result = run(["publish", "--datasources-only"], root, grafana.env())
    assert result.returncode == 2
    line = one_error_line(result)
    assert f"{bad / 'broken.yaml'}:" in line and "malformed YAML" in line


def test_missing_env_var_is_one_line_exit_2(grafana, tmp_path):
    emulator = grafana.require_emulator()
    root = project(tmp_path, grafana.prefix)
    env = grafana.env()  # no PROMETHEUS_URL
    result = run(["publish", "--from-dir", "compiled"], root, env)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "PROMETHEUS_URL" in line and "prometheus.yaml" in line
    assert [r for r in emulator.requests if r.method != "GET"] == []  # nothing written


def test_datasources_only_pushes_secrets_without_printing_them(grafana, tmp_path):
    emulator = grafana.require_emulator()
    root = project(tmp_path, grafana.prefix)
    env = grafana.env(PROMETHEUS_URL="http://prom:9090", INFLUXDB_URL="http://influx:8086", INFLUXDB_ORG="airflow",
                      INFLUXDB_BUCKET="airflow", INFLUXDB_TOKEN="influx-secret-token-1234",
                      INFLUXQL_URL="http://influx1:8086", INFLUXQL_DATABASE="airflow", INFLUXQL_USER="grafana",
                      INFLUXQL_PASSWORD="pa$$word-secret")
    secrets = ("influx-secret-token-1234", "pa$$word-secret")
    result = run(["publish", "--datasources-only"], root, env, secrets)
    assert result.returncode == 0, result.stderr
    assert emulator.datasource("influxdb-flux")["secureJsonData"] == {"token": "influx-secret-token-1234"}
    assert emulator.datasource("influxdb-influxql")["secureJsonData"] == {"password": "pa$$word-secret"}
    emulator.reset_requests()
    again = run(["publish", "--datasources-only", "--output", "json"], root, env, secrets)
    assert again.returncode == 0
    assert [r for r in emulator.requests if r.method != "GET"] == []


def test_diff_against_live_exits_1_on_difference_and_0_when_equal(grafana, env, tmp_path):
    root = project(tmp_path, grafana.prefix)
    assert run(["publish", "--from-dir", "compiled"], root, env).returncode == 0
    same = run(["diff", "--from-dir", "compiled"], root, env)
    assert same.returncode == 0, same.stdout + same.stderr
    emulator = grafana.require_emulator()
    emulator.edit_dashboard_as_user(f"{grafana.prefix}-workers", lambda m: m["panels"][0].update(title="Busy"))
    changed = run(["diff", "--from-dir", "compiled", "--output", "markdown"], root, env)
    assert changed.returncode == 1
    assert "| " in changed.stdout and "```diff" in changed.stdout and 'panel "Busy" -> "Running tasks"' in changed.stdout
    as_json = json.loads(run(["diff", "--from-dir", "compiled", "--output", "json"], root, env).stdout)
    assert as_json["equal"] is False


def test_pull_writes_formatted_json_without_id_and_version(grafana, env, tmp_path):
    root = project(tmp_path, grafana.prefix)
    assert run(["publish", "--from-dir", "compiled"], root, env).returncode == 0
    result = run(["pull", "--folder", grafana.root_folder, "--out", "pulled"], root, env)
    assert result.returncode == 0, result.stderr
    files = sorted((root / "pulled").glob("*.json"))
    assert [f.name for f in files] == [f"{grafana.prefix}-overview.json", f"{grafana.prefix}-workers.json"]
    text = files[0].read_text()
    model = json.loads(text)
    assert "id" not in model and "version" not in model
    assert text == json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    single = run(["pull", f"{grafana.prefix}-overview"], root, env)
    assert single.stdout == text
    missing = run(["pull", "no-such-dashboard"], root, env)
    assert missing.returncode == 2 and "no-such-dashboard" in one_error_line(missing)


def test_config_masks_secrets_and_names_sources(grafana, tmp_path):
    root = project(tmp_path, grafana.prefix)
    env = grafana.env(GRAFANA_TOKEN=SECRET_TOKEN, GRAFANA_PASSWORD="another-secret-pw")
    result = run(["config"], root, env, ("another-secret-pw",))
    assert result.returncode == 0, result.stderr
    assert "grafana_token" in result.stdout and "(env GRAFANA_TOKEN)" in result.stdout
    assert "folder" in result.stdout and "(env AIRFLOW_DASH_FOLDER)" in result.stdout
    assert "(pyproject.toml)" in result.stdout


def test_diff_that_cannot_reach_grafana_exits_2_not_1_which_means_different(tmp_path):
    """diff(1)'s convention: 1 is "different", so a CI job must not read a dead Grafana as changes."""
    root = project(tmp_path, "unreachable")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")},
           "GRAFANA_URL": f"http://127.0.0.1:{closed_port()}", "GRAFANA_TOKEN": SECRET_TOKEN}
    result = run(["diff", "--from-dir", "compiled", "--retries", "0"], root, env)
    assert result.returncode == 2, result.stderr
    assert "cannot reach Grafana" in one_error_line(result)


def test_a_bad_option_value_is_reported_under_the_option_s_own_name(tmp_path):
    result = run(["publish", "--timeout", "-1", "--dry-run", "--from-dir", "compiled"], project(tmp_path, "t"),
                 {**os.environ, "GRAFANA_URL": "http://127.0.0.1:1", "GRAFANA_TOKEN": SECRET_TOKEN})
    assert result.returncode == 2 and "from --timeout:" in one_error_line(result)


def test_a_missing_datasources_directory_says_how_to_go_on(tmp_path):
    root = project(tmp_path, "nods", datasources_dir=tmp_path / "no-such-dir")
    result = run(["publish", "--dry-run", "--from-dir", "compiled"], root,
                 {**os.environ, "GRAFANA_URL": "http://127.0.0.1:1", "GRAFANA_TOKEN": SECRET_TOKEN})
    line = one_error_line(result)
    assert result.returncode == 2 and "does not exist" in line and "--no-datasources" in line
