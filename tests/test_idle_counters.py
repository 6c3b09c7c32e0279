"""StatsD counters fall to zero when Airflow stops sending them, on every InfluxDB backend.

Telegraf's `delete_counters = true` writes nothing for an idle counter, so a query that leaves empty windows
empty (`fill(null)`, `createEmpty: false`) lets a stat's `lastNotNull` show the last busy window: a dead
scheduler's heartbeat stays green. Here a heartbeat that stopped 10 minutes ago runs through the compiled
"Scheduler heartbeats" stat on a real InfluxDB 1.x (InfluxQL) and a real InfluxDB 2 (Flux), and the value a
stat shows must be 0.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live import FluxLive, InfluxQLLive, TimeRange

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
DATABASE = "idle_counters"


def _stat_query(backend: str, title: str = "Scheduler heartbeats") -> str:
    compiled = next(c for c in compile_all(load_dashboards(DASHBOARDS), [backend]) if c.name == "airflow-overview")
    return next(q.text for q in compiled.queries if q.panel == title)


def _last_not_null(values):
    """Grafana's `lastNotNull` reducer, which our stat panels use."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    return present[-1] if present else None


@pytest.mark.slow
def test_influxql_heartbeat_stat_reads_zero_after_the_scheduler_stops(influxdb_v1):
    now = int(time.time())
    influxdb_v1.write(DATABASE, _heartbeat_lines(now))
    live = InfluxQLLive(influxdb_v1.url, DATABASE, min_interval="1m")
    result = live.run(_stat_query("influxql"), TimeRange.last("30m"))
    assert result.error is None and result.has_data, result
    series = influxdb_v1.query(DATABASE, result.interpolated)["results"][0]["series"]
    values = [row[1] for s in series for row in s["values"]]
    assert max(v for v in values if v is not None) == pytest.approx(0.2)  # 2 per 10 s while it ran
    assert _last_not_null(values) == 0


def _heartbeat_lines(now: int) -> list[str]:
    # Telegraf flushes every 10 s: 2 heartbeats per flush from 30 to 10 minutes ago, then nothing
    # (delete_counters = true writes nothing for an idle counter).
    return [f"airflow_scheduler_heartbeat,host=sched-1,metric_type=counter value=2i {(now - age) * 10**9}"
            for age in range(600, 1800, 10)]


@pytest.mark.slow
def test_flux_heartbeat_stat_reads_zero_after_the_scheduler_stops(influxdb_v2):
    """The same on a real InfluxDB 2: the compiled Flux stat query's last value is 0, not the last busy window."""
    now = int(time.time())
    influxdb_v2.create_bucket(DATABASE)
    influxdb_v2.write(DATABASE, _heartbeat_lines(now))
    live = FluxLive(influxdb_v2.url, influxdb_v2.org, influxdb_v2.token, bucket=DATABASE, min_interval="1m")
    result = live.run(_stat_query("flux"), TimeRange.last("30m"))
    assert result.error is None and result.has_data, result
    points = sorted(point for series in result.series for point in series.points)
    values = [value for _, value in points]
    assert max(v for v in values if v is not None) == pytest.approx(2 * 6 / 60)  # 12 per minute while it ran
    assert _last_not_null(values) == 0
    # The idle windows are there (createEmpty), as zeros: the last ten minutes hold no point at all.
    assert [v for t, v in points if t > now - 540] and all(v == 0 for t, v in points if t > now - 540)


def test_flux_counter_windows_are_created_empty_and_filled_with_zero():
    """The Flux query must create empty windows and fill them with 0, after converting to float (Telegraf
    writes counters as integers; fill's value must match the column type)."""
    text = _stat_query("flux")
    stages = [line.strip() for line in text.splitlines()]
    assert "|> toFloat()" in stages
    window = next(s for s in stages if s.startswith("|> aggregateWindow("))
    assert "fn: sum" in window and "createEmpty: true" in window
    assert stages.index("|> fill(value: 0.0)") == stages.index(window) + 1
    assert stages.index("|> toFloat()") < stages.index(window)

