"""Airflow signals the Airflow dashboards need beyond `catalog/airflow.py` (same naming table, same helpers).

Everything here is named through `airflow_metrics` (the naming table) and uses the dimensions of
`catalog/airflow.py`, so it cannot drift from our statsd_exporter mapping or Telegraf templates.
Candidates to move into `catalog/airflow.py`.
"""

from __future__ import annotations

from dataclasses import replace

from airflow_dash.catalog import airflow as af
from airflow_dash.catalog.airflow import DAG, FILE, STATE, TASK, TRIGGERER
from airflow_dash.catalog.airflow_metrics import by_key
from airflow_dash.catalog.model import DELTA, GAUGE, PromScope, Signal, TelegrafSeries
from airflow_dash.query import promql as P
from airflow_dash.query.values import Affine

_M = by_key()
MS_TO_S = Affine(0.001)
FAILED_STATES = ("failed", "up_for_retry")


def _prom(key: str) -> str:
    return _M[key].prometheus_name


def _tg(key: str) -> str:
    return _M[key].telegraf_measurement


def _rate(key: str, **labels):
    return lambda s: P.sum(P.rate(s.metric(_prom(key), **labels))).by(*s.by)


def _avg_seconds(key: str):
    name = _prom(key)

    def build(s: PromScope):
        return P.sum(P.rate(s.metric(name + "_sum"))).by(*s.by) / P.sum(P.rate(s.metric(name + "_count"))).by(*s.by)

    return build


def _delta(key: str, **where) -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "value", kind=DELTA, where=where)


def _timer_mean(key: str) -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "mean", kind=GAUGE, aggregate="mean", transform=MS_TO_S)


# --- heartbeats of the other components ------------------------------------------------------------------------

dag_processor_heartbeat = Signal(
    key="airflow.dag_processor_heartbeat", title="DAG processor heartbeats", unit="ops",
    description="DAG processor heartbeats per second (Airflow 3's standalone DAG processor). Zero: DAG file "
    "changes and import errors are no longer picked up; restart the dag-processor and read its logs.",
    prometheus=_rate("dag_processor_heartbeat"), telegraf=_delta("dag_processor_heartbeat"))

triggerer_heartbeat = Signal(
    key="airflow.triggerer_heartbeat", title="Triggerer heartbeats", unit="ops",
    description="Triggerer heartbeats per second. Zero while tasks defer: the triggerer is down and deferred "
    "tasks never resume.",
    prometheus=_rate("triggerer_heartbeat"), telegraf=_delta("triggerer_heartbeat"))

triggerer_capacity_left = Signal(
    key="airflow.triggerer_capacity_left", title="Triggerer capacity left", unit="short",
    description="Triggers each triggerer can still take. At 0 deferred tasks wait: add triggerers or raise "
    "[triggerer] capacity.",
    prometheus=lambda s: P.sum(s.metric(_prom("triggerer_capacity_left"))).by(*s.by),
    telegraf=TelegrafSeries(_tg("triggerer_capacity_left"), "value", kind=GAUGE, aggregate="mean"),
    dimensions=(TRIGGERER,), group_by=(TRIGGERER,))

# --- per task ----------------------------------------------------------------------------------------------------

ti_finish_by_task = replace(
    af.ti_finish_rate,
    key="airflow.ti_finish_by_task",
    description="Task instances finishing per second, per task and final state. Failed or up_for_retry: read "
    "that task's log for the run in the Airflow UI.",
    group_by=(DAG, TASK, STATE),
    legend="{dag_id}.{task_id} {state}",
)

ti_failed_by_task = Signal(
    key="airflow.ti_failed_by_task", title="Failed and retried tasks", unit="ops",
    description="Task instances ending failed or up_for_retry per second, per task. A task that keeps failing: "
    "fix the cause; retries only hide it and hold slots.",
    prometheus=_rate("ti_finish", state=FAILED_STATES),
    telegraf=_delta("ti_finish", state=FAILED_STATES),
    dimensions=(DAG, TASK), group_by=(DAG, TASK), legend="{dag_id}.{task_id}")

task_scheduled_duration = Signal(
    key="airflow.task_scheduled_duration", title="Scheduled → queued", unit="s",
    description="Average time task instances spent scheduled before being queued, per task. High: pool or "
    "concurrency limits (max_active_tasks, pool slots) hold them back.",
    prometheus=_avg_seconds("task_scheduled_duration"), telegraf=_timer_mean("task_scheduled_duration"),
    dimensions=(DAG, TASK), group_by=(DAG, TASK), legend="{dag_id}.{task_id}")

task_queued_duration = Signal(
    key="airflow.task_queued_duration", title="Queued → running", unit="s",
    description="Average time task instances spent queued before starting, per task. High: workers are full or "
    "slow to start (image pulls, pod scheduling).",
    prometheus=_avg_seconds("task_queued_duration"), telegraf=_timer_mean("task_queued_duration"),
    dimensions=(DAG, TASK), group_by=(DAG, TASK), legend="{dag_id}.{task_id}")


def _ti_state(state: str) -> Signal:
    key = f"ti_{state}"
    return Signal(
        key=f"airflow.{key}", title=f"Task instances {state}", unit="short",
        description=f"Task instances currently {state}, per task (Airflow 3).",
        prometheus=lambda s: P.sum(s.metric(_prom(key))).by(*s.by),
        telegraf=TelegrafSeries(_tg(key), "value", kind=GAUGE, aggregate="mean"),
        dimensions=(DAG, TASK), group_by=(DAG, TASK), legend="{dag_id}.{task_id} " + state)


ti_running = _ti_state("running")
ti_queued = _ti_state("queued")
ti_scheduled = _ti_state("scheduled")
ti_deferred = _ti_state("deferred")

task_duration_by_task = replace(
    af.task_duration_avg,
    key="airflow.task_duration_by_task",
    group_by=(DAG, TASK),
    legend="{dag_id}.{task_id}",
)

# --- DAG runs and DAG files --------------------------------------------------------------------------------------

dagrun_dependency_check = Signal(
    key="airflow.dagrun_dependency_check", title="Dependency check", unit="s",
    description="Average time the scheduler spends per loop checking a DAG's task dependencies. High values slow "
    "all DAGs: simplify trigger rules or split very wide DAGs.",
    prometheus=_avg_seconds("dagrun_dependency_check"), telegraf=_timer_mean("dagrun_dependency_check"),
    dimensions=(DAG,), group_by=(DAG,))

slowest_dag_files = replace(
    af.dag_processing_last_duration,
    key="airflow.slowest_dag_files",
    title="Slowest DAG files",
    description="Parse time per DAG file, the 10 slowest on Prometheus (every file on InfluxDB). Files taking "
    "seconds delay every DAG change: move API calls and heavy imports from top-level code into tasks.",
    prometheus=lambda s: P.topk(10, af.dag_processing_last_duration.prometheus(s)),
    group_by=(FILE,),
    legend="{dag_file}",
)
