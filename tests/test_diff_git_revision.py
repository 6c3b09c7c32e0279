"""`airflow-dash diff --against GIT_REF` in a users' dashboards repository (airflow-dash installed, not in the
repository): what a pull request changes, compiled on both sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MODULE = '''
from airflow_dash import Dashboard, DimensionVariable, Row, timeseries
from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST

dashboard = Dashboard("mini", "Mini", [Row("Host", [timeseries("{title}", host.cpu_busy)])], variables=[DimensionVariable(HOST)])
'''


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo, check=True, capture_output=True)


def diff(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow_dash.cli", "diff", *args], cwd=repo, capture_output=True, text=True, timeout=300)


def test_diff_against_a_revision_shows_the_changed_panel_and_exits_1(tmp_path):
    repo = tmp_path / "dashboards-repo"
    (repo / "dashboards").mkdir(parents=True)
    (repo / "dashboards" / "mini.py").write_text(MODULE.format(title="CPU busy"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")

    unchanged = diff(repo, "--against", "HEAD", "--backend", "prometheus")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr

    (repo / "dashboards" / "mini.py").write_text(MODULE.format(title="CPU busy (all cores)"))
    changed = diff(repo, "--against", "HEAD", "--backend", "prometheus", "--output", "json")
    assert changed.returncode == 1, changed.stdout + changed.stderr
    report = json.loads(changed.stdout)
    text = json.dumps(report)
    assert "airflow-dash-mini-prom" in text and "CPU busy (all cores)" in text
