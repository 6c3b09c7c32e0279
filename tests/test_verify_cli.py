"""`airflow-dash verify` as a user runs it, against real servers: real Prometheus scraping real node_exporter,
and a real InfluxDB 1.x with Telegraf-shaped points. Exit 0 when every panel has data, 1 otherwise."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def verify(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow_dash.cli", "verify", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_host_basics_on_real_prometheus_has_data_for_every_panel(prometheus_live):
    result = verify("--backend", "prometheus", "--url", prometheus_live.url, "--scrape-interval", "1s", "--last", "2m", "host-basics")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CPU busy" in result.stdout and "Memory used" in result.stdout


@pytest.mark.slow
def test_panels_without_data_fail_verify(influxdb_v1):
    # Only CPU points: the memory panel has no data, so verify must say so and exit 1.
    now = int(time.time())
    influxdb_v1.write("verify_cli", [f"cpu,cpu=cpu-total,host=h1 usage_idle={90 - i} {now - 300 + 10 * i}000000000" for i in range(30)]
                      + [f"system,host=h1 load1=0.5 {now - 60}000000000"])
    result = verify("--backend", "influxql", "--url", influxdb_v1.url, "--database", "verify_cli", "--last", "10m", "host-basics")
    assert result.returncode == 1, result.stdout + result.stderr
    memory_lines = [line for line in result.stdout.splitlines() if "Memory used" in line]
    assert memory_lines and "NO DATA" in memory_lines[0].upper()

    influxdb_v1.write("verify_cli", [f"mem,host=h1 total=1000i,available={600 - i}i,used_percent={40 + i} "
                                     f"{now - 300 + 10 * i}000000000" for i in range(30)])  # as inputs.mem writes
    result = verify("--backend", "influxql", "--url", influxdb_v1.url, "--database", "verify_cli", "--last", "10m", "host-basics")
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_input_is_one_line_exit_2():
    result = verify("--backend", "influxql", "--url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "needs --database" in result.stderr and "Traceback" not in result.stderr
    result = verify("--backend", "flux", "--url", "http://127.0.0.1:9", env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "token" in result.stderr


def test_unreachable_datasource_is_one_line(tmp_path):
    result = verify("--backend", "prometheus", "--url", "http://127.0.0.1:9", "host-basics")
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
