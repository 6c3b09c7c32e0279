"""The real components: the installer, and each server fixture doing the one thing the pipelines rely on.

statsd_exporter, Telegraf and InfluxDB 2 are built by scripts/install-components.sh (`make setup`); these tests
fail under CI when one is missing and skip elsewhere (tests/components.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import requests

from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml
from airflow_dash.collectors.telegraf import telegraf_conf
from tests.components import (
    COMPONENTS,
    INSTALLER,
    TELEGRAF_HOST,
    component_binary,
    loopback_telegraf_conf,
    require_component,
    wait_for,
)

_SECTION = re.compile(r"^#? *\[\[((?:inputs|outputs|processors|aggregators)\.[a-z0-9_]+)\]\]", re.MULTILINE)


def _installer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALLER), *args], capture_output=True, text=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL)


# --- the installer ----------------------------------------------------------------------------------------------


def test_telegraf_is_built_with_every_plugin_the_generated_config_uses():
    """A plugin section the binary lacks makes Telegraf refuse the whole config, so the lists must agree."""
    used = set(_SECTION.findall(telegraf_conf()))
    assert {"inputs.statsd", "outputs.influxdb_v2", "outputs.influxdb", "processors.rename"} <= used
    built = set(_installer("--telegraf-plugins").stdout.split())
    assert sorted(used - built) == []


def test_installer_without_go_fails_with_one_clear_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AIRFLOW_DASH_COMPONENTS": str(tmp_path / "cache")}
    assert not any(os.access(os.path.join(d, "go"), os.X_OK) for d in env["PATH"].split(":"))
    result = _installer(env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip()], result.stderr
    assert result.stderr.startswith("install-components: go is missing")
    # Nothing half-built is left in the cache.
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".lock")] == []


def test_installer_rejects_unknown_arguments_and_names():
    for args in (["--bogus"], ["--path", "grafana"], ["--path"]):
        result = _installer(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_installer_path_reports_a_missing_component_without_building(tmp_path):
    env = {**os.environ, "AIRFLOW_DASH_COMPONENTS": str(tmp_path)}
    result = _installer("--path", "influxd", env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert list(tmp_path.iterdir()) == []


def test_second_install_builds_nothing():
    for name in COMPONENTS:
        require_component(name)
    result = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[1].strip().startswith("cached, nothing to build")
            for line in result.stdout.splitlines()] == [True] * len(COMPONENTS), result.stdout


def test_influxd_2_is_not_debians_influxd_1():
    binary = require_component("influxd")
    version = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30).stdout
    assert version.startswith("InfluxDB 2."), version
    assert component_binary("influxd") == binary


# --- statsd_exporter -------------------------------------------------------------------------------------------


def test_statsd_exporter_maps_a_line_with_our_mapping(statsd_exporter_factory):
    import socket

    exporter = statsd_exporter_factory(statsd_mapping_yaml())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"airflow.scheduler_heartbeat:1|c", ("127.0.0.1", exporter.statsd_port))
        sock.sendto(b"airflow.scheduler_heartbeat:1|c", ("127.0.0.1", exporter.statsd_port))
    wait_for(lambda: exporter.events_received() >= 2, "two events")
    samples = [line for line in exporter.metrics_text().splitlines() if line.startswith("airflow_scheduler_heartbeat")]
    assert samples == ["airflow_scheduler_heartbeat_total 2"]


# --- InfluxDB 2 --------------------------------------------------------------------------------------------------


def test_influxdb2_answers_flux_over_written_points(influxdb_v2):
    influxdb_v2.create_bucket("smoke")
    now_ns = time.time_ns()
    influxdb_v2.write("smoke", [f"cpu,host=a usage_idle=90 {now_ns - 10**9}", f"cpu,host=a usage_idle=70 {now_ns}"])
    rows = influxdb_v2.query_rows(
        'from(bucket: "smoke") |> range(start: -1m) |> filter(fn: (r) => r._measurement == "cpu")'
        ' |> mean()')
    assert [(r["host"], float(r["_value"])) for r in rows] == [("a", 80.0)]


def test_influxdb2_refuses_a_bad_token(influxdb_v2):
    response = requests.post(f"{influxdb_v2.url}/api/v2/query", params={"org": influxdb_v2.org},
                             headers={"Authorization": "Token wrong", "Content-Type": "application/vnd.flux"},
                             data=b'buckets()', timeout=10)
    assert response.status_code == 401


# --- Telegraf ----------------------------------------------------------------------------------------------------


def test_loopback_config_changes_only_what_a_test_machine_needs():
    generated = telegraf_conf()
    conf = loopback_telegraf_conf(generated, 18125, "http://127.0.0.1:1", "db1", 10)
    assert 'service_address = "127.0.0.1:18125"' in conf
    assert "[[inputs.docker]]" not in conf and "[[inputs.docker]]" in generated
    # Everything else of the generated file is kept: templates, tagdrop, renames, system inputs, InfluxDB 2.
    for section in set(_SECTION.findall(generated)) - {"inputs.docker"}:
        assert f"[[{section}]]" in conf, section
    assert conf.count("templates = [") == 1 and generated.split("templates = [")[1].split("]")[0] in conf


def test_telegraf_writes_statsd_to_influxdb_2_and_1(influxdb_v2, influxdb_v1, telegraf_factory):
    import socket

    agent = telegraf_factory(influxdb_v2, "telegraf_smoke", influxdb_v1.url, "telegraf_smoke", flush_interval_s=1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            sock.sendto(b"airflow.scheduler_heartbeat:1|c", ("127.0.0.1", agent.statsd_port))

    def in_v2() -> bool:
        rows = influxdb_v2.query_rows('from(bucket: "telegraf_smoke") |> range(start: -5m)'
                                      ' |> filter(fn: (r) => r._measurement == "airflow_scheduler_heartbeat")'
                                      ' |> sum()')
        return bool(rows) and float(rows[0]["_value"]) == 3 and rows[0]["host"] == TELEGRAF_HOST

    def in_v1() -> bool:
        body = influxdb_v1.query("telegraf_smoke", 'SELECT sum("value") FROM "airflow_scheduler_heartbeat"')
        series = body["results"][0].get("series") or []
        return bool(series) and series[0]["values"][0][1] == 3

    wait_for(in_v2, "the counter in InfluxDB 2", timeout_s=30)
    wait_for(in_v1, "the counter in InfluxDB 1.x", timeout_s=30)
    agent.process.check_alive()


def test_real_telegraf_loads_the_generated_config_verbatim(tmp_path):
    """`telegraf --test` parses every section it loads and refuses unknown options (e.g. a renamed one)."""
    binary = require_component("telegraf")
    config = tmp_path / "telegraf.conf"
    config.write_text(telegraf_conf())
    # inputs.docker is left out: it needs a Docker daemon, which the test machines do not have.
    inputs = sorted(s.removeprefix("inputs.") for s in _SECTION.findall(telegraf_conf())
                    if s.startswith("inputs.") and s != "inputs.docker")
    env = {**os.environ, "HOST_NAME": "h", "INFLUXDB_URL": "http://127.0.0.1:9", "INFLUXDB_TOKEN": "t",
           "INFLUXDB_ORG": "o", "INFLUXDB_BUCKET": "b"}
    result = subprocess.run([str(binary), "--config", str(config), "--test", "--input-filter", ":".join(inputs)],
                            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if " E! " in line]
    assert (result.returncode, errors) == (0, []), result.stderr[-2000:]
    # --test printed the system inputs' points: the sections did load.
    measurements = {line.split(",")[0].removeprefix("> ") for line in result.stdout.splitlines()}
    assert {"cpu", "mem", "system"} <= measurements, result.stdout[:500]
