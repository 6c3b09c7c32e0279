"""prometheus.yml: valid for the real promtool, and host series from node_exporter and cAdvisor agree on `instance`."""

import shutil
import subprocess

import pytest
import yaml

from airflow_dash.collectors import write_collectors


def test_host_exporters_share_the_configured_instance_and_promtool_accepts_the_file(tmp_path):
    write_collectors(tmp_path, host_name="worker-1")
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    instances = {name: jobs[name]["static_configs"][0]["labels"]["instance"] for name in ("node", "cadvisor")}
    assert instances == {"node": "worker-1", "cadvisor": "worker-1"}
    if shutil.which("promtool") is None:
        pytest.fail("promtool is required (make setup-system)")
    result = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tags_mode_relabeling_is_valid_for_promtool_and_renames_only_airflow_tags(tmp_path):
    write_collectors(tmp_path, mode="tags")
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    statsd = next(job for job in config["scrape_configs"] if job["job_name"] == "statsd-exporter")
    targets = {rule["target_label"] for rule in statsd["metric_relabel_configs"]}
    assert {"pool", "operator", "pool_name", "operator_name", "task_type"} == targets
    if shutil.which("promtool") is None:
        pytest.fail("promtool is required (make setup-system)")
    result = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
