"""The Airflow StatsD naming table: every metric family we support, and what it is called on each stack.

One `AirflowMetric` per family. Its `patterns` are StatsD bucket names *after* Airflow's `statsd_prefix`
(default `airflow`), one dot-separated component per part:

- `<name>` is a placeholder: the component becomes the label/tag `name` (`ti.finish.<dag_id>.<task_id>.<state>`);
- `<name=value>` is a literal component that is also kept as a label/tag (`dagrun.duration.<state=success>.<dag_id>`
  gives `state="success"`);
- anything else is a literal component.

`constants` add labels a pattern does not carry, so that every pattern of a metric has the same label names
(statsd_exporter refuses a second label set for a metric name). An empty constant means "no such label":
Prometheus drops empty labels on ingestion and Telegraf simply gets no tag, so both stacks agree.

Names after OUR collector configs (see `airflow_dash.collectors`):

- Prometheus (statsd_exporter): counters `<base>_total`, gauges `<base>`, timers `<base>_seconds` (statsd_exporter
  converts `ms` timers to seconds) observed as histograms with the family's `buckets`. Counters carry `_total` in
  the mapping itself: statsd_exporter adds no suffix, and client_golang adds none to a name that already ends in
  `_total` when it serves OpenMetrics, so the stored name is `<base>_total` whatever format Prometheus negotiates.
- Telegraf (`inputs.statsd`, `metric_separator = "_"`): measurement `<base>` (renamed by `processors.rename` where
  the template language cannot produce it, e.g. `airflow_dag_duration` -> `airflow_task_duration`); counters and
  gauges have field `value`, timers `mean`/`upper`/`lower`/`count`/`sum`/`stddev`/`median`/`<P>_percentile` in
  milliseconds; every point also carries `metric_type` and the agent's `host` tag.

Deliberate drops (`DROPPED`) are names Airflow sends that we map to nothing on a stack, with the reason; the
catch-all at the end of both configs drops every other `<prefix>.` name (allow-list), so that an unknown name
embedding a DAG id never becomes one metric per DAG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

COUNTER = "counter"
GAUGE = "gauge"
TIMER = "timer"
STATSD_TYPE_CODES = {COUNTER: ("c",), GAUGE: ("g",), TIMER: ("ms", "h", "d")}

# Histogram buckets (seconds) per kind of duration.
FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PARSE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
LONG_BUCKETS = (0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)

_PART = re.compile(r"^<([a-z_]+)(?:=([A-Za-z0-9_-]+))?>$")
_EMBEDDED = re.compile(r"^([A-Za-z0-9_]+)<([a-z_]+)>$")


@dataclass(frozen=True)
class Part:
    """One component of a pattern: a literal, a placeholder (`label`), or a literal kept as a label.

    `prefix` is set for a placeholder embedded in a component (`operator_failures_<operator>`): glob matching
    and Telegraf templates cannot split such a component, only a statsd_exporter regex can.
    """

    literal: str | None  # None for a placeholder
    label: str | None  # label/tag the component is stored in, None for a plain literal
    prefix: str = ""


def parse_pattern(pattern: str) -> tuple[Part, ...]:
    parts = []
    for raw in pattern.split("."):
        match = _PART.match(raw)
        embedded = _EMBEDDED.match(raw)
        if match:
            parts.append(Part(match.group(2), match.group(1)))
        elif embedded:
            parts.append(Part(None, embedded.group(2), embedded.group(1)))
        else:
            if not re.fullmatch(r"[A-Za-z0-9_](-?[A-Za-z0-9_])*", raw):
                raise ValueError(f"bad pattern component {raw!r} in {pattern!r}")
            parts.append(Part(raw, None))
    return tuple(parts)


@dataclass(frozen=True)
class Pattern:
    template: str
    constants: Mapping[str, str] = field(default_factory=dict)

    @property
    def parts(self) -> tuple[Part, ...]:
        return parse_pattern(self.template)

    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.parts if p.label) + tuple(self.constants)


@dataclass(frozen=True)
class AirflowMetric:
    key: str
    statsd_type: str  # counter | gauge | timer
    patterns: tuple[Pattern, ...]
    versions: str  # "2.x", "3.x" or "2.x 3.x"
    description: str
    base: str = ""  # default: "airflow_" + first pattern's literals joined by "_"
    buckets: tuple[float, ...] = FAST_BUCKETS  # timers only
    prometheus: bool = True  # mapped on the Prometheus stack
    telegraf: bool = True  # mapped on the Telegraf stack
    regex: str | None = None  # statsd_exporter regex match (components glob cannot express), Prometheus only

    def __post_init__(self) -> None:
        if not self.base:
            literals = [p.literal for p in self.patterns[0].parts if p.literal is not None and p.label is None]
            object.__setattr__(self, "base", "airflow_" + "_".join(literals).replace("-", "_"))
        label_sets = {tuple(sorted(p.labels())) for p in self.patterns}
        if len(label_sets) > 1:
            raise ValueError(f"{self.key}: patterns disagree on label names {label_sets}")

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted(self.patterns[0].labels()))

    @property
    def prometheus_name(self) -> str:
        return {COUNTER: f"{self.base}_total", GAUGE: self.base, TIMER: f"{self.base}_seconds"}[self.statsd_type]

    @property
    def telegraf_measurement(self) -> str:
        return self.base

    @property
    def telegraf_fields(self) -> tuple[str, ...]:
        if self.statsd_type == TIMER:
            return TIMER_FIELDS
        return ("value",)


TELEGRAF_PERCENTILES = (50, 90, 95, 99)
TIMER_FIELDS = ("mean", "upper", "lower", "count", "sum", "stddev", "median") + tuple(
    f"{p}_percentile" for p in TELEGRAF_PERCENTILES
)


@dataclass(frozen=True)
class Dropped:
    """A name Airflow sends that we deliberately map to nothing (on `stacks`), and why."""

    pattern: str
    statsd_type: str
    reason: str
    stacks: tuple[str, ...] = ("prometheus", "telegraf")


def _simple(key: str, statsd_type: str, name: str, versions: str, description: str, **kw) -> AirflowMetric:
    return AirflowMetric(key, statsd_type, (Pattern(name),), versions, description, **kw)


P = Pattern
NO_BUNDLE = {"bundle": ""}

METRICS: tuple[AirflowMetric, ...] = (
    # --- scheduler ------------------------------------------------------------------------------------------
    _simple("scheduler_heartbeat", COUNTER, "scheduler_heartbeat", "2.x 3.x",
            "One per scheduler loop heartbeat; the rate drops to 0 when the scheduler hangs or dies."),
    _simple("dag_processor_heartbeat", COUNTER, "dag_processor_heartbeat", "3.x", "Standalone DAG processor heartbeat."),
    _simple("triggerer_heartbeat", COUNTER, "triggerer_heartbeat", "2.x 3.x", "Triggerer heartbeat."),
    _simple("scheduler_loop_duration", TIMER, "scheduler.scheduler_loop_duration", "2.x 3.x",
            "Time of one scheduler loop."),
    _simple("critical_section_duration", TIMER, "scheduler.critical_section_duration", "2.x 3.x",
            "Time spent in the scheduler's critical section (pool slot accounting, under a DB lock)."),
    _simple("critical_section_query_duration", TIMER, "scheduler.critical_section_query_duration", "2.x 3.x",
            "Query time inside the critical section."),
    _simple("critical_section_busy", COUNTER, "scheduler.critical_section_busy", "2.x 3.x",
            "Loops that could not take the critical-section lock (another scheduler held it)."),
    _simple("executor_heartbeat_duration", TIMER, "scheduler.executor_heartbeat_duration", "3.x",
            "Time of the executor heartbeat inside the scheduler loop."),
    _simple("tasks_starving", GAUGE, "scheduler.tasks.starving", "2.x 3.x", "Tasks that cannot run for lack of pool slots."),
    _simple("tasks_executable", GAUGE, "scheduler.tasks.executable", "2.x 3.x", "Tasks ready to be queued."),
    _simple("tasks_killed_externally", COUNTER, "scheduler.tasks.killed_externally", "2.x 3.x",
            "Tasks killed outside Airflow (OOM killer, pod eviction)."),
    _simple("orphaned_tasks_cleared", COUNTER, "scheduler.orphaned_tasks.cleared", "2.x 3.x", "Orphaned tasks cleared."),
    _simple("orphaned_tasks_adopted", COUNTER, "scheduler.orphaned_tasks.adopted", "2.x 3.x", "Orphaned tasks adopted."),
    _simple("dagruns_running", GAUGE, "scheduler.dagruns.running", "3.x", "DAG runs in the running state."),
    _simple("dag_bag_cache_hit", COUNTER, "scheduler.dag_bag.cache_hit", "3.x", "Scheduler DAG bag cache hits."),
    _simple("dag_bag_cache_miss", COUNTER, "scheduler.dag_bag.cache_miss", "3.x", "Scheduler DAG bag cache misses."),
    _simple("job_start", COUNTER, "job_start", "3.x", "Jobs started (3.x emits the literal name job_start)."),
    _simple("job_end", COUNTER, "job_end", "3.x", "Jobs ended."),
    _simple("serde_load_serializers", TIMER, "serde.load_serializers", "3.x", "Serializer loading time."),
    _simple("collect_db_dags", TIMER, "collect_db_dags", "2.x 3.x", "Time to fetch serialized DAGs from the database."),
    # --- executor: 2.x single executor sends the plain name only, 3.x both; the per-class name is authoritative.
    AirflowMetric("executor_open_slots", GAUGE,
                  (P("executor.open_slots.<executor>"), P("executor.open_slots", {"executor": ""})), "2.x 3.x",
                  "Free executor slots (parallelism minus running)."),
    AirflowMetric("executor_queued_tasks", GAUGE,
                  (P("executor.queued_tasks.<executor>"), P("executor.queued_tasks", {"executor": ""})), "2.x 3.x",
                  "Tasks queued in the executor."),
    AirflowMetric("executor_running_tasks", GAUGE,
                  (P("executor.running_tasks.<executor>"), P("executor.running_tasks", {"executor": ""})), "2.x 3.x",
                  "Tasks running in the executor."),
    # --- pools (per pool; the plain 3.x names are dropped, see DROPPED) ---------------------------------------
    *(AirflowMetric(f"pool_{slot}", GAUGE, (P(f"pool.{slot}.<pool>"),), "2.x 3.x", f"Pool {slot.replace('_', ' ')} per pool.")
      for slot in ("open_slots", "queued_slots", "running_slots", "deferred_slots", "scheduled_slots", "starving_tasks")),
    # --- task instances -------------------------------------------------------------------------------------
    AirflowMetric("ti_start", COUNTER, (P("ti.start.<dag_id>.<task_id>"),), "2.x 3.x",
                  "Task instances started (3.x: missing until apache/airflow PR #62019)."),
    AirflowMetric("ti_finish", COUNTER, (P("ti.finish.<dag_id>.<task_id>.<state>"),), "2.x 3.x",
                  "Task instances finished, per final state (3.x: missing until apache/airflow PR #62019)."),
    _simple("ti_failures", COUNTER, "ti_failures", "2.x 3.x", "Failed task instances (3.0-3.1: not emitted, issue #52254)."),
    _simple("ti_successes", COUNTER, "ti_successes", "2.x 3.x", "Successful task instances."),
    _simple("previously_succeeded", COUNTER, "previously_succeeded", "2.x 3.x", "Task instances that had already succeeded."),
    _simple("zombies_killed", COUNTER, "zombies_killed", "2.x", "Zombie tasks killed (renamed in 3.x).",
            base="airflow_task_instances_without_heartbeats_killed"),
    _simple("task_instances_without_heartbeats_killed", COUNTER, "task_instances_without_heartbeats_killed", "3.x",
            "Task instances without heartbeats (zombies) killed."),
    *(AirflowMetric(f"ti_{state}", GAUGE, (P(f"ti.{state}.<queue>.<dag_id>.<task_id>"),), "3.x",
                    f"Task instances in the {state} state per queue, DAG and task.")
      for state in ("running", "queued", "scheduled", "deferred")),
    AirflowMetric("task_duration", TIMER, (P("dag.<dag_id>.<task_id>.duration"),), "2.x 3.x",
                  "Task instance run time.", base="airflow_task_duration", buckets=LONG_BUCKETS),
    AirflowMetric("task_scheduled_duration", TIMER, (P("dag.<dag_id>.<task_id>.scheduled_duration"),), "2.x 3.x",
                  "Time from scheduled to queued.", base="airflow_task_scheduled_duration", buckets=LONG_BUCKETS),
    AirflowMetric("task_queued_duration", TIMER, (P("dag.<dag_id>.<task_id>.queued_duration"),), "2.x 3.x",
                  "Time from queued to running.", base="airflow_task_queued_duration", buckets=LONG_BUCKETS),
    AirflowMetric("operator_failures", COUNTER, (P("operator_failures_<operator>"),), "2.x 3.x",
                  "Task failures per operator class.", base="airflow_operator_failures",
                  regex=r"operator_failures_(\w+)", telegraf=False),
    AirflowMetric("operator_successes", COUNTER, (P("operator_successes_<operator>"),), "2.x 3.x",
                  "Task successes per operator class.", base="airflow_operator_successes",
                  regex=r"operator_successes_(\w+)", telegraf=False),
    # Telegraf cannot split `operator_failures_<Op>` (one component); it keeps the 3.x plain total instead.
    _simple("operator_failures_total", COUNTER, "operator_failures", "3.x", "Task failures, all operators.",
            base="airflow_operator_failures", prometheus=False),
    _simple("operator_successes_total", COUNTER, "operator_successes", "3.x", "Task successes, all operators.",
            base="airflow_operator_successes", prometheus=False),
    # --- DAG runs -------------------------------------------------------------------------------------------
    AirflowMetric("dagrun_duration", TIMER,
                  (P("dagrun.duration.<state=success>.<dag_id>"), P("dagrun.duration.<state=failed>.<dag_id>")),
                  "2.x 3.x", "DAG run duration per final state.", base="airflow_dagrun_duration", buckets=LONG_BUCKETS),
    AirflowMetric("dagrun_schedule_delay", TIMER, (P("dagrun.schedule_delay.<dag_id>"),), "2.x 3.x",
                  "Delay between the scheduled time and the actual start of a DAG run.", buckets=LONG_BUCKETS),
    AirflowMetric("dagrun_first_task_scheduling_delay", TIMER, (P("dagrun.<dag_id>.first_task_scheduling_delay"),),
                  "2.x 3.x", "Delay between DAG run start and its first task being scheduled.",
                  base="airflow_dagrun_first_task_scheduling_delay", buckets=LONG_BUCKETS),
    AirflowMetric("dagrun_dependency_check", TIMER, (P("dagrun.dependency-check.<dag_id>"),), "2.x 3.x",
                  "Time to check a DAG run's task dependencies."),
    # --- DAG processing -------------------------------------------------------------------------------------
    AirflowMetric("dag_processing_last_duration", TIMER,
                  (P("dag_processing.last_duration.<bundle>.<dag_file>"),
                   P("dag_processing.last_duration.<dag_file>", NO_BUNDLE)),
                  "2.x 3.x", "Time to parse one DAG file (2.x: <file>, 3.x: <bundle>.<file>).", buckets=PARSE_BUCKETS),
    AirflowMetric("dag_processing_last_run_seconds_ago", GAUGE,
                  (P("dag_processing.last_run.seconds_ago.<bundle>.<dag_file>"),
                   P("dag_processing.last_run.seconds_ago.<dag_file>", NO_BUNDLE)),
                  "2.x 3.x", "Seconds since a DAG file was last parsed."),
    _simple("import_errors", GAUGE, "dag_processing.import_errors", "2.x 3.x", "DAG files that failed to import."),
    _simple("total_parse_time", GAUGE, "dag_processing.total_parse_time", "2.x 3.x",
            "Seconds to parse all DAG files once (a gauge, not a timer)."),
    _simple("file_path_queue_size", GAUGE, "dag_processing.file_path_queue_size", "2.x 3.x", "DAG files waiting to be parsed."),
    _simple("file_path_queue_update_count", COUNTER, "dag_processing.file_path_queue_update_count", "2.x 3.x",
            "Times the file queue was refreshed."),
    _simple("dag_processing_processes", COUNTER, "dag_processing.processes", "2.x 3.x",
            "Parsing processes started (+) and finished (-): a relative counter; statsd_exporter refuses negative "
            "increments, so on Prometheus it counts starts only."),
    _simple("processor_timeouts", COUNTER, "dag_processing.processor_timeouts", "2.x 3.x", "Parsing processes killed on timeout."),
    _simple("manager_stalls", COUNTER, "dag_processing.manager_stalls", "2.x 3.x", "DAG file processor manager stalls."),
    _simple("other_callback_count", COUNTER, "dag_processing.other_callback_count", "2.x 3.x", "Non-SLA callbacks received."),
    _simple("dag_file_refresh_error", COUNTER, "dag_file_refresh_error", "2.x 3.x", "Errors listing DAG files."),
    _simple("dagbag_size", GAUGE, "dagbag_size", "2.x 3.x", "DAGs found in the last parse of the DAG folder(s)."),
    # --- triggerer ------------------------------------------------------------------------------------------
    AirflowMetric("triggers_running", GAUGE,
                  (P("triggers.running.<triggerer>"), P("triggers.running", {"triggerer": ""})), "2.x 3.x",
                  "Triggers running per triggerer host."),
    AirflowMetric("triggerer_capacity_left", GAUGE,
                  (P("triggerer.capacity_left.<triggerer>"), P("triggerer.capacity_left", {"triggerer": ""})),
                  "2.x 3.x", "Free trigger capacity per triggerer host."),
    _simple("triggers_blocked_main_thread", COUNTER, "triggers.blocked_main_thread", "2.x 3.x",
            "Triggers that blocked the triggerer's event loop."),
    _simple("triggers_failed", COUNTER, "triggers.failed", "2.x 3.x", "Triggers that failed."),
    _simple("triggers_succeeded", COUNTER, "triggers.succeeded", "2.x 3.x", "Triggers that fired."),
    # --- misc -----------------------------------------------------------------------------------------------
    _simple("connection_test_active", GAUGE, "connection_test.active", "3.x", "Connection tests running."),
    _simple("connection_test_pending", GAUGE, "connection_test.pending", "3.x", "Connection tests pending."),
    _simple("asset_updates", COUNTER, "asset.updates", "3.x", "Asset updates."),
    _simple("dataset_updates", COUNTER, "dataset.updates", "2.x", "Dataset updates (3.x: asset.updates)."),
    _simple("celery_task_timeout_error", COUNTER, "celery.task_timeout_error", "2.x 3.x", "Celery publish timeouts."),
)

_DUP = "3.x plain name without ids: duplicates the per-id name (or is overwritten by each id), would double count"
DROPPED: tuple[Dropped, ...] = (
    *(Dropped(f"pool.{slot}", GAUGE, _DUP) for slot in
      ("open_slots", "queued_slots", "running_slots", "deferred_slots", "scheduled_slots", "starving_tasks")),
    Dropped("dagrun.duration.success", TIMER, _DUP),
    Dropped("dagrun.duration.failed", TIMER, _DUP),
    Dropped("dagrun.schedule_delay", TIMER, _DUP),
    Dropped("dagrun.first_task_scheduling_delay", TIMER, _DUP),
    Dropped("dagrun.dependency-check", TIMER, _DUP),
    Dropped("task.duration", TIMER, _DUP),
    Dropped("task.scheduled_duration", TIMER, _DUP),
    Dropped("task.queued_duration", TIMER, _DUP),
    Dropped("dag_processing.last_duration", TIMER, _DUP),
    Dropped("dag_processing.last_run.seconds_ago", GAUGE, _DUP),
    Dropped("ti.start", COUNTER, _DUP),
    Dropped("ti.finish", COUNTER, _DUP),
    *(Dropped(f"ti.{state}", GAUGE, _DUP) for state in ("running", "queued", "scheduled", "deferred")),
    Dropped("operator_failures", COUNTER, _DUP + " (Prometheus keeps operator_failures_<Op> per operator)", ("prometheus",)),
    Dropped("operator_successes", COUNTER, _DUP + " (Prometheus keeps operator_successes_<Op>)", ("prometheus",)),
    Dropped("operator_failures_<operator>", COUNTER,
            "one component: Telegraf templates cannot split the operator out, it would be one measurement per operator",
            ("telegraf",)),
    Dropped("operator_successes_<operator>", COUNTER, "as operator_failures_<operator>", ("telegraf",)),
    Dropped("local_task_job.task_exit.<job_id>.<dag_id>.<task_id>.<return_code>", COUNTER,
            "job id per series: unbounded cardinality"),
    Dropped("task_instance_created_<operator>", COUNTER, "operator class inside a component; not shown"),
    Dropped("task_removed_from_dag.<dag_id>", COUNTER, "not shown"),
    Dropped("task_restored_to_dag.<dag_id>", COUNTER, "not shown"),
    Dropped("task.cpu_usage.<dag_id>.<task_id>", GAUGE, "2.10 only, per running task; not shown"),
    Dropped("task.mem_usage.<dag_id>.<task_id>", GAUGE, "2.10 only, per running task; not shown"),
    Dropped("dag_processing.last_num_of_db_queries.<dag_file>", GAUGE, "not shown"),
    Dropped("dag_processing.last_runtime.<dag_file>", GAUGE, "Airflow 1.10 name"),
    Dropped("dag.loading-duration.<dag_file>", TIMER, "Airflow 1.10 name"),
    Dropped("pool.used_slots.<pool>", GAUGE, "Airflow 1.10 name (now pool.running_slots)"),
    Dropped("<anything else under the prefix>", "any", "catch-all: unknown names may embed ids (allow-list)"),
)


def by_key() -> dict[str, AirflowMetric]:
    return {m.key: m for m in METRICS}


def prometheus_metrics() -> tuple[AirflowMetric, ...]:
    return tuple(m for m in METRICS if m.prometheus)


def telegraf_metrics() -> tuple[AirflowMetric, ...]:
    return tuple(m for m in METRICS if m.telegraf)
