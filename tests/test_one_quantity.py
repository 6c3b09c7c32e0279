"""One definition of each quantity on every stack: the InfluxDB queries compute what the PromQL computes.

Run on a real InfluxDB 1.x with points written the way Telegraf writes them, against the PromQL definition
worked out by hand for the same events (Prometheus' own numbers for these cases are the formulas below).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from airflow_dash.catalog import airflow as af
from airflow_dash.catalog import docker, host
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live import InfluxQLLive, TimeRange
from airflow_dash.backends import BACKENDS

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"


def _render(signal, backend: str) -> str:
    return BACKENDS[backend].render(signal, {}).query


def _values(server, database: str, query: str, time_range: str = "30m") -> list[float]:
    live = InfluxQLLive(server.url, database, min_interval="1m")
    result = live.run(query, TimeRange.last(time_range))
    assert result.error is None, result
    series = server.query(database, result.interpolated)["results"][0].get("series") or []
    return [row[1] for s in series for row in s["values"] if row[1] is not None and not math.isnan(row[1])]


@pytest.mark.slow
def test_timer_mean_is_count_weighted_like_sum_over_count(influxdb_v1):
    # Two Telegraf flushes in one minute: 1 task of 100 ms, then 3 tasks of 10 ms each.
    # Prometheus: rate(_sum) / rate(_count) = (0.1 + 0.03) / 4 = 32.5 ms. A mean of the flush means: 55 ms.
    t = (int(time.time()) // 60) * 60 - 300  # now, not at collection: a full run lasts longer than the range
    lines = [f"airflow_task_duration,dag_id=d,task_id=t,host=h,metric_type=timing count=1i,sum=100,mean=100 {t}000000000",
             f"airflow_task_duration,dag_id=d,task_id=t,host=h,metric_type=timing count=3i,sum=30,mean=10 {t + 10}000000000"]
    influxdb_v1.write("quantity_timer", lines)
    values = _values(influxdb_v1, "quantity_timer", _render(af.task_duration_avg, "influxql"))
    assert values == [pytest.approx(0.0325)]
    assert "_sum" in _render(af.task_duration_avg, "prometheus") and "_count" in _render(af.task_duration_avg, "prometheus")


@pytest.mark.slow
def test_memory_used_percent_is_one_minus_available_over_total(influxdb_v1):
    # used_percent (Telegraf's own, total - free - buffers - cache) disagrees with MemAvailable on purpose.
    t = int(time.time()) - 120
    influxdb_v1.write("quantity_mem", [f"mem,host=h total=1000i,available=250i,used_percent=40 {t}000000000"])
    assert _values(influxdb_v1, "quantity_mem", _render(host.memory_used, "influxql")) == [pytest.approx(75.0)]
    assert "MemAvailable" in _render(host.memory_used, "prometheus")


@pytest.mark.slow
def test_task_failures_stat_sums_to_the_failures_in_the_range(influxdb_v1):
    t = int(time.time()) - 1200
    lines = [f"airflow_ti_failures,host=h,metric_type=counter value={n}i {(t + 10 * i)}000000000"
             for i, n in enumerate((1, 0, 2, 1))]
    influxdb_v1.write("quantity_failures", lines)
    overview = next(c for c in compile_all(load_dashboards(DASHBOARDS), ["influxql"]) if c.name == "airflow-overview")
    panel = next(p for p in overview.model["panels"] if p.get("title") == "Task failures")
    assert panel["options"]["reduceOptions"]["calcs"] == ["sum"] and panel["interval"] == "1m"
    values = _values(influxdb_v1, "quantity_failures", panel["targets"][0]["query"])
    assert sum(values) == 4 and values[-1] == 0  # a count over the range, idle windows 0


def test_counts_use_windows_of_exactly_the_step():
    for signal in (af.ti_failures_count, docker.oom_events):
        text = _render(signal, "prometheus")
        assert "[$__interval]" in text and "$__rate_interval" not in text, text


def test_pool_slots_average_the_schedulers_reporting_them():
    text = _render(af.pool_open_slots, "prometheus")
    assert text.startswith("avg by (pool)"), text  # two schedulers behind two exporters must not double it


def test_cpu_throttling_is_a_percentage_on_both_stacks():
    assert docker.cpu_throttled.unit == "percent"
    assert "* 100" in _render(docker.cpu_throttled, "prometheus")
    assert "0.0000001" in _render(docker.cpu_throttled, "influxql")  # ns per second -> percent
