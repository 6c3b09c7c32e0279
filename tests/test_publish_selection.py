"""Publish asks only for what it will push: the datasources of the selected backends, none with --no-datasources
(a Grafana whose datasources are managed elsewhere); malformed `${...}` in a datasource file is one line; verify
reads the same variable names as the datasource files (old INFLUX_* with a deprecation line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def project(tmp_path: Path, table: str = "", datasources: Path = REPO / "datasources") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.airflow-dash]\nbundled = ["host-basics"]\ndatasources_dir = "{datasources}"\n{table}\n')
    return tmp_path


def plan(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["plan"]


def datasource_uids(document: dict) -> set[str]:
    return {d["uid"] for d in document["datasources"]}


def test_prometheus_only_needs_only_prometheus_url(grafana, tmp_path):
    root = project(tmp_path, 'backends = ["prometheus"]')
    env = grafana.env(PROMETHEUS_URL="http://127.0.0.1:9090")
    document = plan(run(["publish", "--dry-run", "--output", "json"], root, env))
    assert datasource_uids(document) == {"prometheus"}
    assert {d["uid"] for d in document["dashboards"]} == {"airflow-dash-host-basics-prom"}


def test_selected_backends_by_option_need_only_their_variables(grafana, tmp_path):
    root = project(tmp_path)
    env = grafana.env(INFLUXQL_URL="http://127.0.0.1:8086", INFLUXQL_DATABASE="telegraf", INFLUXQL_USER="u",
                      INFLUXQL_PASSWORD="secret-never-printed")
    result = run(["publish", "--dry-run", "--output", "json", "--backend", "influxql"], root, env)
    assert "secret-never-printed" not in result.stdout + result.stderr
    assert datasource_uids(plan(result)) == {"influxdb-influxql"}


def test_missing_variable_says_how_to_publish_less(grafana, tmp_path):
    root = project(tmp_path)  # all three backends, only Prometheus' variable set
    result = run(["publish", "--dry-run"], root, grafana.env(PROMETHEUS_URL="http://127.0.0.1:9090"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "is not set" in line and "--backend" in line and "--no-datasources" in line


def test_no_datasources_publishes_dashboards_to_a_grafana_that_manages_its_own(grafana, tmp_path):
    root = project(tmp_path)
    env = grafana.env()  # not one datasource variable
    for flag_or_setting in (["--no-datasources"], []):
        if not flag_or_setting:
            root = project(tmp_path, "publish_datasources = false")
        document = plan(run(["publish", "--dry-run", "--output", "json", "--backend", "prometheus",
                             *flag_or_setting], root, env))
        assert datasource_uids(document) == set() and document["dashboards"]
    published = run(["publish", "--no-datasources", "--backend", "prometheus"], root, env)
    assert published.returncode == 0, published.stdout + published.stderr
    with grafana.client() as client:
        assert client.get_datasource("prometheus") is None


def test_unterminated_variable_in_a_datasource_file_is_one_line(grafana, tmp_path):
    datasources = tmp_path / "ds"
    datasources.mkdir()
    text = (REPO / "datasources" / "prometheus.yaml").read_text().replace("${PROMETHEUS_URL}", "${PROMETHEUS_URL")
    (datasources / "prometheus.yaml").write_text(text)
    root = project(tmp_path, 'backends = ["prometheus"]', datasources)
    result = run(["publish", "--dry-run"], root, grafana.env(PROMETHEUS_URL="http://127.0.0.1:9090"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "prometheus.yaml" in line and "unterminated" in line and "${PROMETHEUS_URL" in line


def verify(args, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUX", "PROMETHEUS_"))}
    return run(["verify", *args, "host-basics"], REPO, {**base, **env})


def test_verify_reads_the_datasource_variable_names():
    result = verify(["--backend", "flux"], {"INFLUXDB_URL": "http://127.0.0.1:9", "INFLUXDB_ORG": "o",
                                            "INFLUXDB_TOKEN": "t"})
    assert "needs" not in result.stderr and "deprecated" not in result.stderr
    # It got as far as asking that InfluxDB, which is not there: one line, exit 1 (urllib3 2 errors included).
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "error: cannot reach InfluxDB at http://127.0.0.1:9 (connection refused)"]
    missing = verify(["--backend", "influxql"], {"INFLUXQL_URL": "http://127.0.0.1:9"})
    assert missing.returncode == 2 and "INFLUXQL_DATABASE" in missing.stderr


def test_verify_accepts_the_old_influx_names_with_a_deprecation_line():
    result = verify(["--backend", "flux", "--url", "http://127.0.0.1:9"], {"INFLUX_ORG": "o", "INFLUX_TOKEN": "t"})
    assert "INFLUX_TOKEN is deprecated, set INFLUXDB_TOKEN instead" in result.stderr
    assert "needs --org" not in result.stderr
