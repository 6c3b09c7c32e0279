"""`$task_id` lists the tasks Airflow ran, from a metric Airflow 2.10 and 3.x send for every task.

The variable reads ti.start (`airflow_ti_start_total` / `airflow_ti_start`): in the captures it names every task
on both versions and in both collector modes, like ti.finish and the duration timer, but it comes first (the
duration only when a try ends, never for a killed one). tests/test_real_pipelines.py checks the variable against
the captures on all three real backends; this checks a task that started and has not finished yet.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live import InfluxQLLive, TimeRange, VariableValue

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"


@pytest.mark.slow
def test_task_variable_lists_a_task_that_started_and_has_not_finished(influxdb_v1):
    """`$task_id` lists a task as soon as it starts: Airflow sends ti.start when a try starts, its duration timer
    only when it ends (or never, for a killed try). The compiled InfluxQL variable query on a real InfluxDB 1.x,
    with the points Telegraf writes: one task finished, one still running."""
    now = int(time.time())
    database = "task_variable"
    influxdb_v1.write(database, [
        f"airflow_ti_start,dag_id=etl,task_id=extract,host=h,metric_type=counter value=1i {(now - 300) * 10**9}",
        f"airflow_task_duration,dag_id=etl,task_id=extract,host=h,metric_type=timing count=1i,sum=200 "
        f"{(now - 290) * 10**9}",
        f"airflow_ti_start,dag_id=etl,task_id=long_load,host=h,metric_type=counter value=1i {(now - 280) * 10**9}",
    ])
    compiled = next(c for c in compile_all(load_dashboards(DASHBOARDS), ["influxql"]) if c.name == "airflow-dag")
    query = next(q.text for q in compiled.queries if q.panel == "variable task_id")
    live = InfluxQLLive(influxdb_v1.url, database)
    dag = VariableValue("dag_id", ("etl",), True, True, ".+", is_all=True)
    assert sorted(live.variable_values(query, TimeRange.last("1h"), {"dag_id": dag})) == ["extract", "long_load"]
