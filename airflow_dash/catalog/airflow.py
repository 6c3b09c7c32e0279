"""Airflow signals: StatsD metrics through OUR statsd_exporter mapping (Prometheus) and OUR Telegraf templates.

Names come from the naming table (`airflow_metrics`), so a signal and the collector configs cannot drift apart.
Label names are the same on both stacks (`dag_id`, `task_id`, `state`, `pool`, `executor`, `bundle`,
`dag_file`, `operator`, `queue`, `triggerer`).

Timers: Prometheus has histograms in seconds (averages from `_sum`/`_count`, p95 from buckets); Telegraf has
per-flush `mean`/`upper`/... in milliseconds (converted to seconds here). Telegraf's percentiles are computed
per 10 s flush and per series, so they cannot be combined into a percentile over a panel window or across tasks:
percentile signals are `Unsupported` on Telegraf.

Counters: Prometheus `<name>_total` (rate per second); Telegraf `delete_counters = true` writes the count per
flush (`DELTA`: summed per window, per second).

>>> from airflow_dash.catalog import airflow
>>> airflow.scheduler_heartbeat.telegraf.kind, airflow.scheduler_heartbeat.telegraf.measurement
('delta', 'airflow_scheduler_heartbeat')
>>> type(airflow.task_duration_p95.telegraf).__name__  # percentiles of per-flush percentiles: not on Telegraf
'Unsupported'
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Union

from airflow_dash.catalog import airflow_metrics as T
from airflow_dash.catalog.model import DELTA, GAUGE, Dimension, PromScope, Signal, TelegrafSeries, Unsupported
from airflow_dash.query.values import MatchValue
from airflow_dash.query import influxql as Q
from airflow_dash.query import promql as P
from airflow_dash.query.values import INTERVAL, Affine

_M = T.by_key()
MS_TO_S = Affine(0.001)


def _prom(key: str) -> str:
    return _M[key].prometheus_name


def _tg(key: str) -> str:
    return _M[key].telegraf_measurement


# --- dimensions ---------------------------------------------------------------------------------------------

DAG = Dimension("dag_id", "DAG", prometheus_label="dag_id", telegraf_tag="dag_id",
                prometheus_values_from=_prom("dagrun_dependency_check") + "_count",
                telegraf_values_from=_tg("dagrun_dependency_check"))
# Task ids from ti.start: Airflow 2.10 and 3.x send it when every try of every task starts (the captures: all
# tasks, both versions, both collector modes), so a task is listed while it runs; its duration timer, ti.finish
# and the ti.<state> gauges (3.x only) come later or not at all.
TASK = Dimension("task_id", "Task", prometheus_label="task_id", telegraf_tag="task_id",
                 prometheus_values_from=_prom("ti_start"), telegraf_values_from=_tg("ti_start"))
STATE = Dimension("state", "State", prometheus_label="state", telegraf_tag="state",
                  prometheus_values_from=_prom("ti_finish"), telegraf_values_from=_tg("ti_finish"))
POOL = Dimension("pool", "Pool", prometheus_label="pool", telegraf_tag="pool",
                 prometheus_values_from=_prom("pool_open_slots"), telegraf_values_from=_tg("pool_open_slots"))
EXECUTOR = Dimension("executor", "Executor", prometheus_label="executor", telegraf_tag="executor",
                     prometheus_values_from=_prom("executor_open_slots"), telegraf_values_from=_tg("executor_open_slots"))
BUNDLE = Dimension("bundle", "DAG bundle", prometheus_label="bundle", telegraf_tag="bundle",
                   prometheus_values_from=_prom("dag_processing_last_duration") + "_count",
                   telegraf_values_from=_tg("dag_processing_last_duration"))
FILE = Dimension("dag_file", "DAG file", prometheus_label="dag_file", telegraf_tag="dag_file",
                 prometheus_values_from=_prom("dag_processing_last_duration") + "_count",
                 telegraf_values_from=_tg("dag_processing_last_duration"))
OPERATOR = Dimension("operator", "Operator", prometheus_label="operator", telegraf_tag="operator",
                     prometheus_values_from=_prom("operator_failures"))
TRIGGERER = Dimension("triggerer", "Triggerer", prometheus_label="triggerer", telegraf_tag="triggerer",
                      prometheus_values_from=_prom("triggers_running"), telegraf_values_from=_tg("triggers_running"))

DIMENSIONS = (DAG, TASK, STATE, POOL, EXECUTOR, BUNDLE, FILE, OPERATOR, TRIGGERER)


# --- PromQL helpers -----------------------------------------------------------------------------------------

# A PromQL definition built from the scope (typed narrower than catalog.model.PromDefinition: always a builder).
PromBuilder = Callable[[PromScope], P.Expr]
# A label or tag value: one value, a variable or regex, or a tuple of alternatives (FAILED_STATES).
Where = Union[MatchValue, tuple[str, ...]]


def _rate(key: str, **labels: Where) -> PromBuilder:
    return lambda s: s.rate_sum(s.metric(_prom(key), **labels))


def _avg_seconds(key: str, **labels: Where) -> PromBuilder:
    name = _prom(key)

    def build(s: PromScope) -> P.Expr:
        return (P.sum(P.rate(s.metric(name + "_sum", **labels))).by(*s.by)
                / P.sum(P.rate(s.metric(name + "_count", **labels))).by(*s.by))
    return build


def _quantile(q: float, key: str, **labels: Where) -> PromBuilder:
    name = _prom(key)
    return lambda s: P.histogram_quantile(q, P.sum(P.rate(s.metric(name + "_bucket", **labels))).by("le", *s.by))


def _gauge(key: str, aggregate: Callable[[P.Expr], P.Aggregation] = P.sum) -> PromBuilder:
    return lambda s: aggregate(s.metric(_prom(key))).by(*s.by)


def _per_label(key: str) -> PromBuilder:
    """One series per value of the signal's group-by label, the unnamed one (Airflow's plain name) among them.

    Airflow 2.x with one executor sends only `executor.open_slots`; 3.x sends that plain name and the
    per-class one (and with several executors the plain one holds whichever reported last). Every stack shows
    both: InfluxDB cannot show one series only when another is absent (PromQL's `or`), and one quantity must
    look the same on every backend."""
    name = _prom(key)

    def build(s: PromScope) -> P.Expr:
        return P.sum(s.metric(name)).by(*s.by)
    return build


# Where Prometheus shows less than InfluxDB on the same StatsD traffic (tests/test_equivalence.py measures it).
FIRST_SCRAPE = (
    "Prometheus cannot count what statsd_exporter had already counted at its first scrape of a new series "
    "(rate() and increase() need two samples): a series' first event(s) are missing there, so counts are lower "
    "by those and averages are over the later observations; InfluxDB (Telegraf's flushes) counts them all.")


_TIMER_P95_TELEGRAF = Unsupported(
    "Telegraf computes percentiles per 10 s flush and per series; they cannot be combined into a percentile "
    "over the panel window or across series (use the average, or Prometheus' histogram)")


def _delta(key: str, **where: Where) -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "value", kind=DELTA, where=where)


def _timer_mean(key: str, **where: Where) -> TelegrafSeries:
    """Count-weighted like Prometheus' `_sum / _count`: the sum of the flushes' `sum` over the sum of their `count`
    (a mean of per-flush means would weigh a flush with one task like one with a hundred)."""
    return TelegrafSeries(_tg(key), "sum", kind=GAUGE, aggregate="sum", divide_by="count", where=where,
                          transform=MS_TO_S)


def _count_signal(key: str, signal_key: str, title: str, description: str, **where: Where) -> Signal:
    """Events per panel interval (a count, not a per-second rate), 0 in idle intervals: a stat that SUMS the
    values shows the count over the dashboard's time range on every backend.

    Prometheus: `increase` over exactly `$__interval`, so windows tile the range (a wider window counts one event
    in several points); give the panel a min interval of 4 scrapes (`interval: 1m`). InfluxDB: the per-flush
    counts summed per window, empty windows created and filled with 0."""
    name, measurement = _prom(key), _tg(key)
    return Signal(
        key=signal_key, title=title, unit="short", description=description,
        prometheus=lambda s: P.sum(P.increase(s.metric(name, **where), INTERVAL)).by(*s.by),
        # mypy matches **where against source()'s `exclude` keyword too; no where here holds that key.
        flux=lambda s: s.group(s.source(measurement, "value", **where).to_float())  # type: ignore[arg-type]
        .aggregate_window("sum", create_empty=True).fill_value(0.0),
        influxql=lambda s: s.select(Q.sum("value"), measurement=measurement).where(**where).fill_with("0"),
        caveat=FIRST_SCRAPE + " Prometheus also extrapolates increase() to the window edges: counts may differ "
        "by fractions.",
    )


def _level(key: str, aggregate: str = "mean") -> TelegrafSeries:
    return TelegrafSeries(_tg(key), "value", kind=GAUGE, aggregate=aggregate)


# --- scheduler ----------------------------------------------------------------------------------------------

scheduler_heartbeat = Signal(
    key="airflow.scheduler_heartbeat", title="Scheduler heartbeats", unit="ops",
    description="Scheduler heartbeats per second (about one per scheduler loop). Zero means the scheduler is "
    "down or stuck: check its logs and the metadata database; a falling rate with a rising loop duration means "
    "an overloaded scheduler.",
    caveat=FIRST_SCRAPE, prometheus=_rate("scheduler_heartbeat"), telegraf=_delta("scheduler_heartbeat"))

scheduler_loop_duration = Signal(
    key="airflow.scheduler_loop_duration", title="Scheduler loop duration", unit="s",
    description="Average time of one scheduler loop. Seconds-long loops delay every task start: look at the "
    "critical section, DAG count, database latency and the scheduler's CPU.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("scheduler_loop_duration"),
    telegraf=_timer_mean("scheduler_loop_duration"))

scheduler_loop_duration_p95 = Signal(
    key="airflow.scheduler_loop_duration_p95", title="Scheduler loop duration p95", unit="s",
    description="95th percentile of the scheduler loop time (Prometheus histogram).",
    prometheus=_quantile(0.95, "scheduler_loop_duration"), telegraf=_TIMER_P95_TELEGRAF)

critical_section_duration = Signal(
    key="airflow.critical_section_duration", title="Critical section duration", unit="s",
    description="Average time the scheduler holds the pool-slot lock. High values serialise HA schedulers: "
    "reduce max_tis_per_query or the number of queued tasks.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("critical_section_duration"),
    telegraf=_timer_mean("critical_section_duration"))

tasks_starving = Signal(
    key="airflow.tasks_starving", title="Starving tasks", unit="short",
    description="Tasks that cannot be scheduled for lack of pool slots. Persistently above 0: enlarge the pool "
    "or lower the load on it.",
    prometheus=_gauge("tasks_starving", P.max), telegraf=_level("tasks_starving", "max"))

tasks_executable = Signal(
    key="airflow.tasks_executable", title="Executable tasks", unit="short",
    description="Tasks ready to be queued in the last loop.",
    prometheus=_gauge("tasks_executable", P.max), telegraf=_level("tasks_executable", "max"))

# --- executor -----------------------------------------------------------------------------------------------

def _executor_signal(key: str, title: str, description: str) -> Signal:
    return Signal(
        key=f"airflow.{key}", title=title, unit="short",
        description=description + " Per executor class where Airflow names it (3.x, or several executors); "
        "the unnamed series (Airflow's plain name) is shown next to the named ones. In our Airflow "
        "3.3.2 capture (LocalExecutor) these gauges kept their idle values while tasks ran: on Airflow 3 read "
        "pool running/queued slots for the real load.",
        prometheus=_per_label(key), telegraf=_level(key),
        dimensions=(EXECUTOR,), group_by=(EXECUTOR,))


executor_open_slots = _executor_signal(
    "executor_open_slots", "Executor open slots",
    "Free executor slots. At 0 tasks wait in the queued state: raise parallelism or add workers.")
executor_queued_tasks = _executor_signal(
    "executor_queued_tasks", "Executor queued tasks",
    "Tasks handed to the executor but not running yet. Growing: workers are saturated or down.")
executor_running_tasks = _executor_signal(
    "executor_running_tasks", "Executor running tasks", "Tasks running in the executor.")

# --- pools --------------------------------------------------------------------------------------------------

def _pool_signal(slot: str, title: str, description: str) -> Signal:
    key = f"pool_{slot}"
    return Signal(
        key=f"airflow.{key}", title=title, unit="short", description=description,
        # Every scheduler reports the same pool state: average the reporters (a sum doubles with two schedulers
        # behind separate exporters; Telegraf's mean across hosts is the same quantity).
        prometheus=_gauge(key, P.avg), telegraf=_level(key), dimensions=(POOL,), group_by=(POOL,))


pool_open_slots = _pool_signal("open_slots", "Pool open slots", "Free slots per pool; at 0 tasks in the pool starve.")
pool_queued_slots = _pool_signal("queued_slots", "Pool queued slots", "Slots taken by queued tasks per pool.")
pool_running_slots = _pool_signal("running_slots", "Pool running slots", "Slots taken by running tasks per pool.")
pool_deferred_slots = _pool_signal("deferred_slots", "Pool deferred slots", "Slots taken by deferred tasks per pool.")
pool_scheduled_slots = _pool_signal("scheduled_slots", "Pool scheduled slots", "Slots taken by scheduled tasks per pool.")
pool_starving_tasks = _pool_signal(
    "starving_tasks", "Pool starving tasks",
    "Tasks waiting for a slot in this pool. Persistently above 0: enlarge the pool or spread the DAGs' load.")

# --- task instances -----------------------------------------------------------------------------------------

ti_finish_rate = Signal(
    key="airflow.ti_finish_rate", title="Task finishes by state", unit="ops",
    description="Task instances finishing per second, by final state (success, failed, up_for_retry, skipped...). "
    "A rise of failed/up_for_retry points at a broken dependency or upstream system. Airflow 3.0 until PR #62019 "
    "does not send ti.finish: the panel is then empty.",
    caveat=FIRST_SCRAPE, prometheus=_rate("ti_finish"), telegraf=_delta("ti_finish"),
    dimensions=(DAG, TASK, STATE), group_by=(STATE,))

ti_failures_rate = Signal(
    key="airflow.ti_failures_rate", title="Task failures", unit="ops",
    description="Failed task instances per second (all DAGs). Airflow 3.0-3.1 does not send ti_failures "
    "(issue #52254); use the finishes by state there.",
    caveat=FIRST_SCRAPE, prometheus=_rate("ti_failures"), telegraf=_delta("ti_failures"))

ti_failures_count = _count_signal(
    "ti_failures", "airflow.ti_failures_count", "Task failures",
    "Failed task instances per panel interval (all DAGs); summed by a stat, the failures over the dashboard's "
    "time range. It stays red as long as a failure is inside the range, instead of turning green a minute after "
    "a burst like a per-second rate would.")

ti_successes_rate = Signal(
    key="airflow.ti_successes_rate", title="Task successes", unit="ops",
    description="Successful task instances per second (all DAGs).",
    caveat=FIRST_SCRAPE, prometheus=_rate("ti_successes"), telegraf=_delta("ti_successes"))

task_duration_avg = Signal(
    key="airflow.task_duration_avg", title="Task duration (avg)", unit="s",
    description="Average run time of the task instances that finished in the window, per task. A task that "
    "suddenly takes longer usually waits on an external system or processes more data.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("task_duration"), telegraf=_timer_mean("task_duration"),
    dimensions=(DAG, TASK), group_by=(TASK,))

task_duration_p95 = Signal(
    key="airflow.task_duration_p95", title="Task duration (p95)", unit="s",
    description="95th percentile of task run time per task (Prometheus histogram buckets up to 24 h).",
    prometheus=_quantile(0.95, "task_duration"), telegraf=_TIMER_P95_TELEGRAF,
    dimensions=(DAG, TASK), group_by=(TASK,))

zombies_killed = Signal(
    key="airflow.zombies_killed", title="Zombie tasks killed", unit="ops",
    description="Task instances killed because they stopped heartbeating (2.x zombies_killed, 3.x "
    "task_instances_without_heartbeats_killed, one name on both stacks). Non-zero: workers die (OOM, eviction) "
    "or cannot reach the API server/database.",
    caveat=FIRST_SCRAPE, prometheus=_rate("task_instances_without_heartbeats_killed"),
    telegraf=_delta("task_instances_without_heartbeats_killed"))

tasks_killed_externally = Signal(
    key="airflow.tasks_killed_externally", title="Tasks killed externally", unit="ops",
    description="Tasks killed outside Airflow (OOM killer, pod eviction, manual kill). Check the worker's "
    "memory limits and the container runtime's events.",
    caveat=FIRST_SCRAPE, prometheus=_rate("tasks_killed_externally"), telegraf=_delta("tasks_killed_externally"))

operator_failures_rate = Signal(
    key="airflow.operator_failures_rate", title="Failures by operator", unit="ops",
    description="Task failures per second by operator class. Telegraf cannot split the operator out of "
    "Airflow's `operator_failures_<Operator>` name; it shows the total Airflow 3 sends as `operator_failures`.",
    caveat=FIRST_SCRAPE, prometheus=_rate("operator_failures"), telegraf=_delta("operator_failures_total"),
    dimensions=(OPERATOR,), group_by=(OPERATOR,))

# --- DAG runs -----------------------------------------------------------------------------------------------

dagrun_duration_success = Signal(
    key="airflow.dagrun_duration_success", title="DAG run duration (success)", unit="s",
    description="Average duration of successful DAG runs per DAG. Compare with the schedule interval: a run "
    "longer than the interval makes runs queue up.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("dagrun_duration", state="success"),
    telegraf=_timer_mean("dagrun_duration", state="success"), dimensions=(DAG,), group_by=(DAG,))

dagrun_duration_failed = Signal(
    key="airflow.dagrun_duration_failed", title="DAG run duration (failed)", unit="s",
    description="Average duration of failed DAG runs per DAG; any series here is a failed run to look at.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("dagrun_duration", state="failed"),
    telegraf=_timer_mean("dagrun_duration", state="failed"), dimensions=(DAG,), group_by=(DAG,))

dagrun_schedule_delay = Signal(
    key="airflow.dagrun_schedule_delay", title="DAG run schedule delay", unit="s",
    description="How late DAG runs start after their scheduled time. Growing delays: the scheduler is "
    "overloaded or max_active_runs / pools hold runs back.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("dagrun_schedule_delay"),
    telegraf=_timer_mean("dagrun_schedule_delay"),
    dimensions=(DAG,), group_by=(DAG,))

dagrun_first_task_scheduling_delay = Signal(
    key="airflow.dagrun_first_task_scheduling_delay", title="First task scheduling delay", unit="s",
    description="Time from DAG run start to its first task being scheduled.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("dagrun_first_task_scheduling_delay"),
    telegraf=_timer_mean("dagrun_first_task_scheduling_delay"), dimensions=(DAG,), group_by=(DAG,))

# --- DAG processing -----------------------------------------------------------------------------------------

_dag_parse_seconds = _avg_seconds("dag_processing_last_duration")
dag_processing_last_duration = Signal(
    key="airflow.dag_processing_last_duration", title="DAG file parse time", unit="s",
    description="Time to parse each DAG file (average over the window). Files taking seconds slow every "
    "parse cycle: move heavy imports and top-level code into tasks.",
    caveat=FIRST_SCRAPE, prometheus=_dag_parse_seconds, telegraf=_timer_mean("dag_processing_last_duration"),
    dimensions=(BUNDLE, FILE), group_by=(BUNDLE, FILE), legend="{bundle} {dag_file}")

import_errors = Signal(
    key="airflow.import_errors", title="DAG import errors", unit="short",
    description="DAG files that failed to import. Anything above 0 means DAGs are missing: see Browse > "
    "Import errors or `airflow dags list-import-errors`.",
    prometheus=_gauge("import_errors", P.max), telegraf=_level("import_errors", "max"))

total_parse_time = Signal(
    key="airflow.total_parse_time", title="Total DAG parse time", unit="s",
    description="Seconds to parse all DAG files once. Above min_file_process_interval, DAG changes show up late.",
    prometheus=_gauge("total_parse_time", P.max), telegraf=_level("total_parse_time", "max"))

dagbag_size = Signal(
    key="airflow.dagbag_size", title="DAG bag size", unit="short",
    description="DAGs found by the last parse. A sudden drop usually goes with import errors.",
    prometheus=_gauge("dagbag_size", P.max), telegraf=_level("dagbag_size", "max"))

file_path_queue_size = Signal(
    key="airflow.file_path_queue_size", title="DAG files waiting to be parsed", unit="short",
    description="Files queued for parsing. Growing: add parsing processes (parsing_processes).",
    prometheus=_gauge("file_path_queue_size", P.max), telegraf=_level("file_path_queue_size", "max"))

# --- triggerer ----------------------------------------------------------------------------------------------

triggers_running = Signal(
    key="airflow.triggers_running", title="Triggers running", unit="short",
    description="Triggers (deferred tasks' waits) running per triggerer. Close to the triggerer capacity: add "
    "triggerers. The unnamed series (Airflow's plain name) is shown next to the per-host ones.",
    prometheus=_per_label("triggers_running"), telegraf=_level("triggers_running"),
    dimensions=(TRIGGERER,), group_by=(TRIGGERER,))

SIGNALS: tuple[Signal, ...] = tuple(v for v in globals().values() if isinstance(v, Signal))


FAILED_STATES = ("failed", "up_for_retry")

# --- heartbeats of the other components ------------------------------------------------------------------------

dag_processor_heartbeat = Signal(
    key="airflow.dag_processor_heartbeat", title="DAG processor heartbeats", unit="ops",
    description="DAG processor heartbeats per second (Airflow 3's standalone DAG processor). Zero: DAG file "
    "changes and import errors are no longer picked up; restart the dag-processor and read its logs.",
    caveat=FIRST_SCRAPE, prometheus=_rate("dag_processor_heartbeat"), telegraf=_delta("dag_processor_heartbeat"))

triggerer_heartbeat = Signal(
    key="airflow.triggerer_heartbeat", title="Triggerer heartbeats", unit="ops",
    description="Triggerer heartbeats per second. Zero while tasks defer: the triggerer is down and deferred "
    "tasks never resume.",
    caveat=FIRST_SCRAPE, prometheus=_rate("triggerer_heartbeat"), telegraf=_delta("triggerer_heartbeat"))

triggerer_capacity_left = Signal(
    key="airflow.triggerer_capacity_left", title="Triggerer capacity left", unit="short",
    description="Triggers each triggerer can still take. At 0 deferred tasks wait: add triggerers or raise "
    "[triggerer] capacity.",
    prometheus=lambda s: P.sum(s.metric(_prom("triggerer_capacity_left"))).by(*s.by),
    telegraf=TelegrafSeries(_tg("triggerer_capacity_left"), "value", kind=GAUGE, aggregate="mean"),
    dimensions=(TRIGGERER,), group_by=(TRIGGERER,))

# --- per task ----------------------------------------------------------------------------------------------------

ti_finish_by_task = replace(
    ti_finish_rate,
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
    caveat=FIRST_SCRAPE, prometheus=_rate("ti_finish", state=FAILED_STATES),
    telegraf=_delta("ti_finish", state=FAILED_STATES),
    dimensions=(DAG, TASK), group_by=(DAG, TASK), legend="{dag_id}.{task_id}")

task_scheduled_duration = Signal(
    key="airflow.task_scheduled_duration", title="Scheduled → queued", unit="s",
    description="Average time task instances spent scheduled before being queued, per task. High: pool or "
    "concurrency limits (max_active_tasks, pool slots) hold them back.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("task_scheduled_duration"),
    telegraf=_timer_mean("task_scheduled_duration"),
    dimensions=(DAG, TASK), group_by=(DAG, TASK), legend="{dag_id}.{task_id}")

task_queued_duration = Signal(
    key="airflow.task_queued_duration", title="Queued → running", unit="s",
    description="Average time task instances spent queued before starting, per task. High: workers are full or "
    "slow to start (image pulls, pod scheduling).",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("task_queued_duration"), telegraf=_timer_mean("task_queued_duration"),
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
    task_duration_avg,
    key="airflow.task_duration_by_task",
    group_by=(DAG, TASK),
    legend="{dag_id}.{task_id}",
)

# --- DAG runs and DAG files --------------------------------------------------------------------------------------

dagrun_dependency_check = Signal(
    key="airflow.dagrun_dependency_check", title="Dependency check", unit="s",
    description="Average time the scheduler spends per loop checking a DAG's task dependencies. High values slow "
    "all DAGs: simplify trigger rules or split very wide DAGs.",
    caveat=FIRST_SCRAPE, prometheus=_avg_seconds("dagrun_dependency_check"),
    telegraf=_timer_mean("dagrun_dependency_check"),
    dimensions=(DAG,), group_by=(DAG,))

slowest_dag_files = replace(
    dag_processing_last_duration,
    key="airflow.slowest_dag_files",
    title="Slowest DAG files",
    description="Parse time per DAG file, the 10 slowest on Prometheus (every file on InfluxDB). Files taking "
    "seconds delay every DAG change: move API calls and heavy imports from top-level code into tasks.",
    prometheus=lambda s: P.topk(10, _dag_parse_seconds(s)),
    group_by=(FILE,),
    legend="{dag_file}",
)
