"""Airflow signals the two Airflow dashboards need, until `catalog/airflow.py` provides them.

Every name comes from the naming table (`airflow_dash.catalog.airflow_metrics`), never typed here: Prometheus
`AirflowMetric.prometheus_name` (counters `_total`, timers `_seconds` histograms: `_sum`/`_count`/`_bucket`),
Telegraf `telegraf_measurement` (field `value` for counters and gauges, `mean`... in milliseconds for timers).
"""

from __future__ import annotations

from dataclasses import replace

from airflow_dash.catalog.airflow_metrics import TIMER, AirflowMetric, by_key
from airflow_dash.catalog.model import DELTA, GAUGE, Dimension, Signal, TelegrafSeries
from airflow_dash.query import promql as P
from airflow_dash.query.values import Affine

MS = Affine(0.001)  # Telegraf keeps StatsD timers in milliseconds; panels show seconds
_TABLE = by_key()


def _metric(key: str) -> AirflowMetric:
    return _TABLE[key]


def _prom(key: str) -> str:
    return _metric(key).prometheus_name


def _tg(key: str) -> str:
    return _metric(key).telegraf_measurement


DAG = Dimension("dag_id", "DAG", "dag_id", "dag_id",
                prometheus_values_from=_prom("dagrun_dependency_check") + "_count",
                telegraf_values_from=_tg("dagrun_dependency_check"))
TASK = Dimension("task_id", "Task", "task_id", "task_id",
                 prometheus_values_from=_prom("task_scheduled_duration") + "_count",
                 telegraf_values_from=_tg("task_scheduled_duration"))
POOL = Dimension("pool", "Pool", "pool", "pool",
                 prometheus_values_from=_prom("pool_open_slots"), telegraf_values_from=_tg("pool_open_slots"))
STATE = Dimension("state", "State", "state", "state")
DAG_FILE = Dimension("dag_file", "DAG file", "dag_file", "dag_file")


def _rate(key: str):
    """Per-second rate of a StatsD counter, summed over the series not split by."""
    name = _prom(key)
    return lambda s: P.sum(P.rate(s.metric(name))).by(*s.by)


def _level(key: str, op=P.max):
    name = _prom(key)
    return lambda s: op(s.metric(name)).by(*s.by)


def _mean_timer(key: str):
    """Mean of a timer over the window: increase(sum) / increase(count) (no value while nothing happened)."""
    assert _metric(key).statsd_type == TIMER, key
    name = _prom(key)
    return lambda s: P.sum(P.increase(s.metric(name + "_sum"))).by(*s.by) / P.sum(
        P.increase(s.metric(name + "_count"))
    ).by(*s.by)


def _gauge(key: str, aggregate: str = "max") -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "value", GAUGE, aggregate=aggregate)


def _delta(key: str) -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "value", DELTA)


def _timer_mean(key: str) -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "mean", GAUGE, aggregate="mean", transform=MS)


# --- scheduler -----------------------------------------------------------------------------------------------

scheduler_heartbeat = Signal(
    key="airflow.scheduler_heartbeat",
    title="Scheduler heartbeats",
    unit="ops",
    description="Scheduler loop heartbeats per second. 0 means no scheduler is running or it is stuck: check "
    "the scheduler process and its logs; no new task will be queued meanwhile.",
    prometheus=_rate("scheduler_heartbeat"),
    telegraf=_delta("scheduler_heartbeat"),
)

loop_duration = Signal(
    key="airflow.scheduler_loop_duration",
    title="Scheduler loop duration",
    unit="s",
    description="Mean time of one scheduler loop. Loops over a few seconds delay every task: look at the "
    "critical section time, database latency and the number of running DAG runs.",
    prometheus=_mean_timer("scheduler_loop_duration"),
    telegraf=_timer_mean("scheduler_loop_duration"),
)

critical_section = Signal(
    key="airflow.scheduler_critical_section_duration",
    title="Critical section",
    unit="s",
    description="Mean time the scheduler holds the pool/queue lock. When it grows, tasks queue slowly: "
    "check database load, or run fewer schedulers.",
    prometheus=_mean_timer("critical_section_duration"),
    telegraf=_timer_mean("critical_section_duration"),
)

tasks_executable = Signal(
    key="airflow.scheduler_tasks_executable",
    title="Executable",
    unit="short",
    description="Tasks ready to be queued in the last scheduler loop.",
    prometheus=_level("tasks_executable"),
    telegraf=_gauge("tasks_executable"),
)

tasks_starving = Signal(
    key="airflow.scheduler_tasks_starving",
    title="Starving",
    unit="short",
    description="Tasks that cannot be scheduled because their pool has no open slot. Persistently above 0: "
    "raise the pool's slots or spread tasks over pools.",
    prometheus=_level("tasks_starving"),
    telegraf=_gauge("tasks_starving"),
)

# --- executor ------------------------------------------------------------------------------------------------

EXECUTOR_NOTE = " Airflow also sends a per-executor copy of this gauge; the panel shows the maximum, not a sum."

executor_open_slots = Signal(
    key="airflow.executor_open_slots",
    title="Open slots",
    unit="short",
    description="Free executor slots (parallelism minus running tasks). 0 means new tasks wait for the "
    "executor: raise [core] parallelism or add workers." + EXECUTOR_NOTE,
    prometheus=_level("executor_open_slots"),
    telegraf=_gauge("executor_open_slots"),
)

executor_queued = Signal(
    key="airflow.executor_queued_tasks",
    title="Queued",
    unit="short",
    description="Tasks handed to the executor and not yet running. A growing queue means workers cannot keep up.",
    prometheus=_level("executor_queued_tasks"),
    telegraf=_gauge("executor_queued_tasks"),
)

executor_running = Signal(
    key="airflow.executor_running_tasks",
    title="Running",
    unit="short",
    description="Tasks the executor is running.",
    prometheus=_level("executor_running_tasks"),
    telegraf=_gauge("executor_running_tasks"),
)

# --- pools ---------------------------------------------------------------------------------------------------


def _pool(state: str, title: str, description: str) -> Signal:
    key = f"pool_{state}"
    return Signal(
        key=f"airflow.pool_{state}",
        title=title,
        unit="short",
        description=description,
        prometheus=_level(key),
        telegraf=_gauge(key),
        dimensions=(POOL,),
        group_by=(POOL,),
        legend="{pool} " + title.lower(),
    )


pool_open = _pool("open_slots", "Open", "Free slots per pool. 0 with starving tasks means the pool is the bottleneck.")
pool_running = _pool("running_slots", "Running", "Slots used by running tasks, per pool.")
pool_queued = _pool("queued_slots", "Queued", "Slots held by queued tasks, per pool.")
pool_scheduled = _pool("scheduled_slots", "Scheduled", "Slots held by scheduled tasks, per pool.")
pool_deferred = _pool("deferred_slots", "Deferred", "Slots held by deferred tasks, per pool (only if the pool counts deferred tasks).")
pool_starving = _pool(
    "starving_tasks", "Starving",
    "Tasks waiting for a slot of this pool. Above 0 for long: raise the pool's slots or lower the DAGs' concurrency.",
)

# --- task outcomes -------------------------------------------------------------------------------------------

ti_finish = Signal(
    key="airflow.ti_finish",
    title="Task finishes",
    unit="ops",
    description="Task instances finishing per second, by final state. A rise in failed or up_for_retry points "
    "at a broken dependency: open the DAG dashboard for the DAG.",
    prometheus=_rate("ti_finish"),
    telegraf=_delta("ti_finish"),
    dimensions=(DAG, TASK, STATE),
    group_by=(STATE,),
)

ti_finish_by_task = replace(
    ti_finish,
    key="airflow.ti_finish_by_task",
    description="Task instances finishing per second, per task and final state. Failed or up_for_retry "
    "tasks: open the task's logs in the Airflow UI for the run shown.",
    group_by=(TASK, STATE),
    legend="{task_id} {state}",
)

ti_failed_by_task = Signal(
    key="airflow.ti_failed_by_task",
    title="Failed tasks",
    unit="ops",
    description="Task instances ending failed or up_for_retry per second, per task. Retries that keep failing "
    "waste slots: fix the cause or lower retries.",
    prometheus=lambda s: P.sum(P.rate(s.metric(_prom("ti_finish"), state=("failed", "up_for_retry")))).by(*s.by),
    telegraf=TelegrafSeries(_tg("ti_finish"), "value", DELTA, where={"state": ("failed", "up_for_retry")}),
    dimensions=(DAG, TASK),
    group_by=(TASK,),
    legend="{task_id}",
)

ti_failures = Signal(
    key="airflow.ti_failures",
    title="Task failures",
    unit="ops",
    description="Task instances failing per second, all DAGs. Any sustained value needs a look at the failing "
    "tasks' logs (DAG dashboard, failed state).",
    prometheus=_rate("ti_failures"),
    telegraf=_delta("ti_failures"),
)

ti_successes = Signal(
    key="airflow.ti_successes",
    title="Task successes",
    unit="ops",
    description="Task instances succeeding per second, all DAGs.",
    prometheus=_rate("ti_successes"),
    telegraf=_delta("ti_successes"),
)

killed_externally = Signal(
    key="airflow.scheduler_tasks_killed_externally",
    title="Killed externally",
    unit="ops",
    description="Tasks killed outside Airflow (OOM killer, pod eviction). Check worker memory and node events.",
    prometheus=_rate("tasks_killed_externally"),
    telegraf=_delta("tasks_killed_externally"),
)

zombies_killed = Signal(
    key="airflow.zombies_killed",
    title="Zombies killed",
    unit="ops",
    description="Tasks without heartbeat that the scheduler failed (Airflow 3: task_instances_without_"
    "heartbeats_killed). Workers died or lost the database: check worker health.",
    prometheus=_rate("task_instances_without_heartbeats_killed"),
    telegraf=_delta("task_instances_without_heartbeats_killed"),
)

task_duration = Signal(
    key="airflow.task_duration",
    title="Task duration",
    unit="s",
    description="Mean run time of task instances that finished in the window, per task. A task slower than usual "
    "hints at upstream data growth or a slow dependency.",
    prometheus=_mean_timer("task_duration"),
    telegraf=_timer_mean("task_duration"),
    dimensions=(DAG, TASK),
    group_by=(DAG, TASK),
    legend="{dag_id}.{task_id}",
)

task_scheduled_duration = Signal(
    key="airflow.task_scheduled_duration",
    title="Scheduled → queued",
    unit="s",
    description="Mean time tasks spent scheduled before being queued, per task. High values: executor slots "
    "or pool slots are exhausted.",
    prometheus=_mean_timer("task_scheduled_duration"),
    telegraf=_timer_mean("task_scheduled_duration"),
    dimensions=(DAG, TASK),
    group_by=(DAG, TASK),
    legend="{dag_id}.{task_id}",
)

task_queued_duration = Signal(
    key="airflow.task_queued_duration",
    title="Queued → running",
    unit="s",
    description="Mean time tasks spent queued before starting, per task. High values: workers are busy or slow to start.",
    prometheus=_mean_timer("task_queued_duration"),
    telegraf=_timer_mean("task_queued_duration"),
    dimensions=(DAG, TASK),
    group_by=(DAG, TASK),
    legend="{dag_id}.{task_id}",
)


def _ti_state(state: str) -> Signal:
    key = f"ti_{state}"
    return Signal(
        key=f"airflow.ti_{state}",
        title=state.capitalize(),
        unit="short",
        description=f"Task instances currently {state}, per task.",
        prometheus=_level(key, P.sum),
        telegraf=_gauge(key, "mean"),
        dimensions=(DAG, TASK),
        group_by=(TASK,),
        legend="{task_id} " + state,
    )


ti_running = _ti_state("running")
ti_queued = _ti_state("queued")
ti_scheduled = _ti_state("scheduled")
ti_deferred = _ti_state("deferred")

# --- DAG runs ------------------------------------------------------------------------------------------------


def _dagrun_timer(key: str, title: str, description: str) -> Signal:
    return Signal(
        key=f"airflow.{key}",
        title=title,
        unit="s",
        description=description,
        prometheus=_mean_timer(key),
        telegraf=_timer_mean(key),
        dimensions=(DAG,),
        group_by=(DAG,),
    )


dagrun_duration = Signal(
    key="airflow.dagrun_duration",
    title="DAG run duration",
    unit="s",
    description="Mean duration of DAG runs that ended in the window, per DAG and final state. A run longer than "
    "the schedule interval delays the next one; short failed runs fail early (imports, connections).",
    prometheus=_mean_timer("dagrun_duration"),
    telegraf=_timer_mean("dagrun_duration"),
    dimensions=(DAG, STATE),
    group_by=(DAG, STATE),
)
dagrun_schedule_delay = _dagrun_timer(
    "dagrun_schedule_delay", "Schedule delay",
    "Delay between a run's scheduled time and its actual start, per DAG. Growing delays mean the scheduler "
    "is overloaded or max_active_runs is reached.",
)
dagrun_first_task_delay = _dagrun_timer(
    "dagrun_first_task_scheduling_delay", "First task delay",
    "Time between a run's start and the scheduling of its first task, per DAG. High values: executor or "
    "pool slots are exhausted.",
)
dagrun_dependency_check = _dagrun_timer(
    "dagrun_dependency_check", "Dependency check",
    "Time the scheduler spends checking the dependencies of a DAG's runs per loop. High values slow every DAG: "
    "simplify trigger rules or split the DAG.",
)

# --- DAG processing ------------------------------------------------------------------------------------------

import_errors = Signal(
    key="airflow.dag_processing_import_errors",
    title="Import errors",
    unit="short",
    description="DAG files that failed to import. Above 0: those DAGs are not scheduled; see Browse → "
    "Import errors in the UI or `airflow dags list-import-errors`.",
    prometheus=_level("import_errors"),
    telegraf=_gauge("import_errors", "last"),
)

total_parse_time = Signal(
    key="airflow.dag_processing_total_parse_time",
    title="Total parse time",
    unit="s",
    description="Seconds to parse all DAG files once. Near [dag_processor] min_file_process_interval or above, "
    "DAG changes show up late: move heavy imports into tasks.",
    prometheus=_level("total_parse_time"),
    telegraf=_gauge("total_parse_time"),
)

dagbag_size = Signal(
    key="airflow.dagbag_size",
    title="DAGs",
    unit="short",
    description="DAGs found by the last parsing loop. A sudden drop means files fail to import or were removed.",
    prometheus=_level("dagbag_size"),
    telegraf=_gauge("dagbag_size", "last"),
)

file_parse_duration = Signal(
    key="airflow.dag_processing_last_duration",
    title="File parse duration",
    unit="s",
    description="Time to parse each DAG file, slowest first. Files over a few seconds hold up DAG processing: "
    "move top-level work (API calls, heavy imports) into tasks.",
    prometheus=lambda s: P.topk(10, _mean_timer("dag_processing_last_duration")(s)),
    telegraf=_timer_mean("dag_processing_last_duration"),
    dimensions=(DAG_FILE,),
    group_by=(DAG_FILE,),
)

# --- triggerer -----------------------------------------------------------------------------------------------

triggers_running = Signal(
    key="airflow.triggers_running",
    title="Triggers running",
    unit="short",
    description="Triggers (deferred tasks' waits) running in the triggerer.",
    prometheus=_level("triggers_running", P.sum),
    telegraf=_gauge("triggers_running"),
)

triggerer_capacity_left = Signal(
    key="airflow.triggerer_capacity_left",
    title="Capacity left",
    unit="short",
    description="Triggers the triggerer can still take. 0: deferred tasks wait; add triggerers or raise "
    "[triggerer] capacity.",
    prometheus=_level("triggerer_capacity_left", P.sum),
    telegraf=_gauge("triggerer_capacity_left"),
)

triggerer_heartbeat = Signal(
    key="airflow.triggerer_heartbeat",
    title="Triggerer heartbeats",
    unit="ops",
    description="Triggerer heartbeats per second. 0 while tasks defer: the triggerer is down.",
    prometheus=_rate("triggerer_heartbeat"),
    telegraf=_delta("triggerer_heartbeat"),
)

dag_processor_heartbeat = Signal(
    key="airflow.dag_processor_heartbeat",
    title="DAG processor heartbeats",
    unit="ops",
    description="DAG processor heartbeats per second (Airflow 3 standalone DAG processor). 0: DAG changes and "
    "import errors are no longer picked up.",
    prometheus=_rate("dag_processor_heartbeat"),
    telegraf=_delta("dag_processor_heartbeat"),
)

