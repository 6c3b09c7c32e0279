"""The Docker dashboard on real data: every panel returns data.

- Prometheus: cAdvisor cannot run here (no Docker daemon, no container cgroups to read), so its series are
  *backfilled* into a real Prometheus with promtool, shaped exactly like cAdvisor's documented metrics
  (shared/reference/content/cadvisor/prometheus.md): container_* series labelled `id`, `name`,
  `image`, `instance`, `job` (plus `cpu="total"` on CPU usage, `interface` on network, `device` on
  filesystem I/O), machine_* series with `boot_id`/`machine_id`/`system_uuid`, and cgroups that are not
  containers (`id="/"`, `id="/system.slice/docker.service"`, no `name`/`image`), which the dashboard
  must ignore. Counters increase; one container without a memory limit reports a limit of 0.
- InfluxQL: Telegraf docker_* measurements shaped per the Telegraf docker input README
  (tests/telegraf_points.py) written to a real InfluxDB 1.x.
"""

from __future__ import annotations

import random
import time

import pytest

from airflow_dash.live import InfluxQLLive, PrometheusLive, TimeRange, format_results, verify_dashboard
from tests import telegraf_points
from tests.servers import openmetrics_from_samples
from tests.test_dashboards_system_docker import compile_system_and_docker

pytestmark = pytest.mark.slow

STEP_S = 15
MINUTES = 20
JOB = "cadvisor"
DATABASE = "telegraf_docker"
GIB = 1024**3


def _cadvisor_samples(end_s: int) -> list:
    """cAdvisor-shaped samples for two hosts over the last MINUTES, one every STEP_S."""
    rng = random.Random(5)
    times = list(range(end_s - MINUTES * 60, end_s + 1, STEP_S))
    samples = []

    def counter(name, labels, per_second, start=None):
        value = float(start if start is not None else rng.randint(1000, 100_000))
        points = []
        for t in times:
            value += per_second * STEP_S * rng.uniform(0.5, 1.5)
            points.append((t, value))
        samples.append((name, labels, "counter", points))

    def gauge(name, labels, make):
        samples.append((name, labels, "gauge", [(t, float(make(t))) for t in times]))

    for host, containers in telegraf_points.CONTAINERS.items():
        instance = f"{host}:8080"
        machine = {"instance": instance, "job": JOB, "boot_id": "%032x" % rng.getrandbits(128),
                   "machine_id": "%032x" % rng.getrandbits(128), "system_uuid": "%032x" % rng.getrandbits(128)}
        gauge("machine_cpu_cores", machine, lambda t: 4)
        gauge("machine_memory_bytes", machine, lambda t: 16 * GIB)
        # Cgroups that are not containers: no name, no image.
        for cgroup in ("/", "/system.slice/docker.service"):
            plain = {"id": cgroup, "instance": instance, "job": JOB}
            gauge("container_last_seen", plain, lambda t: t)
            counter("container_cpu_usage_seconds_total", {**plain, "cpu": "total"}, 0.5)
            gauge("container_memory_working_set_bytes", plain, lambda t: 3 * GIB)
        for name in containers:
            image, version = telegraf_points.IMAGES[name]
            labels = {"id": "/system.slice/docker-%064x.scope" % rng.getrandbits(256), "image": f"{image}:{version}",
                      "instance": instance, "job": JOB, "name": name}
            started = times[0] - rng.randint(600, 86_400)
            limit = 4 * GIB if name.startswith("airflow-worker") else 0  # 0: no memory limit
            gauge("container_last_seen", labels, lambda t: t)
            gauge("container_start_time_seconds", labels, lambda t, s=started: s)
            counter("container_cpu_usage_seconds_total", {**labels, "cpu": "total"}, rng.uniform(0.05, 1.5))
            counter("container_cpu_cfs_throttled_seconds_total", labels, rng.uniform(0, 0.2))
            gauge("container_memory_working_set_bytes", labels, lambda t: rng.uniform(0.2, 0.8) * 2 * GIB)
            gauge("container_spec_memory_limit_bytes", labels, lambda t, limit=limit: limit)
            counter("container_oom_events_total", labels, 0.01 if name == "airflow-worker" else 0.0, start=0)
            for direction, rate in (("receive", 50_000), ("transmit", 30_000)):
                nic = {**labels, "interface": "eth0"}
                counter(f"container_network_{direction}_bytes_total", nic, rate)
                counter(f"container_network_{direction}_errors_total", nic, 0.01)
                counter(f"container_network_{direction}_packets_dropped_total", nic, 0.02)
            disk = {**labels, "device": "/dev/vda"}
            counter("container_fs_reads_bytes_total", disk, 100_000)
            counter("container_fs_writes_bytes_total", disk, 400_000)
            counter("container_fs_reads_total", disk, 5)
            counter("container_fs_writes_total", disk, 20)
    return samples


def _no_data(results) -> dict[str, str]:
    return {f"{r.panel_title}/{r.ref_id}": r.status for r in results if r.status != "ok"}


def _targets(model: dict) -> int:
    return sum(len(p.get("targets", [])) for p in model["panels"] if p["type"] != "row")


def test_docker_prometheus_every_panel_has_data(prometheus_backfilled):
    end = int(time.time()) - 60
    prometheus = prometheus_backfilled(openmetrics_from_samples(_cadvisor_samples(end)))
    model = compile_system_and_docker(["prometheus"])[("docker", "prometheus")].model
    datasource = PrometheusLive(prometheus.url, scrape_interval=f"{STEP_S}s")
    results = verify_dashboard(model, datasource, TimeRange(end - (MINUTES - 2) * 60, end))
    print(format_results(results))
    assert not _no_data(results), format_results(results)
    assert sum(1 for r in results if r.ref_id != "var") == _targets(model)
    assert len([p for p in model["panels"] if p["type"] != "row"]) == 13
    variables = {r.panel_title: r.series_count for r in results if r.ref_id == "var"}
    containers = sum(len(c) for c in telegraf_points.CONTAINERS.values())
    assert variables == {"$host": len(telegraf_points.CONTAINERS), "$container": containers}
    # Only named containers: cgroups without a name never reach a panel.
    by_panel = {(r.panel_title, r.ref_id): r for r in results}
    assert by_panel[("Container CPU", "A")].series_count == containers
    assert by_panel[("Memory of limit", "A")].series_count == 1  # only airflow-worker has a limit
    assert by_panel[("Running containers", "A")].series_count == len(telegraf_points.CONTAINERS)


@pytest.fixture(scope="module")
def telegraf_docker_db(influxdb_v1):
    end = time.time()
    lines = telegraf_points.to_line_protocol(telegraf_points.docker_points(end - 8 * 60, end))
    influxdb_v1.write(DATABASE, lines)
    return influxdb_v1, end


def test_docker_influxql_every_panel_has_data(telegraf_docker_db):
    server, end = telegraf_docker_db
    model = compile_system_and_docker(["influxql"])[("docker", "influxql")].model
    results = verify_dashboard(model, InfluxQLLive(server.url, DATABASE), TimeRange(end - 7 * 60, end))
    print(format_results(results))
    assert not _no_data(results), format_results(results)
    assert sum(1 for r in results if r.ref_id != "var") == _targets(model)
    assert len([p for p in model["panels"] if p["type"] != "row"]) == 12
    containers = sum(len(c) for c in telegraf_points.CONTAINERS.values())
    by_panel = {(r.panel_title, r.ref_id): r for r in results}
    assert by_panel[("Container CPU", "A")].series_count == containers
    assert by_panel[("Network traffic", "B")].series_count == containers
