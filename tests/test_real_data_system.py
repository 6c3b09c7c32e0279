"""The System dashboard on real data: every panel returns data.

- Prometheus: a real node_exporter scraped every second by a real Prometheus (`prometheus_live`); the
  compiled Prometheus dashboard is verified panel by panel over the last minutes, the way Grafana runs it.
  A panel may be exempted only when this host's node_exporter does not expose its metric at all, and the
  test checks that by reading node_exporter's /metrics.
- InfluxQL: Telegraf-shaped points (tests/telegraf_points.py: cpu, mem, disk, diskio, net, system,
  processes, swap, kernel, pressure for two hosts, 10 s apart, counters increasing) written to a real
  InfluxDB 1.x, then the compiled InfluxQL dashboard is verified: every panel, no exemption.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog import host
from airflow_dash.live import InfluxQLLive, PrometheusLive, TimeRange, format_results, verify_dashboard
from tests import telegraf_points
from tests.servers import SCRAPE_INTERVAL_S
from tests.test_dashboards_system_docker import compile_system_and_docker

pytestmark = pytest.mark.slow

# Panel -> node_exporter metric whose absence (on this host / with the fixture's collectors) exempts it.
# node_filefd_* comes from the filefd collector, which tests/servers.py does not enable.
EXEMPTABLE = {"File descriptors used": "node_filefd_allocated"}
DATABASE = "telegraf_system"
MINUTES = 8


def _no_data(results) -> dict[str, str]:
    return {f"{r.panel_title}/{r.ref_id}": r.status for r in results if r.status != "ok"}


def _panel_models(model: dict) -> list[dict]:
    return [p for p in model["panels"] if p["type"] != "row"]


def _model_targets(model: dict) -> int:
    return sum(len(p["targets"]) for p in _panel_models(model))


def _targets(results) -> int:
    """Targets run (variables excluded): every target of every panel was verified."""
    return sum(1 for r in results if r.ref_id != "var")


def test_system_prometheus_every_panel_has_data(node_exporter, prometheus_live):
    model = compile_system_and_docker(["prometheus"])[("system", "prometheus")].model
    exposed = requests.get(f"{node_exporter}/metrics", timeout=10).text
    exempt = set()
    for panel, metric in EXEMPTABLE.items():
        if f"\n{metric} " not in exposed and not exposed.startswith(f"{metric} "):
            exempt.add(panel)  # the host (as scraped) really lacks the metric
    # rate() over short windows needs a few scrapes; wait for ~20 s of data at most.
    datasource = PrometheusLive(prometheus_live.url, scrape_interval=f"{SCRAPE_INTERVAL_S}s")
    deadline = time.monotonic() + 30
    while True:
        results = verify_dashboard(model, datasource, TimeRange.last("3m"))
        missing = {k for k in _no_data(results) if k.split("/")[0] not in exempt}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(format_results(results))
    assert not missing, format_results(results)
    errors = [r for r in results if r.error]
    assert not errors, format_results(results)
    assert _targets(results) == _model_targets(model) and len(_panel_models(model)) == 26
    # Every exemption is really missing data, and only for the stated reason.
    for result in results:
        if result.panel_title in exempt:
            assert result.status == "no data"
    assert exempt <= {"File descriptors used"}
    # The variable lists this node_exporter.
    host_var = [r for r in results if r.panel_title == "$host"][0]
    assert host_var.series_count == 1


@pytest.fixture(scope="module")
def telegraf_system_db(influxdb_v1):
    end = time.time()
    points = telegraf_points.system_points(end - MINUTES * 60, end)
    lines = telegraf_points.to_line_protocol(points)
    influxdb_v1.write(DATABASE, lines)
    return influxdb_v1, end


def test_system_influxql_every_panel_has_data(telegraf_system_db):
    server, end = telegraf_system_db
    model = compile_system_and_docker(["influxql"])[("system", "influxql")].model
    datasource = InfluxQLLive(server.url, DATABASE)
    results = verify_dashboard(model, datasource, TimeRange(end - (MINUTES - 1) * 60, end))
    print(format_results(results))
    assert not _no_data(results), format_results(results)
    assert _targets(results) == _model_targets(model) and len(_panel_models(model)) == 26
    host_var = [r for r in results if r.panel_title == "$host"][0]
    assert host_var.series_count == len(telegraf_points.HOSTS)
    # Fixed filters hold: no partition/loop device, no interface=all protocol series in the panels.
    by_panel = {(r.panel_title, r.ref_id): r for r in results}
    assert by_panel[("Disk I/O time", "A")].series_count == 2 * len(telegraf_points.HOSTS)  # vda, vdb per host
    assert by_panel[("Network traffic", "A")].series_count == 2 * len(telegraf_points.HOSTS)  # eth0, docker0


def _instant(prometheus, expr: str) -> list[dict]:
    return prometheus.query(expr)["result"]


def _df_percent(path: str) -> float:
    """df's Use% from statvfs: used / (used + available to non-root), used = size - free."""
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return 100 * used / (used + st.f_bavail * st.f_frsize)


def _meminfo_cache() -> int:
    """Cached + SReclaimable from /proc/meminfo, in bytes: Telegraf's (gopsutil's) `cached` on Linux."""
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return sum(int(fields[name].split()[0]) * 1024 for name in ("Cached", "SReclaimable"))


def test_disk_used_is_dfs_percent_on_real_node_exporter(prometheus_live):
    # Telegraf's disk.used_percent is df's Use%; on a filesystem that reserves blocks for root, 1 - avail/size
    # (which counts the reserved blocks as used) reads much higher than df.
    root = [r for r in _instant(prometheus_live, BACKENDS["prometheus"].render(host.disk_used, {}).query)
            if r["metric"].get("mountpoint") == "/"]
    assert len(root) == 1, root
    assert float(root[0]["value"][1]) == pytest.approx(_df_percent("/"), abs=1.0)
    fullest = _instant(prometheus_live, BACKENDS["prometheus"].render(host.disk_used_max, {}).query)
    assert len(fullest) == 1 and float(fullest[0]["value"][1]) >= float(root[0]["value"][1]) - 1e-9


def test_memory_cached_is_telegrafs_cached_on_real_node_exporter(prometheus_live):
    before = _meminfo_cache()
    result = _instant(prometheus_live, BACKENDS["prometheus"].render(host.memory_cached, {}).query)
    after = _meminfo_cache()
    assert len(result) == 1, result
    value = float(result[0]["value"][1])
    assert 0.97 * min(before, after) <= value <= 1.03 * max(before, after), (value, before, after)
