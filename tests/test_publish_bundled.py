"""`airflow-dash publish` of the bundled dashboards, end to end: compile + validate + datasources + folders +
dashboards, then a republish that must write nothing. Runs on the emulator, or a real Grafana when configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from airflow_dash.build import compile_dashboards

REPO = Path(__file__).resolve().parents[1]
DATASOURCE_ENV = {
    "PROMETHEUS_URL": "http://127.0.0.1:9090",
    "INFLUXDB_URL": "http://127.0.0.1:8086", "INFLUXDB_ORG": "airflow", "INFLUXDB_BUCKET": "airflow",
    "INFLUXDB_TOKEN": "influx-secret-token-never-printed",
    "INFLUXQL_URL": "http://127.0.0.1:8087", "INFLUXQL_DATABASE": "airflow", "INFLUXQL_USER": "grafana",
    "INFLUXQL_PASSWORD": "influxql-password-never-printed",
}  # fmt: skip
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def publish(grafana, *args: str) -> subprocess.CompletedProcess:
    env = grafana.env(**DATASOURCE_ENV)
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "publish", *args], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    for secret in (grafana.token, DATASOURCE_ENV["INFLUXDB_TOKEN"], DATASOURCE_ENV["INFLUXQL_PASSWORD"]):
        assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_bundled_dashboards_publish_then_republish_writes_nothing(grafana):
    expected = {c.uid for c in compile_dashboards(dashboards_dir=REPO / "dashboards")}
    emulator = grafana.emulator

    first = publish(grafana)
    assert first.returncode == 0, first.stdout + first.stderr
    first_requests = list(emulator.requests) if emulator is not None else []
    with grafana.client() as client:
        for uid in expected:
            live = client.get_dashboard(uid)
            assert live is not None, uid
            assert "managed-by:airflow-dash" in live.model["tags"]
        for uid in ("prometheus", "influxdb-flux", "influxdb-influxql"):
            assert client.get_datasource(uid) is not None
    if emulator is not None:
        assert sum(r.method in WRITES for r in first_requests) >= len(expected) + 3
        emulator.reset_requests()

    second = publish(grafana)
    assert second.returncode == 0, second.stdout + second.stderr
    if emulator is not None:
        writes = [r for r in emulator.requests if r.method in WRITES]
        assert writes == []
        print(f"\nfirst publish: {len(first_requests)} requests ({sum(r.method in WRITES for r in first_requests)} writes); "
              f"republish: {len(emulator.requests)} requests, 0 writes; {len(expected)} dashboards")


def test_dry_run_writes_nothing_and_lists_every_dashboard(grafana):
    result = publish(grafana, "--dry-run")
    assert result.returncode == 0, result.stderr
    for compiled in compile_dashboards(dashboards_dir=REPO / "dashboards"):
        assert compiled.uid in result.stdout
    if grafana.emulator is not None:
        assert [r for r in grafana.emulator.requests if r.method in WRITES] == []
